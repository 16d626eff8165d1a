//! Password hashes in every format Keystone writes
//! (`keystone/common/password_hashers/`): bcrypt, bcrypt_sha256,
//! pbkdf2_sha512 and scrypt, chosen by the stored hash's prefix. Pure CPU
//! work: callers run it on the bounded hashing pool, never on a worker.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// bcrypt reads at most 72 bytes; Keystone truncates to that before hashing
/// and before checking, so long passwords keep working across the two.
pub const BCRYPT_MAX_BYTES: usize = 72;

fn truncated(password: &[u8], max_len: usize) -> &[u8] {
    &password[..password.len().min(max_len)]
}

/// Hashes a new password with bcrypt `$2b$` at `cost`.
pub fn hash(password: &str, cost: u32) -> Result<String, String> {
    let input = truncated(password.as_bytes(), BCRYPT_MAX_BYTES);
    bcrypt::hash_with_result(input, cost)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoB))
        .map_err(|e| format!("cannot hash password: {e}"))
}

/// Checks a password against a stored hash of any supported format. An
/// unknown or malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let bytes = password.as_bytes();
    let prefix = match stored.get(1..).and_then(|rest| rest.find('$')) {
        Some(i) => &stored[..i + 2],
        None => return false,
    };
    match prefix {
        "$2$" | "$2a$" | "$2b$" | "$2x$" | "$2y$" => verify_bcrypt(bytes, stored),
        "$bcrypt-sha256$" => verify_bcrypt_sha256(bytes, stored),
        "$pbkdf2-sha512$" => verify_pbkdf2_sha512(bytes, stored),
        "$scrypt$" | "$7$" => verify_scrypt(bytes, stored),
        _ => false,
    }
}

fn verify_bcrypt(password: &[u8], stored: &str) -> bool {
    // The bcrypt crate does not parse the oldest `$2$` ident; its algorithm
    // is the same as `$2a$` for the passwords Keystone accepts.
    let normalized;
    let stored = if let Some(rest) = stored.strip_prefix("$2$") {
        normalized = format!("$2a${rest}");
        normalized.as_str()
    } else {
        stored
    };
    bcrypt::verify(truncated(password, BCRYPT_MAX_BYTES), stored).unwrap_or(false)
}

/// passlib's `$bcrypt-sha256$v=2,t=2b,r=12$<salt>$<digest>`: bcrypt over
/// base64(HMAC-SHA256(key = salt text, password)).
fn verify_bcrypt_sha256(password: &[u8], stored: &str) -> bool {
    let Some(data) = stored.strip_prefix("$bcrypt-sha256$") else {
        return false;
    };
    let parts: Vec<&str> = data.split('$').collect();
    let [params, salt, digest] = parts.as_slice() else {
        return false;
    };
    let mut ident = None;
    let mut rounds = None;
    for param in params.split(',') {
        if let Some(t) = param.strip_prefix("t=") {
            ident = Some(t);
        } else if let Some(r) = param.strip_prefix("r=") {
            rounds = r.parse::<u32>().ok();
        }
    }
    let (Some(ident), Some(rounds)) = (ident, rounds) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(salt.as_bytes()) else {
        return false;
    };
    mac.update(password);
    let keyed = STANDARD.encode(mac.finalize().into_bytes());
    let rebuilt = format!("${ident}${rounds:02}${salt}{digest}");
    bcrypt::verify(keyed.as_bytes(), &rebuilt).unwrap_or(false)
}

/// passlib's adapted base64: `.` for `+`, no padding.
fn ab64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD_NO_PAD
        .decode(text.replace('.', "+").trim_end_matches('='))
        .ok()
}

/// `$pbkdf2-sha512$<rounds>$<salt>$<digest>`.
fn verify_pbkdf2_sha512(password: &[u8], stored: &str) -> bool {
    let parts: Vec<&str> = stored[1..].split('$').collect();
    let [_, rounds, salt, digest] = parts.as_slice() else {
        return false;
    };
    let (Ok(rounds), Some(salt), Some(digest)) = (
        rounds.parse::<u32>(),
        ab64_decode(salt),
        ab64_decode(digest),
    ) else {
        return false;
    };
    if rounds == 0 || digest.is_empty() || digest.len() > 64 {
        return false;
    }
    let mut out = vec![0u8; digest.len()];
    pbkdf2::pbkdf2_hmac::<Sha512>(password, &salt, rounds, &mut out);
    out.ct_eq(&digest).into()
}

