//! Version discovery: `GET /` (300, the version list) and `GET /v3`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::http::base_url;
use crate::AppState;

/// The one version this service speaks, as Keystone 30 reports it.
fn v3_document(base: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

pub async fn versions(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if super::json_home::wanted(&req) {
        return super::json_home::answer("/v3");
    }
    let base = base_url(&req, &state);
    HttpResponse::MultipleChoices()
        .insert_header(("Location", format!("{base}/")))
        .json(json!({"versions": {"values": [v3_document(&base)]}}))
}

pub async fn version_v3(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if super::json_home::wanted(&req) {
        return super::json_home::answer("");
    }
    let base = base_url(&req, &state);
    HttpResponse::Ok().json(json!({"version": v3_document(&base)}))
}
