//! The release binary as an operator runs it: memory under a flood of
//! failing signatures, and logs a file or a pipe can use (issue 12).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;

use common::{free_port, wait_until_listening, Serving};
use serde_json::{json, Value};

const PASSWORD: &str = "operator-pw";

/// Serves on a free port with `env`; stderr goes to `log`.
fn serve(data_dir: &Path, log: &Path, env: &[(&str, &str)]) -> (Serving, String) {
    let port = free_port();
    let mut cmd = common::serve_command(data_dir, port, PASSWORD);
    cmd.envs(env.iter().copied())
        .stderr(std::fs::File::create(log).unwrap());
    let child = Serving(cmd.spawn().unwrap());
    wait_until_listening(port);
    (child, format!("http://127.0.0.1:{port}"))
}

async fn admin_token(client: &reqwest::Client, base: &str) -> String {
    common::login(
        client,
        base,
        "admin",
        PASSWORD,
        common::admin_project_scope(),
    )
    .await
    .0
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// 100,000 failed verifications, each with its own 128-character access
/// key and client address, leave the server under 64 MB: the throttle
/// holds fixed-size hashes, bounded in number, and forgets with the window.
#[test]
fn a_flood_of_failing_keys_leaves_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = serve(
        &dir.path().join("data"),
        &dir.path().join("log"),
        &[("IRONSTONE_LOG_FILTER", "error")],
    );
    let pid = server.0.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let token = admin_token(&client, &base).await;
        let before = rss_kib(pid);
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let workers = (0..16).map(|w| {
            let (client, token, base, sent) = (client.clone(), token.clone(), base.clone(), sent.clone());
            tokio::spawn(async move {
                loop {
                    let i = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= 100_000 {
                        return;
                    }
                    let access = format!("{i:0>8}{}", "k".repeat(120));
                    let client_ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
                    let body = json!({"credentials": {"access": access, "signature": format!("bad{w}"), "client_ip": client_ip,
                        "verb": "GET", "host": "h", "path": "/", "params": {"SignatureVersion": "2", "Timestamp": "2030-01-01T00:00:00Z"}}});
                    let status = client
                        .post(format!("{base}/v3/ec2tokens"))
                        .header("X-Auth-Token", &token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert!(status == 401 || status == 429, "{status}");
                }
            })
        });
        for w in futures_util::future::join_all(workers).await {
            w.unwrap();
        }
        let after = rss_kib(pid);
        eprintln!("RSS before {before} KiB, after 100,000 failing keys {after} KiB");
        // The bound is on growth: the baseline is the debug build's and
        // moves with what it links (measured 45-47 MB); the flood adds
        // about 20 MB of capped tables, whatever the number of keys.
        assert!(
            after.saturating_sub(before) < 32 * 1024,
            "RSS grew from {before} KiB to {after} KiB"
        );
    });
}

/// Logs written to a file carry no colour codes; every line a request
/// causes, a 500's detail included, names its request id; `json` gives
/// one object per line.
#[test]
fn logs_are_plain_and_name_the_request() {
    for format in ["text", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let log = dir.path().join("log");
        let (server, base) = serve(
            &data,
            &log,
            &[
                ("IRONSTONE_LOG_FILTER", "info"),
                ("IRONSTONE_SERVER_LOG_FORMAT", format),
            ],
        );
        let request_id = tokio::runtime::Runtime::new().unwrap().block_on(async {
            let client = reqwest::Client::new();
            let token = admin_token(&client, &base).await;
            // Break the database under the running server: its next read
            // of the table fails with a 500.
            let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(
                data.join("ironstone.sqlite").to_str().unwrap(),
            )
            .unwrap();
            diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                "PRAGMA foreign_keys = OFF; DROP TABLE regions;",
            )
            .unwrap();
            let resp = client
                .get(format!("{base}/v3/regions"))
                .header("X-Auth-Token", &token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 500);
            let id = resp.headers()["x-openstack-request-id"]
                .to_str()
                .unwrap()
                .to_string();
            let body: Value = resp.json().await.unwrap();
            assert!(
                !body.to_string().contains("regions"),
                "no detail in the body: {body}"
            );
            id
        });
        drop(server);
        let lines: Vec<String> = BufReader::new(std::fs::File::open(&log).unwrap())
            .lines()
            .map(Result::unwrap)
            .collect();
        assert!(
            lines.iter().all(|l| !l.contains('\u{1b}')),
            "{format}: colour codes in {lines:?}"
        );
        let detail: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("no such table"))
            .collect();
        assert!(
            !detail.is_empty(),
            "{format}: the 500's detail is logged: {lines:?}"
        );
        for line in detail.iter().chain(
            lines
                .iter()
                .filter(|l| l.contains("\"status\":500") || l.contains("status=500"))
                .collect::<Vec<_>>()
                .iter(),
        ) {
            assert!(
                line.contains(&request_id),
                "{format}: {line} lacks {request_id}"
            );
        }
        if format == "json" {
            for line in &lines {
                let parsed: Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                assert!(parsed.is_object());
            }
        }
        assert!(
            !lines.iter().any(|l| l.contains(PASSWORD)),
            "no password in the log"
        );
    }
}
