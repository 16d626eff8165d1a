//! Keystone's EC2 signer (`keystoneclient/contrib/ec2/utils.py`
//! `Ec2Signer`), for `/v3/ec2tokens`: signature versions 0, 1, 2 and 4
//! computed from the request parts a service forwards.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::sigv4::{self, Scope, SigningKeyMemo};
use super::time::SignedTime;
use super::{
    hmac_sha1, hmac_sha256, malformed, push_uri_encoded, sha256_hex, signatures_match,
    SignatureError,
};

/// What a service forwards about a signed EC2-style request.
#[derive(Debug, Clone, Default)]
pub struct Ec2Request {
    pub host: String,
    pub verb: String,
    pub path: String,
    /// Query or form parameters, without `Signature` (v0-v2) or
    /// `X-Amz-Signature` (presigned v4).
    pub params: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// Hex SHA-256 of the body (required for v4).
    pub body_hash: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V0,
    V1,
    V2,
    V4,
    /// A whole S3 V2 request: `Authorization: AWS AK:signature`, or a
    /// presigned URL with `AWSAccessKeyId`, `Expires` and `Signature`.
    S3V2,
}

impl Ec2Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Exact-case header lookup, as Keystone's dict lookups are.
    fn header_exact(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The signature version, chosen as `Ec2Signer.generate` chooses it.
    pub fn version(&self) -> Result<Version, SignatureError> {
        match self.param("SignatureVersion") {
            Some("0") => return Ok(Version::V0),
            Some("1") => return Ok(Version::V1),
            Some("2") => return Ok(Version::V2),
            _ => {}
        }
        let authorization = self
            .header_exact("Authorization")
            .or_else(|| self.header_lookup("authorization"));
        if authorization.is_some_and(|a| a.starts_with("AWS ") && a.contains(':'))
            || (authorization.is_none()
                && self.param("AWSAccessKeyId").is_some()
                && self.param("Expires").is_some())
        {
            return Ok(Version::S3V2);
        }
        let v4 = match authorization {
            Some(a) => a.starts_with(sigv4::ALGORITHM),
            None => self.param("X-Amz-Algorithm") == Some(sigv4::ALGORITHM),
        };
        if v4 {
            Ok(Version::V4)
        } else {
            Err(malformed(
                "Unsupported signature: expected SignatureVersion 0, 1 or 2, or AWS4-HMAC-SHA256.",
            ))
        }
    }

    fn header_lookup(&self, lower: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(lower))
            .map(|(_, v)| v.as_str())
    }
}

/// Keystone's `_canonical_qs`: keys sorted by code point, each pair
/// `quote(key)=quote(value)`, joined with `&`.
pub fn canonical_qs(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    encoded_pairs(sorted.into_iter())
}

/// `quote(key)=quote(value)` for each pair in order, joined with `&`.
fn encoded_pairs<'a>(pairs: impl Iterator<Item = &'a (String, String)>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_uri_encoded(&mut out, k.as_bytes(), false);
        out.push('=');
        push_uri_encoded(&mut out, v.as_bytes(), false);
    }
    out
}

/// The value of `name=` in an `Authorization` header, up to the next
/// comma: the first place the text `name=` occurs, as Keystone splits it.
fn authorization_field(authorization: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = authorization[from..].find(name) {
        let after = &authorization[from + at + name.len()..];
        if let Some(value) = after.strip_prefix('=') {
            return Some(value.split(',').next().unwrap_or("").trim().to_string());
        }
        // `name` is ASCII, so the byte after its first is a boundary.
        from += at + 1;
    }
    None
}

fn v0(secret: &str, r: &Ec2Request) -> String {
    let message = format!(
        "{}{}",
        r.param("Action").unwrap_or(""),
        r.param("Timestamp").unwrap_or("")
    );
    STANDARD.encode(hmac_sha1(secret.as_bytes(), message.as_bytes()))
}

