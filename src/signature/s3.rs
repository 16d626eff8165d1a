//! S3 signatures as `/v3/s3tokens` checks them
//! (`keystone/api/s3tokens.py`): the service sends the string to sign
//! (base64) and the signature; v1 is HMAC-SHA1, v4 the AWS4 key chain.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

use super::sigv4::{self, Scope};
use super::time::SignedTime;
use super::{hmac_sha1, malformed, signatures_match, SignatureError};

/// Services an S3 v4 scope may name (Keystone 30).
pub const V4_SERVICES: [&str; 3] = ["s3", "iam", "sts"];

/// A decoded string to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringToSign {
    V1(Vec<u8>),
    V4 {
        text: String,
        amz_date: String,
        scope: Scope,
    },
}

/// Decodes the `token` field: base64 (urlsafe as Keystone expects, or
/// standard), padded or not.
pub fn decode_token(token: &str) -> Result<Vec<u8>, SignatureError> {
    let t = token.trim();
    let unpadded = t.trim_end_matches('=');
    URL_SAFE
        .decode(t)
        .or_else(|_| STANDARD.decode(t))
        .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
        .or_else(|_| STANDARD_NO_PAD.decode(unpadded))
        .map_err(|_| malformed("The token is not base64."))
}

pub fn parse(string_to_sign: Vec<u8>) -> Result<StringToSign, SignatureError> {
    if !string_to_sign.starts_with(b"AWS4") {
        return Ok(StringToSign::V1(string_to_sign));
    }
    let text = String::from_utf8(string_to_sign)
        .map_err(|_| malformed("The v4 string to sign is not UTF-8."))?;
    let parts: Vec<&str> = text.split('\n').collect();
    let [algorithm, amz_date, scope, hash] = parts.as_slice() else {
        return Err(malformed("Invalid EC2 signature."));
    };
    if *algorithm != sigv4::ALGORITHM || hash.len() != 64 {
        return Err(malformed("Invalid EC2 signature."));
    }
    let scope = Scope::parse(scope).ok_or_else(|| malformed("Invalid EC2 signature."))?;
    if !V4_SERVICES.contains(&scope.service.as_str()) {
        return Err(malformed("Invalid EC2 signature."));
    }
    if !amz_date.starts_with(&scope.date) {
        return Err(malformed("Invalid EC2 signature."));
    }
    Ok(StringToSign::V4 {
        amz_date: amz_date.to_string(),
        scope,
        text,
    })
}

/// The signature of the string to sign under `secret`.
pub fn expected_signature(secret: &str, sts: &StringToSign) -> String {
    match sts {
        StringToSign::V1(bytes) => STANDARD.encode(hmac_sha1(secret.as_bytes(), bytes)),
        StringToSign::V4 { text, scope, .. } => sigv4::signature(secret, scope, text),
    }
}

/// The time covered by `provided` when it is the signature of the string
/// to sign under `secret`; `None` when it is not.
/// `keys` is the memo of `secret`'s SigV4 signing keys.
pub fn verify(
    secret: &str,
    sts: &StringToSign,
    provided: &str,
    keys: &sigv4::SigningKeyMemo,
) -> Option<SignedTime> {
    let expected = match sts {
        StringToSign::V4 { text, scope, .. } => {
            sigv4::signature_with_key(&keys.key(secret, scope), text)
        }
        StringToSign::V1(_) => expected_signature(secret, sts),
    };
    signatures_match(provided.trim(), &expected).then(|| sts.time())
}

impl StringToSign {
    /// The time this string to sign carries; all of it is signed.
    pub fn time(&self) -> SignedTime {
        match self {
            StringToSign::V4 { amz_date, .. } => SignedTime::signed(Some(amz_date)),
            StringToSign::V1(bytes) => v1_time(bytes),
        }
    }
}

/// The time of an S3 V1 string to sign (`verb`, `Content-MD5`,
/// `Content-Type`, `Date`, the `x-amz-*` header lines, the resource): an
/// `x-amz-date` header line wins over the Date line, as in S3, and a Date
/// line of digits is a presigned URL's `Expires`.
pub fn v1_time(bytes: &[u8]) -> SignedTime {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.split('\n').collect();
    let header_lines = lines.get(4..lines.len().saturating_sub(1)).unwrap_or(&[]);
    let amz_date = header_lines
        .iter()
        .find_map(|l| l.strip_prefix("x-amz-date:"));
    let date = lines.get(3).map(|d| d.trim()).filter(|d| !d.is_empty());
    let mut time = SignedTime::signed(amz_date);
    match date {
        Some(d) if d.bytes().all(|b| b.is_ascii_digit()) => time.set_expires_unix(Some(d)),
        Some(d) if amz_date.is_none() => time.set_signed_at(Some(d)),
        _ => {}
    }
    time
}

