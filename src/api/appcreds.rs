//! `/v3/users/{user_id}/application_credentials` and `/access_rules`
//! (rules, secrets and storage in `crate::application_credential`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::http::{
    base_url, caller, gone, id_of, one, paged_collection, query, user_and, JsonBody, Resp,
};
use super::input::{
    member, opt_bool, opt_future_time, opt_leak_action, opt_string, path_id, req_string,
};
use super::render;
use crate::application_credential::{AppCredInput, RoleRef, RuleInput};
use crate::error::Error;
use crate::AppState;

const METHODS: [&str; 6] = ["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"];

fn roles_field(a: &Map<String, Value>) -> Result<Option<Vec<RoleRef>>, Error> {
    match a.get("roles") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(
            items
                .iter()
                .map(|item| RoleRef {
                    id: item.get("id").and_then(Value::as_str).map(str::to_string),
                    name: item.get("name").and_then(Value::as_str).map(str::to_string),
                })
                .collect(),
        )),
        Some(other) => Err(Error::invalid(
            "roles",
            &format!("{other} is not of type 'array'"),
        )),
    }
}

fn access_rules_field(a: &Map<String, Value>) -> Result<Vec<RuleInput>, Error> {
    let mut rules = Vec::new();
    match a.get("access_rules") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                if let Some(id) = item.get("id").and_then(Value::as_str) {
                    rules.push((id.to_string(), String::new(), String::new()));
                    continue;
                }
                let field = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
                let (Some(service), Some(rule_path), Some(method)) =
                    (field("service"), field("path"), field("method"))
                else {
                    return Err(Error::invalid(
                        "access_rules",
                        "each rule needs service, path and method, or an id",
                    ));
                };
                if !rule_path.starts_with('/')
                    || rule_path.len() > 225
                    || !METHODS.contains(&method.as_str())
                    || service.is_empty()
                {
                    return Err(Error::invalid(
                        "access_rules",
                        &format!("{item} is not a valid access rule"),
                    ));
                }
                rules.push((service, rule_path, method));
            }
        }
        Some(other) => {
            return Err(Error::invalid(
                "access_rules",
                &format!("{other} is not of type 'array'"),
            ))
        }
    }
    Ok(rules)
}

fn new_app_cred(body: &Value) -> Result<AppCredInput, Error> {
    let a = member(body, "application_credential")?;
    Ok(AppCredInput {
        name: req_string(a, "name", 255)?,
        description: opt_string(a, "description", 65_535)?,
        secret: opt_string(a, "secret", 4096)?,
        expires_at: opt_future_time(a, "expires_at")?.flatten(),
        unrestricted: opt_bool(a, "unrestricted")?.unwrap_or(false),
        roles: roles_field(a)?,
        access_rules: access_rules_field(a),
        action_when_leaked: opt_leak_action(a)?.flatten(),
    })
}

/// Keystone's shape, or with `?lifecycle` Ironstone's additions.
fn app_cred_renderer(
    req: &HttpRequest,
) -> fn(&crate::application_credential::AppCred, &str) -> Value {
    if query(req, "lifecycle").is_some() {
        render::app_cred_with_lifecycle
    } else {
        render::app_cred
    }
}

fn user_and_id(
    path: web::Path<(String, String)>,
    what: &str,
) -> Result<(String, Result<String, Error>), Error> {
    let (user_id, id) = path.into_inner();
    path_id(&user_id, "user id")?;
    let id = path_id(&id, what).map(|_| id);
    Ok((user_id, id))
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let user_id = id_of(path, "user id")?;
    let caller = caller(&state, &req).await?;
    let created = state
        .app_creds
        .create(&caller, user_id, new_app_cred(&body.0))
        .await?;
    let mut item = render::app_cred(&created.credential, &base_url(&req, &state));
    item["secret"] = json!(created.secret.expose());
    Ok(one(true, "application_credential", item))
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> Resp {
    let user_id = id_of(path, "user id")?;
    let caller = caller(&state, &req).await?;
    let found = state
        .app_creds
        .list(&caller, user_id.clone(), query(&req, "name"))
        .await?;
    let base = base_url(&req, &state);
    let render = app_cred_renderer(&req);
    let items = found.iter().map(|a| render(a, &base)).collect();
    let path = format!("/users/{user_id}/application_credentials");
    Ok(HttpResponse::Ok().json(paged_collection(
        "application_credentials",
        items,
        &req,
        &base,
        &path,
    )?))
}

pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let (user_id, id) = user_and_id(path, "application credential id")?;
    let caller = caller(&state, &req).await?;
    let found = state.app_creds.get(&caller, user_id, id).await?;
    Ok(one(
        false,
        "application_credential",
        app_cred_renderer(&req)(&found, &base_url(&req, &state)),
    ))
}

pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let (user_id, id) = user_and_id(path, "application credential id")?;
    let caller = caller(&state, &req).await?;
    state.app_creds.delete(&caller, user_id, id).await.map(gone)
}

/// `POST /v3/users/{user_id}/application_credentials/{id}/rotate`
/// (Ironstone's): the replacement, its secret shown once, and the old
/// credential, renamed and set to expire after the grace period.
pub async fn rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> Resp {
    let (user_id, id) = user_and_id(path, "application credential id")?;
    let grace = super::input::grace_period(&body.0);
    let caller = caller(&state, &req).await?;
    let rotated = state.app_creds.rotate(&caller, user_id, id, grace).await?;
    let base = base_url(&req, &state);
    let mut item = render::app_cred_with_lifecycle(&rotated.replacement.credential, &base);
    item["secret"] = json!(rotated.replacement.secret.expose());
    Ok(HttpResponse::Created().json(json!({
        "application_credential": item,
        "previous": render::app_cred_with_lifecycle(&rotated.previous, &base),
    })))
}

pub async fn list_access_rules(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let user_id = id_of(path, "user id")?;
    let caller = caller(&state, &req).await?;
    let rules = state
        .app_creds
        .access_rules(&caller, user_id.clone())
        .await?;
    let base = base_url(&req, &state);
    let items = rules
        .iter()
        .map(|r| render::access_rule_member(r, &base))
        .collect();
    let path = format!("/users/{user_id}/access_rules");
    Ok(HttpResponse::Ok().json(paged_collection("access_rules", items, &req, &base, &path)?))
}

pub async fn get_access_rule(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let (user_id, id) = user_and(path)?;
    let caller = caller(&state, &req).await?;
    let rule = state.app_creds.access_rule(&caller, user_id, id).await?;
    Ok(one(
        false,
        "access_rule",
        render::access_rule_member(&rule, &base_url(&req, &state)),
    ))
}

pub async fn delete_access_rule(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let (user_id, id) = user_and(path)?;
    let caller = caller(&state, &req).await?;
    state
        .app_creds
        .delete_access_rule(&caller, user_id, id)
        .await
        .map(gone)
}
