//! Identity administration: domains, projects and users, in Keystone's
//! shapes, filters, status codes and default policy.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::http::{base_url, bool_filter, caller, collection, query_pairs, JsonBody};
use super::input::{member, opt_bool, opt_string, path_id, req_string};
use crate::error::Error;
use crate::identity::{self, UserFilter, UserPatch};
use crate::policy::{self, Target};
use crate::resource::{
    self, DomainFilter, DomainPatch, NewDomain, NewProject, ProjectFilter, ProjectPatch,
};
use crate::secret::Secret;
use crate::AppState;

fn refuse_keys(map: &Map<String, Value>, what: &str, immutable: &[&str]) -> Result<(), Error> {
    match immutable.iter().find(|k| map.contains_key(**k)) {
        Some(k) => Err(Error::BadRequest(format!(
            "Update of `{k}` of a {what} is not allowed."
        ))),
        None => Ok(()),
    }
}

fn opt_description(map: &Map<String, Value>) -> Result<Option<Option<String>>, Error> {
    map.contains_key("description")
        .then(|| opt_string(map, "description", 65_535))
        .transpose()
}

fn name_field(map: &Map<String, Value>, max: usize) -> Result<Option<String>, Error> {
    match opt_string(map, "name", max)? {
        Some(n) if n.trim().is_empty() => Err(Error::invalid("name", "the name must not be blank")),
        other => Ok(other),
    }
}

// ---- domains ----

pub async fn create_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::CREATE_DOMAIN, &caller, Target::default())?;
    let d = member(&body.0, "domain")?;
    let name = req_string(d, "name", 64)?;
    let description = opt_string(d, "description", 65_535)?;
    let enabled = opt_bool(d, "enabled")?.unwrap_or(true);
    let domain = state
        .db
        .write(move |conn| {
            resource::create_domain(
                conn,
                NewDomain {
                    id: None,
                    name: &name,
                    description: description.as_deref(),
                    enabled,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({"domain": super::render::domain(&domain, &base_url(&req, &state))})))
}

pub async fn list_domains(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let mut filter = DomainFilter::default();
    for (k, v) in query_pairs(&req) {
        match k.as_str() {
            "name" => filter.name = Some(v),
            "enabled" => filter.enabled = Some(bool_filter(&v)?),
            _ => {}
        }
    }
    filter.id = policy::list_domain(policy::LIST_DOMAINS, &caller, None)?;
    let found = state
        .db
        .read(move |conn| resource::list_domains(conn, &filter))
        .await?;
    let base = base_url(&req, &state);
    let items = found
        .iter()
        .map(|d| super::render::domain(d, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("domains", items, &req, &base, "/domains")))
}

async fn load_domain(state: &AppState, id: String) -> Result<resource::Domain, Error> {
    path_id(&id, "domain id")?;
    state
        .db
        .read(move |conn| {
            resource::get_domain(conn, &id)?.ok_or_else(|| resource::not_found_domain(&id))
        })
        .await
}

pub async fn get_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let domain = load_domain(&state, path.into_inner()).await?;
    policy::enforce(policy::GET_DOMAIN, &caller, Target::in_domain(&domain.id))?;
    Ok(HttpResponse::Ok()
        .json(json!({"domain": super::render::domain(&domain, &base_url(&req, &state))})))
}

pub async fn update_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::UPDATE_DOMAIN, &caller, Target::default())?;
    let d = member(&body.0, "domain")?;
    refuse_keys(d, "domain", &["id"])?;
    let patch = DomainPatch {
        name: name_field(d, 64)?,
        description: opt_description(d)?,
        enabled: opt_bool(d, "enabled")?,
    };
    let id = path.into_inner();
    path_id(&id, "domain id")?;
    let domain = state
        .db
        .write(move |conn| resource::update_domain(conn, &id, &patch))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"domain": super::render::domain(&domain, &base_url(&req, &state))})))
}

