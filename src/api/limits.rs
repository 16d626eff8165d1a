//! Unified limits: `/v3/registered_limits`, `/v3/limits` and
//! `/v3/limits/model`, in Keystone's shapes (rules and storage in
//! `crate::limit`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::crud::{CreateMany, Entity, Names};
use super::http::{caller, query, Resp};
use super::input::{change_string, member, only_keys, opt_string, req_string};
use super::render;
use crate::error::Error;
use crate::limit::{
    Limit, LimitFilter, LimitPatch, NewLimit, NewRegisteredLimit, RegisteredLimit,
    RegisteredLimitFilter, RegisteredLimitPatch,
};
use crate::policy::{Caller, Input};
use crate::AppState;

/// A limit value: an integer from -1 (unlimited) to 2^31 - 1.
fn limit_number(map: &Map<String, Value>, key: &str) -> Result<Option<i32>, Error> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v < -1 => Err(Error::invalid(
                key,
                &format!("{v} is less than the minimum of -1"),
            )),
            Some(v) => i32::try_from(v).map(Some).map_err(|_| {
                Error::invalid(
                    key,
                    &format!("{v} is greater than the maximum of 2147483647"),
                )
            }),
            None => Err(Error::invalid(
                key,
                &format!("{n} is not of type 'integer'"),
            )),
        },
        Some(other) => Err(Error::invalid(
            key,
            &format!("{other} is not of type 'integer'"),
        )),
    }
}

fn required_number(map: &Map<String, Value>, key: &str) -> Result<i32, Error> {
    limit_number(map, key)?
        .ok_or_else(|| Error::invalid(key, &format!("'{key}' is a required property")))
}

/// A string field Keystone's schema does not let be `null`.
fn non_null_string(
    map: &Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<Option<String>, Error> {
    if map.get(key) == Some(&Value::Null) {
        return Err(Error::invalid(key, "None is not of type 'string'"));
    }
    opt_string(map, key, max)
}

/// The array under `key` (`minItems: 1`), each item an object.
fn items<'a>(body: &'a Value, key: &str) -> Result<Vec<&'a Map<String, Value>>, Error> {
    let list = match body.get(key) {
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(Value::Array(_)) => return Err(Error::invalid(key, "[] is too short")),
        Some(other) => {
            return Err(Error::invalid(
                key,
                &format!("{other} is not of type 'array'"),
            ))
        }
        None => {
            return Err(Error::invalid(
                key,
                &format!("'{key}' is a required property"),
            ))
        }
    };
    list.iter()
        .map(|item| {
            item.as_object()
                .ok_or_else(|| Error::invalid(key, &format!("{item} is not of type 'object'")))
        })
        .collect()
}

const REGISTERED_FIELDS: [&str; 5] = [
    "service_id",
    "region_id",
    "resource_name",
    "default_limit",
    "description",
];

/// `/v3/registered_limits`.
pub struct RegisteredLimits;

impl Entity for RegisteredLimits {
    const NAMES: Names = Names {
        member: "registered_limit",
        collection: "registered_limits",
        id: "registered limit id",
    };
    type Item = RegisteredLimit;
    type Patch = Input<RegisteredLimitPatch>;
    type Filter = RegisteredLimitFilter;

    /// Keystone's schema refuses `id` outright.
    fn parse_patch(body: &Value, _: &str, _: &AppState) -> Self::Patch {
        let r = member(body, "registered_limit")?;
        only_keys(r, "registered_limit", &REGISTERED_FIELDS)?;
        Ok(RegisteredLimitPatch {
            service_id: non_null_string(r, "service_id", 255)?,
            region_id: non_null_string(r, "region_id", 255)?.map(Some),
            resource_name: non_null_string(r, "resource_name", 255)?,
            default_limit: limit_number(r, "default_limit")?,
            description: change_string(r, "description", 65_535)?,
        })
    }

    fn filter(req: &HttpRequest) -> Result<RegisteredLimitFilter, Error> {
        Ok(RegisteredLimitFilter {
            service_id: query(req, "service_id"),
            region_id: query(req, "region_id"),
            resource_name: query(req, "resource_name"),
        })
    }

