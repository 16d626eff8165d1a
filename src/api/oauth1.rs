//! OS-OAUTH1 (rules, storage and signatures in `crate::oauth1`):
//! consumers, the request-token / authorize / access-token exchange, and
//! a user's access tokens.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::crud::{Entity, Names};
use super::error::method_not_allowed;
use super::http::{base_url, caller, collection, header, query_pairs, JsonBody, Resp};
use super::input::{extra_attributes, matching_id, path_id};
use super::render;
use crate::error::Error;
use crate::oauth1::{Consumer, ConsumerPatch, Issued, NewConsumer, RoleRef, SignedRequest};
use crate::policy::{Caller, Input};
use crate::AppState;

/// The attributes a consumer keeps in its columns (`secret` is never
/// taken from a body); every other one is an extra attribute, its name
/// normalized as Keystone's `_normalize_dict` does on create and update.
const CONSUMER_FIELDS: [&str; 5] = ["id", "description", "secret", "links", "extra"];

/// The `consumer` object of a body; Keystone takes a missing one as `{}`.
fn consumer_member(body: &Value) -> Result<Map<String, Value>, Error> {
    match body.get("consumer") {
        None => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        // Keystone 30 answers a null consumer with a 500 on create and a
        // 400 on update: a 400 both times.
        Some(other) => Err(Error::invalid(
            "consumer",
            &format!("{other} is not of type 'object'"),
        )),
    }
}

/// `description`: a string or null (Keystone's nullable description).
fn description(map: &Map<String, Value>) -> Result<Option<Option<String>>, Error> {
    match map.get("description") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.chars().count() > 65_535 => {
            Err(Error::invalid("description", "the description is too long"))
        }
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(other) => Err(Error::invalid(
            "description",
            &format!("{other} is not of type 'string', 'null'"),
        )),
    }
}

/// `/v3/OS-OAUTH1/consumers`.
pub struct Consumers;

impl Entity for Consumers {
    const NAMES: Names = Names {
        member: "consumer",
        collection: "consumers",
        id: "consumer id",
    };
    /// Keystone lists consumers without driver hints: no `?limit=`.
    const PAGED: bool = false;
    type Item = Consumer;
    type Patch = Input<ConsumerPatch>;
    type Filter = ();

    fn path() -> String {
        "/OS-OAUTH1/consumers".into()
    }

    /// Keystone's `consumer_update` schema: something to change, never
    /// the secret; then `_require_matching_id`.
    fn parse_patch(body: &Value, path_id: &str, _: &AppState) -> Self::Patch {
        let c = consumer_member(body)?;
        if c.is_empty() {
            return Err(Error::BadRequest("{} should be non-empty".into()));
        }
        if c.contains_key("secret") {
            return Err(Error::BadRequest(
                "A consumer's secret cannot be changed.".into(),
            ));
        }
        let description = description(&c)?;
        matching_id(&c, path_id)?;
        Ok(ConsumerPatch {
            description,
            extra: extra_attributes(&c, &CONSUMER_FIELDS, true),
        })
    }

    fn filter(_: &HttpRequest) -> Result<(), Error> {
        Ok(())
    }

    fn render(item: &Consumer, base: &str) -> Value {
        render::consumer(item, base)
    }

    async fn list(state: &AppState, caller: &Caller, _: ()) -> Result<Vec<Consumer>, Error> {
        state.oauth1.list_consumers(caller).await
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Consumer, Error> {
        state.oauth1.get_consumer(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Consumer, Error> {
        state.oauth1.update_consumer(caller, id, patch).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.oauth1.delete_consumer(caller, id).await
    }
}

/// `POST /v3/OS-OAUTH1/consumers`: the consumer with its secret, shown
/// this once.
pub async fn create_consumer(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let caller = caller(&state, &req).await?;
    let new = consumer_member(&body.0).and_then(|c| {
        Ok(NewConsumer {
            description: description(&c)?.flatten(),
            extra: extra_attributes(&c, &CONSUMER_FIELDS, true),
        })
    });
    let created = state.oauth1.create_consumer(&caller, new).await?;
    let mut shown = render::consumer(&created.consumer, &base_url(&req, &state));
    shown["secret"] = json!(created.secret.expose());
    Ok(HttpResponse::Created().json(json!({ "consumer": shown })))
}

/// What the consumer signed: the URL as it reached us (Keystone takes the
/// scheme from its base URL and the host from the request), the query,
/// and a form body.
pub(super) fn signed_request(req: &HttpRequest, state: &AppState, body: &[u8]) -> SignedRequest {
    let base = base_url(req, state);
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base.as_str()));
    let host = header(req, "host")
        .map(str::to_string)
        .unwrap_or_else(|| rest.split('/').next().unwrap_or_default().to_string());
    let mut parameters = query_pairs(req);
    let form = header(req, "content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        if let Ok(text) = std::str::from_utf8(body) {
            parameters.extend(crate::signature::oauth1::form_pairs(text));
        }
    }
    SignedRequest {
        authorization: header(req, "authorization").map(str::to_string),
        http_method: req.method().as_str().to_string(),
        scheme: scheme.to_string(),
        host,
        path: req.path().to_string(),
        parameters,
    }
}

