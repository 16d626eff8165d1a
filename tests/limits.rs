//! Unified limits on SQLite and PostgreSQL: the strict two-level model's
//! rules and project depth, who sees which limits, and what deleting a
//! project, domain, service or region does to them. (The routes' statuses
//! and shapes are compared with Keystone's in tests/differential.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, expect_error, Backend, TestServer};
use ironstone::config::EnforcementModel;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A caller's token on a server.
struct As<'a>(&'a TestServer, &'a str);

impl As<'_> {
    /// `call` with the token, asserting the status; the body.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        want: StatusCode,
    ) -> Value {
        admin_call(self.0, self.1, method, path, body, want).await
    }
}

/// `call` as the admin, asserting the status; the body.
async fn admin_call(
    s: &TestServer,
    admin: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    want: StatusCode,
) -> Value {
    let (status, body) = call(s, method, path, Some(admin), body).await;
    assert_eq!(status, want, "{path}: {body}");
    body
}

async fn new_domain(s: &TestServer, admin: &str, name: &str) -> String {
    let body = admin_call(
        s,
        admin,
        Method::POST,
        "/v3/domains",
        Some(json!({"domain": {"name": name}})),
        StatusCode::CREATED,
    )
    .await;
    body["domain"]["id"].as_str().unwrap().to_string()
}

async fn new_project(
    s: &TestServer,
    admin: &str,
    name: &str,
    domain: &str,
    parent: Option<&str>,
) -> (StatusCode, Value) {
    call(
        s,
        Method::POST,
        "/v3/projects",
        Some(admin),
        Some(json!({"project": {"name": name, "domain_id": domain, "parent_id": parent}})),
    )
    .await
}

/// A service with a registered `cores` limit of `default`.
async fn registered(s: &TestServer, admin: &str, default: i32) -> String {
    let service = admin_call(
        s,
        admin,
        Method::POST,
        "/v3/services",
        Some(json!({"service": {"type": "compute-limits"}})),
        StatusCode::CREATED,
    )
    .await;
    let service_id = service["service"]["id"].as_str().unwrap().to_string();
    admin_call(
        s,
        admin,
        Method::POST,
        "/v3/registered_limits",
        Some(json!({"registered_limits": [{"service_id": service_id, "resource_name": "cores", "default_limit": default}]})),
        StatusCode::CREATED,
    )
    .await;
    service_id
}

fn limit(service: &str, owner: (&str, &str), value: i32) -> Value {
    json!({"service_id": service, owner.0: owner.1, "resource_name": "cores", "resource_limit": value})
}

/// What `GET /v3/limits/model` names.
async fn model_name(s: &TestServer, token: &str) -> Value {
    let body = admin_call(
        s,
        token,
        Method::GET,
        "/v3/limits/model",
        None,
        StatusCode::OK,
    )
    .await;
    body["model"]["name"].clone()
}

