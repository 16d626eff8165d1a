//! Role grants on projects, domains and the system, for users and groups,
//! direct or inherited (OS-INHERIT); and `GET /v3/role_assignments`.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::http::{base_url, collection, query_pairs};
use super::input::path_id;
use crate::assignment::{self, AssignmentKind, SYSTEM_TARGET};
use crate::error::Error;
use crate::policy;
use crate::store::rows::AssignmentRow;
use crate::{identity, resource, AppState};

#[derive(Clone, Copy)]
enum Op {
    Grant,
    Check,
    Revoke,
}

/// A grant route's coordinates.
#[derive(Clone, Copy)]
struct Spec {
    kind: AssignmentKind,
    inherited: bool,
}

fn is_group(kind: AssignmentKind) -> bool {
    matches!(
        kind,
        AssignmentKind::GroupProject | AssignmentKind::GroupDomain | AssignmentKind::GroupSystem
    )
}

/// The domain of the target and of the actor, checking that the target,
/// the actor and the role exist.
fn resolve(
    conn: &mut crate::store::Conn,
    spec: Spec,
    target: &str,
    actor: &str,
    role: Option<&str>,
) -> Result<(Option<String>, String), Error> {
    let target_domain = match spec.kind {
        AssignmentKind::UserProject | AssignmentKind::GroupProject => Some(
            resource::get_project(conn, target)?
                .ok_or_else(|| resource::not_found_project(target))?
                .domain_id,
        ),
        AssignmentKind::UserDomain | AssignmentKind::GroupDomain => Some(
            resource::get_domain(conn, target)?
                .ok_or_else(|| resource::not_found_domain(target))?
                .id,
        ),
        AssignmentKind::UserSystem | AssignmentKind::GroupSystem => None,
    };
    let actor_domain = if is_group(spec.kind) {
        identity::get_group(conn, actor)?
            .ok_or_else(|| identity::not_found_group(actor))?
            .domain_id
    } else {
        identity::get_user(conn, actor)?
            .ok_or_else(|| identity::not_found_user(actor))?
            .domain_id
    };
    if let Some(role) = role {
        let role =
            assignment::get_role(conn, role)?.ok_or_else(|| assignment::not_found_role(role))?;
        // A domain-specific role is granted only inside its domain.
        if let Some(role_domain) = &role.domain_id {
            if target_domain.as_deref() != Some(role_domain.as_str()) {
                return Err(Error::Forbidden(format!(
                    "Domain-specific role {} can only be granted on projects or the domain of domain {role_domain}.",
                    role.id
                )));
            }
        }
    }
    Ok((target_domain, actor_domain))
}

