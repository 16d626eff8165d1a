//! Property tests over the pure signature and token code: arbitrary input
//! never panics, and what is signed verifies (and nothing else does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ironstone::signature::ec2::{self, Ec2Request};
use ironstone::signature::s3;
use ironstone::signature::sigv4::{self, Authorization, Request, Scope};
use ironstone::signature::{percent_decode, uri_encode};
use ironstone::token::Payload;
use proptest::prelude::*;

fn kv() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[ -~]{0,12}", "\\PC{0,12}"), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), text in "\\PC{0,200}") {
        let _ = Payload::decode(&bytes);
        let _ = Authorization::parse(&text);
        let _ = Authorization::from_query(&text);
        let _ = s3::decode_token(&text);
        let _ = s3::parse(bytes.clone());
        let _ = s3::v1_date(&bytes);
        let _ = percent_decode(&text);
        let _ = sigv4::canonical_query(&text, Some("X-Amz-Signature"));
        let _ = sigv4::canonical_uri(&text, true, true);
        let _ = sigv4::canonical_uri(&text, false, false);
        let _ = Scope::parse(&text);
    }

    #[test]
    fn ec2_verification_never_panics(
        params in kv(), headers in kv(), host in "\\PC{0,20}", verb in "[A-Z]{0,6}", path in "\\PC{0,20}",
        hash in proptest::option::of("[0-9a-f]{0,64}"), sig in "\\PC{0,80}"
    ) {
        let r = Ec2Request { host, verb, path, params, headers, body_hash: hash };
        let _ = ec2::verify("secret", &r, &sig);
        let _ = r.timestamp();
    }

    #[test]
    fn encode_then_decode_is_identity(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(percent_decode(&uri_encode(&bytes, false)), bytes);
    }

    #[test]
    fn sigv4_sign_then_verify(
        secret in "[A-Za-z0-9/+]{1,40}", path in "(/[a-zA-Z0-9._~ %-]{0,8}){1,4}", query in kv(),
        extra in "[ -~]{0,20}", date in "20[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])", region in "[a-z0-9-]{1,12}",
    ) {
        let query: String = query.iter().map(|(k, v)| format!("{}={}", uri_encode(k.as_bytes(), false), uri_encode(v.as_bytes(), false))).collect::<Vec<_>>().join("&");
        let amz_date = format!("{date}T000000Z");
        let headers = vec![("Host".to_string(), "example.com".to_string()), ("X-Amz-Date".to_string(), amz_date.clone()), ("X-Extra".to_string(), extra)];
        let signed: Vec<String> = vec!["host".into(), "x-amz-date".into(), "x-extra".into()];
        let scope = Scope { date: date.clone(), region, service: "s3".into() };
        let hash = ironstone::signature::sha256_hex(b"");
        let make = |path: &str| {
            let r = Request { method: "GET", path, query: &query, headers: &headers, signed_headers: &signed, payload_hash: &hash, normalize_path: true, double_encode: true, exclude_param: None };
            sigv4::signature(&secret, &scope, &sigv4::string_to_sign(&amz_date, &scope, &sigv4::canonical_request(&r)))
        };
        let sig = make(&path);
        let header = format!("AWS4-HMAC-SHA256 Credential=AK/{}, SignedHeaders={}, Signature={sig}", scope.as_string(), signed.join(";"));
        let parsed = Authorization::parse(&header).unwrap();
        prop_assert_eq!(&parsed.signature, &sig);
        prop_assert_eq!(make(&path), sig.clone());
        let other = format!("{path}x");
        prop_assert_ne!(make(&other), sig);
    }

    #[test]
    fn s3_v4_sign_then_verify(secret in "[A-Za-z0-9]{1,40}", body in "\\PC{0,40}") {
        let sts = format!("AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/s3/aws4_request\n{}", ironstone::signature::sha256_hex(body.as_bytes()));
        let parsed = s3::parse(sts.into_bytes()).unwrap();
        let sig = s3::expected_signature(&secret, &parsed);
        prop_assert!(s3::verify(&secret, &parsed, &sig));
        let wrong = format!("{secret}x");
        prop_assert!(!s3::verify(&wrong, &parsed, &sig));
    }
}
