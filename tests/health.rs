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
