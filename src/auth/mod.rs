//! Authentication: turning credentials into tokens, and tokens back into
//! the identity they carry. Follows `keystone/api/_shared/authentication.py`
//! and `keystone/token/provider.py`.

pub mod browser;
pub mod guard;
mod issue;
mod oauth2;
pub mod rate;
pub mod request;
mod scope;
pub mod signed;
mod tokens;
mod validate;

pub use issue::issue_token;
pub use oauth2::ClientCredentials;
pub use tokens::Subject;
pub(crate) use validate::issue_and_load;
pub use validate::{
    authenticate_caller, authenticate_caller_shared, catalog_for, validate, validate_shared,
    Caches, Catalog, ValidToken,
};

use std::sync::Arc;

use crate::assignment::Role;
use crate::error::Error;
use crate::identity::{self, User};
use crate::resource::{Domain, Project};
use crate::secret::Secret;
use crate::token::TokenError;

/// What authentication needs, and nothing else: the database, the token
/// keys, the hasher, the credential cipher, the signature guards and the
/// validation caches. `AppState` holds one; the use cases of the other
/// subsystems never see it.
pub struct Auth {
    pub config: Arc<crate::config::Config>,
    pub db: crate::store::Database,
    pub tokens: Arc<crate::token::TokenProvider>,
    pub credentials: Arc<crate::credential::CredentialCipher>,
    pub hasher: identity::Hasher,
    pub guards: signed::Guards,
    pub caches: Caches,
    /// Signed-request verifications waiting to be written to the trail.
    pub audit: std::sync::Arc<crate::audit::Sink>,
    /// Keys' own limits on successful verifications.
    pub rates: rate::KeyRates,
}

impl Auth {
    /// `GET /v3/OS-REVOKE/events`: the revocation events after `since`.
    pub async fn revoke_events(
        &self,
        caller: &crate::policy::Caller,
        since: crate::policy::Input<Option<i64>>,
    ) -> Result<Vec<crate::revoke::ListedEvent>, Error> {
        crate::revoke::list_events(&self.db, caller, since).await
    }
}

/// What a validated token is scoped to, with the live objects.
#[derive(Debug, Clone)]
pub enum ResolvedScope {
    Unscoped,
    Project { project: Project, domain: Domain },
    Domain(Domain),
    System,
}

/// A token and everything needed to answer for it.
#[derive(Debug, Clone)]
pub struct TokenContext {
    pub token: Secret,
    pub issued_at: i64,
    pub expires_at: f64,
    pub audit_ids: Vec<String>,
    pub methods: Vec<String>,
    /// Its user and scope as they are now, shared with the scope cache
    /// and every other token of the same user and scope: a token costs a
    /// reference count, not a copy of its user, project and roles.
    pub live: Arc<LiveScope>,
}

/// What a token's user and scope resolve to now: everything validation
/// needs from the database except revocation. Cached per change epoch.
#[derive(Debug, Clone)]
pub struct LiveScope {
    pub user: User,
    pub user_domain: Domain,
    pub scope: ResolvedScope,
    pub roles: Vec<Role>,
    /// The ids of `roles`, as the revocation check reads them.
    pub(crate) role_ids: Vec<String>,
    /// Set for tokens minted from an application credential.
    pub application_credential: Option<AppCredInfo>,
    /// That credential's expiry (microseconds), checked on every use.
    pub app_cred_expires_at: Option<i64>,
    /// Set for trust-scoped tokens.
    pub trust: Option<TrustInfo>,
    /// Set for tokens minted with an OS-OAUTH1 access token.
    pub oauth: Option<OAuthInfo>,
    /// The members of a token body that depend only on this user and
    /// scope, as the API wrote them for the first token that needed them
    /// (`api::render`): every later token of this scope copies them.
    pub rendered: std::sync::OnceLock<RenderedScope>,
}

