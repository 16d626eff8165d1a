//! Credential subsystem: Keystone credentials (`/v3/credentials`), with
//! blobs encrypted at rest the way Keystone stores them (a Fernet token of
//! the blob made with the credential key repository, plus the SHA-1
//! `key_hash` of the primary key), and the key metadata consoles expect.
//! EC2 credentials double as SODA's AK/SK pairs.

pub mod keys;
mod service;

pub use service::{AkskInput, CredentialInput, Credentials, NewPair, Rotated, Settings};

use diesel::prelude::*;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::lifecycle::{LeakAction, RateLimit};
use crate::secret::Secret;
use crate::store::rows::CredentialRow;
use crate::store::schema::credentials;
use crate::store::{now_micros, Conn};
use crate::token::keys::LoadedKeys;
use crate::token::KeyRing;
pub use keys::{generate_access_key, generate_secret_key, parse_cidr};

/// The credential type of AK/SK pairs.
pub const EC2: &str = "ec2";

/// Encrypts and decrypts credential blobs with the credential key ring.
pub struct CredentialCipher {
    ring: KeyRing,
}

impl CredentialCipher {
    pub fn new(ring: KeyRing) -> Self {
        CredentialCipher { ring }
    }

    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// `(encrypted_blob, key_hash)`: a padded Fernet token, as Keystone's
    /// credential provider writes it.
    pub fn encrypt(&self, plaintext: &str) -> Result<(String, String), Error> {
        let fernet = self.ring.fernet()?;
        Ok((
            fernet.encrypt(plaintext.as_bytes()),
            self.ring.primary_key_hash()?,
        ))
    }

    pub fn decrypt(&self, encrypted: &str) -> Result<Secret, Error> {
        let bytes = self.ring.fernet()?.decrypt(encrypted).map_err(|_| {
            Error::Internal("a credential blob does not decrypt with any credential key".into())
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Internal("a credential blob is not UTF-8".into()))?;
        Ok(Secret::new(text))
    }
}

/// Key metadata: what consoles show and edit, never the secret.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyMeta {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Microseconds.
    pub expires_at: Option<i64>,
    pub allowed_cidrs: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub use_count: i64,
    /// `None`: the deployment's default.
    pub action_when_leaked: Option<LeakAction>,
    /// When it was reported leaked.
    pub leaked_at: Option<i64>,
    /// Its own limit on successful verifications, if any.
    pub rate_limit: Option<RateLimit>,
    /// Keystone's `extra`: the attributes a `/v3/credentials` create kept
    /// beside the columns.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A decrypted credential.
#[derive(Debug, Clone)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub credential_type: String,
    /// The blob as the API shows it: a string (JSON text for ec2).
    pub blob: Secret,
    pub meta: KeyMeta,
}

/// The parts of an ec2 blob.
#[derive(Debug, Clone)]
pub struct Ec2Blob {
    pub access: String,
    pub secret: Secret,
    pub trust_id: Option<String>,
    /// Set by Keystone when the pair was made with an application
    /// credential's token: the pair's tokens carry only its roles.
    pub app_cred_id: Option<String>,
    /// Set by Keystone when the pair was made with an OAuth1 token.
    pub access_token_id: Option<String>,
}

impl Credential {
    pub fn ec2(&self) -> Result<Ec2Blob, Error> {
        parse_ec2_blob(self.blob.expose())
    }

    /// True when the pair may be used now: enabled and not expired.
    pub fn is_usable(&self, now_micros: i64) -> bool {
        self.meta.enabled && self.meta.expires_at.is_none_or(|t| t > now_micros)
    }
}

/// The audit event of a pair (`None` for other credential types).
pub fn pair_event(
    action: &'static str,
    pair: &Credential,
    initiator: crate::audit::Initiator,
    reason: Option<String>,
) -> Option<crate::audit::KeyEvent> {
    let blob = pair.ec2().ok().filter(|_| pair.credential_type == EC2)?;
    Some(crate::audit::KeyEvent {
        action,
        kind: crate::audit::KeyKind::Pair,
        key_id: blob.access,
        user_id: pair.user_id.clone(),
        project_id: pair.project_id.clone(),
        initiator,
        reason,
    })
}

/// Keystone's id for an ec2 credential: sha256 hex of the access key.
pub fn ec2_credential_id(access: &str) -> String {
    crate::signature::sha256_hex(access.as_bytes())
}

