//! `POST /v1/leaked-keys`: a secret scanner reports exposed secrets or
//! access keys (use case in `crate::leak`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::http::{caller, Resp};
use crate::error::Error;
use crate::leak::{Report, MAX_REPORTED};
use crate::AppState;

/// The longest value taken: longer than any key, shorter than abuse.
const MAX_VALUE_LEN: usize = 1024;

/// GitHub's secret-scanning alert (`[{"token", "type", "url",
/// "source"}]`) or `{"keys": ["…"], "source": "…"}`.
fn parse(body: &Value) -> Result<Report, Error> {
    let (items, source) = match body {
        Value::Array(items) => (
            items,
            items
                .iter()
                .find_map(|i| i.get("url").and_then(Value::as_str))
                .map(str::to_string),
        ),
        Value::Object(top) => match top.get("keys") {
            Some(Value::Array(items)) => (
                items,
                top.get("source")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
            _ => return Err(Error::expecting("keys", "request body")),
        },
        _ => return Err(Error::expecting("keys", "request body")),
    };
    if items.is_empty() || items.len() > MAX_REPORTED {
        return Err(Error::invalid(
            "keys",
            &format!("report between 1 and {MAX_REPORTED} values"),
        ));
    }
    let values = items
        .iter()
        .map(|item| {
            let value = match item {
                Value::String(v) => v.as_str(),
                Value::Object(o) => o.get("token").and_then(Value::as_str).unwrap_or(""),
                _ => "",
            }
            .trim();
            if value.is_empty() || value.len() > MAX_VALUE_LEN {
                // Never echo what was sent: it may be a live secret.
                return Err(Error::invalid(
                    "keys",
                    &format!(
                        "each value must be a string (or a {{\"token\": …}} object) of 1 to {MAX_VALUE_LEN} characters"
                    ),
                ));
            }
            Ok(value.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let source = source.map(|s| s.chars().take(2048).collect());
    Ok(Report { values, source })
}

/// 202 with the report's id and how many values were received; the same
/// answer whether or not anything matched. The body may be a JSON array
/// (GitHub's alert), which Keystone's body rules would refuse.
pub async fn report(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Resp {
    let report = serde_json::from_slice::<Value>(&body)
        .map_err(|_| Error::BadRequest("The request body is not JSON.".into()))
        .and_then(|v| parse(&v));
    let received = report.as_ref().map(|r| r.values.len()).unwrap_or(0);
    let caller = caller(&state, &req).await?;
    let id = state.leaks.report(&caller, report).await?;
    Ok(HttpResponse::Accepted().json(json!({"report": {"id": id, "received": received}})))
}
