//! Two replicas on one PostgreSQL database and one key repository: tokens,
//! revocations, AK/SK pairs and key rotations are shared.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{admin_member, call, Backend, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_everything() {
    let Some(a) =
        TestServer::start_with(Backend::Postgres, |c| c.fernet_tokens.reload_interval = 1)
    else {
        return;
    };
    let state = a.state();
    let url = state.config.database_url();
    let fernet = state.config.fernet_key_repository();
    let credential = state.config.credential_key_repository();
    let b = TestServer::start_with(Backend::Postgres, move |c| {
        c.database.url = Some(url);
        c.fernet_tokens.key_repository = Some(fernet);
        c.credential.key_repository = Some(credential);
        c.fernet_tokens.reload_interval = 1;
    })
    .unwrap();

    // Issued on A, valid on B.
    let admin = admin_member(&a).await;
    let (user_token, _) = a.password_token("admin", ADMIN_PASSWORD, None).await;
    assert_eq!(
        b.validate(&admin.token, &user_token, "").await.0,
        StatusCode::OK
    );

    // Revoked on B, refused on A at once: validation reads the shared
    // database, so the bound is the next request.
    let resp = b
        .request(Method::DELETE, "/v3/auth/tokens")
        .header("X-Auth-Token", &admin.token)
        .header("X-Subject-Token", &user_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let started = Instant::now();
    assert_eq!(
        a.validate(&admin.token, &user_token, "").await.0,
        StatusCode::NOT_FOUND
    );
    assert!(started.elapsed() < Duration::from_secs(1));

    // A pair created on A verifies on B.
    let (status, pair) = call(
        &a,
        Method::POST,
        &format!("/v1/{}/aksks", admin.project_id),
        Some(&admin.token),
        Some(json!({"project_id": admin.project_id, "user_id": admin.user_id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (access, secret) = (
        pair["access_key"].as_str().unwrap(),
        pair["secret_key"].as_str().unwrap(),
    );
    let params: Vec<(String, String)> = vec![
        ("Action".into(), "DescribeRegions".into()),
        ("SignatureVersion".into(), "2".into()),
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
    let (status, body) = call(
        &b,
        Method::POST,
        "/v3/ec2tokens",
        Some(&admin.token),
        Some(json!({"credentials": {"access": access, "signature": signature, "host": "ec2", "verb": "GET", "path": "/", "params": params}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

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
