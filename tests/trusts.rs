//! Trusts on SQLite and PostgreSQL: redelegation chains, expiry, what
//! ends a trust's tokens, EC2 pairs that name a trust, and what a
//! trust-scoped token may not do. (Statuses and shapes are compared with
//! Keystone's in tests/differential.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::signing::{iso, sign, v2, Pair};
use common::{
    admin_member, call, create_project, expect_error, member_of, Backend, Member, TestServer,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A user with a password and no role; its id.
async fn user(s: &TestServer, name: &str) -> String {
    common::create_user(s, name, "pw", None).await
}

/// A trust-scoped token for `name`; the token and the body.
async fn trust_token(
    s: &TestServer,
    name: &str,
    trust_id: &str,
) -> (StatusCode, Option<String>, Value) {
    s.auth(json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": name, "domain": {"id": "default"}, "password": "pw"}}},
        "scope": {"OS-TRUST:trust": {"id": trust_id}}}}))
        .await
}

/// `POST /v3/OS-TRUST/trusts` as `token`; the created trust.
async fn create_trust(s: &TestServer, token: &str, trust: Value) -> Value {
    let (status, body) = call(
        s,
        Method::POST,
        "/v3/OS-TRUST/trusts",
        Some(token),
        Some(json!({ "trust": trust })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["trust"].clone()
}

async fn status_of(s: &TestServer, admin: &Member, token: &str) -> StatusCode {
    s.validate(&admin.token, token, "").await.0
}

async fn redelegation_and_lifecycle(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "heat-stack").await;
    let trustor = member_of(&s, "owner", &project, "member").await;
    let trustee = user(&s, "heat").await;
    let third = user(&s, "helper").await;

    // A redelegatable trust, and the trustee's token for it.
    let expiry = iso(86_400);
    let root = create_trust(
        &s,
        &trustor.token,
        json!({"trustor_user_id": trustor.user_id, "trustee_user_id": trustee, "project_id": project,
            "impersonation": true, "allow_redelegation": true, "expires_at": expiry, "roles": [{"name": "member"}]}),
    )
    .await;
    assert_eq!(root["redelegation_count"], 3, "max_redelegation_count");
    let root_id = root["id"].as_str().unwrap();
    let (status, token, body) = trust_token(&s, "heat", root_id).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let heat = token.unwrap();
    // The token method works too: the trustee's own token, scoped to the trust.
    let (unscoped, _) = s.password_token("heat", "pw", None).await;
    let (status, _, rescoped) = s
        .auth(
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
            "scope": {"OS-TRUST:trust": {"id": root_id}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rescoped}");
    assert_eq!(rescoped["token"]["OS-TRUST:trust"]["id"], root_id);
    let mut methods: Vec<&str> = rescoped["token"]["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    methods.sort();
    assert_eq!(methods, ["password", "token"]);
    let expires = body["token"]["expires_at"].as_str().unwrap();
    assert!(
        expires <= expiry.replace('Z', ".000000Z").as_str(),
        "{expires} caps at {expiry}"
    );

    // The trustee redelegates to a third user; the chain narrows.
    let child = create_trust(
        &s,
        &heat,
        json!({"trustor_user_id": trustee, "trustee_user_id": third, "project_id": project,
            "impersonation": false, "allow_redelegation": true, "roles": [{"name": "member"}]}),
    )
    .await;
    assert_eq!(child["redelegated_trust_id"], root_id);
    assert_eq!(child["redelegation_count"], 2);
    assert_eq!(child["expires_at"], root["expires_at"], "inherited");
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/OS-TRUST/trusts",
        Some(&heat),
        Some(json!({"trust": {"trustor_user_id": trustee, "trustee_user_id": third, "project_id": project,
            "impersonation": false, "roles": [{"name": "admin"}]}})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a role the original trustor lacks"
    );
    let (status, token, body) = trust_token(&s, "helper", child["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let helper = token.unwrap();
    assert_eq!(
        body["token"]["user"]["id"],
        third.as_str(),
        "no impersonation"
    );
    assert_eq!(body["token"]["project"]["id"], project.as_str());

    // A trust-scoped token manages no credentials.
    let (status, body) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{trustee}/application_credentials"),
        Some(&heat),
        Some(json!({"application_credential": {"name": "escape"}})),
    )
    .await;
    expect_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "Cannot manage application credentials with a token issued via delegation.",
    );
    let (status, _) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{trustee}/credentials/OS-EC2"),
        Some(&heat),
        Some(json!({"tenant_id": project})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A disabled trustor stops the tokens: 403 while disabled (Keystone's
    // "Trustor is disabled."), and revoked for good by the user event that
    // covers trusts the user gave.
    let path = format!("/v3/users/{}", trustor.user_id);
    for (enabled, want) in [
        (false, StatusCode::FORBIDDEN),
        (true, StatusCode::NOT_FOUND),
    ] {
        let (status, _) = call(
            &s,
            Method::PATCH,
            &path,
            Some(&admin.token),
            Some(json!({"user": {"enabled": enabled}})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            status_of(&s, &admin, &heat).await,
            want,
            "trustor enabled: {enabled}"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, token, body) = trust_token(&s, "heat", root_id).await;
    assert_eq!(status, StatusCode::CREATED, "a new token works: {body}");
    let heat = token.unwrap();
    let (owner_token, _) = s
        .password_token("owner", "pw", Some(json!({"project": {"id": project}})))
        .await;

    // Deleting the root trust takes the redelegated one and both tokens.
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/OS-TRUST/trusts/{root_id}"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in [&heat, &helper] {
        assert_eq!(status_of(&s, &admin, token).await, StatusCode::NOT_FOUND);
    }
    let (status, _) = call(
        &s,
        Method::GET,
        &format!("/v3/OS-TRUST/trusts/{}", child["id"].as_str().unwrap()),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting the trustee deletes the trusts it received.
    let again = create_trust(
        &s,
        &owner_token,
        json!({"trustor_user_id": trustor.user_id, "trustee_user_id": third, "project_id": project,
            "impersonation": false, "roles": [{"name": "reader"}]}),
    )
    .await;
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/users/{third}"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &s,
        Method::GET,
        &format!("/v3/OS-TRUST/trusts/{}", again["id"].as_str().unwrap()),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An EC2 pair whose blob names a trust mints a trust-scoped token from
/// `/v3/ec2tokens`: for the trustor with impersonation, the trustee
/// without.
async fn ec2_pairs_through_trusts(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "ec2-trusts").await;
    let trustor = member_of(&s, "delegator", &project, "member").await;
    let trustee = member_of(&s, "worker", &project, "reader").await;
    for impersonation in [true, false] {
        let trust = create_trust(
            &s,
            &trustor.token,
            json!({"trustor_user_id": trustor.user_id, "trustee_user_id": trustee.user_id, "project_id": project,
                "impersonation": impersonation, "roles": [{"name": "member"}]}),
        )
        .await;
        let access = format!("trust{}", uuid::Uuid::new_v4().simple());
        let blob =
            json!({"access": access, "secret": "s3cr3t", "trust_id": trust["id"]}).to_string();
        let (status, body) = call(
            &s,
            Method::POST,
            "/v3/credentials",
            Some(&trustee.token),
            Some(json!({"credential": {"type": "ec2", "user_id": trustee.user_id, "project_id": project, "blob": blob}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let pair = Pair {
            access: access.clone(),
            secret: "s3cr3t".into(),
        };
        let request = v2(
            &pair,
            Some(("Timestamp", iso(0))),
            &format!("n{impersonation}"),
        );
        let (signed, _) = sign(&access, "s3cr3t", &request);
        let (status, body) = call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            Some(&admin.token),
            Some(signed),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let t = &body["token"];
        assert_eq!(t["OS-TRUST:trust"]["id"], trust["id"]);
        let shown_user = if impersonation {
            &trustor.user_id
        } else {
            &trustee.user_id
        };
        assert_eq!(
            t["user"]["id"],
            shown_user.as_str(),
            "impersonation {impersonation}"
        );
        let roles: Vec<&str> = t["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(roles.contains(&"member"), "{roles:?}");
        assert_eq!(t["methods"], json!(["ec2credential"]));

        // Attack: a third user writes the same trust id into a pair of its
        // own. Keystone would mint the trustee's token for it.
        let intruder = member_of(&s, &format!("intruder{impersonation}"), &project, "member").await;
        let access = format!("steal{}", uuid::Uuid::new_v4().simple());
        let blob =
            json!({"access": access, "secret": "s3cr3t", "trust_id": trust["id"]}).to_string();
        let (status, _) = call(
            &s,
            Method::POST,
            "/v3/credentials",
            Some(&intruder.token),
            Some(json!({"credential": {"type": "ec2", "user_id": intruder.user_id, "project_id": project, "blob": blob}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let pair = Pair {
            access: access.clone(),
            secret: "s3cr3t".into(),
        };
        let (signed, _) = sign(
            &access,
            "s3cr3t",
            &v2(&pair, Some(("Timestamp", iso(0))), "steal"),
        );
        let (status, _) = call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            Some(&admin.token),
            Some(signed),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a pair that is not the trustee's"
        );
    }
}

on_every_backend!(redelegation_and_lifecycle, ec2_pairs_through_trusts);
