//! `/v3/auth/*`: issuing, validating and revoking tokens, and what a token
//! may reach (use cases in `crate::auth`).

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::http::{
    base_url, caller, collection, header, query_bool, query_flag_present, query_pairs,
    token_context, JsonBody, Resp, JSON,
};
use super::render;
use crate::auth::{self, request::AuthRequest, Catalog, Subject, TokenContext, ValidToken};
use crate::error::Error;
use crate::policy;
use crate::AppState;

const SUBJECT_TOKEN: &str = "X-Subject-Token";

/// The catalog a token answer carries, unless `?nocatalog`.
async fn catalog_unless_asked_not(
    state: &AppState,
    req: &HttpRequest,
    context: &TokenContext,
) -> Result<Option<Arc<Catalog>>, Error> {
    if query_flag_present(req, "nocatalog") {
        Ok(None)
    } else {
        auth::catalog_for(&state.auth, context).await
    }
}

/// `POST /v3/auth/tokens`.
pub async fn issue_token(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let mut request = AuthRequest::parse(&body.0, &state.config.auth.methods)?;
    if request.methods.iter().any(|m| m == "oauth1") {
        request.oauth1 = Some(super::oauth1::signed_request(&req, &state, &[]));
    }
    let (token, context) = auth::issue_token(&state.auth, request).await?;
    let catalog = catalog_unless_asked_not(&state, &req, &context).await?;
    Ok(HttpResponse::Created()
        .insert_header((SUBJECT_TOKEN, token))
        .content_type(JSON)
        .body(render::token(&context, catalog.as_deref())))
}

/// The subject token of GET, HEAD and DELETE, validated for the caller
/// under `rule`; with the token as presented.
async fn validated_subject(
    state: &AppState,
    req: &HttpRequest,
    rule: policy::Policy,
) -> Result<(Arc<ValidToken>, String), Error> {
    let caller = caller(state, req).await?;
    let token = header(req, SUBJECT_TOKEN)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let subject = Subject {
        token,
        allow_expired: query_bool(req, "allow_expired"),
        enforces_access_rules: header(req, "OpenStack-Identity-Access-Rules")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .is_some_and(|v| v >= 1.0),
    };
    let context = state.auth.validate_subject(&caller, subject, rule).await?;
    Ok((context, token.unwrap_or_default().to_string()))
}

/// `GET /v3/auth/tokens`.
pub async fn validate_token(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let (subject, token) = validated_subject(&state, &req, policy::VALIDATE_TOKEN).await?;
    let catalog = catalog_unless_asked_not(&state, &req, &subject.context).await?;
    Ok(HttpResponse::Ok()
        .insert_header((SUBJECT_TOKEN, token))
        .content_type(JSON)
        .body(render::validated_token(&subject, catalog.as_deref())))
}

/// `HEAD /v3/auth/tokens`.
pub async fn check_token(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let (_, token) = validated_subject(&state, &req, policy::CHECK_TOKEN).await?;
    Ok(HttpResponse::Ok()
        .insert_header((SUBJECT_TOKEN, token))
        .finish())
}

/// `DELETE /v3/auth/tokens`: revokes by audit id, and the tokens rescoped
/// from it unless `?cascade=false`.
pub async fn revoke_token(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let (subject, _) = validated_subject(&state, &req, policy::REVOKE_TOKEN).await?;
    let cascade = !query_pairs(&req)
        .iter()
        .any(|(k, v)| k == "cascade" && super::http::oslo_bool(v) == Some(false));
    state.auth.revoke(&subject.context, cascade).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v3/auth/projects`.
pub async fn auth_projects(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let projects = state.auth.projects_of(&caller).await?;
    let base = base_url(&req, &state);
    let items = projects.iter().map(|p| render::project(p, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("projects", items, &req, &base, "/auth/projects")))
}

/// `GET /v3/auth/domains`.
pub async fn auth_domains(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let domains = state.auth.domains_of(&caller).await?;
    let base = base_url(&req, &state);
    let items = domains.iter().map(|d| render::domain(d, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("domains", items, &req, &base, "/auth/domains")))
}

/// `GET /v3/auth/system`: `[{"all": true}]` when the caller has a system role.
pub async fn auth_system(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let system = if state.auth.has_system_role(&caller).await? {
        json!([{"all": true}])
    } else {
        json!([])
    };
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok().json(json!({
        "system": system,
        "links": {"self": format!("{base}/auth/system")},
    })))
}

/// `GET /v3/OS-REVOKE/events[?since=]`.
pub async fn revoke_events(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let since = match super::http::query(&req, "since") {
        None => Ok(None),
        Some(text) => super::input::parse_time(&text)
            .map(Some)
            .ok_or_else(|| Error::BadRequest(format!("invalidate date format {text}"))),
    };
    let caller = super::http::caller(&state, &req).await?;
    let events = state.auth.revoke_events(&caller, since).await?;
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok().json(json!({
        "events": events.iter().map(super::render::revoke_event).collect::<Vec<_>>(),
        "links": {"next": null, "self": format!("{base}/OS-REVOKE/events"), "previous": null},
    })))
}

/// `GET /v3/auth/catalog`.
pub async fn auth_catalog(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let context = token_context(&state, &req).await?;
    let catalog = state.auth.catalog_of(&context).await?;
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok().json(json!({
        "catalog": catalog,
        "links": {"self": format!("{base}/auth/catalog")},
    })))
}
