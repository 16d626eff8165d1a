//! Liveness and readiness for load balancers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn health_and_readiness(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let resp = s.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = s.request(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["checks"]["database"], true);
    assert_eq!(body["checks"]["token_keys"], true);
    assert_eq!(body["checks"]["credential_keys"], true);
    // Not under the Keystone prefix.
    let resp = s
        .request(Method::GET, "/identity/readyz")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

on_every_backend!(health_and_readiness);

/// `/readyz` follows the database: 503 while PostgreSQL refuses this
/// server's connections (its open ones ended), and ready again once it
/// accepts them, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database() {
    let Some(s) = TestServer::start(Backend::Postgres) else {
        return;
    };
    let readyz = || async {
        let resp = s.request(Method::GET, "/readyz").send().await.unwrap();
        let status = resp.status();
        (status, resp.json::<Value>().await.unwrap())
    };
    assert_eq!(readyz().await.0, StatusCode::OK);
    common::postgres_accepts_connections(&s, false);
    let (status, body) = readyz().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["checks"]["database"], false, "{body}");
    assert_eq!(body["checks"]["token_keys"], true, "{body}");
    common::postgres_accepts_connections(&s, true);
    let mut ready = false;
    for _ in 0..50 {
        if readyz().await.0 == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "not ready again within 5 s of the database's return");
}
