//! Issue, validate and revoke Keystone tokens over HTTP, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{assert_error, create_project, create_user, Backend, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn password_body(user: Value, password: &str) -> Value {
    let mut user = user;
    user["password"] = json!(password);
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}})
}

fn role_names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn is_keystone_time(s: &str) -> bool {
    s.len() == 27
        && s.ends_with(".000000Z")
        && chrono::NaiveDateTime::parse_from_str(&s[..19], "%Y-%m-%dT%H:%M:%S").is_ok()
}

async fn discovery(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    for prefix in ["", "/identity"] {
        let root = if prefix.is_empty() { "/" } else { prefix };
        let resp = s.request(Method::GET, root).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::MULTIPLE_CHOICES);
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(location, format!("{}{prefix}/v3/", s.url));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["versions"]["values"][0]["id"], "v3.14");
        assert_eq!(body["versions"]["values"][0]["status"], "stable");
        for path in [format!("{prefix}/v3"), format!("{prefix}/v3/")] {
            let resp = s.request(Method::GET, &path).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(resp.headers()["vary"], "X-Auth-Token");
            assert!(resp.headers()["x-openstack-request-id"]
                .to_str()
                .unwrap()
                .starts_with("req-"));
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                body["version"]["links"][0]["href"],
                format!("{}{prefix}/v3/", s.url)
            );
            assert_eq!(
                body["version"]["media-types"][0]["type"],
                "application/vnd.openstack.identity-v3+json"
            );
        }
    }
}

