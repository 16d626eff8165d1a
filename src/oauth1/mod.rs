//! OS-OAUTH1 delegation (Keystone's `oauth_api`): a consumer asks for a
//! request token for a project, a user authorizes it with some of their
//! roles there, the consumer trades it for an access token, and
//! authenticates with that (the `oauth1` auth method, in `auth`).
//!
//! Every request a consumer makes is signed (RFC 5849, checked by the
//! pure `signature::oauth1`). Beyond Keystone: every secret is encrypted
//! at rest, the verifier kept only as a digest, and a signed request is
//! accepted once across the cluster (Keystone does not check nonces).

pub mod store;

use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary};
use rand::Rng;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::credential::CredentialCipher;
use crate::error::Error;
use crate::policy::{self, Caller, Input, Target};
use crate::secret::Secret;
use crate::signature::oauth1 as sig;
use crate::store::{new_id, now_micros, Conn, Database};
pub use store::{AccessToken, Consumer, RequestToken};

/// How far a signed request's `oauth_timestamp` may be from now
/// (oauthlib's, which Keystone uses).
pub const TIMESTAMP_WINDOW_SECS: i64 = 600;

/// Keystone's verifier alphabet (`oauth1.backends.base.VERIFIER_CHARS`).
const VERIFIER_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A consumer to create: what Keystone keeps beside its generated secret.
#[derive(Debug, Clone, Default)]
pub struct NewConsumer {
    pub description: Option<String>,
    pub extra: Map<String, Value>,
}

/// Changes to a consumer (never its secret).
#[derive(Debug, Clone, Default)]
pub struct ConsumerPatch {
    pub description: Option<Option<String>>,
    pub extra: Map<String, Value>,
}

/// A request as the consumer signed it: what the signature covers.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub authorization: Option<String>,
    pub http_method: String,
    pub scheme: String,
    pub host: String,
    pub path: String,
    /// The query string, and a form body when there is one.
    pub parameters: Vec<(String, String)>,
}

/// A request or access token just issued: the only time its secret shows.
#[derive(Debug)]
pub struct Issued {
    pub id: String,
    pub secret: Secret,
    pub expires_at: Option<i64>,
}

/// A consumer just created, with its secret (shown once).
#[derive(Debug)]
pub struct CreatedConsumer {
    pub consumer: Consumer,
    pub secret: Secret,
}

/// Keystone's `utils.isotime(…, subsecond=True)`.
pub fn format_expiry(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

fn digest_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn expiry(now: i64, seconds: u64) -> Option<i64> {
    (seconds > 0)
        .then(|| now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX / 2) * 1_000_000))
}

fn expired(expires_at: Option<i64>) -> bool {
    expires_at.is_some_and(|at| at < now_micros())
}

/// Keystone's 400 for a missing OAuth attribute.
fn missing(attribute: &str) -> Error {
    Error::expecting(attribute, "request")
}

/// The parameters of a signed request, or Keystone's 400s: no
/// `Authorization` header (Keystone's own answer is a 500), a malformed
/// one, or a timestamp outside the window (oauthlib's check).
fn signed_params(request: &SignedRequest) -> Result<sig::Params, Error> {
    let header = request.authorization.as_deref().ok_or_else(|| {
        Error::BadRequest(
            "No Authorization headers found, cannot proceed with OAuth related calls.".into(),
        )
    })?;
    let params = sig::parse_authorization(header).map_err(|e| Error::BadRequest(e.to_string()))?;
    let now = now_micros() / 1_000_000;
    if (params.timestamp - now).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(Error::BadRequest(format!(
            "Validation failed with errors: invalid_request, detail message is: Timestamp given is invalid, differ from allowed by over {TIMESTAMP_WINDOW_SECS} seconds.."
        )));
    }
    Ok(params)
}

/// Whether the request is signed by both secrets (constant time).
fn signed_by(
    request: &SignedRequest,
    params: &sig::Params,
    consumer_secret: &Secret,
    token_secret: &Secret,
) -> bool {
    let base = sig::base_string(
        &request.http_method,
        &request.scheme,
        &request.host,
        &request.path,
        &request.parameters,
        &params.signed,
    );
    sig::verify(
        params,
        &base,
        consumer_secret.expose(),
        token_secret.expose(),
    )
}

