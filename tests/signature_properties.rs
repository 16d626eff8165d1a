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

/// Names that decide a request's signature version and v4 fields.
fn v4_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "SignatureVersion",
        "Authorization",
        "authorization",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
        "X-Amz-Expires",
        "AWSAccessKeyId",
        "Expires",
        "Host",
    ])
    .prop_map(str::to_string)
}

/// Values, well-formed and not, for those names.
fn v4_value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "0", "2", "9", "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=AK/20261204/RegionOne/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AK/20261204/RegionOne/ec2/aws4_request, Signature=00",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Credential=AK/bad",
        "AWS AK:c2lnbmF0dXJl", "AK/20261204/RegionOne/ec2/aws4_request", "AK/20261204/RegionOne",
        "host;x-amz-date", "20261204T120000Z", "20261105T120000Z", "300", "",
    ])
    .prop_map(str::to_string)
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
        let _ = s3::v1_time(&bytes);
        let _ = ironstone::signature::time::parse_request_time(&text);
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
        let _ = ec2::verify("secret", &r, &sig, &Default::default());
    }

    /// The shape check that runs before any lookup refuses exactly what
    /// signing would refuse (it computes no HMAC, so it must not drift).
    #[test]
    fn the_shape_check_agrees_with_signing(
        params in prop::collection::vec((v4_key(), v4_value()), 0..6),
        headers in prop::collection::vec((v4_key(), v4_value()), 0..4),
        verb in "(GET|POST|get)", hash in proptest::option::of("[0-9a-f]{64}")
    ) {
        let r = Ec2Request {
            host: "ec2.example.com".into(), verb, path: "/".into(), params, headers, body_hash: hash,
        };
        prop_assert_eq!(ec2::check_shape(&r).is_ok(), ec2::signed_candidates("secret", &r).is_ok());
    }

    /// One memo of signing keys, shared by requests across more scopes
    /// than it holds, gives exactly the keys a fresh derivation gives.
    #[test]
    fn the_signing_key_memo_never_changes_a_key(
        scopes in prop::collection::vec((1u8..4, 0u8..3, 0usize..2), 1..24)
    ) {
        let memo = sigv4::SigningKeyMemo::default();
        for (day, region, service) in scopes {
            let scope = Scope {
                date: format!("2024010{day}"),
                region: format!("region-{region}"),
                service: ["ec2", "s3"][service].into(),
            };
            prop_assert_eq!(memo.key("secret", &scope), sigv4::signing_key("secret", &scope));
        }
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
        prop_assert!(s3::verify(&secret, &parsed, &sig, &Default::default()).is_some());
        let wrong = format!("{secret}x");
        prop_assert!(s3::verify(&wrong, &parsed, &sig, &Default::default()).is_none());
    }

    /// Adding, removing or changing any header or parameter never changes
    /// the time a signature vouches for: either the signature no longer
    /// verifies, or the time is the same. (Issue 12: an unsigned
    /// `x-amz-date` header or `Timestamp` parameter used to move the clock
    /// check, so old signatures replayed forever.)
    #[test]
    fn only_signed_fields_set_the_time(
        which in 0..SIGNED_KINDS,
        edits in prop::collection::vec((any::<bool>(), 0..3u8, prop::sample::select(TIME_NAMES.to_vec()), prop::sample::select(TIME_VALUES.to_vec())), 1..4),
    ) {
        let (r, sig, expected) = signed_request(which);
        // One memo for the original and the edited request, as a cached
        // pair verifies many requests.
        let memo = sigv4::SigningKeyMemo::default();
        let original = ec2::verify(SECRET, &r, &sig, &memo).unwrap();
        prop_assert_eq!(original, Some(expected), "kind {}", which);
        let mut mutated = r.clone();
        for (in_headers, op, name, value) in edits {
            let list = if in_headers { &mut mutated.headers } else { &mut mutated.params };
            match op {
                0 => list.push((name.to_string(), value.to_string())),
                1 => list.retain(|(k, _)| k != name),
                _ => list.iter_mut().filter(|(k, _)| k == name).for_each(|(_, v)| *v = value.to_string()),
            }
        }
        if let Ok(Some(time)) = ec2::verify(SECRET, &mutated, &sig, &memo) {
            prop_assert_eq!(time, expected, "kind {}: {:?}", which, mutated);
        }
    }
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SIGNED_KINDS: usize = 9;
const TIME_NAMES: [&str; 11] = [
    "Timestamp",
    "Expires",
    "X-Amz-Date",
    "x-amz-date",
    "X-Amz-Expires",
    "Date",
    "date",
    "AWSAccessKeyId",
    "Action",
    "SignatureVersion",
    "X-Amz-SignedHeaders",
];
const TIME_VALUES: [&str; 6] = [
    "20991231T235959Z",
    "2099-12-31T23:59:59Z",
    "Thu, 31 Dec 2099 23:59:59 GMT",
    "4102444799",
    "3600",
    "",
];

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A request of each signature version, signed with SECRET on
/// 2024-01-01, with the time its signature covers.
fn signed_request(which: usize) -> (Ec2Request, String, ironstone::signature::time::SignedTime) {
    use ironstone::signature::time::SignedTime;
    const T: i64 = 1_704_067_200;
    let at = SignedTime {
        signed_at: Some(T),
        ..Default::default()
    };
    let until = |s: Option<i64>, e: i64| SignedTime {
        signed_at: s,
        expires_at: Some(e),
        unreadable: false,
    };
    let query = |items: &[(&str, &str)]| Ec2Request {
        host: "ec2.example.com".into(),
        verb: "GET".into(),
        path: "/".into(),
        params: pairs(items),
        ..Default::default()
    };
    let v4 = |verb: &str, params: &[(&str, &str)], headers: &[(&str, &str)]| Ec2Request {
        host: "ec2.example.com".into(),
        verb: verb.into(),
        path: "/".into(),
        params: pairs(params),
        headers: pairs(headers),
        body_hash: Some(ec2::empty_body_hash()),
    };
    let auth = "AWS4-HMAC-SHA256 Credential=AK/20240101/RegionOne/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=0";
    let presigned = [
        ("Action", "DescribeRegions"),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "AK/20240101/RegionOne/ec2/aws4_request"),
        ("X-Amz-Date", "20240101T000000Z"),
        ("X-Amz-Expires", "600"),
        ("X-Amz-SignedHeaders", "host"),
    ];
    let (r, time) = match which {
        0 => (
            query(&[
                ("SignatureVersion", "0"),
                ("Action", "A"),
                ("Timestamp", "2024-01-01T00:00:00Z"),
            ]),
            at,
        ),
        1 => (
            query(&[
                ("SignatureVersion", "1"),
                ("Action", "A"),
                ("Timestamp", "2024-01-01T00:00:00Z"),
            ]),
            at,
        ),
        2 => (
            query(&[
                ("SignatureVersion", "2"),
                ("Action", "A"),
                ("Timestamp", "2024-01-01T00:00:00Z"),
            ]),
            at,
        ),
        3 => (
            query(&[
                ("SignatureVersion", "2"),
                ("Action", "A"),
                ("Expires", "2024-01-01T00:10:00Z"),
            ]),
            until(None, T + 600),
        ),
        4 => (
            v4(
                "GET",
                &[("Action", "A")],
                &[
                    ("Host", "ec2.example.com"),
                    ("X-Amz-Date", "20240101T000000Z"),
                    ("Authorization", auth),
                ],
            ),
            at,
        ),
        5 => (
            v4("GET", &presigned, &[("Host", "ec2.example.com")]),
            until(Some(T), T + 600),
        ),
        // A POST's query is not signed in Keystone's v4: X-Amz-Expires there cannot count.
        6 => (v4("POST", &presigned, &[("Host", "ec2.example.com")]), at),
        7 => (
            v4(
                "GET",
                &[],
                &[
                    ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
                    ("Authorization", "AWS AK:x"),
                ],
            ),
            at,
        ),
        _ => (
            v4(
                "GET",
                &[("AWSAccessKeyId", "AK"), ("Expires", "1704067800")],
                &[],
            ),
            until(None, T + 600),
        ),
    };
    let sig = ec2::expected_signatures(SECRET, &r).unwrap()[0].clone();
    (r, sig, time)
}
