//! The OpenAPI contract, fuzzed: schemathesis (PyPI, in the interop venv)
//! generates requests for every operation of `openapi/openapi.yaml` from
//! its schemas, sends them to a live Ironstone with an admin token, and
//! checks every answer: no 5xx, a documented status, a documented content
//! type and a body that matches the documented schema, and a 4xx for every
//! request its schema refuses. The request schemas of Keystone's routes are
//! Keystone's own (`openapi/keystone-requests.json`), so that last check
//! holds Ironstone to what Keystone refuses. Bounded (a few examples per
//! operation, a fixed seed), so it takes under a minute.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Backend, TestServer};
use serde_json::json;

/// What schemathesis checks of every answer.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection";

/// The admin's lifeline, which no token renewal survives: its user
/// (disable, delete), its roles (delete, the system grant) and its domain
/// (disable, as a domain or as the project acting as it: schemathesis
/// reuses the ids it reads in answers, `default` among them). They are
/// fuzzed last, on their own, so that locking the admin out can only cut
/// that last run short.
const LIFELINE: [&str; 6] = [
    "updateUser",
    "deleteUser",
    "deleteVRolesRoleId",
    "deleteVSystemUsersUserIdRolesRoleId",
    "updateDomain",
    "updateProject",
];

/// `POST path` as `token`, which must succeed; the string at `pointer`.
async fn create(
    s: &TestServer,
    token: Option<&str>,
    path: &str,
    body: serde_json::Value,
    pointer: &str,
) -> String {
    let (status, created) = common::call(s, reqwest::Method::POST, path, token, Some(body)).await;
    assert!(status.is_success(), "{path}: {created}");
    match created.pointer(pointer) {
        Some(serde_json::Value::String(id)) => id.clone(),
        _ => panic!("{path}: no {pointer} in {created}"),
    }
}

/// `POST /v3/{kind}s` of a `{kind}` with a fresh name and `fields`; its id.
async fn named(
    s: &TestServer,
    token: Option<&str>,
    kind: &str,
    fields: serde_json::Value,
) -> String {
    let mut item = fields;
    item["name"] = json!(format!("fuzz-{kind}-{}", uuid::Uuid::new_v4().simple()));
    let body = json!({ kind: item });
    create(
        s,
        token,
        &format!("/v3/{kind}s"),
        body,
        &format!("/{kind}/id"),
    )
    .await
}

