//! Roles, implied roles, groups and their members (rules and storage in
//! `crate::assignment`, `crate::identity` and, for what deletes others,
//! `crate::cascade`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::crud::{Create, Entity, Names};
use super::http::{base_url, caller, gone, id_of, page_marker, paged_collection, query, Resp};
use super::input::{
    change_string, extra_attributes, matching_id, member, opt_string, path_id, req_string,
};
use super::render;
use crate::assignment::{Role, RoleInput, RolePatch};
use crate::error::Error;
use crate::identity::{Group, GroupInput, GroupPatch};
use crate::policy::{Caller, Input};
use crate::AppState;

/// Both ids of a two-id path, each checked on its own (the first may
/// yield a 404 before the second is looked at).
fn id_pair(
    path: web::Path<(String, String)>,
    first: &str,
    second: &str,
) -> (Input<String>, Input<String>) {
    let (a, b) = path.into_inner();
    let check = |id: String, what: &str| path_id(&id, what).map(|_| id);
    (check(a, first), check(b, second))
}

fn name_and_domain(req: &HttpRequest) -> (Option<String>, Option<String>) {
    (query(req, "name"), query(req, "domain_id"))
}

// ---- roles ----

/// The attributes Keystone keeps in a role's columns (or as its options,
/// links and id); every other one is stored in `extra`.
const ROLE_FIELDS: [&str; 7] = [
    "id",
    "name",
    "domain_id",
    "description",
    "options",
    "links",
    "extra",
];

/// `/v3/roles`.
pub struct Roles;

impl Entity for Roles {
    const NAMES: Names = Names {
        member: "role",
        collection: "roles",
        id: "role id",
    };
    type Item = Role;
    type Patch = Input<RolePatch>;
    type Filter = (Option<String>, Option<String>);

    fn parse_patch(body: &Value, path_id: &str, _: &AppState) -> Self::Patch {
        let r = member(body, "role")?;
        matching_id(r, path_id)?;
        Ok(RolePatch {
            domain_id: change_string(r, "domain_id", 64)?,
            name: opt_string(r, "name", 255)?,
            description: change_string(r, "description", 65_535)?,
            extra: extra_attributes(r, &ROLE_FIELDS, false),
        })
    }

    fn filter(req: &HttpRequest) -> Result<Self::Filter, Error> {
        Ok(name_and_domain(req))
    }

    fn render(item: &Role, base: &str) -> Value {
        render::role(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        (name, domain): Self::Filter,
    ) -> Result<Vec<Role>, Error> {
        state.roles.list(caller, name, domain).await
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Role, Error> {
        state.roles.get(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Role, Error> {
        state
            .roles
            .update(caller, patch.and_then(|p| Ok((id?, p))))
            .await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.cascade.delete_role(caller, id).await
    }
}

impl Create for Roles {
    type New = Input<RoleInput>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let r = member(body, "role")?;
        Ok(RoleInput {
            name: req_string(r, "name", 255)?,
            domain_id: opt_string(r, "domain_id", 64)?,
            description: opt_string(r, "description", 65_535)?,
            extra: extra_attributes(r, &ROLE_FIELDS, true),
        })
    }

    async fn create(state: &AppState, caller: &Caller, new: Self::New) -> Result<Role, Error> {
        state.roles.create(caller, new).await
    }
}

// ---- implied roles ----

pub async fn list_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (prior, implied) = state.roles.implied(&caller, id_of(path, "role id")).await?;
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok().json(render::implications(&prior, &implied, &base)))
}

pub async fn create_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (prior, implied) = id_pair(path, "role id", "role id");
    let (prior, implied) = state
        .roles
        .create_implication(&caller, prior, implied)
        .await?;
    Ok(HttpResponse::Created().json(render::implication(
        &prior,
        &implied,
        &base_url(&req, &state),
    )))
}

pub async fn get_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (prior, implied) = id_pair(path, "role id", "role id");
    let (prior, implied) = state.roles.get_implication(&caller, prior, implied).await?;
    Ok(HttpResponse::Ok().json(render::implication(
        &prior,
        &implied,
        &base_url(&req, &state),
    )))
}

