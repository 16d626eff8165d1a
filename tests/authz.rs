//! Who may call each route: a table of (route × caller) with the expected
//! status, every cell asserted, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{create_project, create_user, Backend, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    ProjectAdmin,
    SystemAdmin,
    SystemReader,
    Service,
    Owner,
    ProjectReader,
    OtherProjectUser,
    NoToken,
    RevokedToken,
}

const CALLERS: [Caller; 9] = [
    Caller::ProjectAdmin,
    Caller::SystemAdmin,
    Caller::SystemReader,
    Caller::Service,
    Caller::Owner,
    Caller::ProjectReader,
    Caller::OtherProjectUser,
    Caller::NoToken,
    Caller::RevokedToken,
];

struct World {
    project: String,
}

async fn grant_system(s: &TestServer, user_id: String, role: &'static str) {
    s.db(move |conn| {
        let role = ironstone::assignment::find_global_role_by_name(conn, role)?.unwrap();
        ironstone::assignment::grant(
            conn,
            ironstone::assignment::AssignmentKind::UserSystem,
            &user_id,
            "system",
            &role.id,
            false,
        )
    })
    .await;
}

async fn setup(s: &TestServer) -> World {
    let project = create_project(s, "shared").await;
    let other = create_project(s, "elsewhere").await;
    create_user(s, "owner", "pw", Some((&project, "member"))).await;
    create_user(s, "peer", "pw", Some((&project, "reader"))).await;
    create_user(s, "stranger", "pw", Some((&other, "member"))).await;
    create_user(s, "svc", "pw", Some((&project, "service"))).await;
    let reader = create_user(s, "auditor", "pw", None).await;
    grant_system(s, reader, "reader").await;
    World { project }
}

async fn token_of(s: &TestServer, w: &World, caller: Caller) -> Option<String> {
    let project = Some(json!({"project": {"id": w.project}}));
    let system = Some(json!({"system": {"all": true}}));
    let token = match caller {
        Caller::ProjectAdmin => s.admin_project_token().await,
        Caller::SystemAdmin => s.password_token("admin", ADMIN_PASSWORD, system).await.0,
        Caller::SystemReader => s.password_token("auditor", "pw", system).await.0,
        Caller::Service => s.password_token("svc", "pw", project).await.0,
        Caller::Owner => s.password_token("owner", "pw", project).await.0,
        Caller::ProjectReader => s.password_token("peer", "pw", project).await.0,
        Caller::OtherProjectUser => s.password_token("stranger", "pw", None).await.0,
        Caller::NoToken => return None,
        Caller::RevokedToken => {
            let admin = s.admin_project_token().await;
            let (victim, _) = s.password_token("admin", ADMIN_PASSWORD, None).await;
            let resp = s
                .request(Method::DELETE, "/v3/auth/tokens")
                .header("X-Auth-Token", &admin)
                .header("X-Subject-Token", &victim)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::NO_CONTENT);
            victim
        }
    };
    Some(token)
}

/// Keystone's policy for each token route, per caller (the subject token
/// belongs to `Caller::Owner`).
fn expected(method: &Method, caller: Caller) -> StatusCode {
    use Caller::*;
    let allowed = match (method.as_str(), caller) {
        (_, NoToken | RevokedToken) => return StatusCode::UNAUTHORIZED,
        // admin_required or system reader or service or token subject
        ("GET", ProjectAdmin | SystemAdmin | SystemReader | Service | Owner) => true,
        // the same without service
        ("HEAD", ProjectAdmin | SystemAdmin | SystemReader | Owner) => true,
        // admin_required or token subject
        ("DELETE", ProjectAdmin | SystemAdmin | Owner) => true,
        _ => false,
    };
    match (allowed, method.as_str()) {
        (false, _) => StatusCode::FORBIDDEN,
        (true, "DELETE") => StatusCode::NO_CONTENT,
        (true, _) => StatusCode::OK,
    }
}

