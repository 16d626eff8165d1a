//! Who may call each route: a table of (route × caller) with the expected
//! status, every cell asserted, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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

on_both_backends!(token_routes, auth_listing_routes);
