//! Identity administration: domains, projects and users (rules and
//! storage in `crate::resource`, `crate::identity` and `crate::cascade`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::http::{
    base_url, bool_filter, caller, collection, gone, id_of, one, query_pairs, JsonBody, Resp,
};
use super::input::{member, opt_bool, opt_string, path_id, req_string};
use super::render;
use crate::error::Error;
use crate::identity::{UserChange, UserDetails, UserFilter, UserInput};
use crate::resource::{
    DomainFilter, DomainInput, DomainPatch, ProjectFilter, ProjectInput, ProjectPatch,
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

fn new_domain(body: &Value) -> Result<DomainInput, Error> {
    let d = member(body, "domain")?;
    Ok(DomainInput {
        name: req_string(d, "name", 64)?,
        description: opt_string(d, "description", 65_535)?,
        enabled: opt_bool(d, "enabled")?.unwrap_or(true),
    })
}

fn domain_patch(body: &Value) -> Result<DomainPatch, Error> {
    let d = member(body, "domain")?;
    refuse_keys(d, "domain", &["id"])?;
    Ok(DomainPatch {
        name: name_field(d, 64)?,
        description: opt_description(d)?,
        enabled: opt_bool(d, "enabled")?,
    })
}

pub async fn create_domain(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let caller = caller(&state, &req).await?;
    let domain = state
        .resources
        .create_domain(&caller, new_domain(&body.0))
        .await?;
    Ok(one(
        true,
        "domain",
        render::domain(&domain, &base_url(&req, &state)),
    ))
}

pub async fn list_domains(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let mut filter = DomainFilter::default();
    for (k, v) in query_pairs(&req) {
        match k.as_str() {
            "name" => filter.name = Some(v),
            "enabled" => filter.enabled = Some(bool_filter(&v)?),
            _ => {}
        }
    }
    let found = state.resources.list_domains(&caller, filter).await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|d| render::domain(d, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("domains", items, &req, &base, "/domains")))
}

pub async fn get_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let domain = state
        .resources
        .get_domain(&caller, id_of(path, "domain id"))
        .await?;
    Ok(one(
        false,
        "domain",
        render::domain(&domain, &base_url(&req, &state)),
    ))
}

pub async fn update_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let change = domain_patch(&body.0).and_then(|p| Ok((id_of(path, "domain id")?, p)));
    let domain = state.resources.update_domain(&caller, change).await?;
    Ok(one(
        false,
        "domain",
        render::domain(&domain, &base_url(&req, &state)),
    ))
}

pub async fn delete_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    state
        .cascade
        .delete_domain(&caller, id_of(path, "domain id"))
        .await
        .map(gone)
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

fn new_project(body: &Value) -> Result<ProjectInput, Error> {
    let p = member(body, "project")?;
    let name = req_string(p, "name", 64)?;
    let description = opt_string(p, "description", 65_535)?;
    let enabled = opt_bool(p, "enabled")?.unwrap_or(true);
    let tags = tags_field(p)?.unwrap_or_default();
    if opt_bool(p, "is_domain")? == Some(true) {
        return Err(Error::BadRequest(
            "Projects acting as domains are not supported; create a domain instead.".into(),
        ));
    }
    Ok(ProjectInput {
        name,
        description,
        enabled,
        tags,
        parent_id: opt_string(p, "parent_id", 64)?,
        domain_id: opt_string(p, "domain_id", 64)?,
    })
}

fn project_patch(body: &Value) -> Result<ProjectPatch, Error> {
    let p = member(body, "project")?;
    refuse_keys(p, "project", &["id", "domain_id", "parent_id", "is_domain"])?;
    Ok(ProjectPatch {
        name: name_field(p, 64)?,
        description: opt_description(p)?,
        enabled: opt_bool(p, "enabled")?,
        tags: tags_field(p)?,
    })
}

pub async fn create_project(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let caller = caller(&state, &req).await?;
    let project = state
        .resources
        .create_project(&caller, new_project(&body.0))
        .await?;
    Ok(one(
        true,
        "project",
        render::project(&project, &base_url(&req, &state)),
    ))
}

