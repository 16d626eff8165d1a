//! One error type for the whole service, mapped in one place to Keystone's
//! error JSON `{"error": {"code", "title", "message"}}` and its status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

/// Keystone's masked text for every 401: callers learn nothing about which
/// part of their credentials was wrong.
pub const UNAUTHORIZED_MESSAGE: &str = "The request you have made requires authentication.";
/// Keystone's masked text for a 403 without a named action.
pub const FORBIDDEN_MESSAGE: &str = "You are not authorized to perform the requested action.";
/// The suffix Keystone adds to a 400 from its validation layer.
pub const BAD_REQUEST_SUFFIX: &str = " The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the caller's request is malformed. The message names the problem.
    #[error("{0}")]
    BadRequest(String),
    /// 401. `identity` is Keystone's extra key for auth-plugin errors.
    #[error("unauthorized")]
    Unauthorized {
        message: Option<String>,
        identity: Option<Value>,
    },
    /// 403 with a message that is safe to show.
    #[error("{0}")]
    Forbidden(String),
    /// 404 with Keystone's unmasked message ("Could not find user: x.").
    #[error("{0}")]
    NotFound(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 with the seconds to wait.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// 503: overloaded or a dependency is down; safe to retry.
    #[error("{0}")]
    Unavailable(String),
    /// A configuration or start-up problem (never reaches a caller as detail).
    #[error("{0}")]
    Config(String),
    /// Anything the caller did not cause. The detail is logged, not shown.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The generic 401.
    pub fn unauthorized() -> Self {
        Error::Unauthorized {
            message: None,
            identity: None,
        }
    }

    /// A 401 whose message Keystone shows unmasked.
    pub fn unauthorized_with(message: impl Into<String>) -> Self {
        Error::Unauthorized {
            message: Some(message.into()),
            identity: None,
        }
    }

    /// Keystone's 400 for a missing attribute: "Expecting to find X in Y. …".
    pub fn expecting(attribute: &str, target: &str) -> Self {
        Error::BadRequest(format!(
            "Expecting to find {attribute} in {target}.{BAD_REQUEST_SUFFIX}"
        ))
    }

    /// Keystone's 400 for a schema violation.
    pub fn invalid(field: &str, problem: &str) -> Self {
        Error::BadRequest(format!(
            "Invalid input for field '{field}': {problem}{BAD_REQUEST_SUFFIX}"
        ))
    }

    /// The generic 403, naming the policy action as Keystone does.
    pub fn forbidden_action(action: &str) -> Self {
        Error::Forbidden(format!(
            "You are not authorized to perform the requested action: {action}."
        ))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Config(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a caller may see.
    fn public_message(&self) -> String {
        match self {
            Error::Unauthorized { message, .. } => message
                .clone()
                .unwrap_or_else(|| UNAUTHORIZED_MESSAGE.to_string()),
            Error::Config(_) | Error::Internal(_) => {
                "An unexpected error prevented the server from fulfilling your request.".into()
            }
            Error::Unavailable(m) => m.clone(),
            other => other.to_string(),
        }
    }

    /// Keystone's error body for this error.
    pub fn body(&self) -> Value {
        let status = self.status();
        let mut error = json!({
            "code": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "message": self.public_message(),
        });
        if let Error::Unauthorized {
            identity: Some(identity),
            ..
        } = self
        {
            error["identity"] = identity.clone();
        }
        json!({ "error": error })
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self, Error::Internal(_) | Error::Config(_)) {
            tracing::error!(detail = %self, "request failed");
        }
        let mut response = HttpResponse::build(self.status());
        if let Error::TooManyRequests { retry_after, .. } = self {
            response.insert_header(("Retry-After", retry_after.to_string()));
        }
        response.json(self.body())
    }
}

impl Error {
    /// Keystone's error body for a bare status (errors raised outside our
    /// handlers, such as actix's own 404/405/413).
    pub fn status_value(status: StatusCode) -> Value {
        json!({"error": {
            "code": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "message": match status.as_u16() {
                400 => "The request could not be understood.",
                401 => UNAUTHORIZED_MESSAGE,
                403 => FORBIDDEN_MESSAGE,
                404 => "The resource could not be found.",
                405 => "The method is not allowed for the requested URL.",
                413 => "Request is too large.",
                _ => "An unexpected error prevented the server from fulfilling your request.",
            },
        }})
    }

    /// [`Error::status_value`] serialised.
    pub fn status_body(status: StatusCode) -> String {
        Self::status_value(status).to_string()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_keystone_shape() {
        let body = Error::unauthorized().body();
        assert_eq!(body["error"]["code"], 401);
        assert_eq!(body["error"]["title"], "Unauthorized");
        assert_eq!(body["error"]["message"], UNAUTHORIZED_MESSAGE);
        assert!(body["error"].get("identity").is_none());

        let body = Error::NotFound("Could not find user: x.".into()).body();
        assert_eq!(body["error"]["title"], "Not Found");
        assert_eq!(body["error"]["message"], "Could not find user: x.");

        let body = Error::Conflict("dup".into()).body();
        assert_eq!(body["error"]["code"], 409);
        assert_eq!(body["error"]["title"], "Conflict");
    }

    #[test]
    fn internal_detail_is_hidden() {
        let body = Error::Internal("password=hunter2 in query".into()).body();
        let text = body.to_string();
        assert!(!text.contains("hunter2"));
        assert_eq!(body["error"]["code"], 500);
    }

    #[test]
    fn auth_plugin_errors_carry_identity() {
        let e = Error::Unauthorized {
            message: Some("Attempted to authenticate with an unsupported method.".into()),
            identity: Some(json!({"methods": ["password"]})),
        };
        assert_eq!(e.body()["error"]["identity"]["methods"][0], "password");
    }

    #[test]
    fn throttling_sets_retry_after() {
        let e = Error::TooManyRequests {
            message: "slow down".into(),
            retry_after: 7,
        };
        let resp = e.error_response();
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
    }
}