/// Makes one of everything the item routes name, as the admin, and
/// returns schemathesis's configuration: each path parameter draws one of
/// these ids four times in five (random ones otherwise), so that the item
/// routes are fuzzed on things that exist instead of answering 404.
async fn fixtures(s: &TestServer) -> String {
    let admin = common::admin_member(s).await;
    let t = Some(admin.token.as_str());
    let domain = named(s, t, "domain", json!({})).await;
    let project = named(s, t, "project", json!({ "domain_id": domain })).await;
    let user = named(s, t, "user", json!({"password": "fuzz-pw-1"})).await;
    let group = named(s, t, "group", json!({})).await;
    let role = named(s, t, "role", json!({})).await;
    let region = create(
        s,
        t,
        "/v3/regions",
        json!({"region": {"id": format!("fuzz-region-{}", uuid::Uuid::new_v4().simple())}}),
        "/region/id",
    )
    .await;
    let service = named(s, t, "service", json!({"type": "fuzz"})).await;
    let endpoint = create(
        s,
        t,
        "/v3/endpoints",
        json!({"endpoint": {"service_id": service, "interface": "public", "url": "http://fuzz.example/v1", "region_id": region}}),
        "/endpoint/id",
    )
    .await;
    let policy = create(
        s,
        t,
        "/v3/policies",
        json!({"policy": {"blob": "{}", "type": "application/json"}}),
        "/policy/id",
    )
    .await;
    let credential = create(
        s,
        t,
        "/v3/credentials",
        json!({"credential": {"type": "totp", "blob": "fuzz", "user_id": admin.user_id}}),
        "/credential/id",
    )
    .await;
    let ec2 = create(
        s,
        t,
        &format!("/v3/users/{}/credentials/OS-EC2", admin.user_id),
        json!({"tenant_id": admin.project_id}),
        "/credential/access",
    )
    .await;
    let app_cred = create(
        s,
        t,
        &format!("/v3/users/{}/application_credentials", admin.user_id),
        json!({"application_credential": {"name": "fuzz-app", "access_rules": [{"service": "compute", "method": "GET", "path": "/v2.1/servers"}]}}),
        "/application_credential/id",
    )
    .await;
    let (_, rules) = common::call(
        s,
        reqwest::Method::GET,
        &format!("/v3/users/{}/access_rules", admin.user_id),
        t,
        None,
    )
    .await;
    let access_rule = rules["access_rules"][0]["id"].as_str().unwrap().to_string();
    let consumer = create(
        s,
        t,
        "/v3/OS-OAUTH1/consumers",
        json!({"consumer": {}}),
        "/consumer/id",
    )
    .await;
    let endpoint_group = create(
        s,
        t,
        "/v3/OS-EP-FILTER/endpoint_groups",
        json!({"endpoint_group": {"name": "fuzz-endpoint-group", "filters": {"interface": "public"}}}),
        "/endpoint_group/id",
    )
    .await;
    let registered_limit = create(
        s,
        t,
        "/v3/registered_limits",
        json!({"registered_limits": [{"service_id": service, "resource_name": "cores", "default_limit": 10}]}),
        "/registered_limits/0/id",
    )
    .await;
    let limit = create(
        s,
        t,
        "/v3/limits",
        json!({"limits": [{"service_id": service, "project_id": project, "resource_name": "cores", "resource_limit": 5}]}),
        "/limits/0/id",
    )
    .await;
    let trust = create(
        s,
        t,
        "/v3/OS-TRUST/trusts",
        json!({"trust": {"trustor_user_id": admin.user_id, "trustee_user_id": user, "project_id": admin.project_id, "impersonation": false, "roles": [{"name": "member"}]}}),
        "/trust/id",
    )
    .await;
    let access_key = create(
        s,
        t,
        &format!("/v1/{}/aksks", admin.project_id),
        json!({"credential": {"project_id": admin.project_id, "user_id": admin.user_id}}),
        "/access_key",
    )
    .await;
    let dictionaries: [(&str, Vec<String>); 20] = [
        ("user_id", vec![admin.user_id.clone(), user]),
        (
            "project_id",
            vec![admin.project_id.clone(), project, domain.clone()],
        ),
        // Not `default`: the admin's own domain is part of its lifeline.
        ("domain_id", vec![domain]),
        ("group_id", vec![group]),
        ("role_id", vec![role.clone()]),
        ("prior_role_id", vec![role]),
        ("region_id", vec![region]),
        ("service_id", vec![service]),
        ("endpoint_id", vec![endpoint]),
        ("policy_id", vec![policy]),
        ("credential_id", vec![credential, ec2]),
        ("application_credential_id", vec![app_cred]),
        ("access_rule_id", vec![access_rule]),
        ("consumer_id", vec![consumer]),
        ("endpoint_group_id", vec![endpoint_group]),
        ("registered_limit_id", vec![registered_limit]),
        ("limit_id", vec![limit]),
        ("trust_id", vec![trust]),
        ("access_key", vec![access_key]),
        ("group", vec!["identity".to_string(), "ldap".into()]),
    ];
    let mut config = String::new();
    for (name, values) in &dictionaries {
        let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        config += &format!("[dictionaries.{name}]\nvalues = [{}]\n", values.join(", "));
    }
    // The stateful phase chains operations through the links schemathesis
    // infers (an id from one answer into the next request). With the five
    // examples of the other phases it covered no link; this budget runs
    // about 150 scenarios over 44 links in 8 s.
    config += "[phases.stateful.generation]\nmax-examples = 1000\n";
    config += "[parameters]\n";
    for (name, _) in &dictionaries {
        config += &format!("\"path.{name}\" = {{ dictionary = \"{name}\", probability = 0.8 }}\n");
    }
    config
}

/// Runs schemathesis over the contract against `s`, with `selection`
/// (which operations) and `config` (schemathesis.toml).
async fn schemathesis(s: &TestServer, selection: &[String], config: &str) -> std::process::Output {
    let python = common::interop_python().unwrap();
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.yaml");
    let examples = std::env::var("IRONSTONE_TEST_FUZZ_EXAMPLES").unwrap_or_else(|_| "5".into());
    let config_file = s.dir.path().join("schemathesis.toml");
    std::fs::write(&config_file, config).unwrap();
    let mut command = std::process::Command::new(python.with_file_name("schemathesis"));
    command
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(&spec)
        .args(["--url", &s.url])
        .args(["--checks", CHECKS])
        .args(["--max-examples", &examples])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--seed", "20261203"])
        .args(["--workers", "2"])
        .args(selection)
        .env(
            "SCHEMATHESIS_HOOKS",
            common::interop_dir().join("schemathesis_auth.py"),
        )
        .env("IRONSTONE_FUZZ_URL", &s.url)
        .env("IRONSTONE_FUZZ_PASSWORD", common::ADMIN_PASSWORD)
        .env("NO_COLOR", "1");
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_contract_violation() {
    if common::interop_python().is_none() {
        return;
    }
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let all_but_lifeline: Vec<String> = LIFELINE
        .iter()
        .flat_map(|id| ["--exclude-operation-id".to_string(), id.to_string()])
        .collect();
    let config = fixtures(&s).await;
    let output = schemathesis(&s, &all_but_lifeline, &config).await;
    // The admin still works: the run exercised what an admin may do. A
    // change to the admin's grants or groups revokes its tokens issued up
    // to that second, as in Keystone, a new one too: wait a second first.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    s.password_token(
        "admin",
        common::ADMIN_PASSWORD,
        Some(serde_json::json!({"system": {"all": true}})),
    )
    .await;
    assert!(
        output.status.success(),
        "schemathesis found contract violations:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let lifeline: Vec<String> = LIFELINE
        .iter()
        .flat_map(|id| ["--include-operation-id".to_string(), id.to_string()])
        .collect();
    let output = schemathesis(&s, &lifeline, &config).await;
    assert!(
        output.status.success(),
        "schemathesis found contract violations:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
