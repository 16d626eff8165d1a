//! Roles, implied roles, groups and their members, grants, and
//! `GET /v3/role_assignments`, in Keystone's shapes and default policy.

use std::collections::BTreeSet;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::http::{base_url, caller, collection, query_pairs, JsonBody};
use super::input::{member, opt_string, path_id, req_string};
use crate::assignment::{self, NewRole, Role};
use crate::error::Error;
use crate::identity::{self, Group};
use crate::policy::{self, Target};
use crate::{resource, AppState};

fn description_patch(map: &Map<String, Value>) -> Result<Option<Option<String>>, Error> {
    map.contains_key("description")
        .then(|| opt_string(map, "description", 65_535))
        .transpose()
}

// ---- roles ----

pub async fn create_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::MANAGE_ROLES, &caller, Target::default())?;
    let r = member(&body.0, "role")?;
    let name = req_string(r, "name", 255)?;
    let domain_id = opt_string(r, "domain_id", 64)?;
    let description = opt_string(r, "description", 65_535)?;
    let role = state
        .db
        .write(move |conn| {
            if let Some(d) = &domain_id {
                if resource::get_domain(conn, d)?.is_none() {
                    return Err(resource::not_found_domain(d));
                }
            }
            assignment::create_role(
                conn,
                NewRole {
                    name: &name,
                    domain_id: domain_id.as_deref(),
                    description: description.as_deref(),
                    immutable: false,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({"role": role.to_json(&base_url(&req, &state))})))
}

pub async fn list_roles(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::LIST_ROLES, &caller, Target::default())?;
    let (mut name, mut domain) = (None, None);
    for (k, v) in query_pairs(&req) {
        match k.as_str() {
            "name" => name = Some(v),
            "domain_id" => domain = Some(v),
            _ => {}
        }
    }
    let found = state
        .db
        .read(move |conn| assignment::list_roles(conn, name.as_deref(), domain.as_deref()))
        .await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|r| r.to_json(&base)).collect();
    Ok(HttpResponse::Ok().json(collection("roles", items, &req, &base, "/roles")))
}

async fn load_role(state: &AppState, id: String) -> Result<Role, Error> {
    path_id(&id, "role id")?;
    state
        .db
        .read(move |conn| {
            assignment::get_role(conn, &id)?.ok_or_else(|| assignment::not_found_role(&id))
        })
        .await
}

pub async fn get_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let role = load_role(&state, path.into_inner()).await?;
    // Domain managers may see the roles they may hand out.
    policy::enforce_get_role(&caller, &role.name)?;
    Ok(HttpResponse::Ok().json(json!({"role": role.to_json(&base_url(&req, &state))})))
}

pub async fn update_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::MANAGE_ROLES, &caller, Target::default())?;
    let r = member(&body.0, "role")?;
    if r.contains_key("domain_id") || r.contains_key("id") {
        return Err(Error::BadRequest(
            "Update of `domain_id` or `id` of a role is not allowed.".into(),
        ));
    }
    let name = opt_string(r, "name", 255)?;
    let description = description_patch(r)?;
    let id = path.into_inner();
    path_id(&id, "role id")?;
    let role = state
        .db
        .write(move |conn| {
            assignment::update_role(
                conn,
                &id,
                name.as_deref(),
                description.as_ref().map(|d| d.as_deref()),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"role": role.to_json(&base_url(&req, &state))})))
}

pub async fn delete_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::MANAGE_ROLES, &caller, Target::default())?;
    let id = path.into_inner();
    path_id(&id, "role id")?;
    state
        .db
        .write(move |conn| crate::cascade::delete_role(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- implied roles ----

fn role_ref(role: &Role, base: &str) -> Value {
    json!({"id": role.id, "name": role.name, "links": {"self": format!("{base}/roles/{}", role.id)}})
}

pub async fn list_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::READ_IMPLIED_ROLES, &caller, Target::default())?;
    let prior = load_role(&state, path.into_inner()).await?;
    let id = prior.id.clone();
    let implied = state
        .db
        .read(move |conn| assignment::implied_by(conn, &id))
        .await?;
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok().json(json!({
        "role_inference": {"prior_role": role_ref(&prior, &base), "implies": implied.iter().map(|r| role_ref(r, &base)).collect::<Vec<_>>()},
        "links": {"self": format!("{base}/roles/{}/implies", prior.id)},
    })))
}

fn implication_body(prior: &Role, implied: &Role, base: &str) -> Value {
    json!({
        "role_inference": {"prior_role": role_ref(prior, base), "implies": role_ref(implied, base)},
        "links": {"self": format!("{base}/roles/{}/implies/{}", prior.id, implied.id)},
    })
}

