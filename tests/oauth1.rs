//! OS-OAUTH1 under attack, on SQLite and PostgreSQL: what a caller can
//! replay, redirect, borrow or forge, and what is kept of the secrets.
//! Requests are signed here with Ironstone's own RFC 5849 code (the real
//! clients are in `differential::oauth1_flow_as_in_keystone` and
//! `interop_openstack::openstack_oauth1_delegation`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, member_of, Backend, TestServer};
use ironstone::signature::oauth1 as sig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A consumer's key and secret.
struct Consumer {
    key: String,
    secret: String,
}

/// What to sign, beyond the consumer.
#[derive(Default, Clone)]
struct Signing<'a> {
    token: Option<(&'a str, &'a str)>,
    verifier: Option<&'a str>,
    callback: bool,
    /// Seconds added to now.
    skew: i64,
    nonce: Option<&'a str>,
    /// The host the signature names (the server's, unless set).
    host: Option<&'a str>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An `Authorization: OAuth …` header for `POST path` on `s`.
fn authorization(s: &TestServer, c: &Consumer, path: &str, how: Signing<'_>) -> String {
    let host = s.url.trim_start_matches("http://").to_string();
    let nonce = how
        .nonce
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let mut params = vec![
        ("oauth_consumer_key".to_string(), c.key.clone()),
        ("oauth_nonce".into(), nonce),
        ("oauth_signature_method".into(), "HMAC-SHA1".into()),
        ("oauth_timestamp".into(), (now() + how.skew).to_string()),
        ("oauth_version".into(), "1.0".into()),
    ];
    if let Some((key, _)) = how.token {
        params.push(("oauth_token".into(), key.to_string()));
    }
    if let Some(v) = how.verifier {
        params.push(("oauth_verifier".into(), v.to_string()));
    }
    if how.callback {
        params.push(("oauth_callback".into(), "oob".into()));
    }
    let base = sig::base_string(
        "POST",
        "http",
        how.host.unwrap_or(&host),
        path,
        &[],
        &params,
    );
    let token_secret = how.token.map(|(_, secret)| secret).unwrap_or("");
    let signature = sig::sign(sig::Method::HmacSha1, &base, &c.secret, token_secret);
    params.push(("oauth_signature".into(), signature));
    let enc = |v: &str| ironstone::signature::uri_encode(v.as_bytes(), false);
    let fields: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", enc(v)))
        .collect();
    format!("OAuth {}", fields.join(", "))
}