/// Parses an ec2 blob (a JSON object with `access` and `secret`).
pub fn parse_ec2_blob(blob: &str) -> Result<Ec2Blob, Error> {
    let value: Value = serde_json::from_str(blob)
        .map_err(|_| Error::BadRequest("Invalid blob in credential".into()))?;
    let Value::Object(map) = value else {
        return Err(Error::BadRequest("Invalid blob in credential".into()));
    };
    let access = match map.get("access") {
        Some(Value::String(a)) if !a.is_empty() => a.clone(),
        _ => return Err(Error::expecting("access", "credential")),
    };
    let secret = match map.get("secret") {
        Some(Value::String(s)) => Secret::new(s.clone()),
        _ => return Err(Error::expecting("secret", "credential")),
    };
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Ok(Ec2Blob {
        access,
        secret,
        trust_id: text("trust_id"),
        app_cred_id: text("app_cred_id"),
        access_token_id: text("access_token_id"),
    })
}

/// Keystone's `_validate_blob_update_keys`: an update may change an ec2
/// blob's access key and secret, but not what the pair is limited to (its
/// trust, application credential or OAuth token). Otherwise an
/// owner could lift the restriction of a pair made through a delegated
/// token by rewriting its blob.
pub fn check_ec2_blob_update(old: &Ec2Blob, new: &Ec2Blob) -> Result<(), Error> {
    let fixed = [
        ("trust_id", old.trust_id.as_ref(), new.trust_id.as_ref()),
        (
            "app_cred_id",
            old.app_cred_id.as_ref(),
            new.app_cred_id.as_ref(),
        ),
        (
            "access_token_id",
            old.access_token_id.as_ref(),
            new.access_token_id.as_ref(),
        ),
    ];
    match fixed.iter().find(|(_, before, after)| before != after) {
        Some((key, _, _)) => Err(Error::BadRequest(format!(
            "{key} can not be updated for credential"
        ))),
        None => Ok(()),
    }
}

/// The blob Ironstone writes for a new pair: `{"access", "secret"}` in
/// that order, plus `trust_id: null` as Keystone's OS-EC2 API writes.
/// An ec2 blob with a new access and secret and everything else kept
/// (the trust or application credential the pair acts through).
pub fn replace_ec2_keys(blob: &str, access: &str, secret: &str) -> Result<String, Error> {
    let mut fields: Map<String, Value> = serde_json::from_str(blob)
        .map_err(|_| Error::Internal("a stored ec2 blob is not a JSON object".into()))?;
    fields.insert("access".into(), Value::String(access.into()));
    fields.insert("secret".into(), Value::String(secret.into()));
    serde_json::to_string(&fields).map_err(|e| Error::Internal(format!("cannot write a blob: {e}")))
}

pub fn ec2_blob(access: &str, secret: &str) -> String {
    let mut map = Map::new();
    map.insert("access".into(), Value::String(access.into()));
    map.insert("secret".into(), Value::String(secret.into()));
    map.insert("trust_id".into(), Value::Null);
    Value::Object(map).to_string()
}

/// Reads a stored plaintext: Keystone double-encodes ec2 blobs on create
/// (a JSON string holding JSON) and single-encodes on update; accept both.
fn api_blob(credential_type: &str, plaintext: Secret) -> Secret {
    if credential_type != EC2 {
        return plaintext;
    }
    match serde_json::from_str::<Value>(plaintext.expose()) {
        Ok(Value::String(inner)) => Secret::new(inner),
        Ok(obj @ Value::Object(_)) => Secret::new(obj.to_string()),
        _ => plaintext,
    }
}

fn from_row(cipher: &CredentialCipher, row: CredentialRow) -> Result<Credential, Error> {
    let plaintext = cipher.decrypt(&row.encrypted_blob)?;
    Ok(Credential {
        blob: api_blob(&row.credential_type, plaintext),
        id: row.id,
        user_id: row.user_id,
        project_id: row.project_id,
        credential_type: row.credential_type,
        meta: KeyMeta {
            name: row.name,
            description: row.description,
            enabled: row.enabled,
            expires_at: row.expires_at,
            allowed_cidrs: serde_json::from_str(&row.allowed_cidrs).unwrap_or_default(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            use_count: row.use_count,
            action_when_leaked: row
                .action_when_leaked
                .as_deref()
                .and_then(LeakAction::parse),
            leaked_at: row.leaked_at,
            rate_limit: row
                .rate_limit
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .and_then(|v| RateLimit::parse(&v).ok()),
            extra: crate::store::extra::parse(&row.extra),
        },
    })
}

pub fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Could not find credential: {id}."))
}

