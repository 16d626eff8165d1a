//! `GET /healthz` (the process answers) and `GET /readyz` (it can serve:
//! the database answers and the key repositories are loaded). For load
//! balancers and orchestrators; no token, no detail beyond the checks.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let r = state.readiness().await;
    let body = json!({
        "status": if r.ready() { "ready" } else { "not ready" },
        "checks": {"database": r.database, "token_keys": r.token_keys, "credential_keys": r.credential_keys},
    });
    if r.ready() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
