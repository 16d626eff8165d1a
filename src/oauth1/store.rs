//! OS-OAUTH1's tables: consumers, request tokens and access tokens, each
//! with its secret encrypted under the credential keys.

use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::store::schema::{oauth_access_tokens, oauth_consumers, oauth_request_tokens};
use crate::store::{extra, Conn};

/// A consumer as the API shows it (never its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub id: String,
    pub description: Option<String>,
    pub extra: Map<String, Value>,
}

/// A request token: issued to a consumer for a project, then authorized
/// by a user with some of their roles there.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestToken {
    pub id: String,
    pub consumer_id: String,
    pub encrypted_secret: String,
    pub requested_project_id: String,
    pub verifier_digest: Option<String>,
    pub authorizing_user_id: Option<String>,
    pub role_ids: Option<Vec<String>>,
    pub expires_at: Option<i64>,
}

/// An access token: the delegation a consumer authenticates with.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub id: String,
    pub consumer_id: String,
    pub encrypted_secret: String,
    pub authorizing_user_id: String,
    pub project_id: String,
    pub role_ids: Vec<String>,
    pub expires_at: Option<i64>,
}

pub fn not_found_consumer() -> Error {
    Error::NotFound("Consumer not found".into())
}

pub fn not_found_request_token() -> Error {
    Error::NotFound("Request token not found".into())
}

pub fn not_found_access_token() -> Error {
    Error::NotFound("Access token not found".into())
}

type ConsumerColumns = (String, Option<String>, String);

fn consumer_of((id, description, stored): ConsumerColumns) -> Consumer {
    Consumer {
        id,
        description,
        extra: extra::parse(&stored),
    }
}

pub fn get_consumer(conn: &mut Conn, id: &str) -> Result<Option<Consumer>, Error> {
    Ok(oauth_consumers::table
        .find(id)
        .select((
            oauth_consumers::id,
            oauth_consumers::description,
            oauth_consumers::extra,
        ))
        .first::<ConsumerColumns>(conn)
        .optional()?
        .map(consumer_of))
}

/// The consumer's secret, encrypted.
pub fn consumer_secret(conn: &mut Conn, id: &str) -> Result<Option<String>, Error> {
    Ok(oauth_consumers::table
        .find(id)
        .select(oauth_consumers::encrypted_secret)
        .first(conn)
        .optional()?)
}

pub fn list_consumers(conn: &mut Conn) -> Result<Vec<Consumer>, Error> {
    Ok(oauth_consumers::table
        .order(oauth_consumers::created_at.asc())
        .select((
            oauth_consumers::id,
            oauth_consumers::description,
            oauth_consumers::extra,
        ))
        .load::<ConsumerColumns>(conn)?
        .into_iter()
        .map(consumer_of)
        .collect())
}

/// A new row; `secret` is already encrypted, under `key_hash`.
pub struct NewRow<'a> {
    pub id: &'a str,
    pub encrypted_secret: &'a str,
    pub key_hash: &'a str,
    pub now: i64,
}

pub fn insert_consumer(
    conn: &mut Conn,
    row: NewRow<'_>,
    description: Option<&str>,
    extra_attributes: &Map<String, Value>,
) -> Result<(), Error> {
    diesel::insert_into(oauth_consumers::table)
        .values((
            oauth_consumers::id.eq(row.id),
            oauth_consumers::description.eq(description),
            oauth_consumers::encrypted_secret.eq(row.encrypted_secret),
            oauth_consumers::key_hash.eq(row.key_hash),
            oauth_consumers::extra.eq(extra::text(extra_attributes)),
            oauth_consumers::created_at.eq(row.now),
        ))
        .execute(conn)?;
    crate::notify::created("OS-OAUTH1:consumer", row.id);
    Ok(())
}

