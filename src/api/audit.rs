//! `GET /v1/audit-events`: the audit trail of keys, filtered and paged
//! (use case in `crate::audit`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::http::{caller, query_pairs, Resp};
use crate::audit::Filter;
use crate::error::Error;
use crate::AppState;

/// A page's default size.
const DEFAULT_LIMIT: i64 = 100;

fn filter(req: &HttpRequest) -> Result<Filter, Error> {
    let mut filter = Filter {
        limit: DEFAULT_LIMIT,
        ..Default::default()
    };
    for (name, value) in query_pairs(req) {
        let time = |v: &str| {
            super::input::parse_time(v).ok_or_else(|| {
                Error::BadRequest(format!(
                    "{name} must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z."
                ))
            })
        };
        match name.as_str() {
            "key_id" | "access_key" => filter.key_id = Some(value),
            "user_id" => filter.user_id = Some(value),
            "project_id" => filter.project_id = Some(value),
            "action" => filter.action = Some(value),
            "outcome" if ["success", "failure"].contains(&value.as_str()) => {
                filter.outcome = Some(value)
            }
            "outcome" => {
                return Err(Error::BadRequest(
                    "outcome must be success or failure.".into(),
                ))
            }
            "since" => filter.since = Some(time(&value)?),
            "until" => filter.until = Some(time(&value)?),
            "marker" => filter.marker = Some(value),
            "limit" => {
                filter.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|l| (1..=crate::audit::MAX_PAGE).contains(l))
                    .ok_or_else(|| {
                        Error::BadRequest(format!(
                            "limit must be a number from 1 to {}.",
                            crate::audit::MAX_PAGE
                        ))
                    })?
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "Unknown filter {:?}: use key_id, user_id, project_id, action, outcome, since, until, marker or limit.",
                    other.chars().take(32).collect::<String>()
                )))
            }
        }
    }
    Ok(filter)
}

/// `{"events": [...], "links": {"next": …}}`, newest first.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let filter = filter(&req)?;
    let limit = filter.limit;
    let caller = caller(&state, &req).await?;
    let events = state.audit.list(&caller, filter).await?;
    let next = (events.len() as i64 == limit)
        .then(|| events.last().and_then(|e| e["id"].as_str()))
        .flatten()
        .map(|last| {
            let kept: Vec<String> = query_pairs(&req)
                .into_iter()
                .filter(|(k, _)| k != "marker")
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        percent_encoding::utf8_percent_encode(
                            &v,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    )
                })
                .collect();
            let mut query = kept.join("&");
            if !query.is_empty() {
                query.push('&');
            }
            format!("{}?{query}marker={last}", req.path())
        });
    Ok(HttpResponse::Ok().json(json!({"events": events, "links": {"next": next}})))
}