async fn password_unscoped_by_name_and_id(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (status, token, body) = s
        .auth_at(
            "/identity/v3/auth/tokens",
            password_body(
                json!({"name": "admin", "domain": {"name": "Default"}}),
                ADMIN_PASSWORD,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = token.unwrap();
    assert!(token.starts_with("gAAAAA") && !token.ends_with('='));
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(
        t["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert_eq!(t["user"]["password_expires_at"], Value::Null);
    assert_eq!(t["audit_ids"].as_array().unwrap().len(), 1);
    assert_eq!(t["audit_ids"][0].as_str().unwrap().len(), 22);
    assert!(is_keystone_time(t["expires_at"].as_str().unwrap()));
    assert!(is_keystone_time(t["issued_at"].as_str().unwrap()));
    assert!(
        t.get("catalog").is_none(),
        "unscoped tokens carry no catalog"
    );
    assert!(t.get("roles").is_none() && t.get("project").is_none());

    let user_id = t["user"]["id"].as_str().unwrap().to_string();
    let (status, _, body) = s
        .auth(password_body(json!({"id": user_id}), ADMIN_PASSWORD))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["token"]["user"]["id"], user_id.as_str());
    let (status, _, _) = s
        .auth(password_body(
            json!({"name": "admin", "domain": {"id": "default"}}),
            ADMIN_PASSWORD,
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn scopes(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let user = json!({"name": "admin", "domain": {"id": "default"}});
    let scoped = |scope: Value| {
        let mut body = password_body(user.clone(), ADMIN_PASSWORD);
        body["auth"]["scope"] = scope;
        body
    };
    // Project by name + domain id, and its implied roles.
    let (status, _, body) = s
        .auth(scoped(
            json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let t = &body["token"];
    assert_eq!(t["project"]["name"], "admin");
    assert_eq!(
        t["project"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert_eq!(t["is_domain"], false);
    assert_eq!(
        role_names(&body),
        vec!["admin", "manager", "member", "reader"]
    );
    let catalog = t["catalog"].as_array().unwrap();
    let identity = catalog.iter().find(|c| c["type"] == "identity").unwrap();
    assert_eq!(identity["name"], "keystone");
    let interfaces: Vec<&str> = identity["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["interface"].as_str().unwrap())
        .collect();
    assert_eq!(interfaces.len(), 3);
    for e in identity["endpoints"].as_array().unwrap() {
        assert_eq!(e["region"], e["region_id"]);
        assert_eq!(e["url"], format!("{}/v3/", s.url));
    }
    let project_id = t["project"]["id"].as_str().unwrap().to_string();

    // Project by id, by name + domain name; nocatalog (any value).
    let (status, _, body) = s.auth(scoped(json!({"project": {"id": project_id}}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["token"]["project"]["id"], project_id.as_str());
    let (status, _, body) = s
        .auth_at(
            "/v3/auth/tokens?nocatalog=false",
            scoped(json!({"project": {"name": "admin", "domain": {"name": "Default"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["token"].get("catalog").is_none());
    assert!(body["token"].get("roles").is_some());

    // System scope.
    let (status, _, body) = s.auth(scoped(json!({"system": {"all": true}}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["token"]["system"], json!({"all": true}));
    assert!(role_names(&body).contains(&"admin".to_string()));
    assert!(body["token"]["catalog"].is_array());

    // Domain scope: admin has no domain role, so 401; grant one, then 201.
    let (status, _, body) = s.auth(scoped(json!({"domain": {"id": "default"}}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, 401);
    let user_id = body_user_id(&s).await;
    s.db(move |conn| {
        let role = ironstone::assignment::find_global_role_by_name(conn, "member")?.unwrap();
        ironstone::assignment::grant(
            conn,
            ironstone::assignment::AssignmentKind::UserDomain,
            &user_id,
            "default",
            &role.id,
            false,
        )
    })
    .await;
    for domain in [json!({"id": "default"}), json!({"name": "Default"})] {
        let (status, _, body) = s.auth(scoped(json!({"domain": domain}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            body["token"]["domain"],
            json!({"id": "default", "name": "Default"})
        );
        assert_eq!(role_names(&body), vec!["member", "reader"]);
        assert!(body["token"].get("is_domain").is_none());
    }

    // The string form of "unscoped".
    let (status, _, body) = s.auth(scoped(json!("unscoped"))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["token"].get("project").is_none());
}

async fn body_user_id(s: &TestServer) -> String {
    let (_, body) = s.password_token("admin", ADMIN_PASSWORD, None).await;
    body["token"]["user"]["id"].as_str().unwrap().to_string()
}

async fn default_project_scoping(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let project = create_project(&s, "demo").await;
    let user = create_user(&s, "demo", "demo-pw", Some((&project, "member"))).await;
    let (p, u) = (project.clone(), user.clone());
    s.db(move |conn| {
        use diesel::prelude::*;
        use ironstone::store::schema::users;
        diesel::update(users::table.find(&u))
            .set(users::default_project_id.eq(Some(&p)))
            .execute(conn)?;
        Ok(())
    })
    .await;
    let (_, body) = s.password_token("demo", "demo-pw", None).await;
    assert_eq!(
        body["token"]["project"]["id"],
        project.as_str(),
        "no scope falls back to the default project"
    );
    assert_eq!(role_names(&body), vec!["member", "reader"]);
    // Explicitly unscoped stays unscoped.
    let (_, body) = s
        .password_token("demo", "demo-pw", Some(json!("unscoped")))
        .await;
    assert!(body["token"].get("project").is_none());
}

async fn token_method_rescopes(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let (unscoped, first) = s.password_token("admin", ADMIN_PASSWORD, None).await;
    let (status, scoped, body) = s
        .auth(
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let t = &body["token"];
    assert_eq!(
        t["expires_at"], first["token"]["expires_at"],
        "rescoping keeps the expiry"
    );
    assert_eq!(
        t["audit_ids"][1], first["token"]["audit_ids"][0],
        "the chain root is kept"
    );
    let mut methods: Vec<&str> = t["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    methods.sort();
    assert_eq!(methods, vec!["password", "token"]);
    // Validation answers with the token's own methods, audit ids and times.
    let scoped = scoped.unwrap();
    let (status, validated) = s.validate(&scoped, &scoped, "").await;
    assert_eq!(status, StatusCode::OK);
    for key in ["audit_ids", "expires_at", "issued_at", "project", "user"] {
        assert_eq!(validated["token"][key], t[key], "{key}");
    }
    assert_eq!(validated["token"]["methods"], json!(["token", "password"]));

    // Garbage token: 404 Could not recognize; system token to project: 403.
    let (status, _, body) = s
        .auth(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "garbage"}}}}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "Could not recognize Fernet token");
    let (system, _) = s
        .password_token(
            "admin",
            ADMIN_PASSWORD,
            Some(json!({"system": {"all": true}})),
        )
        .await;
    let (status, _, body) = s
        .auth(
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": system}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, 403);
}

async fn validate_head_and_policy(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = s.admin_project_token().await;
    let project = create_project(&s, "p2").await;
    create_user(&s, "bob", "bob-pw", Some((&project, "member"))).await;
    let (bob, _) = s
        .password_token("bob", "bob-pw", Some(json!({"project": {"id": project}})))
        .await;

    let (status, body) = s.validate(&admin, &bob, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token"]["user"]["name"], "bob");
    assert!(body["token"]["catalog"].is_array());
    let (status, body) = s.validate(&admin, &bob, "?nocatalog").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["token"].get("catalog").is_none());
    // A member may validate their own token, not the admin's.
    assert_eq!(s.validate(&bob, &bob, "").await.0, StatusCode::OK);
    let (status, body) = s.validate(&bob, &admin, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["message"],
        "You are not authorized to perform the requested action: identity:validate_token."
    );

    let head = |caller: String, subject: Option<String>| {
        let mut req = s
            .request(Method::HEAD, "/v3/auth/tokens")
            .header("X-Auth-Token", caller);
        if let Some(subject) = subject {
            req = req.header("X-Subject-Token", subject);
        }
        req.send()
    };
    let resp = head(admin.clone(), Some(bob.clone())).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-subject-token"], bob.as_str());
    assert!(resp.bytes().await.unwrap().is_empty());
    assert_eq!(
        head(bob.clone(), Some(admin.clone()))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );

    // Caller problems are 401 with WWW-Authenticate; subject problems 404.
    let resp = s
        .request(Method::GET, "/v3/auth/tokens")
        .header("X-Subject-Token", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()["www-authenticate"],
        format!("Keystone uri=\"{}/v3\"", s.url)
    );
    let (status, body) = s.validate("garbage", &bob, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, 401);
    let resp = s
        .request(Method::GET, "/v3/auth/tokens")
        .header("X-Auth-Token", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["message"],
        "No token in the request"
    );
    let (status, body) = s.validate(&admin, "gAAAAABnot-a-token", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "Could not recognize Fernet token");
    // A padded token is accepted too.
    assert_eq!(
        s.validate(&admin, &format!("{bob}="), "").await.0,
        StatusCode::OK
    );
    // Under /identity as well.
    let resp = s
        .request(Method::GET, "/identity/v3/auth/tokens")
        .header("X-Auth-Token", &admin)
        .header("X-Subject-Token", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn revocation(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = s.admin_project_token().await;
    let (victim, _) = s.password_token("admin", ADMIN_PASSWORD, None).await;
    let delete = |subject: String| {
        s.request(Method::DELETE, "/v3/auth/tokens")
            .header("X-Auth-Token", &admin)
            .header("X-Subject-Token", subject)
            .send()
    };
    let resp = delete(victim.clone()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, body) = s.validate(&admin, &victim, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "Failed to validate token");
    assert_eq!(
        delete(victim.clone()).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // The admin's own token is untouched.
    assert_eq!(s.validate(&admin, &admin, "").await.0, StatusCode::OK);

    // Cascade: revoking a parent revokes the tokens rescoped from it.
    let (parent, _) = s.password_token("admin", ADMIN_PASSWORD, None).await;
    let (_, child, _) = s
        .auth(
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": parent}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
        )
        .await;
    let child = child.unwrap();
    assert_eq!(s.validate(&admin, &child, "").await.0, StatusCode::OK);
    assert_eq!(
        delete(parent.clone()).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.validate(&admin, &child, "").await.0,
        StatusCode::NOT_FOUND
    );
}

async fn revoked_by_user_and_project_changes(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = s.admin_project_token().await;
    let project = create_project(&s, "p3").await;
    let user = create_user(&s, "carol", "carol-pw", Some((&project, "member"))).await;
    let scope = Some(json!({"project": {"id": project}}));
    let login = || s.password_token("carol", "carol-pw", scope.clone());

    // Password change.
    let (token, _) = login().await;
    let u = user.clone();
    let hash = ironstone::identity::password::hash("carol-pw2", 4).unwrap();
    s.db(move |conn| ironstone::identity::change_password(conn, &u, hash, true))
        .await;
    assert_eq!(
        s.validate(&admin, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = s
        .auth(password_body(
            json!({"name": "carol", "domain": {"id": "default"}}),
            "carol-pw",
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    // A token issued after the change (in a later second) is valid.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (token, _) = s.password_token("carol", "carol-pw2", scope.clone()).await;
    assert_eq!(s.validate(&admin, &token, "").await.0, StatusCode::OK);

    // Disabling the project, then the user.
    let p = project.clone();
    s.db(move |conn| ironstone::resource::set_project_enabled(conn, &p, false))
        .await;
    assert_eq!(
        s.validate(&admin, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = s
        .auth({
            let mut b = password_body(
                json!({"name": "carol", "domain": {"id": "default"}}),
                "carol-pw2",
            );
            b["auth"]["scope"] = json!({"project": {"id": project}});
            b
        })
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled project cannot be scoped to"
    );
    let p = project.clone();
    s.db(move |conn| ironstone::resource::set_project_enabled(conn, &p, true))
        .await;
    assert_eq!(
        s.validate(&admin, &token, "").await.0,
        StatusCode::OK,
        "re-enabling restores it"
    );

    let (unscoped, _) = s
        .password_token("carol", "carol-pw2", Some(json!("unscoped")))
        .await;
    let u = user.clone();
    s.db(move |conn| ironstone::identity::set_user_enabled(conn, &u, false))
        .await;
    assert_eq!(
        s.validate(&admin, &unscoped, "").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, body) = s
        .auth(password_body(
            json!({"name": "carol", "domain": {"id": "default"}}),
            "carol-pw2",
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled user cannot log in"
    );
    assert_eq!(
        body["error"]["message"],
        "The request you have made requires authentication."
    );

    // Deleting the user and the project.
    let u = user.clone();
    s.db(move |conn| ironstone::identity::set_user_enabled(conn, &u, true))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (token, _) = s.password_token("carol", "carol-pw2", scope.clone()).await;
    let (p, cipher) = (project.clone(), s.state().credentials.clone());
    let by = ironstone::audit::Initiator::Service;
    s.db(move |conn| ironstone::cascade::delete_project(conn, &cipher, &p, &by))
        .await;
    assert_eq!(
        s.validate(&admin, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
    let (token, _) = s.password_token("carol", "carol-pw2", None).await;
    let (u, cipher) = (user.clone(), s.state().credentials.clone());
    let by = ironstone::audit::Initiator::Service;
    s.db(move |conn| ironstone::cascade::delete_user(conn, &cipher, &u, &by))
        .await;
    assert_eq!(
        s.validate(&admin, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
}

async fn auth_failures(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let project = create_project(&s, "noroles").await;
    create_user(&s, "dave", "dave-pw", None).await;
    let generic = "The request you have made requires authentication.";
    let cases = vec![
        password_body(
            json!({"name": "admin", "domain": {"id": "default"}}),
            "wrong",
        ),
        password_body(json!({"name": "nobody", "domain": {"id": "default"}}), "x"),
        password_body(json!({"id": "00000000000000000000000000000000"}), "x"),
        password_body(
            json!({"name": "admin", "domain": {"name": "NoSuchDomain"}}),
            ADMIN_PASSWORD,
        ),
        {
            let mut b = password_body(
                json!({"name": "dave", "domain": {"id": "default"}}),
                "dave-pw",
            );
            b["auth"]["scope"] = json!({"project": {"id": project}});
            b
        },
        {
            let mut b = password_body(
                json!({"name": "dave", "domain": {"id": "default"}}),
                "dave-pw",
            );
            b["auth"]["scope"] = json!({"project": {"id": "ffffffffffffffffffffffffffffffff"}});
            b
        },
        {
            let mut b = password_body(
                json!({"name": "dave", "domain": {"id": "default"}}),
                "dave-pw",
            );
            b["auth"]["scope"] = json!({"system": {"all": true}});
            b
        },
    ];
    for body in cases {
        let resp = s
            .request(Method::POST, "/v3/auth/tokens")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(
            resp.headers()["www-authenticate"],
            format!("Keystone uri=\"{}/v3\"", s.url)
        );
        let err: Value = resp.json().await.unwrap();
        assert_error(&err, 401);
        assert_eq!(err["error"]["message"], generic, "{body}");
    }
    // Unsupported method: 401 listing the enabled methods.
    let (status, _, body) = s
        .auth(json!({"auth": {"identity": {"methods": ["kerberos"], "kerberos": {}}}}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["identity"]["methods"]
        .as_array()
        .unwrap()
        .contains(&json!("password")));
}

async fn bad_input(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let send = |body: &'static [u8], content_type: Option<&'static str>| {
        let mut req = s.request(Method::POST, "/v3/auth/tokens").body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        req.send()
    };
    let cases: Vec<(&[u8], Option<&str>, u16, &str)> = vec![
        (b"{not json", Some("application/json"), 400, "Expecting to find valid JSON in request body."),
        (b"[1, 2]", None, 400, "Expecting to find valid JSON in request body."),
        (b"{\"auth\": 1}", Some("text/plain"), 400, "Expecting to find application/json in Content-Type header."),
        (b"", None, 400, "Expecting to find auth in request body."),
        (b"{}", None, 400, "Expecting to find auth in request body."),
        (b"{\"auth\": {\"identity\": {\"methods\": [\"password\"]}}}", None, 400, "Expecting to find password in identity."),
        (b"{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \"admin\", \"password\": \"x\"}}}}}", None, 400, "Expecting to find domain in user."),
        (b"{\"auth\": {\"identity\": {\"methods\": [\"token\"], \"token\": {\"id\": 5}}}}", None, 400, "not of type 'string'"),
    ];
    for (body, ct, code, message) in cases {
        let resp = send(body, ct).await.unwrap();
        assert_eq!(
            resp.status().as_u16(),
            code,
            "{}",
            String::from_utf8_lossy(body)
        );
        let err: Value = resp.json().await.unwrap();
        assert_error(&err, code);
        assert!(
            err["error"]["message"].as_str().unwrap().contains(message),
            "{err}"
        );
    }
    // Oversized body: 413 in Keystone's JSON.
    let huge = format!("{{\"auth\": \"{}\"}}", "x".repeat(200_000));
    let resp = s
        .request(Method::POST, "/v3/auth/tokens")
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&resp.json::<Value>().await.unwrap(), 413);
    // Unknown paths and methods: JSON 404 and 405 with Allow.
    let resp = s
        .request(Method::GET, "/v3/no/such/thing")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_error(&resp.json::<Value>().await.unwrap(), 404);
    let resp = s
        .request(Method::PUT, "/v3/auth/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "POST, GET, HEAD, DELETE");
    assert_error(&resp.json::<Value>().await.unwrap(), 405);
    // Nothing above created anything: the admin still logs in once.
    s.admin_project_token().await;
}

async fn expiry_and_allow_expired(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| c.token.expiration = 120) else {
        return;
    };
    let (token, body) = s.password_token("admin", ADMIN_PASSWORD, None).await;
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let lifetime = parse(&body["token"]["expires_at"]) - parse(&body["token"]["issued_at"]);
    assert!((119..=121).contains(&lifetime.num_seconds()), "{lifetime}");
    let admin = s.admin_project_token().await;
    assert_eq!(s.validate(&admin, &token, "").await.0, StatusCode::OK);

    // A token whose expiry has passed: 404, unless allow_expired (48 h window).
    let state = s.state();
    let user_id = body["token"]["user"]["id"].as_str().unwrap().to_string();
    let now = chrono::Utc::now().timestamp() as f64;
    let mint = |expires_at: f64| {
        let payload = ironstone::token::Payload {
            user_id: user_id.clone(),
            methods: 2,
            scope: ironstone::token::Scope::Unscoped,
            expires_at,
            audit_ids: vec![ironstone::token::payload::new_audit_id()],
        };
        state.tokens.issue(&payload).unwrap().0
    };
    let expired = mint(now - 60.0);
    let (status, body) = s.validate(&admin, &expired, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "Failed to validate token");
    assert_eq!(
        s.validate(&admin, &expired, "?allow_expired=1").await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.validate(&admin, &expired, "?allow_expired=true").await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.validate(&admin, &expired, "?allow_expired=0").await.0,
        StatusCode::NOT_FOUND
    );
    let ancient = mint(now - 172_800.0 - 60.0);
    assert_eq!(
        s.validate(&admin, &ancient, "?allow_expired=1").await.0,
        StatusCode::NOT_FOUND
    );
    // An expired token cannot be used as the caller's own.
    assert_eq!(
        s.validate(&expired, &admin, "").await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn auth_listings(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = s.admin_project_token().await;
    let (unscoped, _) = s.password_token("admin", ADMIN_PASSWORD, None).await;
    let get = |path: &'static str, token: String| {
        s.request(Method::GET, path)
            .header("X-Auth-Token", token)
            .send()
    };

    let body: Value = get("/v3/auth/projects", unscoped.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = body["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin"]);
    assert_eq!(body["projects"][0]["parent_id"], "default");
    assert_eq!(body["links"]["self"], format!("{}/v3/auth/projects", s.url));
    let body: Value = get("/v3/auth/domains", unscoped.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["domains"], json!([]));
    let body: Value = get("/v3/auth/system", unscoped.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["system"], json!([{"all": true}]));
    let resp = get("/v3/auth/catalog", admin.clone()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["catalog"][0]["type"], "identity");
    let resp = get("/v3/auth/catalog", unscoped.clone()).await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "the catalog needs a project-scoped token"
    );
    for path in [
        "/v3/auth/projects",
        "/v3/auth/domains",
        "/v3/auth/system",
        "/v3/auth/catalog",
    ] {
        let resp = s.request(Method::GET, path).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // A user with no roles sees nothing.
    create_user(&s, "erin", "erin-pw", None).await;
    let (erin, _) = s.password_token("erin", "erin-pw", None).await;
    let body: Value = get("/v3/auth/projects", erin.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["projects"], json!([]));
    let body: Value = get("/v3/auth/system", erin)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["system"], json!([]));
}

async fn keystone_hash_formats_log_in(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let salt = b"0123456789abcdef";
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(b"legacy-pw", salt, 1000, &mut dk);
    let pbkdf2_hash = format!(
        "$pbkdf2-sha512$1000${}${}",
        b64.encode(salt).replace('+', "."),
        b64.encode(dk).replace('+', ".")
    );
    let user = create_user(&s, "legacy", "unused", None).await;
    let u = user.clone();
    s.db(move |conn| ironstone::identity::store_password(conn, &u, pbkdf2_hash, false))
        .await;
    let (_, body) = s.password_token("legacy", "legacy-pw", None).await;
    assert_eq!(body["token"]["user"]["id"], user.as_str());
    let (status, _, _) = s
        .auth(password_body(
            json!({"name": "legacy", "domain": {"id": "default"}}),
            "legacy-px",
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn key_rotation_keeps_tokens_valid(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    // Issued under key 1 (setup gives {0, 1}).
    let old = s.admin_project_token().await;
    let state = s.state();
    let repo = ironstone::token::KeyRepository::new(state.config.fernet_key_repository(), 3);
    repo.rotate().unwrap(); // {0, 1, 2}: the staged key becomes primary 2.
    assert!(state.tokens.reload().unwrap());
    let (new, _) = s.password_token("admin", ADMIN_PASSWORD, None).await;
    assert_eq!(
        s.validate(&new, &old, "").await.0,
        StatusCode::OK,
        "the old primary still decrypts"
    );
    repo.rotate().unwrap(); // {0, 2, 3}: key 1 leaves the repository.
    state.tokens.reload().unwrap();
    assert_eq!(
        s.validate(&new, &new, "").await.0,
        StatusCode::OK,
        "key 2 is still active"
    );
    assert_eq!(
        s.validate(&new, &old, "").await.0,
        StatusCode::NOT_FOUND,
        "a token whose key left the repository no longer validates"
    );
}

on_every_backend!(
    discovery,
    password_unscoped_by_name_and_id,
    scopes,
    default_project_scoping,
    token_method_rescopes,
    validate_head_and_policy,
    revocation,
    revoked_by_user_and_project_changes,
    auth_failures,
    bad_input,
    expiry_and_allow_expired,
    auth_listings,
    keystone_hash_formats_log_in,
    key_rotation_keeps_tokens_valid,
);

/// An unknown user and a wrong password take about the same time, because
/// both run one bcrypt check (the unknown user's against a dummy hash).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_take_the_same_time() {
    let Some(s) = TestServer::start_with(Backend::Sqlite, |c| c.identity.password_hash_rounds = 10)
    else {
        return;
    };
    // The bootstrapped admin was hashed at cost 10 too; so is the dummy hash.
    let body = |name: &str| {
        password_body(
            json!({"name": name, "domain": {"id": "default"}}),
            "not-the-password",
        )
    };
    // Interleaved, each going first in turn, so that whatever else the
    // machine is doing (other tests run beside this one) weighs on both
    // the same way.
    let mut samples: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for round in 0..11 {
        let order = if round % 2 == 0 {
            ["admin", "no-such-user"]
        } else {
            ["no-such-user", "admin"]
        };
        for name in order {
            let started = std::time::Instant::now();
            let (status, _, err) = s.auth(body(name)).await;
            samples
                .entry(name)
                .or_default()
                .push(started.elapsed().as_secs_f64());
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(
                err["error"]["message"],
                "The request you have made requires authentication."
            );
        }
    }
    let mut timings = std::collections::BTreeMap::new();
    for (name, mut taken) in samples {
        taken.sort_by(f64::total_cmp);
        timings.insert(name, taken[taken.len() / 2]);
    }
    let (known, unknown) = (timings["admin"], timings["no-such-user"]);
    // Without the dummy hash an unknown user answers in a millisecond or
    // so against bcrypt's 70 at cost 10, a ratio of 50 and more; a loaded
    // machine moved honest medians apart by up to 2.6 times.
    let ratio = known / unknown;
    assert!(
        (0.25..4.0).contains(&ratio),
        "median wrong-password {known:.4}s vs unknown-user {unknown:.4}s"
    );
    assert!(
        unknown > 0.01,
        "the unknown user was checked against a real bcrypt hash ({unknown:.4}s)"
    );
}
