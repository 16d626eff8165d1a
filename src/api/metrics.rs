//! `GET /metrics`: Prometheus' text format (see `crate::telemetry`).
//! Numbers only (no ids, keys or addresses), so it is served without a
//! token, like discovery; keep it on an internal network all the same.

use actix_web::{web, HttpResponse};

use crate::AppState;

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics_text())
}