fn v1(secret: &str, r: &Ec2Request) -> String {
    let mut sorted: Vec<&(String, String)> = r.params.iter().collect();
    // Stable, as Python's sort: names equal once lowered keep their order.
    sorted.sort_by_cached_key(|(k, _)| lowercase(k));
    let message: String = sorted.iter().map(|(k, v)| format!("{k}{v}")).collect();
    STANDARD.encode(hmac_sha1(secret.as_bytes(), message.as_bytes()))
}

/// v2 always canonicalises with `SignatureMethod=HmacSHA256`, as Keystone
/// does (it overwrites whatever the request said).
fn v2(secret: &str, r: &Ec2Request, host: &str) -> String {
    let mut params: Vec<(String, String)> = r
        .params
        .iter()
        .filter(|(k, _)| k != "SignatureMethod")
        .cloned()
        .collect();
    params.push(("SignatureMethod".into(), "HmacSHA256".into()));
    let sts = format!(
        "{}\n{}\n{}\n{}",
        r.verb,
        host,
        r.path,
        canonical_qs(&params)
    );
    STANDARD.encode(hmac_sha256(secret.as_bytes(), sts.as_bytes()))
}

/// The signed headers and credential scope of a v4 request: from the
/// `Authorization` header, else from presigned parameters.
fn v4_parts(r: &Ec2Request) -> Result<(Vec<String>, Scope, String), SignatureError> {
    let (signed, credential) = match r.header_exact("Authorization") {
        Some(auth) => (
            authorization_field(auth, "SignedHeaders"),
            authorization_field(auth, "Credential"),
        ),
        None => (
            r.param("X-Amz-SignedHeaders").map(str::to_string),
            r.param("X-Amz-Credential").map(str::to_string),
        ),
    };
    let signed = signed.ok_or_else(|| malformed("The v4 request has no SignedHeaders."))?;
    let credential = credential.ok_or_else(|| malformed("The v4 request has no Credential."))?;
    let (_, scope) = credential
        .split_once('/')
        .ok_or_else(|| malformed("The v4 Credential has no scope."))?;
    let scope = Scope::parse(scope).ok_or_else(|| {
        malformed("The v4 credential scope is not date/region/service/aws4_request.")
    })?;
    let amz_date = r
        .header_exact("X-Amz-Date")
        .or_else(|| r.param("X-Amz-Date"))
        .ok_or_else(|| malformed("The v4 request has no X-Amz-Date."))?;
    if !amz_date.starts_with(&scope.date) {
        return Err(malformed(
            "X-Amz-Date does not fall on the credential scope's date.",
        ));
    }
    Ok((
        signed.split(';').map(str::to_string).collect(),
        scope,
        amz_date.to_string(),
    ))
}