/// See [`LiveScope::rendered`]: JSON text, written and read by `api::render`.
#[derive(Debug, Clone)]
pub struct RenderedScope {
    /// The `user` object.
    pub user: bytes::Bytes,
    /// The members after the token's times (`"project":…,"roles":[…]`),
    /// without braces; empty for an unscoped token.
    pub members: bytes::Bytes,
}

/// What a token minted with an OS-OAUTH1 access token says of it.
#[derive(Debug, Clone)]
pub struct OAuthInfo {
    pub access_token_id: String,
    pub consumer_id: String,
}

/// What a trust-scoped token says about its trust. The token's user is
/// the trustee; with impersonation it is shown as the trustor.
#[derive(Debug, Clone)]
pub struct TrustInfo {
    pub id: String,
    pub impersonation: bool,
    pub trustee_user_id: String,
    pub trustor: User,
    pub trustor_domain: Domain,
}

/// What a token says about the application credential it came from.
#[derive(Debug, Clone)]
pub struct AppCredInfo {
    pub id: String,
    pub name: String,
    pub restricted: bool,
    pub access_rules: Vec<crate::application_credential::AccessRule>,
}

impl TokenContext {
    pub fn user_id(&self) -> &str {
        &self.live.user.id
    }

    pub fn has_role(&self, name: &str) -> bool {
        self.live.roles.iter().any(|r| r.name == name)
    }

    pub fn is_system_scoped(&self) -> bool {
        matches!(self.live.scope, ResolvedScope::System)
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.live.scope {
            ResolvedScope::Project { project, .. } => Some(&project.id),
            _ => None,
        }
    }

    pub fn domain_id(&self) -> Option<&str> {
        match &self.live.scope {
            ResolvedScope::Domain(d) => Some(&d.id),
            _ => None,
        }
    }

    /// Who is calling, as the policy rules see it.
    pub fn caller(&self) -> crate::policy::Caller {
        use crate::policy::{CallerRole, CallerScope};
        crate::policy::Caller {
            user_id: self.live.user.id.clone(),
            roles: self
                .live
                .roles
                .iter()
                .map(|r| CallerRole {
                    id: r.id.clone(),
                    name: r.name.clone(),
                })
                .collect(),
            scope: match &self.live.scope {
                ResolvedScope::Unscoped => CallerScope::Unscoped,
                ResolvedScope::Project { project, domain } => CallerScope::Project {
                    id: project.id.clone(),
                    domain_id: domain.id.clone(),
                },
                ResolvedScope::Domain(d) => CallerScope::Domain(d.id.clone()),
                ResolvedScope::System => CallerScope::System,
            },
            methods: self.methods.clone(),
            restricted_application_credential: self
                .live
                .application_credential
                .as_ref()
                .map(|ac| ac.restricted),
            trust_id: self.live.trust.as_ref().map(|t| t.id.clone()),
        }
    }

    /// Tokens minted from a delegated credential: they cannot mint others.
    pub fn is_delegated(&self) -> bool {
        crate::policy::minted_by_delegation(&self.methods)
    }

    pub fn audit_id(&self) -> &str {
        self.audit_ids.first().map(String::as_str).unwrap_or("")
    }

    /// The root of this token's rescoping chain.
    pub fn chain_root(&self) -> &str {
        self.audit_ids
            .get(1)
            .or(self.audit_ids.first())
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Keystone's 404 texts for subject tokens that do not validate.
pub const FAILED_TO_VALIDATE: &str = "Failed to validate token";

fn token_not_found(message: &str) -> Error {
    Error::NotFound(message.to_string())
}

fn opened_error(e: TokenError) -> Error {
    token_not_found(&e.to_string())
}

fn now_seconds() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// Ironstone's service type, against which access rules are matched on
/// its own API (Keystone's `AuthContextMiddleware` uses the same).
pub const SERVICE_TYPE: &str = "identity";

/// A caller's own token as presented with a request, and that request's
/// method and path: a token limited by access rules may only make the
/// requests its rules name.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub token: Option<&'a str>,
    /// `X-Service-Token`: a service acting for the user.
    pub service_token: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
}
