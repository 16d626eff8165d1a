//! Tokens: the Fernet key repository, Keystone's payload formats, and the
//! provider that turns payloads into token strings and back.

pub mod keys;
pub mod payload;
pub mod revoke;
pub mod seal;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::Error;
pub use keys::{KeyRepository, KeyRing};
pub use payload::{MethodMap, Payload, PayloadError, Scope};

/// Why a presented token string was refused. Callers map all of these to
/// Keystone's 404 for subject tokens and 401 for caller tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Could not recognize Fernet token")]
    Unrecognized,
    #[error("{0}")]
    Payload(#[from] PayloadError),
}

/// Issues and opens Fernet tokens with the keys of one repository. The keys
/// are swapped in place when the repository changes on disk.
pub struct TokenProvider {
    keys: KeyRing,
    methods: MethodMap,
    default_domain_id: String,
}

impl TokenProvider {
    pub fn new(
        repository: KeyRepository,
        methods: MethodMap,
        default_domain_id: &str,
    ) -> Result<Self, Error> {
        Ok(TokenProvider {
            keys: KeyRing::new(repository)?,
            methods,
            default_domain_id: default_domain_id.to_string(),
        })
    }

    /// Re-reads the repository; returns true when the key set changed.
    pub fn reload(&self) -> Result<bool, Error> {
        self.keys.reload()
    }

    /// Which key set opens tokens: moves whenever the set changes.
    pub fn key_generation(&self) -> u64 {
        self.keys.generation()
    }

    pub fn methods(&self) -> &MethodMap {
        &self.methods
    }

    /// True when keys are in memory to issue and open tokens.
    pub fn keys_loaded(&self) -> bool {
        self.keys.fernet().is_ok()
    }

    /// Encrypts the payload with the primary key. Returns the token (padding
    /// stripped, as Keystone issues it) and its `issued_at` in Unix seconds,
    /// which is the Fernet timestamp.
    pub fn issue(&self, payload: &Payload) -> Result<(String, i64), Error> {
        let plaintext = payload
            .encode(&self.default_domain_id)
            .map_err(|e| Error::Internal(format!("cannot encode token payload: {e}")))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| Error::Internal("the clock is before 1970".into()))?
            .as_secs();
        let issued_at = i64::try_from(now)
            .map_err(|_| Error::Internal("the clock is past what a token holds".into()))?;
        Ok((self.keys.seal(&plaintext, now)?, issued_at))
    }

    /// Decrypts with any key and decodes the payload. No TTL is applied:
    /// expiry is the payload's `expires_at`, checked by the caller.
    pub fn open(&self, token: &str) -> Result<(Payload, i64), TokenError> {
        let token = token.trim();
        if token.is_empty() || token.len() > 8192 {
            return Err(TokenError::Unrecognized);
        }
        let issued_at = fernet_timestamp(token).ok_or(TokenError::Unrecognized)?;
        let fernet = self.keys.fernet().map_err(|_| TokenError::Unrecognized)?;
        let plaintext = fernet
            .decrypt(token)
            .map_err(|_| TokenError::Unrecognized)?;
        Ok((Payload::decode(&plaintext)?, issued_at))
    }
}

/// The Fernet timestamp (bytes 1..9), read without decrypting.
pub fn fernet_timestamp(token: &str) -> Option<i64> {
    let trimmed = token.trim_end_matches('=');
    // 0x80 + 8 timestamp bytes fit in the first 12 base64 characters.
    let head = trimmed.get(..12)?;
    let bytes = URL_SAFE_NO_PAD.decode(head).ok()?;
    if bytes.first() != Some(&0x80) || bytes.len() < 9 {
        return None;
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&bytes[1..9]);
    i64::try_from(u64::from_be_bytes(ts)).ok()
}

