//! Routes Keystone 30 still answers for APIs it removed with PKI tokens:
//! they answer as Keystone does (410 Gone, or 403), not 404, so that old
//! clients and scripts get the same explanation from Ironstone.

use actix_web::HttpResponse;

use crate::error::Error;

/// `GET /v3/OS-SIMPLE-CERT/ca` and `/certificates`: 410, with or without a
/// token (Keystone enforces no policy on them).
pub async fn simple_cert() -> Result<HttpResponse, Error> {
    Err(Error::Gone(
        "This API is no longer available due to the removal of support for PKI tokens.".into(),
    ))
}

/// `GET /v3/auth/tokens/OS-PKI/revoked`: Keystone stores no tokens, so it
/// refuses the list (403) while `token.revoke_by_id` is on, as it is by
/// default.
pub async fn pki_revoked() -> Result<HttpResponse, Error> {
    Err(Error::Forbidden(
        "You are not authorized to perform the requested action.".into(),
    ))
}
