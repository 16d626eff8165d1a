//! Signed-request verification for `/v3/ec2tokens` and `/v3/s3tokens`:
//! find the pair, check the signature in constant time, then the pair's
//! state, the client address, the clock and replays, and issue a
//! project-scoped token with `methods: ["ec2credential"]`.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

use super::Auth;
use crate::auth::guard::{Freshness, ReplayCache, Throttle, ThrottleKey};
use crate::auth::{issue_and_load, TokenContext};
use crate::credential::{self, keys::cidr_contains, Credential, Ec2Blob, EC2};
use crate::error::Error;
use crate::policy::Policy;
use crate::signature::ec2::{self, Ec2Request};
use crate::signature::s3::{self, StringToSign};
use crate::signature::sigv4::SigningKeyMemo;
use crate::signature::time::{self, SignedTime, Window};
use crate::signature::SignatureError;
use crate::store::replays::SharedReplays;
use crate::token::payload::new_audit_id;
use crate::token::{Payload, Scope};

/// Entries the failure throttle holds at most (about 40 bytes each).
const THROTTLE_ENTRIES: usize = 200_000;

/// Access keys longer than this are refused before any lookup (Keystone's
/// are 32 characters, AWS's 20, SODA's 16).
pub const MAX_ACCESS_KEY_LENGTH: usize = 128;
/// Signatures longer than this are refused (a base64 HMAC-SHA256 is 44
/// characters, a hex one 64).
pub const MAX_SIGNATURE_LENGTH: usize = 512;

/// The replay guards and failure throttle.
pub struct Guards {
    /// This node's memory of used signatures: the whole record on a
    /// single node, a first filter in front of `shared` in a cluster.
    pub replay: ReplayCache,
    /// The cluster-wide record, when several nodes may serve.
    pub shared: Option<SharedReplays>,
    pub throttle: Throttle,
    /// A blob encrypted with this node's credential keys, decrypted when
    /// an access key is unknown so both paths do the same work.
    decoy_blob: OnceLock<String>,
    /// Successful verifications since start.
    pub verified: std::sync::atomic::AtomicU64,
    /// Verifications refused as replays since start.
    pub replays: std::sync::atomic::AtomicU64,
    /// Uses of each key since the last flush to the database.
    pub uses: UseTracker,
}

/// Key uses gathered in memory and written in batches
/// ([`crate::credential::record_uses`]), so that a verification never waits
/// on a write (on SQLite, a write is an fsync behind the one writer).
#[derive(Default)]
pub struct UseTracker {
    pending: std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>,
}

impl UseTracker {
    /// Notes one use of credential `id` at `at` (microseconds).
    pub fn record(&self, id: &str, at: i64) {
        if let Ok(mut pending) = self.pending.lock() {
            let entry = pending.entry(id.to_string()).or_insert((at, 0));
            entry.0 = entry.0.max(at);
            entry.1 += 1;
        }
    }

    /// Takes what has gathered: id → (last use, count).
    pub fn take(&self) -> std::collections::HashMap<String, (i64, i64)> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Puts back uses that could not be written, to try again.
    pub fn restore(&self, uses: std::collections::HashMap<String, (i64, i64)>) {
        for (id, (at, count)) in uses {
            if let Ok(mut pending) = self.pending.lock() {
                let entry = pending.entry(id).or_insert((at, 0));
                entry.0 = entry.0.max(at);
                entry.1 += count;
            }
        }
    }
}

impl Guards {
    /// Guards for this node; `shared` when used signatures are recorded in
    /// the database for the whole cluster.
    pub fn new(settings: &crate::config::Signature, shared: Option<SharedReplays>) -> Self {
        Guards {
            replay: ReplayCache::new(settings.replay_cache_size),
            shared,
            throttle: Throttle::new(
                std::time::Duration::from_secs(settings.throttle_window.max(1)),
                THROTTLE_ENTRIES,
            ),
            decoy_blob: OnceLock::new(),
            verified: std::sync::atomic::AtomicU64::new(0),
            replays: std::sync::atomic::AtomicU64::new(0),
            uses: UseTracker::default(),
        }
    }
}

