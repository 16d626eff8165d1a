//! The one place where a domain [`Error`] becomes an HTTP answer:
//! Keystone's status and its error JSON `{"error": {"code", "title",
//! "message"}}`, with `Retry-After` for 429 and the detail of a 500 logged,
//! never shown.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

use crate::error::{Error, FORBIDDEN_MESSAGE, INTERNAL_MESSAGE, UNAUTHORIZED_MESSAGE};

fn status_of(error: &Error) -> StatusCode {
    StatusCode::from_u16(error.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Keystone's error body for `error`.
pub fn body(error: &Error) -> Value {
    let status = status_of(error);
    let mut inner = json!({
        "code": status.as_u16(),
        "title": status.canonical_reason().unwrap_or("Error"),
        "message": error.public_message(),
    });
    if let Some(identity) = error.identity() {
        inner["identity"] = identity.clone();
    }
    json!({ "error": inner })
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_of(self)
    }

    fn error_response(&self) -> HttpResponse {
        if self.is_internal() {
            tracing::error!(detail = %self, "request failed");
        }
        let mut response = HttpResponse::build(status_of(self));
        if let Some(seconds) = self.retry_after() {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(body(self))
    }
}

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
            _ => INTERNAL_MESSAGE,
        },
    }})
}

/// [`status_value`] serialised.
pub fn status_body(status: StatusCode) -> String {
    status_value(status).to_string()
}

/// Keystone's 405, naming the methods the path allows.
pub fn method_not_allowed(allow: &str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", allow.to_string()))
        .json(status_value(StatusCode::METHOD_NOT_ALLOWED))
}

/// Unknown paths: Keystone's 404 as JSON.
pub async fn not_found() -> HttpResponse {
    let err = Error::NotFound("The resource could not be found.".into());
    HttpResponse::NotFound().json(body(&err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_keystone_shape() {
        let b = body(&Error::unauthorized());
        assert_eq!(b["error"]["code"], 401);
        assert_eq!(b["error"]["title"], "Unauthorized");
        assert_eq!(b["error"]["message"], UNAUTHORIZED_MESSAGE);
        assert!(b["error"].get("identity").is_none());

        let b = body(&Error::NotFound("Could not find user: x.".into()));
        assert_eq!(b["error"]["title"], "Not Found");
        assert_eq!(b["error"]["message"], "Could not find user: x.");

        let b = body(&Error::Conflict("dup".into()));
        assert_eq!(b["error"]["code"], 409);
        assert_eq!(b["error"]["title"], "Conflict");

        let b = body(&Error::Unavailable("busy".into()));
        assert_eq!(b["error"]["code"], 503);
        assert_eq!(b["error"]["message"], "busy");
    }

    #[test]
    fn every_variant_maps_to_its_status() {
        let cases = [
            (Error::BadRequest("x".into()), 400),
            (Error::unauthorized(), 401),
            (Error::Forbidden("x".into()), 403),
            (Error::NotFound("x".into()), 404),
            (Error::Conflict("x".into()), 409),
            (Error::PayloadTooLarge("x".into()), 413),
            (
                Error::TooManyRequests {
                    message: "x".into(),
                    retry_after: 1,
                },
                429,
            ),
            (Error::Unavailable("x".into()), 503),
            (Error::Config("x".into()), 500),
            (Error::Internal("x".into()), 500),
        ];
        for (error, code) in cases {
            assert_eq!(error.error_response().status().as_u16(), code, "{error:?}");
            assert_eq!(body(&error)["error"]["code"], code);
        }
    }

    #[test]
    fn internal_detail_is_hidden() {
        let b = body(&Error::Internal("password=hunter2 in query".into()));
        assert!(!b.to_string().contains("hunter2"));
        assert_eq!(b["error"]["code"], 500);
        assert_eq!(b["error"]["message"], INTERNAL_MESSAGE);
    }

    #[test]
    fn auth_plugin_errors_carry_identity() {
        let e = Error::Unauthorized {
            message: Some("Attempted to authenticate with an unsupported method.".into()),
            identity: Some(json!({"methods": ["password"]})),
        };
        assert_eq!(body(&e)["error"]["identity"]["methods"][0], "password");
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

    #[test]
    fn bare_statuses_have_keystone_texts() {
        assert_eq!(
            status_value(StatusCode::METHOD_NOT_ALLOWED)["error"]["message"],
            "The method is not allowed for the requested URL."
        );
        assert_eq!(
            status_value(StatusCode::BAD_GATEWAY)["error"]["message"],
            INTERNAL_MESSAGE
        );
    }
}
