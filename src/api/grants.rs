//! Role grants on projects, domains and the system, for users and groups,
//! direct or inherited (OS-INHERIT); and `GET /v3/role_assignments`
//! (rules and storage in `crate::assignment`; revoking, which may take
//! application credentials with it, in `crate::cascade`).

use actix_web::{web, HttpRequest, HttpResponse};

use super::http::{base_url, caller, collection, gone, query_filter_is_true, query_pairs, Resp};
use super::input::path_id;
use super::render;
use crate::assignment::listing::Flags;
use crate::assignment::{AssignmentKind, Grant, SYSTEM_TARGET};
use crate::AppState;

#[derive(Clone, Copy)]
enum Op {
    Grant,
    Check,
    Revoke,
}

/// The path of a grant route, without `/identity` and `/v3`.
fn route_path(req: &HttpRequest) -> String {
    req.path()
        .trim_start_matches("/identity")
        .trim_start_matches("/v3")
        .to_string()
}

async fn grant_op(
    state: &AppState,
    req: &HttpRequest,
    (kind, inherited): (AssignmentKind, bool),
    (target, actor, role): (String, String, String),
    op: Op,
) -> Resp {
    let caller = caller(state, req).await?;
    for (id, what) in [
        (&target, "target id"),
        (&actor, "actor id"),
        (&role, "role id"),
    ] {
        path_id(id, what)?;
    }
    let grant = Grant {
        kind,
        inherited,
        target,
        actor,
    };
    match op {
        Op::Grant => state.assignments.grant(&caller, grant, role).await,
        Op::Check => state.assignments.check_grant(&caller, grant, role).await,
        Op::Revoke => state.cascade.revoke_grant(&caller, grant, role).await,
    }
    .map(gone)
}

async fn list_op(
    state: &AppState,
    req: &HttpRequest,
    (kind, inherited): (AssignmentKind, bool),
    (target, actor): (String, String),
) -> Resp {
    let caller = caller(state, req).await?;
    path_id(&target, "target id")?;
    path_id(&actor, "actor id")?;
    let grant = Grant {
        kind,
        inherited,
        target,
        actor,
    };
    let roles = state.assignments.granted(&caller, grant).await?;
    let base = base_url(req, state);
    let items = roles.iter().map(|r| render::role(r, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("roles", items, req, &base, &route_path(req))))
}

/// Handlers for one grant family: PUT, GET/HEAD (check), DELETE and the
/// list. `$path`/`$split` turn the route's path into (target, actor,
/// role); `$lpath`/`$lsplit` the list route's into (target, actor).
macro_rules! family {
    ($grant:ident, $check:ident, $revoke:ident, $list:ident, $kind:expr, $inherited:expr,
     $path:ty => $split:expr, $lpath:ty => $lsplit:expr) => {
        pub async fn $grant(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<$path>,
        ) -> Resp {
            grant_op(
                &state,
                &req,
                ($kind, $inherited),
                $split(path.into_inner()),
                Op::Grant,
            )
            .await
        }
        pub async fn $check(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<$path>,
        ) -> Resp {
            grant_op(
                &state,
                &req,
                ($kind, $inherited),
                $split(path.into_inner()),
                Op::Check,
            )
            .await
        }
        pub async fn $revoke(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<$path>,
        ) -> Resp {
            grant_op(
                &state,
                &req,
                ($kind, $inherited),
                $split(path.into_inner()),
                Op::Revoke,
            )
            .await
        }
        pub async fn $list(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<$lpath>,
        ) -> Resp {
            list_op(
                &state,
                &req,
                ($kind, $inherited),
                $lsplit(path.into_inner()),
            )
            .await
        }
    };
}

type Triple = (String, String, String);
type Pair = (String, String);

fn on_target(p: Triple) -> Triple {
    p
}
fn on_target_list(p: Pair) -> Pair {
    p
}
fn on_system((actor, role): Pair) -> Triple {
    (SYSTEM_TARGET.into(), actor, role)
}
fn on_system_list(actor: String) -> Pair {
    (SYSTEM_TARGET.into(), actor)
}

family!(
    grant_project_user,
    check_project_user,
    revoke_project_user,
    list_project_user,
    AssignmentKind::UserProject,
    false,
    Triple => on_target,
    Pair => on_target_list
);
family!(
    grant_project_group,
    check_project_group,
    revoke_project_group,
    list_project_group,
    AssignmentKind::GroupProject,
    false,
    Triple => on_target,
    Pair => on_target_list
);
family!(
    grant_domain_user,
    check_domain_user,
    revoke_domain_user,
    list_domain_user,
    AssignmentKind::UserDomain,
    false,
    Triple => on_target,
    Pair => on_target_list
);
family!(
    grant_domain_group,
    check_domain_group,
    revoke_domain_group,
    list_domain_group,
    AssignmentKind::GroupDomain,
    false,
    Triple => on_target,
    Pair => on_target_list
);
family!(
    grant_inherited_domain_user,
    check_inherited_domain_user,
    revoke_inherited_domain_user,
    list_inherited_domain_user,
    AssignmentKind::UserDomain,
    true,
    Triple => on_target,
    Pair => on_target_list
);
family!(
    grant_inherited_domain_group,
    check_inherited_domain_group,
    revoke_inherited_domain_group,
    list_inherited_domain_group,
    AssignmentKind::GroupDomain,
    true,
    Triple => on_target,
    Pair => on_target_list
);
family!(
    grant_inherited_project_user,
    check_inherited_project_user,
    revoke_inherited_project_user,
    list_inherited_project_user,
    AssignmentKind::UserProject,
    true,
    Triple => on_target,
    Pair => on_target_list
);
family!(
    grant_inherited_project_group,
    check_inherited_project_group,
    revoke_inherited_project_group,
    list_inherited_project_group,
    AssignmentKind::GroupProject,
    true,
    Triple => on_target,
    Pair => on_target_list
);

// System grants: the path has no target id.
family!(
    grant_system_user,
    check_system_user,
    revoke_system_user,
    list_system_user,
    AssignmentKind::UserSystem,
    false,
    Pair => on_system,
    String => on_system_list
);
family!(
    grant_system_group,
    check_system_group,
    revoke_system_group,
    list_system_group,
    AssignmentKind::GroupSystem,
    false,
    Pair => on_system,
    String => on_system_list
);

// ---- GET /v3/role_assignments ----

pub async fn list_role_assignments(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let query = query_pairs(&req).into_iter().collect();
    let flags = Flags {
        effective: query_filter_is_true(&req, "effective"),
        include_names: query_filter_is_true(&req, "include_names"),
        include_subtree: query_filter_is_true(&req, "include_subtree"),
    };
    let (rows, names) = state
        .assignments
        .list_role_assignments(&caller, query, flags)
        .await?;
    let base = base_url(&req, &state);
    let items = rows
        .iter()
        .map(|s| render::assignment(s, &base, names.as_ref()))
        .collect();
    Ok(HttpResponse::Ok().json(collection(
        "role_assignments",
        items,
        &req,
        &base,
        "/role_assignments",
    )))
}