async fn token_routes(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let w = setup(&s).await;
    for method in [Method::GET, Method::HEAD, Method::DELETE] {
        for caller in CALLERS {
            // A fresh subject per cell, since DELETE consumes it.
            let subject = token_of(&s, &w, Caller::Owner).await.unwrap();
            let token = token_of(&s, &w, caller).await;
            let mut req = s
                .request(method.clone(), "/v3/auth/tokens")
                .header("X-Subject-Token", &subject);
            if let Some(token) = &token {
                req = req.header("X-Auth-Token", token);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(
                resp.status(),
                expected(&method, caller),
                "{method} as {caller:?}"
            );
            if resp.status() == StatusCode::UNAUTHORIZED {
                assert!(
                    resp.headers().contains_key("www-authenticate"),
                    "{method} as {caller:?}"
                );
            }
        }
    }
}

async fn auth_listing_routes(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let w = setup(&s).await;
    for path in [
        "/v3/auth/projects",
        "/v3/auth/domains",
        "/v3/auth/system",
        "/v3/auth/catalog",
    ] {
        for caller in CALLERS {
            let token = token_of(&s, &w, caller).await;
            let mut req = s.request(Method::GET, path);
            if let Some(token) = &token {
                req = req.header("X-Auth-Token", token);
            }
            let status = req.send().await.unwrap().status();
            let want = match caller {
                Caller::NoToken | Caller::RevokedToken => StatusCode::UNAUTHORIZED,
                // The catalog needs a project-scoped token.
                Caller::SystemAdmin | Caller::SystemReader | Caller::OtherProjectUser
                    if path.ends_with("catalog") =>
                {
                    StatusCode::FORBIDDEN
                }
                _ => StatusCode::OK,
            };
            assert_eq!(status, want, "GET {path} as {caller:?}");
        }
    }
}

on_every_backend!(token_routes, auth_listing_routes);

/// Callers of the AK/SK and credential routes; the target is Owner's pair.
#[derive(Debug, Clone, Copy, PartialEq)]
enum KeyCaller {
    Admin,
    Owner,
    Peer,
    Stranger,
    NoToken,
    Revoked,
}

struct KeyWorld {
    project: String,
    owner: String,
    tokens: Vec<(KeyCaller, Option<String>)>,
    admin_token: String,
}

async fn key_world(s: &TestServer) -> KeyWorld {
    let project = create_project(s, "keys").await;
    let other = create_project(s, "other").await;
    let owner = common::member_of(s, "owner", &project, "member").await;
    let peer = common::member_of(s, "peer", &project, "member").await;
    let stranger = common::member_of(s, "stranger", &other, "member").await;
    let admin = s.admin_project_token().await;
    let (revoked, _) = s
        .password_token("owner", "pw", Some(json!({"project": {"id": project}})))
        .await;
    let resp = s
        .request(Method::DELETE, "/v3/auth/tokens")
        .header("X-Auth-Token", &admin)
        .header("X-Subject-Token", &revoked)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    KeyWorld {
        project,
        owner: owner.user_id,
        tokens: vec![
            (KeyCaller::Admin, Some(admin.clone())),
            (KeyCaller::Owner, Some(owner.token)),
            (KeyCaller::Peer, Some(peer.token)),
            (KeyCaller::Stranger, Some(stranger.token)),
            (KeyCaller::NoToken, None),
            (KeyCaller::Revoked, Some(revoked)),
        ],
        admin_token: admin,
    }
}

/// A fresh pair of Owner's, made by the admin: (access key, credential id).
async fn fresh_pair(s: &TestServer, w: &KeyWorld) -> (String, String) {
    let (status, body) = common::call(
        s,
        Method::POST,
        &format!("/v1/{}/aksks", w.project),
        Some(&w.admin_token),
        Some(json!({"project_id": w.project, "user_id": w.owner})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_key"].as_str().unwrap().to_string();
    use sha2::Digest;
    let id = hex::encode(sha2::Sha256::digest(access.as_bytes()));
    (access, id)
}

async fn key_routes(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let w = key_world(&s).await;
    let (p, u) = (w.project.clone(), w.owner.clone());
    // (method, path with {ak} and {id} placeholders, body, success status)
    let routes: Vec<(Method, String, Option<serde_json::Value>, StatusCode)> = vec![
        (
            Method::POST,
            format!("/v1/{p}/aksks"),
            Some(json!({"credential": {"project_id": p, "user_id": u}})),
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v1/{p}/aksks/{u}"),
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v1/{p}/aksks/{u}/download?format=csv"),
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v1/{p}/aksks/{u}/keys"),
            None,
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/v1/{p}/aksks/{u}/keys/{{ak}}"),
            Some(json!({"name": "renamed"})),
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            format!("/v1/{p}/aksks/{u}/keys/{{ak}}"),
            None,
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            format!("/v1/{p}/aksks/{u}"),
            None,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v3/credentials".to_string(),
            Some(
                json!({"credential": {"type": "ec2", "user_id": u, "project_id": p, "blob": "{\"access\": \"{ak}-new\", \"secret\": \"s\"}"}}),
            ),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/v3/credentials/{id}".to_string(),
            None,
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            "/v3/credentials/{id}".to_string(),
            Some(
                json!({"credential": {"blob": "{\"access\": \"{ak}\", \"secret\": \"changed\"}"}}),
            ),
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            "/v3/credentials/{id}".to_string(),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            Method::POST,
            format!("/v3/users/{u}/credentials/OS-EC2"),
            Some(json!({"tenant_id": p})),
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v3/users/{u}/credentials/OS-EC2"),
            None,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v3/users/{u}/credentials/OS-EC2/{{ak}}"),
            None,
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            format!("/v3/users/{u}/credentials/OS-EC2/{{ak}}"),
            None,
            StatusCode::NO_CONTENT,
        ),
    ];
    for (method, path, body, success) in &routes {
        for (caller, token) in &w.tokens {
            let (access, id) = fresh_pair(&s, &w).await;
            let path = path.replace("{ak}", &access).replace("{id}", &id);
            let body = body
                .as_ref()
                .map(|b| serde_json::from_str(&b.to_string().replace("{ak}", &access)).unwrap());
            let (status, got) =
                common::call(&s, method.clone(), &path, token.as_deref(), body).await;
            let want = match caller {
                KeyCaller::Admin | KeyCaller::Owner => *success,
                KeyCaller::Peer | KeyCaller::Stranger => StatusCode::FORBIDDEN,
                KeyCaller::NoToken | KeyCaller::Revoked => StatusCode::UNAUTHORIZED,
            };
            assert_eq!(status, want, "{method} {path} as {caller:?}: {got}");
            if want.is_client_error() {
                assert_eq!(
                    got["error"]["code"],
                    want.as_u16(),
                    "{method} {path} as {caller:?}"
                );
            }
        }
    }
    // Listing credentials is open to every valid token, filtered to what the
    // caller may see.
    let (_, id) = fresh_pair(&s, &w).await;
    for (caller, token) in &w.tokens {
        let (status, body) =
            common::call(&s, Method::GET, "/v3/credentials", token.as_deref(), None).await;
        match caller {
            KeyCaller::NoToken | KeyCaller::Revoked => assert_eq!(status, StatusCode::UNAUTHORIZED),
            _ => {
                assert_eq!(status, StatusCode::OK);
                let sees = body["credentials"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["id"] == id.as_str());
                assert_eq!(
                    sees,
                    matches!(caller, KeyCaller::Admin | KeyCaller::Owner),
                    "list as {caller:?}"
                );
            }
        }
    }
}

on_every_backend!(key_routes);
