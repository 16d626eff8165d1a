//! Credential subsystem: the credential key repository and blobs encrypted
//! at rest, as Keystone stores them (Fernet token + key hash).

use diesel::prelude::*;

use crate::error::Error;
use crate::store::schema::credentials;
use crate::store::Conn;
use crate::token::keys::LoadedKeys;

/// How many stored credentials are not yet encrypted with the primary key.
/// Rotating while any remain would strand them once old keys are purged.
pub fn count_not_under_primary(conn: &mut Conn, keys: &LoadedKeys) -> Result<i64, Error> {
    let Some(primary) = keys.primary_key_hash() else {
        return Ok(0);
    };
    Ok(credentials::table
        .filter(credentials::key_hash.ne(primary))
        .count()
        .get_result(conn)?)
}
