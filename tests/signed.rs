//! `/v3/ec2tokens` and `/v3/s3tokens`: Keystone's behaviour, and the
//! stricter checks (uniform 401, clock skew, replay, pair state, CIDRs,
//! throttling), on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine;
use common::signing::{pair_for, setup, Pair};
use common::{call, create_project, member_of, Backend, TestServer};
use ironstone::signature::ec2::{self, Ec2Request};
use ironstone::signature::sigv4::{self, Scope};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An EC2 v2 request signed with the pair (unique per call via the timestamp
/// and a nonce parameter).
fn v2_request(pair: &Pair, timestamp: &str, nonce: u32) -> Value {
    let params: Vec<(String, String)> = vec![
        ("Action".into(), "DescribeInstances".into()),
        ("AWSAccessKeyId".into(), pair.access.clone()),
        ("SignatureMethod".into(), "HmacSHA256".into()),
        ("SignatureVersion".into(), "2".into()),
        ("Timestamp".into(), timestamp.into()),
        ("Version".into(), "2016-11-15".into()),
        ("Nonce".into(), nonce.to_string()),
    ];
    let r = Ec2Request {
        host: "ec2.example.com:8788".into(),
        verb: "GET".into(),
        path: "/".into(),
        params: params.clone(),
        ..Default::default()
    };
    let signature = ec2::expected_signatures(&pair.secret, &r).unwrap()[0].clone();
    let params: serde_json::Map<String, Value> = params
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({"credentials": {"access": pair.access, "signature": signature, "host": r.host, "verb": "GET", "path": "/", "params": params, "headers": {}}})
}

/// An EC2 SigV4 request with an Authorization header, dated `amz_date`.
fn v4_request(pair: &Pair, amz_date: &str, path: &str) -> Value {
    let scope = Scope {
        date: amz_date[..8].into(),
        region: "RegionOne".into(),
        service: "ec2".into(),
    };
    let auth = |sig: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders=host;x-amz-date, Signature={sig}",
            pair.access,
            scope.as_string()
        )
    };
    let body_hash = ironstone::signature::sha256_hex(b"");
    let mut r = Ec2Request {
        host: "ec2.example.com".into(),
        verb: "GET".into(),
        path: path.into(),
        params: vec![("Action".into(), "DescribeRegions".into())],
        headers: vec![
            ("Host".into(), "ec2.example.com".into()),
            ("X-Amz-Date".into(), amz_date.into()),
            ("Authorization".into(), auth(&"0".repeat(64))),
        ],
        body_hash: Some(body_hash.clone()),
    };
    let signature = ec2::expected_signatures(&pair.secret, &r).unwrap()[0].clone();
    r.headers[2].1 = auth(&signature);
    json!({"credentials": {"access": pair.access, "signature": signature, "host": r.host, "verb": "GET", "path": path,
        "params": {"Action": "DescribeRegions"}, "headers": {"Host": "ec2.example.com", "X-Amz-Date": amz_date, "Authorization": r.headers[2].1}, "body_hash": body_hash}})
}

fn amz_now(offset_seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_seconds))
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn s3_v4_request(pair: &Pair, amz_date: &str, service: &str) -> Value {
    let scope = Scope {
        date: amz_date[..8].into(),
        region: "us-east-1".into(),
        service: service.into(),
    };
    let sts = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        scope.as_string(),
        ironstone::signature::sha256_hex(b"GET\n/bucket\n\nhost:s3\n\nhost\nUNSIGNED-PAYLOAD")
    );
    let signature = sigv4::signature(&pair.secret, &scope, &sts);
    json!({"credentials": {"access": pair.access, "token": base64::engine::general_purpose::URL_SAFE.encode(sts), "signature": signature}})
}

fn s3_v1_request(pair: &Pair, date: &str) -> Value {
    let sts = format!("GET\n\n\n{date}\n/bucket/object");
    let sig = base64::engine::general_purpose::STANDARD.encode(ironstone::signature::hmac_sha1(
        pair.secret.as_bytes(),
        sts.as_bytes(),
    ));
    json!({"credentials": {"access": pair.access, "token": base64::engine::general_purpose::URL_SAFE.encode(sts), "signature": sig}})
}

