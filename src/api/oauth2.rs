//! `/v3/OS-OAUTH2/token`: the OAuth 2.0 client-credentials grant, in
//! RFC 6749's shapes (a form body, HTTP Basic or form client
//! authentication, `{"error", "error_description"}` failures), as
//! Keystone's OS-OAUTH2 answers (use case in `crate::auth::oauth2`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde_json::json;

use super::http::header;
use crate::auth::ClientCredentials;
use crate::error::Error;
use crate::secret::Secret;
use crate::AppState;

/// An OAuth 2.0 error answer.
struct Failure {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Failure {
    fn new(status: StatusCode, error: &'static str, description: &str) -> Self {
        Failure {
            status,
            error,
            description: description.to_string(),
        }
    }

    fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        )
    }

    /// Keystone's translation of an authentication failure: 401 is the
    /// client's fault, 400 the request's, anything else unexplained.
    fn from_auth(error: &Error) -> Self {
        let status =
            StatusCode::from_u16(error.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match status {
            StatusCode::UNAUTHORIZED => {
                Self::new(status, "invalid_client", &error.public_message())
            }
            StatusCode::BAD_REQUEST => {
                Self::new(status, "invalid_request", &error.public_message())
            }
            _ => {
                if error.is_internal() {
                    tracing::error!(detail = %error, "OAuth 2.0 token request failed");
                }
                Self::new(
                    status,
                    "other_error",
                    "An unknown error occurred and failed to get an OAuth2.0 access token.",
                )
            }
        }
    }

    fn response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({"error": self.error, "error_description": self.description}))
    }
}

/// The form fields, when the body is a form (Keystone reads
/// `request.form`, which is empty for any other content type).
fn form_fields(req: &HttpRequest, body: &[u8]) -> Vec<(String, String)> {
    let is_form = header(req, "content-type").is_some_and(|ct| {
        ct.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !is_form {
        return Vec::new();
    }
    form_urlencoded::parse(body).into_owned().collect()
}

/// `Authorization: Basic`, split at the first colon.
fn basic_auth(req: &HttpRequest) -> Option<(String, String)> {
    let value = header(req, "authorization")?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The grant and the client, checked in Keystone's order.
fn client_of(req: &HttpRequest, body: &[u8]) -> Result<ClientCredentials, Failure> {
    let fields = form_fields(req, body);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match field("grant_type").as_deref() {
        None => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The parameter grant_type is required.",
            ))
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("The parameter grant_type {other} is not supported."),
            ))
        }
    }
    let (client_id, client_secret) = match basic_auth(req) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (field("client_id"), field("client_secret")),
    };
    match (client_id, client_secret) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Ok(ClientCredentials {
            client_id: id,
            client_secret: Secret::new(secret),
        }),
        _ => Err(Failure::invalid_client()),
    }
}

/// `POST /v3/OS-OAUTH2/token`.
pub async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let client = match client_of(&req, &body) {
        Ok(client) => client,
        Err(failure) => return failure.response(),
    };
    match state.auth.client_credentials(client).await {
        Ok((token, expires_in)) => HttpResponse::Ok().json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires_in,
        })),
        Err(error) => Failure::from_auth(&error).response(),
    }
}

/// The other methods on the token endpoint: a 405 in OAuth 2.0's shape,
/// as Keystone's resource answers them.
pub async fn method_not_allowed() -> HttpResponse {
    Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "other_error",
        "The method is not allowed for the requested URL.",
    )
    .response()
}