/// Records the signed request's nonce for the window; `false` when it was
/// already used (a replay), on any node.
fn first_use(conn: &mut Conn, params: &sig::Params) -> Result<bool, Error> {
    let key = format!(
        "oauth1\n{}\n{}\n{}\n{}",
        params.consumer_key,
        params.token.as_deref().unwrap_or(""),
        params.timestamp,
        params.nonce
    );
    let digest = Sha256::digest(key.as_bytes());
    // Unix seconds, as the signed-request verifiers store them: the table
    // is shared, and each prunes what has expired in that unit.
    let now = now_micros() / 1_000_000;
    let valid_until = (params.timestamp + TIMESTAMP_WINDOW_SECS + 1).max(now);
    let (prune, insert) = match conn {
        Conn::Mysql(_) => (
            "DELETE FROM signature_replays WHERE valid_until < ?",
            "INSERT IGNORE INTO signature_replays (digest, valid_until) VALUES (?, ?)",
        ),
        _ => (
            "DELETE FROM signature_replays WHERE valid_until < $1",
            "INSERT INTO signature_replays (digest, valid_until) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        ),
    };
    diesel::sql_query(prune)
        .bind::<BigInt, _>(now - crate::store::replays::CLOCK_MARGIN)
        .execute(conn)?;
    let inserted = diesel::sql_query(insert)
        .bind::<Binary, _>(digest[..16].to_vec())
        .bind::<BigInt, _>(valid_until)
        .execute(conn)?;
    Ok(inserted == 1)
}

/// Whether the request is signed with the consumer's secret and the
/// token's (none for a request-token request), both stored encrypted,
/// and seen for the first time.
fn genuine(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    request: &SignedRequest,
    params: &sig::Params,
    consumer_secret: &str,
    token_secret: Option<&str>,
) -> Result<bool, Error> {
    let consumer_secret = cipher.decrypt(consumer_secret)?;
    let token_secret = match token_secret {
        Some(encrypted) => cipher.decrypt(encrypted)?,
        None => Secret::new(String::new()),
    };
    Ok(signed_by(request, params, &consumer_secret, &token_secret) && first_use(conn, params)?)
}

/// A new consumer or token: its id and secret, the secret encrypted.
struct Fresh {
    id: String,
    secret: Secret,
    encrypted: String,
    key_hash: String,
    now: i64,
}

impl Fresh {
    fn new(cipher: &CredentialCipher) -> Result<Self, Error> {
        let secret = Secret::new(new_id());
        let (encrypted, key_hash) = cipher.encrypt(secret.expose())?;
        Ok(Fresh {
            id: new_id(),
            secret,
            encrypted,
            key_hash,
            now: now_micros(),
        })
    }

    fn row(&self) -> store::NewRow<'_> {
        store::NewRow {
            id: &self.id,
            encrypted_secret: &self.encrypted,
            key_hash: &self.key_hash,
            now: self.now,
        }
    }

    fn issued(self, expires_at: Option<i64>) -> Issued {
        Issued {
            id: self.id,
            secret: self.secret,
            expires_at,
        }
    }
}

fn new_verifier() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..8)
        .map(|_| char::from(VERIFIER_CHARS[rng.gen_range(0..VERIFIER_CHARS.len())]))
        .collect()
}

/// What an access token's tokens carry: its id, its consumer, and whose
/// roles on which project they stand for.
#[derive(Debug, Clone)]
pub struct Delegation {
    pub access_token_id: String,
    pub consumer_id: String,
    pub user_id: String,
    pub project_id: String,
    pub role_ids: Vec<String>,
}

/// OS-OAUTH1's use cases.
#[derive(Clone)]
pub struct OAuth1 {
    db: Database,
    cipher: Arc<CredentialCipher>,
    settings: crate::config::OAuth1,
}

