//! `GET /metrics`: counters in Prometheus' text format. Numbers only (no
//! ids, keys or addresses), so it is served without a token, like
//! discovery; keep it on an internal network all the same.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};

use crate::AppState;

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let g = &state.auth.guards;
    let series = [
        (
            "ironstone_signature_verified_total",
            "counter",
            "Signed requests verified.",
            g.verified.load(Ordering::Relaxed),
        ),
        (
            "ironstone_signature_failures_total",
            "counter",
            "Signature verifications that failed (unknown key, wrong signature, unusable pair).",
            g.throttle.failures.load(Ordering::Relaxed),
        ),
        (
            "ironstone_signature_throttled_total",
            "counter",
            "Verification calls refused with 429.",
            g.throttle.refused.load(Ordering::Relaxed),
        ),
        (
            "ironstone_signature_replays_total",
            "counter",
            "Verification calls refused as replays.",
            g.replays.load(Ordering::Relaxed),
        ),
        (
            "ironstone_signature_replay_cache_entries",
            "gauge",
            "Signatures held by the replay cache.",
            g.replay.len() as u64,
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, value) in series {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}
