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
pub mod oauth1;
pub mod policy;
pub mod resource;
pub mod revoke;
pub mod scannable;
pub mod secret;
pub mod server;
pub mod signature;
pub mod store;
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