async fn ec2tokens_issue_delegated_tokens(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (admin, user, pair) = setup(&s).await;
    let resp = s
        .request(Method::POST, "/v3/ec2tokens")
        .header("X-Auth-Token", &admin.token)
        .json(&v2_request(&pair, &now_iso(), 1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let token = resp.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = resp.json().await.unwrap();
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["ec2credential"]));
    assert_eq!(t["user"]["id"], user.user_id.as_str());
    assert_eq!(t["project"]["id"], user.project_id.as_str());
    assert!(t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "member"));
    assert!(t["catalog"].is_array());
    // The token validates, and cannot mint other tokens.
    assert_eq!(s.validate(&admin.token, &token, "").await.0, StatusCode::OK);
    let (status, _, _) = s
        .auth(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // SigV4 with an Authorization header, in every accepted body key.
    for key in ["credentials", "credential", "ec2Credentials"] {
        let mut body = v4_request(&pair, &amz_now(0), &format!("/{key}"));
        let inner = body["credentials"].take();
        let body = json!({key: inner});
        let (status, got) = call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            Some(&admin.token),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{key}: {got}");
    }
    // Use is recorded for consoles, in batches written within
    // signature.use_flush_interval_ms (1 s).
    let mut keys = Value::Null;
    for _ in 0..40 {
        keys = call(
            &s,
            Method::GET,
            &format!("/v1/{}/aksks/{}/keys", user.project_id, user.user_id),
            Some(&user.token),
            None,
        )
        .await
        .1;
        if keys["keys"][0]["use_count"] == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(keys["keys"][0]["use_count"], 4, "{keys}");
    assert!(keys["keys"][0]["last_used_at"].is_string());
    // GET is not allowed.
    let resp = s
        .request(Method::GET, "/v3/ec2tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "POST");
}

async fn s3tokens_v1_and_v4(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (admin, user, pair) = setup(&s).await;
    let rfc1123 = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    for body in [
        s3_v1_request(&pair, &rfc1123),
        s3_v4_request(&pair, &amz_now(0), "s3"),
    ] {
        let resp = s
            .request(Method::POST, "/v3/s3tokens")
            .header("X-Auth-Token", &admin.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            !resp.headers().contains_key("x-subject-token"),
            "s3tokens answers without X-Subject-Token"
        );
        let got: Value = resp.json().await.unwrap();
        assert_eq!(got["token"]["user"]["id"], user.user_id.as_str());
        assert_eq!(got["token"]["methods"], json!(["ec2credential"]));
    }
    // Only s3, iam and sts scopes.
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/s3tokens",
        Some(&admin.token),
        Some(s3_v4_request(&pair, &amz_now(0), "ec2")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/s3tokens",
        Some(&admin.token),
        Some(s3_v4_request(&pair, &amz_now(1), "iam")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn who_may_call(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (admin, user, pair) = setup(&s).await;
    let service_project = create_project(&s, "services").await;
    let service = member_of(&s, "swift", &service_project, "service").await;
    let cases: Vec<(Option<&str>, StatusCode)> = vec![
        (None, StatusCode::UNAUTHORIZED),
        (Some("garbage"), StatusCode::UNAUTHORIZED),
        (Some(&user.token), StatusCode::FORBIDDEN),
        (Some(&service.token), StatusCode::OK),
        (Some(&admin.token), StatusCode::OK),
    ];
    for (i, (token, want)) in cases.into_iter().enumerate() {
        let (status, body) = call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            token,
            Some(v2_request(&pair, &now_iso(), 100 + i as u32)),
        )
        .await;
        assert_eq!(status, want, "{token:?}: {body}");
        let (status, _) = call(
            &s,
            Method::POST,
            "/v3/s3tokens",
            token,
            Some(s3_v4_request(&pair, &amz_now(i as i64), "s3")),
        )
        .await;
        assert_eq!(status, want);
        if want == StatusCode::FORBIDDEN {
            assert_eq!(body["error"]["message"], "You are not authorized to perform the requested action: identity:ec2tokens_validate.");
        }
    }
    // The pre-30 anonymous mode.
    drop(s);
    let Some(s) = TestServer::start_with(backend, |c| c.signature.allow_anonymous = true) else {
        return;
    };
    let (_, _, pair) = setup(&s).await;
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/ec2tokens",
        None,
        Some(v2_request(&pair, &now_iso(), 1)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn uniform_failures(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (admin, _, pair) = setup(&s).await;
    let mut unknown = v2_request(&pair, &now_iso(), 1);
    unknown["credentials"]["access"] = json!("NOSUCHACCESSKEY1");
    let mut wrong = v2_request(&pair, &now_iso(), 2);
    wrong["credentials"]["signature"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let wrong_secret = v2_request(
        &Pair {
            access: pair.access.clone(),
            secret: "not-the-secret".into(),
        },
        &now_iso(),
        3,
    );
    let mut bodies = Vec::new();
    for body in [unknown, wrong, wrong_secret] {
        let resp = s
            .request(Method::POST, "/v3/ec2tokens")
            .header("X-Auth-Token", &admin.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().contains_key("www-authenticate"));
        bodies.push(resp.json::<Value>().await.unwrap());
    }
    assert_eq!(
        bodies[0], bodies[1],
        "unknown key and wrong signature answer alike"
    );
    assert_eq!(bodies[1], bodies[2]);
    // Tampering with any signed part fails.
    let good = v4_request(&pair, &amz_now(0), "/ok");
    for (field, value) in [
        ("path", json!("/tampered")),
        ("verb", json!("POST")),
        ("body_hash", json!(ironstone::signature::sha256_hex(b"x"))),
    ] {
        let mut body = good.clone();
        body["credentials"][field] = value;
        let (status, _) = call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            Some(&admin.token),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{field}");
    }
    let mut body = good.clone();
    body["credentials"]["headers"]["X-Amz-Date"] = json!(amz_now(60));
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/ec2tokens",
        Some(&admin.token),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "date");
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/ec2tokens",
        Some(&admin.token),
        Some(good),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the untampered request still verifies"
    );
    // Malformed requests are 400s that name the problem.
    for (body, message) in [
        (json!({}), "Expecting to find credentials in request body"),
        (
            json!({"credentials": {"signature": "x"}}),
            "Expecting to find access in credentials",
        ),
        (
            json!({"credentials": {"access": "a", "signature": "x", "params": {}}}),
            "Unsupported signature",
        ),
        (
            json!({"credentials": {"access": "a", "signature": "x", "params": "no"}}),
            "is not of type 'object'",
        ),
    ] {
        let (status, got) = call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            Some(&admin.token),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
        assert!(
            got["error"]["message"].as_str().unwrap().contains(message),
            "{got}"
        );
    }
}

async fn clock_and_replay(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.signature.throttle_failures = 0) else {
        return;
    };
    let (admin, _, pair) = setup(&s).await;
    let post = |body: Value| {
        call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            Some(&admin.token),
            Some(body),
        )
    };
    // Replay: the same signed request verifies once.
    let once = v4_request(&pair, &amz_now(0), "/replay");
    assert_eq!(post(once.clone()).await.0, StatusCode::OK);
    let (status, body) = post(once).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "This signed request was already used."
    );
    // Skew, past and future, with the default ±15 minutes.
    assert_eq!(
        post(v4_request(&pair, &amz_now(-14 * 60), "/recent"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        post(v4_request(&pair, &amz_now(14 * 60), "/soon")).await.0,
        StatusCode::OK
    );
    for offset in [-16 * 60, 16 * 60] {
        let (status, body) = post(v4_request(&pair, &amz_now(offset), "/skewed")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{offset}");
        assert!(body["error"]["message"].as_str().unwrap().contains("skew"));
    }
    let stale = (chrono::Utc::now() - chrono::Duration::minutes(20))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(
        post(v2_request(&pair, &stale, 9)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let old_s3 = s3_v4_request(&pair, &amz_now(-3600), "s3");
    assert_eq!(
        call(
            &s,
            Method::POST,
            "/v3/s3tokens",
            Some(&admin.token),
            Some(old_s3)
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    // A v4 request with no time at all (presigned, without X-Amz-Date) is refused.
    let scope = Scope {
        date: amz_now(0)[..8].into(),
        region: "r".into(),
        service: "ec2".into(),
    };
    let r = Ec2Request {
        host: "h".into(),
        verb: "GET".into(),
        path: "/".into(),
        params: vec![
            ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
            (
                "X-Amz-Credential".into(),
                format!("{}/{}", pair.access, scope.as_string()),
            ),
            ("X-Amz-SignedHeaders".into(), "host".into()),
        ],
        headers: vec![("Host".into(), "h".into())],
        body_hash: Some(ironstone::signature::sha256_hex(b"")),
    };
    assert!(
        ec2::expected_signatures(&pair.secret, &r).is_err(),
        "Keystone itself needs X-Amz-Date for v4"
    );
}

async fn pair_state_and_cidrs(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.signature.throttle_failures = 0) else {
        return;
    };
    let (admin, user, pair) = setup(&s).await;
    let post = |body: Value| {
        call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            Some(&admin.token),
            Some(body),
        )
    };
    let key_url = format!(
        "/v1/{}/aksks/{}/keys/{}",
        user.project_id, user.user_id, pair.access
    );
    // Disabled, then enabled again.
    call(
        &s,
        Method::PATCH,
        &key_url,
        Some(&user.token),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(
        post(v2_request(&pair, &now_iso(), 1)).await.0,
        StatusCode::UNAUTHORIZED
    );
    call(
        &s,
        Method::PATCH,
        &key_url,
        Some(&user.token),
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(
        post(v2_request(&pair, &now_iso(), 2)).await.0,
        StatusCode::OK
    );
    // Expired (set in the store: the API only accepts future times).
    let id = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(pair.access.as_bytes()))
    };
    let expired = id.clone();
    s.db(move |conn| {
        ironstone::credential::update_meta(
            conn,
            &expired,
            &ironstone::credential::MetaPatch {
                expires_at: Some(Some(1)),
                ..Default::default()
            },
        )
    })
    .await;
    assert_eq!(
        post(v2_request(&pair, &now_iso(), 3)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The CIDR allow-list against the reported client address.
    let cidr_pair = pair_for(
        &s,
        &user,
        json!({"allowed_cidrs": ["10.0.0.0/8", "2001:db8::/32"]}),
    )
    .await;
    let with_ip = |ip: Option<&str>, nonce: u32| {
        let mut body = v2_request(&cidr_pair, &now_iso(), nonce);
        if let Some(ip) = ip {
            body["credentials"]["client_ip"] = json!(ip);
        }
        body
    };
    assert_eq!(post(with_ip(Some("10.1.2.3"), 1)).await.0, StatusCode::OK);
    assert_eq!(
        post(with_ip(Some("2001:db8::7"), 2)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post(with_ip(Some("11.0.0.1"), 3)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(with_ip(None, 4)).await.0,
        StatusCode::UNAUTHORIZED,
        "an allow-list needs the client address"
    );
    assert_eq!(
        post(with_ip(Some("not-an-ip"), 5)).await.0,
        StatusCode::BAD_REQUEST
    );
    // A disabled user's pair does not verify either.
    let u = user.user_id.clone();
    s.db(move |conn| ironstone::identity::set_user_enabled(conn, &u, false))
        .await;
    let (status, body) = post(with_ip(Some("10.1.2.3"), 6)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

async fn throttling(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.signature.throttle_failures = 3;
        c.signature.throttle_window = 60;
    }) else {
        return;
    };
    let (admin, _, pair) = setup(&s).await;
    let bad = |i: u32| {
        let mut body = v2_request(&pair, &now_iso(), i);
        body["credentials"]["signature"] = json!("bad");
        body
    };
    for i in 0..3 {
        assert_eq!(
            call(
                &s,
                Method::POST,
                "/v3/ec2tokens",
                Some(&admin.token),
                Some(bad(i))
            )
            .await
            .0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Past the budget, failures answer 429 with Retry-After...
    let resp = s.post_as("/v3/ec2tokens", &admin.token, &bad(3)).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = common::retry_after(&resp);
    assert!((1..=60).contains(&wait));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], 429);
    // ...but a correctly signed request is never refused by the throttle.
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/ec2tokens",
        Some(&admin.token),
        Some(v2_request(&pair, &now_iso(), 9)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let state = s.state();
    assert_eq!(
        state
            .auth
            .guards
            .throttle
            .failures
            .load(std::sync::atomic::Ordering::Relaxed),
        4
    );
    assert!(
        state
            .auth
            .guards
            .throttle
            .refused
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}

/// Keystone lets a PATCH give an ec2 pair a new access key (the id
/// stays): the pair then answers to the new key, on every route, and no
/// longer to the old one; a key another pair holds is a 409.
async fn access_key_change(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (admin, user, pair) = setup(&s).await;
    let id = ironstone::credential::ec2_credential_id(&pair.access);
    let other = pair_for(&s, &user, json!({})).await;
    let blob = |access: &str| json!({"credential": {"blob": json!({"access": access, "secret": pair.secret}).to_string()}});
    let path = format!("/v3/credentials/{id}");
    let (status, body) = call(
        &s,
        Method::PATCH,
        &path,
        Some(&user.token),
        Some(blob(&other.access)),
    )
    .await;
    common::expect_error(status, &body, StatusCode::CONFLICT, "Conflict occurred attempting to store credential - another credential has this access key.");
    let renamed = format!("{}-renamed", pair.access);
    let (status, body) = call(
        &s,
        Method::PATCH,
        &path,
        Some(&user.token),
        Some(blob(&renamed)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["credential"]["id"], id.as_str());
    let renamed_pair = Pair {
        access: renamed.clone(),
        secret: pair.secret.clone(),
    };
    let verify = |p: &Pair, nonce| v2_request(p, &now_iso(), nonce);
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/ec2tokens",
        Some(&admin.token),
        Some(verify(&renamed_pair, 1)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/ec2tokens",
        Some(&admin.token),
        Some(verify(&pair, 2)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let ec2_path = |access: &str| format!("/v3/users/{}/credentials/OS-EC2/{access}", user.user_id);
    let (status, body) = call(
        &s,
        Method::GET,
        &ec2_path(&renamed),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["credential"]["access"], renamed.as_str());
    let (status, _) = call(
        &s,
        Method::GET,
        &ec2_path(&pair.access),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let keys = format!(
        "/v1/{}/aksks/{}/keys/{renamed}",
        user.project_id, user.user_id
    );
    let (status, body) = call(&s, Method::DELETE, &keys, Some(&user.token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

on_every_backend!(
    access_key_change,
    ec2tokens_issue_delegated_tokens,
    s3tokens_v1_and_v4,
    who_may_call,
    uniform_failures,
    clock_and_replay,
    pair_state_and_cidrs,
    throttling,
);
