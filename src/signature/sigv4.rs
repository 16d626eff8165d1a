//! AWS Signature Version 4: the canonical request, the string to sign and
//! the key chain, as AWS specifies them and botocore computes them.

use super::{hmac_sha256, percent_decode, sha256_hex, uri_encode};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of a request that a SigV4 signature covers.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as sent on the wire (still percent-encoded).
    pub path: &'a str,
    /// The query string as sent on the wire, without `?`.
    pub query: &'a str,
    /// Header names and values as received; names are case-insensitive.
    pub headers: &'a [(String, String)],
    /// Lowercase names of the signed headers, from the signature.
    pub signed_headers: &'a [String],
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
    /// Remove `.`/`..` segments and repeated slashes (all but S3).
    pub normalize_path: bool,
    /// Encode the already encoded path once more (all but S3).
    pub double_encode: bool,
    /// A query parameter left out of the canonical query (the presigned
    /// `X-Amz-Signature`).
    pub exclude_param: Option<&'a str>,
}

/// RFC 3986 `remove_dot_segments`, and repeated slashes merged.
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut joined = format!("/{}", out.join("/"));
    let ends_with_slash = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if ends_with_slash && joined.len() > 1 {
        joined.push('/');
    }
    joined
}

pub fn canonical_uri(path: &str, normalize_path: bool, double_encode: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let path = if normalize_path {
        normalize(path)
    } else {
        path.to_string()
    };
    if double_encode {
        uri_encode(path.as_bytes(), true)
    } else {
        uri_encode(&percent_decode(&path), true)
    }
}

/// Decoded `(key, value)` pairs of a query string, in order.
pub fn query_pairs(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), Vec::new()),
        })
        .collect()
}