/// Keystone's answer to a token exchange: form-encoded credentials.
fn issued(token: &Issued) -> HttpResponse {
    let mut text = format!(
        "oauth_token={}&oauth_token_secret={}",
        token.id,
        token.secret.expose()
    );
    if let Some(at) = token.expires_at {
        text.push_str(&format!(
            "&oauth_expires_at={}",
            crate::oauth1::format_expiry(at)
        ));
    }
    HttpResponse::Created()
        .content_type("application/x-www-form-urlencoded")
        .body(text)
}

/// `POST /v3/OS-OAUTH1/request_token`.
pub async fn request_token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Resp {
    let signed = signed_request(&req, &state, &body);
    let project = header(&req, "requested-project-id").map(str::to_string);
    let token = state.oauth1.issue_request_token(signed, project).await?;
    Ok(issued(&token))
}

/// `POST /v3/OS-OAUTH1/access_token`.
pub async fn access_token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Resp {
    let signed = signed_request(&req, &state, &body);
    let token = state.oauth1.issue_access_token(signed).await?;
    Ok(issued(&token))
}

/// `GET` on the token endpoints: Keystone's 405, allowing POST.
pub async fn only_post() -> HttpResponse {
    method_not_allowed("POST")
}

/// Keystone's `request_token_authorize` schema: a list of objects with
/// exactly one of `id` or `name`.
fn role_refs(body: &Value) -> Result<Vec<RoleRef>, Error> {
    let roles = match body.get("roles") {
        None => return Ok(Vec::new()),
        Some(Value::Array(roles)) => roles,
        Some(other) => {
            return Err(Error::invalid(
                "roles",
                &format!("{other} is not of type 'array'"),
            ))
        }
    };
    roles
        .iter()
        .map(|role| {
            let fields = role.as_object().filter(|m| m.len() == 1);
            match fields.and_then(|m| m.iter().next()) {
                Some((k, Value::String(v))) if k == "id" => Ok(RoleRef::Id(v.clone())),
                Some((k, Value::String(v))) if k == "name" => Ok(RoleRef::Name(v.clone())),
                _ => Err(Error::invalid(
                    "roles",
                    &format!("{role} is not a role reference (one of id or name)"),
                )),
            }
        })
        .collect()
}

/// `PUT /v3/OS-OAUTH1/authorize/{request_token_id}`.
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let id = Ok(path.into_inner());
    let roles = role_refs(&body.0);
    let verifier = state.oauth1.authorize(&caller, id, roles).await?;
    Ok(HttpResponse::Ok().json(json!({"token": {"oauth_verifier": verifier.expose()}})))
}

fn user_and_token(path: web::Path<(String, String)>) -> (Input<String>, Input<String>) {
    let (user, token) = path.into_inner();
    (path_id(&user, "user id").map(|_| user), Ok(token))
}

/// `GET /v3/users/{user_id}/OS-OAUTH1/access_tokens`.
pub async fn list_access_tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let user = path.into_inner();
    let list = format!("/users/{user}/OS-OAUTH1/access_tokens");
    let user = path_id(&user, "user id").map(|_| user);
    let tokens = state.oauth1.list_access_tokens(&caller, user).await?;
    let base = base_url(&req, &state);
    let items = tokens
        .iter()
        .map(|t| render::access_token(t, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("access_tokens", items, &req, &base, &list)))
}

/// `GET /v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}`.
pub async fn get_access_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (user, id) = user_and_token(path);
    let token = state
        .oauth1
        .get_access_token(&caller, user, id, true)
        .await?;
    let body = render::access_token(&token, &base_url(&req, &state));
    Ok(HttpResponse::Ok().json(json!({ "access_token": body })))
}

/// `DELETE /v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}`.
pub async fn delete_access_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (user, id) = user_and_token(path);
    state.oauth1.delete_access_token(&caller, user, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}/roles`.
pub async fn access_token_roles(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (user, id) = path.into_inner();
    let list = format!("/users/{user}/OS-OAUTH1/access_tokens/{id}/roles");
    let user = path_id(&user, "user id").map(|_| user);
    let roles = state.oauth1.delegated_roles(&caller, user, Ok(id)).await?;
    let base = base_url(&req, &state);
    let items = roles
        .iter()
        .map(|r| render::delegated_role(r, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("roles", items, &req, &base, &list)))
}

/// `GET /v3/users/{user_id}/OS-OAUTH1/access_tokens/{id}/roles/{role_id}`.
pub async fn access_token_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (user, id, role_id) = path.into_inner();
    let role = state
        .oauth1
        .delegated_role(&caller, Ok(user), Ok(id), role_id)
        .await?;
    let body = render::delegated_role(&role, &base_url(&req, &state));
    Ok(HttpResponse::Ok().json(json!({ "role": body })))
}
