//! `/metrics` read by Prometheus' own parser (`prometheus_client`, from
//! the interop venv): latency histograms and counts per route family and
//! status class, the database round trip, cache hits and misses, the
//! hashing queue and the pool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The value of the sample `name` whose labels include `labels`.
fn sample(families: &Value, family: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families[family]["samples"]
        .as_array()?
        .iter()
        .find(|s| {
            s["name"] == name
                && labels
                    .iter()
                    .all(|(k, v)| s["labels"][*k].as_str() == Some(*v))
        })
        .and_then(|s| s["value"].as_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_reads_them() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    // A login (a password hash), validations (the second from the cache)
    // and a 404.
    let admin = s.admin_project_token().await;
    for _ in 0..2 {
        assert_eq!(s.validate(&admin, &admin, "").await.0, StatusCode::OK);
    }
    let missing = s
        .request(Method::GET, "/v3/nothing-here")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let url = format!("{}/metrics", s.url);
    let scraped = tokio::task::spawn_blocking(move || {
        common::run_interop(&python, "parse_metrics.py", &[&url])
    })
    .await
    .unwrap();
    assert_eq!(scraped["content_type"], "text/plain; version=0.0.4");
    let f = &scraped["families"];
    let latency = "ironstone_http_request_duration_seconds";
    assert_eq!(f[latency]["type"], "histogram");
    let auth = [("family", "auth"), ("status", "2xx")];
    let count = sample(f, latency, &format!("{latency}_count"), &auth).unwrap();
    assert!(count >= 3.0, "a login and two validations: {count}");
    let under_inf = sample(
        f,
        latency,
        &format!("{latency}_bucket"),
        &[("family", "auth"), ("status", "2xx"), ("le", "+Inf")],
    );
    assert_eq!(under_inf, Some(count));
    assert_eq!(
        sample(
            f,
            "ironstone_http_requests",
            "ironstone_http_requests_total",
            &auth
        ),
        Some(count)
    );
    assert!(sample(
        f,
        latency,
        &format!("{latency}_count"),
        &[("family", "unmatched"), ("status", "4xx")]
    )
    .is_some());
    let rtt = "ironstone_db_round_trip_seconds";
    assert_eq!(f[rtt]["type"], "histogram");
    assert!(sample(f, rtt, &format!("{rtt}_count"), &[]).unwrap() >= 1.0);
    assert!(
        sample(
            f,
            "ironstone_cache_hits",
            "ironstone_cache_hits_total",
            &[("cache", "tokens")]
        )
        .unwrap()
            >= 1.0,
        "the second validation came from the token cache"
    );
    assert!(
        sample(
            f,
            "ironstone_cache_misses",
            "ironstone_cache_misses_total",
            &[("cache", "scopes")]
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(f["ironstone_password_hash_queue_depth"]["type"], "gauge");
    let pool = |state: &str| {
        sample(
            f,
            "ironstone_db_pool_connections",
            "ironstone_db_pool_connections",
            &[("state", state)],
        )
        .unwrap()
    };
    assert!(pool("max") >= pool("open") && pool("open") >= pool("idle") && pool("max") > 0.0);
    // Ids never become labels: the paths asked for are not there.
    assert!(!scraped.to_string().contains("nothing-here"));
}