pub async fn delete_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::DELETE_DOMAIN, &caller, Target::default())?;
    let id = path.into_inner();
    path_id(&id, "domain id")?;
    let default_domain = state.config.identity.default_domain_id.clone();
    state
        .db
        .write(move |conn| crate::cascade::delete_domain(conn, &id, &default_domain))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- projects ----

fn tags_field(map: &Map<String, Value>) -> Result<Option<Vec<String>>, Error> {
    match map.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::invalid("tags", &format!("{t} is not of type 'string'")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(Error::invalid(
            "tags",
            &format!("{other} is not of type 'array'"),
        )),
    }
}

pub async fn create_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let p = member(&body.0, "project")?;
    let name = req_string(p, "name", 64)?;
    let description = opt_string(p, "description", 65_535)?;
    let enabled = opt_bool(p, "enabled")?.unwrap_or(true);
    let tags = tags_field(p)?.unwrap_or_default();
    if opt_bool(p, "is_domain")? == Some(true) {
        return Err(Error::BadRequest(
            "Projects acting as domains are not supported; create a domain instead.".into(),
        ));
    }
    let mut parent_id = opt_string(p, "parent_id", 64)?;
    let asked_domain = opt_string(p, "domain_id", 64)?;
    // A parent that names a domain means "top level in that domain".
    let parent_domain = match &parent_id {
        Some(pid) => {
            let lookup = pid.clone();
            let (project, domain) = state
                .db
                .read(move |conn| {
                    Ok((
                        resource::get_project(conn, &lookup)?,
                        resource::get_domain(conn, &lookup)?,
                    ))
                })
                .await?;
            match (project, domain) {
                (Some(project), _) => Some(project.domain_id),
                (None, Some(domain)) => {
                    parent_id = None;
                    Some(domain.id)
                }
                (None, None) => {
                    return Err(Error::BadRequest(format!(
                        "Could not find the parent project: {pid}."
                    )))
                }
            }
        }
        None => None,
    };
    let domain_id = asked_domain
        .or(parent_domain)
        .or_else(|| caller.token_domain_id().map(str::to_string))
        .unwrap_or_else(|| state.config.identity.default_domain_id.clone());
    policy::enforce(
        policy::CREATE_PROJECT,
        &caller,
        Target::in_domain(&domain_id),
    )?;
    let project = state
        .db
        .write(move |conn| {
            let project = resource::create_project(
                conn,
                NewProject {
                    name: &name,
                    domain_id: &domain_id,
                    parent_id: parent_id.as_deref(),
                    description: description.as_deref(),
                    enabled,
                },
            )?;
            resource::set_tags(conn, &project.id, &tags)?;
            resource::get_project(conn, &project.id)?
                .ok_or_else(|| resource::not_found_project(&project.id))
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({"project": super::render::project(&project, &base_url(&req, &state))})))
}

pub async fn list_projects(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let mut filter = ProjectFilter::default();
    for (k, v) in query_pairs(&req) {
        match k.as_str() {
            "name" => filter.name = Some(v),
            "domain_id" => filter.domain_id = Some(v),
            "parent_id" => filter.parent_id = Some(v),
            "enabled" => filter.enabled = Some(bool_filter(&v)?),
            _ => {}
        }
    }
    filter.domain_id =
        policy::list_domain(policy::LIST_PROJECTS, &caller, filter.domain_id.take())?;
    let found = state
        .db
        .read(move |conn| resource::list_projects(conn, &filter))
        .await?;
    let base = base_url(&req, &state);
    let items = found
        .iter()
        .map(|p| super::render::project(p, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("projects", items, &req, &base, "/projects")))
}

async fn load_project(state: &AppState, id: String) -> Result<resource::Project, Error> {
    path_id(&id, "project id")?;
    state
        .db
        .read(move |conn| {
            resource::get_project(conn, &id)?.ok_or_else(|| resource::not_found_project(&id))
        })
        .await
}

