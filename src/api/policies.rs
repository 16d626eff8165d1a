//! `/v3/policies` and OS-ENDPOINT-POLICY (rules and storage in
//! `crate::catalog::policies`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::crud::{Create, Entity, Names};
use super::http::{base_url, caller, query, Resp};
use super::input::{extra_attributes, member, path_id};
use super::render;
use crate::catalog::policies::{Association, NewPolicy, PolicyBlob, PolicyPatch, PolicyTarget};
use crate::error::Error;
use crate::policy::{Caller, Input};
use crate::AppState;

/// The attributes Keystone's policy model keeps in columns; every other
/// one goes to `extra`.
const COLUMNS: &[&str] = &["id", "blob", "type", "links"];

/// A string field under Keystone's JSON schema (`{"type": "string"}`):
/// `null` is refused, the empty string is not.
fn schema_string(
    map: &Map<String, Value>,
    key: &str,
    max_len: Option<usize>,
) -> Result<Option<String>, Error> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if max_len.is_some_and(|max| s.chars().count() > max) => {
            Err(Error::invalid(key, &format!("'{s}' is too long")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Null) => Err(Error::invalid(key, "None is not of type 'string'")),
        Some(other) => Err(Error::invalid(
            key,
            &format!("{other} is not of type 'string'"),
        )),
    }
}

fn required(value: Option<String>, key: &str) -> Result<String, Error> {
    value.ok_or_else(|| Error::invalid(key, &format!("'{key}' is a required property")))
}

/// `/v3/policies`.
pub struct Policies;

impl Entity for Policies {
    const NAMES: Names = Names {
        member: "policy",
        collection: "policies",
        id: "policy id",
    };
    type Item = PolicyBlob;
    type Patch = Input<PolicyPatch>;
    /// `?type=`.
    type Filter = Option<String>;

    fn parse_patch(body: &Value, path_id: &str, _: &AppState) -> Self::Patch {
        let p = member(body, "policy")?;
        if p.is_empty() {
            return Err(Error::invalid(
                "policy",
                "{} does not have enough properties",
            ));
        }
        let patch = PolicyPatch {
            blob: schema_string(p, "blob", None)?,
            policy_type: schema_string(p, "type", Some(255))?,
            extra: extra_attributes(p, COLUMNS, false),
        };
        if p.get("id").is_some_and(|id| id.as_str() != Some(path_id)) {
            return Err(Error::BadRequest("Cannot change policy ID".into()));
        }
        Ok(patch)
    }

    fn filter(req: &HttpRequest) -> Result<Self::Filter, Error> {
        Ok(query(req, "type"))
    }

    fn render(item: &PolicyBlob, base: &str) -> Value {
        render::policy(item, &format!("{base}/policies/{}", item.id))
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        policy_type: Self::Filter,
    ) -> Result<Vec<PolicyBlob>, Error> {
        state.catalog.list_policies(caller, policy_type).await
    }

    async fn get(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<PolicyBlob, Error> {
        state.catalog.get_policy(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<PolicyBlob, Error> {
        let change = patch.and_then(|p| Ok((id?, p)));
        state.catalog.update_policy(caller, change).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.catalog.delete_policy(caller, id).await
    }
}

impl Create for Policies {
    type New = Input<NewPolicy>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let p = member(body, "policy")?;
        Ok(NewPolicy {
            blob: required(schema_string(p, "blob", None)?, "blob")?,
            policy_type: required(schema_string(p, "type", Some(255))?, "type")?,
            extra: extra_attributes(p, COLUMNS, true),
        })
    }

    async fn create(
        state: &AppState,
        caller: &Caller,
        new: Self::New,
    ) -> Result<PolicyBlob, Error> {
        state.catalog.create_policy(caller, new).await
    }
}

/// GET (and HEAD) checks an association, PUT creates it, DELETE removes
/// it; each answers 204.
async fn associate(
    state: &AppState,
    req: &HttpRequest,
    policy_id: String,
    target: PolicyTarget,
) -> Resp {
    let caller = caller(state, req).await?;
    let change = match *req.method() {
        actix_web::http::Method::PUT => Association::Create,
        actix_web::http::Method::DELETE => Association::Delete,
        _ => Association::Check,
    };
    let input = path_id(&policy_id, "policy id").map(|_| (policy_id, target));
    state
        .catalog
        .policy_association(&caller, change, input)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}`.
pub async fn endpoint_association(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let (policy_id, endpoint) = path.into_inner();
    associate(&state, &req, policy_id, PolicyTarget::Endpoint(endpoint)).await
}

/// `/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}`.
pub async fn service_association(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let (policy_id, service) = path.into_inner();
    associate(&state, &req, policy_id, PolicyTarget::Service(service)).await
}

/// `/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}`.
pub async fn service_region_association(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Resp {
    let (policy_id, service, region) = path.into_inner();
    let target = PolicyTarget::ServiceInRegion { service, region };
    associate(&state, &req, policy_id, target).await
}

/// `GET /v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints`: the
/// endpoints the policy covers, through all its associations.
pub async fn policy_endpoints(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let policy_id = path.into_inner();
    let id = path_id(&policy_id, "policy id").map(|_| policy_id.clone());
    let endpoints = state.catalog.endpoints_for_policy(&caller, id).await?;
    let base = base_url(&req, &state);
    let items: Vec<Value> = endpoints
        .iter()
        .map(|e| render::endpoint(e, &base))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "endpoints": items,
        "links": {
            "self": format!("{base}/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints"),
            "next": null,
            "previous": null,
        },
    })))
}

/// `GET /v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy`: the
/// policy the endpoint should enforce.
pub async fn endpoint_policy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let endpoint_id = path.into_inner();
    let id = path_id(&endpoint_id, "endpoint id").map(|_| endpoint_id);
    let found = state.catalog.policy_for_endpoint(&caller, id).await?;
    // Keystone links the policy under `/endpoints/{policy id}` here.
    let link = format!("{}/endpoints/{}", base_url(&req, &state), found.id);
    Ok(HttpResponse::Ok().json(json!({ "policy": render::policy(&found, &link) })))
}