/// What an access key names, as verification uses it: the stored pair,
/// decrypted, its blob read once, and the SigV4 signing keys derived from
/// its secret remembered. Cached by credential id until the next change,
/// unknown keys too.
pub(crate) struct Pair {
    /// `None` for an unknown access key.
    credential: Option<Credential>,
    /// `None` for an unknown key, or a blob that cannot be read: the
    /// decoy secret is checked instead, and nothing verifies.
    blob: Option<Ec2Blob>,
    /// This entry's own memo, unknown keys included: a memo shared by all
    /// unknown keys would hit where a known key's own memo misses, and
    /// the time of one request would tell a known key from an unknown one.
    keys: SigningKeyMemo,
}

impl Pair {
    fn new(credential: Option<Credential>) -> Self {
        Pair {
            blob: credential.as_ref().and_then(|c| c.ec2().ok()),
            credential,
            keys: SigningKeyMemo::default(),
        }
    }

    /// The secret a signature is checked against, with its memo of keys:
    /// the pair's, or the decoy secret through this entry's memo.
    fn signing_secret(&self) -> (&str, &SigningKeyMemo) {
        let secret = match &self.blob {
            Some(blob) => blob.secret.expose(),
            None => decoy_secret(),
        };
        (secret, &self.keys)
    }
}

/// The stored pair for an access key, decrypted, or `None`: from the cache
/// when the change epoch allows. Unknown keys are cached too, and cost a
/// decoy decryption when read, so that a known and an unknown key take
/// the same time.
async fn find_pair(state: &Auth, access: &str) -> Result<Arc<Pair>, Error> {
    let id = credential::ec2_credential_id(access);
    let epoch = state.db.changes().epoch();
    let load = || async {
        let cipher = Arc::clone(&state.credentials);
        let decoy = match state.guards.decoy_blob.get() {
            Some(d) => d.clone(),
            None => {
                let (blob, _) = cipher.encrypt(&credential::ec2_blob("decoy", decoy_secret()))?;
                state.guards.decoy_blob.get_or_init(|| blob).clone()
            }
        };
        let access = access.to_string();
        let found = state
            .db
            .read(move |conn| {
                let found = credential::get_by_access(conn, &cipher, &access)?;
                if found.is_none() {
                    let _ = cipher.decrypt(&decoy);
                }
                Ok(found)
            })
            .await?
            .filter(|c| c.credential_type == EC2);
        Ok(Arc::new(Pair::new(found)))
    };
    state.caches.credentials.get_or_load(&id, epoch, load).await
}

/// What a service asks Ironstone to verify.
#[derive(Debug)]
pub enum Signed {
    Ec2(Ec2Request),
    S3(StringToSign),
}

/// A signed request as a service forwards it, and where it came from.
#[derive(Debug)]
pub struct Verification {
    pub access: String,
    pub signature: String,
    pub signed: Signed,
    /// The end client's address, as the service reports it (`client_ip`).
    pub client_ip: Option<IpAddr>,
    /// The calling service's own address (its TCP peer, or what a trusted
    /// proxy forwarded).
    pub peer: Option<IpAddr>,
}

/// The one message for every verification failure about the key or the
/// signature: an unknown key and a wrong signature look the same.
pub const SIGNATURE_MISMATCH: &str = "The access key or the signature is not valid.";

impl From<SignatureError> for Error {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Malformed(m) => Error::BadRequest(m),
        }
    }
}

/// A random secret checked when the access key is unknown, so that both
/// failures do the same work.
fn decoy_secret() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(credential::generate_secret_key)
}

impl Signed {
    /// Checks shape before any lookup, so malformed input answers the same
    /// whether the key exists or not.
    fn check_shape(&self) -> Result<(), SignatureError> {
        if let Signed::Ec2(r) = self {
            ec2::check_shape(r)?;
        }
        Ok(())
    }

