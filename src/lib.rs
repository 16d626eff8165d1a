//! Ironstone: an OpenStack Keystone-compatible identity service.
//!
//! The library builds the whole application so that the binary, the
//! integration tests and the benchmarks start the same server. Modules
//! follow Keystone's subsystems; `api` is HTTP only, `store` is Diesel
//! only, and `token::payload`/`token::revoke` are pure.

pub mod api;
pub mod application_credential;
pub mod assignment;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod cache;
pub mod cascade;
pub mod catalog;
pub mod config;
pub mod credential;
pub mod domain_config;
pub mod error;
pub mod hierarchy;
pub mod identity;
pub mod import;
pub mod leak;
pub mod lifecycle;
pub mod limit;
pub mod notify;
pub mod oauth1;
pub mod policy;
pub mod resource;
pub mod revoke;
pub mod scannable;
pub mod secret;
pub mod server;
pub mod signature;
pub mod store;
pub mod telemetry;
pub mod token;
pub mod trust;

use std::sync::Arc;

/// Everything a request handler needs, shared by all workers.
pub struct AppState {
    pub config: Arc<config::Config>,
    pub db: store::Database,
    pub tokens: Arc<token::TokenProvider>,
    pub credentials: Arc<credential::CredentialCipher>,
    pub hasher: identity::Hasher,
    pub auth: auth::Auth,
    pub catalog: catalog::Catalog,
    pub roles: assignment::Roles,
    pub groups: identity::Groups,
    pub users: identity::Users,
    pub resources: resource::Resources,
    pub hierarchy: hierarchy::Hierarchy,
    pub domain_configs: domain_config::DomainConfigs,
    pub assignments: assignment::Assignments,
    pub cascade: cascade::Cascade,
    pub credential: credential::Credentials,
    pub app_creds: application_credential::AppCreds,
    pub limits: limit::Limits,
    pub trusts: trust::Trusts,
    pub oauth1: oauth1::OAuth1,
    pub leaks: leak::Leaks,
    pub audit: audit::Audit,
    pub notifier: notify::Notifier,
    pub telemetry: std::sync::Arc<telemetry::Telemetry>,
}

/// What `/readyz` checks: the database answers and the key repositories
/// are loaded.
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    pub database: bool,
    pub token_keys: bool,
    pub credential_keys: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database && self.token_keys && self.credential_keys
    }
}

impl AppState {
    pub async fn readiness(&self) -> Readiness {
        Readiness {
            database: self.db.ping().await,
            token_keys: self.tokens.keys_loaded(),
            credential_keys: self.credentials.ring().fernet().is_ok(),
        }
    }
}

impl AppState {
    /// Everything `/metrics` shows, in Prometheus' text format.
    pub fn metrics_text(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let mut text = String::new();
        let t = &mut text;
        let g = &self.auth.guards;
        telemetry::series(
            t,
            "ironstone_signature_verified_total",
            "counter",
            "Signed requests verified.",
            telemetry::one(g.verified.load(Relaxed)),
        );
        telemetry::series(
            t,
            "ironstone_signature_failures_total",
            "counter",
            "Signature verifications that failed (unknown key, wrong signature, unusable pair).",
            telemetry::one(g.throttle.failures.load(Relaxed)),
        );
        telemetry::series(
            t,
            "ironstone_signature_throttled_total",
            "counter",
            "Verification calls refused with 429.",
            telemetry::one(g.throttle.refused.load(Relaxed)),
        );
        telemetry::series(
            t,
            "ironstone_signature_replays_total",
            "counter",
            "Verification calls refused as replays.",
            telemetry::one(g.replays.load(Relaxed)),
        );
        telemetry::series(
            t,
            "ironstone_signature_replay_cache_entries",
            "gauge",
            "Signatures held by the replay cache.",
            telemetry::one(g.replay.len() as u64),
        );
        let caches = self.auth.caches.counts();
        let by_cache = |pick: fn(&(u64, u64)) -> u64| -> Vec<(String, u64)> {
            caches
                .iter()
                .map(|(cache, counts)| (format!("{{cache=\"{cache}\"}}"), pick(counts)))
                .collect()
        };
        telemetry::series(
            t,
            "ironstone_cache_hits_total",
            "counter",
            "Lookups answered by an in-process cache (hit ratio: hits / (hits + misses)).",
            by_cache(|c| c.0),
        );
        telemetry::series(
            t,
            "ironstone_cache_misses_total",
            "counter",
            "Lookups an in-process cache could not answer.",
            by_cache(|c| c.1),
        );
        telemetry::series(
            t,
            "ironstone_password_hash_queue_depth",
            "gauge",
            "Password hashes waiting for a hashing thread.",
            telemetry::one(self.hasher.queue_depth() as u64),
        );
        let pool = self.db.pool_usage();
        let pool = vec![
            ("{state=\"open\"}".to_string(), u64::from(pool.open)),
            ("{state=\"idle\"}".to_string(), u64::from(pool.idle)),
            ("{state=\"max\"}".to_string(), u64::from(pool.size)),
        ];
        telemetry::series(
            t,
            "ironstone_db_pool_connections",
            "gauge",
            "Database connections: open (in use or idle), idle, and the pool's size.",
            pool,
        );
        let n = &self.notifier.stats;
        telemetry::series(
            t,
            "ironstone_notifications_sent_total",
            "counter",
            "Notifications handed to the message broker.",
            telemetry::one(n.sent.load(Relaxed)),
        );
        telemetry::series(
            t,
            "ironstone_notifications_dropped_total",
            "counter",
            "Notifications dropped because the queue for the broker was full.",
            telemetry::one(n.dropped.load(Relaxed)),
        );
        telemetry::series(
            t,
            "ironstone_notifications_queued",
            "gauge",
            "Notifications waiting for the message broker.",
            telemetry::one(self.notifier.queued()),
        );
        self.telemetry.encode(&mut text);
        text
    }
}