async fn post(
    s: &TestServer,
    path: &str,
    header: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut req = s
        .request(Method::POST, path)
        .header("Authorization", header);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

fn form(text: &str, key: &str) -> String {
    sig::form_pairs(text)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

async fn consumer(s: &TestServer, admin: &str) -> Consumer {
    let (status, body) = call(
        s,
        Method::POST,
        "/v3/OS-OAUTH1/consumers",
        Some(admin),
        Some(json!({"consumer": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Consumer {
        key: body["consumer"]["id"].as_str().unwrap().into(),
        secret: body["consumer"]["secret"].as_str().unwrap().into(),
    }
}

/// A request token of `c` for `project`: (key, secret).
async fn request_token(s: &TestServer, c: &Consumer, project: &str) -> (String, String) {
    let path = "/v3/OS-OAUTH1/request_token";
    let header = authorization(
        s,
        c,
        path,
        Signing {
            callback: true,
            ..Default::default()
        },
    );
    let (status, text) = post(s, path, &header, &[("Requested-Project-Id", project)]).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    (
        form(&text, "oauth_token"),
        form(&text, "oauth_token_secret"),
    )
}

async fn authorize(
    s: &TestServer,
    token: &str,
    request_key: &str,
    role: &str,
) -> (StatusCode, Value) {
    call(
        s,
        Method::PUT,
        &format!("/v3/OS-OAUTH1/authorize/{request_key}"),
        Some(token),
        Some(json!({"roles": [{"name": role}]})),
    )
    .await
}

async fn attacks(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = common::create_project(&s, "delegated").await;
    // The delegating user holds member (and what it implies) there.
    let alice = member_of(&s, "alice", &project, "admin").await;
    let a = consumer(&s, &admin.token).await;
    let b = consumer(&s, &admin.token).await;
    let rt_path = "/v3/OS-OAUTH1/request_token";
    let at_path = "/v3/OS-OAUTH1/access_token";

    // A signature names the host and path it was made for: one made for
    // another host does not verify here.
    let elsewhere = authorization(
        &s,
        &a,
        rt_path,
        Signing {
            callback: true,
            host: Some("keystone.example"),
            ..Default::default()
        },
    );
    let (status, _) = post(
        &s,
        rt_path,
        &elsewhere,
        &[("Requested-Project-Id", &project)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A stale signature is refused before anything is looked at.
    let stale = authorization(
        &s,
        &a,
        rt_path,
        Signing {
            callback: true,
            skew: -700,
            ..Default::default()
        },
    );
    let (status, _) = post(&s, rt_path, &stale, &[("Requested-Project-Id", &project)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // One signed request is accepted once, whichever replica it reaches.
    let once = authorization(
        &s,
        &a,
        rt_path,
        Signing {
            callback: true,
            nonce: Some("n-once"),
            ..Default::default()
        },
    );
    let (status, _) = post(&s, rt_path, &once, &[("Requested-Project-Id", &project)]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = post(&s, rt_path, &once, &[("Requested-Project-Id", &project)]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a replayed request token request"
    );

    // Alice lends member; she cannot lend what she does not hold.
    let (rk, rs) = request_token(&s, &a, &project).await;
    let (status, _) = authorize(&s, &alice.token, &rk, "no-such-role").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/roles",
        Some(&admin.token),
        Some(json!({"role": {"name": "auditor"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = authorize(&s, &alice.token, &rk, "auditor").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a role she does not hold");
    let (status, body) = authorize(&s, &alice.token, &rk, "member").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let verifier = body["token"]["oauth_verifier"]
        .as_str()
        .unwrap()
        .to_string();

    // Consumer B cannot trade A's request token, even knowing its secret.
    let borrowed = authorization(
        &s,
        &b,
        at_path,
        Signing {
            token: Some((&rk, &rs)),
            verifier: Some(&verifier),
            ..Default::default()
        },
    );
    let (status, _) = post(&s, at_path, &borrowed, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A guessed verifier fails.
    let guessed = authorization(
        &s,
        &a,
        at_path,
        Signing {
            token: Some((&rk, &rs)),
            verifier: Some("AAAAAAAA"),
            ..Default::default()
        },
    );
    let (status, _) = post(&s, at_path, &guessed, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let trade = authorization(
        &s,
        &a,
        at_path,
        Signing {
            token: Some((&rk, &rs)),
            verifier: Some(&verifier),
            ..Default::default()
        },
    );
    let (status, text) = post(&s, at_path, &trade, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let (ak, as_) = (
        form(&text, "oauth_token"),
        form(&text, "oauth_token_secret"),
    );
    // The request token is spent.
    let (status, _) = post(&s, at_path, &trade, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Logging in: B cannot use A's access token, a replay is refused.
    let login = |c: &Consumer, nonce: Option<&'static str>| {
        authorization(
            &s,
            c,
            "/v3/auth/tokens",
            Signing {
                token: Some((&ak, &as_)),
                nonce,
                ..Default::default()
            },
        )
    };
    let body = json!({"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}});
    let send = |header: String| {
        let (s, body) = (&s, body.clone());
        async move {
            let resp = s
                .request(Method::POST, "/v3/auth/tokens")
                .header("Authorization", header)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let token = resp
                .headers()
                .get("X-Subject-Token")
                .map(|v| v.to_str().unwrap().to_string());
            (status, token)
        }
    };
    assert_eq!(send(login(&b, None)).await.0, StatusCode::UNAUTHORIZED);
    // The same signed request again (a nonce is unique per timestamp, so
    // the very header is sent twice).
    let signed_login = login(&a, Some("login-once"));
    let (status, token) = send(signed_login.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = token.unwrap();
    assert_eq!(send(signed_login).await.0, StatusCode::UNAUTHORIZED);
    let (status, validated) = s.validate(&admin.token, &token, "").await;
    assert_eq!(status, StatusCode::OK, "{validated}");
    let mut roles: Vec<&str> = validated["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        ["member", "reader"],
        "member and what it implies, not admin"
    );

    // A delegated token mints nothing: no rescope, no authorization of
    // another request token, no application credential.
    let (rk2, _) = request_token(&s, &a, &project).await;
    assert_eq!(
        authorize(&s, &token, &rk2, "member").await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{}/application_credentials", alice.user_id),
        Some(&token),
        Some(json!({"application_credential": {"name": "escape"}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Secrets at rest: encrypted, the verifier only as a digest.
    let state = s.state();
    let rows = state
        .db
        .read(|conn| {
            use diesel::prelude::*;
            use ironstone::store::schema::{oauth_access_tokens as at, oauth_consumers as oc};
            let consumers: Vec<String> = oc::table.select(oc::encrypted_secret).load(conn)?;
            let tokens: Vec<String> = at::table.select(at::encrypted_secret).load(conn)?;
            Ok((consumers, tokens))
        })
        .await
        .unwrap();
    for stored in rows.0.iter().chain(&rows.1) {
        assert!(!stored.contains(&a.secret) && !stored.contains(&as_));
    }

    // Alice losing the role she lent (through admin, which implies it)
    // ends the delegation's tokens.
    let role = common::role_id(&s, &admin.token, "admin").await;
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!(
            "/v3/projects/{project}/users/{}/roles/{role}",
            alice.user_id
        ),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.validate(&admin.token, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
}

/// OAuth1 nonces share the record of used signatures with the EC2 and S3
/// verifiers, in the same unit: an OAuth1 request pruning the expired
/// ones leaves a fresh EC2 signature recorded, so replaying it on another
/// replica is still refused. (The first OAuth1 release stored and pruned
/// in microseconds, deleting every EC2 record.)
async fn oauth1_leaves_other_signatures_recorded(backend: Backend) {
    let Some(a) = TestServer::start(backend) else {
        return;
    };
    let b = a.replica(|_| {});
    let admin = admin_member(&a).await;
    let pair = common::signing::pair_for(&a, &admin, json!({})).await;
    let once = common::signing::ec2_v2_body(&pair.access, &pair.secret);
    let ec2 = |node, body| common::signing::post_ec2(node, &admin.token, body);
    assert_eq!(ec2(&a, once.clone()).await.0, StatusCode::OK);
    let c = consumer(&a, &admin.token).await;
    request_token(&a, &c, &admin.project_id).await;
    assert_eq!(ec2(&b, once).await.0, StatusCode::UNAUTHORIZED);
}

on_every_backend!(attacks);
on_clustered_backends!(oauth1_leaves_other_signatures_recorded);
