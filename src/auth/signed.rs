//! Signed-request verification for `/v3/ec2tokens` and `/v3/s3tokens`:
//! find the pair, check the signature in constant time, then the pair's
//! state, the client address, the clock and replays, and issue a
//! project-scoped token with `methods: ["ec2credential"]`.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use crate::auth::guard::Freshness;
use crate::auth::{context_for, TokenContext};
use crate::credential::{self, keys::cidr_contains, EC2};
use crate::error::Error;
use crate::secret::Secret;
use crate::signature::ec2::{self, Ec2Request};
use crate::signature::s3::{self, StringToSign};
use crate::signature::SignatureError;
use crate::token::payload::new_audit_id;
use crate::token::{Payload, Scope};
use crate::AppState;

/// The per-node replay cache and failure throttle.
pub struct Guards {
    pub replay: crate::auth::guard::ReplayCache,
    pub throttle: crate::auth::guard::Throttle,
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

/// The stored pair for an access key, decrypted: from the cache when the
/// change epoch allows.
async fn find_pair(
    state: &AppState,
    access: &str,
) -> Result<Option<Arc<credential::Credential>>, Error> {
    let id = credential::ec2_credential_id(access);
    let epoch = state.db.changes().epoch();
    if let Some(found) = epoch.and_then(|e| state.caches.credentials.get(&id, e)) {
        return Ok(Some(found));
    }
    let cipher = Arc::clone(&state.credentials);
    let key = id.clone();
    let found = state
        .db
        .read(move |conn| credential::get(conn, &cipher, &key))
        .await?
        .map(Arc::new);
    if let (Some(epoch), Some(found)) = (epoch, &found) {
        state
            .caches
            .credentials
            .insert(id, epoch, Arc::clone(found));
    }
    Ok(found)
}

impl Guards {
    pub fn new(settings: &crate::config::Signature) -> Self {
        let window = std::time::Duration::from_secs(settings.max_clock_skew.max(1) * 2);
        Guards {
            replay: crate::auth::guard::ReplayCache::new(settings.replay_cache_size, window),
            throttle: crate::auth::guard::Throttle::new(
                settings.throttle_failures,
                std::time::Duration::from_secs(settings.throttle_window.max(1)),
            ),
            verified: std::sync::atomic::AtomicU64::new(0),
            replays: std::sync::atomic::AtomicU64::new(0),
            uses: UseTracker::default(),
        }
    }
}

/// What a service asks Ironstone to verify.
#[derive(Debug)]
pub enum Signed {
    Ec2(Ec2Request),
    S3(StringToSign),
}

#[derive(Debug)]
pub struct Verification {
    pub access: String,
    pub signature: String,
    pub signed: Signed,
    /// The end client's address, as the service reports it.
    pub client_ip: Option<IpAddr>,
    /// Who is asking (the reported client, else the service's peer), for
    /// throttling.
    pub caller_address: String,
}

/// The one message for every verification failure about the key or the
/// signature: an unknown key and a wrong signature look the same.
pub const SIGNATURE_MISMATCH: &str = "The access key or the signature is not valid.";

fn mismatch() -> Error {
    Error::unauthorized_with(SIGNATURE_MISMATCH)
}

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

/// Parses the request times services send: `20240101T000000Z`, ISO 8601
/// (with or without a zone; none means UTC) and RFC 1123. Unix seconds.
pub fn parse_request_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ") {
        return Some(dt.and_utc().timestamp());
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp());
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(t) {
        return Some(dt.timestamp());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, format) {
            return Some(dt.and_utc().timestamp());
        }
    }
    None
}

impl Signed {
    /// The time the request claims, and whether one is required.
    fn timestamp(&self) -> (Option<String>, bool) {
        match self {
            Signed::Ec2(r) => {
                let strict = matches!(r.version(), Ok(ec2::Version::V4 | ec2::Version::S3V2));
                (r.timestamp().map(str::to_string), strict)
            }
            Signed::S3(StringToSign::V4 { amz_date, .. }) => (Some(amz_date.clone()), true),
            Signed::S3(StringToSign::V1(bytes)) => (s3::v1_date(bytes), true),
        }
    }

    /// Checks shape before any lookup, so malformed input answers the same
    /// whether the key exists or not.
    fn check_shape(&self) -> Result<(), SignatureError> {
        if let Signed::Ec2(r) = self {
            ec2::expected_signatures("shape-check", r)?;
        }
        Ok(())
    }

    fn verify(&self, secret: &str, provided: &str) -> Result<bool, SignatureError> {
        match self {
            Signed::Ec2(r) => ec2::verify(secret, r, provided),
            Signed::S3(sts) => Ok(s3::verify(secret, sts, provided)),
        }
    }
}