/// The v4 signatures Keystone would accept: AWS's canonical headers (values
/// folded, as botocore signs) and Keystone's own (trimmed, not folded).
/// The time is `X-Amz-Date` from the string to sign; `X-Amz-Expires` counts
/// only for candidates whose canonical query covers it.
fn v4_candidates(
    secret: &str,
    r: &Ec2Request,
    keys: &SigningKeyMemo,
) -> Result<Vec<Candidate>, SignatureError> {
    let (signed, scope, amz_date) = v4_parts(r)?;
    let body_hash = v4_body_hash(r)?.to_string();
    // Every candidate signs under the same derived key: four HMACs, once
    // per scope while the memo holds it.
    let key = keys.key(secret, &scope);
    let signed_time = SignedTime::signed(Some(&amz_date));
    let mut presigned_time = signed_time;
    presigned_time.set_expires_after(r.param("X-Amz-Expires"));
    // Keystone leaves the query out of a POST's canonical request.
    let query_signed = !r.verb.eq_ignore_ascii_case("POST");
    let query = if query_signed {
        canonical_qs(&r.params)
    } else {
        String::new()
    };
    let lower: Vec<(String, &str)> = r
        .headers
        .iter()
        .map(|(k, v)| (lowercase(k.trim()), v.trim()))
        .collect();
    let mut keystone_headers = String::new();
    for h in &signed {
        if let Some((_, v)) = lower.iter().find(|(k, _)| k == h) {
            keystone_headers.extend([h.as_str(), ":", v, "\n"]);
        }
    }
    let aws_headers = sigv4::canonical_headers(&r.headers, &signed);
    let mut out: Vec<Candidate> = Vec::with_capacity(3);
    if scope.service == "s3" {
        // A whole S3 request (SODA's gateway): the path is encoded once and
        // never normalised, the query canonicalised as AWS does.
        let query_string = encoded_pairs(r.params.iter());
        let canonical = sigv4::canonical_request(&sigv4::Request {
            method: &r.verb.to_uppercase(),
            path: &r.path,
            query: &query_string,
            headers: &r.headers,
            signed_headers: &signed,
            payload_hash: &body_hash,
            normalize_path: false,
            double_encode: false,
            exclude_param: Some("X-Amz-Signature"),
        });
        out.push(Candidate {
            signature: sigv4::signature_with_key(
                &key,
                &sigv4::string_to_sign(&amz_date, &scope, &canonical),
            ),
            time: presigned_time,
        });
    }
    // Usually the two canonical forms are the same text: sign it once.
    let keystone_headers = (keystone_headers != aws_headers).then_some(keystone_headers);
    let verb = r.verb.to_uppercase();
    let signed_list = signed.join(";");
    for headers in std::iter::once(aws_headers).chain(keystone_headers) {
        let canonical = [
            verb.as_str(),
            &r.path,
            &query,
            &headers,
            &signed_list,
            &body_hash,
        ]
        .join("\n");
        let sts = sigv4::string_to_sign(&amz_date, &scope, &canonical);
        let signature = sigv4::signature_with_key(&key, &sts);
        if !out.iter().any(|c| c.signature == signature) {
            out.push(Candidate {
                signature,
                time: if query_signed {
                    presigned_time
                } else {
                    signed_time
                },
            });
        }
    }
    Ok(out)
}

/// The payload hash a v4 signature covers, which the caller must send.
fn v4_body_hash(r: &Ec2Request) -> Result<&str, SignatureError> {
    r.body_hash
        .as_deref()
        .ok_or_else(|| malformed("A v4 signature needs body_hash."))
}

/// Refuses what no secret could sign, exactly as [`signed_candidates`]
/// would, without computing a signature: malformed input answers the same
/// whether the access key exists or not, and costs no HMAC.
pub fn check_shape(r: &Ec2Request) -> Result<(), SignatureError> {
    if r.version()? == Version::V4 {
        v4_parts(r)?;
        v4_body_hash(r)?;
    }
    Ok(())
}

/// `host:port` → `host` (and `[v6]:port` → `v6`), as Python's
/// `urlsplit('//' + host).hostname` gives it; `None` without a port.
fn without_port(host: &str) -> Option<&str> {
    let (bare, port) = host.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if bare.contains(':') && !bare.starts_with('[') {
        return None;
    }
    Some(bare.trim_start_matches('[').trim_end_matches(']'))
}

/// A signature the request could carry, and the time that signature
/// covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub signature: String,
    pub time: SignedTime,
}

/// The time v1 and v2 requests sign: all parameters are signed, so
/// `Timestamp` and `Expires` both count.
fn query_time(r: &Ec2Request) -> SignedTime {
    let mut t = SignedTime::signed(r.param("Timestamp"));
    t.set_expires_text(r.param("Expires"));
    t
}

/// Every signature this request would carry if it was signed with
/// `secret`, each with the time it covers.
pub fn signed_candidates(secret: &str, r: &Ec2Request) -> Result<Vec<Candidate>, SignatureError> {
    candidates(secret, r, &SigningKeyMemo::default())
}

