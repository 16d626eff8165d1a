//! The web console: its browser session (cookie, CSRF, sign-out) and
//! security headers over HTTP, then the real page driven in headless
//! Chromium by `tests/browser/console_test.py`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{
    create_project, create_user, interop_python, text_of, Backend, TestServer, ADMIN_PASSWORD,
};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A signed-in console session: the cookie header to send back and the
/// CSRF token the session answer carried.
struct Session {
    cookie: String,
    csrf: String,
    set_cookie: String,
    body: Value,
}

async fn sign_in(s: &TestServer, user: &str, password: &str) -> (StatusCode, Option<Session>) {
    let resp = s
        .request(Method::POST, "/console/session")
        .json(&json!({"session": {"username": user, "password": password}}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let set_cookie = resp
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = resp.json().await.unwrap();
    (status, set_cookie.map(|c| session_from(c, body)))
}

fn session_from(set_cookie: String, body: Value) -> Session {
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    Session {
        cookie,
        csrf: body["session"]["csrf_token"].as_str().unwrap().to_string(),
        set_cookie,
        body,
    }
}

/// A request carrying the session cookie, and the CSRF header when given.
fn with_session(
    s: &TestServer,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
) -> reqwest::RequestBuilder {
    let req = s.request(method, path).header(COOKIE, cookie);
    match csrf {
        Some(token) => req.header("X-CSRF-Token", token),
        None => req,
    }
}

/// `POST /console/session` as the admin, with one more request header.
async fn admin_sign_in_with(s: &TestServer, header: (&str, &str)) -> reqwest::Response {
    s.request(Method::POST, "/console/session")
        .header(header.0, header.1)
        .json(&json!({"session": {"username": "admin", "password": ADMIN_PASSWORD}}))
        .send()
        .await
        .unwrap()
}

async fn status_of(req: reqwest::RequestBuilder) -> StatusCode {
    req.send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_counts_only_with_its_csrf_token() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let project = create_project(&s, "console-p").await;
    create_user(&s, "carol", "carol-pw", Some((&project, "member"))).await;

    // A wrong password: 401, and no cookie.
    let (status, session) = sign_in(&s, "carol", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(session.is_none());

    let (status, session) = sign_in(&s, "carol", "carol-pw").await;
    assert_eq!(status, StatusCode::CREATED);
    let session = session.unwrap();
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Max-Age="] {
        assert!(
            session.set_cookie.contains(attribute),
            "{}",
            session.set_cookie
        );
    }
    assert!(!session.set_cookie.contains("Secure"), "plain HTTP here");
    let token = session.cookie.split_once('=').unwrap().1.to_string();
    assert!(token.starts_with("gAAAA"));
    // The page gets the CSRF token and the token's body, never the token.
    assert!(!session.body.to_string().contains(&token));
    assert_eq!(session.body["session"]["token"]["user"]["name"], "carol");

    let projects = "/v3/auth/projects";
    let cookie = &session.cookie;
    // The cookie alone is no credential: a page elsewhere could make the
    // browser send it, but cannot send the header.
    let other_csrf = ironstone::auth::browser::csrf_token("another token");
    for csrf in [None, Some("forged"), Some(other_csrf.as_str())] {
        assert_eq!(
            status_of(with_session(&s, Method::GET, projects, cookie, csrf)).await,
            StatusCode::UNAUTHORIZED,
            "{csrf:?}"
        );
    }
    let csrf = Some(session.csrf.as_str());
    assert_eq!(
        status_of(with_session(&s, Method::GET, projects, cookie, csrf)).await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(with_session(
            &s,
            Method::GET,
            "/identity/v3/auth/projects",
            cookie,
            csrf
        ))
        .await,
        StatusCode::OK
    );
    // The session answer needs only the cookie, and gives the same CSRF token.
    let resp = with_session(&s, Method::GET, "/console/session", cookie, None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let again: Value = resp.json().await.unwrap();
    assert_eq!(again["session"]["csrf_token"], session.csrf.as_str());

    // A choice without a project is a 400, a project without a role a
    // 401 (as the token method answers), and one from another site a 403.
    let roleless = create_project(&s, "roleless").await;
    for (body, site, refused) in [
        (
            json!({"session": {}}),
            "same-origin",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"session": {"project_id": roleless}}),
            "same-origin",
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"session": {"project_id": project}}),
            "cross-site",
            StatusCode::FORBIDDEN,
        ),
    ] {
        let resp = with_session(&s, Method::POST, "/console/session/project", cookie, csrf)
            .header("Sec-Fetch-Site", site)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), refused, "{body} from {site}");
    }
    // Choosing a project replaces the cookie with a project-scoped token.
    let resp = with_session(&s, Method::POST, "/console/session/project", cookie, csrf)
        .json(&json!({"session": {"project_id": project}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let set_cookie = resp.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let scoped = session_from(set_cookie, resp.json().await.unwrap());
    assert_eq!(
        scoped.body["session"]["token"]["project"]["id"],
        project.as_str()
    );
    let user_id = scoped.body["session"]["token"]["user"]["id"]
        .as_str()
        .unwrap();
    let keys = format!("/v1/{project}/aksks/{user_id}/keys");
    assert_eq!(
        status_of(with_session(
            &s,
            Method::GET,
            &keys,
            &scoped.cookie,
            Some(&scoped.csrf)
        ))
        .await,
        StatusCode::OK
    );
    // Changing the project is a state change: the CSRF header is required.
    assert_eq!(
        status_of(
            with_session(
                &s,
                Method::POST,
                "/console/session/project",
                &scoped.cookie,
                None
            )
            .json(&json!({"session": {"project_id": project}}))
        )
        .await,
        StatusCode::UNAUTHORIZED
    );

    // Signing out needs the header too, then revokes the whole chain.
    assert_eq!(
        status_of(with_session(
            &s,
            Method::DELETE,
            "/console/session",
            &scoped.cookie,
            None
        ))
        .await,
        StatusCode::UNAUTHORIZED
    );
    let resp = with_session(
        &s,
        Method::DELETE,
        "/console/session",
        &scoped.cookie,
        Some(&scoped.csrf),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let admin = s.admin_project_token().await;
    let scoped_token = scoped.cookie.split_once('=').unwrap().1;
    for revoked in [token.as_str(), scoped_token] {
        let (status, _) = s.validate(&admin, revoked, "").await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "signed-out token still valid"
        );
    }
    assert_eq!(
        status_of(with_session(
            &s,
            Method::GET,
            "/console/session",
            &scoped.cookie,
            None
        ))
        .await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_refused_from_other_sites_and_bad_bodies() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    // Login CSRF: another site signing the victim's browser in.
    let resp = admin_sign_in_with(&s, ("Sec-Fetch-Site", "cross-site")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get(SET_COOKIE).is_none());
    // A form post (what a cross-site page can send without a preflight).
    let resp = s
        .request(Method::POST, "/console/session")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("username=admin&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    for (body, expected) in [
        // As Keystone: a password method without a password is a failed sign-in.
        (
            json!({"session": {"username": "admin"}}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"session": {"username": "admin", "password": 12345678}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"session": {"username": "admin", "password": "x", "extra": 1}}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"username": "admin"}), StatusCode::BAD_REQUEST),
        (
            json!({"session": {"username": "nobody", "password": "x"}}),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let resp = s
            .request(Method::POST, "/console/session")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), expected, "{body}");
        let text = resp.text().await.unwrap();
        assert!(!text.contains("12345678"), "a password echoed: {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["error"]["code"], expected.as_u16());
    }
    assert_eq!(
        status_of(s.request(Method::PUT, "/console/session")).await,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_answers_carry_the_security_headers() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    for (path, content_type) in [
        ("/console", "text/html"),
        ("/console/", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/app.css", "text/css"),
        ("/console/icon.svg", "image/svg+xml"),
    ] {
        let resp = s.request(Method::GET, path).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers();
        assert!(h["content-type"]
            .to_str()
            .unwrap()
            .starts_with(content_type));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-store");
    }
    // No inline script or style, and nothing fetched from elsewhere.
    let html = text_of(&s, "/console").await;
    assert!(html.contains(r#"<script src="/console/app.js" defer></script>"#));
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains(" style=") && !html.contains("<style"));
    assert!(!html.contains(" onclick=") && !html.contains(" onload="));
    assert!(!html.contains("http://") && !html.contains("https://"));
    let js = text_of(&s, "/console/app.js").await;
    assert!(!js.contains("innerHTML") && !js.contains("localStorage.setItem"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_can_move_or_be_turned_off() {
    let moved =
        TestServer::start_with(Backend::Sqlite, |c| c.console.path = "/keys".into()).unwrap();
    let html = text_of(&moved, "/keys").await;
    assert!(html.contains(r#"<meta name="ironstone-console" content="/keys">"#));
    assert_eq!(
        status_of(moved.request(Method::GET, "/console")).await,
        StatusCode::NOT_FOUND
    );
    let off = TestServer::start_with(Backend::Sqlite, |c| c.console.enabled = false).unwrap();
    for path in ["/console", "/console/session", "/console/app.js"] {
        assert_eq!(
            status_of(off.request(Method::GET, path)).await,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_cookie_is_secure_and_host_only() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.server.trusted_proxies = vec!["127.0.0.1".into()]
    })
    .unwrap();
    let resp = admin_sign_in_with(&s, ("X-Forwarded-Proto", "https")).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let set_cookie = resp.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set_cookie.starts_with("__Host-ironstone_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.ends_with("; Secure"), "{set_cookie}");
    let body: Value = resp.json().await.unwrap();
    assert!(body["session"]["endpoints"]["identity"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    // The secure cookie is read back as well.
    let session = session_from(set_cookie, body);
    assert_eq!(
        status_of(with_session(
            &s,
            Method::GET,
            "/v3/auth/projects",
            &session.cookie,
            Some(&session.csrf)
        ))
        .await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_show_secrets_are_not_cached() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = common::admin_member(&s).await;
    let (p, u) = (&admin.project_id, &admin.user_id);
    let cache_control = |resp: &reqwest::Response| {
        resp.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let resp = s
        .request(Method::POST, &format!("/v1/{p}/aksks"))
        .header("X-Auth-Token", &admin.token)
        .json(&json!({"credential": {"project_id": p, "user_id": u}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(cache_control(&resp).as_deref(), Some("no-store"));
    for path in [
        format!("/v1/{p}/aksks/{u}"),
        format!("/v3/credentials?user_id={u}"),
        format!("/identity/v3/credentials?user_id={u}"),
        format!("/v3/users/{u}/credentials/OS-EC2"),
        format!("/v3/users/{u}/application_credentials"),
    ] {
        let resp = s
            .request(Method::GET, &path)
            .header("X-Auth-Token", &admin.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(cache_control(&resp).as_deref(), Some("no-store"), "{path}");
    }
    let resp = s
        .request(Method::POST, "/v3/auth/tokens")
        .json(
            &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(cache_control(&resp).as_deref(), Some("no-store"));
    // Answers without secrets keep the default.
    let resp = s
        .request(Method::GET, "/v3/projects")
        .header("X-Auth-Token", &admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(cache_control(&resp), None);
}

/// Whether the browser test can run here; the reason when it cannot.
fn browser_prerequisites(python: &std::path::Path) -> Result<(), String> {
    let chromium = std::env::var("IRONSTONE_TEST_CHROMIUM").unwrap_or("/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return Err(format!(
            "no Chromium at {chromium} (apt-get install chromium chromium-driver)"
        ));
    }
    let playwright = std::process::Command::new(python)
        .args(["-c", "import playwright.sync_api"])
        .output()
        .map_err(|e| e.to_string())?;
    if !playwright.status.success() {
        return Err(
            "Playwright is not installed in the interop venv (scripts/interop-venv.sh installs it)"
                .into(),
        );
    }
    let axe = browser_dir().join("node_modules/axe-core/axe.min.js");
    if !axe.exists() {
        return Err(format!(
            "axe-core is not installed at {} (npm ci --prefix tests/browser)",
            axe.display()
        ));
    }
    Ok(())
}

fn browser_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The whole console in headless Chromium: sign in, create, copy and
/// download, verify with ec2tokens and an application credential token,
/// edit, disable, rotate, delete, sign out, member isolation, the admin's
/// user picker, a phone-sized screen, and axe-core on every screen.
/// `IRONSTONE_CONSOLE_SCREENSHOTS=DIR` also writes the README's PNGs.
#[test]
fn console_in_chromium() {
    let Some(python) = interop_python() else {
        return;
    };
    if let Err(reason) = browser_prerequisites(&python) {
        if std::env::var("IRONSTONE_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("the browser test is required but cannot run: {reason}");
        }
        eprintln!("skipping the browser test: {reason}");
        return;
    }
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let mut cmd = std::process::Command::new(python);
    cmd.arg(browser_dir().join("console_test.py"))
        .arg(&s.url)
        .arg(ADMIN_PASSWORD);
    if let Ok(dir) = std::env::var("IRONSTONE_CONSOLE_SCREENSHOTS") {
        cmd.arg("--screenshots").arg(dir);
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "console_test.py: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["ec2tokens_with_new_pair"], 200);
    assert_eq!(summary["appcred_token"], 201);
    assert_eq!(summary["member_isolation"], json!([403, 401, 401]));
    assert!(summary["axe_screens"].as_array().unwrap().len() >= 10);
}

/// Signing out is for the session: a caller with an `X-Auth-Token` and no
/// session cookie gets a 401 and keeps its token (found by the contract
/// fuzzing, which signed its own admin token out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_needs_the_session() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let token = s.admin_project_token().await;
    let resp = s
        .request(Method::DELETE, "/console/session")
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.validate(&token, &token, "").await.0, StatusCode::OK);
}
