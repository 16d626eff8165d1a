//! Roles, implied roles, groups and their members (rules and storage in
//! `crate::assignment`, `crate::identity` and, for what deletes others,
//! `crate::cascade`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::http::{base_url, caller, collection, gone, id_of, one, query, JsonBody, Resp};
use super::input::{member, opt_string, path_id, req_string};
use super::render;
use crate::assignment::{RoleInput, RolePatch};
use crate::error::Error;
use crate::identity::{GroupInput, GroupPatch};
use crate::policy::Input;
use crate::AppState;

fn description_patch(map: &Map<String, Value>) -> Result<Option<Option<String>>, Error> {
    map.contains_key("description")
        .then(|| opt_string(map, "description", 65_535))
        .transpose()
}

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

fn new_role(body: &Value) -> Result<RoleInput, Error> {
    let r = member(body, "role")?;
    Ok(RoleInput {
        name: req_string(r, "name", 255)?,
        domain_id: opt_string(r, "domain_id", 64)?,
        description: opt_string(r, "description", 65_535)?,
    })
}

fn role_patch(body: &Value) -> Result<RolePatch, Error> {
    let r = member(body, "role")?;
    if r.contains_key("domain_id") || r.contains_key("id") {
        return Err(Error::BadRequest(
            "Update of `domain_id` or `id` of a role is not allowed.".into(),
        ));
    }
    Ok(RolePatch {
        name: opt_string(r, "name", 255)?,
        description: description_patch(r)?,
    })
}

pub async fn create_role(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let caller = caller(&state, &req).await?;
    let role = state.roles.create(&caller, new_role(&body.0)).await?;
    Ok(one(
        true,
        "role",
        render::role(&role, &base_url(&req, &state)),
    ))
}

pub async fn list_roles(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let (name, domain) = name_and_domain(&req);
    let found = state.roles.list(&caller, name, domain).await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|r| render::role(r, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("roles", items, &req, &base, "/roles")))
}

pub async fn get_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let role = state.roles.get(&caller, id_of(path, "role id")).await?;
    Ok(one(
        false,
        "role",
        render::role(&role, &base_url(&req, &state)),
    ))
}

pub async fn update_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let change = role_patch(&body.0).and_then(|p| Ok((id_of(path, "role id")?, p)));
    let role = state.roles.update(&caller, change).await?;
    Ok(one(
        false,
        "role",
        render::role(&role, &base_url(&req, &state)),
    ))
}

pub async fn delete_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    state
        .cascade
        .delete_role(&caller, id_of(path, "role id"))
        .await
        .map(gone)
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

fn new_group(body: &Value) -> Result<GroupInput, Error> {
    let g = member(body, "group")?;
    Ok(GroupInput {
        name: req_string(g, "name", 64)?,
        description: opt_string(g, "description", 65_535)?,
        domain_id: opt_string(g, "domain_id", 64)?,
    })
}

fn group_patch(body: &Value) -> Result<GroupPatch, Error> {
    let g = member(body, "group")?;
    if g.contains_key("domain_id") || g.contains_key("id") {
        return Err(Error::BadRequest(
            "Update of `domain_id` or `id` of a group is not allowed.".into(),
        ));
    }
    Ok(GroupPatch {
        name: opt_string(g, "name", 64)?,
        description: description_patch(g)?,
    })
}

pub async fn create_group(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let caller = caller(&state, &req).await?;
    let group = state.groups.create(&caller, new_group(&body.0)).await?;
    Ok(one(
        true,
        "group",
        render::group(&group, &base_url(&req, &state)),
    ))
}

pub async fn list_groups(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let (name, domain) = name_and_domain(&req);
    let found = state.groups.list(&caller, name, domain).await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|g| render::group(g, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("groups", items, &req, &base, "/groups")))
}

pub async fn get_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let group = state.groups.get(&caller, id_of(path, "group id")).await?;
    Ok(one(
        false,
        "group",
        render::group(&group, &base_url(&req, &state)),
    ))
}

pub async fn update_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let patch = group_patch(&body.0);
    let group = state
        .groups
        .update(&caller, id_of(path, "group id"), patch)
        .await?;
    Ok(one(
        false,
        "group",
        render::group(&group, &base_url(&req, &state)),
    ))
}

pub async fn delete_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    state
        .cascade
        .delete_group(&caller, id_of(path, "group id"))
        .await
        .map(gone)
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
    Ok(HttpResponse::Ok().json(collection("users", items, &req, &base, &path)))
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
    Ok(HttpResponse::Ok().json(collection("groups", items, &req, &base, &path)))
}