/// `$scrypt$ln=<log2 n>,r=<r>,p=<p>$<salt>$<digest>` (also `$7$…`).
fn verify_scrypt(password: &[u8], stored: &str) -> bool {
    let parts: Vec<&str> = stored[1..].split('$').collect();
    let [_, params, salt, digest] = parts.as_slice() else {
        return false;
    };
    let (mut log_n, mut r, mut p) = (None, None, None);
    for param in params.split(',') {
        if let Some(v) = param.strip_prefix("ln=") {
            log_n = v.parse::<u8>().ok();
        } else if let Some(v) = param.strip_prefix("r=") {
            r = v.parse::<u32>().ok();
        } else if let Some(v) = param.strip_prefix("p=") {
            p = v.parse::<u32>().ok();
        }
    }
    let (Some(log_n), Some(r), Some(p), Some(salt), Some(digest)) =
        (log_n, r, p, ab64_decode(salt), ab64_decode(digest))
    else {
        return false;
    };
    // Refuse parameters that would make one check take unbounded memory.
    if log_n > 20 || r > 32 || p > 16 || digest.is_empty() || digest.len() > 64 {
        return false;
    }
    let Ok(params) = scrypt::Params::new(log_n, r, p, digest.len()) else {
        return false;
    };
    let mut out = vec![0u8; digest.len()];
    if scrypt::scrypt(password, &salt, &params, &mut out).is_err() {
        return false;
    }
    out.ct_eq(&digest).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_round_trip_and_truncation() {
        let h = hash("s3cret", 4).unwrap();
        assert!(h.starts_with("$2b$04$"));
        assert!(verify("s3cret", &h));
        assert!(!verify("s3cret!", &h));
        let long = "x".repeat(100);
        let h = hash(&long, 4).unwrap();
        assert!(
            verify(&"x".repeat(72), &h),
            "only 72 bytes count, as in Keystone"
        );
        assert!(verify(&format!("{}yyy", "x".repeat(72)), &h));
    }

    #[test]
    fn keystone_observed_bcrypt_hash_parses() {
        // Only structure can be checked without the password; a wrong one fails.
        assert!(!verify(
            "wrong",
            "$2b$12$bikgV50dcY8mDh5VIg8C/eD3Y2gOnX9oq55nGjeYxyuy9.Wzu9q7K"
        ));
    }

    #[test]
    fn other_bcrypt_idents_verify() {
        let h = hash("pw", 4).unwrap();
        let a = h.replacen("$2b$", "$2a$", 1);
        let y = h.replacen("$2b$", "$2y$", 1);
        let old = h.replacen("$2b$", "$2$", 1);
        assert!(verify("pw", &a));
        assert!(verify("pw", &y));
        assert!(verify("pw", &old));
    }

    /// Builds a passlib-style bcrypt_sha256 hash the way Keystone's hasher does.
    fn bcrypt_sha256_of(password: &str, cost: u32) -> String {
        let salt_bytes = [7u8; 16];
        let salt = bcrypt::hash_with_salt(b"x", cost, salt_bytes)
            .unwrap()
            .get_salt();
        let mut mac = Hmac::<Sha256>::new_from_slice(salt.as_bytes()).unwrap();
        mac.update(password.as_bytes());
        let keyed = STANDARD.encode(mac.finalize().into_bytes());
        let full = bcrypt::hash_with_salt(keyed.as_bytes(), cost, salt_bytes)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        format!(
            "$bcrypt-sha256$v=2,t=2b,r={cost}${salt}${}",
            &full[full.len() - 31..]
        )
    }

    #[test]
    fn bcrypt_sha256_verifies() {
        let h = bcrypt_sha256_of("correct horse", 4);
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsf", &h));
    }

    #[test]
    fn pbkdf2_sha512_verifies() {
        let salt = b"0123456789abcdef";
        let mut dk = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha512>(b"pw", salt, 1000, &mut dk);
        let stored = format!(
            "$pbkdf2-sha512$1000${}${}",
            STANDARD_NO_PAD.encode(salt).replace('+', "."),
            STANDARD_NO_PAD.encode(dk).replace('+', ".")
        );
        assert!(verify("pw", &stored));
        assert!(!verify("px", &stored));
    }

    #[test]
    fn scrypt_verifies() {
        let salt = b"saltsaltsaltsalt";
        let params = scrypt::Params::new(10, 8, 1, 32).unwrap();
        let mut dk = [0u8; 32];
        scrypt::scrypt(b"pw", salt, &params, &mut dk).unwrap();
        let stored = format!(
            "$scrypt$ln=10,r=8,p=1${}${}",
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(dk)
        );
        assert!(verify("pw", &stored));
        assert!(!verify("pq", &stored));
        assert!(verify("pw", &stored.replacen("$scrypt$", "$7$", 1)));
    }

    #[test]
    fn unknown_and_malformed_hashes_never_match() {
        for stored in [
            "",
            "$",
            "plain",
            "$argon2id$v=19$x",
            "$pbkdf2-sha512$x$y",
            "$scrypt$ln=99,r=8,p=1$AA$AA",
            "$bcrypt-sha256$junk",
        ] {
            assert!(!verify("pw", stored), "{stored}");
        }
    }
}