/// What a new credential holds.
pub struct NewCredential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub credential_type: String,
    pub blob: Secret,
    pub meta: KeyMeta,
    /// [`secret_digest`] of a secret Ironstone generated; `None` for one a
    /// client chose (it may be weak: no fast digest of it is kept).
    pub secret_digest: Option<String>,
}

/// The lookup digest of a generated secret (SHA-256 hex), by which a leak
/// report finds its key. Safe to keep: generated secrets carry at least
/// 122 random bits, beyond any search.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The lookup key of a pair: the digest of its access key, for ec2
/// credentials whose blob names one.
fn access_digest(credential_type: &str, blob: &Secret) -> Option<String> {
    (credential_type == EC2)
        .then(|| parse_ec2_blob(blob.expose()).ok())
        .flatten()
        .map(|b| ec2_credential_id(&b.access))
}

/// Refuses an access key that another pair already answers to.
fn refuse_taken_access(conn: &mut Conn, digest: &Option<String>, id: &str) -> Result<(), Error> {
    let Some(digest) = digest else {
        return Ok(());
    };
    let taken = credentials::table
        .filter(credentials::access_digest.eq(digest))
        .filter(credentials::id.ne(id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if taken {
        return Err(Error::Conflict(
            "Conflict occurred attempting to store credential - another credential has this access key.".into(),
        ));
    }
    Ok(())
}

pub fn create(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    new: NewCredential,
) -> Result<Credential, Error> {
    let exists = credentials::table
        .find(&new.id)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    let digest = access_digest(&new.credential_type, &new.blob);
    if !exists {
        refuse_taken_access(conn, &digest, &new.id)?;
    }
    if exists {
        return Err(Error::Conflict(format!(
            "Conflict occurred attempting to store credential - Duplicate entry found with ID {}.",
            new.id
        )));
    }
    let (encrypted, key_hash) = cipher.encrypt(new.blob.expose())?;
    let created_at = now_micros();
    diesel::insert_into(credentials::table)
        .values((
            credentials::id.eq(&new.id),
            credentials::user_id.eq(&new.user_id),
            credentials::project_id.eq(&new.project_id),
            credentials::credential_type.eq(&new.credential_type),
            credentials::key_hash.eq(key_hash),
            credentials::encrypted_blob.eq(encrypted),
            credentials::extra.eq(crate::store::extra::text(&new.meta.extra)),
            credentials::name.eq(&new.meta.name),
            credentials::description.eq(&new.meta.description),
            credentials::enabled.eq(new.meta.enabled),
            credentials::expires_at.eq(new.meta.expires_at),
            credentials::allowed_cidrs
                .eq(serde_json::to_string(&new.meta.allowed_cidrs).unwrap_or_else(|_| "[]".into())),
            credentials::created_at.eq(created_at),
            credentials::use_count.eq(0i64),
            credentials::access_digest.eq(digest),
            credentials::secret_digest.eq(&new.secret_digest),
            credentials::action_when_leaked.eq(new.meta.action_when_leaked.map(LeakAction::as_str)),
            credentials::rate_limit.eq(rate_limit_text(new.meta.rate_limit)),
        ))
        .execute(conn)?;
    crate::notify::created("credential", &new.id);
    Ok(Credential {
        id: new.id,
        user_id: new.user_id,
        project_id: new.project_id,
        credential_type: new.credential_type,
        blob: new.blob,
        meta: KeyMeta {
            created_at,
            ..new.meta
        },
    })
}

pub fn get(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    id: &str,
) -> Result<Option<Credential>, Error> {
    let row = credentials::table
        .find(id)
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| from_row(cipher, r)).transpose()
}

/// The ec2 pair that answers to `access` now (after a PATCH that changed
/// its access key, no longer the one its id was derived from).
pub fn get_by_access(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    access: &str,
) -> Result<Option<Credential>, Error> {
    let row = credentials::table
        .filter(credentials::access_digest.eq(ec2_credential_id(access)))
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| from_row(cipher, r)).transpose()
}

/// Filters for listing; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub credential_type: Option<String>,
}

pub fn list(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    filter: &Filter,
) -> Result<Vec<Credential>, Error> {
    let mut query = credentials::table
        .select(CredentialRow::as_select())
        .into_boxed();
    if let Some(u) = &filter.user_id {
        query = query.filter(credentials::user_id.eq(u.clone()));
    }
    if let Some(p) = &filter.project_id {
        query = query.filter(credentials::project_id.eq(p.clone()));
    }
    if let Some(t) = &filter.credential_type {
        query = query.filter(credentials::credential_type.eq(t.clone()));
    }
    let rows: Vec<CredentialRow> = query
        .order((credentials::created_at.asc(), credentials::id.asc()))
        .load(conn)?;
    rows.into_iter().map(|r| from_row(cipher, r)).collect()
}

