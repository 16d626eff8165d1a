//! Reliability (issue 19): what two replicas do while their PostgreSQL
//! database is gone, and that they serve again, without a restart and
//! without losing an acknowledged write, once it is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The bound the issue sets on coming back: 5 s after the database does.
const RECOVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Two replicas on a PostgreSQL database of their own, where a request
/// waits a second for a connection before its 503; and the admin.
async fn two_replicas() -> Option<(TestServer, TestServer, common::Member)> {
    let wait = |c: &mut ironstone::config::Config| c.database.acquire_timeout_ms = 1_000;
    let a = TestServer::start_with(Backend::Postgres, wait)?;
    let b = a.replica(wait);
    let admin = admin_member(&a).await;
    Some((a, b, admin))
}

/// `POST /v3/groups` of a new group named `name` on `node`.
async fn write(node: &TestServer, token: &str, name: &str) -> (StatusCode, Value) {
    let body = json!({"group": {"name": name}});
    call(node, Method::POST, "/v3/groups", Some(token), Some(body)).await
}

/// While PostgreSQL refuses the database's connections (those open are
/// ended, as when it stops), both replicas answer writes and reads that
/// need it with Keystone's error JSON and a 503 that names nothing of the
/// database, and `/readyz` says not ready. Validation too: with the
/// change listener's connection gone, no cache can be trusted not to
/// miss a revocation.
/// Within 5 s of the database's return both write again, and every write
/// acknowledged, before, during (none) or after the ten seconds of the
/// outage, by the test or by a writer loading each replica all along, is
/// there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_a_503_and_passes_without_a_restart() {
    let Some((a, b, admin)) = two_replicas().await else {
        return;
    };
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let t = admin.token.as_str();
    let mut acknowledged = Vec::new();
    for (i, node) in [&a, &b, &a, &b].into_iter().enumerate() {
        let (status, body) = write(node, t, &format!("before-{i}")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        acknowledged.push(body["group"]["id"].as_str().unwrap().to_string());
    }
    for node in [&a, &b] {
        assert_eq!(node.validate(t, t, "").await.0, StatusCode::OK);
    }
    // Under load: a writer on each replica all along, whose every answer
    // is a 201 or a 503.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = [&a, &b]
        .into_iter()
        .enumerate()
        .map(|(w, node)| {
            let (node, token) = (std::sync::Arc::clone(node), admin.token.clone());
            let stop = std::sync::Arc::clone(&stop);
            tokio::spawn(async move {
                let (mut written, mut refused) = (Vec::new(), 0);
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let (status, body) = write(&node, &token, &format!("load-{w}-{n}")).await;
                    match status {
                        StatusCode::CREATED => {
                            written.push(body["group"]["id"].as_str().unwrap().to_string())
                        }
                        StatusCode::SERVICE_UNAVAILABLE => refused += 1,
                        other => panic!("a write under the outage answered {other}: {body}"),
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                (written, refused)
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let outage = std::time::Instant::now();
    common::postgres_accepts_connections(&a, false);
    for node in [&a, &b] {
        let (status, body) = write(node, t, "during").await;
        common::expect_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, "");
        let (status, body) = call(
            node,
            Method::GET,
            &format!("/v3/groups/{}", acknowledged[0]),
            Some(t),
            None,
        )
        .await;
        common::expect_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, "");
        let (status, _) = call(node, Method::GET, "/readyz", None, None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        // With its change listener cut too, a node cannot know of a
        // revocation: it does not answer from its caches (the safe side).
        let (status, body) = node.validate(t, t, "").await;
        common::expect_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, "");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            !message.contains("5432") && !message.contains("ironstone_test"),
            "{message}"
        );
    }

    // Once a request has found no connection, the others answer at once
    // rather than each waiting for one (one probe every 250 ms still does).
    let mut fast = 0;
    for _ in 0..10 {
        let started = std::time::Instant::now();
        let (status, body) = call(&a, Method::GET, "/v3/groups", Some(t), None).await;
        common::expect_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, "");
        if started.elapsed() < std::time::Duration::from_millis(100) {
            fast += 1;
        }
    }
    assert!(fast >= 8, "only {fast} of 10 answered at once");

    // The outage lasts ten seconds in all.
    let ten_seconds = std::time::Duration::from_secs(10);
    tokio::time::sleep(ten_seconds.saturating_sub(outage.elapsed())).await;
    common::postgres_accepts_connections(&a, true);
    let back = std::time::Instant::now();
    for (i, node) in [&a, &b].into_iter().enumerate() {
        loop {
            let (status, body) = write(node, t, &format!("after-{i}")).await;
            if status == StatusCode::CREATED {
                break;
            }
            assert!(
                back.elapsed() < RECOVERY,
                "node {i} not back in {RECOVERY:?}: {status} {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    eprintln!(
        "both replicas wrote again {:?} after the database returned",
        back.elapsed()
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut refused = 0;
    for writer in load {
        let (written, their_refused) = writer.await.unwrap();
        acknowledged.extend(written);
        refused += their_refused;
    }
    assert!(refused > 0, "the load saw no outage");
    eprintln!(
        "under load: {} writes acknowledged in all, {refused} refused with a 503",
        acknowledged.len()
    );
    for id in &acknowledged {
        for node in [&a, &b] {
            let (status, body) = call(
                node,
                Method::GET,
                &format!("/v3/groups/{id}"),
                Some(t),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
}

/// Connections ended under load (`pg_terminate_backend`, over and over,
/// while writes run on both replicas): every write answers 201 or 503,
/// never a 500, and every 201 is there afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_under_load_lose_no_acknowledged_write() {
    let Some((a, b, admin)) = two_replicas().await else {
        return;
    };
    let t = admin.token.as_str();
    /// Stops the killer when the test ends, panicking or not (the runtime
    /// would wait for it forever).
    struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let killing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let stop = Stop(killing.clone());
    let killer = {
        let killing = killing.clone();
        let url = a.state().config.database_url();
        tokio::task::spawn_blocking(move || {
            let mut rounds = 0;
            while killing.load(std::sync::atomic::Ordering::Relaxed) {
                common::postgres_end_connections(&url);
                rounds += 1;
                std::thread::sleep(std::time::Duration::from_millis(150));
            }
            rounds
        })
    };
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for round in 0..40 {
        let (name_a, name_b) = (format!("a-{round}"), format!("b-{round}"));
        let (on_a, on_b) = tokio::join!(write(&a, t, &name_a), write(&b, t, &name_b));
        for (status, body) in [on_a, on_b] {
            match status {
                StatusCode::CREATED => {
                    acknowledged.push(body["group"]["id"].as_str().unwrap().to_string())
                }
                StatusCode::SERVICE_UNAVAILABLE => refused += 1,
                other => panic!("round {round}: {other} {body}"),
            }
        }
    }
    drop(stop);
    let kills = killer.await.unwrap();
    eprintln!(
        "{} writes acknowledged, {refused} refused with a 503, over {kills} rounds of killing",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());
    for id in &acknowledged {
        let (status, body) =
            call(&a, Method::GET, &format!("/v3/groups/{id}"), Some(t), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// The connections that carry other nodes' writes (LISTEN) are ended,
/// with the rest, and a token is revoked on one replica at once: once the
/// bound on stale answers has passed (one poll of the listener), the other
/// never validates it from its caches. Five rounds, each with a token both
/// replicas have validated (and cached) before. Within the bound it can:
/// validated at once, without the wait, the token passed on the other
/// replica in the first runs of this test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_revocation_is_missed_when_the_listener_drops() {
    let Some((a, b, admin)) = two_replicas().await else {
        return;
    };
    let url = a.state().config.database_url();
    for round in 0..5 {
        let token = fresh_token(&a).await;
        for node in [&a, &b] {
            assert_eq!(
                node.validate(&admin.token, &token, "").await.0,
                StatusCode::OK
            );
        }
        let url = url.clone();
        tokio::task::spawn_blocking(move || common::postgres_end_connections(&url))
            .await
            .unwrap();
        // Revoked on A as soon as A can write again.
        loop {
            let status = a.revoke(&admin.token, &token).await;
            if status == StatusCode::NO_CONTENT {
                break;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "round {round}");
        }
        // After the bound on stale answers (one poll of the listener, 50 ms;
        // twice that here), B may be unable to answer for a moment (503) but
        // must never say the token is valid.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        for _ in 0..20 {
            let (status, body) = b.validate(&admin.token, &token, "").await;
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::SERVICE_UNAVAILABLE,
                "round {round}: the revoked token answered {status}: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// A new token of the admin's, issued by `node`.
async fn fresh_token(node: &TestServer) -> String {
    let scope = Some(common::admin_project_scope());
    let (token, _) = node
        .password_token("admin", common::ADMIN_PASSWORD, scope)
        .await;
    token
}

/// The change listeners alone are refused for three seconds (each of their
/// connections ended as soon as it is made) while the pools serve: the
/// caches go off, so a node answers from the database, and a token revoked
/// on one replica is refused on the other at once, with no wait at all.
/// Within a few seconds of the listeners' return the caches are on again,
/// and a revocation still reaches the other replica within the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_listener_outage_turns_the_caches_off() {
    let Some((a, b, admin)) = two_replicas().await else {
        return;
    };
    let url = a.state().config.database_url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outage_started = std::time::Instant::now();
    let outage = tokio::task::spawn_blocking({
        let stop = std::sync::Arc::clone(&stop);
        move || {
            let started = std::time::Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                common::postgres_end_listeners(&url);
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            started.elapsed()
        }
    });
    let caches_on = |node: &TestServer| node.state().db.changes().epoch().is_some();
    let deadline = std::time::Instant::now() + RECOVERY;
    while caches_on(&a) || caches_on(&b) {
        assert!(std::time::Instant::now() < deadline, "the caches stayed on");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for round in 0..5 {
        let token = fresh_token(&a).await;
        for node in [&a, &b, &b] {
            let (status, body) = node.validate(&admin.token, &token, "").await;
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
        }
        assert_eq!(a.revoke(&admin.token, &token).await, StatusCode::NO_CONTENT);
        let (status, body) = b.validate(&admin.token, &token, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "round {round}: {body}");
        assert!(!caches_on(&b), "round {round}: the caches came back on");
    }
    let three_seconds = std::time::Duration::from_secs(3);
    tokio::time::sleep(three_seconds.saturating_sub(outage_started.elapsed())).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let lasted = outage.await.unwrap();

    let back = std::time::Instant::now();
    while !(caches_on(&a) && caches_on(&b)) {
        assert!(back.elapsed() < RECOVERY, "the caches stayed off");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    eprintln!(
        "listener outage of {lasted:?}: caches back on {:?} after it",
        back.elapsed()
    );
    let token = fresh_token(&a).await;
    assert_eq!(b.validate(&admin.token, &token, "").await.0, StatusCode::OK);
    assert_eq!(a.revoke(&admin.token, &token).await, StatusCode::NO_CONTENT);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        b.validate(&admin.token, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
}
