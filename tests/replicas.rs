//! Two replicas on one PostgreSQL or MariaDB database and one key
//! repository: tokens,
//! revocations, AK/SK pairs and key rotations are shared.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::{admin_member, call, Backend, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn two_replicas_share_everything(backend: Backend) {
    let Some(a) = TestServer::start_with(backend, |c| c.fernet_tokens.reload_interval = 1) else {
        return;
    };
    let b = a.replica(|c| c.fernet_tokens.reload_interval = 1);

    // Issued on A, valid on B.
    let admin = admin_member(&a).await;
    let (user_token, _) = a.password_token("admin", ADMIN_PASSWORD, None).await;
    assert_eq!(
        b.validate(&admin.token, &user_token, "").await.0,
        StatusCode::OK
    );

    // Revoked on B, refused on A within the propagation bound: A has the
    // token's scope cached, and hears B's write (NOTIFY on PostgreSQL, the
    // polled counter row on MariaDB).
    assert_eq!(
        a.validate(&admin.token, &user_token, "").await.0,
        StatusCode::OK
    );
    assert_eq!(
        b.revoke(&admin.token, &user_token).await,
        StatusCode::NO_CONTENT
    );
    let took = until_status(&a, &admin.token, &user_token, StatusCode::NOT_FOUND).await;
    eprintln!("{backend:?}: revocation on B refused on A after {took:?}");

    // A pair created on A verifies on B.
    let pair = common::signing::pair_for(&a, &admin, json!({})).await;
    let (access, secret) = (pair.access.as_str(), pair.secret.as_str());
    let (status, body) = call(
        &b,
        Method::POST,
        "/v3/ec2tokens",
        Some(&admin.token),
        Some(common::signing::ec2_v2_body(access, secret)),
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
            Some(common::signing::ec2_v2_body(access, secret)),
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
    eprintln!("{backend:?}: user disabled on B refused on A after {took:?}");

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
async fn a_signature_verifies_once_across_replicas(backend: Backend) {
    let Some(a) = TestServer::start(backend) else {
        return;
    };
    let b = a.replica(|_| {});
    verifies_once_on_either(&a, &b).await;
}

/// The same with the record in Redis (`signature.replay_store =
/// redis://…`): each key carries an expiry, and a node whose Redis cannot
/// be reached answers 503 rather than risk a replay.
async fn a_signature_verifies_once_through_redis(backend: Backend) {
    let Some(redis_url) = common::redis_url_or_skip() else {
        return;
    };
    let Some(a) = TestServer::start_with(backend, |c| {
        c.signature.replay_store = redis_url.clone();
    }) else {
        return;
    };
    let b = a.replica(|c| c.signature.replay_store = redis_url.clone());
    verifies_once_on_either(&a, &b).await;

    // Every record lives past its signature's window, and not forever.
    let mut redis = redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg("ironstone:replay:*")
        .query(&mut redis)
        .unwrap();
    assert!(!keys.is_empty());
    let window_ms = (a.state().config.signature.max_clock_skew as i64 + 300) * 1000;
    for key in keys.iter().take(20) {
        let ttl: i64 = redis::cmd("PTTL").arg(key).query(&mut redis).unwrap();
        assert!(ttl > 0 && ttl <= 2 * window_ms, "PTTL {ttl}");
    }

    // Unreachable: refused, never verified without the check.
    let c = a.replica(|c| c.signature.replay_store = "redis://127.0.0.1:1/0".into());
    let admin = admin_member(&c).await;
    let pair = common::signing::pair_for(&c, &admin, json!({})).await;
    let body = common::signing::ec2_v2_body(&pair.access, &pair.secret);
    let (status, body) = post_ec2_to(&c, &admin.token, body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!body.to_string().contains("127.0.0.1:1"), "{body}");
}

/// A signature verified on `a` is refused on `b` and on `a` again, and one
/// sent to both at once passes on exactly one.
async fn verifies_once_on_either(a: &TestServer, b: &TestServer) {
    let admin = admin_member(a).await;
    let pair = common::signing::pair_for(a, &admin, json!({})).await;
    let (access, secret) = (pair.access.as_str(), pair.secret.as_str());
    let token = admin.token.clone();
    let once = common::signing::ec2_v2_body(access, secret);
    assert_eq!(post_ec2_to(a, &token, once.clone()).await.0, StatusCode::OK);
    let (status, body) = post_ec2_to(b, &token, once.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        body["error"]["message"],
        "This signed request was already used."
    );
    assert_eq!(
        post_ec2_to(a, &token, once).await.0,
        StatusCode::UNAUTHORIZED
    );
    for round in 0..20 {
        let body = common::signing::ec2_v2_body(access, secret);
        let (on_a, on_b) = tokio::join!(
            post_ec2_to(a, &token, body.clone()),
            post_ec2_to(b, &token, body)
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
async fn a_rate_limit_holds_across_replicas(backend: Backend) {
    let Some(a) = TestServer::start(backend) else {
        return;
    };
    let b = a.replica(|_| {});
    let admin = admin_member(&a).await;
    let limited = json!({"rate_limit": {"per_second": 0.2, "burst": 4}});
    let pair = common::signing::pair_for(&a, &admin, limited).await;
    let token = admin.token.clone();
    let attempts = (0..12).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        let body = common::signing::ec2_v2_body(&pair.access, &pair.secret);
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
    let body = common::signing::ec2_v2_body(&pair.access, &pair.secret);
    let resp = b.post_as("/v3/ec2tokens", &token, &body).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = common::retry_after(&resp);
    assert!((1..=5).contains(&wait), "{wait}");
}

/// A leak reported to one replica disables the key on the other within
/// the stated bound.
async fn a_leak_reported_to_one_replica_stops_the_key_on_the_other(backend: Backend) {
    let Some(a) = TestServer::start(backend) else {
        return;
    };
    let b = a.replica(|_| {});
    let admin = admin_member(&a).await;
    let pair = common::signing::pair_for(&a, &admin, json!({})).await;
    let token = admin.token.clone();
    let body = common::signing::ec2_v2_body(&pair.access, &pair.secret);
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
        let body = common::signing::ec2_v2_body(&pair.access, &pair.secret);
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

on_clustered_backends!(
    two_replicas_share_everything,
    a_signature_verifies_once_across_replicas,
    a_signature_verifies_once_through_redis,
    a_rate_limit_holds_across_replicas,
    a_leak_reported_to_one_replica_stops_the_key_on_the_other,
);
