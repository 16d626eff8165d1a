//! OS-TRUST: `/v3/OS-TRUST/trusts[/{trust_id}[/roles[/{role_id}]]]`, in
//! Keystone's shapes (rules and storage in `crate::trust`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::http::{base_url, caller, collection, gone, id_of, one, query, JsonBody, Resp};
use super::input::{member, opt_bool, opt_future_time, opt_string, req_string};
use super::render;
use crate::error::Error;
use crate::trust::{NewTrust, RoleRef};
use crate::AppState;

/// An optional integer of at least `min` (`null` is absent).
fn opt_count(map: &Map<String, Value>, key: &str, min: i64) -> Result<Option<i32>, Error> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v < min => Err(Error::invalid(
                key,
                &format!("{v} is less than the minimum of {min}"),
            )),
            Some(v) => i32::try_from(v)
                .map(Some)
                .map_err(|_| Error::invalid(key, &format!("{v} is too large"))),
            None => Err(Error::invalid(
                key,
                &format!("{n} is not of type 'integer', 'null'"),
            )),
        },
        Some(other) => Err(Error::invalid(
            key,
            &format!("{other} is not of type 'integer', 'null'"),
        )),
    }
}

/// `roles`: objects with exactly one of `id` and `name`.
fn roles_field(map: &Map<String, Value>) -> Result<Vec<RoleRef>, Error> {
    let list = match map.get("roles") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(Error::invalid(
                "roles",
                &format!("{other} is not of type 'array'"),
            ))
        }
    };
    list.iter()
        .map(|item| {
            let Some(obj) = item.as_object().filter(|o| o.len() == 1) else {
                return Err(Error::invalid(
                    "roles",
                    &format!("{item} is not valid under the given schema"),
                ));
            };
            match (opt_string(obj, "id", 64)?, opt_string(obj, "name", 255)?) {
                (Some(id), None) => Ok(RoleRef::Id(id)),
                (None, Some(name)) => Ok(RoleRef::Name(name)),
                _ => Err(Error::invalid(
                    "roles",
                    &format!("{item} is not valid under the given schema"),
                )),
            }
        })
        .collect()
}

/// The body of a create, checked before anything else as Keystone's
/// schema decorator does.
fn new_trust(body: &Value) -> Result<NewTrust, Error> {
    let t = member(body, "trust")?;
    let impersonation = match t.get("impersonation") {
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(Error::invalid(
                "impersonation",
                &format!("{other} is not of type 'boolean'"),
            ))
        }
        None => {
            return Err(Error::invalid(
                "trust",
                "'impersonation' is a required property",
            ))
        }
    };
    Ok(NewTrust {
        trustor_user_id: req_string(t, "trustor_user_id", 255)?,
        trustee_user_id: req_string(t, "trustee_user_id", 255)?,
        project_id: opt_string(t, "project_id", 64)?,
        impersonation,
        expires_at: opt_future_time(t, "expires_at")?.flatten(),
        remaining_uses: opt_count(t, "remaining_uses", 1)?,
        allow_redelegation: opt_bool(t, "allow_redelegation")?.unwrap_or(false),
        redelegation_count: opt_count(t, "redelegation_count", 0)?,
        roles: roles_field(t)?,
    })
}

/// `POST /v3/OS-TRUST/trusts`.
pub async fn create(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let new = new_trust(&body.0)?;
    let caller = caller(&state, &req).await?;
    let shown = state.trusts.create(&caller, new).await?;
    let base = base_url(&req, &state);
    Ok(one(
        true,
        "trust",
        render::trust(&shown.trust, Some(&shown.roles), &base),
    ))
}

/// `GET /v3/OS-TRUST/trusts[?trustor_user_id=|?trustee_user_id=]`.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let found = state
        .trusts
        .list(
            &caller,
            query(&req, "trustor_user_id"),
            query(&req, "trustee_user_id"),
        )
        .await?;
    let base = base_url(&req, &state);
    let items = found
        .iter()
        .map(|t| render::trust(t, None, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("trusts", items, &req, &base, "/OS-TRUST/trusts")))
}

/// `GET /v3/OS-TRUST/trusts/{trust_id}`.
pub async fn get(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> Resp {
    let caller = caller(&state, &req).await?;
    let shown = state.trusts.get(&caller, id_of(path, "trust id")).await?;
    let base = base_url(&req, &state);
    Ok(one(
        false,
        "trust",
        render::trust(&shown.trust, Some(&shown.roles), &base),
    ))
}

/// `DELETE /v3/OS-TRUST/trusts/{trust_id}`.
pub async fn delete(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> Resp {
    let caller = caller(&state, &req).await?;
    state
        .trusts
        .delete(&caller, id_of(path, "trust id"))
        .await
        .map(gone)
}

/// `GET /v3/OS-TRUST/trusts/{trust_id}/roles`.
pub async fn roles(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> Resp {
    let caller = caller(&state, &req).await?;
    let shown = state.trusts.roles(&caller, id_of(path, "trust id")).await?;
    let base = base_url(&req, &state);
    let items: Vec<Value> = shown.roles.iter().map(|r| render::role(r, &base)).collect();
    Ok(HttpResponse::Ok().json(json!({
        "roles": items,
        "links": {
            "self": format!("{base}/OS-TRUST/trusts/{}/roles", shown.trust.id),
            "next": null,
            "previous": null,
        },
    })))
}

/// `GET|HEAD /v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}`.
pub async fn role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (trust_id, role_id) = path.into_inner();
    let checked = super::input::checked_id(trust_id, "trust id");
    let found = state.trusts.role(&caller, checked, role_id).await?;
    Ok(one(
        false,
        "role",
        render::role(&found, &base_url(&req, &state)),
    ))
}
