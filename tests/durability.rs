//! Acknowledged writes survive a crash: 200 AK/SK pairs are created
//! concurrently, the server process is killed with SIGKILL mid-run and
//! restarted, and every pair that was answered 200 is still there and
//! still decrypts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Backend;
use serde_json::{json, Value};

fn spawn_server(data_dir: &std::path::Path, port: u16, database_url: Option<&str>) -> Child {
    let mut cmd = common::serve_command(data_dir, port, "pw");
    cmd.env("IRONSTONE_LOG_FILTER", "error")
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.env("IRONSTONE_DATABASE_URL", url);
    }
    let child = cmd.spawn().unwrap();
    common::wait_until_listening(port);
    child
}

async fn admin_scope(client: &reqwest::Client, base: &str) -> (String, String, String) {
    let (token, body) =
        common::login(client, base, "admin", "pw", common::admin_project_scope()).await;
    let project = body["token"]["project"]["id"].as_str().unwrap().to_string();
    let user = body["token"]["user"]["id"].as_str().unwrap().to_string();
    (token, project, user)
}

async fn killed_mid_run_keeps_acknowledged_pairs(backend: Backend) {
    let Some(own) = common::create_database(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = own.as_ref().map(|(url, _)| url.as_str());
    let mut child = spawn_server(dir.path(), port, url);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (token, project, user) = admin_scope(&client, &base).await;

    let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (client, base, token, project, user) = (
            client.clone(),
            base.clone(),
            token.clone(),
            project.clone(),
            user.clone(),
        );
        let (acknowledged, done) = (acknowledged.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(format!("{base}/v1/{project}/aksks"))
                .header("X-Auth-Token", &token)
                .json(&json!({"credential": {"project_id": project, "user_id": user}}))
                .send()
                .await;
            if let Ok(resp) = resp {
                if resp.status() == 200 {
                    if let Ok(body) = resp.json::<Value>().await {
                        let pair = (
                            body["access_key"].as_str().unwrap().to_string(),
                            body["secret_key"].as_str().unwrap().to_string(),
                        );
                        acknowledged.lock().unwrap().insert(pair.0, pair.1);
                    }
                }
            }
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    // Kill once some, but not all, have been acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 40 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 40,
        "only {} pairs were acknowledged",
        acknowledged.len()
    );
    eprintln!(
        "{} of 200 pairs acknowledged before SIGKILL",
        acknowledged.len()
    );

    let mut child = spawn_server(dir.path(), port, url);
    // The old token still validates: the keys and the revocation state survived.
    let resp = client
        .get(format!("{base}/v1/{project}/aksks/{user}"))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let stored: Vec<Value> = resp.json().await.unwrap();
    let stored: BTreeMap<String, String> = stored
        .iter()
        .map(|p| {
            (
                p["blob"]["access_key"].as_str().unwrap().to_string(),
                p["blob"]["secret_key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (access, secret) in &acknowledged {
        assert_eq!(
            stored.get(access),
            Some(secret),
            "acknowledged pair {access} lost or changed"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    if let Some((_, name)) = own {
        common::drop_database(backend, &name);
    }
}

on_every_backend!(killed_mid_run_keeps_acknowledged_pairs);