/// Checks the request's time against the skew window; the time it was
/// signed at, when it says.
fn check_clock(state: &AppState, signed: &Signed) -> Result<Option<i64>, Error> {
    let settings = &state.config.signature;
    // A presigned S3 V2 URL carries its expiry instead of a time.
    if let Signed::Ec2(r) = signed {
        if matches!(r.version(), Ok(ec2::Version::S3V2)) {
            if let Some(expires) = r.presigned_expiry() {
                let now = chrono::Utc::now().timestamp();
                if expires < now || expires > now + 7 * 24 * 3600 {
                    return Err(Error::unauthorized_with(
                        "The presigned request has expired.",
                    ));
                }
                return Ok(None);
            }
        }
    }
    let (timestamp, required) = signed.timestamp();
    let Some(text) = timestamp else {
        if required && settings.require_timestamp {
            return Err(Error::unauthorized_with(
                "The signed request carries no time (X-Amz-Date, Date or Timestamp).",
            ));
        }
        return Ok(None);
    };
    let Some(at) = parse_request_time(&text) else {
        return Err(Error::unauthorized_with(
            "The signed request's time cannot be parsed.",
        ));
    };
    let skew = settings.max_clock_skew as i64;
    let now = chrono::Utc::now().timestamp();
    if at < now - skew || at > now + skew {
        return Err(Error::unauthorized_with(format!(
            "The signed request's time is outside the allowed skew of {skew} seconds."
        )));
    }
    Ok(Some(at))
}

/// Verifies the signature and issues the token. Every failure about the
/// key, the signature or the pair's state is the same 401.
pub async fn verify_and_issue(
    state: &AppState,
    v: Verification,
) -> Result<(String, TokenContext), Error> {
    let throttle_keys = vec![
        format!("ak:{}", v.access),
        format!("addr:{}", v.caller_address),
    ];
    if let Some(wait) = state.guards.throttle.retry_after(&throttle_keys) {
        return Err(Error::TooManyRequests {
            message: "Too many failed signature verifications; try again later.".into(),
            retry_after: wait,
        });
    }
    v.signed.check_shape()?;
    let found = find_pair(state, &v.access)
        .await?
        .filter(|c| c.credential_type == EC2);
    let blob = found.as_ref().map(|c| c.ec2()).transpose().ok().flatten();
    let secret = blob
        .as_ref()
        .map(|b| b.secret.clone())
        .unwrap_or_else(|| Secret::new(decoy_secret()));
    let matched = v.signed.verify(secret.expose(), &v.signature)?;
    let (Some(credential), Some(blob), true) = (found, blob, matched) else {
        state.guards.throttle.record_failure(&throttle_keys);
        return Err(mismatch());
    };
    let now = crate::store::now_micros();
    let address_allowed = credential.meta.allowed_cidrs.is_empty()
        || v.client_ip.is_some_and(|ip| {
            credential
                .meta
                .allowed_cidrs
                .iter()
                .any(|c| cidr_contains(c, ip))
        });
    if !credential.is_usable(now) || !address_allowed || blob.trust_id.is_some() {
        state.guards.throttle.record_failure(&throttle_keys);
        return Err(mismatch());
    }
    let signed_at = check_clock(state, &v.signed)?;
    match state
        .guards
        .replay
        .check(&v.access, &v.signature, signed_at)
    {
        Freshness::First => {}
        seen => {
            state
                .guards
                .replays
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(Error::unauthorized_with(if seen == Freshness::Replayed {
                "This signed request was already used."
            } else {
                "This signed request is older than this node can still check for replays; sign it again."
            }));
        }
    }
    let Some(project_id) = credential.project_id.clone() else {
        return Err(mismatch());
    };
    let methods = state.tokens.methods();
    let payload = Payload {
        user_id: credential.user_id.clone(),
        methods: methods.encode(&["ec2credential"]),
        scope: Scope::Project { project_id },
        expires_at: (chrono::Utc::now().timestamp() + state.config.token.expiration as i64) as f64,
        audit_ids: vec![new_audit_id()],
    };
    let (token, issued_at) = state.tokens.issue(&payload)?;
    let method_names = methods.decode(payload.methods);
    let token_secret = Secret::new(token.clone());
    let context = context_for(state, token_secret, payload, issued_at, method_names)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::unauthorized_with("User not valid for project."),
            other => other,
        })?;
    state.guards.uses.record(&credential.id, now);
    state
        .guards
        .verified
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok((token, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_times() {
        let t = 1_704_067_200; // 2024-01-01T00:00:00Z
        for text in [
            "20240101T000000Z",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.000Z",
            "2024-01-01T00:00:00",
            "2024-01-01T01:00:00+01:00",
            "Mon, 01 Jan 2024 00:00:00 GMT",
            "Mon, 01 Jan 2024 00:00:00 +0000",
        ] {
            assert_eq!(parse_request_time(text), Some(t), "{text}");
        }
        assert_eq!(parse_request_time("yesterday"), None);
    }
}