pub async fn check_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (prior, implied) = id_pair(path, "role id", "role id");
    state.roles.get_implication(&caller, prior, implied).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn delete_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (prior, implied) = id_pair(path, "role id", "role id");
    state
        .roles
        .delete_implication(&caller, prior, implied)
        .await
        .map(gone)
}

pub async fn role_inferences(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let all = state.roles.inferences(&caller).await?;
    Ok(HttpResponse::Ok().json(render::inferences(&all, &base_url(&req, &state))))
}

// ---- groups ----

/// The attributes Keystone keeps in a group's columns; every other one
/// is stored in `extra`.
const GROUP_FIELDS: [&str; 6] = ["id", "name", "domain_id", "description", "links", "extra"];

/// `/v3/groups`.
pub struct Groups;

impl Entity for Groups {
    const NAMES: Names = Names {
        member: "group",
        collection: "groups",
        id: "group id",
    };
    type Item = Group;
    type Patch = Input<GroupPatch>;
    /// Name, domain and page marker.
    type Filter = (Option<String>, Option<String>, Option<String>);

    fn parse_patch(body: &Value, path_id: &str, _: &AppState) -> Self::Patch {
        let g = member(body, "group")?;
        matching_id(g, path_id)?;
        Ok(GroupPatch {
            domain_id: change_string(g, "domain_id", 64)?,
            name: opt_string(g, "name", 64)?,
            description: change_string(g, "description", 65_535)?,
            extra: extra_attributes(g, &GROUP_FIELDS, false),
        })
    }

    fn filter(req: &HttpRequest) -> Result<Self::Filter, Error> {
        let (name, domain) = name_and_domain(req);
        Ok((name, domain, page_marker(req)))
    }

    fn render(item: &Group, base: &str) -> Value {
        render::group(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        (name, domain, marker): Self::Filter,
    ) -> Result<Vec<Group>, Error> {
        state.groups.list(caller, name, domain, marker).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Group, Error> {
        state.groups.update(caller, id, patch).await
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Group, Error> {
        state.groups.get(caller, id).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.cascade.delete_group(caller, id).await
    }
}

impl Create for Groups {
    type New = Input<GroupInput>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let g = member(body, "group")?;
        Ok(GroupInput {
            name: req_string(g, "name", 64)?,
            description: opt_string(g, "description", 65_535)?,
            domain_id: opt_string(g, "domain_id", 64)?,
            extra: extra_attributes(g, &GROUP_FIELDS, true),
        })
    }

    async fn create(state: &AppState, caller: &Caller, new: Self::New) -> Result<Group, Error> {
        state.groups.create(caller, new).await
    }
}

pub async fn list_group_users(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (group, users) = state.groups.users(&caller, id_of(path, "group id")).await?;
    let base = base_url(&req, &state);
    let items = users.iter().map(|u| render::user(u, &base)).collect();
    let path = format!("/groups/{}/users", group.id);
    Ok(HttpResponse::Ok().json(paged_collection("users", items, &req, &base, &path)?))
}

pub async fn add_to_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (group, user) = id_pair(path, "group id", "user id");
    state
        .groups
        .add_member(&caller, group, user)
        .await
        .map(gone)
}

pub async fn check_in_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (group, user) = id_pair(path, "group id", "user id");
    state
        .groups
        .check_member(&caller, group, user)
        .await
        .map(gone)
}

pub async fn remove_from_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (group, user) = id_pair(path, "group id", "user id");
    state
        .cascade
        .remove_member(&caller, group, user)
        .await
        .map(gone)
}

pub async fn list_user_groups(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let user_id = path.into_inner();
    let checked = path_id(&user_id, "user id").map(|_| user_id.clone());
    let groups = state.groups.of_user(&caller, checked).await?;
    let base = base_url(&req, &state);
    let items = groups.iter().map(|g| render::group(g, &base)).collect();
    let path = format!("/users/{user_id}/groups");
    Ok(HttpResponse::Ok().json(paged_collection("groups", items, &req, &base, &path)?))
}
