//! The real python-openstackclient against a server started by the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use common::{Backend, TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Runs `openstack` from the interop venv against the server with a clean
/// environment plus the given `OS_*` settings.
fn openstack_env(
    python: &std::path::Path,
    server: &TestServer,
    auth_path: &str,
    settings: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new(python.parent().unwrap().join("openstack"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", server.dir.path())
        .env("OS_AUTH_URL", format!("{}{auth_path}", server.url))
        .env("OS_IDENTITY_API_VERSION", "3");
    for (k, v) in settings {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The settings of a password user of the Default domain, scoped to a project.
fn password_settings<'a>(
    user: &'a str,
    password: &'a str,
    project: &'a str,
) -> [(&'static str, &'a str); 6] {
    [
        ("OS_USERNAME", user),
        ("OS_PASSWORD", password),
        ("OS_PROJECT_NAME", project),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
        ("OS_REGION_NAME", "RegionOne"),
    ]
}

/// Runs `openstack` as the bootstrapped admin, with the given auth URL
/// suffix and password.
fn openstack_as(
    python: &std::path::Path,
    server: &TestServer,
    auth_path: &str,
    password: &str,
    args: &[&str],
) -> (bool, String, String) {
    let output = openstack_env(
        python,
        server,
        auth_path,
        &password_settings("admin", password, "admin"),
        args,
    );
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn openstack(
    python: &std::path::Path,
    server: &TestServer,
    args: &[&str],
) -> (bool, String, String) {
    openstack_as(python, server, "/v3", ADMIN_PASSWORD, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_token_issue_and_revoke() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let (ok, out, err) = openstack(&python, &s, &["token", "issue", "-f", "json"]);
    assert!(ok, "openstack token issue failed:\n{out}\n{err}");
    let issued: Value = serde_json::from_str(&out).unwrap();
    let token = issued["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("gAAAAA"));
    assert_eq!(issued["project_id"].as_str().unwrap().len(), 32);
    assert_eq!(issued["user_id"].as_str().unwrap().len(), 32);
    assert!(issued["expires"].as_str().is_some());

    let admin = s.admin_project_token().await;
    let (status, body) = s.validate(&admin, &token, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token"]["project"]["id"], issued["project_id"]);

    let (ok, out, err) = openstack(&python, &s, &["token", "revoke", &token]);
    assert!(ok, "openstack token revoke failed:\n{out}\n{err}");
    let (status, body) = s.validate(&admin, &token, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // A wrong password is reported as an authentication failure.
    let (ok, _, stderr) = openstack_as(&python, &s, "/v3", "wrong", &["token", "issue"]);
    assert!(!ok);
    assert!(
        stderr.contains("401") || stderr.contains("requires authentication"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_catalog_and_discovery_under_identity_prefix() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    // keystoneauth's discovery at the /identity root, as devstack serves it.
    let (ok, stdout, stderr) = openstack_as(
        &python,
        &s,
        "/identity",
        ADMIN_PASSWORD,
        &["catalog", "list", "-f", "json"],
    );
    assert!(ok, "{stdout}\n{stderr}");
    let catalog: Value = serde_json::from_str(&stdout).unwrap();
    let identity = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Type"] == "identity")
        .unwrap();
    assert_eq!(identity["Name"], "keystone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_ec2_credentials_and_credentials() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let admin = common::admin_member(&s).await;
    let run = |args: &[&str]| {
        let (ok, out, err) = openstack(&python, &s, args);
        assert!(ok, "openstack {args:?} failed:\n{out}\n{err}");
        out
    };

    // ec2 credentials create/list/show/delete.
    let created: Value =
        serde_json::from_str(&run(&["ec2", "credentials", "create", "-f", "json"])).unwrap();
    let access = created["access"].as_str().unwrap().to_string();
    assert_eq!(access.len(), 32);
    assert_eq!(
        ironstone::scannable::classify(created["secret"].as_str().unwrap()),
        ironstone::scannable::Shape::Valid(ironstone::scannable::Kind::PairSecret)
    );
    assert_eq!(created["project_id"], admin.project_id.as_str());
    assert_eq!(created["user_id"], admin.user_id.as_str());
    let listed: Value =
        serde_json::from_str(&run(&["ec2", "credentials", "list", "-f", "json"])).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["Access"] == access.as_str()),
        "{listed}"
    );
    let shown: Value =
        serde_json::from_str(&run(&["ec2", "credentials", "show", &access, "-f", "json"])).unwrap();
    assert_eq!(shown["secret"], created["secret"]);
    // The same pair through SODA's API.
    let (status, pairs) = common::call(
        &s,
        reqwest::Method::GET,
        &format!("/v1/{}/aksks/{}", admin.project_id, admin.user_id),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(pairs
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["blob"]["access_key"] == access.as_str()));
    run(&["ec2", "credentials", "delete", &access]);
    let listed: Value =
        serde_json::from_str(&run(&["ec2", "credentials", "list", "-f", "json"])).unwrap();
    assert!(!listed
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["Access"] == access.as_str()));

    // credential create/list/delete.
    let blob = r#"{"access": "cli-access", "secret": "cli-secret"}"#;
    let created: Value = serde_json::from_str(&run(&[
        "credential",
        "create",
        "--type",
        "ec2",
        "--project",
        &admin.project_id,
        &admin.user_id,
        blob,
        "-f",
        "json",
    ]))
    .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        id.len(),
        64,
        "ec2 credential ids are sha256 of the access key"
    );
    assert_eq!(created["type"], "ec2");
    let listed: Value = serde_json::from_str(&run(&["credential", "list", "-f", "json"])).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["ID"] == id.as_str()),
        "{listed}"
    );
    run(&["credential", "delete", &id]);
    let listed: Value = serde_json::from_str(&run(&["credential", "list", "-f", "json"])).unwrap();
    assert!(!listed
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["ID"] == id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_domains_projects_and_users() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let run = |args: &[&str]| {
        let (ok, out, err) = openstack(&python, &s, args);
        assert!(ok, "openstack {args:?} failed:\n{out}\n{err}");
        out
    };
    let json = |out: String| -> Value { serde_json::from_str(&out).unwrap() };

    // A project's extra attributes, as `--property` sets them.
    run(&["project", "create", "--property", "k0=v0", "propped"]);
    run(&["project", "set", "--property", "k1=v1", "propped"]);
    let shown = json(run(&["project", "show", "propped", "-f", "json"]));
    assert_eq!(
        (&shown["k0"], &shown["k1"]),
        (&json!("v0"), &json!("v1")),
        "{shown}"
    );

    // Domains.
    let d = json(run(&[
        "domain",
        "create",
        "--description",
        "Team A",
        "team-a",
        "-f",
        "json",
    ]));
    assert_eq!(d["name"], "team-a");
    assert_eq!(d["enabled"], true);
    let listed = json(run(&["domain", "list", "-f", "json"]));
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["Name"] == "team-a"));
    run(&[
        "domain",
        "set",
        "--description",
        "Team A (renamed)",
        "team-a",
    ]);
    let shown = json(run(&["domain", "show", "team-a", "-f", "json"]));
    assert_eq!(shown["description"], "Team A (renamed)");

    // Projects, with a parent and tags.
    let p = json(run(&[
        "project",
        "create",
        "--domain",
        "team-a",
        "--description",
        "web",
        "--tag",
        "prod",
        "web",
        "-f",
        "json",
    ]));
    assert_eq!(p["domain_id"], d["id"]);
    let child = json(run(&[
        "project", "create", "--domain", "team-a", "--parent", "web", "frontend", "-f", "json",
    ]));
    assert_eq!(child["parent_id"], p["id"]);
    let listed = json(run(&[
        "project", "list", "--domain", "team-a", "-f", "json",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    // Tags: added with `project set`, filtered on with `project list`.
    run(&["project", "set", "--tag", "eu", "--domain", "team-a", "web"]);
    let tagged = json(run(&[
        "project", "show", "--domain", "team-a", "web", "-f", "json",
    ]));
    assert_eq!(tagged["tags"], json!(["eu", "prod"]), "{tagged}");
    let by_tag = json(run(&["project", "list", "--tags", "eu,prod", "-f", "json"]));
    assert_eq!(by_tag.as_array().unwrap().len(), 1, "{by_tag}");
    let by_any = json(run(&[
        "project",
        "list",
        "--not-tags-any",
        "eu",
        "--domain",
        "team-a",
        "-f",
        "json",
    ]));
    assert_eq!(by_any.as_array().unwrap().len(), 1, "{by_any}");
    run(&[
        "project",
        "set",
        "--disable",
        "--domain",
        "team-a",
        "frontend",
    ]);
    let shown = json(run(&[
        "project", "show", "--domain", "team-a", "frontend", "-f", "json",
    ]));
    assert_eq!(shown["enabled"], false);

    // Users.
    let u = json(run(&[
        "user",
        "create",
        "--domain",
        "team-a",
        "--password",
        "pw-alice",
        "--email",
        "alice@example.com",
        "--project",
        "web",
        "--project-domain",
        "team-a",
        "alice",
        "-f",
        "json",
    ]));
    assert_eq!(u["name"], "alice");
    assert_eq!(u["email"], "alice@example.com");
    assert_eq!(u["default_project_id"], p["id"]);
    let listed = json(run(&["user", "list", "--domain", "team-a", "-f", "json"]));
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["Name"] == "alice"));
    run(&[
        "user",
        "set",
        "--domain",
        "team-a",
        "--email",
        "a@example.org",
        "--disable",
        "alice",
    ]);
    let shown = json(run(&[
        "user", "show", "--domain", "team-a", "alice", "-f", "json",
    ]));
    assert_eq!(shown["email"], "a@example.org");
    assert_eq!(shown["enabled"], false);

    // Deleting: users, projects (children first), then the disabled domain.
    run(&["user", "delete", "--domain", "team-a", "alice"]);
    run(&["project", "delete", "--domain", "team-a", "frontend"]);
    run(&["project", "delete", "--domain", "team-a", "web"]);
    let (ok, _, err) = openstack(&python, &s, &["domain", "delete", "team-a"]);
    assert!(!ok, "an enabled domain cannot be deleted");
    assert!(err.contains("disable"), "{err}");
    run(&["domain", "set", "--disable", "team-a"]);
    run(&["domain", "delete", "team-a"]);
    let listed = json(run(&["domain", "list", "-f", "json"]));
    assert!(!listed
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["Name"] == "team-a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_roles_groups_and_assignments() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let run = |args: &[&str]| {
        let (ok, out, err) = openstack(&python, &s, args);
        assert!(ok, "openstack {args:?} failed:\n{out}\n{err}");
        out
    };
    let json = |out: String| -> Value { serde_json::from_str(&out).unwrap() };
    run(&["project", "create", "demo"]);
    run(&["user", "create", "--password", "pw", "bob"]);
    // Roles and implied roles.
    let role = json(run(&["role", "create", "auditor", "-f", "json"]));
    assert_eq!(role["name"], "auditor");
    run(&[
        "implied",
        "role",
        "create",
        "auditor",
        "--implied-role",
        "reader",
    ]);
    let rules = json(run(&["implied", "role", "list", "-f", "json"]));
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["Prior Role Name"] == "auditor" && r["Implied Role Name"] == "reader"),
        "{rules}"
    );
    run(&[
        "role",
        "set",
        "--description",
        "reads everything",
        "auditor",
    ]);
    // Grants to a user and through a group.
    run(&[
        "role",
        "add",
        "--project",
        "demo",
        "--user",
        "bob",
        "member",
    ]);
    run(&["group", "create", "ops"]);
    run(&["group", "set", "--description", "operations", "ops"]);
    let shown = json(run(&["group", "show", "ops", "-f", "json"]));
    assert_eq!(shown["description"], "operations");
    let groups = json(run(&["group", "list", "-f", "json"]));
    assert!(groups
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["Name"] == "ops"));
    let roles = json(run(&["role", "list", "-f", "json"]));
    assert!(roles
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["Name"] == "auditor"));
    let shown = json(run(&["role", "show", "auditor", "-f", "json"]));
    assert_eq!(shown["description"], "reads everything");
    run(&["group", "add", "user", "ops", "bob"]);
    let (ok, _, _) = openstack(&python, &s, &["group", "contains", "user", "ops", "bob"]);
    assert!(ok);
    run(&[
        "role",
        "add",
        "--project",
        "demo",
        "--group",
        "ops",
        "auditor",
    ]);
    let assignments = json(run(&[
        "role",
        "assignment",
        "list",
        "--effective",
        "--names",
        "--user",
        "bob",
        "-f",
        "json",
    ]));
    let roles: Vec<&str> = assignments
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Role"].as_str().unwrap())
        .collect();
    for want in ["member", "reader", "auditor"] {
        assert!(roles.contains(&want), "{want} missing from {assignments}");
    }
    assert!(
        assignments
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["Project"] == "demo@Default"),
        "{assignments}"
    );
    // bob's token carries the roles.
    let out = openstack_env(
        &python,
        &s,
        "/v3",
        &password_settings("bob", "pw", "demo"),
        &["token", "issue", "-f", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Removing.
    run(&[
        "role",
        "remove",
        "--project",
        "demo",
        "--group",
        "ops",
        "auditor",
    ]);
    run(&["group", "remove", "user", "ops", "bob"]);
    run(&[
        "role",
        "remove",
        "--project",
        "demo",
        "--user",
        "bob",
        "member",
    ]);
    let assignments = json(run(&[
        "role",
        "assignment",
        "list",
        "--user",
        "bob",
        "-f",
        "json",
    ]));
    assert_eq!(assignments, serde_json::json!([]));
    run(&[
        "implied",
        "role",
        "delete",
        "auditor",
        "--implied-role",
        "reader",
    ]);
    run(&["role", "delete", "auditor"]);
    run(&["group", "delete", "ops"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_regions_services_and_endpoints() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let run = |args: &[&str]| {
        let (ok, out, err) = openstack(&python, &s, args);
        assert!(ok, "openstack {args:?} failed:\n{out}\n{err}");
        out
    };
    let json = |out: String| -> Value { serde_json::from_str(&out).unwrap() };
    let region = json(run(&[
        "region",
        "create",
        "--description",
        "second",
        "RegionTwo",
        "-f",
        "json",
    ]));
    assert_eq!(region["region"], "RegionTwo");
    run(&["region", "set", "--description", "the second", "RegionTwo"]);
    let shown = json(run(&["region", "show", "RegionTwo", "-f", "json"]));
    assert_eq!(shown["description"], "the second");
    let service = json(run(&[
        "service",
        "create",
        "--name",
        "nova",
        "--description",
        "compute",
        "compute",
        "-f",
        "json",
    ]));
    assert_eq!(service["type"], "compute");
    let sid = service["id"].as_str().unwrap().to_string();
    let endpoint = json(run(&[
        "endpoint",
        "create",
        "--region",
        "RegionTwo",
        "compute",
        "public",
        "http://nova.example.com/v2.1/$(project_id)s",
        "-f",
        "json",
    ]));
    assert_eq!(endpoint["interface"], "public");
    assert_eq!(endpoint["service_id"], sid.as_str());
    let eid = endpoint["id"].as_str().unwrap().to_string();
    let listed = json(run(&[
        "endpoint",
        "list",
        "--service",
        "compute",
        "-f",
        "json",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // The catalog carries it, with the project id substituted.
    let catalog = json(run(&["catalog", "show", "compute", "-f", "json"]));
    let text = catalog.to_string();
    assert!(
        text.contains("http://nova.example.com/v2.1/") && !text.contains("$(project_id)s"),
        "{catalog}"
    );
    run(&["endpoint", "set", "--disable", &eid]);
    assert_eq!(
        json(run(&["endpoint", "show", &eid, "-f", "json"]))["enabled"],
        false
    );
    run(&["service", "set", "--name", "nova2", "compute"]);
    let services = json(run(&["service", "list", "-f", "json"]));
    assert!(services
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["Type"] == "compute"));
    assert_eq!(
        json(run(&["service", "show", "compute", "-f", "json"]))["name"],
        "nova2"
    );
    let (ok, _, err) = openstack(&python, &s, &["region", "delete", "RegionTwo"]);
    assert!(!ok, "a region with endpoints is kept");
    assert!(err.contains("endpoints") || err.contains("409"), "{err}");
    run(&["endpoint", "delete", &eid]);
    run(&["service", "delete", "compute"]);
    run(&["region", "delete", "RegionTwo"]);
    let listed = json(run(&["region", "list", "-f", "json"]));
    assert!(!listed
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["Region"] == "RegionTwo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_application_credentials() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let run = |args: &[&str]| {
        let (ok, out, err) = openstack(&python, &s, args);
        assert!(ok, "openstack {args:?} failed:\n{out}\n{err}");
        out
    };
    let json = |out: String| -> Value { serde_json::from_str(&out).unwrap() };
    let created = json(run(&[
        "application",
        "credential",
        "create",
        "--role",
        "member",
        "--description",
        "ci",
        "ci-bot",
        "-f",
        "json",
    ]));
    let id = created["ID"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let secret = created["Secret"].as_str().unwrap().to_string();
    assert_eq!(
        ironstone::scannable::classify(&secret),
        ironstone::scannable::Shape::Valid(ironstone::scannable::Kind::AppCredSecret),
        "a scannable secret by default"
    );
    assert!(
        created["Roles"].to_string().contains("\"member\""),
        "{created}"
    );
    let listed = json(run(&["application", "credential", "list", "-f", "json"]));
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["ID"] == id.as_str()));
    let shown = json(run(&[
        "application",
        "credential",
        "show",
        "ci-bot",
        "-f",
        "json",
    ]));
    assert_eq!(shown["ID"], id.as_str());
    assert!(
        shown.get("Secret").is_none_or(Value::is_null),
        "the secret is shown once: {shown}"
    );

    // Authenticate with it, as a CI job would.
    let settings = [
        ("OS_AUTH_TYPE", "v3applicationcredential"),
        ("OS_APPLICATION_CREDENTIAL_ID", id.as_str()),
        ("OS_APPLICATION_CREDENTIAL_SECRET", secret.as_str()),
    ];
    let out = openstack_env(
        &python,
        &s,
        "/v3",
        &settings,
        &["token", "issue", "-f", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token_id = token["id"].as_str().unwrap().to_string();
    let admin = s.admin_project_token().await;
    let (status, body) = s.validate(&admin, &token_id, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["token"]["methods"],
        serde_json::json!(["application_credential"])
    );
    assert_eq!(body["token"]["application_credential"]["id"], id.as_str());
    assert_eq!(body["token"]["application_credential"]["restricted"], true);
    let mut roles: Vec<&str> = body["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        vec!["member", "reader"],
        "only the credential's roles (and their implied ones)"
    );

    run(&["application", "credential", "delete", "ci-bot"]);
    let (status, body) = s.validate(&admin, &token_id, "").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "tokens of a deleted credential stop validating"
    );
    assert_eq!(
        body["error"]["message"],
        format!("Could not find Application Credential: {id}.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_user_password_set() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let (ok, _, err) = openstack(&python, &s, &["project", "create", "pw-project"]);
    assert!(ok, "{err}");
    let (ok, _, err) = openstack(
        &python,
        &s,
        &[
            "user",
            "create",
            "--password",
            "old-pw",
            "--project",
            "pw-project",
            "pat",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = openstack(
        &python,
        &s,
        &[
            "role",
            "add",
            "--project",
            "pw-project",
            "--user",
            "pat",
            "member",
        ],
    );
    assert!(ok, "{err}");
    let as_pat = |password: &str, args: &[&str]| {
        openstack_env(
            &python,
            &s,
            "/v3",
            &password_settings("pat", password, "pw-project"),
            args,
        )
    };
    let out = as_pat(
        "old-pw",
        &[
            "user",
            "password",
            "set",
            "--original-password",
            "old-pw",
            "--password",
            "new-pw",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !as_pat("old-pw", &["token", "issue"]).status.success(),
        "the old password no longer works"
    );
    let out = as_pat("new-pw", &["token", "issue"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An operator sets unified limits with the real `openstack registered
/// limit` and `openstack limit` commands; the real oslo.limit `Enforcer`
/// (as Nova and Glance run it) then counts usage against them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_limits_and_oslo_limit() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let run = |args: &[&str]| {
        let (ok, out, err) = openstack(&python, &s, args);
        assert!(ok, "openstack {args:?} failed:\n{out}\n{err}");
        out
    };
    let json = |out: String| -> Value { serde_json::from_str(&out).unwrap() };
    let service = json(run(&[
        "service", "create", "--name", "nova", "compute", "-f", "json",
    ]));
    let endpoint = json(run(&[
        "endpoint",
        "create",
        "--region",
        "RegionOne",
        "compute",
        "public",
        "http://nova.example.com/v2.1",
        "-f",
        "json",
    ]));
    let endpoint_id = endpoint["id"].as_str().unwrap().to_string();
    let project = json(run(&[
        "project",
        "create",
        "--domain",
        "default",
        "quota-demo",
        "-f",
        "json",
    ]));
    let project_id = project["id"].as_str().unwrap().to_string();
    for (resource, default) in [("cores", "10"), ("ram", "100")] {
        let created = json(run(&[
            "registered",
            "limit",
            "create",
            "--service",
            "compute",
            "--region",
            "RegionOne",
            "--default-limit",
            default,
            resource,
            "-f",
            "json",
        ]));
        assert_eq!(created["default_limit"].to_string(), default);
    }
    let listed = json(run(&[
        "registered",
        "limit",
        "list",
        "--service",
        "compute",
        "-f",
        "json",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let limit = json(run(&[
        "limit",
        "create",
        "--project",
        "quota-demo",
        "--service",
        "compute",
        "--region",
        "RegionOne",
        "--resource-limit",
        "5",
        "cores",
        "-f",
        "json",
    ]));
    assert_eq!(limit["resource_limit"], 5);
    let limit_id = limit["id"].as_str().unwrap().to_string();
    run(&["limit", "set", "--resource-limit", "6", &limit_id]);
    let shown = json(run(&["limit", "show", &limit_id, "-f", "json"]));
    assert_eq!(shown["resource_limit"], 6);
    assert_eq!(shown["project_id"], project_id.as_str());
    assert_eq!(shown["service_id"], service["id"]);

    // Usage 3: 3 more cores fit a limit of 6, 4 do not; ram falls back to
    // the registered default of 100.
    let report = common::run_interop(
        &python,
        "oslo_limit_enforce.py",
        &[
            &s.url,
            ADMIN_PASSWORD,
            &endpoint_id,
            &project_id,
            "3",
            "cores=3",
            "cores=4",
            "ram=97",
            "ram=98",
        ],
    );
    assert_eq!(report["model"], "flat");
    assert_eq!(report["limits"]["cores"], 6, "{report}");
    assert_eq!(report["limits"]["ram"], 100, "{report}");
    let allowed: Vec<bool> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["allowed"].as_bool().unwrap())
        .collect();
    assert_eq!(allowed, [true, false, true, false], "{report}");
    assert_eq!(report["checks"][1]["over"][0]["limit"], 6);

    run(&["limit", "delete", &limit_id]);
    let left = json(run(&["limit", "list", "-f", "json"]));
    assert_eq!(left, serde_json::json!([]));
}

/// The real `openstack trust` commands manage a trust, and keystoneauth1's
/// `v3.Password(..., trust_id=…)` consumes it as Heat's service user does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_trusts_and_keystoneauth() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let project = common::create_project(&s, "stack").await;
    let trustor = common::member_of(&s, "stack-owner", &project, "member").await;
    let trustee = common::create_user(&s, "heat-service", "pw", None).await;
    // A member may not list roles to look a name up: the CLI gets ids.
    let admin = common::admin_member(&s).await;
    let (_, roles) = common::call(
        &s,
        reqwest::Method::GET,
        "/v3/roles?name=member",
        Some(&admin.token),
        None,
    )
    .await;
    let member_role = roles["roles"][0]["id"].as_str().unwrap().to_string();
    let as_trustor = |args: &[&str]| {
        let output = openstack_env(
            &python,
            &s,
            "/v3",
            &password_settings("stack-owner", "pw", "stack"),
            args,
        );
        assert!(
            output.status.success(),
            "openstack {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap_or(Value::Null)
    };
    let created = as_trustor(&[
        "trust",
        "create",
        "--project",
        &project,
        "--role",
        &member_role,
        "--impersonate",
        &trustor.user_id,
        &trustee,
        "-f",
        "json",
    ]);
    let trust_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["trustor_user_id"], trustor.user_id.as_str());
    assert_eq!(created["trustee_user_id"], trustee.as_str());
    let listed = as_trustor(&["trust", "list", "--trustor", &trustor.user_id, "-f", "json"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["ID"] == trust_id.as_str()),
        "{listed}"
    );
    let shown = as_trustor(&["trust", "show", &trust_id, "-f", "json"]);
    assert_eq!(shown["project_id"], project.as_str());

    let report = common::run_interop(
        &python,
        "trust_session.py",
        &[&s.url, "heat-service", "pw", &trust_id],
    );
    assert_eq!(report["trust_scoped"], true, "{report}");
    assert_eq!(report["trust_id"], trust_id.as_str());
    assert_eq!(report["trustor_user_id"], trustor.user_id.as_str());
    assert_eq!(report["trustee_user_id"], trustee.as_str());
    assert_eq!(report["user_id"], trustor.user_id.as_str(), "impersonation");
    assert_eq!(report["project_id"], project.as_str());
    assert_eq!(report["roles"], serde_json::json!(["member", "reader"]));
    assert_eq!(report["request_status"], 200);

    as_trustor(&["trust", "delete", &trust_id]);
    let listed = as_trustor(&["trust", "list", "--trustor", &trustor.user_id, "-f", "json"]);
    assert_eq!(listed, serde_json::json!([]));
    let (status, _) = common::call(
        &s,
        reqwest::Method::GET,
        &format!("/v3/OS-TRUST/trusts/{trust_id}"),
        Some(&trustor.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// OS-EP-FILTER and policy blobs with the real `openstack` CLI: endpoint
/// groups and project associations limit the catalog a project's token
/// carries; `openstack policy` stores and returns a blob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_endpoint_filters_and_policies() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let run = |args: &[&str]| {
        let (ok, out, err) = openstack(&python, &s, args);
        assert!(ok, "openstack {args:?} failed:\n{out}\n{err}");
        out
    };
    let json = |out: String| -> Value { serde_json::from_str(&out).unwrap() };
    let dir = tempfile::tempdir().unwrap();
    // Two services, one endpoint each.
    let mut endpoints = Vec::new();
    for (kind, url) in [("compute", "http://nova/"), ("image", "http://glance/")] {
        run(&["service", "create", "--name", kind, kind]);
        let e = json(run(&[
            "endpoint", "create", kind, "public", url, "-f", "json",
        ]));
        endpoints.push(e["id"].as_str().unwrap().to_string());
    }
    let project = common::create_project(&s, "filtered").await;
    let admin = s.admin_project_token().await;
    let member = common::member_of(&s, "carol", &project, "member").await;
    let catalog_types = |token: String| {
        let s = &s;
        async move {
            let (_, body) =
                common::call(s, Method::GET, "/v3/auth/catalog", Some(&token), None).await;
            let mut types: Vec<String> = body["catalog"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["type"].as_str().unwrap().to_string())
                .collect();
            types.sort();
            types
        }
    };
    assert!(catalog_types(member.token.clone()).await.len() >= 3);

    // An endpoint group selecting the compute service, for the project.
    let compute = json(run(&["service", "show", "compute", "-f", "json"]));
    let filters = dir.path().join("filters.json");
    std::fs::write(&filters, json!({"service_id": compute["id"]}).to_string()).unwrap();
    let group = json(run(&[
        "endpoint",
        "group",
        "create",
        "--description",
        "compute only",
        "compute-only",
        filters.to_str().unwrap(),
        "-f",
        "json",
    ]));
    assert_eq!(group["name"], "compute-only");
    run(&[
        "endpoint",
        "group",
        "add",
        "project",
        "compute-only",
        "filtered",
    ]);
    let listed = json(run(&[
        "endpoint",
        "group",
        "list",
        "--project",
        "filtered",
        "-f",
        "json",
    ]));
    assert_eq!(listed[0]["Name"], "compute-only", "{listed}");
    assert_eq!(catalog_types(member.token.clone()).await, vec!["compute"]);

    // A direct association adds the image endpoint.
    run(&["endpoint", "add", "project", &endpoints[1], "filtered"]);
    let listed = json(run(&[
        "endpoint",
        "list",
        "--project",
        "filtered",
        "-f",
        "json",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(
        catalog_types(member.token.clone()).await,
        vec!["compute", "image"]
    );

    // Removing both gives the whole catalog back.
    run(&["endpoint", "remove", "project", &endpoints[1], "filtered"]);
    run(&[
        "endpoint",
        "group",
        "remove",
        "project",
        "compute-only",
        "filtered",
    ]);
    assert!(catalog_types(member.token.clone()).await.len() >= 3);
    run(&["endpoint", "group", "delete", "compute-only"]);

    // Policy blobs.
    let rules = dir.path().join("policy.json");
    std::fs::write(&rules, r#"{"compute:get": ""}"#).unwrap();
    let policy = json(run(&[
        "policy",
        "create",
        "--type",
        "application/json",
        rules.to_str().unwrap(),
        "-f",
        "json",
    ]));
    let pid = policy["id"].as_str().unwrap().to_string();
    run(&["policy", "set", "--type", "text/plain", &pid]);
    let shown = json(run(&["policy", "show", &pid, "-f", "json"]));
    assert_eq!(shown["type"], "text/plain");
    assert!(
        shown["rules"].as_str().unwrap().contains("compute:get"),
        "{shown}"
    );
    let listed = json(run(&["policy", "list", "-f", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    run(&["policy", "delete", &pid]);
    let (status, _) = common::call(
        &s,
        Method::GET,
        &format!("/v3/policies/{pid}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// OS-OAUTH1 with the real CLI: `openstack consumer …`, `request token
/// create/authorize` and `access token create`, then a login with
/// `--os-auth-type v3oauth1` that holds the delegated role only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstack_oauth1_delegation() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let run = |args: &[&str]| {
        let (ok, out, err) = openstack(&python, &s, args);
        assert!(ok, "openstack {args:?} failed:\n{out}\n{err}");
        out
    };
    let json = |out: String| -> Value { serde_json::from_str(&out).unwrap() };
    let field = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    let consumer = json(run(&[
        "consumer",
        "create",
        "--description",
        "backup",
        "-f",
        "json",
    ]));
    let (key, secret) = (field(&consumer, "id"), field(&consumer, "secret"));
    run(&["consumer", "set", "--description", "backup agent", &key]);
    let shown = json(run(&["consumer", "show", &key, "-f", "json"]));
    assert_eq!(shown["description"], "backup agent");
    assert!(shown.get("secret").is_none(), "{shown}");
    let listed = json(run(&["consumer", "list", "-f", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let request = json(run(&[
        "request",
        "token",
        "create",
        "--consumer-key",
        &key,
        "--consumer-secret",
        &secret,
        "--project",
        "admin",
        "-f",
        "json",
    ]));
    let (request_key, request_secret) = (field(&request, "key"), field(&request, "secret"));
    let authorized = json(run(&[
        "request",
        "token",
        "authorize",
        "--request-key",
        &request_key,
        "--role",
        "reader",
        "-f",
        "json",
    ]));
    let verifier = field(&authorized, "oauth_verifier");
    let access = json(run(&[
        "access",
        "token",
        "create",
        "--consumer-key",
        &key,
        "--consumer-secret",
        &secret,
        "--request-key",
        &request_key,
        "--request-secret",
        &request_secret,
        "--verifier",
        &verifier,
        "-f",
        "json",
    ]));
    let (access_key, access_secret) = (field(&access, "key"), field(&access, "secret"));

    // The consumer logs in with the access token: its token holds the
    // delegated role, on the project asked for.
    let output = openstack_env(
        &python,
        &s,
        "/v3",
        &[
            ("OS_AUTH_TYPE", "v3oauth1"),
            ("OS_CONSUMER_KEY", &key),
            ("OS_CONSUMER_SECRET", &secret),
            ("OS_ACCESS_KEY", &access_key),
            ("OS_ACCESS_SECRET", &access_secret),
        ],
        &["token", "issue", "-f", "json"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let issued: Value = serde_json::from_slice(&output.stdout).unwrap();
    let admin = s.admin_project_token().await;
    let (status, body) = s.validate(&admin, &admin, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(issued["project_id"], body["token"]["project"]["id"]);
    let token = field(&issued, "id");
    let validated = s.validate(&admin, &token, "").await.1;
    let roles: Vec<&str> = validated["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["reader"], "{validated}");
    assert_eq!(validated["token"]["OS-OAUTH1"]["consumer_id"], key.as_str());

    // Deleting the consumer ends the delegation and its tokens.
    run(&["consumer", "delete", &key]);
    let (status, _) = s.validate(&admin, &token, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
