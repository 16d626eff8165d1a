//! Browser sessions, for the web console. The token rides in an `HttpOnly`
//! cookie that page scripts cannot read, and it counts as the caller's
//! token only next to a CSRF header derived from it: a page on another
//! site can make the browser send the cookie (where `SameSite` does not
//! stop it) but can neither read the cookie nor compute the header.
//! Pure functions, no I/O.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie over plain HTTP.
pub const COOKIE: &str = "ironstone_session";
/// The session cookie over TLS: the `__Host-` prefix makes browsers refuse
/// it unless it is `Secure`, host-only and `Path=/`, so a sibling host
/// cannot plant one.
pub const SECURE_COOKIE: &str = "__Host-ironstone_session";
/// The header that must carry [`csrf_token`] of the cookie's token.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The CSRF token of a session token: a one-way digest of it, so it can be
/// handed to the page without handing over the token, and every replica
/// derives the same one without sharing a secret.
pub fn csrf_token(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"ironstone console csrf\0")
        .chain_update(token.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

/// The token of the session cookie in `cookie_header`, if `csrf` is its
/// CSRF token (compared in constant time).
pub fn session_token<'a>(cookie_header: Option<&'a str>, csrf: Option<&str>) -> Option<&'a str> {
    let csrf = csrf?.trim();
    let token = cookie_token(cookie_header?)?;
    let expected = csrf_token(token);
    bool::from(expected.as_bytes().ct_eq(csrf.as_bytes())).then_some(token)
}

/// The session cookie's token in a `Cookie` header, CSRF unchecked. The
/// `__Host-` cookie wins: over plain HTTP a host of the same site can
/// plant a plain cookie (cookie tossing), but never a `__Host-` one.
pub fn cookie_token(cookie_header: &str) -> Option<&str> {
    let named = |wanted: &str| {
        cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == wanted)
            .map(|(_, value)| value.trim().trim_matches('"'))
            .filter(|value| !value.is_empty())
    };
    named(SECURE_COOKIE).or_else(|| named(COOKIE))
}

/// The `Set-Cookie` value that stores `token` for `max_age` seconds
/// (an empty token with `max_age` 0 clears it).
pub fn set_cookie(token: &str, max_age: i64, secure: bool) -> String {
    let (name, secure_attr) = if secure {
        (SECURE_COOKIE, "; Secure")
    } else {
        (COOKIE, "")
    };
    format!(
        "{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure_attr}",
        max_age.max(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_counts_only_with_its_csrf_token() {
        let csrf = csrf_token("gAAAAB-token==");
        let header = format!("other=1; {COOKIE}=gAAAAB-token==; x=y");
        assert_eq!(
            session_token(Some(&header), Some(&csrf)),
            Some("gAAAAB-token==")
        );
        assert_eq!(session_token(Some(&header), None), None);
        assert_eq!(session_token(Some(&header), Some("forged")), None);
        assert_eq!(
            session_token(Some(&header), Some(&csrf_token("other"))),
            None
        );
        assert_eq!(session_token(None, Some(&csrf)), None);
        let secure = format!("{SECURE_COOKIE}=gAAAAB-token==");
        assert_eq!(
            session_token(Some(&secure), Some(&csrf)),
            Some("gAAAAB-token==")
        );
        // A planted plain cookie does not displace the secure one.
        let both = format!("{COOKIE}=planted; {SECURE_COOKIE}=gAAAAB-token==");
        assert_eq!(cookie_token(&both), Some("gAAAAB-token=="));
        // Another cookie whose name merely ends like ours does not count.
        let lookalike = format!("x{COOKIE}=gAAAAB-token==");
        assert_eq!(session_token(Some(&lookalike), Some(&csrf)), None);
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let plain = set_cookie("t", 60, false);
        assert_eq!(
            plain,
            "ironstone_session=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert!(set_cookie("t", 60, true).starts_with("__Host-ironstone_session=t;"));
        assert!(set_cookie("t", 60, true).ends_with("; Secure"));
        assert!(set_cookie("", -5, false).contains("Max-Age=0"));
    }
}