async fn strict_two_level(backend: Backend) {
    let Some(s) = TestServer::start_with(backend, |c| {
        c.unified_limit.enforcement_model = EnforcementModel::StrictTwoLevel;
    }) else {
        return;
    };
    let admin = admin_member(&s).await.token;
    let ask = As(&s, &admin);
    assert_eq!(model_name(&s, &admin).await, "strict_two_level");

    // Projects are at most two levels deep below their domain.
    let domain = new_domain(&s, &admin, "strict").await;
    let (status, top) = new_project(&s, &admin, "top", &domain, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let top = top["project"]["id"].as_str().unwrap().to_string();
    let (status, child) = new_project(&s, &admin, "child", &domain, Some(&top)).await;
    assert_eq!(status, StatusCode::CREATED);
    let child = child["project"]["id"].as_str().unwrap().to_string();
    let (status, body) = new_project(&s, &admin, "grandchild", &domain, Some(&child)).await;
    expect_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        &format!("Max hierarchy depth reached for {child} branch."),
    );

    // A project's limit may not exceed its domain's, nor a domain's fall
    // below its projects'.
    let service = registered(&s, &admin, 10).await;
    let create = |limits: Vec<Value>| json!({ "limits": limits });
    ask.expect(
        Method::POST,
        "/v3/limits",
        Some(create(vec![limit(&service, ("domain_id", &domain), 20)])),
        StatusCode::CREATED,
    )
    .await;
    let (status, body) = call(
        &s,
        Method::POST,
        "/v3/limits",
        Some(&admin),
        Some(create(vec![limit(&service, ("project_id", &top), 25)])),
    )
    .await;
    expect_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        &format!("Invalid resource limit: The resource limit (project_id: {top}, resource_name: cores, resource_limit: 25, service_id: {service}, region_id: None) doesn't satisfy current hierarchy model.."),
    );
    let created = ask
        .expect(
            Method::POST,
            "/v3/limits",
            Some(create(vec![limit(&service, ("project_id", &top), 15)])),
            StatusCode::CREATED,
        )
        .await;
    let top_limit = created["limits"][0]["id"].as_str().unwrap().to_string();
    let listed = ask
        .expect(
            Method::GET,
            &format!("/v3/limits?domain_id={domain}"),
            None,
            StatusCode::OK,
        )
        .await;
    let domain_limit = listed["limits"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/limits/{domain_limit}"),
        Some(&admin),
        Some(json!({"limit": {"resource_limit": 12}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "below a project's 15");
    ask.expect(
        Method::PATCH,
        &format!("/v3/limits/{domain_limit}"),
        Some(json!({"limit": {"resource_limit": 16}})),
        StatusCode::OK,
    )
    .await;
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/limits/{top_limit}"),
        Some(&admin),
        Some(json!({"limit": {"resource_limit": 17}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "above its domain's 16");
    // Within one request, a project is checked against its domain's new limit.
    let other = new_domain(&s, &admin, "strict-batch").await;
    let (status, p) = new_project(&s, &admin, "p", &other, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let p = p["project"]["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/limits",
        Some(&admin),
        Some(create(vec![
            limit(&service, ("domain_id", &other), 5),
            limit(&service, ("project_id", &p), 6),
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let listed = ask
        .expect(
            Method::GET,
            &format!("/v3/limits?domain_id={other}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        listed["limits"],
        json!([]),
        "a refused batch stores nothing"
    );
}

async fn scoping_and_deletion(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await.token;
    let ask = As(&s, &admin);
    assert_eq!(model_name(&s, &admin).await, "flat");
    let domain = new_domain(&s, &admin, "scoped").await;
    let mut parent: Option<String> = None;
    let mut chain = Vec::new();
    for level in 1..=5 {
        let (status, body) = new_project(
            &s,
            &admin,
            &format!("level{level}"),
            &domain,
            parent.as_deref(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "level {level}: {body}");
        let id = body["project"]["id"].as_str().unwrap().to_string();
        chain.push(id.clone());
        parent = Some(id);
    }
    let (status, _) = new_project(&s, &admin, "level6", &domain, parent.as_deref()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "max_project_tree_depth is 5");

    let service = registered(&s, &admin, 10).await;
    let outsider = common::create_project(&s, "outsider").await;
    let leaf = chain[4].clone();
    ask.expect(
        Method::POST,
        "/v3/limits",
        Some(json!({"limits": [
            limit(&service, ("domain_id", &domain), 100),
            limit(&service, ("project_id", &chain[0]), 50),
            limit(&service, ("project_id", &leaf), 5),
            limit(&service, ("project_id", &outsider), 7),
        ]})),
        StatusCode::CREATED,
    )
    .await;

    // A domain reader sees its domain's limit and its projects'; a member
    // of a project its project's.
    common::create_user(&s, "dreader", "pw", None).await;
    let users = ask
        .expect(Method::GET, "/v3/users?name=dreader", None, StatusCode::OK)
        .await;
    let reader_id = users["users"][0]["id"].as_str().unwrap().to_string();
    let roles = ask
        .expect(Method::GET, "/v3/roles?name=reader", None, StatusCode::OK)
        .await;
    let reader_role = roles["roles"][0]["id"].as_str().unwrap().to_string();
    ask.expect(
        Method::PUT,
        &format!("/v3/domains/{domain}/users/{reader_id}/roles/{reader_role}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let (domain_token, _) = s
        .password_token("dreader", "pw", Some(json!({"domain": {"id": domain}})))
        .await;
    let (_, seen) = call(&s, Method::GET, "/v3/limits", Some(&domain_token), None).await;
    assert_eq!(seen["limits"].as_array().unwrap().len(), 3, "{seen}");
    let member = common::member_of(&s, "leafer", &outsider, "member").await;
    let (_, seen) = call(&s, Method::GET, "/v3/limits", Some(&member.token), None).await;
    assert_eq!(seen["limits"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen["limits"][0]["project_id"], outsider.as_str());
    let (_, seen) = call(
        &s,
        Method::GET,
        &format!("/v3/limits?project_id={leaf}"),
        Some(&member.token),
        None,
    )
    .await;
    assert_eq!(seen["limits"], json!([]), "not another project's");

    // A service or region that registered limits name stays; a deleted
    // project takes its limits.
    let (status, body) = call(
        &s,
        Method::DELETE,
        &format!("/v3/services/{service}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    ask.expect(
        Method::DELETE,
        &format!("/v3/projects/{leaf}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let left = ask
        .expect(
            Method::GET,
            &format!("/v3/limits?project_id={leaf}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(left["limits"], json!([]));
    // And a deleted domain takes its own and its projects'.
    ask.expect(
        Method::PATCH,
        &format!("/v3/domains/{domain}"),
        Some(json!({"domain": {"enabled": false}})),
        StatusCode::OK,
    )
    .await;
    ask.expect(
        Method::DELETE,
        &format!("/v3/domains/{domain}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let left = ask
        .expect(
            Method::GET,
            &format!("/v3/limits?service_id={service}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        left["limits"].as_array().unwrap().len(),
        1,
        "only the outsider's: {left}"
    );
}

on_every_backend!(strict_two_level, scoping_and_deletion);
