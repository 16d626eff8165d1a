//! Key lifecycle beyond Keystone: rotation with overlap, for AK/SK pairs
//! and application credentials, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::signing::{iso, pair_for, post_ec2, sign, v2, Pair};
use common::{
    admin_member, call, create_app_cred, create_project, member_of, role_id, Backend, Member,
    TestServer,
};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Verifies a fresh v2 request signed with `pair` through `/v3/ec2tokens`.
async fn verifies(s: &TestServer, service: &str, pair: &Pair) -> StatusCode {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let (body, _) = sign(
        &pair.access,
        &pair.secret,
        &v2(pair, Some(("Timestamp", iso(0))), &nonce),
    );
    post_ec2(s, service, body).await.0
}

async fn rotate(
    s: &TestServer,
    caller: &str,
    owner: &Member,
    access: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call(
        s,
        Method::POST,
        &format!(
            "/v1/{}/aksks/{}/keys/{access}/rotate",
            owner.project_id, owner.user_id
        ),
        Some(caller),
        body,
    )
    .await
}

/// The replacement pair a rotation answered with.
fn replacement_of(rotated: &Value) -> Pair {
    Pair {
        access: rotated["access_key"].as_str().unwrap().into(),
        secret: rotated["secret_key"].as_str().unwrap().into(),
    }
}

/// Seconds until a time as the APIs write it: RFC 3339, or Keystone's
/// naive UTC (`2026-12-02T10:00:00.000000`).
fn seconds_from_now(text: &str) -> i64 {
    let t = chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| t.and_utc().timestamp())
        })
        .unwrap();
    t - chrono::Utc::now().timestamp()
}