pub async fn update_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let p = member(&body.0, "project")?;
    refuse_keys(p, "project", &["id", "domain_id", "parent_id", "is_domain"])?;
    let patch = ProjectPatch {
        name: name_field(p, 64)?,
        description: opt_description(p)?,
        enabled: opt_bool(p, "enabled")?,
        tags: tags_field(p)?,
    };
    let project = load_project(&state, path.into_inner()).await?;
    policy::enforce(
        policy::UPDATE_PROJECT,
        &caller,
        Target::in_domain(&project.domain_id),
    )?;
    let id = project.id;
    let updated = state
        .db
        .write(move |conn| resource::update_project(conn, &id, &patch))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"project": super::render::project(&updated, &base_url(&req, &state))})))
}

pub async fn delete_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let project = load_project(&state, path.into_inner()).await?;
    policy::enforce(
        policy::DELETE_PROJECT,
        &caller,
        Target::in_domain(&project.domain_id),
    )?;
    let id = project.id;
    state
        .db
        .write(move |conn| crate::cascade::delete_project(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- users ----

const USER_FIELDS: [&str; 7] = [
    "id",
    "name",
    "domain_id",
    "password",
    "enabled",
    "default_project_id",
    "options",
];

/// Everything that is not a known field is Keystone's "extra" (email, …).
fn user_extra(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| {
            !USER_FIELDS.contains(&k.as_str())
                && k.as_str() != "password_expires_at"
                && k.as_str() != "links"
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn password_field(map: &Map<String, Value>, state: &AppState) -> Result<Option<Secret>, Error> {
    match map.get("password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(p)) if p.len() > state.config.identity.max_password_length => {
            Err(Error::invalid(
                "password",
                &format!(
                    "the password is longer than {} bytes",
                    state.config.identity.max_password_length
                ),
            ))
        }
        Some(Value::String(p)) => Ok(Some(Secret::new(p.clone()))),
        Some(_) => Err(Error::invalid(
            "password",
            "the value is not of type 'string'",
        )),
    }
}

pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let u = member(&body.0, "user")?;
    let name = req_string(u, "name", 255)?;
    let domain_id = opt_string(u, "domain_id", 64)?
        .or_else(|| caller.token_domain_id().map(str::to_string))
        .unwrap_or_else(|| state.config.identity.default_domain_id.clone());
    policy::enforce(policy::CREATE_USER, &caller, Target::in_domain(&domain_id))?;
    let enabled = opt_bool(u, "enabled")?.unwrap_or(true);
    let default_project_id = opt_string(u, "default_project_id", 64)?;
    let extra = user_extra(u);
    let password_hash = match password_field(u, &state)? {
        Some(p) => Some(state.hasher.hash(p.into_zeroizing()).await?),
        None => None,
    };
    let user = state
        .db
        .write(move |conn| {
            if let Some(p) = &default_project_id {
                if resource::get_project(conn, p)?.is_none() {
                    return Err(Error::BadRequest(format!(
                        "The default project {p} does not exist."
                    )));
                }
            }
            let user = identity::create_user(
                conn,
                identity::NewUser {
                    name: &name,
                    domain_id: &domain_id,
                    enabled,
                    default_project_id: default_project_id.as_deref(),
                    password_hash,
                },
            )?;
            if !extra.is_empty() {
                identity::set_extra(conn, &user.id, &extra)?;
            }
            identity::get_user(conn, &user.id)?.ok_or_else(|| identity::not_found_user(&user.id))
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({"user": super::render::user(&user, &base_url(&req, &state))})))
}

pub async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let mut filter = UserFilter::default();
    for (k, v) in query_pairs(&req) {
        match k.as_str() {
            "name" => filter.name = Some(v),
            "domain_id" => filter.domain_id = Some(v),
            "enabled" => filter.enabled = Some(bool_filter(&v)?),
            _ => {}
        }
    }
    filter.domain_id = policy::list_domain(policy::LIST_USERS, &caller, filter.domain_id.take())?;
    let found = state
        .db
        .read(move |conn| identity::list_users(conn, &filter))
        .await?;
    let base = base_url(&req, &state);
    let items = found
        .iter()
        .map(|u| super::render::user(u, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("users", items, &req, &base, "/users")))
}

async fn load_user(state: &AppState, id: String) -> Result<identity::User, Error> {
    path_id(&id, "user id")?;
    state
        .db
        .read(move |conn| {
            identity::get_user(conn, &id)?.ok_or_else(|| identity::not_found_user(&id))
        })
        .await
}

pub async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let u = member(&body.0, "user")?;
    refuse_keys(u, "user", &["id", "domain_id"])?;
    let user = load_user(&state, path.into_inner()).await?;
    policy::enforce(
        policy::UPDATE_USER,
        &caller,
        Target {
            user_id: Some(&user.id),
            domain_id: Some(&user.domain_id),
            project_id: None,
        },
    )?;
    let password_hash = match password_field(u, &state)? {
        Some(p) => Some(state.hasher.hash(p.into_zeroizing()).await?),
        None => None,
    };
    let patch = UserPatch {
        name: name_field(u, 255)?,
        enabled: opt_bool(u, "enabled")?,
        default_project_id: u
            .contains_key("default_project_id")
            .then(|| opt_string(u, "default_project_id", 64))
            .transpose()?,
        password_hash,
        extra: user_extra(u),
    };
    let id = user.id;
    let updated = state
        .db
        .write(move |conn| identity::update_user(conn, &id, patch))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"user": super::render::user(&updated, &base_url(&req, &state))})))
}