/// Query parameters that S3 V2 includes in the canonicalized resource.
const V2_SUBRESOURCES: [&str; 27] = [
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
    "replication",
    "encryption",
];

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The S3 V2 (HMAC-SHA1) string to sign of a whole request: verb,
/// Content-MD5, Content-Type, Date (empty when `x-amz-date` is sent, or
/// `Expires` for presigned URLs), the `x-amz-*` headers, and the path with
/// its sub-resources. Also the time it signs, read from the same values.
pub fn v2_string_to_sign(
    verb: &str,
    path: &str,
    params: &[(String, String)],
    headers: &[(String, String)],
) -> (String, SignedTime) {
    let expires = params
        .iter()
        .find(|(k, _)| k == "Expires")
        .map(|(_, v)| v.as_str());
    let date = match (expires, header(headers, "x-amz-date")) {
        (Some(e), _) => e,
        (None, Some(_)) => "",
        (None, None) => header(headers, "date").unwrap_or(""),
    };
    let mut amz: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in headers {
        let name = k.trim().to_ascii_lowercase();
        if !name.starts_with("x-amz-") {
            continue;
        }
        let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
        match amz.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => amz.push((name, vec![value])),
        }
    }
    amz.sort();
    let signed_amz_date = amz
        .iter()
        .find(|(n, _)| n == "x-amz-date")
        .map(|(_, v)| v.join(","));
    let mut time = SignedTime::signed(signed_amz_date.as_deref());
    match expires {
        Some(e) => time.set_expires_unix(Some(e)),
        None if signed_amz_date.is_none() => {
            time.set_signed_at(Some(date).filter(|d| !d.is_empty()))
        }
        None => {}
    }
    let amz_headers: String = amz
        .iter()
        .map(|(n, v)| format!("{n}:{}\n", v.join(",")))
        .collect();
    let mut sub: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| V2_SUBRESOURCES.contains(&k.as_str()))
        .collect();
    sub.sort();
    let mut resource = if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    };
    if !sub.is_empty() {
        resource.push('?');
        resource.push_str(
            &sub.iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        k.clone()
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect::<Vec<_>>()
                .join("&"),
        );
    }
    let text = format!(
        "{}\n{}\n{}\n{}\n{}{}",
        verb.to_uppercase(),
        header(headers, "content-md5").unwrap_or(""),
        header(headers, "content-type").unwrap_or(""),
        date,
        amz_headers,
        resource
    );
    (text, time)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn v1_is_hmac_sha1_base64() {
        let sts = b"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg".to_vec();
        // AWS's documented S3 v2 example (secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY).
        let parsed = parse(sts.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            expected_signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &parsed),
            "bWq2s1WEIj+Ydj0vQ697zp+IXMU="
        );
        assert_eq!(v1_time(&sts).signed_at, Some(1_175_024_202));
        // A presigned URL's string to sign has Expires in the Date line.
        let presigned = v1_time(b"GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
        assert_eq!(presigned.expires_at, Some(1_175_139_620));
        assert_eq!(presigned.signed_at, None);
        // x-amz-date wins over Date; a resource line never counts.
        let amz = v1_time(b"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\nx-amz-date:Tue, 27 Mar 2007 21:15:45 +0000\n/b");
        assert_eq!(amz.signed_at, Some(1_175_030_145));
        let resource = v1_time(b"GET\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:15:45 +0000");
        assert_eq!(resource.signed_at, None);
    }

    #[test]
    fn v2_whole_request_matches_awss_example() {
        // AWS's documented S3 V2 GET example.
        let headers = vec![
            ("Host".to_string(), "johnsmith.s3.amazonaws.com".to_string()),
            (
                "Date".to_string(),
                "Tue, 27 Mar 2007 19:36:42 +0000".to_string(),
            ),
        ];
        let (sts, time) = v2_string_to_sign("GET", "/johnsmith/photos/puppy.jpg", &[], &headers);
        assert_eq!(time.signed_at, Some(1_175_024_202));
        assert_eq!(
            sts,
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg"
        );
        // x-amz headers, sub-resources, and x-amz-date replacing Date.
        let headers = vec![
            ("X-Amz-Meta-B".to_string(), "two ".to_string()),
            (
                "x-amz-date".to_string(),
                "Tue, 27 Mar 2007 21:15:45 +0000".to_string(),
            ),
            ("X-Amz-Meta-B".to_string(), "three".to_string()),
            ("Content-Type".to_string(), "text/plain".to_string()),
        ];
        let params = vec![
            ("acl".to_string(), String::new()),
            ("prefix".to_string(), "x".to_string()),
        ];
        let (sts, time) = v2_string_to_sign("put", "/b/k", &params, &headers);
        assert_eq!(time.signed_at, Some(1_175_030_145), "x-amz-date, not Date");
        assert_eq!(
            sts,
            "PUT\n\ntext/plain\n\nx-amz-date:Tue, 27 Mar 2007 21:15:45 +0000\nx-amz-meta-b:two,three\n/b/k?acl"
        );
    }

    #[test]
    fn v4_scope_rules() {
        let ok = "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/s3/aws4_request\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(matches!(
            parse(ok.as_bytes().to_vec()),
            Ok(StringToSign::V4 { .. })
        ));
        for bad in [
            ok.replace("/s3/", "/ec2/"),
            ok.replace("aws4_request", "aws5_request"),
            ok.replace("20240101T", "20240102T"),
            ok.replace("AWS4-HMAC-SHA256\n", "AWS4-HMAC-SHA512\n"),
            format!("{ok}\nextra"),
        ] {
            assert!(parse(bad.as_bytes().to_vec()).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_decoding_accepts_both_alphabets() {
        assert_eq!(decode_token("R0VUCg==").unwrap_or_default(), b"GET\n");
        assert_eq!(decode_token("R0VUCg").unwrap_or_default(), b"GET\n");
        assert_eq!(decode_token("-_8=").unwrap_or_default(), vec![0xfb, 0xff]);
        assert_eq!(decode_token("+/8=").unwrap_or_default(), vec![0xfb, 0xff]);
        assert!(decode_token("!!").is_err());
    }
}