    fn render(item: &RegisteredLimit, base: &str) -> Value {
        render::registered_limit(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        filter: RegisteredLimitFilter,
    ) -> Result<Vec<RegisteredLimit>, Error> {
        state.limits.list_registered(caller, filter).await
    }

    async fn get(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<RegisteredLimit, Error> {
        state.limits.get_registered(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<RegisteredLimit, Error> {
        state.limits.update_registered(caller, id, patch).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.limits.delete_registered(caller, id).await
    }
}

impl CreateMany for RegisteredLimits {
    type New = Input<Vec<NewRegisteredLimit>>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        only_keys_of(body, "registered_limits")?;
        items(body, "registered_limits")?
            .into_iter()
            .map(|r| {
                only_keys(r, "registered_limits", &REGISTERED_FIELDS)?;
                Ok(NewRegisteredLimit {
                    service_id: req_string(r, "service_id", 255)?,
                    region_id: non_null_string(r, "region_id", 255)?,
                    resource_name: req_string(r, "resource_name", 255)?,
                    default_limit: required_number(r, "default_limit")?,
                    description: opt_string(r, "description", 65_535)?,
                })
            })
            .collect()
    }

    async fn create(
        state: &AppState,
        caller: &Caller,
        new: Self::New,
    ) -> Result<Vec<RegisteredLimit>, Error> {
        state.limits.create_registered(caller, new).await
    }
}

/// The body may hold `key` and nothing else (`additionalProperties: false`).
fn only_keys_of(body: &Value, key: &str) -> Result<(), Error> {
    match body.as_object() {
        Some(map) => only_keys(map, "body", &[key]),
        None => Err(Error::invalid(
            key,
            &format!("'{key}' is a required property"),
        )),
    }
}

/// `/v3/limits`.
pub struct Limits;

impl Entity for Limits {
    const NAMES: Names = Names {
        member: "limit",
        collection: "limits",
        id: "limit id",
    };
    type Item = Limit;
    type Patch = Input<LimitPatch>;
    type Filter = LimitFilter;

    /// Only the value and the description change; the schema refuses the rest, `id` included.
    fn parse_patch(body: &Value, _: &str, _: &AppState) -> Self::Patch {
        let l = member(body, "limit")?;
        only_keys(l, "limit", &["resource_limit", "description"])?;
        Ok(LimitPatch {
            resource_limit: limit_number(l, "resource_limit")?,
            description: change_string(l, "description", 65_535)?,
        })
    }

    fn filter(req: &HttpRequest) -> Result<LimitFilter, Error> {
        Ok(LimitFilter {
            id: None,
            service_id: query(req, "service_id"),
            region_id: query(req, "region_id"),
            resource_name: query(req, "resource_name"),
            project_id: query(req, "project_id"),
            domain_id: query(req, "domain_id"),
        })
    }

    fn render(item: &Limit, base: &str) -> Value {
        render::limit(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        filter: LimitFilter,
    ) -> Result<Vec<Limit>, Error> {
        state.limits.list(caller, filter).await
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Limit, Error> {
        state.limits.get(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Limit, Error> {
        state.limits.update(caller, id, patch).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.limits.delete(caller, id).await
    }
}

impl CreateMany for Limits {
    type New = Input<Vec<NewLimit>>;

    /// Each limit names a project or a domain, not both (the schema's
    /// `oneOf`).
    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        only_keys_of(body, "limits")?;
        items(body, "limits")?
            .into_iter()
            .map(|l| {
                only_keys(
                    l,
                    "limits",
                    &[
                        "project_id",
                        "domain_id",
                        "service_id",
                        "region_id",
                        "resource_name",
                        "resource_limit",
                        "description",
                    ],
                )?;
                let project_id = opt_string(l, "project_id", 64)?;
                let domain_id = opt_string(l, "domain_id", 64)?;
                if project_id.is_some() == domain_id.is_some() {
                    return Err(Error::invalid(
                        "limits",
                        "a limit names exactly one of project_id and domain_id",
                    ));
                }
                Ok(NewLimit {
                    project_id,
                    domain_id,
                    service_id: req_string(l, "service_id", 255)?,
                    region_id: non_null_string(l, "region_id", 255)?,
                    resource_name: req_string(l, "resource_name", 255)?,
                    resource_limit: required_number(l, "resource_limit")?,
                    description: opt_string(l, "description", 65_535)?,
                })
            })
            .collect()
    }

    async fn create(
        state: &AppState,
        caller: &Caller,
        new: Self::New,
    ) -> Result<Vec<Limit>, Error> {
        state.limits.create(caller, new).await
    }
}

/// `GET /v3/limits/model`: the configured enforcement model.
pub async fn model(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let model = state.limits.model(&caller);
    Ok(HttpResponse::Ok()
        .json(json!({"model": {"name": model.name(), "description": model.description()}})))
}