    /// The time the signature covers when `provided` is a signature of the
    /// request under `secret`.
    fn verify(
        &self,
        secret: &str,
        keys: &SigningKeyMemo,
        provided: &str,
    ) -> Result<Option<SignedTime>, SignatureError> {
        match self {
            Signed::Ec2(r) => ec2::verify(secret, r, provided, keys),
            Signed::S3(sts) => Ok(s3::verify(secret, sts, provided, keys)),
        }
    }
}

/// Refuses what no verification needs to look at: overlong access keys
/// and signatures (400), before they reach a lookup or the throttle.
pub fn check_sizes(access: &str, signature: &str) -> Result<(), Error> {
    if access.chars().count() > MAX_ACCESS_KEY_LENGTH {
        return Err(Error::invalid(
            "access",
            &format!("the value is longer than {MAX_ACCESS_KEY_LENGTH} characters"),
        ));
    }
    if signature.chars().count() > MAX_SIGNATURE_LENGTH {
        return Err(Error::invalid(
            "signature",
            &format!("the value is longer than {MAX_SIGNATURE_LENGTH} characters"),
        ));
    }
    Ok(())
}

/// The failure budgets a request is charged against: per (access key,
/// client) and per client when the service reports the client, and per
/// calling service with a far larger budget (a gateway speaks for many).
fn throttle_keys(state: &Auth, v: &Verification) -> Vec<ThrottleKey> {
    let settings = &state.config.signature;
    let throttle = &state.guards.throttle;
    let peer = v.peer.map(|p| p.to_string()).unwrap_or_default();
    let mut keys = Vec::with_capacity(3);
    match v.client_ip {
        Some(client) => {
            let client = client.to_string();
            keys.push(throttle.key(
                &["key+client", &v.access, &client],
                settings.throttle_failures,
            ));
            keys.push(throttle.key(&["client", &client], settings.throttle_failures));
        }
        None => keys.push(throttle.key(
            &["key+client", &v.access, &peer],
            settings.throttle_failures,
        )),
    }
    keys.push(throttle.key(&["peer", &peer], settings.throttle_peer_failures));
    keys
}

/// Counts a failed verification and turns `error` into a 429 once a
/// budget is spent. Only failures reach this: a correctly signed request
/// is never throttled.
fn failed(state: &Auth, v: &Verification, error: Error) -> Error {
    match state
        .guards
        .throttle
        .record_failure(&throttle_keys(state, v))
    {
        Some(wait) => Error::TooManyRequests {
            message: "Too many failed signature verifications; try again later.".into(),
            retry_after: wait,
        },
        None => error,
    }
}

/// The first `n` characters of `text` (all of it when shorter).
fn first_chars(text: &str, n: usize) -> &str {
    text.char_indices()
        .nth(n)
        .map_or(text, |(at, _)| &text[..at])
}

fn mismatch() -> Error {
    Error::unauthorized_with(SIGNATURE_MISMATCH)
}

/// 128 bits naming a signature across the cluster: a hash of the access
/// key and the signature as received (trimmed, as compared).
fn replay_digest(access: &str, signature: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"ironstone signature replay\0");
    h.update((access.len() as u64).to_le_bytes());
    h.update(access.as_bytes());
    h.update(signature.trim().as_bytes());
    let mut digest = [0u8; 16];
    digest.copy_from_slice(&h.finalize()[..16]);
    digest
}