/// Refuses a new credential past `[credential] user_limit` (-1: none).
/// Call it in the transaction that inserts: it locks the user's row first
/// on PostgreSQL and MariaDB/MySQL, so concurrent creates for one user count one after the
/// other instead of all seeing room for one more. (SQLite transactions
/// that write are serialised already.)
pub fn check_user_limit(conn: &mut Conn, user_id: &str, limit: i64) -> Result<(), Error> {
    if limit < 0 {
        return Ok(());
    }
    let lock = match conn {
        Conn::Postgresql(_) => Some("SELECT 1 FROM users WHERE id = $1 FOR UPDATE"),
        Conn::Mysql(_) => Some("SELECT 1 FROM users WHERE id = ? FOR UPDATE"),
        Conn::Sqlite(_) => None,
    };
    if let Some(lock) = lock {
        diesel::sql_query(lock)
            .bind::<diesel::sql_types::Text, _>(user_id)
            .execute(conn)?;
    }
    if count(conn, user_id, None)? >= limit {
        return Err(Error::Forbidden(format!(
            "Unable to create additional credentials, maximum of {limit} already exceeded for user."
        )));
    }
    Ok(())
}

pub fn count(conn: &mut Conn, user_id: &str, credential_type: Option<&str>) -> Result<i64, Error> {
    let mut query = credentials::table
        .filter(credentials::user_id.eq(user_id))
        .count()
        .into_boxed();
    if let Some(t) = credential_type {
        query = query.filter(credentials::credential_type.eq(t.to_string()));
    }
    Ok(query.get_result(conn)?)
}

/// Replaces the blob (Keystone's PATCH), re-encrypted with the primary
/// key; an ec2 pair then answers to the blob's access key.
pub fn update_blob(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    id: &str,
    credential_type: &str,
    blob: &Secret,
) -> Result<(), Error> {
    let digest = access_digest(credential_type, blob);
    refuse_taken_access(conn, &digest, id)?;
    let (encrypted, key_hash) = cipher.encrypt(blob.expose())?;
    let n = diesel::update(credentials::table.find(id))
        .set((
            credentials::encrypted_blob.eq(encrypted),
            credentials::key_hash.eq(key_hash),
            credentials::access_digest.eq(digest),
            // The client wrote this secret: no digest of it is kept.
            credentials::secret_digest.eq(None::<String>),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// Changes to key metadata; `None` leaves a field alone.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetaPatch {
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub expires_at: Option<Option<i64>>,
    pub allowed_cidrs: Option<Vec<String>>,
    /// `Some(None)` returns to the deployment's default.
    pub action_when_leaked: Option<Option<LeakAction>>,
    /// `Some(None)` removes the limit.
    pub rate_limit: Option<Option<RateLimit>>,
}

/// How a rate limit is stored: its JSON, or NULL.
fn rate_limit_text(limit: Option<RateLimit>) -> Option<String> {
    limit.map(|l| l.to_json().to_string())
}

/// Disables the enabled ec2 pairs last used (or, never used, created)
/// before `before`; their ids.
pub fn disable_unused(conn: &mut Conn, before: i64) -> Result<Vec<String>, Error> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool};
    let ids: Vec<String> = credentials::table
        .filter(credentials::credential_type.eq(EC2))
        .filter(credentials::enabled.eq(true))
        .filter(sql::<Bool>("COALESCE(last_used_at, created_at) < ").bind::<BigInt, _>(before))
        .select(credentials::id)
        .load(conn)?;
    diesel::update(credentials::table.filter(credentials::id.eq_any(&ids)))
        .set(credentials::enabled.eq(false))
        .execute(conn)?;
    Ok(ids)
}