pub fn canonical_query(query: &str, exclude: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| exclude.is_none_or(|x| k.as_slice() != x.as_bytes()))
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Trims and folds runs of whitespace (including folded continuation
/// lines) into one space, as AWS requires.
fn fold_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `name:value\n` for each signed header in order; repeated headers are
/// joined with commas in the order received. Missing headers are skipped.
pub fn canonical_headers(headers: &[(String, String)], signed: &[String]) -> String {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| fold_value(v))
            .collect();
        if values.is_empty() {
            continue;
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

pub fn canonical_request(r: &Request<'_>) -> String {
    let mut signed: Vec<String> = r
        .signed_headers
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    signed.sort();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        r.method,
        canonical_uri(r.path, r.normalize_path, r.double_encode),
        canonical_query(r.query, r.exclude_param),
        canonical_headers(r.headers, &signed),
        signed.join(";"),
        r.payload_hash
    )
}

/// `date/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Scope> {
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            [date, region, service, "aws4_request"]
                if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(Scope {
                    date: date.to_string(),
                    region: region.to_string(),
                    service: service.to_string(),
                })
            }
            _ => None,
        }
    }

    pub fn as_string(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

pub fn string_to_sign(amz_date: &str, scope: &Scope, canonical_request: &str) -> String {
    let digest = sha256_hex(canonical_request.as_bytes());
    [
        ALGORITHM,
        "\n",
        amz_date,
        "\n",
        &scope.date,
        "/",
        &scope.region,
        "/",
        &scope.service,
        "/aws4_request\n",
        &digest,
    ]
    .concat()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, scope: &Scope) -> [u8; 32] {
    let k_date = hmac_sha256(
        &[b"AWS4", secret.as_bytes()].concat(),
        scope.date.as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Scopes remembered per secret: a client signs a day's requests for a
/// region and a service under one derived key.
const MEMO_SCOPES: usize = 4;
/// The longest region and service (together) a memo holds. Real ones are
/// a few dozen bytes; the caller chooses them, and every access key it
/// tries, known or not, has a memo in the cache, so unbounded scopes would
/// let it fill memory with them. Longer scopes are derived every time.
const MEMO_SCOPE_BYTES: usize = 64;

/// The signing keys last derived from one secret, by scope, so that a
/// verification costs one HMAC instead of five. It holds derived key
/// material exactly as long as its owner holds the secret itself; it does
/// no I/O. A memo belongs to one secret: make a new one when it changes.
#[derive(Default)]
pub struct SigningKeyMemo {
    keys: std::sync::Mutex<Vec<(Scope, [u8; 32])>>,
}

impl SigningKeyMemo {
    /// Scopes remembered.
    pub fn len(&self) -> usize {
        self.keys.lock().map(|k| k.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`signing_key`] of `secret` (the memo's own) for `scope`.
    pub fn key(&self, secret: &str, scope: &Scope) -> [u8; 32] {
        if let Ok(keys) = self.keys.lock() {
            if let Some((_, key)) = keys.iter().find(|(s, _)| s == scope) {
                return *key;
            }
        }
        let key = signing_key(secret, scope);
        if scope.region.len() + scope.service.len() > MEMO_SCOPE_BYTES {
            return key;
        }
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() == MEMO_SCOPES {
                keys.remove(0);
            }
            keys.push((scope.clone(), key));
        }
        key
    }
}

/// The hex signature of a string to sign.
pub fn signature(secret: &str, scope: &Scope, string_to_sign: &str) -> String {
    signature_with_key(&signing_key(secret, scope), string_to_sign)
}

/// The hex signature of a string to sign under an already derived key
/// ([`signing_key`]), for callers that sign several candidates.
pub fn signature_with_key(key: &[u8; 32], string_to_sign: &str) -> String {
    super::lower_hex(&hmac_sha256(key, string_to_sign.as_bytes()))
}

/// The fields of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    pub scope: Scope,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    /// Parses `AWS4-HMAC-SHA256 Credential=AK/scope, SignedHeaders=a;b,
    /// Signature=hex`; `None` when any part is missing or malformed.
    pub fn parse(header: &str) -> Option<Authorization> {
        let rest = header.trim().strip_prefix(ALGORITHM)?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            match k.trim() {
                "Credential" => credential = Some(v.trim()),
                "SignedHeaders" => signed = Some(v.trim()),
                "Signature" => signature = Some(v.trim()),
                _ => {}
            }
        }
        let (access_key, scope) = credential?.split_once('/')?;
        let signature = signature?;
        if access_key.is_empty()
            || signature.len() != 64
            || !signature.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        let signed_headers: Vec<String> = signed?
            .split(';')
            .filter(|h| !h.is_empty())
            .map(|h| h.to_ascii_lowercase())
            .collect();
        if signed_headers.is_empty() {
            return None;
        }
        Some(Authorization {
            access_key: access_key.to_string(),
            scope: Scope::parse(scope)?,
            signed_headers,
            signature: signature.to_ascii_lowercase(),
        })
    }

    /// The same fields from a presigned URL's `X-Amz-*` query parameters.
    pub fn from_query(query: &str) -> Option<Authorization> {
        let pairs = query_pairs(query);
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.as_slice() == name.as_bytes())
                .and_then(|(_, v)| String::from_utf8(v.clone()).ok())
        };
        if get("X-Amz-Algorithm")? != ALGORITHM {
            return None;
        }
        let credential = get("X-Amz-Credential")?;
        let (access_key, scope) = credential.split_once('/')?;
        let signature = get("X-Amz-Signature")?;
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Authorization {
            access_key: access_key.to_string(),
            scope: Scope::parse(scope)?,
            signed_headers: get("X-Amz-SignedHeaders")?
                .split(';')
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            signature: signature.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A caller chooses the scope, and every access key it tries has a
    /// memo: a long scope is derived, never held.
    #[test]
    fn a_memo_never_holds_a_long_scope() {
        let memo = SigningKeyMemo::default();
        let long = Scope {
            date: "20240101".into(),
            region: "r".repeat(100_000),
            service: "ec2".into(),
        };
        assert_eq!(memo.key("secret", &long), signing_key("secret", &long));
        assert!(memo.is_empty());
        let short = Scope {
            region: "RegionOne".into(),
            ..long
        };
        assert_eq!(memo.key("secret", &short), signing_key("secret", &short));
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn path_normalization() {
        assert_eq!(normalize("//example//"), "/example/");
        assert_eq!(normalize("/./"), "/");
        assert_eq!(normalize("/a/b/../c/./d"), "/a/c/d");
        assert_eq!(normalize("/../.."), "/");
        assert_eq!(canonical_uri("", true, true), "/");
        assert_eq!(canonical_uri("/a%3Db", true, true), "/a%253Db");
        assert_eq!(canonical_uri("/a%3Db", false, false), "/a%3Db");
        assert_eq!(canonical_uri("/a b", false, false), "/a%20b");
    }

    #[test]
    fn query_is_sorted_and_reencoded() {
        assert_eq!(canonical_query("b=2&a=1&a=0&c", None), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("x=a%20b&y=a+b", None), "x=a%20b&y=a%2Bb");
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&q=1", Some("X-Amz-Signature")),
            "q=1"
        );
    }

    #[test]
    fn authorization_header_parses() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500";
        let a = Authorization::parse(h).unwrap_or_else(|| panic!("parses"));
        assert_eq!(a.access_key, "AKIDEXAMPLE");
        assert_eq!(a.scope.service, "service");
        assert_eq!(a.signed_headers, vec!["host", "x-amz-date"]);
        for bad in [
            "",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request, SignedHeaders=host, Signature=zz",
            "AWS4-HMAC-SHA256 Credential=AK/2015/r/s/aws4_request, SignedHeaders=host, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/other, SignedHeaders=host, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            "AWS4-HMAC-SHA256 Credential=/20150830/r/s/aws4_request, SignedHeaders=host, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ] {
            assert!(Authorization::parse(bad).is_none(), "{bad}");
        }
    }
}