/// Refuses a replay: this node's cache first, then the cluster's record
/// when there is one (it is authoritative, and unbounded).
async fn check_replay(
    state: &Auth,
    v: &Verification,
    valid_until: i64,
    now: i64,
) -> Result<(), Error> {
    let signature = v.signature.trim();
    let local = state
        .guards
        .replay
        .check(&v.access, signature, valid_until, now);
    let freshness = match (&state.guards.shared, local) {
        (_, Freshness::Replayed) | (None, _) => local,
        (Some(shared), _) => {
            // Boxed: without a shared record (one node) this branch is
            // never taken, and its future would make this one kilobytes
            // long.
            if Box::pin(shared.first_use(replay_digest(&v.access, signature), valid_until)).await? {
                Freshness::First
            } else {
                Freshness::Replayed
            }
        }
    };
    if freshness == Freshness::First {
        return Ok(());
    }
    state
        .guards
        .replays
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Err(Error::unauthorized_with(
        if freshness == Freshness::Replayed {
            "This signed request was already used."
        } else {
            "This signed request is older than this node can still check for replays; sign it again."
        },
    ))
}

/// The clock window of this node's settings.
fn window(state: &Auth, now: i64) -> Window {
    let s = &state.config.signature;
    Window {
        now,
        max_skew: s.max_clock_skew as i64,
        max_lifetime: s.max_presigned_lifetime as i64,
        require_time: s.require_timestamp,
    }
}

/// The token a verified pair gets: its user, scope and expiry cap. A pair
/// has its project's scope; one Keystone made with an application
/// credential's token has that credential's restricted scope and expiry;
/// one whose blob names a trust has the trust's scope, if the pair is the
/// trustee's (Keystone's `EC2_S3_Resource`). Pairs made through an
/// OAuth token are refused (Ironstone has no OAuth 1).
async fn pair_scope(
    state: &Auth,
    credential: &Credential,
    blob: &Ec2Blob,
) -> Result<(String, Scope, Option<i64>), Error> {
    let Some(project_id) = credential.project_id.clone() else {
        return Err(mismatch());
    };
    if blob.access_token_id.is_some() {
        return Err(mismatch());
    }
    if let Some(trust_id) = blob.trust_id.clone() {
        return trust_pair_scope(state, credential, project_id, trust_id).await;
    }
    let user_id = credential.user_id.clone();
    let Some(app_cred_id) = blob.app_cred_id.clone() else {
        return Ok((user_id, Scope::Project { project_id }, None));
    };
    let id = app_cred_id.clone();
    let found = state
        .db
        .read(move |conn| crate::application_credential::get(conn, &id))
        .await?;
    let Some(ac) = found else {
        return Err(mismatch());
    };
    if ac.project_id != project_id {
        return Err(Error::unauthorized_with(
            "EC2 credential project does not match the application credential project.",
        ));
    }
    if ac.user_id != credential.user_id || ac.is_expired(crate::store::now_micros()) {
        return Err(mismatch());
    }
    Ok((
        user_id,
        Scope::ApplicationCredential {
            project_id,
            app_cred_id,
        },
        ac.expires_at.map(|t| t / 1_000_000),
    ))
}