pub async fn delete_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let user = load_user(&state, path.into_inner()).await?;
    policy::enforce(
        policy::DELETE_USER,
        &caller,
        Target {
            user_id: Some(&user.id),
            domain_id: Some(&user.domain_id),
            project_id: None,
        },
    )?;
    let id = user.id;
    state
        .db
        .write(move |conn| crate::cascade::delete_user(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /v3/users/{user_id}/password`: self-service, with the original
/// password instead of a token (as Keystone). Revokes the user's tokens.
pub async fn change_password(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let user_id = path.into_inner();
    path_id(&user_id, "user id")?;
    let u = member(&body.0, "user")?;
    let original = match u.get("original_password") {
        Some(Value::String(p)) => Secret::new(p.clone()),
        _ => {
            return Err(Error::invalid(
                "user",
                "'original_password' is a required property",
            ))
        }
    };
    let new = password_field(u, &state)?
        .ok_or_else(|| Error::invalid("user", "'password' is a required property"))?;
    let lookup = user_id.clone();
    let found = state
        .db
        .read(move |conn| {
            let user = identity::get_user(conn, &lookup)?;
            let hash = identity::current_password(conn, &lookup)?.map(|p| p.password_hash);
            Ok(user.map(|u| (u, hash)))
        })
        .await?;
    let stored = found.as_ref().and_then(|(_, h)| h.clone());
    let matched = state
        .hasher
        .verify(original.into_zeroizing(), stored)
        .await?;
    match found {
        Some((user, _)) if matched && user.enabled => {}
        _ => return Err(Error::unauthorized()),
    }
    let hash = state.hasher.hash(new.into_zeroizing()).await?;
    state
        .db
        .write(move |conn| identity::change_password(conn, &user_id, hash, true))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v3/users/{user_id}/projects`: projects the user has a role on.
pub async fn list_user_projects(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = caller(&state, &req).await?;
    let user = load_user(&state, path.into_inner()).await?;
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
    let projects = state
        .db
        .read(move |conn| {
            let ids = crate::assignment::project_ids_for_user(conn, &id)?;
            resource::list_projects_by_ids(conn, &ids)
        })
        .await?;
    let base = base_url(&req, &state);
    let items = projects
        .iter()
        .map(|p| super::render::project(p, &base))
        .collect();
    let path = format!("/users/{}/projects", user.id);
    Ok(HttpResponse::Ok().json(collection("projects", items, &req, &base, &path)))
}
