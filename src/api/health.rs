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
    let database = state.db.ping().await;
    let token_keys = state.tokens.keys_loaded();
    let credential_keys = state.credentials.ring().fernet().is_ok();
    let ready = database && token_keys && credential_keys;
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": {"database": database, "token_keys": token_keys, "credential_keys": credential_keys},
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