pub async fn list_projects(state: web::Data<AppState>, req: HttpRequest) -> Resp {
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
    let found = state.resources.list_projects(&caller, filter).await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|p| render::project(p, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("projects", items, &req, &base, "/projects")))
}

pub async fn update_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let patch = project_patch(&body.0);
    let project = state
        .resources
        .update_project(&caller, id_of(path, "project id"), patch)
        .await?;
    Ok(one(
        false,
        "project",
        render::project(&project, &base_url(&req, &state)),
    ))
}

pub async fn delete_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    state
        .cascade
        .delete_project(&caller, id_of(path, "project id"))
        .await
        .map(gone)
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

fn password_field(map: &Map<String, Value>, max: usize) -> Result<Option<Secret>, Error> {
    match map.get("password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(p)) if p.len() > max => Err(Error::invalid(
            "password",
            &format!("the password is longer than {max} bytes"),
        )),
        Some(Value::String(p)) => Ok(Some(Secret::new(p.clone()))),
        Some(_) => Err(Error::invalid(
            "password",
            "the value is not of type 'string'",
        )),
    }
}

fn new_user(body: &Value, max_password: usize) -> Result<UserInput, Error> {
    let u = member(body, "user")?;
    let details = (|| {
        Ok(UserDetails {
            enabled: opt_bool(u, "enabled")?.unwrap_or(true),
            default_project_id: opt_string(u, "default_project_id", 64)?,
            extra: user_extra(u),
            password: password_field(u, max_password)?,
        })
    })();
    Ok(UserInput {
        name: req_string(u, "name", 255)?,
        domain_id: opt_string(u, "domain_id", 64)?,
        details,
    })
}

/// The shape first (before the user is looked up), the fields after the
/// rule passed: Keystone's order.
fn user_change(body: &Value, max_password: usize) -> Result<Result<UserChange, Error>, Error> {
    let u = member(body, "user")?;
    refuse_keys(u, "user", &["id", "domain_id"])?;
    Ok((|| {
        let password = password_field(u, max_password)?;
        Ok(UserChange {
            password,
            name: name_field(u, 255)?,
            enabled: opt_bool(u, "enabled")?,
            default_project_id: u
                .contains_key("default_project_id")
                .then(|| opt_string(u, "default_project_id", 64))
                .transpose()?,
            extra: user_extra(u),
        })
    })())
}

pub async fn create_user(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let caller = caller(&state, &req).await?;
    let new = new_user(&body.0, state.config.identity.max_password_length);
    let user = state.users.create(&caller, new).await?;
    Ok(one(
        true,
        "user",
        render::user(&user, &base_url(&req, &state)),
    ))
}

pub async fn list_users(state: web::Data<AppState>, req: HttpRequest) -> Resp {
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
    let found = state.users.list(&caller, filter).await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|u| render::user(u, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("users", items, &req, &base, "/users")))
}

pub async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let change = user_change(&body.0, state.config.identity.max_password_length);
    let user = state
        .users
        .update(&caller, id_of(path, "user id"), change)
        .await?;
    Ok(one(
        false,
        "user",
        render::user(&user, &base_url(&req, &state)),
    ))
}

pub async fn delete_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    state
        .cascade
        .delete_user(&caller, id_of(path, "user id"))
        .await
        .map(gone)
}

/// `POST /v3/users/{user_id}/password`: self-service, with the original
/// password instead of a token (as Keystone).
pub async fn change_password(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let user_id = id_of(path, "user id")?;
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
    let new = password_field(u, state.config.identity.max_password_length)?
        .ok_or_else(|| Error::invalid("user", "'password' is a required property"))?;
    state
        .users
        .change_password(user_id, original, new)
        .await
        .map(gone)
}

/// `GET /v3/users/{user_id}/projects`: projects the user has a role on.
pub async fn list_user_projects(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let user_id = path.into_inner();
    let checked = path_id(&user_id, "user id").map(|_| user_id.clone());
    let projects = state.assignments.projects_of_user(&caller, checked).await?;
    let base = base_url(&req, &state);
    let items = projects.iter().map(|p| render::project(p, &base)).collect();
    let path = format!("/users/{user_id}/projects");
    Ok(HttpResponse::Ok().json(collection("projects", items, &req, &base, &path)))
}
