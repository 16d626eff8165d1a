//! Scannable secrets (`credential.secret_prefix`): what the APIs hand out,
//! a scanner written from the README finding every one of them and
//! nothing else, and a malformed checksum refused before any lookup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, create_app_cred, interop_python, Backend, TestServer};
use ironstone::scannable::{self, Kind, Shape};
use rand::distributions::{Alphanumeric, DistString};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn app_cred_token(s: &TestServer, id: &str, secret: &str) -> StatusCode {
    let (status, _, _) = s
        .auth(
            json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": id, "secret": secret}}}}),
        )
        .await;
    status
}

/// Three pair secrets and two application credential secrets, from the APIs.
async fn secrets_from_the_apis(s: &TestServer) -> Vec<String> {
    let admin = admin_member(s).await;
    let mut secrets = Vec::new();
    for _ in 0..2 {
        let (status, pair) = call(
            s,
            Method::POST,
            &format!("/v1/{}/aksks", admin.project_id),
            Some(&admin.token),
            Some(json!({"credential": {"project_id": admin.project_id, "user_id": admin.user_id}})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        secrets.push(pair["secret_key"].as_str().unwrap().to_string());
    }
    let (status, ec2) = call(
        s,
        Method::POST,
        &format!("/v3/users/{}/credentials/OS-EC2", admin.user_id),
        Some(&admin.token),
        Some(json!({"tenant_id": admin.project_id})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    secrets.push(ec2["credential"]["secret"].as_str().unwrap().to_string());
    for name in ["scan-a", "scan-b"] {
        let (status, created) = create_app_cred(s, &admin, json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        secrets.push(
            created["application_credential"]["secret"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanner_written_from_the_readme_finds_every_secret_and_nothing_else() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let mut secrets = secrets_from_the_apis(&s).await;
    for shape in &secrets[..3] {
        assert_eq!(scannable::classify(shape), Shape::Valid(Kind::PairSecret));
    }
    for shape in &secrets[3..] {
        assert_eq!(
            scannable::classify(shape),
            Shape::Valid(Kind::AppCredSecret)
        );
    }
    for i in 0..500 {
        let kind = if i % 2 == 0 {
            Kind::PairSecret
        } else {
            Kind::AppCredSecret
        };
        secrets.push(scannable::generate(kind));
    }
    // A "repository" with every secret in config-file lines, among
    // near misses a regular expression alone would report: our prefixes
    // with random bodies, one character changed, truncated, extended;
    // plus SODA's plain secrets, Keystone's, hex and UUIDs.
    let mut rng = rand::rngs::OsRng;
    let mut text = String::new();
    let mut decoys = 0;
    for (i, secret) in secrets.iter().enumerate() {
        text.push_str(&format!("aws_secret_access_key = {secret}\n"));
        let kind = if secret.starts_with("irsk_") {
            Kind::PairSecret
        } else {
            Kind::AppCredSecret
        };
        let random_body =
            Alphanumeric.sample_string(&mut rng, kind.body_len() + scannable::CHECKSUM_LEN);
        let mut changed = secret.clone().into_bytes();
        let at = 5 + i % (kind.body_len() + scannable::CHECKSUM_LEN);
        changed[at] = if changed[at] == b'Q' { b'R' } else { b'Q' };
        for decoy in [
            format!("{}{random_body}", kind.prefix()),
            String::from_utf8(changed).unwrap(),
            secret[..secret.len() - 1].to_string(),
            format!("{secret}0"),
            Alphanumeric.sample_string(&mut rng, 32),
            uuid::Uuid::new_v4().simple().to_string(),
        ] {
            text.push_str(&format!("password: {decoy}\n"));
            decoys += 1;
        }
    }
    let Some(python) = interop_python() else {
        return;
    };
    let mut child = std::process::Command::new(python)
        .arg(common::interop_dir().join("secret_scanner.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let found: Vec<String> = report["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        found, secrets,
        "every secret found, in order, and none of the {decoys} decoys"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_checksum_is_refused_before_any_lookup() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    let (_, created) = create_app_cred(&s, &admin, json!({"name": "right"})).await;
    let id = created["application_credential"]["id"].as_str().unwrap();
    let secret = created["application_credential"]["secret"]
        .as_str()
        .unwrap();
    assert_eq!(app_cred_token(&s, id, secret).await, StatusCode::CREATED);
    // A client cannot choose a secret that wears our prefix without being
    // one of ours.
    let forged = format!("irac_{}", "A".repeat(49));
    assert_eq!(scannable::classify(&forged), Shape::Malformed);
    let (status, body) =
        create_app_cred(&s, &admin, json!({"name": "forged", "secret": forged})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Were such a secret stored anyway (written before this rule, or by
    // hand), it still never authenticates: the checksum is checked before
    // the credential is looked up or the hash compared.
    let hash = ironstone::identity::password::hash(&forged, 4).unwrap();
    let planted = s
        .db(move |conn| {
            diesel::RunQueryDsl::execute(
                diesel::sql_query(
                    "UPDATE application_credentials SET secret_hash = ? WHERE name = 'right'",
                )
                .bind::<diesel::sql_types::Text, _>(hash),
                conn,
            )
            .map_err(|e| ironstone::error::Error::Internal(e.to_string()))
        })
        .await;
    assert_eq!(planted, 1);
    assert_eq!(
        app_cred_token(&s, id, &forged).await,
        StatusCode::UNAUTHORIZED
    );
    // The same through OAuth 2.0's client credentials.
    let resp = s
        .request(Method::POST, "/v3/OS-OAUTH2/token")
        .basic_auth(id, Some(&forged))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A secret in Keystone's own format (chosen by the client) still works.
    let (status, created) = create_app_cred(
        &s,
        &admin,
        json!({"name": "keystone-style", "secret": "a-secret-the-client-chose"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["application_credential"]["id"].as_str().unwrap();
    assert_eq!(
        app_cred_token(&s, id, "a-secret-the-client-chose").await,
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_formats_when_the_prefix_is_off() {
    let s =
        TestServer::start_with(Backend::Sqlite, |c| c.credential.secret_prefix = false).unwrap();
    let secrets = secrets_from_the_apis(&s).await;
    // SODA's 32 alphanumerics, Keystone's uuid hex, Keystone's 86
    // urlsafe-base64 characters.
    assert!(secrets[..2]
        .iter()
        .all(|k| k.len() == 32 && k.chars().all(|c| c.is_ascii_alphanumeric())));
    assert!(secrets[2].len() == 32 && secrets[2].chars().all(|c| c.is_ascii_hexdigit()));
    assert!(secrets[3..].iter().all(|k| k.len() == 86));
    assert!(secrets
        .iter()
        .all(|k| scannable::classify(k) == Shape::Foreign));
}
