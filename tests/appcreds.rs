//! Application credentials: creation rules, authentication by id and by
//! name, scope and expiry, access rules, and deletion when the user loses
//! the role; on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, create_project, expect_error, member_of, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn ac_auth(ac: Value) -> Value {
    json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": ac}}})
}

async fn application_credentials(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "apps").await;
    let m = member_of(&s, "ann", &project, "member").await;
    let url = format!("/v3/users/{}/application_credentials", m.user_id);
    // Creation rules.
    let (status, body) = call(
        &s,
        Method::POST,
        &url,
        Some(&m.token),
        Some(json!({"application_credential": {"name": "x", "roles": [{"name": "admin"}]}})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a role the token lacks: {body}"
    );
    let (status, _) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{}/application_credentials", admin.user_id),
        Some(&m.token),
        Some(json!({"application_credential": {"name": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only for oneself");
    let (unscoped, _) = s.password_token("ann", "pw", Some(json!("unscoped"))).await;
    let (status, _) = call(
        &s,
        Method::POST,
        &url,
        Some(&unscoped),
        Some(json!({"application_credential": {"name": "x"}})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "needs a project-scoped token"
    );
    let (status, _) = call(
        &s,
        Method::POST,
        &url,
        Some(&m.token),
        Some(json!({"application_credential": {"name": "x", "expires_at": "2001-01-01T00:00:00"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let expires = (chrono::Utc::now() + chrono::Duration::minutes(10))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let (status, created) = call(
        &s,
        Method::POST,
        &url,
        Some(&m.token),
        Some(json!({"application_credential": {"name": "deploy", "secret": "my-secret", "expires_at": expires,
            "access_rules": [{"service": "compute", "path": "/v2.1/servers", "method": "GET"}]}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let ac = &created["application_credential"];
    let id = ac["id"].as_str().unwrap().to_string();
    assert_eq!(ac["secret"], "my-secret");
    assert_eq!(ac["access_rules"][0]["method"], "GET");
    let (status, _) = call(
        &s,
        Method::POST,
        &url,
        Some(&m.token),
        Some(json!({"application_credential": {"name": "deploy"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The secret is stored only as a hash.
    let stored: Vec<String> = s
        .db(|conn| {
            use diesel::prelude::*;
            use ironstone::store::schema::application_credentials::dsl::*;
            Ok(application_credentials.select(secret_hash).load(conn)?)
        })
        .await;
    assert!(stored
        .iter()
        .all(|h| h.starts_with("$2b$") && !h.contains("my-secret")));

    // Authenticate by id, and by name with the user; scope is refused.
    let (status, token, body) = s
        .auth(ac_auth(json!({"id": id, "secret": "my-secret"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = token.unwrap();
    assert_eq!(body["token"]["project"]["id"], project.as_str());
    let expiry =
        chrono::DateTime::parse_from_rfc3339(body["token"]["expires_at"].as_str().unwrap())
            .unwrap();
    assert!(
        expiry < chrono::Utc::now() + chrono::Duration::minutes(11),
        "capped at the credential's expiry"
    );
    let (status, _, _) = s.auth(ac_auth(json!({"name": "deploy", "secret": "my-secret", "user": {"name": "ann", "domain": {"id": "default"}}}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = s.auth(ac_auth(json!({"id": id, "secret": "wrong"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = s
        .auth(ac_auth(
            json!({"id": "ffffffffffffffffffffffffffffffff", "secret": "x"}),
        ))
        .await;
    // An unknown id is the same 401 as a wrong secret (Keystone: 404).
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let mut scoped = ac_auth(json!({"id": id, "secret": "my-secret"}));
    scoped["auth"]["scope"] = json!({"project": {"id": project}});
    let (status, _, body) = s.auth(scoped).await;
    expect_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "cannot request a scope",
    );
    // Access rules: only callers that enforce them may validate.
    let (status, _) = s.validate(&admin.token, &token, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let resp = s
        .request(Method::GET, "/v3/auth/tokens")
        .header("X-Auth-Token", &admin.token)
        .header("X-Subject-Token", &token)
        .header("OpenStack-Identity-Access-Rules", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["token"]["application_credential"]["access_rules"][0]["service"],
        "compute"
    );
    // Its access rules name no identity route: refused before any policy
    // (tests/security.rs shows a rule-less restricted token getting 403).
    let (status, _) = call(
        &s,
        Method::POST,
        &url,
        Some(&token),
        Some(json!({"application_credential": {"name": "y"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Losing the role deletes the credential.
    let member_role = common::role_id(&s, &admin.token, "member").await;
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!(
            "/v3/projects/{project}/users/{}/roles/{member_role}",
            m.user_id
        ),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &s,
        Method::GET,
        &format!("{url}/{id}"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Another user's access rules are for system readers and admins only
    // (Keystone's access_rule policies), not a project admin.
    let (status, _) = call(
        &s,
        Method::GET,
        &format!("/v3/users/{}/access_rules", m.user_id),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (system, _) = s
        .password_token(
            "admin",
            common::ADMIN_PASSWORD,
            Some(json!({"system": {"all": true}})),
        )
        .await;
    let (_, rules) = call(
        &s,
        Method::GET,
        &format!("/v3/users/{}/access_rules", m.user_id),
        Some(&system),
        None,
    )
    .await;
    let rule = rules["access_rules"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/users/{}/access_rules/{rule}", m.user_id),
        Some(&system),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "unused now");
}

on_every_backend!(application_credentials);
