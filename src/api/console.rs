//! The web console (`console.path`, `/console` by default): its page and
//! assets, embedded in the binary, and the browser session they run on.
//! Everything the page does with keys goes through the public API, where
//! the session cookie with its CSRF header stands in for `X-Auth-Token`
//! (see `auth::browser`); only signing in, choosing a project and signing
//! out are the console's own, because they set or clear the cookie.

use actix_web::http::header::{CONTENT_TYPE, SET_COOKIE};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::http::{base_url, header, token_context, JsonBody, Resp};
use super::input::{member, only_keys, path_id};
use super::render;
use crate::auth::{self, browser, request::AuthRequest, TokenContext};
use crate::error::Error;
use crate::AppState;

const INDEX: &str = include_str!("../../console/index.html");
const APP_JS: &str = include_str!("../../console/app.js");
const APP_CSS: &str = include_str!("../../console/app.css");
const ICON: &str = include_str!("../../console/icon.svg");

/// Scripts and styles only from the console's own files (no inline code,
/// no other origin: the page works air-gapped and an injected `<script>`
/// does not run); requests only to this origin; never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The console's documented routes at the default path (the OpenAPI
/// contract test reads them beside `api::ROUTES`).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console"),
    ("GET", "/console/session"),
    ("POST", "/console/session"),
    ("DELETE", "/console/session"),
    ("POST", "/console/session/project"),
];

/// The page, with the console's path filled in.
struct Page(String);

/// The console's routes under `path`, every answer with the security
/// headers. Nothing is cached: the session answer carries the CSRF token,
/// and the page's files are small.
pub fn scope(path: &str) -> impl actix_web::dev::HttpServiceFactory {
    let page = Page(INDEX.replace("__CONSOLE__", path));
    web::scope(path)
        .app_data(web::Data::new(page))
        .wrap(
            DefaultHeaders::new()
                .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
                .add(("X-Frame-Options", "DENY"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Cross-Origin-Opener-Policy", "same-origin"))
                .add(("Cache-Control", "no-store")),
        )
        .service(resource("").route(web::get().to(index)))
        .service(resource("/app.js").route(web::get().to(|| asset(APP_JS, "text/javascript"))))
        .service(resource("/app.css").route(web::get().to(|| asset(APP_CSS, "text/css"))))
        .service(resource("/icon.svg").route(web::get().to(|| asset(ICON, "image/svg+xml"))))
        .service(
            resource("/session")
                .route(web::get().to(session))
                .route(web::post().to(sign_in))
                .route(web::delete().to(sign_out)),
        )
        .service(resource("/session/project").route(web::post().to(choose_project)))
}

/// A console resource; other methods answer 405 in Keystone's shape.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|req: HttpRequest| async move {
        let allow = if req.path().ends_with("/session") {
            "GET, POST, DELETE"
        } else if req.path().ends_with("/project") {
            "POST"
        } else {
            "GET"
        };
        super::error::method_not_allowed(allow)
    }))
}

async fn index(page: web::Data<Page>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(page.0.clone())
}

async fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, format!("{content_type}; charset=utf-8")))
        .body(body)
}

/// Sign-in and project changes come only from the console's own pages:
/// browsers say where a request comes from in `Sec-Fetch-Site`, and a
/// JSON body cannot be sent cross-site without a preflight we never
/// grant. Together with `SameSite=Strict` this stops a page elsewhere from
/// signing a victim into the attacker's account.
fn refuse_cross_site(req: &HttpRequest) -> Result<(), Error> {
    match header(req, "sec-fetch-site") {
        Some("cross-site" | "same-site") => Err(Error::Forbidden(
            "The console accepts this request only from its own pages.".into(),
        )),
        _ => Ok(()),
    }
}

/// The session as the page needs it: the token's body (user, project,
/// roles, expiry; never the token itself), the CSRF token for the API
/// calls, and the endpoint URLs to show.
fn session_json(req: &HttpRequest, state: &AppState, session: &TokenContext) -> Value {
    let identity = base_url(req, state);
    let root = identity.trim_end_matches("/v3");
    let root = root
        .strip_suffix(super::IDENTITY_PREFIX)
        .unwrap_or(root)
        .to_string();
    json!({
        "session": {
            "token": render::token_body(session),
            "csrf_token": browser::csrf_token(session.token.expose()),
            "endpoints": {
                "identity": identity,
                "aksk": format!("{root}/v1"),
                "ec2tokens": format!("{identity}/ec2tokens"),
                "s3tokens": format!("{identity}/s3tokens"),
            },
        }
    })
}

