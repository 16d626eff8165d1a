//! Ironstone: an OpenStack Keystone-compatible identity service.
//!
//! The library builds the whole application so that the binary, the
//! integration tests and the benchmarks start the same server. Modules
//! follow Keystone's subsystems; `api` is HTTP only, `store` is Diesel
//! only, and `token::payload`/`token::revoke` are pure.

pub mod api;
pub mod application_credential;
pub mod assignment;
pub mod auth;
pub mod bootstrap;
pub mod cache;
pub mod cascade;
pub mod catalog;
pub mod config;
pub mod credential;
pub mod error;
pub mod identity;
pub mod import;
pub mod policy;
pub mod resource;
pub mod revoke;
pub mod secret;
pub mod server;
pub mod signature;
pub mod store;
pub mod token;

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
    pub assignments: assignment::Assignments,
    pub cascade: cascade::Cascade,
    pub credential: credential::Credentials,
    pub app_creds: application_credential::AppCreds,
}