async fn grant_op(
    state: &AppState,
    req: &HttpRequest,
    spec: Spec,
    target: String,
    actor: String,
    role: String,
    op: Op,
) -> Result<HttpResponse, Error> {
    let caller = super::http::caller(state, req).await?;
    for (id, what) in [
        (&target, "target id"),
        (&actor, "actor id"),
        (&role, "role id"),
    ] {
        path_id(id, what)?;
    }
    let (t, a, r) = (target.clone(), actor.clone(), role.clone());
    let (target_domain, actor_domain) = state
        .db
        .read(move |conn| resolve(conn, spec, &t, &a, Some(&r)))
        .await?;
    policy::enforce_grant(
        &caller,
        !matches!(op, Op::Check),
        target_domain.as_deref(),
        &actor_domain,
    )?;
    match op {
        Op::Grant => {
            state
                .db
                .write(move |conn| {
                    assignment::grant(conn, spec.kind, &actor, &target, &role, spec.inherited)
                })
                .await?;
        }
        Op::Revoke => {
            state
                .db
                .write(move |conn| {
                    assignment::revoke_grant(
                        conn,
                        spec.kind,
                        &actor,
                        &target,
                        &role,
                        spec.inherited,
                    )?;
                    // Application credentials built on a role the user lost go too.
                    let users: Vec<String> = if is_group(spec.kind) {
                        identity::users_in_group(conn, &actor)?
                            .into_iter()
                            .map(|u| u.id)
                            .collect()
                    } else {
                        vec![actor.clone()]
                    };
                    for user in users {
                        crate::application_credential::prune_for_user(conn, &user)?;
                    }
                    Ok(())
                })
                .await?;
        }
        Op::Check => {
            let (a, t, r) = (actor.clone(), target.clone(), role.clone());
            let exists = state
                .db
                .read(move |conn| {
                    assignment::grant_exists(conn, spec.kind, &a, &t, &r, spec.inherited)
                })
                .await?;
            if !exists {
                return Err(Error::NotFound(format!(
                    "Could not find role assignment with role: {role}, user or group: {actor}, project, domain, or system: {target}."
                )));
            }
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn list_op(
    state: &AppState,
    req: &HttpRequest,
    spec: Spec,
    target: String,
    actor: String,
) -> Result<HttpResponse, Error> {
    let caller = super::http::caller(state, req).await?;
    path_id(&target, "target id")?;
    path_id(&actor, "actor id")?;
    let (t, a) = (target.clone(), actor.clone());
    let (target_domain, actor_domain) = state
        .db
        .read(move |conn| resolve(conn, spec, &t, &a, None))
        .await?;
    policy::enforce_grant(&caller, false, target_domain.as_deref(), &actor_domain)?;
    let roles = state
        .db
        .read(move |conn| {
            assignment::granted_roles(conn, spec.kind, &actor, &target, spec.inherited)
        })
        .await?;
    let base = base_url(req, state);
    let items = roles
        .iter()
        .map(|r| super::render::role(r, &base))
        .collect();
    let path = req
        .path()
        .trim_start_matches("/identity")
        .trim_start_matches("/v3")
        .to_string();
    Ok(HttpResponse::Ok().json(collection("roles", items, req, &base, &path)))
}

/// Handlers for one grant family: PUT, GET/HEAD (check), DELETE and the list.
macro_rules! grant_family {
    ($grant:ident, $check:ident, $revoke:ident, $list:ident, $kind:expr, $inherited:expr) => {
        pub async fn $grant(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<(String, String, String)>,
        ) -> Result<HttpResponse, Error> {
            let (t, a, r) = path.into_inner();
            grant_op(
                &state,
                &req,
                Spec {
                    kind: $kind,
                    inherited: $inherited,
                },
                t,
                a,
                r,
                Op::Grant,
            )
            .await
        }
        pub async fn $check(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<(String, String, String)>,
        ) -> Result<HttpResponse, Error> {
            let (t, a, r) = path.into_inner();
            grant_op(
                &state,
                &req,
                Spec {
                    kind: $kind,
                    inherited: $inherited,
                },
                t,
                a,
                r,
                Op::Check,
            )
            .await
        }
        pub async fn $revoke(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<(String, String, String)>,
        ) -> Result<HttpResponse, Error> {
            let (t, a, r) = path.into_inner();
            grant_op(
                &state,
                &req,
                Spec {
                    kind: $kind,
                    inherited: $inherited,
                },
                t,
                a,
                r,
                Op::Revoke,
            )
            .await
        }
        pub async fn $list(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<(String, String)>,
        ) -> Result<HttpResponse, Error> {
            let (t, a) = path.into_inner();
            list_op(
                &state,
                &req,
                Spec {
                    kind: $kind,
                    inherited: $inherited,
                },
                t,
                a,
            )
            .await
        }
    };
}

grant_family!(
    grant_project_user,
    check_project_user,
    revoke_project_user,
    list_project_user,
    AssignmentKind::UserProject,
    false
);
grant_family!(
    grant_project_group,
    check_project_group,
    revoke_project_group,
    list_project_group,
    AssignmentKind::GroupProject,
    false
);
grant_family!(
    grant_domain_user,
    check_domain_user,
    revoke_domain_user,
    list_domain_user,
    AssignmentKind::UserDomain,
    false
);
grant_family!(
    grant_domain_group,
    check_domain_group,
    revoke_domain_group,
    list_domain_group,
    AssignmentKind::GroupDomain,
    false
);
grant_family!(
    grant_inherited_domain_user,
    check_inherited_domain_user,
    revoke_inherited_domain_user,
    list_inherited_domain_user,
    AssignmentKind::UserDomain,
    true
);
grant_family!(
    grant_inherited_domain_group,
    check_inherited_domain_group,
    revoke_inherited_domain_group,
    list_inherited_domain_group,
    AssignmentKind::GroupDomain,
    true
);
grant_family!(
    grant_inherited_project_user,
    check_inherited_project_user,
    revoke_inherited_project_user,
    list_inherited_project_user,
    AssignmentKind::UserProject,
    true
);
grant_family!(
    grant_inherited_project_group,
    check_inherited_project_group,
    revoke_inherited_project_group,
    list_inherited_project_group,
    AssignmentKind::GroupProject,
    true
);

/// System grants: the path has no target id.
macro_rules! system_family {
    ($grant:ident, $check:ident, $revoke:ident, $list:ident, $kind:expr) => {
        pub async fn $grant(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<(String, String)>,
        ) -> Result<HttpResponse, Error> {
            let (a, r) = path.into_inner();
            grant_op(
                &state,
                &req,
                Spec {
                    kind: $kind,
                    inherited: false,
                },
                SYSTEM_TARGET.into(),
                a,
                r,
                Op::Grant,
            )
            .await
        }
        pub async fn $check(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<(String, String)>,
        ) -> Result<HttpResponse, Error> {
            let (a, r) = path.into_inner();
            grant_op(
                &state,
                &req,
                Spec {
                    kind: $kind,
                    inherited: false,
                },
                SYSTEM_TARGET.into(),
                a,
                r,
                Op::Check,
            )
            .await
        }
        pub async fn $revoke(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<(String, String)>,
        ) -> Result<HttpResponse, Error> {
            let (a, r) = path.into_inner();
            grant_op(
                &state,
                &req,
                Spec {
                    kind: $kind,
                    inherited: false,
                },
                SYSTEM_TARGET.into(),
                a,
                r,
                Op::Revoke,
            )
            .await
        }
        pub async fn $list(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<String>,
        ) -> Result<HttpResponse, Error> {
            list_op(
                &state,
                &req,
                Spec {
                    kind: $kind,
                    inherited: false,
                },
                SYSTEM_TARGET.into(),
                path.into_inner(),
            )
            .await
        }
    };
}

system_family!(
    grant_system_user,
    check_system_user,
    revoke_system_user,
    list_system_user,
    AssignmentKind::UserSystem
);
system_family!(
    grant_system_group,
    check_system_group,
    revoke_system_group,
    list_system_group,
    AssignmentKind::GroupSystem
);

// ---- GET /v3/role_assignments ----

/// One assignment as the API shows it.
#[derive(Clone, Debug)]
struct Shown {
    user: Option<String>,
    group: Option<String>,
    project: Option<String>,
    domain: Option<String>,
    system: bool,
    role: String,
    inherited: bool,
    /// The group it came through, for effective listings.
    via_group: Option<String>,
    /// The role that implied it, for effective listings.
    prior_role: Option<String>,
}

fn shown(row: &AssignmentRow) -> Shown {
    let (user, group) = if row.kind.starts_with("User") {
        (Some(row.actor_id.clone()), None)
    } else {
        (None, Some(row.actor_id.clone()))
    };
    Shown {
        user,
        group,
        project: row.kind.ends_with("Project").then(|| row.target_id.clone()),
        domain: row.kind.ends_with("Domain").then(|| row.target_id.clone()),
        system: row.kind.ends_with("System"),
        role: row.role_id.clone(),
        inherited: row.inherited,
        via_group: None,
        prior_role: None,
    }
}

/// Expands groups into their users, inheritance into projects, and
/// implied roles, as Keystone's `effective` listing does.
fn effective(conn: &mut crate::store::Conn, rows: Vec<Shown>) -> Result<Vec<Shown>, Error> {
    let mut out = Vec::new();
    for row in rows {
        let users: Vec<(String, Option<String>)> = match &row.group {
            Some(g) => identity::users_in_group(conn, g)?
                .into_iter()
                .map(|u| (u.id, Some(g.clone())))
                .collect(),
            None => vec![(row.user.clone().unwrap_or_default(), None)],
        };
        let targets: Vec<(Option<String>, Option<String>, bool)> = if row.inherited {
            let mut projects = Vec::new();
            if let Some(d) = &row.domain {
                projects = resource::list_projects(
                    conn,
                    &resource::ProjectFilter {
                        domain_id: Some(d.clone()),
                        ..Default::default()
                    },
                )?
                .into_iter()
                .map(|p| p.id)
                .collect();
            }
            if let Some(root) = &row.project {
                let mut frontier = vec![root.clone()];
                while let Some(next) = frontier.pop() {
                    for child in resource::list_projects(
                        conn,
                        &resource::ProjectFilter {
                            parent_id: Some(next),
                            ..Default::default()
                        },
                    )? {
                        if child.parent_id.is_some() {
                            frontier.push(child.id.clone());
                            projects.push(child.id);
                        }
                    }
                }
            }
            projects
                .into_iter()
                .map(|p| (Some(p), None, false))
                .collect()
        } else {
            vec![(row.project.clone(), row.domain.clone(), row.system)]
        };
        for (user, via) in &users {
            for (project, domain, system) in &targets {
                let base = Shown {
                    user: Some(user.clone()),
                    group: None,
                    project: project.clone(),
                    domain: domain.clone(),
                    system: *system,
                    role: row.role.clone(),
                    inherited: false,
                    via_group: via.clone(),
                    prior_role: None,
                };
                let implied = assignment::expand_implied(conn, BTreeSet::from([row.role.clone()]))?;
                for role in implied {
                    let mut s = base.clone();
                    if role != row.role {
                        s.prior_role = Some(row.role.clone());
                    }
                    s.role = role;
                    out.push(s);
                }
            }
        }
    }
    Ok(out)
}

fn assignment_json(s: &Shown, base: &str, names: Option<&Names>) -> Value {
    let name_of = |map: &BTreeMap<String, (String, Option<String>)>, id: &str| map.get(id).cloned();
    let mut scope = if let Some(p) = &s.project {
        let mut v = json!({"project": {"id": p}});
        if let Some((name, domain)) = names.and_then(|n| name_of(&n.projects, p)) {
            v["project"]["name"] = json!(name);
            if let Some(d) = domain {
                v["project"]["domain"] =
                    json!({"id": d, "name": names.and_then(|n| n.domains.get(&d).cloned())});
            }
        }
        v
    } else if let Some(d) = &s.domain {
        let mut v = json!({"domain": {"id": d}});
        if let Some(name) = names.and_then(|n| n.domains.get(d).cloned()) {
            v["domain"]["name"] = json!(name);
        }
        v
    } else {
        json!({"system": {"all": true}})
    };
    if s.inherited {
        scope["OS-INHERIT:inherited_to"] = json!("projects");
    }
    let (actor_key, actor_id) = match (&s.user, &s.group) {
        (Some(u), _) => ("user", u.clone()),
        (None, Some(g)) => ("group", g.clone()),
        _ => ("user", String::new()),
    };
    let mut actor = json!({"id": actor_id});
    if let Some((name, domain)) = names.and_then(|n| {
        if actor_key == "user" {
            name_of(&n.users, &actor_id)
        } else {
            name_of(&n.groups, &actor_id)
        }
    }) {
        actor["name"] = json!(name);
        if let Some(d) = domain {
            actor["domain"] =
                json!({"id": d, "name": names.and_then(|n| n.domains.get(&d).cloned())});
        }
    }
    let mut role = json!({"id": s.role});
    if let Some(name) = names.and_then(|n| n.roles.get(&s.role).cloned()) {
        role["name"] = json!(name);
    }
    let target = match (&s.project, &s.domain) {
        (Some(p), _) => format!("projects/{p}"),
        (None, Some(d)) => format!("domains/{d}"),
        _ => "system".to_string(),
    };
    let prefix = if s.inherited {
        format!("{base}/OS-INHERIT")
    } else {
        base.to_string()
    };
    let mut links = json!({"assignment": format!("{prefix}/{target}/{actor_key}s/{actor_id}/roles/{}{}", s.prior_role.as_ref().unwrap_or(&s.role), if s.inherited { "/inherited_to_projects" } else { "" })});
    if let Some(g) = &s.via_group {
        links["membership"] = json!(format!("{base}/groups/{g}/users/{actor_id}"));
    }
    if let Some(prior) = &s.prior_role {
        links["prior_role"] = json!(format!("{base}/prior_role/{prior}/implies/{}", s.role));
    }
    json!({"links": links, "scope": scope, actor_key: actor, "role": role})
}

/// Names for `include_names`: id → (name, domain id).
#[derive(Default)]
struct Names {
    users: BTreeMap<String, (String, Option<String>)>,
    groups: BTreeMap<String, (String, Option<String>)>,
    projects: BTreeMap<String, (String, Option<String>)>,
    domains: BTreeMap<String, String>,
    roles: BTreeMap<String, String>,
}

fn names_for(conn: &mut crate::store::Conn, rows: &[Shown]) -> Result<Names, Error> {
    let mut n = Names::default();
    for s in rows {
        if let Some(u) = &s.user {
            if let Some(user) = identity::get_user(conn, u)? {
                n.users.insert(u.clone(), (user.name, Some(user.domain_id)));
            }
        }
        if let Some(g) = &s.group {
            if let Some(group) = identity::get_group(conn, g)? {
                n.groups
                    .insert(g.clone(), (group.name, Some(group.domain_id)));
            }
        }
        if let Some(p) = &s.project {
            if let Some(project) = resource::get_project(conn, p)? {
                n.projects
                    .insert(p.clone(), (project.name, Some(project.domain_id)));
            }
        }
        if let Some(role) = assignment::get_role(conn, &s.role)? {
            n.roles.insert(s.role.clone(), role.name);
        }
    }
    let domain_ids: BTreeSet<String> = n
        .users
        .values()
        .chain(n.groups.values())
        .chain(n.projects.values())
        .filter_map(|(_, d)| d.clone())
        .chain(rows.iter().filter_map(|s| s.domain.clone()))
        .collect();
    for d in domain_ids {
        if let Some(domain) = resource::get_domain(conn, &d)? {
            n.domains.insert(d, domain.name);
        }
    }
    Ok(n)
}

pub async fn list_role_assignments(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = super::http::caller(&state, &req).await?;
    let mut q: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in query_pairs(&req) {
        q.insert(k, v);
    }
    policy::enforce_list_role_assignments(&caller, q.get("scope.domain.id").map(String::as_str))?;
    let is_effective = q.contains_key("effective");
    let include_names = q.get("include_names").is_some_and(|v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        )
    });
    let filters = q.clone();
    let (rows, names) = state
        .db
        .read(move |conn| {
            let mut rows: Vec<Shown> = assignment::all_assignments(conn)?
                .iter()
                .map(shown)
                .collect();
            if is_effective {
                rows = effective(conn, rows)?;
            }
            // include_subtree: the project named and every project below it.
            let projects: Option<BTreeSet<String>> = match filters.get("scope.project.id") {
                Some(root) if filters.contains_key("include_subtree") => {
                    let mut all = BTreeSet::from([root.clone()]);
                    let mut frontier = vec![root.clone()];
                    while let Some(next) = frontier.pop() {
                        let children = resource::list_projects(
                            conn,
                            &resource::ProjectFilter {
                                parent_id: Some(next),
                                ..Default::default()
                            },
                        )?;
                        for child in children.into_iter().filter(|c| c.parent_id.is_some()) {
                            if all.insert(child.id.clone()) {
                                frontier.push(child.id);
                            }
                        }
                    }
                    Some(all)
                }
                Some(root) => Some(BTreeSet::from([root.clone()])),
                None => None,
            };
            let keep = |s: &Shown| {
                filters
                    .get("user.id")
                    .is_none_or(|u| s.user.as_deref() == Some(u))
                    && filters
                        .get("group.id")
                        .is_none_or(|g| s.group.as_deref() == Some(g))
                    && filters.get("role.id").is_none_or(|r| &s.role == r)
                    && projects
                        .as_ref()
                        .is_none_or(|set| s.project.as_ref().is_some_and(|p| set.contains(p)))
                    && filters
                        .get("scope.domain.id")
                        .is_none_or(|d| s.domain.as_deref() == Some(d))
                    && (!filters.contains_key("scope.system") || s.system)
                    && filters
                        .get("scope.OS-INHERIT:inherited_to")
                        .is_none_or(|_| s.inherited)
            };
            rows.retain(keep);
            let names = if include_names {
                Some(names_for(conn, &rows)?)
            } else {
                None
            };
            Ok((rows, names))
        })
        .await?;
    let base = base_url(&req, &state);
    let items = rows
        .iter()
        .map(|s| assignment_json(s, &base, names.as_ref()))
        .collect();
    Ok(HttpResponse::Ok().json(collection(
        "role_assignments",
        items,
        &req,
        &base,
        "/role_assignments",
    )))
}