impl OAuth1 {
    pub fn new(
        db: Database,
        cipher: Arc<CredentialCipher>,
        settings: crate::config::OAuth1,
    ) -> Self {
        OAuth1 {
            db,
            cipher,
            settings,
        }
    }

    pub async fn create_consumer(
        &self,
        caller: &Caller,
        new: Input<NewConsumer>,
    ) -> Result<CreatedConsumer, Error> {
        policy::enforce(policy::MANAGE_CONSUMERS, caller, Target::default())?;
        let new = new?;
        let cipher = Arc::clone(&self.cipher);
        self.db
            .write(move |conn| {
                let fresh = Fresh::new(&cipher)?;
                store::insert_consumer(conn, fresh.row(), new.description.as_deref(), &new.extra)?;
                let consumer =
                    store::get_consumer(conn, &fresh.id)?.ok_or_else(store::not_found_consumer)?;
                Ok(CreatedConsumer {
                    consumer,
                    secret: fresh.secret,
                })
            })
            .await
    }

    pub async fn list_consumers(&self, caller: &Caller) -> Result<Vec<Consumer>, Error> {
        policy::enforce(policy::READ_CONSUMERS, caller, Target::default())?;
        self.db.read(store::list_consumers).await
    }

    pub async fn get_consumer(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Consumer, Error> {
        policy::enforce(policy::READ_CONSUMERS, caller, Target::default())?;
        self.db
            .load(id, store::get_consumer, |_| store::not_found_consumer())
            .await
    }

    pub async fn update_consumer(
        &self,
        caller: &Caller,
        id: Input<String>,
        patch: Input<ConsumerPatch>,
    ) -> Result<Consumer, Error> {
        policy::enforce(policy::MANAGE_CONSUMERS, caller, Target::default())?;
        let (id, patch) = (id?, patch?);
        self.db
            .write(move |conn| {
                store::update_consumer(
                    conn,
                    &id,
                    patch.description.as_ref().map(|d| d.as_deref()),
                    &patch.extra,
                )
            })
            .await
    }

    /// Deletes the consumer with its tokens; the Keystone tokens minted
    /// from them stop validating, as validation finds no access token.
    pub async fn delete_consumer(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        policy::enforce(policy::MANAGE_CONSUMERS, caller, Target::default())?;
        let id = id?;
        self.db
            .write(move |conn| store::delete_consumer(conn, &id))
            .await
    }

    /// `POST /v3/OS-OAUTH1/request_token`: a consumer signs with its own
    /// secret and names the project it asks for (`Requested-Project-Id`).
    pub async fn issue_request_token(
        &self,
        request: SignedRequest,
        requested_project: Option<String>,
    ) -> Result<Issued, Error> {
        let params = signed_params(&request)?;
        let project_id = requested_project
            .filter(|p| !p.is_empty())
            .ok_or_else(|| missing("Requested-Project-Id"))?;
        let cipher = Arc::clone(&self.cipher);
        let duration = self.settings.request_token_duration;
        self.db
            .write(move |conn| {
                crate::resource::get_project(conn, &project_id)?
                    .ok_or_else(|| crate::resource::not_found_project(&project_id))?;
                let consumer_secret = store::consumer_secret(conn, &params.consumer_key)?
                    .ok_or_else(store::not_found_consumer)?;
                if params.callback.is_none() {
                    return Err(Error::BadRequest(
                        "Validation failed with errors: invalid_request, detail message is: Missing callback URI..".into(),
                    ));
                }
                if !genuine(conn, &cipher, &request, &params, &consumer_secret, None)? {
                    return Err(Error::unauthorized_with("Invalid signature"));
                }
                let fresh = Fresh::new(&cipher)?;
                let expires_at = expiry(fresh.now, duration);
                store::insert_request_token(
                    conn,
                    fresh.row(),
                    &params.consumer_key,
                    &project_id,
                    expires_at,
                )?;
                Ok(fresh.issued(expires_at))
            })
            .await
    }

    /// `PUT /v3/OS-OAUTH1/authorize/{request_token_id}`: the calling user
    /// lends some of their roles on the requested project; yields the
    /// verifier to hand to the consumer.
    pub async fn authorize(
        &self,
        caller: &Caller,
        request_token_id: Input<String>,
        roles: Input<Vec<RoleRef>>,
    ) -> Result<Secret, Error> {
        policy::enforce(policy::AUTHORIZE_REQUEST_TOKEN, caller, Target::default())?;
        let roles = roles?;
        if caller.acts_by_delegation() {
            return Err(Error::Forbidden(
                "Cannot authorize a request token with a token issued via delegation.".into(),
            ));
        }
        let id = request_token_id?;
        let user_id = caller.user_id().to_string();
        self.db
            .write(move |conn| {
                let token = store::get_request_token(conn, &id)?
                    .ok_or_else(store::not_found_request_token)?;
                if expired(token.expires_at) {
                    return Err(Error::unauthorized_with("Request token is expired"));
                }
                let mut wanted = Vec::new();
                for role in &roles {
                    let id = match role {
                        RoleRef::Id(id) => id.clone(),
                        RoleRef::Name(name) => {
                            crate::assignment::find_global_role_by_name(conn, name)?
                                .ok_or_else(|| {
                                    Error::NotFound(format!("Could not find role: {name}."))
                                })?
                                .id
                        }
                    };
                    if !wanted.contains(&id) {
                        wanted.push(id);
                    }
                }
                let project = crate::resource::get_project(conn, &token.requested_project_id)?
                    .ok_or_else(|| {
                        crate::resource::not_found_project(&token.requested_project_id)
                    })?;
                let held: Vec<String> =
                    crate::assignment::effective_project_roles(conn, &user_id, &project)?
                        .into_iter()
                        .map(|r| r.id)
                        .collect();
                if !wanted.iter().all(|r| held.contains(r)) {
                    return Err(Error::unauthorized_with(
                        "authorizing user does not have role required",
                    ));
                }
                let verifier = new_verifier();
                store::authorize_request_token(
                    conn,
                    &id,
                    &user_id,
                    &wanted,
                    &digest_hex(&verifier),
                )?;
                Ok(Secret::new(verifier))
            })
            .await
    }

    /// `POST /v3/OS-OAUTH1/access_token`: the consumer signs with its
    /// secret and the request token's, with the verifier; the request
    /// token is spent.
    pub async fn issue_access_token(&self, request: SignedRequest) -> Result<Issued, Error> {
        let params = signed_params(&request)?;
        let token_id = params.token.clone().ok_or_else(|| missing("oauth_token"))?;
        let verifier = params
            .verifier
            .clone()
            .ok_or_else(|| missing("oauth_verifier"))?;
        let cipher = Arc::clone(&self.cipher);
        let duration = self.settings.access_token_duration;
        self.db
            .write(move |conn| {
                let request_token = store::get_request_token(conn, &token_id)?
                    .ok_or_else(store::not_found_request_token)?;
                if expired(request_token.expires_at) {
                    return Err(Error::unauthorized_with("Request token is expired"));
                }
                let consumer_secret = store::consumer_secret(conn, &params.consumer_key)?
                    .ok_or_else(|| Error::unauthorized_with("Provided consumer does not exist."))?;
                if request_token.consumer_id != params.consumer_key {
                    return Err(Error::unauthorized_with(
                        "Provided consumer key does not match stored consumer key.",
                    ));
                }
                let verifier_ok = request_token
                    .verifier_digest
                    .as_deref()
                    .is_some_and(|d| crate::signature::signatures_match(d, &digest_hex(&verifier)));
                if !verifier_ok {
                    return Err(Error::unauthorized_with(
                        "Provided verifier does not match stored verifier",
                    ));
                }
                let token_secret = Some(request_token.encrypted_secret.as_str());
                if !genuine(
                    conn,
                    &cipher,
                    &request,
                    &params,
                    &consumer_secret,
                    token_secret,
                )? {
                    return Err(Error::unauthorized_with("Invalid signature"));
                }
                let fresh = Fresh::new(&cipher)?;
                let expires_at = expiry(fresh.now, duration);
                store::exchange_request_token(conn, &request_token, fresh.row(), expires_at)?;
                Ok(fresh.issued(expires_at))
            })
            .await
    }

    /// The `oauth1` auth method: a request signed with an access token
    /// stands for its user's delegated roles on its project.
    pub async fn authenticate(&self, request: SignedRequest) -> Result<Delegation, Error> {
        let params = signed_params(&request)?;
        let token_id = params.token.clone().ok_or_else(|| missing("oauth_token"))?;
        let cipher = Arc::clone(&self.cipher);
        self.db
            .write(move |conn| {
                let access = store::get_access_token(conn, &token_id)?
                    .ok_or_else(store::not_found_access_token)?;
                if expired(access.expires_at) {
                    return Err(Error::unauthorized_with("Access token is expired"));
                }
                let invalid = || Error::unauthorized_with("Could not validate the access token");
                let consumer_secret =
                    store::consumer_secret(conn, &params.consumer_key)?.ok_or_else(invalid)?;
                if access.consumer_id != params.consumer_key {
                    return Err(invalid());
                }
                let token_secret = Some(access.encrypted_secret.as_str());
                if !genuine(
                    conn,
                    &cipher,
                    &request,
                    &params,
                    &consumer_secret,
                    token_secret,
                )? {
                    return Err(invalid());
                }
                Ok(Delegation {
                    access_token_id: access.id,
                    consumer_id: access.consumer_id,
                    user_id: access.authorizing_user_id,
                    project_id: access.project_id,
                    role_ids: access.role_ids,
                })
            })
            .await
    }

    /// The live delegation behind a token (`None` once its access token
    /// is deleted or expired): what validation re-checks.
    pub fn delegation(conn: &mut Conn, access_token_id: &str) -> Result<Option<Delegation>, Error> {
        Ok(store::get_access_token(conn, access_token_id)?
            .filter(|a| !expired(a.expires_at))
            .map(|a| Delegation {
                access_token_id: a.id,
                consumer_id: a.consumer_id,
                user_id: a.authorizing_user_id,
                project_id: a.project_id,
                role_ids: a.role_ids,
            }))
    }

    /// A user's access tokens, once the caller may read them (refused to
    /// delegated tokens, as Keystone's `_block_delegated_token`).
    pub async fn list_access_tokens(
        &self,
        caller: &Caller,
        user_id: Input<String>,
    ) -> Result<Vec<AccessToken>, Error> {
        policy::enforce(policy::READ_ACCESS_TOKENS, caller, Target::default())?;
        block_delegated(caller)?;
        let user_id = user_id?;
        self.db
            .read(move |conn| store::list_access_tokens(conn, &user_id))
            .await
    }

    /// One of the user's access tokens (Keystone's 404 when it is
    /// another user's); `block` for the routes Keystone guards so.
    pub async fn get_access_token(
        &self,
        caller: &Caller,
        user_id: Input<String>,
        id: Input<String>,
        block: bool,
    ) -> Result<AccessToken, Error> {
        policy::enforce(policy::READ_ACCESS_TOKENS, caller, Target::default())?;
        if block {
            block_delegated(caller)?;
        }
        let (user_id, id) = (user_id?, id?);
        let token = self
            .db
            .load(Ok(id), store::get_access_token, |_| {
                store::not_found_access_token()
            })
            .await?;
        if token.authorizing_user_id != user_id {
            return Err(Error::NotFound(
                "Could not find the requested resource.".into(),
            ));
        }
        Ok(token)
    }

    /// The roles an access token delegates (Keystone's 404 when it is
    /// another user's).
    pub async fn delegated_roles(
        &self,
        caller: &Caller,
        user_id: Input<String>,
        id: Input<String>,
    ) -> Result<Vec<crate::assignment::Role>, Error> {
        let token = self.get_access_token(caller, user_id, id, false).await?;
        self.db
            .read(move |conn| {
                let mut roles = Vec::new();
                for role_id in &token.role_ids {
                    roles.extend(crate::assignment::get_role(conn, role_id)?);
                }
                Ok(roles)
            })
            .await
    }

    /// One role an access token delegates: another user's token is
    /// Keystone's 401 here, a role it does not delegate a 404.
    pub async fn delegated_role(
        &self,
        caller: &Caller,
        user_id: Input<String>,
        id: Input<String>,
        role_id: String,
    ) -> Result<crate::assignment::Role, Error> {
        policy::enforce(policy::READ_ACCESS_TOKENS, caller, Target::default())?;
        let (user_id, id) = (user_id?, id?);
        self.db
            .read(move |conn| {
                let token = store::get_access_token(conn, &id)?
                    .ok_or_else(store::not_found_access_token)?;
                if token.authorizing_user_id != user_id {
                    return Err(Error::unauthorized_with("User IDs do not match"));
                }
                let missing = || crate::assignment::not_found_role(&role_id);
                if !token.role_ids.contains(&role_id) {
                    return Err(missing());
                }
                crate::assignment::get_role(conn, &role_id)?.ok_or_else(missing)
            })
            .await
    }

    /// Deletes one of the user's access tokens; the tokens minted from it
    /// stop validating.
    pub async fn delete_access_token(
        &self,
        caller: &Caller,
        user_id: Input<String>,
        id: Input<String>,
    ) -> Result<(), Error> {
        let user_id = user_id?;
        policy::enforce(
            policy::EC2_DELETE_CREDENTIAL,
            caller,
            Target::owned_by(&user_id),
        )?;
        block_delegated(caller)?;
        let id = id?;
        self.db
            .write(move |conn| {
                let token = store::get_access_token(conn, &id)?
                    .ok_or_else(store::not_found_access_token)?;
                if token.authorizing_user_id != user_id {
                    return Err(Error::unauthorized_with("User IDs do not match"));
                }
                store::delete_access_token(conn, &id)
            })
            .await
    }
}

/// A role named in an authorization: by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

/// Keystone's `_block_delegated_token` for the access-token routes.
fn block_delegated(caller: &Caller) -> Result<(), Error> {
    if caller.acts_by_delegation() {
        return Err(Error::Forbidden(
            "Cannot list or manage OAuth1 access tokens with a token issued via delegation.".into(),
        ));
    }
    Ok(())
}

/// Re-encrypts every OS-OAUTH1 secret not under the primary credential key.
pub fn migrate(conn: &mut Conn, cipher: &CredentialCipher) -> Result<usize, Error> {
    use crate::store::schema::{oauth_access_tokens, oauth_consumers, oauth_request_tokens};
    let primary = cipher.ring().primary_key_hash()?;
    let mut moved = 0;
    macro_rules! reencrypt {
        ($table:ident) => {{
            let stale: Vec<(String, String)> = $table::table
                .filter($table::key_hash.ne(&primary))
                .select(($table::id, $table::encrypted_secret))
                .load(conn)?;
            for (id, encrypted) in &stale {
                let plain = cipher.decrypt(encrypted)?;
                let (again, key_hash) = cipher.encrypt(plain.expose())?;
                diesel::update($table::table.find(id))
                    .set((
                        $table::encrypted_secret.eq(again),
                        $table::key_hash.eq(key_hash),
                    ))
                    .execute(conn)?;
            }
            moved += stale.len();
        }};
    }
    reencrypt!(oauth_consumers);
    reencrypt!(oauth_request_tokens);
    reencrypt!(oauth_access_tokens);
    Ok(moved)
}

pub use store::count_not_under;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_are_keystones_shape() {
        let v = new_verifier();
        assert_eq!(v.len(), 8);
        assert!(v.bytes().all(|b| VERIFIER_CHARS.contains(&b)));
        assert_ne!(new_verifier(), new_verifier());
    }

    #[test]
    fn expiries_print_as_keystone_does() {
        assert_eq!(
            format_expiry(1_700_000_000_123_456),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(expiry(5, 0), None);
        assert_eq!(expiry(0, 2), Some(2_000_000));
    }
}