/// [`signed_candidates`], with v4 keys derived through `keys`, the memo of
/// `secret`.
fn candidates(
    secret: &str,
    r: &Ec2Request,
    keys: &SigningKeyMemo,
) -> Result<Vec<Candidate>, SignatureError> {
    let one = |signature: String, time: SignedTime| vec![Candidate { signature, time }];
    Ok(match r.version()? {
        // v0 signs Action and Timestamp only.
        Version::V0 => one(v0(secret, r), SignedTime::signed(r.param("Timestamp"))),
        Version::V1 => one(v1(secret, r), query_time(r)),
        Version::V2 => {
            let mut v = one(v2(secret, r, &r.host), query_time(r));
            // Keystone retries without the port when the host has one.
            if let Some(bare) = without_port(&r.host) {
                v.extend(one(v2(secret, r, bare), query_time(r)));
            }
            v
        }
        Version::V4 => v4_candidates(secret, r, keys)?,
        Version::S3V2 => {
            let params: Vec<(String, String)> = r
                .params
                .iter()
                .filter(|(k, _)| k != "Signature")
                .cloned()
                .collect();
            let (sts, time) = super::s3::v2_string_to_sign(&r.verb, &r.path, &params, &r.headers);
            one(
                STANDARD.encode(hmac_sha1(secret.as_bytes(), sts.as_bytes())),
                time,
            )
        }
    })
}

/// Python's `str.lower()` as Keystone applies it to names: Unicode
/// lowercase, with the common all-ASCII case done without decoding chars.
fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.to_lowercase()
    }
}

/// The signatures this request would carry if it was signed with `secret`.
pub fn expected_signatures(secret: &str, r: &Ec2Request) -> Result<Vec<String>, SignatureError> {
    Ok(signed_candidates(secret, r)?
        .into_iter()
        .map(|c| c.signature)
        .collect())
}

/// The time covered by `provided` when it is a signature of the request
/// under `secret`; `None` when it is not. Every candidate is compared in
/// constant time, whichever matches. `keys` is the memo of `secret`'s
/// SigV4 signing keys.
pub fn verify(
    secret: &str,
    r: &Ec2Request,
    provided: &str,
    keys: &SigningKeyMemo,
) -> Result<Option<SignedTime>, SignatureError> {
    let candidates = candidates(secret, r, keys)?;
    Ok(candidates.iter().fold(None, |found, c| {
        let matched = signatures_match(provided, &c.signature);
        found.or(matched.then_some(c.time))
    }))
}