/// Whether the browser reached us over TLS (directly as the base URL
/// says, which counts a trusted proxy's `X-Forwarded-Proto`).
fn over_tls(req: &HttpRequest, state: &AppState) -> bool {
    base_url(req, state).starts_with("https://")
}

/// A session answer that stores `token` in the cookie until it expires.
fn with_cookie(
    req: &HttpRequest,
    state: &AppState,
    token: &str,
    session: &TokenContext,
    mut answer: actix_web::HttpResponseBuilder,
) -> HttpResponse {
    let max_age = session.expires_at as i64 - chrono::Utc::now().timestamp();
    answer
        .insert_header((
            SET_COOKIE,
            browser::set_cookie(token, max_age, over_tls(req, state)),
        ))
        .json(session_json(req, state, session))
}

/// `GET {console}/session`: the current session, or 401 without one. The
/// cookie alone is enough here (there is no CSRF token yet to send), and
/// nothing changes; only a page of this origin can read the answer.
async fn session(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let cookie_only = cookie_session(&req)?;
    let context = auth::authenticate_caller(
        &state.auth,
        auth::Presented {
            token: Some(cookie_only),
            service_token: None,
            method: "GET",
            path: req.path(),
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(session_json(&req, &state, &context)))
}

/// The session cookie's token, or the 401 of a caller without one.
fn cookie_session(req: &HttpRequest) -> Result<&str, Error> {
    header(req, "cookie")
        .and_then(browser::cookie_token)
        .ok_or_else(Error::unauthorized)
}

/// `POST {console}/session` `{"username", "domain", "password"}`: a
/// password token (scoped to the user's default project, if any), kept
/// in the cookie. The password goes no further than the auth use case.
async fn sign_in(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    refuse_cross_site(&req)?;
    let fields = member(&body.0, "session")?;
    only_keys(fields, "session", &["username", "domain", "password"])?;
    let domain = fields
        .get("domain")
        .filter(|d| d.as_str().is_some_and(|d| !d.trim().is_empty()))
        .cloned()
        .unwrap_or_else(|| json!("Default"));
    let request = json!({"auth": {"identity": {
        "methods": ["password"],
        "password": {"user": {
            "name": fields.get("username").cloned().unwrap_or(Value::Null),
            "domain": {"name": domain},
            "password": fields.get("password").cloned().unwrap_or(Value::Null),
        }},
    }}});
    start_session(&state, &req, &request, HttpResponse::Created()).await
}

/// `POST {console}/session/project` `{"project_id"}`: rescopes the
/// session's token to a project the user has a role on, as the token
/// method does; the new token replaces the old in the cookie.
async fn choose_project(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    refuse_cross_site(&req)?;
    let current = token_context(&state, &req).await?;
    let fields = member(&body.0, "session")?;
    only_keys(fields, "session", &["project_id"])?;
    let project_id = super::input::req_string(fields, "project_id", 64)?;
    path_id(&project_id, "project id")?;
    let request = json!({"auth": {
        "identity": {"methods": ["token"], "token": {"id": current.token.expose()}},
        "scope": {"project": {"id": project_id}},
    }});
    start_session(&state, &req, &request, HttpResponse::Ok()).await
}

/// Issues a token for `request` (a Keystone auth body) and answers with
/// the session, the token kept in the cookie.
async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    request: &Value,
    answer: actix_web::HttpResponseBuilder,
) -> Resp {
    let request = AuthRequest::parse(request, &state.config.auth.methods)?;
    let (token, context) = auth::issue_token(&state.auth, request).await?;
    Ok(with_cookie(req, state, &token, &context, answer))
}

/// `DELETE {console}/session`: revokes the session's tokens (the one in
/// the cookie and every token of its chain) and clears the cookie.
/// Only the session signs out: a caller with an `X-Auth-Token` and no
/// session cookie gets a 401, as the contract says, rather than its own
/// token chain revoked.
async fn sign_out(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let mut presented = super::http::presented(&req);
    presented.token = crate::auth::browser::session_token(
        super::http::header(&req, "cookie"),
        super::http::header(&req, crate::auth::browser::CSRF_HEADER),
    );
    if presented.token.is_none() {
        return Err(Error::unauthorized_with(
            "Signing out needs the console's session cookie and its X-CSRF-Token.",
        ));
    }
    let current = crate::auth::authenticate_caller(&state.auth, presented).await?;
    state.auth.end_session(&current).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((
            SET_COOKIE,
            browser::set_cookie("", 0, over_tls(&req, &state)),
        ))
        .finish())
}