async fn aksk_rotation(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "rotation").await;
    let user = member_of(&s, "rotator", &project, "member").await;
    let other = member_of(&s, "bystander", &project, "member").await;

    // The replacement keeps the metadata; the old pair expires in 24 h.
    let expires = iso(90 * 24 * 3600);
    let old = pair_for(
        &s,
        &user,
        json!({"name": "ci", "description": "nightly", "expires_at": expires, "allowed_cidrs": ["10.0.0.0/8"]}),
    )
    .await;
    let (status, rotated) = rotate(&s, &user.token, &user, &old.access, None).await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new = replacement_of(&rotated);
    assert_ne!(new.access, old.access);
    let key = &rotated["key"];
    assert_eq!(key["access_key"], new.access.as_str());
    assert_eq!(key["name"], "ci");
    assert_eq!(key["description"], "nightly");
    assert_eq!(key["allowed_cidrs"], json!(["10.0.0.0/8"]));
    assert_eq!(key["status"], "active");
    assert!((seconds_from_now(key["expires_at"].as_str().unwrap()) - 90 * 24 * 3600).abs() < 60);
    let previous = &rotated["previous"];
    assert_eq!(previous["access_key"], old.access.as_str());
    let left = seconds_from_now(previous["expires_at"].as_str().unwrap());
    assert!((left - 24 * 3600).abs() < 60, "{previous}");
    // The secret is shown once here, and is the pair's.
    let (_, listed) = call(
        &s,
        Method::GET,
        &format!("/v1/{}/aksks/{}", user.project_id, user.user_id),
        Some(&user.token),
        None,
    )
    .await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["blob"]["access_key"] == new.access.as_str()
            && p["blob"]["secret_key"] == new.secret.as_str()));

    // During the overlap both verify; with no grace the old one stops at once.
    let plain = pair_for(&s, &user, json!({})).await;
    assert_eq!(verifies(&s, &admin.token, &plain).await, StatusCode::OK);
    let (status, rotated) = rotate(
        &s,
        &user.token,
        &user,
        &plain.access,
        Some(json!({"grace_period": 3600})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let replacement = replacement_of(&rotated);
    assert_eq!(
        rotated["key"]["expires_at"],
        Value::Null,
        "no expiry stays none"
    );
    assert_eq!(verifies(&s, &admin.token, &plain).await, StatusCode::OK);
    assert_eq!(
        verifies(&s, &admin.token, &replacement).await,
        StatusCode::OK
    );
    let (status, again) = rotate(
        &s,
        &user.token,
        &user,
        &replacement.access,
        Some(json!({"grace_period": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["previous"]["status"], "expired");
    assert_eq!(
        verifies(&s, &admin.token, &replacement).await,
        StatusCode::UNAUTHORIZED
    );
    let newest = replacement_of(&again);
    assert_eq!(verifies(&s, &admin.token, &newest).await, StatusCode::OK);

    // A grace period never lengthens a pair's life.
    let soon = pair_for(&s, &user, json!({"expires_at": iso(600)})).await;
    let (_, rotated) = rotate(
        &s,
        &user.token,
        &user,
        &soon.access,
        Some(json!({"grace_period": 86400})),
    )
    .await;
    assert!(seconds_from_now(rotated["previous"]["expires_at"].as_str().unwrap()) <= 600);

    // Who may: the owner and an admin; another member is refused, and a
    // pair that is not there is a 404.
    let (status, _) = rotate(&s, &other.token, &user, &newest.access, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = rotate(&s, &admin.token, &user, &newest.access, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = rotate(&s, &user.token, &user, "NoSuchAccessKey1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bad bodies: a clear 400, and nothing created.
    let before = listed_count(&s, &user).await;
    for body in [
        json!({"grace_period": -1}),
        json!({"grace_period": 40_000_000}),
        json!({"grace_period": "a day"}),
        json!({"grace_period": 1.5}),
        json!({"grace": 10}),
        json!([1]),
    ] {
        let (status, error) =
            rotate(&s, &user.token, &user, &newest.access, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error["error"]["code"], 400);
    }
    assert_eq!(listed_count(&s, &user).await, before);
}

async fn listed_count(s: &TestServer, m: &Member) -> usize {
    let (_, keys) = call(
        s,
        Method::GET,
        &format!("/v1/{}/aksks/{}/keys", m.project_id, m.user_id),
        Some(&m.token),
        None,
    )
    .await;
    keys["keys"].as_array().unwrap().len()
}

/// The user limit counts the replacement: rotation cannot be used to hold
/// more keys than allowed, even for the overlap.
async fn rotation_respects_the_user_limit(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.credential.user_limit = 1) else {
        return;
    };
    let project = create_project(&s, "limited").await;
    let user = member_of(&s, "limited-user", &project, "member").await;
    let pair = pair_for(&s, &user, json!({})).await;
    let (status, body) = rotate(&s, &user.token, &user, &pair.access, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(listed_count(&s, &user).await, 1);
}

/// Grants `role` (by name) on `project` through the API.
async fn grant(s: &TestServer, admin: &str, project: &str, user_id: &str, role: &str) {
    let role_id = role_id(s, admin, role).await;
    let (status, _) = call(
        s,
        Method::PUT,
        &format!("/v3/projects/{project}/users/{user_id}/roles/{role_id}"),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// `GET /v3/auth/tokens` as a service that enforces access rules (as
/// keystonemiddleware does; tokens with rules validate only for those).
async fn validates(s: &TestServer, service: &str, token: &str) -> StatusCode {
    s.request(Method::GET, "/v3/auth/tokens")
        .header("X-Auth-Token", service)
        .header("X-Subject-Token", token)
        .header("OpenStack-Identity-Access-Rules", "1")
        .send()
        .await
        .unwrap()
        .status()
}

async fn app_cred_token(s: &TestServer, auth: Value) -> (StatusCode, Option<String>) {
    let (status, token, _) = s
        .auth(
            json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": auth}}}),
        )
        .await;
    (status, token)
}

async fn rotate_app_cred(
    s: &TestServer,
    caller: &str,
    user_id: &str,
    id: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call(
        s,
        Method::POST,
        &format!("/v3/users/{user_id}/application_credentials/{id}/rotate"),
        Some(caller),
        body,
    )
    .await
}

async fn app_cred_rotation(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "ac-rotation").await;
    let user = member_of(&s, "deployer-owner", &project, "member").await;
    let (status, created) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{}/application_credentials", user.user_id),
        Some(&user.token),
        Some(json!({"application_credential": {
            "name": "deployer", "description": "CI deploys", "expires_at": iso(30 * 24 * 3600),
            "access_rules": [{"service": "identity", "method": "GET", "path": "/v3/auth/projects"}],
        }})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let old = &created["application_credential"];
    let (old_id, old_secret) = (old["id"].as_str().unwrap(), old["secret"].as_str().unwrap());
    let (status, old_token) = app_cred_token(&s, json!({"id": old_id, "secret": old_secret})).await;
    assert_eq!(status, StatusCode::CREATED);
    let old_token = old_token.unwrap();

    // Only the owner rotates, from the credential's project.
    let (status, _) = rotate_app_cred(&s, &admin.token, &user.user_id, old_id, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let elsewhere = create_project(&s, "ac-elsewhere").await;
    grant(&s, &admin.token, &elsewhere, &user.user_id, "member").await;
    let (elsewhere_token, _) = s
        .password_token(
            "deployer-owner",
            "pw",
            Some(json!({"project": {"id": elsewhere}})),
        )
        .await;
    let (status, _) = rotate_app_cred(&s, &elsewhere_token, &user.user_id, old_id, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for body in [
        json!({"grace_period": -5}),
        json!({"grace_period": "soon"}),
        json!({"other": 1}),
    ] {
        let (status, _) = rotate_app_cred(&s, &user.token, &user.user_id, old_id, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    let (status, rotated) = rotate_app_cred(
        &s,
        &user.token,
        &user.user_id,
        old_id,
        Some(json!({"grace_period": 3600})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new = &rotated["application_credential"];
    let (new_id, new_secret) = (new["id"].as_str().unwrap(), new["secret"].as_str().unwrap());
    assert_ne!(new_id, old_id);
    assert_eq!(new["name"], "deployer");
    assert_eq!(new["description"], "CI deploys");
    assert_eq!(new["roles"], old["roles"]);
    assert_eq!(
        new["access_rules"], old["access_rules"],
        "the same rules, by id"
    );
    assert_eq!(new["expires_at"], old["expires_at"]);
    assert!(new_secret.starts_with("irac_"));
    let previous = &rotated["previous"];
    assert_eq!(previous["id"], old_id);
    assert!(
        previous["name"]
            .as_str()
            .unwrap()
            .starts_with("deployer (rotated "),
        "{previous}"
    );
    assert!((seconds_from_now(previous["expires_at"].as_str().unwrap()) - 3600).abs() < 60);

    // During the overlap: the old secret and its tokens still work; the
    // name now finds the replacement.
    assert_eq!(
        app_cred_token(&s, json!({"id": old_id, "secret": old_secret}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        validates(&s, &admin.token, &old_token).await,
        StatusCode::OK
    );
    let by_name = json!({"name": "deployer", "secret": new_secret,
        "user": {"name": "deployer-owner", "domain": {"id": "default"}}});
    let (status, new_token) = app_cred_token(&s, by_name).await;
    assert_eq!(status, StatusCode::CREATED);
    let new_token = new_token.unwrap();
    assert_eq!(
        validates(&s, &admin.token, &new_token).await,
        StatusCode::OK
    );

    // No grace: the replaced credential and its tokens stop at once.
    let (status, _) = rotate_app_cred(
        &s,
        &user.token,
        &user.user_id,
        new_id,
        Some(json!({"grace_period": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        app_cred_token(&s, json!({"id": new_id, "secret": new_secret}))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        validates(&s, &admin.token, &new_token).await,
        StatusCode::NOT_FOUND
    );
}

async fn keys_of(s: &TestServer, m: &Member) -> Vec<Value> {
    let (status, keys) = call(
        s,
        Method::GET,
        &format!("/v1/{}/aksks/{}/keys", m.project_id, m.user_id),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    keys["keys"].as_array().unwrap().clone()
}

fn key_of<'a>(keys: &'a [Value], access: &str) -> &'a Value {
    keys.iter().find(|k| k["access_key"] == access).unwrap()
}

/// `POST /v1/{project}/aksks` for `m` with `extra` fields.
async fn create_with(s: &TestServer, m: &Member, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({"project_id": m.project_id, "user_id": m.user_id});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    call(
        s,
        Method::POST,
        &format!("/v1/{}/aksks", m.project_id),
        Some(&m.token),
        Some(json!({ "credential": body })),
    )
    .await
}

async fn patch_key(s: &TestServer, m: &Member, access: &str, body: Value) -> (StatusCode, Value) {
    call(
        s,
        Method::PATCH,
        &format!("/v1/{}/aksks/{}/keys/{access}", m.project_id, m.user_id),
        Some(&m.token),
        Some(body),
    )
    .await
}

/// `credential.max_key_lifetime`: every way a key is made or changed
/// must give it an expiry within the maximum, counted from creation.
async fn a_maximum_lifetime(backend: Backend) {
    const DAY: i64 = 24 * 3600;
    let Some(s) = TestServer::start_with(backend, |c| c.credential.max_key_lifetime = 30 * DAY)
    else {
        return;
    };
    let project = create_project(&s, "capped").await;
    let user = member_of(&s, "capped-user", &project, "member").await;
    let (status, error) = create_with(&s, &user, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expires_at"),
        "{error}"
    );
    let (status, _) = create_with(&s, &user, json!({"expires_at": iso(31 * DAY)})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, pair) = create_with(&s, &user, json!({"expires_at": iso(10 * DAY)})).await;
    assert_eq!(status, StatusCode::OK);
    let access = pair["access_key"].as_str().unwrap();
    // Changes count from creation: no clearing, no extending past it.
    assert_eq!(
        patch_key(&s, &user, access, json!({"expires_at": null}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        patch_key(&s, &user, access, json!({"expires_at": iso(31 * DAY)}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        patch_key(&s, &user, access, json!({"expires_at": iso(20 * DAY)}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        patch_key(&s, &user, access, json!({"name": "still fine"}))
            .await
            .0,
        StatusCode::OK
    );
    // Keystone's OS-EC2 cannot ask for an expiry: it gets the longest.
    let (status, ec2) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{}/credentials/OS-EC2", user.user_id),
        Some(&user.token),
        Some(json!({"tenant_id": user.project_id})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ec2}");
    let keys = keys_of(&s, &user).await;
    let implied = key_of(&keys, ec2["credential"]["access"].as_str().unwrap());
    assert!((seconds_from_now(implied["expires_at"].as_str().unwrap()) - 30 * DAY).abs() < 60);
    // A rotation keeps the old expiry.
    let (_, rotated) = rotate(&s, &user.token, &user, access, None).await;
    assert!(
        (seconds_from_now(rotated["key"]["expires_at"].as_str().unwrap()) - 20 * DAY).abs() < 60
    );
    // Application credentials alike.
    let (status, _) = create_app_cred(&s, &user, json!({"name": "no-expiry"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = create_app_cred(
        &s,
        &user,
        json!({"name": "far", "expires_at": iso(31 * DAY)}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = create_app_cred(
        &s,
        &user,
        json!({"name": "near", "expires_at": iso(29 * DAY)}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

/// `expires_soon` in the listings, within `credential.expiry_warning`
/// (14 days by default).
async fn expiring_keys_are_flagged(backend: Backend) {
    const DAY: i64 = 24 * 3600;
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let project = create_project(&s, "warned").await;
    let user = member_of(&s, "warned-user", &project, "member").await;
    let soon = pair_for(&s, &user, json!({"expires_at": iso(7 * DAY)})).await;
    let later = pair_for(&s, &user, json!({"expires_at": iso(20 * DAY)})).await;
    let never = pair_for(&s, &user, json!({})).await;
    let keys = keys_of(&s, &user).await;
    assert_eq!(key_of(&keys, &soon.access)["expires_soon"], true);
    assert_eq!(key_of(&keys, &later.access)["expires_soon"], false);
    assert_eq!(key_of(&keys, &never.access)["expires_soon"], false);
    let (status, _) =
        create_app_cred(&s, &user, json!({"name": "soon", "expires_at": iso(DAY)})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, listed) = call(
        &s,
        Method::GET,
        &format!(
            "/v3/users/{}/application_credentials?lifecycle",
            user.user_id
        ),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(listed["application_credentials"][0]["expires_soon"], true);
    // Keystone's shape is Keystone's unless asked.
    let (_, plain) = call(
        &s,
        Method::GET,
        &format!("/v3/users/{}/application_credentials", user.user_id),
        Some(&user.token),
        None,
    )
    .await;
    assert!(plain["application_credentials"][0]
        .get("expires_soon")
        .is_none());
}

/// `credential.disable_unused_after`: keys nobody uses are disabled (AK/SK
/// pairs) or ended (application credentials); keys in use stay.
async fn unused_keys_are_disabled(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.credential.disable_unused_after = 3;
        c.signature.use_flush_interval_ms = 200;
    }) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "sweep").await;
    let user = member_of(&s, "sweep-user", &project, "member").await;
    let idle = pair_for(&s, &user, json!({})).await;
    let busy = pair_for(&s, &user, json!({})).await;
    let (_, idle_cred) = create_app_cred(&s, &user, json!({"name": "idle"})).await;
    let (_, busy_cred) = create_app_cred(&s, &user, json!({"name": "busy"})).await;
    let secret_of = |c: &Value| json!({"id": c["application_credential"]["id"], "secret": c["application_credential"]["secret"]});
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(6);
    while std::time::Instant::now() < deadline {
        assert_eq!(verifies(&s, &admin.token, &busy).await, StatusCode::OK);
        assert_eq!(
            app_cred_token(&s, secret_of(&busy_cred)).await.0,
            StatusCode::CREATED
        );
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    let keys = keys_of(&s, &user).await;
    assert_eq!(key_of(&keys, &idle.access)["status"], "disabled");
    assert_eq!(key_of(&keys, &busy.access)["status"], "active");
    assert_eq!(
        verifies(&s, &admin.token, &idle).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app_cred_token(&s, secret_of(&idle_cred)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, busy_listed) = call(
        &s,
        Method::GET,
        &format!(
            "/v3/users/{}/application_credentials/{}?lifecycle",
            user.user_id,
            busy_cred["application_credential"]["id"].as_str().unwrap()
        ),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        busy_listed["application_credential"]["last_used_at"].is_string(),
        "{busy_listed}"
    );
    // The owner re-enables a pair (and it counts as new again).
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!(
            "/v1/{}/aksks/{}/keys/{}",
            user.project_id, user.user_id, idle.access
        ),
        Some(&user.token),
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// How many events `token` reads with `query`.
async fn event_count(s: &TestServer, token: &str, query: &str) -> usize {
    events(s, token, query).await.1["events"]
        .as_array()
        .unwrap()
        .len()
}

/// Waits until `done` holds (leak reports are processed after the answer).
async fn eventually<F, Fut>(mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("not processed in 5 s");
}

async fn report_leaks(s: &TestServer, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    call(s, Method::POST, "/v1/leaked-keys", token, Some(body)).await
}

/// A scanner reports exposed keys: each matching key gets its
/// `action_when_leaked`, its owner sees it leaked, and the reporter learns
/// nothing about what matched.
async fn leak_response(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/roles",
        Some(&admin.token),
        Some(json!({"role": {"name": "leak_reporter"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let project = create_project(&s, "leaky").await;
    let owner = member_of(&s, "leaky-owner", &project, "member").await;
    let scanner = member_of(&s, "scanner", &project, "leak_reporter").await;
    let marked = pair_for(
        &s,
        &owner,
        json!({"name": "marked", "action_when_leaked": "none"}),
    )
    .await;
    let disabled = pair_for(&s, &owner, json!({"name": "disabled"})).await;
    let deleted = pair_for(
        &s,
        &owner,
        json!({"name": "deleted", "action_when_leaked": "delete"}),
    )
    .await;
    let untouched = pair_for(&s, &owner, json!({"name": "untouched"})).await;
    let app = |name: &str, extra: Value| {
        let mut body = json!({ "name": name });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let (_, ended) = create_app_cred(&s, &owner, app("ended", json!({}))).await;
    let (_, gone) = create_app_cred(
        &s,
        &owner,
        app("gone", json!({"action_when_leaked": "delete"})),
    )
    .await;
    let (_, chosen) = create_app_cred(
        &s,
        &owner,
        app("chosen", json!({"secret": "a-secret-the-client-chose"})),
    )
    .await;
    let id_secret = |c: &Value| {
        (
            c["application_credential"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
            c["application_credential"]["secret"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    let (ended_id, ended_secret) = id_secret(&ended);
    let (gone_id, gone_secret) = id_secret(&gone);
    let (chosen_id, chosen_secret) = id_secret(&chosen);

    // Only a reporter (or an admin) may report; bad bodies are 400s that
    // never echo a value.
    let one = json!({"keys": [disabled.secret]});
    assert_eq!(
        report_leaks(&s, None, one.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        report_leaks(&s, Some(&owner.token), one).await.0,
        StatusCode::FORBIDDEN
    );
    for body in [
        json!([]),
        json!({"keys": []}),
        json!({"keys": vec!["x"; 1001]}),
        json!({"keys": [12345678]}),
        json!({"keys": ["y".repeat(2000)]}),
        json!("irsk_whatever"),
    ] {
        let (status, error) = report_leaks(&s, Some(&scanner.token), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(!error.to_string().contains("12345678") && !error.to_string().contains("yyyy"));
    }

    // The answer says nothing about matches: a report of random values and
    // a report of live keys look alike.
    let (status, nothing) = report_leaks(
        &s,
        Some(&scanner.token),
        json!({"keys": ["not-a-key", "irsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA29aTWH"]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // GitHub's alert format, as its secret scanning posts it.
    let alert: Vec<Value> = [
        marked.secret.as_str(),
        disabled.secret.as_str(),
        untouched.access.as_str(),
        deleted.secret.as_str(),
        ended_secret.as_str(),
        gone_secret.as_str(),
        chosen_secret.as_str(),
    ]
    .iter()
    .map(|t| json!({"token": t, "type": "ironstone", "url": "https://github.com/x/y/blob/main/.env", "source": "content"}))
    .collect();
    let (status, received) = report_leaks(&s, Some(&scanner.token), Value::Array(alert)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let shape = |v: &Value| {
        let mut keys: Vec<String> = v["report"].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(shape(&nothing), shape(&received));
    assert_eq!(received["report"]["received"], 7);

    eventually(|| async {
        keys_of(&s, &owner)
            .await
            .iter()
            .any(|k| k["access_key"] == disabled.access.as_str() && k["status"] == "leaked")
    })
    .await;
    let keys = keys_of(&s, &owner).await;
    let marked_key = key_of(&keys, &marked.access);
    assert_eq!(marked_key["status"], "leaked");
    assert!(marked_key["leaked_at"].is_string());
    assert_eq!(marked_key["enabled"], true, "action none: still works");
    assert_eq!(verifies(&s, &admin.token, &marked).await, StatusCode::OK);
    let disabled_key = key_of(&keys, &disabled.access);
    assert_eq!(disabled_key["enabled"], false);
    assert_eq!(
        verifies(&s, &admin.token, &disabled).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        keys.iter()
            .all(|k| k["access_key"] != deleted.access.as_str()),
        "deleted"
    );
    // Named by its access key only (no secret in hand): marked, not acted on.
    let only_named = key_of(&keys, &untouched.access);
    assert_eq!(only_named["status"], "leaked");
    assert_eq!(only_named["enabled"], true);
    assert_eq!(verifies(&s, &admin.token, &untouched).await, StatusCode::OK);
    assert_eq!(
        app_cred_token(&s, json!({"id": ended_id, "secret": ended_secret}))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, ended_now) = call(
        &s,
        Method::GET,
        &format!(
            "/v3/users/{}/application_credentials/{ended_id}?lifecycle",
            owner.user_id
        ),
        Some(&owner.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ended_now["application_credential"]["leaked_at"].is_string());
    let (status, _) = call(
        &s,
        Method::GET,
        &format!(
            "/v3/users/{}/application_credentials/{gone_id}",
            owner.user_id
        ),
        Some(&owner.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The owner sees the leak in the audit trail, done by Ironstone.
    let (_, trail) = events(&s, &owner.token, "?action=leaked&limit=50").await;
    let leaked = trail["events"].as_array().unwrap();
    assert_eq!(leaked.len(), 6, "{trail}");
    assert!(leaked.iter().all(|e| e["initiator"]["id"] == "ironstone"));
    // A secret the client chose has no lookup digest: not matched.
    assert_eq!(
        app_cred_token(&s, json!({"id": chosen_id, "secret": chosen_secret}))
            .await
            .0,
        StatusCode::CREATED
    );
}

async fn events(s: &TestServer, token: &str, query: &str) -> (StatusCode, Value) {
    call(
        s,
        Method::GET,
        &format!("/v1/audit-events{query}"),
        Some(token),
        None,
    )
    .await
}

fn actions(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// The key events of a page, without the authentications around them.
fn key_actions(page: &Value) -> Vec<String> {
    actions(page)
        .into_iter()
        .filter(|a| a != "authenticate")
        .collect()
}

/// Every lifecycle event of a key lands in the audit trail, as CADF, in
/// the change's transaction; each caller reads only what they may.
async fn audit_trail(backend: Backend) {
    // Successes tallied over a second, not a minute.
    let Some(s) = TestServer::start_with(backend, |c| c.audit.signed_window = 1) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "audited").await;
    let owner = member_of(&s, "audited-owner", &project, "member").await;
    let other = member_of(&s, "audited-other", &project, "member").await;
    let auditor = member_of(&s, "audited-admin", &project, "admin").await;

    let pair = pair_for(&s, &owner, json!({"name": "traced"})).await;
    assert_eq!(
        patch_key(&s, &owner, &pair.access, json!({"name": "renamed"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        patch_key(&s, &owner, &pair.access, json!({"enabled": false}))
            .await
            .0,
        StatusCode::OK
    );
    let (_, rotated) = rotate(&s, &owner.token, &owner, &pair.access, None).await;
    let replacement = replacement_of(&rotated);
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!(
            "/v1/{}/aksks/{}/keys/{}",
            owner.project_id, owner.user_id, replacement.access
        ),
        Some(&owner.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, cred) = create_app_cred(&s, &owner, json!({"name": "traced-app"})).await;
    let cred_id = cred["application_credential"]["id"].as_str().unwrap();
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!(
            "/v3/users/{}/application_credentials/{cred_id}",
            owner.user_id
        ),
        Some(&owner.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The owner's trail, newest first, in CADF.
    let (status, page) = events(&s, &owner.token, "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        key_actions(&page),
        [
            "deleted.application_credential",
            "created.application_credential",
            "deleted.aksk",
            "created.aksk",
            "rotated.aksk",
            "disabled.aksk",
            "updated.aksk",
            "created.aksk",
        ]
    );
    let first = &page["events"][7];
    assert_eq!(
        first["typeURI"],
        "http://schemas.dmtf.org/cloud/audit/1.0/event"
    );
    assert_eq!(first["target"]["id"], pair.access.as_str());
    assert_eq!(first["initiator"]["id"], owner.user_id.as_str());
    assert_eq!(
        page["events"][4]["reason"]["reasonCode"],
        format!("replaced by {}", replacement.access)
    );
    let text = page.to_string();
    assert!(
        !text.contains(&pair.secret) && !text.contains(&replacement.secret),
        "a secret in the trail"
    );
    assert!(!text.contains(cred["application_credential"]["secret"].as_str().unwrap()));

    // Filters and pages.
    let (_, one_key) = events(&s, &owner.token, &format!("?access_key={}", pair.access)).await;
    assert_eq!(
        actions(&one_key),
        [
            "rotated.aksk",
            "disabled.aksk",
            "updated.aksk",
            "created.aksk"
        ]
    );
    let (_, created) = events(&s, &owner.token, "?action=created").await;
    assert_eq!(created["events"].as_array().unwrap().len(), 3);
    let (_, future) = events(&s, &owner.token, "?since=2999-01-01T00:00:00Z").await;
    assert!(future["events"].as_array().unwrap().is_empty());
    let (_, first_page) = events(&s, &owner.token, "?limit=3").await;
    let next = first_page["links"]["next"].as_str().unwrap().to_string();
    let (_, second_page) = events(&s, &owner.token, &next[next.find('?').unwrap()..]).await;
    assert_eq!(
        [actions(&first_page), actions(&second_page)].concat(),
        actions(&page)[..6].to_vec()
    );
    // Logins are in the trail too: the owner's own, and a failed one that
    // named the owner by id.
    let (status, _, _) = s
        .auth(json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": owner.user_id, "password": "wrong"}}}}}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, logins) = events(&s, &owner.token, "?action=authenticate").await;
    let outcomes: Vec<&str> = logins["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failure", "success"], "{logins}");
    assert_eq!(logins["events"][0]["reason"]["reasonCode"], "401");
    assert!(
        !logins.to_string().contains("wrong"),
        "a password in the trail"
    );
    let (_, failures) = events(&s, &owner.token, "?outcome=failure").await;
    assert_eq!(failures["events"].as_array().unwrap().len(), 1);
    // Signed requests too (written in batches, a moment later): a
    // verification, a wrong signature, each against the pair's access key.
    let live = pair_for(&s, &owner, json!({"name": "signing"})).await;
    assert_eq!(verifies(&s, &admin.token, &live).await, StatusCode::OK);
    let forged = Pair {
        access: live.access.clone(),
        secret: "not-the-secret".into(),
    };
    assert_eq!(
        verifies(&s, &admin.token, &forged).await,
        StatusCode::UNAUTHORIZED
    );
    let query = format!("?access_key={}&action=authenticate", live.access);
    eventually(|| async { event_count(&s, &owner.token, &query).await == 2 }).await;
    let (_, signed) = events(&s, &owner.token, &query).await;
    assert_eq!(signed["events"][0]["outcome"], "failure");
    assert_eq!(signed["events"][1]["outcome"], "success");
    assert_eq!(signed["events"][1]["methods"], json!(["ec2tokens"]));
    assert_eq!(signed["events"][1]["target"]["id"], live.access.as_str());
    assert_eq!(signed["events"][1]["attachments"][0]["content"]["count"], 1);

    // Who sees what: another member sees nothing of the owner's, a
    // project admin sees the project's, the admin of another project none.
    let (_, theirs) = events(&s, &other.token, "").await;
    assert!(key_actions(&theirs).is_empty());
    assert!(theirs.to_string().find(&owner.user_id).is_none());
    let (_, asked) = events(&s, &other.token, &format!("?user_id={}", owner.user_id)).await;
    assert!(asked["events"].as_array().unwrap().is_empty());
    let (_, project_view) = events(&s, &auditor.token, "").await;
    let (_, owner_now) = events(&s, &owner.token, "").await;
    assert_eq!(key_actions(&project_view), key_actions(&owner_now));
    let (_, elsewhere) = events(&s, &admin.token, &format!("?project_id={project}")).await;
    assert!(
        elsewhere["events"].as_array().unwrap().is_empty(),
        "{elsewhere}"
    );

    // Bad queries are 400s; no token is a 401.
    for query in [
        "?limit=0",
        "?limit=x",
        "?since=yesterday",
        "?secret=1",
        "?marker=nope",
    ] {
        assert_eq!(
            events(&s, &owner.token, query).await.0,
            StatusCode::BAD_REQUEST,
            "{query}"
        );
    }
    assert_eq!(
        call(&s, Method::GET, "/v1/audit-events", None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

/// Tries `access` with a wrong signature (a 401, or a 429 once throttled).
async fn refused(s: &TestServer, service: &str, access: &str) {
    let forged = Pair {
        access: access.to_string(),
        secret: "not-the-secret".into(),
    };
    let status = verifies(s, service, &forged).await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
        "{status}"
    );
}

fn tally_count(event: &Value) -> u64 {
    event["attachments"][0]["content"]["count"]
        .as_u64()
        .unwrap()
}

/// Refusals are tallied: a key tried a hundred times is one event with
/// its count, seen by its owner; a thousand invented keys are one event
/// per flush, seen by system readers only, naming a few of them. The
/// attacker fills neither the table nor memory.
async fn refusals_are_tallied(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "tallied").await;
    let owner = member_of(&s, "tallied-owner", &project, "member").await;
    let pair = pair_for(&s, &owner, json!({"name": "attacked"})).await;
    let (system, _) = s
        .password_token(
            "admin",
            common::ADMIN_PASSWORD,
            Some(json!({"system": {"all": true}})),
        )
        .await;
    // A client that pastes its secret into the access-key field: the
    // trail must not keep it.
    refused(&s, &admin.token, &pair.secret).await;
    let (tried, invented) = (100, 1000);
    let attacks = (0..tried)
        .map(|_| pair.access.clone())
        .chain((0..invented).map(|i| format!("INVENTED{i:0>8}")));
    futures_util::stream::iter(attacks)
        .for_each_concurrent(16, |access| {
            let (s, token) = (&s, &admin.token);
            async move { refused(s, token, &access).await }
        })
        .await;
    let query = format!("?access_key={}", pair.access);
    eventually(|| async {
        let page = events(&s, &owner.token, &query).await.1;
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "authenticate")
            .map(tally_count)
            .sum::<u64>()
            == tried
    })
    .await;
    let (_, theirs) = events(&s, &owner.token, "?action=authenticate").await;
    let theirs: Vec<&Value> = theirs["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["methods"] == json!(["ec2tokens"]))
        .collect();
    assert!(theirs.len() < 20, "{} events for one key", theirs.len());
    assert!(theirs
        .iter()
        .all(|e| e["target"]["id"] == pair.access.as_str()));
    assert!(!theirs.iter().any(|e| e.to_string().contains("INVENTED")));

    let unknown = || async {
        let page = events(
            &s,
            &system,
            "?action=authenticate&outcome=failure&limit=1000",
        )
        .await
        .1;
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target"]["id"] == "unknown")
            .cloned()
            .collect::<Vec<Value>>()
    };
    eventually(|| async { unknown().await.iter().map(tally_count).sum::<u64>() == invented + 1 })
        .await;
    let folded = unknown().await;
    assert!(
        folded.len() < 40,
        "{} events for invented keys",
        folded.len()
    );
    let named = folded[0]["attachments"][0]["content"]["access_keys"]
        .as_array()
        .unwrap();
    assert!(!named.is_empty() && named.len() <= 8);
    assert!(named[0].as_str().unwrap().starts_with("INVENTED"));
    let everything = events(&s, &system, "?limit=1000").await.1.to_string();
    assert!(
        !everything.contains(&pair.secret[..12]),
        "a pasted secret in the trail"
    );
    // Project admins and the keys' owners never see them.
    let (_, mine) = events(&s, &owner.token, "?outcome=failure&limit=1000").await;
    assert!(!mine.to_string().contains("INVENTED"));
}

/// `audit.file` and `audit.syslog` receive every event the table does, as
/// JSON lines, once committed; the file is reopened after logrotate moves
/// it.
async fn audit_export(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let socket_path = dir.path().join("syslog.sock");
    let syslog = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    syslog
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let (file_setting, socket_setting) = (file.clone(), socket_path.clone());
    let Some(s) = TestServer::start_with(backend, move |c| {
        c.audit.file = file_setting.display().to_string();
        c.audit.syslog = socket_setting.display().to_string();
    }) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "exported").await;
    let owner = member_of(&s, "exported-owner", &project, "member").await;
    let pair = pair_for(&s, &owner, json!({"name": "exported"})).await;
    refused(&s, &admin.token, &pair.access).await;
    let query = format!("?access_key={}", pair.access);
    eventually(|| async { event_count(&s, &owner.token, &query).await == 2 }).await;
    let lines = |path: &std::path::Path| -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (_, page) = events(&s, &owner.token, &query).await;
    let exported = lines(&file);
    for event in page["events"].as_array().unwrap() {
        assert!(exported.contains(event), "{event} not in the file");
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&pair.secret), "a secret in the file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut datagrams = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = syslog.recv(&mut buf) {
        datagrams.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    // authpriv.info: <86>
    assert!(
        datagrams.iter().all(|d| d.starts_with("<86>")),
        "{datagrams:?}"
    );
    for event in page["events"].as_array().unwrap() {
        let id = event["id"].as_str().unwrap();
        let sent = datagrams.iter().find(|d| d.contains(id)).unwrap();
        let json: Value = serde_json::from_str(&sent[sent.find('{').unwrap()..]).unwrap();
        assert_eq!(&json, event);
    }

    // logrotate moves the file away; the next events go to a new one.
    std::fs::rename(&file, dir.path().join("audit.jsonl.1")).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = patch_key(&s, &owner, &pair.access, json!({"name": "renamed"})).await;
    assert_eq!(status, StatusCode::OK);
    eventually(|| async { lines(&file).iter().any(|e| e["action"] == "updated.aksk") }).await;
    assert!(lines(&dir.path().join("audit.jsonl.1"))
        .iter()
        .all(|e| e["action"] != "updated.aksk"));
}

/// The one `deleted` event of `key_id`, read by a system reader.
async fn deletion_of(s: &TestServer, system: &str, key_id: &str) -> Value {
    let (_, page) = events(s, system, &format!("?key_id={key_id}&action=deleted")).await;
    let found = page["events"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{page}");
    found[0].clone()
}

/// Keys that go with their user, their project or a role their owner lost
/// are in the trail, with who caused it and why.
async fn cascades_are_recorded(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let (system, _) = s
        .password_token(
            "admin",
            common::ADMIN_PASSWORD,
            Some(json!({"system": {"all": true}})),
        )
        .await;
    let project = create_project(&s, "cascaded").await;
    let leaving = member_of(&s, "cascade-leaving", &project, "member").await;
    let demoted = member_of(&s, "cascade-demoted", &project, "member").await;
    let staying = member_of(&s, "cascade-staying", &project, "member").await;
    let pair = pair_for(&s, &leaving, json!({"name": "goes-with-user"})).await;
    let (_, cred) = create_app_cred(&s, &leaving, json!({"name": "goes-with-user"})).await;
    let cred_id = cred["application_credential"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, demoted_cred) = create_app_cred(&s, &demoted, json!({"name": "goes-with-role"})).await;
    let demoted_cred_id = demoted_cred["application_credential"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let project_pair = pair_for(&s, &staying, json!({"name": "goes-with-project"})).await;

    // A role taken away.
    let member_role = role_id(&s, &admin.token, "member").await;
    let grant = format!(
        "/v3/projects/{project}/users/{}/roles/{member_role}",
        demoted.user_id
    );
    let (status, _) = call(&s, Method::DELETE, &grant, Some(&admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let event = deletion_of(&s, &system, &demoted_cred_id).await;
    assert_eq!(event["initiator"]["id"], admin.user_id.as_str());
    let reason = event["reason"]["reasonCode"].as_str().unwrap();
    assert!(
        reason.starts_with("roles no longer held: ") && reason.contains(&member_role),
        "{reason}"
    );

    // A user deleted: their pair and application credential.
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/users/{}", leaving.user_id),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for key in [pair.access.as_str(), cred_id.as_str()] {
        let event = deletion_of(&s, &system, key).await;
        assert_eq!(event["initiator"]["id"], admin.user_id.as_str());
        assert_eq!(
            event["reason"]["reasonCode"],
            format!("user {} deleted", leaving.user_id)
        );
        assert_eq!(event["target"]["owner"], leaving.user_id.as_str());
    }

    // A project deleted: the pairs bound to it.
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/projects/{project}"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let event = deletion_of(&s, &system, &project_pair.access).await;
    assert_eq!(
        event["reason"]["reasonCode"],
        format!("project {project} deleted")
    );
    let text = events(&s, &system, "?limit=1000").await.1.to_string();
    assert!(!text.contains(&pair.secret) && !text.contains(&project_pair.secret));
}

/// A pair's own rate limit: a burst, then 429 with `Retry-After` until
/// the rate allows; forgeries and replays spend nothing; the limit is
/// shown, changed, removed and kept by rotation; bad limits are 400s.
async fn per_key_rate_limits(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "limited").await;
    let owner = member_of(&s, "limited-owner", &project, "member").await;
    let limited = json!({"name": "limited", "rate_limit": {"per_second": 1, "burst": 3}});
    let pair = pair_for(&s, &owner, limited).await;
    assert_eq!(
        key_of(&keys_of(&s, &owner).await, &pair.access)["rate_limit"],
        json!({"per_second": 1.0, "burst": 3})
    );
    // Forgeries first: they are refused and spend nothing.
    for _ in 0..5 {
        refused(&s, &admin.token, &pair.access).await;
    }
    for _ in 0..3 {
        assert_eq!(verifies(&s, &admin.token, &pair).await, StatusCode::OK);
    }
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let (body, _) = sign(
        &pair.access,
        &pair.secret,
        &v2(&pair, Some(("Timestamp", iso(0))), &nonce),
    );
    let resp = s.post_as("/v3/ec2tokens", &admin.token, &body).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(common::retry_after(&resp), 1);
    let error: Value = resp.json().await.unwrap();
    assert_eq!(error["error"]["code"], 429);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(verifies(&s, &admin.token, &pair).await, StatusCode::OK);
    assert_eq!(
        verifies(&s, &admin.token, &pair).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Rotation keeps the limit; PATCH changes or removes it.
    let (_, rotated) = rotate(&s, &owner.token, &owner, &pair.access, None).await;
    let replacement = replacement_of(&rotated);
    assert_eq!(
        key_of(&keys_of(&s, &owner).await, &replacement.access)["rate_limit"]["burst"],
        3
    );
    let (status, body) = patch_key(&s, &owner, &pair.access, json!({"rate_limit": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["key"]["rate_limit"], Value::Null);
    for _ in 0..10 {
        assert_eq!(verifies(&s, &admin.token, &pair).await, StatusCode::OK);
    }
    for bad in [
        json!({"per_second": 0}),
        json!({"per_second": 5, "burst": 0}),
        json!({"per_second": "5"}),
        json!({"burst": 5}),
        json!([5]),
    ] {
        let (status, body) = patch_key(&s, &owner, &pair.access, json!({"rate_limit": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        let (status, _) = create_with(&s, &owner, json!({"rate_limit": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // The trail has the throttled verifications, under the owner.
    let query = format!("?access_key={}&outcome=failure", pair.access);
    eventually(|| async {
        events(&s, &owner.token, &query).await.1["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"]["reasonCode"] == "429")
    })
    .await;
}

/// A clean stop writes what is tallied and not yet written: a success
/// inside a long window reaches the table, and the file copy, on stop.
async fn stopping_writes_the_tallies(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let setting = file.display().to_string();
    let Some(s) = TestServer::start_with(backend, move |c| {
        c.audit.signed_window = 3600;
        c.audit.file = setting;
    }) else {
        return;
    };
    let admin = admin_member(&s).await;
    let pair = pair_for(&s, &admin, json!({"name": "flushed"})).await;
    assert_eq!(verifies(&s, &admin.token, &pair).await, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let query = format!("?access_key={}&action=authenticate", pair.access);
    assert_eq!(
        event_count(&s, &admin.token, &query).await,
        0,
        "written before the window ended"
    );
    drop(s);
    let written = || {
        std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|e| e["action"] == "authenticate" && e["target"]["id"] == pair.access.as_str())
    };
    for _ in 0..50 {
        if written() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the tallied success was not written on stop");
}

/// A leak report acts, and is audited, once, however many processors
/// take it up at the same time. The processing a report starts and the
/// upkeep's both read it as pending; on PostgreSQL both applied it and
/// each leak was audited twice (found by a full run).
async fn a_report_is_applied_once(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "leaky-once").await;
    let owner = member_of(&s, "leaky-once-owner", &project, "member").await;
    let mut secrets = Vec::new();
    for name in ["a", "b", "c"] {
        let pair = pair_for(
            &s,
            &owner,
            json!({"name": name, "action_when_leaked": "none"}),
        )
        .await;
        secrets.push(json!(pair.secret));
    }
    let (status, _) = report_leaks(&s, Some(&admin.token), json!({"keys": secrets})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Four more processors beside the one the report started.
    let processors = (0..4).map(|_| {
        let state = s.state();
        async move { state.leaks.process_pending().await.unwrap() }
    });
    futures_util::future::join_all(processors).await;
    // The one the report started may still be running: let it finish.
    s.state().leaks.process_pending().await.unwrap();
    let (_, trail) = events(&s, &owner.token, "?action=leaked&limit=50").await;
    assert_eq!(trail["events"].as_array().unwrap().len(), 3, "{trail}");
}

on_every_backend!(
    a_report_is_applied_once,
    stopping_writes_the_tallies,
    per_key_rate_limits,
    cascades_are_recorded,
    refusals_are_tallied,
    audit_export,
    audit_trail,
    leak_response,
    aksk_rotation,
    rotation_respects_the_user_limit,
    app_cred_rotation,
    a_maximum_lifetime,
    expiring_keys_are_flagged,
    unused_keys_are_disabled
);
