//! Two replicas on one PostgreSQL database and one key repository: tokens,
//! revocations, AK/SK pairs and key rotations are shared.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::{admin_member, call, Backend, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A second node on `a`'s database and key repositories, with `tweak`.
fn replica_of(a: &TestServer, tweak: impl FnOnce(&mut ironstone::config::Config)) -> TestServer {
    let state = a.state();
    let url = state.config.database_url();
    let fernet = state.config.fernet_key_repository();
    let credential = state.config.credential_key_repository();
    TestServer::start_with(Backend::Postgres, move |c| {
        c.database.url = Some(url);
        c.fernet_tokens.key_repository = Some(fernet);
        c.credential.key_repository = Some(credential);
        tweak(c);
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_everything() {
    let Some(a) =
        TestServer::start_with(Backend::Postgres, |c| c.fernet_tokens.reload_interval = 1)
    else {
        return;
    };
    let b = replica_of(&a, |c| c.fernet_tokens.reload_interval = 1);

    // Issued on A, valid on B.
    let admin = admin_member(&a).await;
    let (user_token, _) = a.password_token("admin", ADMIN_PASSWORD, None).await;
    assert_eq!(
        b.validate(&admin.token, &user_token, "").await.0,
        StatusCode::OK
    );

    // Revoked on B, refused on A within the propagation bound: A has the
    // token's scope cached, and hears B's write through NOTIFY.
    assert_eq!(
        a.validate(&admin.token, &user_token, "").await.0,
        StatusCode::OK
    );
    let resp = b
        .request(Method::DELETE, "/v3/auth/tokens")
        .header("X-Auth-Token", &admin.token)
        .header("X-Subject-Token", &user_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let took = until_status(&a, &admin.token, &user_token, StatusCode::NOT_FOUND).await;
    eprintln!("revocation on B refused on A after {took:?}");

    // A pair created on A verifies on B.
    let pair = common::signing::pair_for(&a, &admin, json!({})).await;
    let (access, secret) = (pair.access.as_str(), pair.secret.as_str());
    let (status, body) = call(
        &b,
        Method::POST,
        "/v3/ec2tokens",
        Some(&admin.token),
        Some(signed_ec2_body(access, secret)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Disabled on A, refused on B within the bound (B has the pair cached).
    let (status, _) = call(
        &a,
        Method::PATCH,
        &format!(
            "/v1/{}/aksks/{}/keys/{access}",
            admin.project_id, admin.user_id
        ),
        Some(&admin.token),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let started = Instant::now();
    loop {
        let (status, _) = call(
            &b,
            Method::POST,
            "/v3/ec2tokens",
            Some(&admin.token),
            Some(signed_ec2_body(access, secret)),
        )
        .await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            started.elapsed() < BOUND,
            "a disabled pair still verifies on B"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!(
        "pair disabled on A refused on B after {:?}",
        started.elapsed()
    );

    // A user disabled on B cannot use, on A, a token A has cached.
    let user = common::create_user(
        &a,
        "replica-user",
        "pw-replica-1",
        Some((&admin.project_id, "member")),
    )
    .await;
    let (user_token, _) = a
        .password_token(
            "replica-user",
            "pw-replica-1",
            Some(json!({"project": {"id": admin.project_id}})),
        )
        .await;
    assert_eq!(
        a.validate(&admin.token, &user_token, "").await.0,
        StatusCode::OK
    );
    let (status, _) = call(
        &b,
        Method::PATCH,
        &format!("/v3/users/{user}"),
        Some(&admin.token),
        Some(json!({"user": {"enabled": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let took = until_status(&a, &admin.token, &user_token, StatusCode::NOT_FOUND).await;
    eprintln!("user disabled on B refused on A after {took:?}");

    // Rotate the shared repository: a token from before the rotation stays
    // valid on both nodes, and one issued after it on A validates on B once
    // B has reloaded (reload_interval = 1 s here, 10 s by default).
    let (before, _) = a.password_token("admin", ADMIN_PASSWORD, None).await;
    ironstone::token::KeyRepository::new(a.state().config.fernet_key_repository(), 3)
        .rotate()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (after, _) = a.password_token("admin", ADMIN_PASSWORD, None).await;
    for node in [&a, &b] {
        assert_eq!(
            node.validate(&admin.token, &before, "").await.0,
            StatusCode::OK
        );
        assert_eq!(
            node.validate(&admin.token, &after, "").await.0,
            StatusCode::OK
        );
    }
    drop(b);
}

/// A signed request verifies at most once across the cluster: replayed on
/// the other replica it is refused, and sent to both at once it passes on
/// exactly one (issue 12).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_verifies_once_across_replicas() {
    let Some(a) = TestServer::start(Backend::Postgres) else {
        return;
    };
    let b = replica_of(&a, |_| {});
    let admin = admin_member(&a).await;
    let pair = common::signing::pair_for(&a, &admin, json!({})).await;
    let (access, secret) = (pair.access.as_str(), pair.secret.as_str());
    let token = admin.token.clone();
    let once = signed_ec2_body(access, secret);
    assert_eq!(
        post_ec2_to(&a, &token, once.clone()).await.0,
        StatusCode::OK
    );
    let (status, body) = post_ec2_to(&b, &token, once.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        body["error"]["message"],
        "This signed request was already used."
    );
    assert_eq!(
        post_ec2_to(&a, &token, once).await.0,
        StatusCode::UNAUTHORIZED
    );
    for round in 0..20 {
        let body = signed_ec2_body(access, secret);
        let (on_a, on_b) = tokio::join!(
            post_ec2_to(&a, &token, body.clone()),
            post_ec2_to(&b, &token, body)
        );
        let passed = [on_a.0, on_b.0]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count();
        assert_eq!(passed, 1, "round {round}: {} and {}", on_a.0, on_b.0);
    }
}

async fn post_ec2_to(
    node: &TestServer,
    token: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    call(node, Method::POST, "/v3/ec2tokens", Some(token), Some(body)).await
}

/// A key's rate limit is one limit across the cluster: requests spread
/// over two replicas, all at once, are admitted exactly up to the burst,
/// and the rest get 429 with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_replicas() {
    let Some(a) = TestServer::start(Backend::Postgres) else {
        return;
    };
    let b = replica_of(&a, |_| {});
    let admin = admin_member(&a).await;
    let limited = json!({"rate_limit": {"per_second": 0.2, "burst": 4}});
    let pair = common::signing::pair_for(&a, &admin, limited).await;
    let token = admin.token.clone();
    let attempts = (0..12).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        let body = signed_ec2_body(&pair.access, &pair.secret);
        let token = token.clone();
        async move { post_ec2_to(node, &token, body).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let admitted = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(admitted, 4, "{answers:?}");
    for (status, body) in &answers {
        assert!(
            *status == StatusCode::OK || *status == StatusCode::TOO_MANY_REQUESTS,
            "{status} {body}"
        );
    }
    // A replica that learned the wait refuses without asking, and says
    // how long: one interval at 0.2/s is 5 s.
    let body = signed_ec2_body(&pair.access, &pair.secret);
    let resp = b.post_as("/v3/ec2tokens", &token, &body).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = common::retry_after(&resp);
    assert!((1..=5).contains(&wait), "{wait}");
}

/// A leak reported to one replica disables the key on the other within
/// the stated bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_reported_to_one_replica_stops_the_key_on_the_other() {
    let Some(a) = TestServer::start(Backend::Postgres) else {
        return;
    };
    let b = replica_of(&a, |_| {});
    let admin = admin_member(&a).await;
    let pair = common::signing::pair_for(&a, &admin, json!({})).await;
    let token = admin.token.clone();
    let body = signed_ec2_body(&pair.access, &pair.secret);
    assert_eq!(post_ec2_to(&a, &token, body).await.0, StatusCode::OK);
    let (status, _) = call(
        &b,
        Method::POST,
        "/v1/leaked-keys",
        Some(&token),
        Some(json!({"keys": [pair.secret], "source": "replica test"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let started = Instant::now();
    loop {
        let body = signed_ec2_body(&pair.access, &pair.secret);
        if post_ec2_to(&a, &token, body).await.0 == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < BOUND * 5,
            "the leaked key still verifies on the other replica"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, keys) = call(
        &a,
        Method::GET,
        &format!("/v1/{}/aksks/{}/keys", admin.project_id, admin.user_id),
        Some(&token),
        None,
    )
    .await;
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["access_key"] == pair.access.as_str())
        .unwrap();
    assert_eq!(key["status"], "leaked", "{key}");
}

/// The bound the README states for changes made on one node to reach
/// another (NOTIFY, heard every `cache.listener_poll_ms` = 50 ms).
const BOUND: Duration = Duration::from_secs(1);

/// Polls a validation on `node` until it answers `want`; the time it took.
async fn until_status(
    node: &TestServer,
    caller: &str,
    subject: &str,
    want: StatusCode,
) -> Duration {
    let started = Instant::now();
    loop {
        let (status, _) = node.validate(caller, subject, "").await;
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < BOUND,
            "still {status} after {BOUND:?}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An EC2 v2 request signed with `secret`, as a service would send it to
/// /v3/ec2tokens; a nonce makes each one new to the replay cache.
fn signed_ec2_body(access: &str, secret: &str) -> serde_json::Value {
    let params: Vec<(String, String)> = vec![
        ("Action".into(), "DescribeRegions".into()),
        ("SignatureVersion".into(), "2".into()),
        ("Nonce".into(), uuid::Uuid::new_v4().simple().to_string()),
        (
            "Timestamp".into(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
    ];
    let r = ironstone::signature::ec2::Ec2Request {
        host: "ec2".into(),
        verb: "GET".into(),
        path: "/".into(),
        params: params.clone(),
        ..Default::default()
    };
    let signature = ironstone::signature::ec2::expected_signatures(secret, &r).unwrap()[0].clone();
    let params: serde_json::Map<String, serde_json::Value> =
        params.into_iter().map(|(k, v)| (k, json!(v))).collect();
    json!({"credentials": {"access": access, "signature": signature, "host": "ec2", "verb": "GET", "path": "/", "params": params}})
}
