//! The SODA AK/SK workflow's documented curl commands (steps 1-6), run verbatim by
//! `scripts/soda-aksk-workflow.sh` against a server started here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Backend, TestServer, ADMIN_PASSWORD};

#[test]
fn soda_workflow_script_runs_against_ironstone() {
    // SODA's exact 16/32-character keys, and the default scannable secret.
    for secret_prefix in [false, true] {
        run_workflow(secret_prefix);
    }
}

fn run_workflow(secret_prefix: bool) {
    let Some(s) = TestServer::start_with(Backend::Sqlite, |c| {
        // Keystone and the multicloud API on two ports, as in SODA.
        c.server.listen = vec!["127.0.0.1:0".into(), "127.0.0.1:0".into()];
        c.credential.secret_prefix = secret_prefix;
    }) else {
        return;
    };
    let addrs = s.addrs();
    assert_eq!(addrs.len(), 2);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/soda-aksk-workflow.sh");
    let downloads = tempfile::tempdir().unwrap();
    let output = std::process::Command::new("bash")
        .arg(script)
        .env("DOWNLOAD_DIR", downloads.path())
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
    for step in ["step 3 ok", "step 4 ok", "step 5 ok", "step 6 ok"] {
        assert!(stdout.contains(step), "{step} missing:\n{stdout}");
    }
    // The downloaded file is SODA's array and held the pair created in step 3.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(downloads.path().join("aksk.json")).unwrap())
            .unwrap();
    let pair = &saved[0];
    assert_eq!(pair["type"], "ec2");
    assert_eq!(pair["blob"]["access_key"].as_str().unwrap().len(), 16);
    let secret = pair["blob"]["secret_key"].as_str().unwrap();
    assert_eq!(secret.len(), if secret_prefix { 43 } else { 32 });
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
