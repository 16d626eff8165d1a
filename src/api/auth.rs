//! `/v3/auth/*`: issuing, validating and revoking tokens, and what a token
//! may reach.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::http::{base_url, collection, header, query_bool, query_flag_present, JsonBody};
use crate::auth::{self, request::AuthRequest, TokenContext};
use crate::error::Error;
use crate::policy::{self, Target};
use crate::revoke::{self, Revoke};
use crate::{assignment, resource, AppState};

const SUBJECT_TOKEN: &str = "X-Subject-Token";

/// `POST /v3/auth/tokens`.
pub async fn issue_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let request = AuthRequest::parse(&body.0, &state.config.auth.methods)?;
    let (token, context) = auth::issue_token(&state.auth, request).await?;
    let catalog = if query_flag_present(&req, "nocatalog") {
        None
    } else {
        auth::catalog_for(&state.auth, &context).await?
    };
    Ok(HttpResponse::Created()
        .insert_header((SUBJECT_TOKEN, token))
        .json(super::render::token(&context, catalog)))
}

/// The caller, the subject, and the policy check shared by GET and HEAD.
async fn validated_subject(
    state: &AppState,
    req: &HttpRequest,
    policy: policy::Policy,
) -> Result<(TokenContext, String), Error> {
    let caller = super::http::caller(state, req).await?;
    let Some(subject) = header(req, SUBJECT_TOKEN)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Err(Error::NotFound("No token in the request".into()));
    };
    let subject_context =
        auth::validate(&state.auth, subject, query_bool(req, "allow_expired")).await?;
    // Tokens limited by access rules validate only for callers that
    // enforce them (keystonemiddleware sends OpenStack-Identity-Access-Rules: 1).
    let has_rules = subject_context
        .application_credential
        .as_ref()
        .is_some_and(|ac| !ac.access_rules.is_empty());
    let enforces_rules = header(req, "OpenStack-Identity-Access-Rules")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .is_some_and(|v| v >= 1.0);
    if has_rules && !enforces_rules {
        return Err(Error::NotFound(auth::FAILED_TO_VALIDATE.into()));
    }
    policy::enforce(policy, &caller, Target::owned_by(subject_context.user_id()))?;
    Ok((subject_context, subject.to_string()))
}

/// `GET /v3/auth/tokens`.
pub async fn validate_token(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (subject, token) = validated_subject(&state, &req, policy::VALIDATE_TOKEN).await?;
    let catalog = if query_flag_present(&req, "nocatalog") {
        None
    } else {
        auth::catalog_for(&state.auth, &subject).await?
    };
    Ok(HttpResponse::Ok()
        .insert_header((SUBJECT_TOKEN, token))
        .json(super::render::token(&subject, catalog)))
}

/// `HEAD /v3/auth/tokens`.
pub async fn check_token(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (_, token) = validated_subject(&state, &req, policy::CHECK_TOKEN).await?;
    Ok(HttpResponse::Ok()
        .insert_header((SUBJECT_TOKEN, token))
        .finish())
}

/// `DELETE /v3/auth/tokens`: revokes by audit id, and the tokens rescoped
/// from it unless `?cascade=false`.
pub async fn revoke_token(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let (subject, _) = validated_subject(&state, &req, policy::REVOKE_TOKEN).await?;
    let cascade = !super::http::query_pairs(&req).iter().any(|(k, v)| {
        k == "cascade"
            && matches!(
                v.to_ascii_lowercase().as_str(),
                "0" | "f" | "false" | "off" | "n" | "no"
            )
    });
    let audit_id = subject.audit_id().to_string();
    state
        .db
        .write(move |conn| {
            revoke::record(
                conn,
                Revoke {
                    audit_id: Some(audit_id.clone()),
                    ..Default::default()
                },
            )?;
            if cascade {
                revoke::record(
                    conn,
                    Revoke {
                        audit_chain_id: Some(audit_id),
                        ..Default::default()
                    },
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v3/auth/projects`: enabled projects the caller has a role on.
pub async fn auth_projects(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = super::http::caller(&state, &req).await?;
    policy::enforce(policy::GET_AUTH_PROJECTS, &caller, Target::default())?;
    let user_id = caller.user_id().to_string();
    let projects = state
        .db
        .read(move |conn| {
            let ids = assignment::project_ids_for_user(conn, &user_id)?;
            let projects = resource::list_projects_by_ids(conn, &ids)?;
            let mut enabled = Vec::new();
            for p in projects.into_iter().filter(|p| p.enabled) {
                if resource::get_domain(conn, &p.domain_id)?.is_some_and(|d| d.enabled) {
                    enabled.push(p);
                }
            }
            Ok(enabled)
        })
        .await?;
    let base = base_url(&req, &state);
    let items = projects
        .iter()
        .map(|p| super::render::project(p, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("projects", items, &req, &base, "/auth/projects")))
}

/// `GET /v3/auth/domains`: enabled domains the caller has a role on.
pub async fn auth_domains(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = super::http::caller(&state, &req).await?;
    policy::enforce(policy::GET_AUTH_DOMAINS, &caller, Target::default())?;
    let user_id = caller.user_id().to_string();
    let domains = state
        .db
        .read(move |conn| {
            let ids = assignment::domain_ids_for_user(conn, &user_id)?;
            Ok(resource::list_domains_by_ids(conn, &ids)?
                .into_iter()
                .filter(|d| d.enabled)
                .collect::<Vec<_>>())
        })
        .await?;
    let base = base_url(&req, &state);
    let items = domains
        .iter()
        .map(|d| super::render::domain(d, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("domains", items, &req, &base, "/auth/domains")))
}

/// `GET /v3/auth/system`: `[{"all": true}]` when the caller has a system role.
pub async fn auth_system(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let caller = super::http::caller(&state, &req).await?;
    policy::enforce(policy::GET_AUTH_SYSTEM, &caller, Target::default())?;
    let user_id = caller.user_id().to_string();
    let has_system_role = state
        .db
        .read(move |conn| Ok(!assignment::effective_system_roles(conn, &user_id)?.is_empty()))
        .await?;
    let base = base_url(&req, &state);
    let system = if has_system_role {
        json!([{"all": true}])
    } else {
        json!([])
    };
    Ok(HttpResponse::Ok().json(json!({
        "system": system,
        "links": {"self": format!("{base}/auth/system")},
    })))
}

/// `GET /v3/auth/catalog`: needs a project-scoped token, as in Keystone.
pub async fn auth_catalog(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let context = super::http::token_context(&state, &req).await?;
    let caller = context.caller();
    policy::enforce(policy::GET_AUTH_CATALOG, &caller, Target::default())?;
    if caller.project_id().is_none() {
        return Err(Error::Forbidden(crate::error::FORBIDDEN_MESSAGE.into()));
    }
    let catalog = auth::catalog_for(&state.auth, &context)
        .await?
        .unwrap_or_else(|| json!([]));
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok().json(json!({
        "catalog": catalog,
        "links": {"self": format!("{base}/auth/catalog")},
    })))
}
