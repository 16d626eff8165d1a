//! `/v3/users/{user_id}/application_credentials` and `/access_rules`.

use std::collections::BTreeSet;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};

use super::http::{base_url, caller, collection, query_pairs, JsonBody};
use super::input::{member, opt_bool, opt_future_time, opt_string, path_id, req_string};
use crate::application_credential::{self as appcred, NewAppCred};
use crate::error::Error;
use crate::policy::{self, Target};
use crate::secret::Secret;
use crate::AppState;

const METHODS: [&str; 6] = ["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"];

/// A new secret as Keystone makes it: 64 random bytes, urlsafe base64.
fn generate_secret() -> String {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let user_id = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = caller(&state, &req).await?;
    policy::refuse_restricted_delegation(&caller)?;
    policy::enforce(policy::CREATE_APP_CRED, &caller, Target::owned_by(&user_id))?;
    let Some(project_id) = caller.project_id().map(str::to_string) else {
        return Err(Error::forbidden_action(policy::CREATE_APP_CRED.action));
    };
    let a = member(&body.0, "application_credential")?;
    let name = req_string(a, "name", 255)?;
    let description = opt_string(a, "description", 65_535)?;
    let secret = match opt_string(a, "secret", 4096)? {
        Some(s) if !s.is_empty() => s,
        _ => generate_secret(),
    };
    let expires_at = opt_future_time(a, "expires_at")?.flatten();
    let unrestricted = opt_bool(a, "unrestricted")?.unwrap_or(false);
    // Roles: a subset of the token's, by id or name; default all of them.
    let token_roles = &caller.roles;
    let role_ids: BTreeSet<String> = match a.get("roles") {
        None | Some(Value::Null) => token_roles.iter().map(|r| r.id.clone()).collect(),
        Some(Value::Array(items)) => {
            let mut ids = BTreeSet::new();
            for item in items {
                let found = token_roles.iter().find(|r| {
                    item.get("id").and_then(Value::as_str) == Some(r.id.as_str())
                        || item.get("name").and_then(Value::as_str) == Some(r.name.as_str())
                });
                match found {
                    Some(r) => ids.insert(r.id.clone()),
                    None => {
                        return Err(Error::BadRequest(
                            "Invalid application credential: Cannot create an application credential with unassigned role".into(),
                        ))
                    }
                };
            }
            ids
        }
        Some(other) => {
            return Err(Error::invalid(
                "roles",
                &format!("{other} is not of type 'array'"),
            ))
        }
    };
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
    let secret_hash = state
        .hasher
        .hash(Secret::new(secret.clone()).into_zeroizing())
        .await?;
    let owner = user_id.clone();
    let created = state
        .db
        .write(move |conn| {
            let implied = crate::assignment::expand_implied(conn, role_ids)?;
            appcred::create(
                conn,
                NewAppCred {
                    name,
                    description,
                    user_id: owner,
                    project_id,
                    expires_at,
                    unrestricted,
                    secret_hash,
                    role_ids: implied.into_iter().collect(),
                    access_rules: rules,
                },
            )
        })
        .await?;
    let mut body = created.to_json(&base_url(&req, &state));
    body["secret"] = json!(secret);
    Ok(HttpResponse::Created().json(json!({"application_credential": body})))
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let user_id = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::READ_APP_CREDS, &caller, Target::owned_by(&user_id))?;
    let name = query_pairs(&req)
        .into_iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v);
    let owner = user_id.clone();
    let found = state
        .db
        .read(move |conn| appcred::list_for_user(conn, &owner, name.as_deref()))
        .await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|a| a.to_json(&base)).collect();
    Ok(HttpResponse::Ok().json(collection(
        "application_credentials",
        items,
        &req,
        &base,
        &format!("/users/{user_id}/application_credentials"),
    )))
}

async fn load(state: &AppState, user_id: &str, id: String) -> Result<appcred::AppCred, Error> {
    path_id(&id, "application credential id")?;
    let owner = user_id.to_string();
    state
        .db
        .read(move |conn| {
            appcred::get(conn, &id)?
                .filter(|a| a.user_id == owner)
                .ok_or_else(|| appcred::not_found(&id))
        })
        .await
}

pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (user_id, id) = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::READ_APP_CREDS, &caller, Target::owned_by(&user_id))?;
    let found = load(&state, &user_id, id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"application_credential": found.to_json(&base_url(&req, &state))})))
}

pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (user_id, id) = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = caller(&state, &req).await?;
    policy::refuse_restricted_delegation(&caller)?;
    policy::enforce(policy::DELETE_APP_CRED, &caller, Target::owned_by(&user_id))?;
    let found = load(&state, &user_id, id).await?;
    state
        .db
        .write(move |conn| appcred::delete(conn, &found.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_access_rules(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let user_id = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::READ_APP_CREDS, &caller, Target::owned_by(&user_id))?;
    let owner = user_id.clone();
    let rules = state
        .db
        .read(move |conn| appcred::list_access_rules(conn, &owner))
        .await?;
    let base = base_url(&req, &state);
    let items = rules.iter().map(|r| r.to_json()).collect();
    Ok(HttpResponse::Ok().json(collection(
        "access_rules",
        items,
        &req,
        &base,
        &format!("/users/{user_id}/access_rules"),
    )))
}

pub async fn get_access_rule(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (user_id, id) = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::READ_APP_CREDS, &caller, Target::owned_by(&user_id))?;
    let owner = user_id.clone();
    let rules = state
        .db
        .read(move |conn| appcred::list_access_rules(conn, &owner))
        .await?;
    let rule = rules
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| Error::NotFound(format!("Could not find access rule: {id}.")))?;
    Ok(HttpResponse::Ok().json(json!({"access_rule": rule.to_json()})))
}

pub async fn delete_access_rule(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (user_id, id) = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = caller(&state, &req).await?;
    policy::enforce(policy::DELETE_APP_CRED, &caller, Target::owned_by(&user_id))?;
    state
        .db
        .write(move |conn| appcred::delete_access_rule(conn, &user_id, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
