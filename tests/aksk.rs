//! SODA's AK/SK API, Keystone's credentials and OS-EC2 over one store, key
//! metadata, downloads and encryption at rest, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{
    admin_member, call, create_project, expect_error, member_of, Backend, Member, TestServer,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A pair made with SODA's documented body (`{"credential": {...}}`).
async fn create_pair(s: &TestServer, m: &Member, extra: Value) -> (String, String) {
    let mut fields = json!({"project_id": m.project_id, "user_id": m.user_id});
    if let Value::Object(extra) = extra {
        fields.as_object_mut().unwrap().extend(extra);
    }
    let pair = common::signing::create_pair(s, m, json!({ "credential": fields })).await;
    (pair.access, pair.secret)
}

async fn soda_list(s: &TestServer, m: &Member) -> Vec<Value> {
    let (status, body) = call(
        s,
        Method::GET,
        &format!("/v1/{}/aksks/{}", m.project_id, m.user_id),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

async fn soda_create_get_delete(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let project = create_project(&s, "soda").await;
    let m = member_of(&s, "alice", &project, "member").await;
    assert!(
        soda_list(&s, &m).await.is_empty(),
        "no pairs is [] (SODA said null)"
    );

    // The documented body and the top-level body SODA's code parses.
    let (ak1, sk1) = create_pair(&s, &m, json!({})).await;
    assert_eq!(ak1.len(), 16);
    assert!(ak1.chars().all(|c| c.is_ascii_alphanumeric()));
    // Secrets are scannable by default (`credential.secret_prefix`).
    assert_eq!(
        ironstone::scannable::classify(&sk1),
        ironstone::scannable::Shape::Valid(ironstone::scannable::Kind::PairSecret)
    );
    let (status, body) = call(
        &s,
        Method::POST,
        &format!("/v1/{project}/aksks"),
        Some(&m.token),
        Some(json!({"project_id": project, "user_id": m.user_id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ak2 = body["access_key"].as_str().unwrap().to_string();
    assert_ne!(ak1, ak2);

    let pairs = soda_list(&s, &m).await;
    assert_eq!(pairs.len(), 2);
    assert_eq!(
        pairs[0],
        json!({"project_id": project, "user_id": m.user_id, "type": "ec2", "blob": {"access_key": ak1, "secret_key": sk1}})
    );

    // A non-ec2 credential of the same user survives the SODA delete.
    let (status, totp) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&m.token),
        Some(json!({"credential": {"type": "totp", "user_id": m.user_id, "blob": "GEZDGNBVGY3TQOJQ"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{totp}");
    assert_eq!(
        soda_list(&s, &m).await.len(),
        2,
        "only ec2 credentials are AK/SK pairs"
    );

    // GET and DELETE with an empty body, as the documented curl sends it.
    let url = format!("/v1/{project}/aksks/{}", m.user_id);
    let resp = s
        .request(Method::GET, &url)
        .header("X-Auth-Token", &m.token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = s
        .request(Method::DELETE, &url)
        .header("X-Auth-Token", &m.token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({}));
    assert!(soda_list(&s, &m).await.is_empty());
    let (status, _) = call(
        &s,
        Method::GET,
        &format!(
            "/v3/credentials/{}",
            totp["credential"]["id"].as_str().unwrap()
        ),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the totp credential is still there");
}

async fn three_apis_share_one_store(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let project = create_project(&s, "shared").await;
    let m = member_of(&s, "bea", &project, "member").await;

    // SODA → /v3/credentials and OS-EC2.
    let (ak, sk) = create_pair(&s, &m, json!({})).await;
    let (status, body) = call(
        &s,
        Method::GET,
        &format!("/v3/credentials?user_id={}&type=ec2", m.user_id),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cred = &body["credentials"][0];
    assert_eq!(cred["id"], sha256_hex(&ak));
    assert_eq!(cred["type"], "ec2");
    assert_eq!(cred["project_id"], project.as_str());
    let blob: Value = serde_json::from_str(cred["blob"].as_str().unwrap()).unwrap();
    assert_eq!(
        (
            blob["access"].as_str().unwrap(),
            blob["secret"].as_str().unwrap()
        ),
        (ak.as_str(), sk.as_str())
    );
    let (status, body) = call(
        &s,
        Method::GET,
        &format!("/v3/users/{}/credentials/OS-EC2/{ak}", m.user_id),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["credential"]["secret"], sk.as_str());
    assert_eq!(body["credential"]["tenant_id"], project.as_str());

    // OS-EC2 → SODA.
    let (status, body) = call(
        &s,
        Method::POST,
        &format!("/v3/users/{}/credentials/OS-EC2", m.user_id),
        Some(&m.token),
        Some(json!({"tenant_id": project})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ec2 = &body["credential"];
    assert_eq!(ec2["access"].as_str().unwrap().len(), 32);
    assert_eq!(ec2["trust_id"], Value::Null);
    assert!(ec2["links"]["self"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/OS-EC2/{}", ec2["access"].as_str().unwrap())));
    let listed = soda_list(&s, &m).await;
    assert!(listed
        .iter()
        .any(|p| p["blob"]["access_key"] == ec2["access"]));

    // /v3/credentials → SODA and OS-EC2.
    let blob = json!({"access": "made-by-v3", "secret": "v3-secret"}).to_string();
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&m.token),
        Some(json!({"credential": {"type": "ec2", "user_id": m.user_id, "project_id": project, "blob": blob}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["credential"]["id"], sha256_hex("made-by-v3"));
    assert!(soda_list(&s, &m)
        .await
        .iter()
        .any(|p| p["blob"]["access_key"] == "made-by-v3"));
    let (status, body) = call(
        &s,
        Method::GET,
        &format!("/v3/users/{}/credentials/OS-EC2", m.user_id),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["credentials"].as_array().unwrap().len(), 3);

    // Deleting through one API removes it from the others.
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/users/{}/credentials/OS-EC2/made-by-v3", m.user_id),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &s,
        Method::GET,
        &format!("/v3/credentials/{}", sha256_hex("made-by-v3")),
        Some(&m.token),
        None,
    )
    .await;
    // A missing credential is one the policy cannot see an owner of: 403
    // to anyone but an admin or system reader, as Keystone answers.
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A duplicate access key is a conflict.
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&m.token),
        Some(json!({"credential": {"type": "ec2", "user_id": m.user_id, "project_id": project, "blob": json!({"access": ak, "secret": "x"}).to_string()}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

async fn v3_credentials_crud(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = common::admin_member(&s).await;
    let project = create_project(&s, "crud").await;
    let m = member_of(&s, "cyd", &project, "member").await;
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&m.token),
        Some(json!({"credential": {"type": "totp", "user_id": m.user_id, "blob": "AAAA"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = body["credential"]["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(body["credential"]["project_id"], Value::Null);
    assert_eq!(
        body["credential"]["links"]["self"],
        format!("{}/v3/credentials/{id}", s.url)
    );
    let (status, body) = call(
        &s,
        Method::PATCH,
        &format!("/v3/credentials/{id}"),
        Some(&m.token),
        Some(json!({"credential": {"blob": "BBBB"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["credential"]["blob"], "BBBB");
    let (status, body) = call(
        &s,
        Method::PATCH,
        &format!("/v3/credentials/{id}"),
        Some(&m.token),
        Some(json!({"credential": {"user_id": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call(
        &s,
        Method::GET,
        "/v3/credentials?type=totp",
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(body["credentials"][0]["blob"], "BBBB");
    // ec2 credentials need a project and an access key; the access key cannot change.
    let ec2 = |blob: Value, project: Option<&str>| {
        let mut c = json!({"type": "ec2", "user_id": m.user_id, "blob": blob.to_string()});
        if let Some(p) = project {
            c["project_id"] = json!(p);
        }
        json!({"credential": c})
    };
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&m.token),
        Some(ec2(json!({"access": "a", "secret": "b"}), None)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&m.token),
        Some(ec2(json!({"secret": "b"}), Some(&project))),
    )
    .await;
    expect_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "Expecting to find access in credential",
    );
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/credentials",
        Some(&m.token),
        Some(ec2(
            json!({"access": "acc1", "secret": "b"}),
            Some(&project),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ec2_id = body["credential"]["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/credentials/{ec2_id}"),
        Some(&m.token),
        Some(
            json!({"credential": {"blob": json!({"access": "other", "secret": "b"}).to_string()}}),
        ),
    )
    .await;
    // A new access key is allowed, as in Keystone (issue 14); the id stays.
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &s,
        Method::PATCH,
        &format!("/v3/credentials/{ec2_id}"),
        Some(&m.token),
        Some(
            json!({"credential": {"blob": json!({"access": "acc1", "secret": "new"}).to_string()}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/credentials/{id}"),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(
        &s,
        Method::GET,
        &format!("/v3/credentials/{id}"),
        Some(&admin.token),
        None,
    )
    .await;
    // Gone: an admin learns it (404); its former owner gets the 403 any
    // caller gets for a credential it cannot be shown to own.
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"]["message"],
        format!("Could not find credential: {id}.")
    );
    let (status, _) = call(
        &s,
        Method::GET,
        &format!("/v3/credentials/{id}"),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn key_metadata_and_limits(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.credential.user_limit = 3) else {
        return;
    };
    let project = create_project(&s, "console").await;
    let m = member_of(&s, "dora", &project, "member").await;
    let (ak, _) = create_pair(
        &s,
        &m,
        json!({"name": "ci", "description": "for the pipeline", "expires_at": "2099-01-01T00:00:00Z", "allowed_cidrs": ["10.0.0.0/8", "2001:db8::1"]}),
    )
    .await;
    let keys_url = format!("/v1/{project}/aksks/{}/keys", m.user_id);
    let (status, body) = call(&s, Method::GET, &keys_url, Some(&m.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let key = &body["keys"][0];
    assert_eq!(key["access_key"], ak.as_str());
    assert_eq!(key["name"], "ci");
    assert_eq!(key["description"], "for the pipeline");
    assert_eq!(key["expires_at"], "2099-01-01T00:00:00.000000Z");
    assert_eq!(
        key["allowed_cidrs"],
        json!(["10.0.0.0/8", "2001:db8::1/128"])
    );
    assert_eq!(key["enabled"], true);
    assert_eq!(key["status"], "active");
    assert_eq!(key["use_count"], 0);
    assert_eq!(key["last_used_at"], Value::Null);
    assert!(key["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        !body.to_string().contains("secret"),
        "the console list never shows secrets"
    );

    // Disable, rename, clear the expiry.
    let (status, body) = call(
        &s,
        Method::PATCH,
        &format!("{keys_url}/{ak}"),
        Some(&m.token),
        Some(json!({"enabled": false, "name": "ci-old", "expires_at": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["key"]["status"], "disabled");
    assert_eq!(body["key"]["name"], "ci-old");
    assert_eq!(body["key"]["expires_at"], Value::Null);
    assert_eq!(
        body["key"]["description"], "for the pipeline",
        "untouched fields stay"
    );
    // Bad metadata is refused and changes nothing.
    for bad in [
        json!({"expires_at": "2001-01-01T00:00:00Z"}),
        json!({"expires_at": "tomorrow"}),
        json!({"allowed_cidrs": ["10.0.0.0/33"]}),
        json!({"allowed_cidrs": "10.0.0.0/8"}),
        json!({"enabled": "yes"}),
        json!({"secret": "mine"}),
        json!({"name": "x".repeat(300)}),
    ] {
        let (status, body) = call(
            &s,
            Method::PATCH,
            &format!("{keys_url}/{ak}"),
            Some(&m.token),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {body}");
    }
    let (_, body) = call(&s, Method::GET, &keys_url, Some(&m.token), None).await;
    assert_eq!(body["keys"][0]["name"], "ci-old");

    // The per-user limit: 3 credentials, then 403.
    create_pair(&s, &m, json!({})).await;
    create_pair(&s, &m, json!({})).await;
    let (status, body) = call(
        &s,
        Method::POST,
        &format!("/v1/{project}/aksks"),
        Some(&m.token),
        Some(json!({"credential": {"project_id": project, "user_id": m.user_id}})),
    )
    .await;
    expect_error(status, &body, StatusCode::FORBIDDEN, "maximum of 3");

    // Deleting one pair by access key (rotation) frees a slot.
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("{keys_url}/{ak}"),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("{keys_url}/{ak}"),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(soda_list(&s, &m).await.len(), 2);
    create_pair(&s, &m, json!({})).await;
}

async fn downloads(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let project = create_project(&s, "files").await;
    let m = member_of(&s, "eve", &project, "member").await;
    let (ak1, sk1) = create_pair(&s, &m, json!({})).await;
    let (ak2, sk2) = create_pair(&s, &m, json!({})).await;
    let (ak3, _) = create_pair(&s, &m, json!({"enabled": false})).await;
    let get = |format: &str| {
        let url = format!("/v1/{project}/aksks/{}/download{format}", m.user_id);
        s.request(Method::GET, &url)
            .header("X-Auth-Token", &m.token)
            .send()
    };

    // JSON (the default): SODA's array, every pair, as an attachment.
    let resp = get("").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-disposition"],
        format!("attachment; filename=\"aksk-{}.json\"", m.user_id)
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let pairs: Vec<Value> = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(pairs.len(), 3);
    assert_eq!(pairs[0]["blob"]["secret_key"], sk1.as_str());

    // CSV: AWS's columns, usable pairs only.
    let resp = get("?format=csv").await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/csv");
    let text = resp.text().await.unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], vec!["Access key ID", "Secret access key"]);
    assert_eq!(
        rows[1..],
        vec![
            vec![ak1.as_str(), sk1.as_str()],
            vec![ak2.as_str(), sk2.as_str()]
        ]
    );
    assert!(
        !text.contains(&ak3),
        "disabled pairs are not offered for use"
    );

    // env: shell exports of the newest usable pair.
    let text = get("?format=env").await.unwrap().text().await.unwrap();
    let exports: std::collections::BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .collect();
    assert_eq!(exports["AWS_ACCESS_KEY_ID"], ak2);
    assert_eq!(exports["AWS_SECRET_ACCESS_KEY"], sk2);
    assert_eq!(exports["EC2_ACCESS_KEY"], ak2);
    assert!(text.contains(&format!("# also usable: {ak1}")));

    // clouds: an AWS credentials file, [default] plus a profile per pair.
    let resp = get("?format=clouds").await.unwrap();
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"credentials\""
    );
    let text = resp.text().await.unwrap();
    let mut profiles: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, String>,
    > = Default::default();
    let mut current = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_string();
        } else {
            let (k, v) = line.split_once(" = ").unwrap();
            profiles
                .entry(current.clone())
                .or_default()
                .insert(k.into(), v.into());
        }
    }
    assert_eq!(profiles["default"]["aws_access_key_id"], ak2);
    assert_eq!(profiles[&ak1]["aws_secret_access_key"], sk1);
    assert_eq!(profiles.len(), 3);

    // One pair by access key; unknown formats and keys are clear errors.
    let text = get(&format!("?format=csv&access_key={ak1}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text.lines().count(), 2);
    assert_eq!(
        get("?format=xml").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get("?access_key=nope").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

async fn secrets_are_encrypted_at_rest(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let project = create_project(&s, "vault").await;
    let m = member_of(&s, "finn", &project, "member").await;
    let mut secrets = Vec::new();
    for _ in 0..3 {
        secrets.push(create_pair(&s, &m, json!({})).await.1);
    }
    let stored: Vec<(String, String)> = s
        .db(|conn| {
            use diesel::prelude::*;
            use ironstone::store::schema::credentials::dsl::*;
            Ok(credentials.select((encrypted_blob, key_hash)).load(conn)?)
        })
        .await;
    let primary = s.state().credentials.ring().primary_key_hash().unwrap();
    for (blob, hash) in &stored {
        assert!(blob.starts_with("gAAAAA"), "a Fernet token");
        assert_eq!(hash, &primary);
        assert!(!secrets.iter().any(|sk| blob.contains(sk.as_str())));
    }
    if backend == Backend::Sqlite {
        // Nothing in the database files spells a secret.
        let mut bytes = Vec::new();
        for file in ["ironstone.sqlite", "ironstone.sqlite-wal"] {
            if let Ok(b) = std::fs::read(s.dir.path().join(file)) {
                bytes.extend(b);
            }
        }
        assert!(bytes.len() > 4096);
        let text = String::from_utf8_lossy(&bytes);
        for sk in &secrets {
            assert!(
                !text.contains(sk.as_str()),
                "secret found in the database file"
            );
        }
    }

    // Rotate, then migrate, three times: every rotation would purge a key,
    // and migration moves every blob to the new primary first.
    let state = s.state();
    let repo = state.credentials.ring().repository().clone();
    let mut last_primary = primary;
    for _ in 0..3 {
        repo.rotate().unwrap();
        state.credentials.ring().reload().unwrap();
        let cipher = state.credentials.clone();
        let migrated = s
            .db(move |conn| ironstone::credential::migrate(conn, &cipher))
            .await;
        assert_eq!(migrated, 3);
        let now_primary = state.credentials.ring().primary_key_hash().unwrap();
        assert_ne!(now_primary, last_primary);
        last_primary = now_primary;
    }
    let listed = soda_list(&s, &m).await;
    assert_eq!(listed.len(), 3);
    for (pair, sk) in listed.iter().zip(&secrets) {
        assert_eq!(
            pair["blob"]["secret_key"],
            sk.as_str(),
            "still decrypts after three rotations"
        );
    }
}

async fn bad_input_changes_nothing(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let project = create_project(&s, "strict").await;
    let m = member_of(&s, "gus", &project, "member").await;
    let admin = admin_member(&s).await;
    let url = format!("/v1/{project}/aksks");
    let raw = |body: &'static str, token: String, url: String| {
        s.request(Method::POST, &url)
            .header("X-Auth-Token", token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let resp = raw("{not json", m.token.clone(), url.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = raw("", m.token.clone(), url.clone()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"credential": {"project_id": project}}),
            StatusCode::BAD_REQUEST,
            "'user_id' is a required property",
        ),
        (
            json!({"credential": {"project_id": 5, "user_id": m.user_id}}),
            StatusCode::BAD_REQUEST,
            "is not of type 'string'",
        ),
        (
            json!({"credential": "x"}),
            StatusCode::BAD_REQUEST,
            "is not of type 'object'",
        ),
        (
            json!({"credential": {"project_id": "ffffffffffffffffffffffffffffffff", "user_id": m.user_id}}),
            StatusCode::BAD_REQUEST,
            "does not match the project in the path",
        ),
        (
            json!({"credential": {"project_id": project, "user_id": m.user_id, "colour": "red"}}),
            StatusCode::BAD_REQUEST,
            "'colour' was unexpected",
        ),
        (
            json!({"credential": {"project_id": project, "user_id": m.user_id, "allowed_cidrs": ["nope"]}}),
            StatusCode::BAD_REQUEST,
            "not an IPv4 or IPv6",
        ),
    ];
    for (body, want, message) in cases {
        let (status, got) = call(&s, Method::POST, &url, Some(&m.token), Some(body.clone())).await;
        assert_eq!(status, want, "{body} -> {got}");
        assert!(
            got["error"]["message"].as_str().unwrap().contains(message),
            "{body} -> {got}"
        );
    }
    // Unknown project or user (admin may name any): SODA's 400, naming it.
    let (status, got) = call(
        &s,
        Method::POST,
        "/v1/ffffffffffffffffffffffffffffffff/aksks",
        Some(&admin.token),
        Some(json!({"project_id": "ffffffffffffffffffffffffffffffff", "user_id": m.user_id})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        got["error"]["message"],
        "Could not find project: ffffffffffffffffffffffffffffffff."
    );
    let (status, got) = call(
        &s,
        Method::POST,
        &url,
        Some(&admin.token),
        Some(json!({"project_id": project, "user_id": "0123456789abcdef0123456789abcdef"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        got["error"]["message"],
        "Could not find user: 0123456789abcdef0123456789abcdef."
    );
    // Reading the pairs of an unknown user is a 404.
    let (status, _) = call(
        &s,
        Method::GET,
        &format!("/v1/{project}/aksks/0123456789abcdef0123456789abcdef"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A user with no role on the project.
    let outsider = common::create_user(&s, "outsider", "pw", None).await;
    let (status, got) = call(
        &s,
        Method::POST,
        &url,
        Some(&admin.token),
        Some(json!({"project_id": project, "user_id": outsider})),
    )
    .await;
    expect_error(
        status,
        &got,
        StatusCode::BAD_REQUEST,
        "has no role on project",
    );
    // A path id that is not an id, and an oversized body.
    let (status, got) = call(
        &s,
        Method::GET,
        &format!("/v1/{project}/aksks/%3Cscript%3E"),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    let huge = format!("{{\"project_id\": \"{}\"}}", "x".repeat(200_000));
    let resp = s
        .request(Method::POST, &url)
        .header("X-Auth-Token", &m.token)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing was created by any of it.
    assert!(soda_list(&s, &m).await.is_empty());
    let (_, body) = call(&s, Method::GET, "/v3/credentials", Some(&admin.token), None).await;
    assert_eq!(body["credentials"], json!([]));
}

on_every_backend!(
    soda_create_get_delete,
    three_apis_share_one_store,
    v3_credentials_crud,
    key_metadata_and_limits,
    downloads,
    secrets_are_encrypted_at_rest,
    bad_input_changes_nothing,
);