/// The trust-scoped token of a pair whose blob names a trust. A trust
/// that is gone, or on another project, is the same 401 as a bad
/// signature.
async fn trust_pair_scope(
    state: &Auth,
    credential: &Credential,
    project_id: String,
    trust_id: String,
) -> Result<(String, Scope, Option<i64>), Error> {
    let max = state.config.trust.max_redelegation_count;
    let id = trust_id.clone();
    let found = state
        .db
        .read(
            move |conn| match crate::trust::get_checked(conn, &id, max) {
                Ok(t) => Ok(Some(t)),
                Err(Error::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
        )
        .await?;
    let Some(trust) = found else {
        return Err(mismatch());
    };
    if trust.project_id.as_deref() != Some(project_id.as_str()) {
        return Err(mismatch());
    }
    // Anyone may write a trust id into a blob of their own: only the
    // trustee's pairs act through the trust. (Keystone issues the token
    // for the trustee whoever owns an impersonating pair.)
    if credential.user_id != trust.trustee_user_id {
        return Err(mismatch());
    }
    Ok((
        trust.trustee_user_id.clone(),
        Scope::Trust {
            project_id,
            trust_id,
        },
        trust.expires_at.map(|t| t / 1_000_000),
    ))
}

/// Who may ask for a verification, and who may report `client_ip`:
/// Keystone 30's rule (a token with the admin or service role), or anyone
/// in the anonymous (pre-30) mode, but then only such a token may report
/// the client's address, since `allowed_cidrs` rely on it.
fn authorize(
    state: &Auth,
    caller: Result<Arc<super::ValidToken>, Error>,
    policy: Policy,
    reports_client: bool,
) -> Result<(), Error> {
    if !state
        .config
        .auth
        .methods
        .iter()
        .any(|m| m == "ec2credential")
    {
        return Err(Error::Unavailable(
            "Cannot mint a token from an EC2 or S3 credential: the ec2credential auth method is not enabled.".into(),
        ));
    }
    let anonymous = state.config.signature.allow_anonymous;
    let caller = match caller {
        Ok(c) => Some(c),
        Err(_) if anonymous => None,
        Err(e) => return Err(e),
    };
    crate::policy::enforce_signed_route(
        policy,
        caller.as_deref().map(super::ValidToken::caller),
        anonymous,
        reports_client,
    )
}

/// Verifies the signature and issues the token. Every failure about the
/// key, the signature or the pair's state is the same 401; failures are
/// counted, and answer 429 once a budget is spent.
async fn verify_and_issue(state: &Auth, v: Verification) -> Result<(String, TokenContext), Error> {
    check_sizes(&v.access, &v.signature)?;
    v.signed.check_shape()?;
    let pair = find_pair(state, &v.access).await?;
    let (secret, keys) = pair.signing_secret();
    let signed_time = v.signed.verify(secret, keys, &v.signature)?;
    let (Some(credential), Some(blob), Some(signed_time)) =
        (&pair.credential, &pair.blob, signed_time)
    else {
        return Err(failed(state, &v, mismatch()));
    };
    let now_micros = crate::store::now_micros();
    let address_allowed = credential.meta.allowed_cidrs.is_empty()
        || v.client_ip.is_some_and(|ip| {
            credential
                .meta
                .allowed_cidrs
                .iter()
                .any(|c| cidr_contains(c, ip))
        });
    if !credential.is_usable(now_micros) || !address_allowed {
        return Err(failed(state, &v, mismatch()));
    }
    // One reading of the clock for every check of this request.
    let now = now_micros.div_euclid(1_000_000);
    let window = window(state, now);
    let valid_until = time::valid_until(signed_time, &window)
        .map_err(|e| failed(state, &v, Error::unauthorized_with(e.message(&window))))?;
    let (user_id, scope, cap) = pair_scope(state, credential, blob)
        .await
        .map_err(|e| failed(state, &v, e))?;
    check_replay(state, &v, valid_until, now)
        .await
        .map_err(|e| match e {
            Error::Unauthorized { .. } => failed(state, &v, e),
            other => other,
        })?;
    // The key's own limit counts verified, fresh requests only: a replay
    // or a forgery never spends its owner's allowance.
    if let Some(limit) = credential.meta.rate_limit {
        Box::pin(state.rates.admit(&credential.id, limit)).await?;
    }
    let default_expiry = now + state.config.token.expiration as i64;
    let methods = state.tokens.methods();
    let payload = Payload {
        user_id,
        methods: methods.encode(&["ec2credential"]),
        scope,
        expires_at: cap.map_or(default_expiry, |c| c.min(default_expiry)) as f64,
        audit_ids: vec![new_audit_id()],
    };
    let (token, context) = issue_and_load(state, payload, || {
        Error::unauthorized_with("User not valid for project.")
    })
    .await?;
    state.guards.uses.record(&credential.id, now_micros);
    state
        .guards
        .verified
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok((token, context))
}

/// What a signed-request route answers with: the token, its context and
/// its catalog.
pub type SignedAnswer = (String, TokenContext, Option<Arc<super::Catalog>>);

impl Auth {
    /// `/v3/ec2tokens` and `/v3/s3tokens`: the calling service's rule
    /// (and whether it may report `client_ip`) before anything of the
    /// request is read, as Keystone checks the caller before the body;
    /// then the signature, the token and its catalog.
    pub async fn signed_token(
        &self,
        caller: Result<Arc<super::ValidToken>, Error>,
        rule: Policy,
        reports_client: bool,
        verification: crate::policy::Input<Verification>,
    ) -> Result<SignedAnswer, Error> {
        authorize(self, caller, rule, reports_client)?;
        let verification = verification?;
        let presented = (
            first_chars(&verification.access, 128).to_string(),
            verification.client_ip,
        );
        let outcome = verify_and_issue(self, verification).await;
        // Refusals of the key or signature (401) and throttling (429) are
        // authentications that failed; a malformed request is not one.
        let refused = match &outcome {
            Ok(_) => Some(None),
            Err(Error::Unauthorized { .. }) => Some(Some(401)),
            Err(Error::TooManyRequests { .. }) => Some(Some(429)),
            Err(_) => None,
        };
        if let Some(refused) = refused {
            let context = outcome.as_ref().ok().map(|(_, c)| c);
            self.audit.push(crate::audit::SignedAuthentication {
                at: crate::store::now_micros(),
                route: if rule.action.contains("s3") {
                    "s3tokens"
                } else {
                    "ec2tokens"
                },
                access: presented.0,
                refused,
                user_id: context.map(|c| c.user_id().to_string()),
                project_id: context.and_then(|c| c.project_id()).map(str::to_string),
                client: presented.1,
            });
        }
        let (token, context) = outcome?;
        let catalog = super::catalog_for(self, &context).await?;
        Ok((token, context, catalog))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sigv4::Scope;

    /// An unknown access key fills a memo of its own, as a known key does:
    /// a second unknown key's first request for a scope derives its keys,
    /// as a known key's would, instead of hitting what the first left.
    #[test]
    fn first_chars_counts_characters() {
        assert_eq!(first_chars("abc", 2), "ab");
        assert_eq!(first_chars("abc", 3), "abc");
        assert_eq!(first_chars("abc", 9), "abc");
        assert_eq!(first_chars("ééé", 2), "éé");
        assert_eq!(first_chars("", 1), "");
    }

    #[test]
    fn an_unknown_key_fills_a_memo_of_its_own() {
        let scope = Scope {
            date: "20240101".into(),
            region: "probe".into(),
            service: "ec2".into(),
        };
        let first = Pair::new(None);
        let second = Pair::new(None);
        let (secret, keys) = first.signing_secret();
        keys.key(secret, &scope);
        assert_eq!(first.keys.len(), 1);
        let (_, keys) = second.signing_secret();
        assert!(keys.is_empty());
    }
}
/// The rare branches of the hot paths are boxed: an async function is as
/// long as its longest branch, and every level of a request copies its
/// callee's future. These bounds hold in the debug build the tests run
/// (the release build's futures are no longer).
#[cfg(test)]
mod future_lengths {
    use super::*;

    /// The length of the future `f` returns, without making one.
    fn returned<F, A, B, R>(_: &F) -> usize
    where
        F: Fn(A, B) -> R,
    {
        std::mem::size_of::<R>()
    }

    #[test]
    fn the_rare_branches_of_the_hot_paths_are_boxed() {
        // A miss of the token cache, of the credential cache, and the
        // shared replay record.
        let validate = returned(&|a: &'static Auth, t: &'static str| {
            super::super::validate_shared(a, t, false)
        });
        let pair = returned(&|a: &'static Auth, access: &'static str| find_pair(a, access));
        let replay =
            returned(&|a: &'static Auth, v: &'static Verification| check_replay(a, v, 0, 0));
        assert!(validate <= 256, "validate_shared: {validate} bytes");
        assert!(pair <= 512, "find_pair: {pair} bytes");
        assert!(replay <= 256, "check_replay: {replay} bytes");
    }
}
