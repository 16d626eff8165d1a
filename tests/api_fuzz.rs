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

/// Runs schemathesis over the contract against `s`, with `selection`
/// (which operations).
async fn schemathesis(s: &TestServer, selection: &[String]) -> std::process::Output {
    let python = common::interop_python().unwrap();
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.yaml");
    let examples = std::env::var("IRONSTONE_TEST_FUZZ_EXAMPLES").unwrap_or_else(|_| "5".into());
    let mut command = std::process::Command::new(python.with_file_name("schemathesis"));
    command
        .arg("run")
        .arg(&spec)
        .args(["--url", &s.url])
        .args(["--checks", CHECKS])
        .args(["--max-examples", &examples])
        .args(["--phases", "examples,coverage,fuzzing"])
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
    let output = schemathesis(&s, &all_but_lifeline).await;
    // The admin still works: the run exercised what an admin may do.
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
    let output = schemathesis(&s, &lifeline).await;
    assert!(
        output.status.success(),
        "schemathesis found contract violations:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
