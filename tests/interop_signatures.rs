//! Real clients of the verification endpoints. Requests signed by botocore
//! (EC2 SigV4 and v2, a whole S3 SigV4 request, S3 v4 and v2 strings to
//! sign) with a pair created through the SODA API verify through
//! /v3/ec2tokens and /v3/s3tokens, and tampering with the path, a header,
//! the body, the date, the access key or the secret makes each fail. Swift's
//! s3token middleware works against /v3/s3tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use base64::Engine;
use common::{admin_member, call, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn botocore_signatures_verify_and_tampering_fails() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start_with(Backend::Sqlite, |c| c.signature.throttle_failures = 0)
    else {
        return;
    };
    let admin = admin_member(&s).await;
    let pair = common::signing::pair_for(&s, &admin, json!({})).await;
    let (access, secret) = (pair.access.as_str(), pair.secret.as_str());
    let output = Command::new(&python)
        .arg(common::interop_dir().join("botocore_sign.py"))
        .args([access, secret])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cases: serde_json::Map<String, Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(cases.len(), 14);
    let post = |endpoint: String, body: Value| {
        let token = admin.token.clone();
        let s = &s;
        async move { call(s, Method::POST, &endpoint, Some(&token), Some(body)).await }
    };

    for (name, case) in &cases {
        let endpoint = case["endpoint"].as_str().unwrap().to_string();
        let body = case["body"].clone();
        if name.ends_with("-wrong-secret") {
            let (status, got) = post(endpoint, body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {got}");
            continue;
        }
        // Tampered copies first (they never reach the replay cache).
        let mut tampered: Vec<(&str, Value)> = Vec::new();
        let mut with = |what: &'static str, f: &dyn Fn(&mut Value)| {
            let mut b = body.clone();
            f(&mut b);
            tampered.push((what, b));
        };
        with("access key", &|b| {
            b["credentials"]["access"] = json!("SOMEOTHERKEY0000")
        });
        if endpoint == "/v3/ec2tokens" {
            with("path", &|b| b["credentials"]["path"] = json!("/other"));
            if b_is_s3_v2(&body) {
                with("header", &|b| {
                    b["credentials"]["headers"]["Content-Type"] = json!("text/html")
                });
                with("parameter", &|b| {
                    b["credentials"]["params"]["versionId"] = json!("7")
                });
            } else if b_is_v2(&body) {
                // v2 signs the form parameters themselves: they are the body.
                with("body parameter", &|b| {
                    b["credentials"]["params"]["Action"] = json!("TerminateInstances")
                });
                with("date", &|b| {
                    b["credentials"]["params"]["Timestamp"] = json!("2099-01-01T00:00:00Z")
                });
            } else {
                with("body", &|b| {
                    b["credentials"]["body_hash"] =
                        json!(ironstone::signature::sha256_hex(b"tampered"))
                });
                with("header", &|b| {
                    b["credentials"]["headers"]["Host"] = json!("evil.example.com")
                });
                with("date", &|b| {
                    let d = b["credentials"]["headers"]["X-Amz-Date"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    let later =
                        format!("{}{}", &d[..14], if &d[14..15] == "9" { "8" } else { "9" });
                    b["credentials"]["headers"]["X-Amz-Date"] =
                        json!(format!("{later}{}", &d[15..]));
                });
            }
        } else {
            with("string to sign", &|b| {
                let engine = base64::engine::general_purpose::URL_SAFE;
                let mut sts = engine
                    .decode(b["credentials"]["token"].as_str().unwrap())
                    .unwrap();
                let last = sts.len() - 1;
                sts[last] ^= 1;
                b["credentials"]["token"] = json!(engine.encode(sts));
            });
        }
        for (what, bad) in tampered {
            let (status, got) = post(endpoint.clone(), bad).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{name} with tampered {what}: {got}"
            );
        }
        let (status, got) = post(endpoint.clone(), body).await;
        assert_eq!(status, StatusCode::OK, "{name}: {got}");
        assert_eq!(got["token"]["user"]["id"], admin.user_id.as_str(), "{name}");
        assert_eq!(got["token"]["methods"], json!(["ec2credential"]), "{name}");
    }
}

fn b_is_s3_v2(body: &Value) -> bool {
    let c = &body["credentials"];
    c["headers"]["Authorization"]
        .as_str()
        .is_some_and(|a| a.starts_with("AWS "))
        || (c["params"].get("Expires").is_some() && c["params"].get("SignatureVersion").is_none())
}

fn b_is_v2(body: &Value) -> bool {
    body["credentials"]["params"]["SignatureVersion"] == "2"
}

/// Swift's real s3token middleware (the maintained client of
/// `/v3/s3tokens`; keystonemiddleware no longer ships one) authenticates
/// with a service token, verifies through Ironstone and passes the
/// identity downstream; bad signatures are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swift_s3token_middleware_against_ironstone() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start_with(Backend::Sqlite, |c| c.signature.throttle_failures = 0)
    else {
        return;
    };
    let admin = admin_member(&s).await;
    let (_, pair) = call(
        &s,
        Method::POST,
        &format!("/v1/{}/aksks", admin.project_id),
        Some(&admin.token),
        Some(json!({"project_id": admin.project_id, "user_id": admin.user_id})),
    )
    .await;
    let output = Command::new(&python)
        .arg(common::interop_dir().join("swift_s3token.py"))
        .args([
            &s.url,
            common::ADMIN_PASSWORD,
            pair["access_key"].as_str().unwrap(),
            pair["secret_key"].as_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"]["status"], 200, "{report}");
    assert_eq!(
        report["valid"]["body"]["HTTP_X_USER_ID"],
        admin.user_id.as_str()
    );
    assert_eq!(
        report["valid"]["body"]["HTTP_X_PROJECT_ID"],
        admin.project_id.as_str()
    );
    assert!(report["valid"]["body"]["HTTP_X_ROLES"]
        .as_str()
        .unwrap()
        .contains("admin"));
    assert_eq!(report["wrong_secret"]["status"], 401, "{report}");
    assert_eq!(report["unknown_key"]["status"], 401, "{report}");
}

/// keystonemiddleware's auth_token middleware, as every OpenStack service
/// runs it, accepts Ironstone tokens and rejects revoked or invalid ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystonemiddleware_auth_token_against_ironstone() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = common::create_project(&s, "svc").await;
    let user = common::member_of(&s, "uma", &project, "member").await;
    let (revoked, _) = s
        .password_token("uma", "pw", Some(json!({"project": {"id": project}})))
        .await;
    assert_eq!(
        s.revoke(&admin.token, &revoked).await,
        StatusCode::NO_CONTENT
    );
    let report = common::run_interop(
        &python,
        "middleware_auth_token.py",
        &[
            &s.url,
            common::ADMIN_PASSWORD,
            &user.token,
            &revoked,
            "gAAAAABgarbage",
        ],
    );
    let valid = &report[0];
    assert_eq!(valid["status"], 200, "{report}");
    assert_eq!(valid["identity_status"], "Confirmed");
    assert_eq!(valid["user_id"], user.user_id.as_str());
    assert_eq!(valid["project_id"], project.as_str());
    assert!(valid["roles"].as_str().unwrap().contains("member"));
    assert_eq!(
        report[1]["status"], 401,
        "a revoked token is refused: {report}"
    );
    assert_eq!(
        report[2]["status"], 401,
        "an invalid token is refused: {report}"
    );
}