/// Keystone's token time format: seconds, `.000000Z`.
pub fn format_token_time(unix_seconds: i64) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let Some(t) = chrono::DateTime::from_timestamp(unix_seconds, 0) else {
        return "1970-01-01T00:00:00.000000Z".into();
    };
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string();
    }
    // Every token answer writes two of these: integers, not a strftime
    // pattern read anew each time.
    let mut out = String::with_capacity(27);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000000Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn token_times_are_written_as_strftime_writes_them() {
        for t in [
            0,
            1,
            951_782_400,
            1_704_067_199,
            4_102_444_800,
            253_402_300_799,
            -1,
        ] {
            let expected = chrono::DateTime::from_timestamp(t, 0)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string());
            assert_eq!(Some(format_token_time(t)), expected, "{t}");
        }
        assert_eq!(
            format_token_time(253_402_300_800),
            "+10000-01-01T00:00:00.000000Z"
        );
    }

    const KEYSTONE_PROJECT_TOKEN: &str = "gAAAAABlU_EAAAECAwQFBgcICQoLDA0OD8i3esVMKb-ccLcTXeenvUImOwMv5d3DFIagYVyXEikI4QSRDEMgwEe5qnrngLd8jRdjFFOfqkXHK9kQsEYRwTfsrXgmajs5peT-1-Wcxac_LekFfdeGm3H3uGplPQkpeJd_rZ3TFLTgix1iV_wHTZ0";

    fn provider_with_fixed_key() -> (tempfile::TempDir, TokenProvider) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("0"), fernet::Fernet::generate_key()).unwrap();
        std::fs::write(
            dir.path().join("1"),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .unwrap();
        let names: Vec<String> = crate::config::DEFAULT_AUTH_METHODS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let provider = TokenProvider::new(
            KeyRepository::new(dir.path(), 3),
            MethodMap::new(&names),
            "default",
        )
        .unwrap();
        (dir, provider)
    }

    #[test]
    fn opens_a_token_minted_by_keystone() {
        let (_dir, provider) = provider_with_fixed_key();
        let (payload, issued_at) = provider.open(KEYSTONE_PROJECT_TOKEN).unwrap();
        assert_eq!(issued_at, 1_700_000_000);
        assert_eq!(format_token_time(issued_at), "2023-11-14T22:13:20.000000Z");
        assert_eq!(payload.user_id, "e70bd777cb5844a9be6c7b63893a7df9");
        assert_eq!(
            payload.scope,
            Scope::Project {
                project_id: "961a96533e5f4f608ad5dbaeb31d1cce".into()
            }
        );
        assert_eq!(provider.methods().decode(payload.methods), vec!["password"]);
        assert_eq!(
            format_token_time(payload.expires_at as i64),
            "2023-11-14T23:13:20.000000Z"
        );
        // Keystone also accepts the padded form.
        let padded = format!("{KEYSTONE_PROJECT_TOKEN}=");
        assert!(provider.open(&padded).is_ok());
    }

    #[test]
    fn issued_tokens_are_unpadded_and_reopen() {
        let (_dir, provider) = provider_with_fixed_key();
        let payload = Payload {
            user_id: "e70bd777cb5844a9be6c7b63893a7df9".into(),
            methods: 2,
            scope: Scope::System,
            expires_at: 4_000_000_000.0,
            audit_ids: vec![payload::new_audit_id()],
        };
        let (token, issued_at) = provider.issue(&payload).unwrap();
        assert!(!token.ends_with('='));
        assert!(token.starts_with("gAAAAA"));
        assert_eq!(
            token.len(),
            162,
            "Keystone's system-scoped tokens are 162 characters"
        );
        let (back, ts) = provider.open(&token).unwrap();
        assert_eq!(back, payload);
        assert_eq!(ts, issued_at);
    }

    #[test]
    fn tampered_or_foreign_tokens_are_unrecognized() {
        let (_dir, provider) = provider_with_fixed_key();
        let mut chars: Vec<char> = KEYSTONE_PROJECT_TOKEN.chars().collect();
        chars[100] = if chars[100] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(provider.open(&tampered), Err(TokenError::Unrecognized));
        assert_eq!(provider.open("garbage"), Err(TokenError::Unrecognized));
        assert_eq!(provider.open(""), Err(TokenError::Unrecognized));
    }
}
