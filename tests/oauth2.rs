//! OAuth 2.0 client credentials (`/v3/OS-OAUTH2/token`): tokens for
//! application credentials, on SQLite and PostgreSQL, and accepted as
//! `Authorization: Bearer` by keystonemiddleware's real `oauth2_token`
//! filter (what Tacker runs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, member_of, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// An application credential of `m` (with `extra` fields); its id and secret.
async fn app_cred(s: &TestServer, m: &common::Member, extra: Value) -> (String, String) {
    let mut body = json!({"name": format!("client-{}", uuid::Uuid::new_v4().simple())});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, created) = call(
        s,
        Method::POST,
        &format!("/v3/users/{}/application_credentials", m.user_id),
        Some(&m.token),
        Some(json!({ "application_credential": body })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let ac = &created["application_credential"];
    (
        ac["id"].as_str().unwrap().to_string(),
        ac["secret"].as_str().unwrap().to_string(),
    )
}

/// `POST /v3/OS-OAUTH2/token` with HTTP Basic; status and body.
async fn token_for(s: &TestServer, id: &str, secret: &str) -> (StatusCode, Value) {
    let resp = s
        .request(Method::POST, "/v3/OS-OAUTH2/token")
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

async fn client_credentials(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = common::create_project(&s, "oauth").await;
    let m = member_of(&s, "tacker", &project, "member").await;
    let (id, secret) = app_cred(&s, &m, json!({})).await;
    let (status, body) = token_for(&s, &id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], s.state().config.token.expiration);
    let access = body["access_token"].as_str().unwrap();
    // A Keystone token of the credential: its user, project and roles.
    let (status, validated) = s.validate(&admin.token, access, "").await;
    assert_eq!(status, StatusCode::OK);
    let t = &validated["token"];
    assert_eq!(t["user"]["id"], m.user_id.as_str());
    assert_eq!(t["project"]["id"], project.as_str());
    assert_eq!(t["methods"], json!(["application_credential"]));
    assert_eq!(t["application_credential"]["id"], id.as_str());
    // Usable as X-Auth-Token.
    let (status, _) = call(&s, Method::GET, "/v3/auth/projects", Some(access), None).await;
    assert_eq!(status, StatusCode::OK);

    // A wrong secret, an unknown client, and a deleted credential: the
    // same invalid_client, with Keystone's challenge.
    let (status, body) = token_for(&s, &id, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = token_for(&s, "0123456789abcdef", &secret).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::UNAUTHORIZED, &json!("invalid_client"))
    );
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/users/{}/application_credentials/{id}", m.user_id),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = token_for(&s, &id, &secret).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::UNAUTHORIZED, &json!("invalid_client"))
    );
    assert_eq!(
        s.validate(&admin.token, access, "").await.0,
        StatusCode::NOT_FOUND,
        "the access token ends with its credential"
    );

    // Bad requests: a body that is not a form, a grant Keystone does not
    // offer, a secret of the wrong shape in Basic.
    let resp = s
        .request(Method::POST, "/v3/OS-OAUTH2/token")
        .header("Authorization", "Basic !!!")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = s
        .request(Method::POST, "/v3/OS-OAUTH2/token")
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    let resp = s
        .request(Method::DELETE, "/identity/v3/OS-OAUTH2/token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

on_every_backend!(client_credentials);

/// keystonemiddleware's `oauth2_token` filter takes Ironstone's access
/// tokens as `Authorization: Bearer`, and refuses anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystonemiddleware_oauth2_token_against_ironstone() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let project = common::create_project(&s, "vnf").await;
    let m = member_of(&s, "nfvo", &project, "member").await;
    let (id, secret) = app_cred(&s, &m, json!({})).await;
    let (status, body) = token_for(&s, &id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let report = common::run_interop(
        &python,
        "middleware_auth_token.py",
        &[
            "--bearer",
            &s.url,
            common::ADMIN_PASSWORD,
            access,
            "gAAAAABgarbage",
        ],
    );
    assert_eq!(report[0]["status"], 200, "{report}");
    // The filter sets the user headers (not X-Identity-Status).
    assert_eq!(report[0]["user_id"], m.user_id.as_str());
    assert_eq!(report[0]["project_id"], project.as_str());
    assert_eq!(report[1]["status"], 401, "{report}");
}