pub async fn create_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::MANAGE_IMPLIED_ROLES, &caller, Target::default())?;
    let (prior, implied) = path.into_inner();
    path_id(&prior, "role id")?;
    path_id(&implied, "role id")?;
    let (p, i) = (prior.clone(), implied.clone());
    state
        .db
        .write(move |conn| assignment::create_implication(conn, &p, &i))
        .await?;
    let (prior, implied) = (
        load_role(&state, prior).await?,
        load_role(&state, implied).await?,
    );
    Ok(HttpResponse::Created().json(implication_body(&prior, &implied, &base_url(&req, &state))))
}

async fn existing_implication(
    state: &AppState,
    prior: String,
    implied: String,
) -> Result<(Role, Role), Error> {
    let (prior, implied) = (
        load_role(state, prior).await?,
        load_role(state, implied).await?,
    );
    let (p, i) = (prior.id.clone(), implied.id.clone());
    let exists = state
        .db
        .read(move |conn| assignment::implication_exists(conn, &p, &i))
        .await?;
    if !exists {
        return Err(Error::NotFound(format!(
            "{} does not imply {}.",
            prior.id, implied.id
        )));
    }
    Ok((prior, implied))
}

pub async fn get_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::READ_IMPLIED_ROLES, &caller, Target::default())?;
    let (prior, implied) = path.into_inner();
    let (prior, implied) = existing_implication(&state, prior, implied).await?;
    Ok(HttpResponse::Ok().json(implication_body(&prior, &implied, &base_url(&req, &state))))
}

pub async fn check_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::READ_IMPLIED_ROLES, &caller, Target::default())?;
    let (prior, implied) = path.into_inner();
    existing_implication(&state, prior, implied).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn delete_implied(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::MANAGE_IMPLIED_ROLES, &caller, Target::default())?;
    let (prior, implied) = path.into_inner();
    let (prior, implied) = existing_implication(&state, prior, implied).await?;
    state
        .db
        .write(move |conn| assignment::remove_implied_role(conn, &prior.id, &implied.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn role_inferences(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::READ_IMPLIED_ROLES, &caller, Target::default())?;
    let (rules, roles) = state
        .db
        .read(|conn| {
            Ok((
                assignment::all_implications(conn)?,
                assignment::list_roles(conn, None, None)?,
            ))
        })
        .await?;
    let base = base_url(&req, &state);
    let find = |id: &str| roles.iter().find(|r| r.id == id);
    let priors: BTreeSet<&str> = rules.iter().map(|(p, _)| p.as_str()).collect();
    let items: Vec<Value> = priors
        .iter()
        .filter_map(|p| find(p))
        .map(|prior| {
            let implies: Vec<Value> = rules
                .iter()
                .filter(|(p, _)| *p == prior.id)
                .filter_map(|(_, i)| find(i))
                .map(|r| role_ref(r, &base))
                .collect();
            json!({"prior_role": role_ref(prior, &base), "implies": implies})
        })
        .collect();
    Ok(HttpResponse::Ok().json(
        json!({"role_inferences": items, "links": {"self": format!("{base}/role_inferences")}}),
    ))
}

// ---- groups ----

async fn load_group(state: &AppState, id: String) -> Result<Group, Error> {
    path_id(&id, "group id")?;
    state
        .db
        .read(move |conn| {
            identity::get_group(conn, &id)?.ok_or_else(|| identity::not_found_group(&id))
        })
        .await
}

pub async fn create_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let g = member(&body.0, "group")?;
    let name = req_string(g, "name", 64)?;
    let description = opt_string(g, "description", 65_535)?;
    let domain_id = opt_string(g, "domain_id", 64)?
        .or_else(|| caller.domain_id().map(str::to_string))
        .unwrap_or_else(|| state.config.identity.default_domain_id.clone());
    policy::enforce(
        policy::MANAGE_GROUPS,
        &caller,
        Target::in_domain(&domain_id),
    )?;
    let group = state
        .db
        .write(move |conn| identity::create_group(conn, &name, &domain_id, description.as_deref()))
        .await?;
    Ok(HttpResponse::Created().json(json!({"group": group.to_json(&base_url(&req, &state))})))
}

pub async fn list_groups(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let (mut name, mut domain) = (None, None);
    for (k, v) in query_pairs(&req) {
        match k.as_str() {
            "name" => name = Some(v),
            "domain_id" => domain = Some(v),
            _ => {}
        }
    }
    let domain = policy::list_domain(policy::LIST_GROUPS, &caller, domain)?;
    let found = state
        .db
        .read(move |conn| identity::list_groups(conn, name.as_deref(), domain.as_deref()))
        .await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|g| g.to_json(&base)).collect();
    Ok(HttpResponse::Ok().json(collection("groups", items, &req, &base, "/groups")))
}