pub fn update_consumer(
    conn: &mut Conn,
    id: &str,
    description: Option<Option<&str>>,
    given: &Map<String, Value>,
) -> Result<Consumer, Error> {
    let current = get_consumer(conn, id)?.ok_or_else(not_found_consumer)?;
    if let Some(description) = description {
        diesel::update(oauth_consumers::table.find(id))
            .set(oauth_consumers::description.eq(description))
            .execute(conn)?;
    }
    if let Some(merged) = extra::merged(&current.extra, given) {
        diesel::update(oauth_consumers::table.find(id))
            .set(oauth_consumers::extra.eq(merged))
            .execute(conn)?;
    }
    crate::notify::updated("OS-OAUTH1:consumer", id);
    get_consumer(conn, id)?.ok_or_else(not_found_consumer)
}

/// Deletes the consumer and (by cascade) its request and access tokens.
pub fn delete_consumer(conn: &mut Conn, id: &str) -> Result<(), Error> {
    match diesel::delete(oauth_consumers::table.find(id)).execute(conn)? {
        0 => Err(not_found_consumer()),
        _ => {
            crate::notify::deleted("OS-OAUTH1:consumer", id);
            Ok(())
        }
    }
}

fn role_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

type RequestColumns = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

pub fn get_request_token(conn: &mut Conn, id: &str) -> Result<Option<RequestToken>, Error> {
    let row = oauth_request_tokens::table
        .find(id)
        .select((
            oauth_request_tokens::id,
            oauth_request_tokens::consumer_id,
            oauth_request_tokens::encrypted_secret,
            oauth_request_tokens::requested_project_id,
            oauth_request_tokens::verifier_digest,
            oauth_request_tokens::authorizing_user_id,
            oauth_request_tokens::role_ids,
            oauth_request_tokens::expires_at,
        ))
        .first::<RequestColumns>(conn)
        .optional()?;
    Ok(row.map(|r| RequestToken {
        id: r.0,
        consumer_id: r.1,
        encrypted_secret: r.2,
        requested_project_id: r.3,
        verifier_digest: r.4,
        authorizing_user_id: r.5,
        role_ids: r.6.as_deref().map(role_list),
        expires_at: r.7,
    }))
}

pub fn insert_request_token(
    conn: &mut Conn,
    row: NewRow<'_>,
    consumer_id: &str,
    project_id: &str,
    expires_at: Option<i64>,
) -> Result<(), Error> {
    diesel::insert_into(oauth_request_tokens::table)
        .values((
            oauth_request_tokens::id.eq(row.id),
            oauth_request_tokens::consumer_id.eq(consumer_id),
            oauth_request_tokens::encrypted_secret.eq(row.encrypted_secret),
            oauth_request_tokens::key_hash.eq(row.key_hash),
            oauth_request_tokens::requested_project_id.eq(project_id),
            oauth_request_tokens::expires_at.eq(expires_at),
            oauth_request_tokens::created_at.eq(row.now),
        ))
        .execute(conn)?;
    crate::notify::created("OS-OAUTH1:request_token", row.id);
    Ok(())
}

/// Records who authorized the request token, with which roles, and the
/// digest of the verifier they were given.
pub fn authorize_request_token(
    conn: &mut Conn,
    id: &str,
    user_id: &str,
    role_ids: &[String],
    verifier_digest: &str,
) -> Result<(), Error> {
    let roles = Value::from(role_ids.to_vec()).to_string();
    diesel::update(oauth_request_tokens::table.find(id))
        .set((
            oauth_request_tokens::authorizing_user_id.eq(user_id),
            oauth_request_tokens::role_ids.eq(roles),
            oauth_request_tokens::verifier_digest.eq(verifier_digest),
        ))
        .execute(conn)?;
    Ok(())
}