/// The hash of an empty body, for callers that sign GETs.
pub fn empty_body_hash() -> String {
    sha256_hex(b"")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// [`super::verify`] with a fresh memo of signing keys.
    fn verify(
        secret: &str,
        r: &Ec2Request,
        provided: &str,
    ) -> Result<Option<SignedTime>, SignatureError> {
        super::verify(secret, r, provided, &SigningKeyMemo::default())
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Vectors from keystoneclient's Ec2Signer (../shared/reference/keystone-v3.md §9.3).
    #[test]
    fn keystone_v0_v1_v2_vectors() {
        let r = Ec2Request {
            params: params(&[
                ("Action", "DescribeInstances"),
                ("Timestamp", "2024-01-01T00:00:00Z"),
                ("SignatureVersion", "0"),
            ]),
            ..Default::default()
        };
        assert_eq!(
            expected_signatures(SECRET, &r).unwrap(),
            vec!["PuIji96Bs7HYK3nBaPM1BLdgEuE="]
        );
        let r = Ec2Request {
            params: params(&[
                ("SignatureVersion", "1"),
                ("Action", "DescribeInstances"),
                ("AWSAccessKeyId", "AKID"),
                ("Timestamp", "2024-01-01T00:00:00Z"),
                ("Version", "2016-11-15"),
            ]),
            ..Default::default()
        };
        assert_eq!(
            expected_signatures(SECRET, &r).unwrap(),
            vec!["RbDsOzUVNafJZ7HdoMO8v2Zqmp0="]
        );
        let r = Ec2Request {
            host: "ec2.example.com:8788".into(),
            verb: "GET".into(),
            path: "/".into(),
            params: params(&[
                ("SignatureVersion", "2"),
                ("SignatureMethod", "HmacSHA256"),
                ("Action", "DescribeInstances"),
                ("AWSAccessKeyId", "AKID"),
                ("Timestamp", "2024-01-01T00:00:00Z"),
                ("Version", "2016-11-15"),
                ("Filter.1.Name", "a b/c"),
            ]),
            ..Default::default()
        };
        assert!(
            verify(SECRET, &r, "ZrbK+08+ZkdSmL5ONxNu/f6HQK4BaogR6SMnybigm4Q=")
                .unwrap()
                .is_some()
        );
        assert!(
            verify("other", &r, "ZrbK+08+ZkdSmL5ONxNu/f6HQK4BaogR6SMnybigm4Q=")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn keystone_v4_presigned_vector() {
        let r = Ec2Request {
            host: "ec2.example.com".into(),
            verb: "GET".into(),
            path: "/".into(),
            params: params(&[
                ("Action", "DescribeRegions"),
                ("Version", "2013-10-15"),
                ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                (
                    "X-Amz-Credential",
                    "AKID/20240101/RegionOne/ec2/aws4_request",
                ),
                ("X-Amz-Date", "20240101T000000Z"),
                ("X-Amz-SignedHeaders", "host"),
            ]),
            headers: params(&[("Host", "ec2.example.com")]),
            body_hash: Some(empty_body_hash()),
        };
        assert_eq!(r.version().unwrap(), Version::V4);
        assert!(verify(
            SECRET,
            &r,
            "e2f77c10dcad6858ddd6eedf0e3c94cc30493ad05784f6b0bb1399167fa5f249"
        )
        .unwrap()
        .is_some_and(|t| t.signed_at == Some(1_704_067_200)));
        let mut tampered = r.clone();
        tampered.path = "/other".into();
        assert!(verify(
            SECRET,
            &tampered,
            "e2f77c10dcad6858ddd6eedf0e3c94cc30493ad05784f6b0bb1399167fa5f249"
        )
        .unwrap()
        .is_none());
    }

    #[test]
    fn v2_port_retry_and_malformed_requests() {
        let mut r = Ec2Request {
            host: "localhost".into(),
            verb: "GET".into(),
            path: "/".into(),
            params: params(&[("SignatureVersion", "2"), ("Action", "A")]),
            ..Default::default()
        };
        let signed_without_port = expected_signatures(SECRET, &r).unwrap()[0].clone();
        r.host = "localhost:8788".into();
        assert!(
            verify(SECRET, &r, &signed_without_port).unwrap().is_some(),
            "Keystone retries without the port"
        );
        assert_eq!(without_port("h:80"), Some("h"));
        assert_eq!(without_port("[::1]:80"), Some("::1"));
        assert_eq!(without_port("::1"), None);
        assert_eq!(without_port("h"), None);
        let s3v2 = Ec2Request {
            verb: "GET".into(),
            path: "/johnsmith/photos/puppy.jpg".into(),
            headers: params(&[
                ("Date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                (
                    "Authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
                ),
            ]),
            ..Default::default()
        };
        assert_eq!(s3v2.version().unwrap(), Version::S3V2);
        assert!(verify(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            &s3v2,
            "bWq2s1WEIj+Ydj0vQ697zp+IXMU="
        )
        .unwrap()
        .is_some());
        let none = Ec2Request::default();
        assert!(matches!(none.version(), Err(SignatureError::Malformed(_))));
        let v4_without_hash = Ec2Request {
            headers: params(&[("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20240101/r/ec2/aws4_request, SignedHeaders=host, Signature=00"), ("X-Amz-Date", "20240101T000000Z")]),
            ..Default::default()
        };
        assert!(verify(SECRET, &v4_without_hash, "x").is_err());
    }
}
