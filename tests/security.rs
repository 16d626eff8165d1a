//! Issue 12: the holes found by attacking the service as an outsider
//! would. Each test replays an attack that succeeded before its fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine;
use common::signing::{
    amz, body_with, iso, pair_for, pairs, post_ec2, presigned_v4, rfc1123, s3v2_header, setup,
    sign, v2, Pair,
};
use common::{
    admin_member, call, create_project, create_user, expect_error, member_of, role_id, Backend,
    Member, TestServer,
};
use ironstone::signature::ec2::Ec2Request;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// An application credential of `user` with `access_rules`, and a token
/// from it.
async fn app_cred_token(s: &TestServer, user: &Member, rules: Value) -> (String, String) {
    let (status, body) = call(
        s,
        Method::POST,
        &format!("/v3/users/{}/application_credentials", user.user_id),
        Some(&user.token),
        Some(json!({"application_credential": {"name": uuid::Uuid::new_v4().to_string(), "access_rules": rules}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ac = &body["application_credential"];
    let (status, token, body) = s
        .auth(
            json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": ac["id"], "secret": ac["secret"]}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (token.unwrap(), ac["id"].as_str().unwrap().to_string())
}

// 1. Application-credential access rules bind on Ironstone's own API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_rules_bind_on_the_identity_api() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    let victim = create_user(&s, "victim", "pw", Some((&admin.project_id, "member"))).await;
    let admin_role = role_id(&s, &admin.token, "admin").await;
    let (elsewhere, _) = app_cred_token(
        &s,
        &admin,
        json!([{"service": "compute", "method": "GET", "path": "/v2.1/servers"}]),
    )
    .await;
    let p = &admin.project_id;
    let u = &admin.user_id;
    let attacks: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/v3/users".into(), None),
        (Method::GET, "/identity/v3/users".into(), None),
        (
            Method::POST,
            "/v3/domains".into(),
            Some(json!({"domain": {"name": "pwned"}})),
        ),
        (
            Method::PUT,
            format!("/v3/projects/{p}/users/{victim}/roles/{admin_role}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v3/users/{victim}"),
            Some(json!({"user": {"password": "owned"}})),
        ),
        (Method::GET, "/v3/credentials".into(), None),
        (
            Method::POST,
            format!("/v3/users/{u}/credentials/OS-EC2"),
            Some(json!({"tenant_id": p})),
        ),
        (
            Method::POST,
            format!("/v1/{p}/aksks"),
            Some(json!({"project_id": p, "user_id": u})),
        ),
        (Method::GET, format!("/v1/{p}/aksks/{u}"), None),
        (
            Method::POST,
            "/v3/ec2tokens".into(),
            Some(json!({"credentials": {"access": "a", "signature": "b"}})),
        ),
        (
            Method::POST,
            "/v3/s3tokens".into(),
            Some(json!({"credentials": {"access": "a", "signature": "b", "token": "R0VU"}})),
        ),
        (Method::GET, "/v3/auth/projects".into(), None),
        (Method::GET, "/v3/auth/catalog".into(), None),
        (Method::GET, "/v3/role_assignments".into(), None),
        (Method::GET, "/v3/regions".into(), None),
        (
            Method::POST,
            format!("/v3/users/{u}/application_credentials"),
            Some(json!({"application_credential": {"name": "more"}})),
        ),
    ];
    for (method, path, body) in &attacks {
        let (status, got) = call(&s, method.clone(), path, Some(&elsewhere), body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {got}");
    }
    for method in [Method::HEAD, Method::DELETE] {
        let resp = s
            .request(method.clone(), "/v3/auth/tokens")
            .header("X-Auth-Token", &elsewhere)
            .header("X-Subject-Token", &admin.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{method}");
    }
    // Validating tokens is always allowed, as in keystonemiddleware.
    assert_eq!(
        s.validate(&elsewhere, &admin.token, "").await.0,
        StatusCode::OK
    );
    // A forged or unprivileged X-Service-Token does not lift the rules
    // (Keystone 30 lifts them for any X-Service-Token); a service's does.
    let services = create_project(&s, "services").await;
    let reader = member_of(&s, "reader1", &admin.project_id, "reader").await;
    let service = member_of(&s, "nova", &services, "service").await;
    for (service_token, want) in [
        ("garbage", StatusCode::UNAUTHORIZED),
        (reader.token.as_str(), StatusCode::UNAUTHORIZED),
        (service.token.as_str(), StatusCode::CREATED),
    ] {
        let resp = s
            .request(Method::POST, "/v3/domains")
            .header("X-Auth-Token", &elsewhere)
            .header("X-Service-Token", service_token)
            .json(&json!({"domain": {"name": format!("d-{}", uuid::Uuid::new_v4().simple())}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), want);
    }

    // Rules that name identity routes allow exactly those.
    let (reads_users, _) = app_cred_token(
        &s,
        &admin,
        json!([
            {"service": "identity", "method": "GET", "path": "/v3/users"},
            {"service": "identity", "method": "GET", "path": "/v3/users/{user_id}"},
            {"service": "identity", "method": "GET", "path": "/identity/v3/domains/**"},
        ]),
    )
    .await;
    let d = "default";
    for (method, path, want) in [
        (Method::GET, "/v3/users".to_string(), StatusCode::OK),
        (Method::GET, format!("/v3/users/{victim}"), StatusCode::OK),
        (
            Method::GET,
            format!("/identity/v3/domains/{d}"),
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v3/users/{victim}/projects"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Method::GET,
            "/identity/v3/users".to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Method::GET,
            format!("/v3/domains/{d}"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Method::GET,
            "/identity/v3/domains".to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Method::DELETE,
            format!("/v3/users/{victim}"),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (status, got) = call(&s, method.clone(), &path, Some(&reads_users), None).await;
        assert_eq!(status, want, "{method} {path}: {got}");
    }
    // Without rules, an application credential is not limited by path.
    let (unlimited, _) = app_cred_token(&s, &admin, json!([])).await;
    let (status, _) = call(&s, Method::GET, "/v3/domains", Some(&unlimited), None).await;
    assert_eq!(status, StatusCode::OK);
    // It is still a restricted credential: it cannot make another one.
    let (status, _) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{u}/application_credentials"),
        Some(&unlimited),
        Some(json!({"application_credential": {"name": "more"}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

// 2. The request time comes only from what the signature covers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_time_comes_only_from_the_signature() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.signature.throttle_failures = 0).unwrap();
    let (admin, _, pair) = setup(&s).await;
    let two_days = -2 * 86_400;

    // Presigned SigV4 signed two days ago, with an unsigned fresh x-amz-date.
    let mut old = presigned_v4(&pair, two_days, None, "1");
    let (body, sig) = sign(&pair.access, &pair.secret, &old);
    assert_eq!(
        post_ec2(&s, &admin.token, body).await.0,
        StatusCode::UNAUTHORIZED
    );
    old.headers.push(("x-amz-date".into(), amz(0)));
    let (status, got) = post_ec2(&s, &admin.token, body_with(&pair.access, &old, &sig)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{got}");

    // S3 V2 signed with an old Date, plus an unsigned fresh Timestamp.
    for days in [2, 30] {
        let mut r = s3v2_header(&pair, &rfc1123(-days * 86_400), &format!("/b/{days}"));
        let (_, sig) = sign(&pair.access, &pair.secret, &r);
        r.headers[1].1 = format!("AWS {}:{sig}", pair.access);
        r.params.push(("Timestamp".into(), iso(0)));
        let (status, got) = post_ec2(&s, &admin.token, body_with(&pair.access, &r, &sig)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{days} days: {got}");
    }
    // A fresh one verifies, once.
    let mut fresh = s3v2_header(&pair, &rfc1123(0), "/b/fresh");
    let (_, sig) = sign(&pair.access, &pair.secret, &fresh);
    fresh.headers[1].1 = format!("AWS {}:{sig}", pair.access);
    let body = body_with(&pair.access, &fresh, &sig);
    assert_eq!(
        post_ec2(&s, &admin.token, body.clone()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post_ec2(&s, &admin.token, body).await.0,
        StatusCode::UNAUTHORIZED
    );

    // EC2 v0/v2 without any time are refused; a signed Expires counts.
    let (no_time, _) = sign(&pair.access, &pair.secret, &v2(&pair, None, "a"));
    let (status, got) = post_ec2(&s, &admin.token, no_time).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .contains("covers no time"),
        "{got}"
    );
    let v0 = Ec2Request {
        params: pairs(&[("SignatureVersion", "0"), ("Action", "A")]),
        ..Default::default()
    };
    let (body, _) = sign(&pair.access, &pair.secret, &v0);
    assert_eq!(
        post_ec2(&s, &admin.token, body).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (expiring, _) = sign(
        &pair.access,
        &pair.secret,
        &v2(&pair, Some(("Expires", iso(600))), "b"),
    );
    assert_eq!(post_ec2(&s, &admin.token, expiring).await.0, StatusCode::OK);
    let (expired, _) = sign(
        &pair.access,
        &pair.secret,
        &v2(&pair, Some(("Expires", iso(-1))), "c"),
    );
    assert_eq!(
        post_ec2(&s, &admin.token, expired).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Presigned SigV4: valid until X-Amz-Date + X-Amz-Expires, at most 7 days.
    for (offset, expires, want) in [
        (-1800, "3600", StatusCode::OK),
        (-7200, "3600", StatusCode::UNAUTHORIZED),
        (0, "700000", StatusCode::UNAUTHORIZED),
        (0, "soon", StatusCode::UNAUTHORIZED),
    ] {
        let r = presigned_v4(&pair, offset, Some(expires), &format!("p{offset}{expires}"));
        let (body, _) = sign(&pair.access, &pair.secret, &r);
        let (status, got) = post_ec2(&s, &admin.token, body).await;
        assert_eq!(status, want, "{offset} {expires}: {got}");
    }
    // Presigned S3 V2: valid until Expires.
    for (expires, want) in [(600, StatusCode::OK), (-1, StatusCode::UNAUTHORIZED)] {
        let at = (chrono::Utc::now().timestamp() + expires).to_string();
        let mut params = pairs(&[("Expires", &at)]);
        params.push(("AWSAccessKeyId".into(), pair.access.clone()));
        let r = Ec2Request {
            verb: "GET".into(),
            path: format!("/b/presigned{expires}"),
            params,
            ..Default::default()
        };
        let (body, _) = sign(&pair.access, &pair.secret, &r);
        assert_eq!(post_ec2(&s, &admin.token, body).await.0, want, "{expires}");
    }
    // s3tokens: a presigned string to sign carries Expires in the Date line.
    for (expires, want) in [(600, StatusCode::OK), (-1, StatusCode::UNAUTHORIZED)] {
        let at = chrono::Utc::now().timestamp() + expires;
        let sts = format!("GET\n\n\n{at}\n/bucket/object{expires}");
        let sig = base64::engine::general_purpose::STANDARD.encode(
            ironstone::signature::hmac_sha1(pair.secret.as_bytes(), sts.as_bytes()),
        );
        let body = json!({"credentials": {"access": pair.access, "signature": sig,
            "token": base64::engine::general_purpose::URL_SAFE.encode(sts)}});
        let (status, got) = call(
            &s,
            Method::POST,
            "/v3/s3tokens",
            Some(&admin.token),
            Some(body),
        )
        .await;
        assert_eq!(status, want, "{expires}: {got}");
    }
    drop(s);

    // Times may be made optional; such requests are still refused as replays.
    let s =
        TestServer::start_with(Backend::Sqlite, |c| c.signature.require_timestamp = false).unwrap();
    let (admin, _, pair) = setup(&s).await;
    let (no_time, _) = sign(&pair.access, &pair.secret, &v2(&pair, None, "a"));
    assert_eq!(
        post_ec2(&s, &admin.token, no_time.clone()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post_ec2(&s, &admin.token, no_time).await.0,
        StatusCode::UNAUTHORIZED
    );
}

// 3. The throttle never refuses a correctly signed request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_lock_others_out() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.signature.throttle_failures = 10;
        c.signature.throttle_peer_failures = 40;
    })
    .unwrap();
    let (admin, user, victim) = setup(&s).await;
    let other = pair_for(&s, &user, json!({})).await;
    let good = |pair: &Pair, nonce: &str, client: Option<&str>| {
        let (mut body, _) = sign(
            &pair.access,
            &pair.secret,
            &v2(pair, Some(("Timestamp", iso(0))), nonce),
        );
        if let Some(ip) = client {
            body["credentials"]["client_ip"] = json!(ip);
        }
        body
    };
    let bad = |access: &str, client: Option<&str>| {
        let mut body = json!({"credentials": {"access": access, "signature": "bad", "verb": "GET", "host": "h", "path": "/",
            "params": {"SignatureVersion": "2", "Timestamp": iso(0)}}});
        if let Some(ip) = client {
            body["credentials"]["client_ip"] = json!(ip);
        }
        body
    };
    // Ten failures with random keys and no client_ip (as gateways send).
    for _ in 0..10 {
        let key = uuid::Uuid::new_v4().simple().to_string();
        assert_eq!(
            post_ec2(&s, &admin.token, bad(&key, None)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        post_ec2(&s, &admin.token, good(&victim, "1", None)).await.0,
        StatusCode::OK
    );
    // Ten failures on the victim's key from ten reported clients.
    for i in 0..10 {
        let ip = format!("198.51.100.{i}");
        post_ec2(&s, &admin.token, bad(&victim.access, Some(&ip))).await;
    }
    assert_eq!(
        post_ec2(&s, &admin.token, good(&victim, "2", Some("203.0.113.9")))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        post_ec2(&s, &admin.token, good(&victim, "3", None)).await.0,
        StatusCode::OK
    );
    // One client past its budget gets 429s for its failures, and a
    // correct request from it still passes.
    let client = Some("192.0.2.1");
    for i in 0..10 {
        let (status, _) = post_ec2(&s, &admin.token, bad(&victim.access, client)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{i}");
    }
    let resp = s
        .request(Method::POST, "/v3/ec2tokens")
        .header("X-Auth-Token", &admin.token)
        .json(&bad(&other.access, client))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "per client, any key"
    );
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(
        post_ec2(&s, &admin.token, good(&victim, "4", client))
            .await
            .0,
        StatusCode::OK
    );
    // Rotating client_ip does not evade the calling service's own budget.
    let mut last = StatusCode::OK;
    for i in 0..30 {
        let ip = format!("10.0.{}.{}", i / 200, i % 200);
        last = post_ec2(&s, &admin.token, bad(&other.access, Some(&ip)))
            .await
            .0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // The budget is the service's across both signature routes.
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/s3tokens",
        Some(&admin.token),
        Some(json!({"credentials": {"access": other.access, "signature": "bad", "token": "R0VUCgoKCi8="}})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "s3tokens: {body}");
    assert_eq!(
        post_ec2(&s, &admin.token, good(&other, "5", Some("10.9.9.9")))
            .await
            .0,
        StatusCode::OK
    );
}

// 4. Overlong access keys and signatures are refused before anything
// holds them (the bound on the throttle's memory is in tests/throttle_memory.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlong_keys_are_refused() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    for (access, signature) in [
        ("a".repeat(129), "sig".to_string()),
        ("a".to_string(), "s".repeat(513)),
    ] {
        let body = json!({"credentials": {"access": access, "signature": signature, "params": {"SignatureVersion": "2"}}});
        let (status, got) = post_ec2(&s, &admin.token, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    }
    let ok_length = json!({"credentials": {"access": "a".repeat(128), "signature": "s", "verb": "GET", "host": "h", "path": "/",
        "params": {"SignatureVersion": "2", "Timestamp": iso(0)}}});
    assert_eq!(
        post_ec2(&s, &admin.token, ok_length).await.0,
        StatusCode::UNAUTHORIZED
    );
}

// 5. The per-user credential limit holds under concurrent creates.
async fn user_limit_is_atomic(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.credential.user_limit = 5) else {
        return;
    };
    let project = create_project(&s, "limited").await;
    let user = member_of(&s, "hoarder", &project, "member").await;
    let path = format!("/v1/{project}/aksks");
    let creates = (0..50).map(|_| {
        call(
            &s,
            Method::POST,
            &path,
            Some(&user.token),
            Some(json!({"project_id": project, "user_id": user.user_id})),
        )
    });
    let results = futures_util::future::join_all(creates).await;
    let created = results
        .iter()
        .filter(|(st, _)| *st == StatusCode::OK)
        .count();
    let refused = results
        .iter()
        .filter(|(st, _)| *st == StatusCode::FORBIDDEN)
        .count();
    assert_eq!(
        (created, refused),
        (5, 45),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let (_, keys) = call(
        &s,
        Method::GET,
        &format!("/v1/{project}/aksks/{}/keys", user.user_id),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(5), "{keys}");
}

// 6a. EC2 credentials that Keystone limited to an application credential
// stay limited, and stop working with it.
async fn restricted_ec2_credentials_stay_restricted(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (admin, user, _) = setup(&s).await;
    let reader = role_id(&s, &admin.token, "reader").await;
    let (status, body) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{}/application_credentials", user.user_id),
        Some(&user.token),
        Some(json!({"application_credential": {"name": "ro", "roles": [{"id": reader}]}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let app_cred_id = body["application_credential"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // As `ironstone import keystone` brings such a pair over.
    let store_pair = |access: &str, extra: Value| {
        let mut blob = json!({"access": access, "secret": "restricted-secret", "trust_id": null});
        blob.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (user_id, project_id) = (user.user_id.clone(), user.project_id.clone());
        let access = access.to_string();
        let cipher = s.state().credentials.clone();
        s.db(move |conn| {
            ironstone::credential::create(
                conn,
                &cipher,
                ironstone::credential::NewCredential {
                    id: ironstone::credential::ec2_credential_id(&access),
                    user_id,
                    project_id: Some(project_id),
                    credential_type: "ec2".into(),
                    blob: ironstone::secret::Secret::new(blob.to_string()),
                    meta: ironstone::credential::KeyMeta {
                        enabled: true,
                        ..Default::default()
                    },
                    secret_digest: None,
                },
            )
            .map(|_| ())
        })
    };
    store_pair("restrictedak", json!({"app_cred_id": app_cred_id})).await;
    store_pair("oauthak", json!({"access_token_id": "abc"})).await;
    let restricted = Pair {
        access: "restrictedak".into(),
        secret: "restricted-secret".into(),
    };
    let signed = |pair: &Pair, nonce: &str| {
        sign(
            &pair.access,
            &pair.secret,
            &v2(pair, Some(("Timestamp", iso(0))), nonce),
        )
        .0
    };
    let (status, body) = post_ec2(&s, &admin.token, signed(&restricted, "1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let roles: Vec<&str> = body["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        vec!["reader"],
        "only the application credential's roles"
    );
    assert_eq!(
        body["token"]["application_credential"]["id"],
        app_cred_id.as_str()
    );
    assert_eq!(body["token"]["methods"], json!(["ec2credential"]));
    let oauth = Pair {
        access: "oauthak".into(),
        secret: "restricted-secret".into(),
    };
    assert_eq!(
        post_ec2(&s, &admin.token, signed(&oauth, "1")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Its owner cannot lift the restriction by rewriting the blob.
    let id = ironstone::credential::ec2_credential_id("restrictedak");
    let (status, body) = call(
        &s,
        Method::PATCH,
        &format!("/v3/credentials/{id}"),
        Some(&user.token),
        Some(json!({"credential": {"blob": json!({"access": "restrictedak", "secret": "x"}).to_string()}})),
    )
    .await;
    expect_error(status, &body, StatusCode::BAD_REQUEST, "app_cred_id");
    // Once the application credential is gone, the pair no longer verifies.
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!(
            "/v3/users/{}/application_credentials/{app_cred_id}",
            user.user_id
        ),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        post_ec2(&s, &admin.token, signed(&restricted, "2")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

// 6b. Whether an access key or a credential exists does not show.
/// Medians of two kinds of request, timed interleaved so that load beside
/// the test weighs on both alike.
async fn interleaved_medians(
    s: &TestServer,
    token: &str,
    rounds: usize,
    mut a: impl FnMut(usize) -> Value,
    mut b: impl FnMut(usize) -> Value,
) -> (f64, f64) {
    let mut times = (Vec::new(), Vec::new());
    for i in 0..rounds {
        // Each goes first every other round: on a loaded machine the first
        // of two requests in a row is the slower one.
        let mut pair = [(a(i), &mut times.0), (b(i), &mut times.1)];
        if i % 2 == 1 {
            pair.reverse();
        }
        for (body, out) in pair {
            let started = std::time::Instant::now();
            let (status, _) = post_ec2(s, token, body).await;
            out.push(started.elapsed().as_secs_f64());
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
    }
    times.0.sort_by(f64::total_cmp);
    times.1.sort_by(f64::total_cmp);
    (times.0[rounds / 2], times.1[rounds / 2])
}

/// Whether two medians are within 25 % of each other (printed either way).
fn alike(what: &str, known: f64, unknown: f64) -> bool {
    eprintln!(
        "{what}: median known {:.0} µs, unknown {:.0} µs",
        known * 1e6,
        unknown * 1e6
    );
    (unknown - known).abs() <= 0.25 * known.max(unknown)
}

/// Measurements a loaded machine spoils now and then: a real difference
/// shows in every one of them, noise seldom three times in a row.
const TIMING_ATTEMPTS: usize = 3;

/// A known and an unknown access key cost the same: unknown keys are
/// cached like known ones (so a repeated probe is answered alike), and a
/// key met for the first time costs one read and one decryption whether
/// it exists or not (a decoy blob for unknown keys). Before, only found
/// keys were cached: unknown keys took 1.5 times as long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_known_keys_take_the_same_time() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.signature.throttle_failures = 0;
        c.signature.throttle_peer_failures = 0;
    })
    .unwrap();
    let (admin, user, pair) = setup(&s).await;
    let attempt = |access: &str| {
        json!({"credentials": {"access": access, "signature": "bad", "verb": "GET", "host": "h", "path": "/",
            "params": {"SignatureVersion": "2", "Timestamp": iso(0)}}})
    };
    // The same key again and again.
    let unknown_key = uuid::Uuid::new_v4().simple().to_string();
    for _ in 0..20 {
        post_ec2(&s, &admin.token, attempt(&pair.access)).await;
    }
    let mut repeated_alike = false;
    for _ in 0..TIMING_ATTEMPTS {
        let (k, u) = interleaved_medians(
            &s,
            &admin.token,
            300,
            |_| attempt(&pair.access),
            |_| attempt(&unknown_key),
        )
        .await;
        if alike("repeated probes", k, u) {
            repeated_alike = true;
            break;
        }
    }
    assert!(repeated_alike, "repeated probes differ in every attempt");
    // Keys met for the first time: pairs nobody used since they were made,
    // 300 for each attempt.
    let cold: Vec<String> = (0..300 * TIMING_ATTEMPTS)
        .map(|i| format!("cold{i:04}{}", uuid::Uuid::new_v4().simple()))
        .collect();
    let (cipher, keys, user_id, project_id) = (
        s.state().credentials.clone(),
        cold.clone(),
        user.user_id.clone(),
        user.project_id.clone(),
    );
    s.db(move |conn| {
        for access in &keys {
            ironstone::credential::create(
                conn,
                &cipher,
                ironstone::credential::NewCredential {
                    id: ironstone::credential::ec2_credential_id(access),
                    user_id: user_id.clone(),
                    project_id: Some(project_id.clone()),
                    credential_type: "ec2".into(),
                    blob: ironstone::secret::Secret::new(ironstone::credential::ec2_blob(
                        access, "s",
                    )),
                    meta: ironstone::credential::KeyMeta {
                        enabled: true,
                        ..Default::default()
                    },
                    secret_digest: None,
                },
            )?;
        }
        Ok(())
    })
    .await;
    for round in 0..TIMING_ATTEMPTS {
        let (k, u) = interleaved_medians(
            &s,
            &admin.token,
            300,
            |i| attempt(&cold[round * 300 + i]),
            |_| attempt(&uuid::Uuid::new_v4().simple().to_string()),
        )
        .await;
        if alike("first probes", k, u) {
            return;
        }
    }
    panic!("first probes differ in every attempt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_reads_do_not_reveal_existence() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    let project = create_project(&s, "p").await;
    let owner = member_of(&s, "owner", &project, "member").await;
    let stranger = member_of(&s, "stranger", &project, "member").await;
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&owner.token),
        Some(json!({"credential": {"type": "cert", "blob": "x", "user_id": owner.user_id}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let existing = body["credential"]["id"].as_str().unwrap().to_string();
    let missing = "0".repeat(32);
    for (who, token, id, want) in [
        (
            "stranger",
            &stranger.token,
            &existing,
            StatusCode::FORBIDDEN,
        ),
        ("stranger", &stranger.token, &missing, StatusCode::FORBIDDEN),
        ("owner", &owner.token, &missing, StatusCode::FORBIDDEN),
        ("admin", &admin.token, &missing, StatusCode::NOT_FOUND),
        ("owner", &owner.token, &existing, StatusCode::OK),
    ] {
        let path = format!("/v3/credentials/{id}");
        assert_eq!(
            call(&s, Method::GET, &path, Some(token), None).await.0,
            want,
            "GET {who} {id}"
        );
        let patch = json!({"credential": {"blob": "y"}});
        assert_eq!(
            call(&s, Method::PATCH, &path, Some(token), Some(patch))
                .await
                .0,
            want,
            "PATCH {who} {id}"
        );
        if want != StatusCode::OK {
            assert_eq!(
                call(&s, Method::DELETE, &path, Some(token), None).await.0,
                want,
                "DELETE {who} {id}"
            );
        }
    }
    // A blob of the wrong type is refused without being echoed.
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&owner.token),
        Some(json!({"credential": {"type": "cert", "blob": {"secret": "hunter2-leak"}, "user_id": owner.user_id}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.to_string().contains("hunter2-leak"), "{body}");
}

// 6c. An unknown application-credential id is the same 401 as a wrong secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_application_credential_ids_look_like_wrong_secrets() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    let (_, ac_id) = app_cred_token(&s, &admin, json!([])).await;
    let attempt = |id: &str| {
        json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": id, "secret": "wrong"}}}})
    };
    let (unknown_status, _, unknown) = s.auth(attempt(&"f".repeat(32))).await;
    let (wrong_status, _, wrong) = s.auth(attempt(&ac_id)).await;
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown, wrong);
}

// 6d. The database and its directory belong to the service's user alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let top = tempfile::tempdir().unwrap();
    let data = top.path().join("data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let s = TestServer::start_with(Backend::Sqlite, |c| c.server.data_dir = data.clone()).unwrap();
    admin_member(&s).await;
    assert_eq!(mode(&data), 0o700);
    for file in [
        "ironstone.sqlite",
        "ironstone.sqlite-wal",
        "ironstone.sqlite-shm",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    drop(s);
    // A file left readable by an older release is tightened.
    std::fs::set_permissions(
        data.join("ironstone.sqlite"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let _s = TestServer::start_with(Backend::Sqlite, |c| c.server.data_dir = data.clone()).unwrap();
    assert_eq!(mode(&data.join("ironstone.sqlite")), 0o600);
}

// 6e. Forwarded headers count only from trusted proxies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_need_a_trusted_proxy() {
    let forged = |s: &TestServer, path: &str| {
        s.request(Method::GET, path)
            .header("X-Forwarded-Host", "evil.example")
            .header("X-Forwarded-Proto", "https")
            .send()
    };
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let body: Value = forged(&s, "/v3").await.unwrap().json().await.unwrap();
    let href = body["version"]["links"][0]["href"].as_str().unwrap();
    assert!(href.starts_with(&format!("{}/v3", s.url)), "{href}");
    let resp = forged(&s, "/v3/auth/projects").await.unwrap();
    let www = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!www.contains("evil"), "{www}");
    drop(s);
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.server.trusted_proxies = vec!["127.0.0.0/8".into()]
    })
    .unwrap();
    let body: Value = forged(&s, "/v3").await.unwrap().json().await.unwrap();
    assert_eq!(
        body["version"]["links"][0]["href"],
        "https://evil.example/v3/"
    );
    drop(s);
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.server.public_endpoint = Some("https://id.example.com".into())
    })
    .unwrap();
    let resp = forged(&s, "/v3/auth/projects").await.unwrap();
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Keystone uri=\"https://id.example.com/v3\""
    );
}

// 6f. Only a trusted service may report the client's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_needs_a_trusted_caller() {
    let s =
        TestServer::start_with(Backend::Sqlite, |c| c.signature.allow_anonymous = true).unwrap();
    let (admin, user, _) = setup(&s).await;
    let listed = pair_for(&s, &user, json!({"allowed_cidrs": ["10.0.0.0/8"]})).await;
    let services = create_project(&s, "services").await;
    let service = member_of(&s, "swift", &services, "service").await;
    let request = |nonce: &str, ip: Option<&str>| {
        let (mut body, _) = sign(
            &listed.access,
            &listed.secret,
            &v2(&listed, Some(("Timestamp", iso(0))), nonce),
        );
        if let Some(ip) = ip {
            body["credentials"]["client_ip"] = json!(ip);
        }
        body
    };
    let cases = [
        (
            None,
            request("1", Some("10.1.1.1")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(&user.token),
            request("2", Some("10.1.1.1")),
            StatusCode::FORBIDDEN,
        ),
        // The allow-list needs the address.
        (None, request("3", None), StatusCode::UNAUTHORIZED),
        (
            Some(&service.token),
            request("4", Some("10.1.1.1")),
            StatusCode::OK,
        ),
        // An IPv4-mapped IPv6 address is the IPv4 address.
        (
            Some(&admin.token),
            request("5", Some("::ffff:10.9.9.9")),
            StatusCode::OK,
        ),
        (
            Some(&admin.token),
            request("6", Some("::ffff:11.9.9.9")),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (i, (token, body, want)) in cases.into_iter().enumerate() {
        let (status, got) = call(
            &s,
            Method::POST,
            "/v3/ec2tokens",
            token.map(String::as_str),
            Some(body),
        )
        .await;
        assert_eq!(status, want, "case {i}: {got}");
    }
}

on_every_backend!(
    user_limit_is_atomic,
    restricted_ec2_credentials_stay_restricted
);

// 3/6e. A forged X-Forwarded-For does not split the calling service's
// failure budget; from a trusted proxy it names the real client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    async fn failures(
        s: &TestServer,
        token: &str,
        forwarded_for: impl Fn(usize) -> String,
    ) -> StatusCode {
        let mut last = StatusCode::OK;
        for i in 0..6 {
            let body = json!({"credentials": {"access": uuid::Uuid::new_v4().simple().to_string(), "signature": "bad",
                "verb": "GET", "host": "h", "path": "/", "params": {"SignatureVersion": "2", "Timestamp": iso(0)}}});
            last = s
                .request(Method::POST, "/v3/ec2tokens")
                .header("X-Auth-Token", token)
                .header("X-Forwarded-For", forwarded_for(i))
                .json(&body)
                .send()
                .await
                .unwrap()
                .status();
        }
        last
    }
    let budget = |c: &mut ironstone::config::Config| c.signature.throttle_peer_failures = 5;
    let s = TestServer::start_with(Backend::Sqlite, budget).unwrap();
    let admin = admin_member(&s).await;
    let rotating = |i: usize| format!("203.0.113.{i}");
    assert_eq!(
        failures(&s, &admin.token, rotating).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    drop(s);
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        budget(c);
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .unwrap();
    let admin = admin_member(&s).await;
    assert_eq!(
        failures(&s, &admin.token, rotating).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        failures(&s, &admin.token, |_| "203.0.113.99".into()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Where the `ec2credential` auth method is not enabled, the signature
/// routes cannot mint a token and say so with a 503, before reading the
/// signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_routes_need_the_ec2credential_method() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.auth.methods.retain(|m| m != "ec2credential");
    })
    .unwrap();
    let admin = admin_member(&s).await;
    for (path, body) in [
        (
            "/v3/ec2tokens",
            json!({"credentials": {"access": "a", "signature": "s", "verb": "GET", "host": "h", "path": "/",
                "params": {"SignatureVersion": "2", "Timestamp": iso(0)}}}),
        ),
        (
            "/v3/s3tokens",
            json!({"credentials": {"access": "a", "signature": "s", "token": "R0VUCgoKCi8="}}),
        ),
    ] {
        let (status, got) = call(&s, Method::POST, path, Some(&admin.token), Some(body)).await;
        expect_error(
            status,
            &got,
            StatusCode::SERVICE_UNAVAILABLE,
            "ec2credential",
        );
    }
}
