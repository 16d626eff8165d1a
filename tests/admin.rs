//! Identity administration over HTTP (domains, projects, users): Keystone's
//! shapes and errors, revocation on changes, and who may do what; on
//! SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, create_project, expect_error, member_of, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn crud_and_errors(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    // Domains: create, duplicate, rename, list filters, delete rules.
    let (status, d) = call(
        &s,
        Method::POST,
        "/v3/domains",
        t,
        Some(json!({"domain": {"name": "acme", "description": "ACME"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let did = d["domain"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        d["domain"]["links"]["self"],
        format!("{}/v3/domains/{did}", s.url)
    );
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/domains",
        t,
        Some(json!({"domain": {"name": "acme"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, list) = call(&s, Method::GET, "/v3/domains?name=acme", t, None).await;
    assert_eq!(list["domains"].as_array().unwrap().len(), 1);
    let (_, list) = call(&s, Method::GET, "/v3/domains?enabled=false", t, None).await;
    assert_eq!(list["domains"], json!([]));
    let (status, _) = call(&s, Method::GET, "/v3/domains?enabled=maybe", t, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(&s, Method::DELETE, &format!("/v3/domains/{did}"), t, None).await;
    expect_error(status, &body, StatusCode::FORBIDDEN, "disable it first");
    let (status, _) = call(&s, Method::DELETE, "/v3/domains/default", t, None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "enabled, and the default domain anyway"
    );
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/domains/{did}"),
        t,
        Some(json!({"domain": {"id": "x"}})),
    )
    .await;
    // Keystone's domain PATCH ignores an id in the body (issue 14,
    // tests/differential.rs); it changes nothing.
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &s,
        Method::GET,
        "/v3/domains/ffffffffffffffffffffffffffffffff",
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Projects: in the domain, with a parent, tags; errors.
    let (status, p) = call(
        &s,
        Method::POST,
        "/v3/projects",
        t,
        Some(json!({"project": {"name": "web", "domain_id": did, "tags": ["a", "b"]}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let pid = p["project"]["id"].as_str().unwrap().to_string();
    assert_eq!(p["project"]["parent_id"], did.as_str());
    assert_eq!(p["project"]["tags"], json!(["a", "b"]));
    // As in Keystone, a parent does not choose the domain: without one,
    // a project-scoped caller's project goes to the default domain, and
    // a parent elsewhere is a 400.
    let (status, got) = call(
        &s,
        Method::POST,
        "/v3/projects",
        t,
        Some(json!({"project": {"name": "api", "parent_id": pid}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
    let (status, c) = call(
        &s,
        Method::POST,
        "/v3/projects",
        t,
        Some(json!({"project": {"name": "api", "parent_id": pid, "domain_id": did}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["project"]["domain_id"], did.as_str());
    let cid = c["project"]["id"].as_str().unwrap().to_string();
    for (body, code) in [
        (
            json!({"project": {"name": "web", "domain_id": did}}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"project": {"name": "x", "domain_id": "nope"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"project": {"name": "x", "parent_id": "ffffffffffffffffffffffffffffffff"}}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"project": {"name": 5}}), StatusCode::BAD_REQUEST),
        (json!({"project": {}}), StatusCode::BAD_REQUEST),
        (
            json!({"project": {"name": "x", "tags": "a"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"project": {"name": "x", "tags": ["a/b"]}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"project": {"name": "x", "is_domain": true, "domain_id": did}}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"nothing": {}}), StatusCode::BAD_REQUEST),
    ] {
        let (status, got) = call(&s, Method::POST, "/v3/projects", t, Some(body.clone())).await;
        assert_eq!(status, code, "{body} -> {got}");
        common::assert_error(&got, code.as_u16());
    }
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/projects?parent_id={pid}"),
        t,
        None,
    )
    .await;
    assert_eq!(list["projects"].as_array().unwrap().len(), 1);
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/projects?domain_id={did}&name=web"),
        t,
        None,
    )
    .await;
    assert_eq!(list["projects"][0]["id"], pid.as_str());
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/projects/{pid}"),
        t,
        Some(json!({"project": {"domain_id": "default"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(
        &s,
        Method::PATCH,
        &format!("/v3/projects/{cid}"),
        t,
        Some(json!({"project": {"name": "web"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = call(&s, Method::DELETE, &format!("/v3/projects/{pid}"), t, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a project with children");

    // Users: extra attributes, duplicate names, a default project.
    let (status, u) = call(&s, Method::POST, "/v3/users", t, Some(json!({"user": {"name": "zoe", "domain_id": did, "password": "pw1", "email": "z@example.com", "default_project_id": pid}}))).await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    let uid = u["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(u["user"]["email"], "z@example.com");
    assert!(
        u["user"].get("password").is_none(),
        "passwords are never shown"
    );
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/users",
        t,
        Some(json!({"user": {"name": "zoe", "domain_id": did}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/users",
        t,
        Some(json!({"user": {"name": "x", "default_project_id": "nope"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/users",
        t,
        Some(json!({"user": {"name": "x", "password": 5}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/users?domain_id={did}"),
        t,
        None,
    )
    .await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1);
    let (status, u) = call(
        &s,
        Method::PATCH,
        &format!("/v3/users/{uid}"),
        t,
        Some(json!({"user": {"email": null, "phone": "1"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(u["user"].get("email").is_none());
    assert_eq!(u["user"]["phone"], "1");

    // Deleting the disabled domain takes everything in it.
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/domains/{did}"),
        t,
        Some(json!({"domain": {"enabled": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&s, Method::DELETE, &format!("/v3/domains/{did}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in [
        format!("/v3/projects/{pid}"),
        format!("/v3/projects/{cid}"),
        format!("/v3/users/{uid}"),
    ] {
        assert_eq!(
            call(&s, Method::GET, &path, t, None).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

async fn changes_revoke_tokens(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    let project = create_project(&s, "rev").await;
    let m = member_of(&s, "yuri", &project, "member").await;
    // Self-service password change: needs the original password, no token.
    let url = format!("/v3/users/{}/password", m.user_id);
    let (status, _) = call(
        &s,
        Method::POST,
        &url,
        None,
        Some(json!({"user": {"original_password": "wrong", "password": "new-pw"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.validate(&admin.token, &m.token, "").await.0,
        StatusCode::OK,
        "a failed change revokes nothing"
    );
    let (status, _) = call(
        &s,
        Method::POST,
        &url,
        None,
        Some(json!({"user": {"original_password": "pw", "password": "new-pw"}})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.validate(&admin.token, &m.token, "").await.0,
        StatusCode::NOT_FOUND
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (token, _) = s
        .password_token("yuri", "new-pw", Some(json!({"project": {"id": project}})))
        .await;
    // Disabling through the API.
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/users/{}", m.user_id),
        t,
        Some(json!({"user": {"enabled": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        s.validate(&admin.token, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
    // An admin password reset revokes too.
    call(
        &s,
        Method::PATCH,
        &format!("/v3/users/{}", m.user_id),
        t,
        Some(json!({"user": {"enabled": true}})),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (token, _) = s
        .password_token("yuri", "new-pw", Some(json!({"project": {"id": project}})))
        .await;
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/users/{}", m.user_id),
        t,
        Some(json!({"user": {"password": "reset-pw"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        s.validate(&admin.token, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
    // The user's projects.
    let (status, body) = call(
        &s,
        Method::GET,
        &format!("/v3/users/{}/projects", m.user_id),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["projects"][0]["id"], project.as_str());
}

async fn new_user(s: &TestServer, admin: &str, domain: &str, name: &str) -> String {
    let (status, u) = call(
        s,
        Method::POST,
        "/v3/users",
        Some(admin),
        Some(json!({"user": {"name": name, "domain_id": domain, "password": "pw"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{u}");
    u["user"]["id"].as_str().unwrap().to_string()
}

async fn grant(
    s: &TestServer,
    kind: ironstone::assignment::AssignmentKind,
    user: &str,
    target: &str,
    role: &'static str,
) {
    let (user, target) = (user.to_string(), target.to_string());
    s.db(move |conn| {
        let role = ironstone::assignment::find_global_role_by_name(conn, role)?.unwrap();
        ironstone::assignment::grant(conn, kind, &user, &target, &role.id, false)
    })
    .await;
}

async fn login(s: &TestServer, name: &str, domain: String, scope: Value) -> String {
    let (_, token, body) = s
        .auth(json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": name, "domain": {"id": domain}, "password": "pw"}}}, "scope": scope}}))
        .await;
    token.unwrap_or_else(|| panic!("{name}: {body}"))
}

/// (method, path, body, who is allowed, status on success).
type RouteCase = (Method, String, Option<Value>, Vec<Who>, StatusCode);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    SystemAdmin,
    DomainManager,
    DomainReader,
    ProjectMember,
    ProjectReader,
    Owner,
    OtherProjectUser,
    NoToken,
}

/// A server with a domain "org", a project "proj" in it, and a token for
/// each kind of caller. The project member is also the "owner" of its own
/// user record and application credentials.
struct Personas {
    s: TestServer,
    admin_token: String,
    did: String,
    pid: String,
    member: String,
    tokens: Vec<(Who, Option<String>)>,
}

async fn personas(backend: Backend) -> Option<Personas> {
    let s = TestServer::start(backend)?;
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    let (_, d) = call(
        &s,
        Method::POST,
        "/v3/domains",
        t,
        Some(json!({"domain": {"name": "org"}})),
    )
    .await;
    let did = d["domain"]["id"].as_str().unwrap().to_string();
    let (_, p) = call(
        &s,
        Method::POST,
        "/v3/projects",
        t,
        Some(json!({"project": {"name": "proj", "domain_id": did}})),
    )
    .await;
    let pid = p["project"]["id"].as_str().unwrap().to_string();
    let other = create_project(&s, "elsewhere").await;
    use ironstone::assignment::AssignmentKind::{UserDomain, UserProject};
    let manager = new_user(&s, &admin.token, &did, "manager").await;
    grant(&s, UserDomain, &manager, &did, "manager").await;
    let dreader = new_user(&s, &admin.token, &did, "dreader").await;
    grant(&s, UserDomain, &dreader, &did, "reader").await;
    let member = new_user(&s, &admin.token, &did, "member").await;
    grant(&s, UserProject, &member, &pid, "member").await;
    let preader = new_user(&s, &admin.token, &did, "preader").await;
    grant(&s, UserProject, &preader, &pid, "reader").await;
    common::create_user(&s, "stranger", "pw", Some((&other, "member"))).await;
    let login = |name: &'static str, domain: String, scope: Value| login(&s, name, domain, scope);
    let tokens: Vec<(Who, Option<String>)> = vec![
        (
            Who::SystemAdmin,
            Some(
                s.password_token(
                    "admin",
                    common::ADMIN_PASSWORD,
                    Some(json!({"system": {"all": true}})),
                )
                .await
                .0,
            ),
        ),
        (
            Who::DomainManager,
            Some(login("manager", did.clone(), json!({"domain": {"id": did}})).await),
        ),
        (
            Who::DomainReader,
            Some(login("dreader", did.clone(), json!({"domain": {"id": did}})).await),
        ),
        (
            Who::ProjectMember,
            Some(login("member", did.clone(), json!({"project": {"id": pid}})).await),
        ),
        (
            Who::ProjectReader,
            Some(login("preader", did.clone(), json!({"project": {"id": pid}})).await),
        ),
        (
            Who::Owner,
            Some(login("member", did.clone(), json!({"project": {"id": pid}})).await),
        ),
        (
            Who::OtherProjectUser,
            Some(
                login(
                    "stranger",
                    "default".into(),
                    json!({"project": {"id": other}}),
                )
                .await,
            ),
        ),
        (Who::NoToken, None),
    ];
    let admin_token = admin.token.clone();
    Some(Personas {
        s,
        admin_token,
        did,
        pid,
        member,
        tokens,
    })
}

/// Asserts every (route, caller) cell: allowed callers get the success
/// status, others 403, no token 401. `{n}` in bodies becomes a counter so
/// created names stay unique.
async fn run_matrix(s: &TestServer, tokens: &[(Who, Option<String>)], routes: &[RouteCase]) {
    use Who::*;
    let mut n = 0;
    for (method, path, body, allowed, success) in routes {
        for (who, token) in tokens {
            n += 1;
            let body = body.as_ref().map(|b| {
                serde_json::from_str::<Value>(&b.to_string().replace("{n}", &n.to_string()))
                    .unwrap()
            });
            let (status, got) = call(s, method.clone(), path, token.as_deref(), body).await;
            let want = if *who == NoToken {
                StatusCode::UNAUTHORIZED
            } else if allowed.contains(who) {
                *success
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, want, "{method} {path} as {who:?}: {got}");
        }
    }
}

async fn who_may_administer(backend: Backend) {
    let Some(Personas {
        s,
        did,
        pid,
        member,
        tokens,
        ..
    }) = personas(backend).await
    else {
        return;
    };
    use Who::*;
    // (method, path, body, who is allowed, success status). The member's
    // user record is the "Owner" target. A domain manager is also a domain
    // reader: manager implies member implies reader.
    let routes: Vec<RouteCase> = vec![
        (
            Method::GET,
            "/v3/domains".into(),
            None,
            vec![SystemAdmin, DomainManager, DomainReader],
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v3/domains".into(),
            Some(json!({"domain": {"name": "d-{n}"}})),
            vec![SystemAdmin],
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v3/domains/{did}"),
            None,
            vec![
                SystemAdmin,
                DomainManager,
                DomainReader,
                ProjectMember,
                ProjectReader,
                Owner,
            ],
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/v3/domains/{did}"),
            Some(json!({"domain": {"description": "x"}})),
            vec![SystemAdmin],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/projects".into(),
            None,
            vec![SystemAdmin, DomainManager, DomainReader],
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v3/projects".into(),
            Some(json!({"project": {"name": "p-{n}", "domain_id": did}})),
            vec![SystemAdmin, DomainManager],
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v3/projects/{pid}"),
            None,
            vec![
                SystemAdmin,
                DomainManager,
                DomainReader,
                ProjectMember,
                ProjectReader,
                Owner,
            ],
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/v3/projects/{pid}"),
            Some(json!({"project": {"description": "x"}})),
            vec![SystemAdmin, DomainManager],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/users".into(),
            None,
            vec![SystemAdmin, DomainManager, DomainReader],
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v3/users".into(),
            Some(json!({"user": {"name": "u-{n}", "domain_id": did}})),
            vec![SystemAdmin, DomainManager],
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v3/users/{member}"),
            None,
            vec![
                SystemAdmin,
                DomainManager,
                DomainReader,
                Owner,
                ProjectMember,
            ],
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/v3/users/{member}"),
            Some(json!({"user": {"description": "x"}})),
            vec![SystemAdmin, DomainManager],
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v3/users/{member}/projects"),
            None,
            vec![
                SystemAdmin,
                DomainManager,
                DomainReader,
                Owner,
                ProjectMember,
            ],
            StatusCode::OK,
        ),
    ];
    run_matrix(&s, &tokens, &routes).await;
}

async fn list_filters(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    for (name, tags) in [
        ("WebFront", json!(["prod", "eu"])),
        ("webback", json!(["prod"])),
        ("batch", json!(["dev"])),
    ] {
        let (status, _) = call(
            &s,
            Method::POST,
            "/v3/projects",
            t,
            Some(json!({"project": {"name": name, "tags": tags}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let names = |body: Value| -> Vec<String> {
        let mut n: Vec<String> = body["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    let (_, body) = call(&s, Method::GET, "/v3/projects?name__icontains=WEB", t, None).await;
    assert_eq!(names(body), vec!["WebFront", "webback"]);
    let (_, body) = call(
        &s,
        Method::GET,
        "/v3/projects?name__startswith=Web",
        t,
        None,
    )
    .await;
    assert_eq!(names(body), vec!["WebFront"]);
    let (_, body) = call(&s, Method::GET, "/v3/projects?tags=prod,eu", t, None).await;
    assert_eq!(names(body), vec!["WebFront"]);
    let (_, body) = call(&s, Method::GET, "/v3/projects?tags-any=eu,dev", t, None).await;
    assert_eq!(names(body.clone()), vec!["WebFront", "batch"]);
    // A tag with a control character (found by the contract fuzzing: its
    // Location header made a 500 after the tag was stored).
    let project = body["projects"][0]["id"].as_str().unwrap();
    let resp = s
        .request(
            Method::PUT,
            &format!("/v3/projects/{project}/tags/odd%1F%C3%B0"),
        )
        .header("X-Auth-Token", admin.token.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with(&format!("/v3/projects/{project}/tags/odd%1F%C3%B0")));
    let (_, body) = call(
        &s,
        Method::GET,
        "/v3/projects?not-tags-any=prod&name__endswith=h",
        t,
        None,
    )
    .await;
    assert_eq!(names(body), vec!["batch"]);
    let (_, body) = call(
        &s,
        Method::GET,
        "/v3/users?name__iequals=ADMIN&colour=ignored",
        t,
        None,
    )
    .await;
    assert_eq!(
        body["users"].as_array().unwrap().len(),
        1,
        "unknown filters are ignored"
    );
}

/// The rest of the admin API: groups, membership, roles, grants,
/// assignments, the catalog and application credentials.
async fn who_may_manage_the_rest(backend: Backend) {
    let Some(Personas {
        s,
        admin_token,
        did,
        pid,
        member,
        tokens,
    }) = personas(backend).await
    else {
        return;
    };
    let t = Some(admin_token.as_str());
    let (_, g) = call(
        &s,
        Method::POST,
        "/v3/groups",
        t,
        Some(json!({"group": {"name": "team", "domain_id": did}})),
    )
    .await;
    let gid = g["group"]["id"].as_str().unwrap().to_string();
    let (_, r) = call(&s, Method::GET, "/v3/roles?name=reader", t, None).await;
    let reader = r["roles"][0]["id"].as_str().unwrap().to_string();
    let (_, x) = call(
        &s,
        Method::POST,
        "/v3/roles",
        t,
        Some(json!({"role": {"name": "extra"}})),
    )
    .await;
    let extra = x["role"]["id"].as_str().unwrap().to_string();
    use Who::*;
    let readers = vec![SystemAdmin, DomainManager, DomainReader];
    let routes: Vec<RouteCase> = vec![
        (
            Method::PUT,
            format!("/v3/roles/{extra}/implies/{reader}"),
            None,
            vec![SystemAdmin],
            StatusCode::CREATED,
        ),
        (
            Method::PUT,
            format!("/v3/domains/{did}/users/{member}/roles/{reader}"),
            None,
            // A domain manager hands out the managed roles in its domain
            // (tests/differential.rs, admin_persona_rbac_as_in_keystone).
            vec![SystemAdmin, DomainManager],
            StatusCode::NO_CONTENT,
        ),
        (
            Method::PUT,
            format!("/v3/system/users/{member}/roles/{reader}"),
            None,
            vec![SystemAdmin],
            StatusCode::NO_CONTENT,
        ),
        (
            Method::PUT,
            format!(
                "/v3/OS-INHERIT/domains/{did}/users/{member}/roles/{reader}/inherited_to_projects"
            ),
            None,
            vec![SystemAdmin, DomainManager],
            StatusCode::NO_CONTENT,
        ),
        (
            Method::POST,
            "/v3/regions".into(),
            Some(json!({"region": {"id": "R{n}"}})),
            vec![SystemAdmin],
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v3/users/{member}/access_rules"),
            None,
            vec![SystemAdmin, ProjectMember, Owner],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/groups".into(),
            None,
            readers.clone(),
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v3/groups".into(),
            Some(json!({"group": {"name": "g-{n}", "domain_id": did}})),
            vec![SystemAdmin, DomainManager],
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v3/groups/{gid}"),
            None,
            readers.clone(),
            StatusCode::OK,
        ),
        (
            Method::PATCH,
            format!("/v3/groups/{gid}"),
            Some(json!({"group": {"description": "x{n}"}})),
            vec![SystemAdmin, DomainManager],
            StatusCode::OK,
        ),
        (
            Method::PUT,
            format!("/v3/groups/{gid}/users/{member}"),
            None,
            vec![SystemAdmin, DomainManager],
            StatusCode::NO_CONTENT,
        ),
        (
            Method::HEAD,
            format!("/v3/groups/{gid}/users/{member}"),
            None,
            readers.clone(),
            StatusCode::NO_CONTENT,
        ),
        (
            Method::GET,
            format!("/v3/groups/{gid}/users"),
            None,
            readers.clone(),
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v3/users/{member}/groups"),
            None,
            vec![
                SystemAdmin,
                DomainManager,
                DomainReader,
                ProjectMember,
                Owner,
            ],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/roles".into(),
            None,
            vec![SystemAdmin, DomainManager],
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v3/roles".into(),
            Some(json!({"role": {"name": "r-{n}"}})),
            vec![SystemAdmin],
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v3/roles/{reader}"),
            None,
            vec![SystemAdmin, DomainManager],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/role_inferences".into(),
            None,
            vec![SystemAdmin],
            StatusCode::OK,
        ),
        (
            Method::PUT,
            format!("/v3/projects/{pid}/users/{member}/roles/{reader}"),
            None,
            vec![SystemAdmin, DomainManager],
            StatusCode::NO_CONTENT,
        ),
        (
            Method::HEAD,
            format!("/v3/projects/{pid}/users/{member}/roles/{reader}"),
            None,
            readers.clone(),
            StatusCode::NO_CONTENT,
        ),
        (
            Method::GET,
            format!("/v3/projects/{pid}/users/{member}/roles"),
            None,
            readers.clone(),
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/role_assignments".into(),
            None,
            // Domain-scoped readers too, filtered to their domain.
            vec![SystemAdmin, DomainManager, DomainReader],
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/v3/role_assignments?scope.domain.id={did}"),
            None,
            readers.clone(),
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/regions".into(),
            None,
            vec![
                SystemAdmin,
                DomainManager,
                DomainReader,
                ProjectMember,
                ProjectReader,
                Owner,
                OtherProjectUser,
            ],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/services".into(),
            None,
            vec![SystemAdmin],
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/v3/endpoints".into(),
            None,
            vec![SystemAdmin],
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/v3/services".into(),
            Some(json!({"service": {"type": "t{n}"}})),
            vec![SystemAdmin],
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/v3/users/{member}/application_credentials"),
            None,
            vec![SystemAdmin, ProjectMember, Owner],
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/v3/users/{member}/application_credentials"),
            Some(json!({"application_credential": {"name": "ac-{n}"}})),
            vec![ProjectMember, Owner],
            StatusCode::CREATED,
        ),
    ];
    run_matrix(&s, &tokens, &routes).await;
}

/// `DELETE /v3/users/{user_id}/tokens`: every token of the user stops
/// validating, at once, including through the validation cache; the
/// user can log in again afterwards.
async fn log_out_everywhere(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "everywhere").await;
    let user = member_of(&s, "roamer", &project, "member").await;
    let (second, _) = s
        .password_token("roamer", "pw", Some(json!({"project": {"id": project}})))
        .await;
    for token in [&user.token, &second] {
        assert_eq!(s.validate(&admin.token, token, "").await.0, StatusCode::OK);
    }
    let path = format!("/v3/users/{}/tokens", user.user_id);
    let (status, _) = call(&s, Method::DELETE, &path, Some(&user.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in [&user.token, &second] {
        assert_eq!(
            s.validate(&admin.token, token, "").await.0,
            StatusCode::NOT_FOUND
        );
    }
    let (status, body) = call(&s, Method::DELETE, &path, Some(&second), None).await;
    expect_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "The request you have made requires authentication.",
    );
    // Revocation events cover their whole second, as Keystone's do.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (fresh, _) = s
        .password_token("roamer", "pw", Some(json!({"project": {"id": project}})))
        .await;
    assert_eq!(s.validate(&admin.token, &fresh, "").await.0, StatusCode::OK);
    let (status, body) = call(
        &s,
        Method::DELETE,
        "/v3/users/0123456789abcdef/tokens",
        Some(&admin.token),
        None,
    )
    .await;
    expect_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "Could not find user: 0123456789abcdef.",
    );
}

on_every_backend!(
    log_out_everywhere,
    crud_and_errors,
    changes_revoke_tokens,
    who_may_administer,
    who_may_manage_the_rest,
    list_filters
);

/// A domain's sensitive option (the LDAP bind password) is stored only
/// encrypted, never returned, and goes with its domain; whitelisted
/// options are returned. On SQLite and PostgreSQL.
async fn sensitive_domain_options(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    let (_, d) = call(
        &s,
        Method::POST,
        "/v3/domains",
        t,
        Some(json!({"domain": {"name": "ldapped"}})),
    )
    .await;
    let did = d["domain"]["id"].as_str().unwrap().to_string();
    let path = format!("/v3/domains/{did}/config");
    let secret = "bind-s3cret-value";
    let (status, body) = call(
        &s,
        Method::PUT,
        &path,
        t,
        Some(json!({"config": {"ldap": {"url": "ldap://dir", "password": secret}}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({"config": {"ldap": {"url": "ldap://dir"}}}));
    for p in [
        path.clone(),
        format!("{path}/ldap"),
        format!("{path}/ldap/password"),
    ] {
        let (_, body) = call(&s, Method::GET, &p, t, None).await;
        assert!(!body.to_string().contains(secret), "{p}: {body}");
    }
    let rows = s
        .db(|conn| {
            use diesel::prelude::*;
            use ironstone::store::schema::domain_config as dc;
            Ok(dc::table
                .select((dc::config_option, dc::value, dc::encrypted_value))
                .load::<(String, Option<String>, Option<String>)>(conn)?)
        })
        .await;
    let (_, plain, encrypted) = rows.iter().find(|(o, _, _)| o == "password").unwrap();
    assert!(plain.is_none());
    assert!(!encrypted.as_deref().unwrap().contains(secret));
    let decrypted = s
        .state()
        .credentials
        .decrypt(encrypted.as_deref().unwrap())
        .unwrap();
    assert_eq!(decrypted.expose(), format!("\"{secret}\""));
    // The configuration goes with its domain.
    call(
        &s,
        Method::PATCH,
        &format!("/v3/domains/{did}"),
        t,
        Some(json!({"domain": {"enabled": false}})),
    )
    .await;
    let (status, _) = call(&s, Method::DELETE, &format!("/v3/domains/{did}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let left = s
        .db(|conn| {
            use diesel::prelude::*;
            use ironstone::store::schema::domain_config as dc;
            Ok(dc::table.count().get_result::<i64>(conn)?)
        })
        .await;
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_domain_options_sqlite() {
    sensitive_domain_options(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_domain_options_postgres() {
    sensitive_domain_options(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_domain_options_mariadb() {
    sensitive_domain_options(Backend::Mysql).await;
}

/// Bodies are checked with Keystone 30's own schemas before anything else,
/// as Keystone's decorator does: a malformed body is a 400 even without a
/// token, under either prefix; the message names the field, not the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_checked_as_keystone_checks_them() {
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let admin = admin_member(&s).await;
    let cases = [
        (
            None,
            "/v3/groups",
            json!({"group": {"name": "\u{c}"}}),
            "name",
        ),
        (
            None,
            "/identity/v3/projects",
            json!({"project": {"name": "p"}, "x": 1}),
            "'x' was unexpected",
        ),
        (
            Some(admin.token.as_str()),
            "/v3/users",
            json!({"user": {"name": "u", "password": "pw", "options": "hunter2"}}),
            "options",
        ),
    ];
    for (token, path, body, names) in cases {
        let (status, err) = call(&s, Method::POST, path, token, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{path}: {message}");
        assert!(!message.contains("hunter2"), "{path}: {message}");
    }
    // Without a token, a well-formed body is a 401.
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/groups",
        None,
        Some(json!({"group": {"name": "g"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Renaming onto a name that is taken in the same scope is Keystone's
/// 409, for domains, groups, roles and users; as is moving a registered
/// limit onto the service, region and resource another has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_onto_a_taken_name_is_a_conflict() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    let create = |path: &'static str, body: Value, key: &'static str| {
        common::create_as(&s, &admin.token, path, body, key)
    };
    for (collection, member) in [
        ("/v3/domains", "domain"),
        ("/v3/groups", "group"),
        ("/v3/roles", "role"),
        ("/v3/users", "user"),
    ] {
        create(collection, json!({member: {"name": "taken"}}), member).await;
        let other = create(collection, json!({member: {"name": "free"}}), member).await;
        let (status, body) = call(
            &s,
            Method::PATCH,
            &format!("{collection}/{other}"),
            t,
            Some(json!({member: {"name": "taken"}})),
        )
        .await;
        expect_error(status, &body, StatusCode::CONFLICT, "");
    }
    let service = create(
        "/v3/services",
        json!({"service": {"type": "limited"}}),
        "service",
    )
    .await;
    let limits = |name: &str| json!({"registered_limits": [{"service_id": service, "resource_name": name, "default_limit": 1}]});
    for name in ["cores", "ram"] {
        let (status, body) = call(
            &s,
            Method::POST,
            "/v3/registered_limits",
            t,
            Some(limits(name)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        if name == "ram" {
            let ram = body["registered_limits"][0]["id"].as_str().unwrap();
            let (status, body) = call(
                &s,
                Method::PATCH,
                &format!("/v3/registered_limits/{ram}"),
                t,
                Some(json!({"registered_limit": {"resource_name": "cores"}})),
            )
            .await;
            expect_error(status, &body, StatusCode::CONFLICT, "");
        }
    }
}

/// A new thing that names something that does not exist (a group's,
/// role's or user's domain, a region's parent, a credential's user) is a
/// 404; a well-formed limit without a token, a 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creations_naming_what_does_not_exist() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    let nothing = "0123456789abcdef0123456789abcdef";
    for (path, body) in [
        (
            "/v3/groups",
            json!({"group": {"name": "g", "domain_id": nothing}}),
        ),
        (
            "/v3/roles",
            json!({"role": {"name": "r", "domain_id": nothing}}),
        ),
        (
            "/v3/users",
            json!({"user": {"name": "u", "domain_id": nothing}}),
        ),
        (
            "/v3/regions",
            json!({"region": {"parent_region_id": nothing}}),
        ),
        (
            "/v3/credentials",
            json!({"credential": {"user_id": nothing, "type": "cert", "blob": "x"}}),
        ),
    ] {
        let (status, got) = call(&s, Method::POST, path, Some(&admin.token), Some(body)).await;
        expect_error(status, &got, StatusCode::NOT_FOUND, nothing);
    }
    for (path, body) in [
        (
            "/v3/registered_limits",
            json!({"registered_limits": [{"service_id": nothing, "resource_name": "cores", "default_limit": 1}]}),
        ),
        (
            "/v3/limits",
            json!({"limits": [{"service_id": nothing, "project_id": nothing, "resource_name": "cores", "resource_limit": 1}]}),
        ),
    ] {
        let (status, got) = call(&s, Method::POST, path, None, Some(body)).await;
        expect_error(status, &got, StatusCode::UNAUTHORIZED, "");
    }
}