/// Trades an authorized request token for an access token: the request
/// token is gone once used (RFC 5849 §2.3).
pub fn exchange_request_token(
    conn: &mut Conn,
    request: &RequestToken,
    row: NewRow<'_>,
    expires_at: Option<i64>,
) -> Result<(), Error> {
    let (Some(user), Some(roles)) = (&request.authorizing_user_id, &request.role_ids) else {
        return Err(Error::unauthorized_with(
            "Request Token does not have an authorizing user id.",
        ));
    };
    let used = diesel::delete(oauth_request_tokens::table.find(&request.id)).execute(conn)?;
    if used == 0 {
        // Another node traded it first.
        return Err(not_found_request_token());
    }
    diesel::insert_into(oauth_access_tokens::table)
        .values((
            oauth_access_tokens::id.eq(row.id),
            oauth_access_tokens::consumer_id.eq(&request.consumer_id),
            oauth_access_tokens::encrypted_secret.eq(row.encrypted_secret),
            oauth_access_tokens::key_hash.eq(row.key_hash),
            oauth_access_tokens::authorizing_user_id.eq(user),
            oauth_access_tokens::project_id.eq(&request.requested_project_id),
            oauth_access_tokens::role_ids.eq(Value::from(roles.clone()).to_string()),
            oauth_access_tokens::expires_at.eq(expires_at),
            oauth_access_tokens::created_at.eq(row.now),
        ))
        .execute(conn)?;
    crate::notify::created("OS-OAUTH1:access_token", row.id);
    Ok(())
}

type AccessColumns = (String, String, String, String, String, String, Option<i64>);

fn access_of(r: AccessColumns) -> AccessToken {
    AccessToken {
        id: r.0,
        consumer_id: r.1,
        encrypted_secret: r.2,
        authorizing_user_id: r.3,
        project_id: r.4,
        role_ids: role_list(&r.5),
        expires_at: r.6,
    }
}

macro_rules! access_columns {
    () => {
        (
            oauth_access_tokens::id,
            oauth_access_tokens::consumer_id,
            oauth_access_tokens::encrypted_secret,
            oauth_access_tokens::authorizing_user_id,
            oauth_access_tokens::project_id,
            oauth_access_tokens::role_ids,
            oauth_access_tokens::expires_at,
        )
    };
}

pub fn get_access_token(conn: &mut Conn, id: &str) -> Result<Option<AccessToken>, Error> {
    Ok(oauth_access_tokens::table
        .find(id)
        .select(access_columns!())
        .first::<AccessColumns>(conn)
        .optional()?
        .map(access_of))
}

pub fn list_access_tokens(conn: &mut Conn, user_id: &str) -> Result<Vec<AccessToken>, Error> {
    Ok(oauth_access_tokens::table
        .filter(oauth_access_tokens::authorizing_user_id.eq(user_id))
        .order(oauth_access_tokens::created_at.asc())
        .select(access_columns!())
        .load::<AccessColumns>(conn)?
        .into_iter()
        .map(access_of)
        .collect())
}

pub fn delete_access_token(conn: &mut Conn, id: &str) -> Result<(), Error> {
    diesel::delete(oauth_access_tokens::table.find(id)).execute(conn)?;
    crate::notify::deleted("OS-OAUTH1:access_token", id);
    Ok(())
}

/// A user's delegations go with the user (Keystone leaves them behind).
pub fn delete_tokens_of_user(conn: &mut Conn, user_id: &str) -> Result<(), Error> {
    diesel::delete(
        oauth_access_tokens::table.filter(oauth_access_tokens::authorizing_user_id.eq(user_id)),
    )
    .execute(conn)?;
    diesel::delete(
        oauth_request_tokens::table.filter(oauth_request_tokens::authorizing_user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// Secrets not encrypted under `primary`, for `credential rotate`.
pub fn count_not_under(conn: &mut Conn, primary: &str) -> Result<i64, Error> {
    let consumers: i64 = oauth_consumers::table
        .filter(oauth_consumers::key_hash.ne(primary))
        .count()
        .get_result(conn)?;
    let requests: i64 = oauth_request_tokens::table
        .filter(oauth_request_tokens::key_hash.ne(primary))
        .count()
        .get_result(conn)?;
    let accesses: i64 = oauth_access_tokens::table
        .filter(oauth_access_tokens::key_hash.ne(primary))
        .count()
        .get_result(conn)?;
    Ok(consumers + requests + accesses)
}
