//! The SODA AK/SK workflow's documented curl commands, run verbatim by
//! `scripts/soda-aksk-workflow.sh` against a server started here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, TestServer, ADMIN_PASSWORD};

#[test]
fn soda_workflow_script_runs_against_ironstone() {
    let Some(s) = TestServer::start_with(Backend::Sqlite, |c| {
        // Keystone and the multicloud API on two ports, as in SODA.
        c.server.listen = vec!["127.0.0.1:0".into(), "127.0.0.1:0".into()];
    }) else {
        return;
    };
    let addrs = s.addrs();
    assert_eq!(addrs.len(), 2);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/soda-aksk-workflow.sh");
    let output = std::process::Command::new("bash")
        .arg(script)
        .env("KEYSTONE_HOST", addrs[0].to_string())
        .env("MULTICLOUD_HOST", addrs[1].to_string())
        .env("OS_USERNAME", "admin")
        .env("OS_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("step 1 ok"), "{stdout}");
    assert!(stdout.contains("step 2 ok: project_id="), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listener_serves_the_same_api() {
    let Some(s) = TestServer::start_with(Backend::Sqlite, |c| {
        c.server.listen = vec!["127.0.0.1:0".into(), "127.0.0.1:0".into()];
    }) else {
        return;
    };
    for addr in s.addrs() {
        let resp = s
            .client
            .get(format!("http://{addr}/v3"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{addr}");
    }
}