pub fn update_meta(conn: &mut Conn, id: &str, patch: &MetaPatch) -> Result<(), Error> {
    let target = credentials::table.find(id);
    if target.count().get_result::<i64>(conn)? == 0 {
        return Err(not_found(id));
    }
    if let Some(name) = &patch.name {
        diesel::update(target)
            .set(credentials::name.eq(name))
            .execute(conn)?;
    }
    if let Some(description) = &patch.description {
        diesel::update(target)
            .set(credentials::description.eq(description))
            .execute(conn)?;
    }
    if let Some(enabled) = patch.enabled {
        diesel::update(target)
            .set(credentials::enabled.eq(enabled))
            .execute(conn)?;
    }
    if let Some(expires_at) = patch.expires_at {
        diesel::update(target)
            .set(credentials::expires_at.eq(expires_at))
            .execute(conn)?;
    }
    if let Some(cidrs) = &patch.allowed_cidrs {
        let text = serde_json::to_string(cidrs).unwrap_or_else(|_| "[]".into());
        diesel::update(target)
            .set(credentials::allowed_cidrs.eq(text))
            .execute(conn)?;
    }
    if let Some(limit) = patch.rate_limit {
        diesel::update(target)
            .set(credentials::rate_limit.eq(rate_limit_text(limit)))
            .execute(conn)?;
    }
    if let Some(action) = patch.action_when_leaked {
        diesel::update(target)
            .set(credentials::action_when_leaked.eq(action.map(LeakAction::as_str)))
            .execute(conn)?;
    }
    Ok(())
}

/// Records a successful use (signature verification).
/// Adds `count` uses of a key, the last at `last_used_at` (microseconds).
pub fn record_uses(conn: &mut Conn, id: &str, last_used_at: i64, count: i64) -> Result<(), Error> {
    diesel::update(credentials::table.find(id))
        .set((
            credentials::last_used_at.eq(Some(last_used_at)),
            credentials::use_count.eq(credentials::use_count + count),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut Conn, id: &str) -> Result<bool, Error> {
    let deleted = diesel::delete(credentials::table.find(id)).execute(conn)? > 0;
    if deleted {
        crate::notify::deleted("credential", id);
    }
    Ok(deleted)
}

/// Deletes every credential of a user (of any type), as Keystone does when
/// the user is deleted.
pub fn delete_for_user(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    user_id: &str,
    cause: &crate::audit::Cause,
) -> Result<usize, Error> {
    let filter = Filter {
        user_id: Some(user_id.to_string()),
        ..Filter::default()
    };
    delete_listed(conn, cipher, &filter, cause)
}

/// Deletes every credential bound to a project, as Keystone does when the
/// project is deleted.
pub fn delete_for_project(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    project_id: &str,
    cause: &crate::audit::Cause,
) -> Result<usize, Error> {
    let filter = Filter {
        project_id: Some(project_id.to_string()),
        ..Filter::default()
    };
    delete_listed(conn, cipher, &filter, cause)
}

/// Deletes what `filter` lists; each pair's deletion goes to the audit
/// trail with `cause`.
fn delete_listed(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    filter: &Filter,
    cause: &crate::audit::Cause,
) -> Result<usize, Error> {
    let doomed = list(conn, cipher, filter)?;
    for credential in &doomed {
        delete(conn, &credential.id)?;
        let event = pair_event(
            "deleted",
            credential,
            cause.initiator.clone(),
            Some(cause.reason.clone()),
        );
        if let Some(event) = event {
            crate::audit::record(conn, &event)?;
        }
    }
    Ok(doomed.len())
}

/// Deletes a user's ec2 pairs (in one project, when given) and only those.
pub fn delete_ec2_of_user(
    conn: &mut Conn,
    user_id: &str,
    project_id: Option<&str>,
) -> Result<usize, Error> {
    let mut query = diesel::delete(credentials::table)
        .filter(credentials::user_id.eq(user_id.to_string()))
        .filter(credentials::credential_type.eq(EC2))
        .into_boxed();
    if let Some(p) = project_id {
        query = query.filter(credentials::project_id.eq(p.to_string()));
    }
    Ok(query.execute(conn)?)
}

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

/// Re-encrypts every credential not under the primary key (Keystone's
/// `credential_migrate`). Returns how many were re-encrypted.
pub fn migrate(conn: &mut Conn, cipher: &CredentialCipher) -> Result<usize, Error> {
    let primary = cipher.ring().primary_key_hash()?;
    let stale: Vec<(String, String)> = credentials::table
        .filter(credentials::key_hash.ne(&primary))
        .select((credentials::id, credentials::encrypted_blob))
        .load(conn)?;
    for (id, encrypted) in &stale {
        let plaintext = cipher.decrypt(encrypted)?;
        let (reencrypted, key_hash) = cipher.encrypt(plaintext.expose())?;
        diesel::update(credentials::table.find(id))
            .set((
                credentials::encrypted_blob.eq(reencrypted),
                credentials::key_hash.eq(key_hash),
            ))
            .execute(conn)?;
    }
    Ok(stale.len())
}
