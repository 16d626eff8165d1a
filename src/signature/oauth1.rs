//! OAuth 1.0a request signatures (RFC 5849), as Keystone's OS-OAUTH1
//! checks them through oauthlib: the `Authorization: OAuth …` header, the
//! signature base string over the method, the URL and every parameter,
//! and HMAC signatures keyed by the consumer's and the token's secrets.
//! PLAINTEXT (the secrets in clear) and RSA are refused: Ironstone
//! verifies only what proves possession without showing the secret.

use base64::Engine;
use hmac::{Hmac, Mac};

use super::{malformed, percent_decode, signatures_match, uri_encode, SignatureError};

/// The signature methods verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    HmacSha1,
    HmacSha256,
    HmacSha512,
}

impl Method {
    fn parse(name: &str) -> Result<Self, SignatureError> {
        match name {
            "HMAC-SHA1" => Ok(Method::HmacSha1),
            "HMAC-SHA256" => Ok(Method::HmacSha256),
            "HMAC-SHA512" => Ok(Method::HmacSha512),
            other => Err(malformed(format!(
                "Unsupported oauth_signature_method {other:?}: HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512."
            ))),
        }
    }
}

/// The protocol parameters of a signed request, from its `Authorization`
/// header, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub consumer_key: String,
    pub token: Option<String>,
    pub verifier: Option<String>,
    pub callback: Option<String>,
    pub method: Method,
    /// The signature as sent (base64).
    pub signature: String,
    pub timestamp: i64,
    pub nonce: String,
    /// Every `oauth_*` parameter but the signature, for the base string.
    pub signed: Vec<(String, String)>,
}

/// Splits `OAuth k="v", k2="v2"` into decoded pairs (RFC 5849 §3.5.1).
fn header_pairs(header: &str) -> Result<Vec<(String, String)>, SignatureError> {
    let rest = header
        .trim_start()
        .strip_prefix("OAuth ")
        .or_else(|| header.trim_start().strip_prefix("oauth "))
        .ok_or_else(|| malformed("The Authorization header is not an OAuth one."))?;
    let mut pairs = Vec::new();
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| malformed(format!("Malformed OAuth parameter {part:?}.")))?;
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| malformed(format!("The OAuth parameter {name} is not quoted.")))?;
        let decode = |s: &str| String::from_utf8(percent_decode(s)).ok();
        match (decode(name.trim()), decode(value)) {
            (Some(n), Some(v)) => pairs.push((n, v)),
            _ => return Err(malformed("An OAuth parameter is not UTF-8.")),
        }
    }
    Ok(pairs)
}

/// Reads and checks the protocol parameters: each at most once, the five
/// oauthlib requires, version `1.0` when given.
pub fn parse_authorization(header: &str) -> Result<Params, SignatureError> {
    let pairs = header_pairs(header)?;
    let mut signed = Vec::new();
    let mut signature = None;
    for (name, value) in pairs {
        if name == "realm" {
            continue;
        }
        if !name.starts_with("oauth_") {
            return Err(malformed(format!(
                "Unknown parameter {name:?} in the Authorization header."
            )));
        }
        if name == "oauth_signature" {
            if signature.replace(value).is_some() {
                return Err(malformed("Duplicate OAuth parameter oauth_signature."));
            }
            continue;
        }
        if signed.iter().any(|(n, _)| n == &name) {
            return Err(malformed(format!("Duplicate OAuth parameter {name}.")));
        }
        signed.push((name, value));
    }
    let get = |name: &str| {
        signed
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let required = |name: &str| {
        get(name).ok_or_else(|| malformed(format!("Missing mandatory OAuth parameter {name}.")))
    };
    if get("oauth_version").is_some_and(|v| v != "1.0") {
        return Err(malformed("Invalid OAuth version: only 1.0 is supported."));
    }
    let timestamp = required("oauth_timestamp")?;
    let timestamp = timestamp
        .parse::<i64>()
        .ok()
        .filter(|t| *t >= 0 && timestamp.len() <= 12)
        .ok_or_else(|| malformed("oauth_timestamp is not a number of seconds."))?;
    Ok(Params {
        consumer_key: required("oauth_consumer_key")?,
        token: get("oauth_token"),
        verifier: get("oauth_verifier"),
        callback: get("oauth_callback"),
        method: Method::parse(&required("oauth_signature_method")?)?,
        signature: signature
            .ok_or_else(|| malformed("Missing mandatory OAuth parameter oauth_signature."))?,
        timestamp,
        nonce: required("oauth_nonce")?,
        signed,
    })
}

/// The base string URI (RFC 5849 §3.4.1.2): scheme and host in lowercase,
/// the default port dropped, the path kept, no query or fragment.
fn base_uri(scheme: &str, host: &str, path: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let host = match (scheme.as_str(), host.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
        _ => host,
    };
    let path = if path.is_empty() { "/" } else { path };
    format!("{scheme}://{host}{path}")
}

/// The decoded pairs of a query string or form body (`+` is a space).
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The signature base string (RFC 5849 §3.4.1): the method, the base URI
/// and the normalized parameters (the query's, the form body's and the
/// protocol ones, each encoded, sorted by name and then value).
pub fn base_string(
    http_method: &str,
    scheme: &str,
    host: &str,
    path: &str,
    query_and_body: &[(String, String)],
    signed: &[(String, String)],
) -> String {
    let mut params: Vec<(String, String)> = query_and_body
        .iter()
        .chain(signed)
        .map(|(k, v)| {
            (
                uri_encode(k.as_bytes(), false),
                uri_encode(v.as_bytes(), false),
            )
        })
        .collect();
    params.sort();
    let normalized = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        http_method.to_ascii_uppercase(),
        uri_encode(base_uri(scheme, host, path).as_bytes(), false),
        uri_encode(normalized.as_bytes(), false)
    )
}

