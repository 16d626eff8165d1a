//! Request signatures: AWS SigV4, Keystone's EC2 signer (v0, v1, v2, v4)
//! and S3 (v1, v4). Pure functions over bytes and strings, no I/O, so they
//! can be fuzzed and checked against published vectors.

pub mod ec2;
pub mod oauth1;
pub mod s3;
pub mod sigv4;
pub mod time;

/// Why a request could not even be checked. Distinct from "the signature
/// does not match", which callers answer with their uniform 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("{0}")]
    Malformed(String),
}

pub(crate) fn malformed(message: impl Into<String>) -> SignatureError {
    SignatureError::Malformed(message.into())
}

use hmac::{Hmac, Mac};
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// HMAC-SHA256.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0u8; 32],
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1 (EC2 v0/v1, S3 v1).
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0u8; 20],
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub fn sha256_hex(data: &[u8]) -> String {
    lower_hex(&Sha256::digest(data))
}

/// Lowercase hex, as `hex::encode` writes it, but a byte table at a time
/// instead of a `char` at a time: each v4 signature checked costs two.
pub fn lower_hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    match hex::encode_to_slice(bytes, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| hex::encode(bytes)),
        Err(_) => hex::encode(bytes),
    }
}

/// Compares two signatures in constant time (for equal lengths).
pub fn signatures_match(provided: &str, computed: &str) -> bool {
    provided.len() == computed.len() && bool::from(provided.as_bytes().ct_eq(computed.as_bytes()))
}

/// RFC 3986's unreserved characters, which AWS's `UriEncode` keeps.
const SIGV4_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same, keeping `/` (canonical paths).
const SIGV4_ENCODE_PATH: &AsciiSet = &SIGV4_ENCODE.remove(b'/');

/// RFC 3986 percent-encoding of everything but the unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`), with uppercase hex; `/` is kept when asked.
/// This is AWS's `UriEncode` and Python's `quote(s, safe='-_.~')`.
pub fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    push_uri_encoded(&mut out, input, keep_slash);
    out
}

/// [`uri_encode`], appended to `out`.
pub fn push_uri_encoded(out: &mut String, input: &[u8], keep_slash: bool) {
    let set = if keep_slash {
        SIGV4_ENCODE_PATH
    } else {
        SIGV4_ENCODE
    };
    for chunk in percent_encode(input, set) {
        out.push_str(chunk);
    }
}

/// Decodes `%XX` escapes; malformed escapes are kept literally (as
/// servers do), so decoding never fails.
pub fn percent_decode(input: &str) -> Vec<u8> {
    percent_encoding::percent_decode(input.as_bytes()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_python_quote() {
        assert_eq!(uri_encode(b"a b/c~d", false), "a%20b%2Fc~d");
        assert_eq!(uri_encode(b"a b/c", true), "a%20b/c");
        assert_eq!(uri_encode("ሴ".as_bytes(), false), "%E1%88%B4");
        assert_eq!(percent_decode("a%20b%2fc%zz%4"), b"a b/c%zz%4");
        assert_eq!(percent_decode("%"), b"%");
        assert_eq!(percent_decode("%4"), b"%4");
    }

    #[test]
    fn lower_hex_is_hex_encode() {
        for bytes in [&b""[..], b"\x00", b"\x0f\xa0\xff", &[0x5a; 32]] {
            assert_eq!(lower_hex(bytes), hex::encode(bytes));
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(lower_hex(&all), hex::encode(&all));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(signatures_match("abc", "abc"));
        assert!(!signatures_match("abc", "abd"));
        assert!(!signatures_match("abc", "abcd"));
    }
}
