//! One error type for the whole service. It knows nothing of HTTP
//! frameworks: `api::error` renders it as Keystone's error JSON
//! `{"error": {"code", "title", "message"}}` with its status.

use serde_json::Value;

/// Keystone's masked text for every 401: callers learn nothing about which
/// part of their credentials was wrong.
pub const UNAUTHORIZED_MESSAGE: &str = "The request you have made requires authentication.";
/// Keystone's masked text for a 403 without a named action.
pub const FORBIDDEN_MESSAGE: &str = "You are not authorized to perform the requested action.";
/// Keystone's text for a 500: the detail is logged, not shown.
pub const INTERNAL_MESSAGE: &str =
    "An unexpected error prevented the server from fulfilling your request.";
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
    /// 410: a route Keystone still answers, for an API it removed.
    #[error("{0}")]
    Gone(String),
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

    /// The HTTP status Keystone answers this error with (Keystone's own
    /// exceptions carry their `code` the same way).
    pub fn code(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthorized { .. } => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::Conflict(_) => 409,
            Error::Gone(_) => 410,
            Error::PayloadTooLarge(_) => 413,
            Error::TooManyRequests { .. } => 429,
            Error::Unavailable(_) => 503,
            Error::Config(_) | Error::Internal(_) => 500,
        }
    }

    /// True for errors the caller did not cause: their detail is logged,
    /// never shown.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Config(_) | Error::Internal(_))
    }

    /// The message a caller may see.
    pub fn public_message(&self) -> String {
        match self {
            Error::Unauthorized { message, .. } => message
                .clone()
                .unwrap_or_else(|| UNAUTHORIZED_MESSAGE.to_string()),
            Error::Config(_) | Error::Internal(_) => INTERNAL_MESSAGE.into(),
            Error::Unavailable(m) => m.clone(),
            other => other.to_string(),
        }
    }

    /// Keystone's extra `identity` member of an auth-plugin 401.
    pub fn identity(&self) -> Option<&Value> {
        match self {
            Error::Unauthorized { identity, .. } => identity.as_ref(),
            _ => None,
        }
    }

    /// Seconds a throttled caller should wait.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
