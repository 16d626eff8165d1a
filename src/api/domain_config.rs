//! `/v3/domains/{domain_id}/config[/{group}[/{option}]]` and
//! `/v3/domains/config/[{group}/[{option}/]]default` (rules and storage
//! in `crate::domain_config`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::http::{caller, JsonBody, Resp};
use super::input::path_id;
use crate::domain_config::ConfigPath;
use crate::policy::Input;
use crate::AppState;

/// The path's domain id (checked after the policy) and what it addresses.
fn addressed(segments: &[String]) -> (Input<String>, ConfigPath) {
    let domain = segments.first().cloned().unwrap_or_default();
    let domain = path_id(&domain, "domain id").map(|_| domain);
    let at = ConfigPath {
        group: segments.get(1).cloned(),
        option: segments.get(2).cloned(),
    };
    (domain, at)
}

/// The `config` member of a body; absent is `{}`, as in Keystone.
fn config_of(body: &JsonBody) -> Value {
    body.0.get("config").cloned().unwrap_or_else(|| json!({}))
}

/// GET (and HEAD), PATCH and DELETE on a domain's configuration, one of
/// its groups or one option; PUT on the whole of it.
pub async fn domain_config(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let caller = caller(&state, &req).await?;
    let segments: Vec<String> = ["domain_id", "group", "option"]
        .iter()
        .filter_map(|name| req.match_info().get(name).map(str::to_string))
        .collect();
    let (domain, at) = addressed(&segments);
    let configs = &state.domain_configs;
    let answer = match *req.method() {
        actix_web::http::Method::PUT => {
            let (created, config) = configs.create(&caller, domain, config_of(&body)).await?;
            let body = json!({ "config": config });
            return Ok(if created {
                HttpResponse::Created().json(body)
            } else {
                HttpResponse::Ok().json(body)
            });
        }
        actix_web::http::Method::PATCH => {
            configs
                .update(&caller, domain, at, config_of(&body))
                .await?
        }
        actix_web::http::Method::DELETE => {
            configs.delete(&caller, domain, at).await?;
            return Ok(HttpResponse::NoContent().finish());
        }
        _ => configs.get(&caller, domain, at).await?,
    };
    Ok(HttpResponse::Ok().json(json!({ "config": answer })))
}

/// `GET /v3/domains/config/[{group}/[{option}/]]default`: Keystone's
/// defaults for the options a domain may set.
pub async fn defaults(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let at = ConfigPath {
        group: req.match_info().get("group").map(str::to_string),
        option: req.match_info().get("option").map(str::to_string),
    };
    let config = state.domain_configs.defaults(&caller, at).await?;
    Ok(HttpResponse::Ok().json(json!({ "config": config })))
}