pub async fn get_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let group = load_group(&state, path.into_inner()).await?;
    policy::enforce(
        policy::READ_GROUPS,
        &caller,
        Target::in_domain(&group.domain_id),
    )?;
    Ok(HttpResponse::Ok().json(json!({"group": group.to_json(&base_url(&req, &state))})))
}

pub async fn update_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let g = member(&body.0, "group")?;
    if g.contains_key("domain_id") || g.contains_key("id") {
        return Err(Error::BadRequest(
            "Update of `domain_id` or `id` of a group is not allowed.".into(),
        ));
    }
    let name = opt_string(g, "name", 64)?;
    let description = description_patch(g)?;
    let group = load_group(&state, path.into_inner()).await?;
    policy::enforce(
        policy::MANAGE_GROUPS,
        &caller,
        Target::in_domain(&group.domain_id),
    )?;
    let id = group.id;
    let updated = state
        .db
        .write(move |conn| {
            identity::update_group(
                conn,
                &id,
                name.as_deref(),
                description.as_ref().map(|d| d.as_deref()),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"group": updated.to_json(&base_url(&req, &state))})))
}

pub async fn delete_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let group = load_group(&state, path.into_inner()).await?;
    policy::enforce(
        policy::MANAGE_GROUPS,
        &caller,
        Target::in_domain(&group.domain_id),
    )?;
    let id = group.id;
    state
        .db
        .write(move |conn| crate::cascade::delete_group(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_group_users(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let group = load_group(&state, path.into_inner()).await?;
    policy::enforce(
        policy::READ_GROUPS,
        &caller,
        Target::in_domain(&group.domain_id),
    )?;
    let id = group.id.clone();
    let users = state
        .db
        .read(move |conn| identity::users_in_group(conn, &id))
        .await?;
    let base = base_url(&req, &state);
    let items = users.iter().map(|u| u.to_json(&base)).collect();
    Ok(HttpResponse::Ok().json(collection(
        "users",
        items,
        &req,
        &base,
        &format!("/groups/{}/users", group.id),
    )))
}

/// The group and the user of a membership route, after the policy check
/// (managers act only when both live in their domain).
async fn membership(
    state: &AppState,
    req: &HttpRequest,
    path: (String, String),
    manage: bool,
) -> Result<(Group, identity::User), Error> {
    let caller = caller(state, req).await?;
    let (group_id, user_id) = path;
    let group = load_group(state, group_id).await?;
    path_id(&user_id, "user id")?;
    let lookup = user_id.clone();
    let user = state
        .db
        .read(move |conn| {
            identity::get_user(conn, &lookup)?.ok_or_else(|| identity::not_found_user(&lookup))
        })
        .await?;
    policy::enforce_membership(&caller, manage, &group.domain_id, &user.domain_id)?;
    Ok((group, user))
}

pub async fn add_to_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (group, user) = membership(&state, &req, path.into_inner(), true).await?;
    state
        .db
        .write(move |conn| identity::add_member(conn, &user.id, &group.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn check_in_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (group, user) = membership(&state, &req, path.into_inner(), false).await?;
    let (g, u) = (group.id.clone(), user.id.clone());
    if !state
        .db
        .read(move |conn| identity::is_member(conn, &u, &g))
        .await?
    {
        return Err(Error::NotFound(format!(
            "Could not find user {} in group {}.",
            user.id, group.id
        )));
    }
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove_from_group(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (group, user) = membership(&state, &req, path.into_inner(), true).await?;
    let user_id = user.id.clone();
    state
        .db
        .write(move |conn| {
            identity::remove_member(conn, &user.id, &group.id)?;
            crate::application_credential::prune_for_user(conn, &user.id)?;
            // Roles held through the group end with the membership.
            crate::revoke::record(
                conn,
                crate::revoke::Revoke {
                    user_id: Some(user_id),
                    ..Default::default()
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_user_groups(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let user_id = path.into_inner();
    path_id(&user_id, "user id")?;
    let lookup = user_id.clone();
    let user = state
        .db
        .read(move |conn| {
            identity::get_user(conn, &lookup)?.ok_or_else(|| identity::not_found_user(&lookup))
        })
        .await?;
    policy::enforce(
        policy::LIST_USER_PROJECTS,
        &caller,
        Target {
            user_id: Some(&user.id),
            domain_id: Some(&user.domain_id),
            project_id: None,
        },
    )?;
    let id = user.id.clone();
    let groups = state
        .db
        .read(move |conn| identity::groups_of_user(conn, &id))
        .await?;
    let base = base_url(&req, &state);
    let items = groups.iter().map(|g| g.to_json(&base)).collect();
    Ok(HttpResponse::Ok().json(collection(
        "groups",
        items,
        &req,
        &base,
        &format!("/users/{user_id}/groups"),
    )))
}