fn hmac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length.
        Err(_) => Vec::new(),
    }
}

/// The signature of `base` (base64), keyed by both secrets (§3.4.2).
pub fn sign(method: Method, base: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!(
        "{}&{}",
        uri_encode(consumer_secret.as_bytes(), false),
        uri_encode(token_secret.as_bytes(), false)
    );
    let (key, message) = (key.as_bytes(), base.as_bytes());
    let digest = match method {
        Method::HmacSha1 => hmac::<Hmac<sha1::Sha1>>(key, message),
        Method::HmacSha256 => hmac::<Hmac<sha2::Sha256>>(key, message),
        Method::HmacSha512 => hmac::<Hmac<sha2::Sha512>>(key, message),
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Whether `params.signature` signs `base`, compared in constant time.
pub fn verify(params: &Params, base: &str, consumer_secret: &str, token_secret: &str) -> bool {
    let computed = sign(params.method, base, consumer_secret, token_secret);
    signatures_match(&params.signature, &computed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 5849 §3.4.1.1: the base string of its example request.
    #[test]
    fn rfc5849_base_string() {
        let header = r#"OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D""#;
        let params = parse_authorization(header).unwrap();
        assert_eq!(params.signature, "bYT5CMsGcbgUdFHObYMEfcx6bsw=");
        let mut query = form_pairs("b5=%3D%253D&a3=a&c%40=&a2=r%20b");
        query.extend(form_pairs("c2&a3=2+q"));
        let base = base_string(
            "POST",
            "http",
            "example.com",
            "/request",
            &query,
            &params.signed,
        );
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
             %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
             key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
             ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
             9d7dh3k39sjv7"
        );
    }

    /// RFC 5849 §1.2: the signed photo request, with its secrets.
    #[test]
    fn rfc5849_hmac_sha1_signature() {
        let header = r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D""#;
        let params = parse_authorization(header).unwrap();
        let query = form_pairs("file=vacation.jpg&size=original");
        let base = base_string(
            "GET",
            "http",
            "photos.example.net:80",
            "/photos",
            &query,
            &params.signed,
        );
        assert!(verify(
            &params,
            &base,
            "kd94hf93k423kf44",
            "pfkkdhi9sl3r4s00"
        ));
        assert!(!verify(&params, &base, "kd94hf93k423kf44", "other"));
        assert!(!verify(&params, &base, "other", "pfkkdhi9sl3r4s00"));
        // Any signed part changed breaks it.
        let other = base_string(
            "GET",
            "http",
            "photos.example.net",
            "/photos",
            &[],
            &params.signed,
        );
        assert!(!verify(
            &params,
            &other,
            "kd94hf93k423kf44",
            "pfkkdhi9sl3r4s00"
        ));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let ok = r#"OAuth oauth_consumer_key="c", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1", oauth_nonce="n", oauth_signature="s""#;
        assert!(parse_authorization(ok).is_ok());
        for bad in [
            "Basic abc",
            r#"OAuth oauth_consumer_key="c""#,
            r#"OAuth oauth_consumer_key=c, oauth_signature_method="HMAC-SHA1", oauth_timestamp="1", oauth_nonce="n", oauth_signature="s""#,
            r#"OAuth oauth_consumer_key="c", oauth_consumer_key="d", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1", oauth_nonce="n", oauth_signature="s""#,
            r#"OAuth oauth_consumer_key="c", oauth_signature_method="PLAINTEXT", oauth_timestamp="1", oauth_nonce="n", oauth_signature="s""#,
            r#"OAuth oauth_consumer_key="c", oauth_signature_method="HMAC-SHA1", oauth_timestamp="x", oauth_nonce="n", oauth_signature="s""#,
            r#"OAuth oauth_consumer_key="c", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1", oauth_nonce="n", oauth_signature="s", oauth_version="2.0""#,
            r#"OAuth oauth_consumer_key="c", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1", oauth_nonce="n", oauth_signature="s", extra="x""#,
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }
}
