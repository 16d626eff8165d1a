//! Authentication: turning credentials into tokens, and tokens back into
//! the identity they carry. Follows `keystone/api/_shared/authentication.py`
//! and `keystone/token/provider.py`.

pub mod guard;
pub mod request;
pub mod signed;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::assignment::{self, Role};
use crate::cache::EpochCache;
use crate::catalog::{self, UrlValues};
use crate::error::Error;
use crate::identity::{self, User};
use crate::resource::{self, Domain, Project};
use crate::revoke;
use crate::secret::Secret;
use crate::store::Conn;
use crate::token::payload::new_audit_id;
use crate::token::revoke::TokenFacts;
use crate::token::{Payload, Scope, TokenError};
use request::{AuthRequest, DomainRef, ProjectRef, ScopeRequest, UserRef};

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
    pub user: User,
    pub user_domain: Domain,
    pub scope: ResolvedScope,
    pub roles: Vec<Role>,
    /// Set for tokens minted from an application credential.
    pub application_credential: Option<AppCredInfo>,
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
        &self.user.id
    }

    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name == name)
    }

    pub fn is_system_scoped(&self) -> bool {
        matches!(self.scope, ResolvedScope::System)
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            ResolvedScope::Project { project, .. } => Some(&project.id),
            _ => None,
        }
    }

    pub fn domain_id(&self) -> Option<&str> {
        match &self.scope {
            ResolvedScope::Domain(d) => Some(&d.id),
            _ => None,
        }
    }

    /// Who is calling, as the policy rules see it.
    pub fn caller(&self) -> crate::policy::Caller {
        use crate::policy::{CallerRole, CallerScope};
        crate::policy::Caller {
            user_id: self.user.id.clone(),
            roles: self
                .roles
                .iter()
                .map(|r| CallerRole {
                    id: r.id.clone(),
                    name: r.name.clone(),
                })
                .collect(),
            scope: match &self.scope {
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
                .application_credential
                .as_ref()
                .map(|ac| ac.restricted),
        }
    }

    /// Tokens minted from a delegated credential: they cannot mint others.
    pub fn is_delegated(&self) -> bool {
        self.methods.is_empty()
            || self
                .methods
                .iter()
                .any(|m| m == "application_credential" || m == "ec2credential")
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

/// The caches of the validation path, all tagged with the database's
/// change epoch (see [`crate::cache`]).
pub struct Caches {
    pub(crate) scopes: EpochCache<ScopeFacts>,
    /// All events, or `None` when there are too many to hold.
    pub(crate) revocations: EpochCache<Option<Arc<Vec<crate::token::revoke::RevocationEvent>>>>,
    pub(crate) catalogs: EpochCache<Value>,
    /// Decrypted credentials by id, for signature verification; `None`
    /// for ids that do not exist, so unknown keys cost what known ones do.
    pub(crate) credentials: EpochCache<Option<Arc<crate::credential::Credential>>>,
    /// False with `cache.entries = 0`: every request reads the database.
    enabled: bool,
}

impl Caches {
    pub fn new(settings: &crate::config::Cache) -> Self {
        let ttl = std::time::Duration::from_secs(settings.ttl);
        Caches {
            scopes: EpochCache::new(settings.entries, ttl),
            revocations: EpochCache::new(settings.entries.min(1), ttl),
            catalogs: EpochCache::new(settings.entries, ttl),
            credentials: EpochCache::new(settings.entries, ttl),
            enabled: settings.entries > 0,
        }
    }
}

/// What a token's user and scope resolve to now: everything validation
/// needs from the database except revocation. Cached per change epoch,
/// keyed by [`scope_key`].
#[derive(Debug, Clone)]
pub(crate) struct ScopeFacts {
    user: User,
    user_domain: Domain,
    scope: ResolvedScope,
    roles: Vec<Role>,
    app_cred: Option<AppCredInfo>,
    app_cred_expires_at: Option<i64>,
}

/// The cache key of a payload's user and scope; `None` for scopes this
/// service does not validate.
fn scope_key(user_id: &str, scope: &Scope) -> Option<String> {
    Some(match scope {
        Scope::Unscoped => format!("{user_id} u"),
        Scope::Project { project_id } => format!("{user_id} p {project_id}"),
        Scope::Domain { domain_id } => format!("{user_id} d {domain_id}"),
        Scope::System => format!("{user_id} s"),
        Scope::ApplicationCredential {
            project_id,
            app_cred_id,
        } => format!("{user_id} a {project_id} {app_cred_id}"),
        _ => return None,
    })
}

/// Loads the live objects behind a payload's user and scope and applies
/// Keystone's checks on them: enabled user, domains and project, and a
/// non-empty role list for scoped tokens.
fn live_scope(conn: &mut Conn, user_id: &str, payload_scope: &Scope) -> Result<ScopeFacts, Error> {
    let invalid = || token_not_found(FAILED_TO_VALIDATE);
    let user = identity::get_user(conn, user_id)?.ok_or_else(invalid)?;
    if !user.enabled {
        return Err(invalid());
    }
    let user_domain = resource::get_domain(conn, &user.domain_id)?.ok_or_else(invalid)?;
    if !user_domain.enabled {
        return Err(invalid());
    }
    let mut app_cred = None;
    let mut app_cred_expires_at = None;
    let (scope, roles) = match payload_scope {
        Scope::Unscoped => (ResolvedScope::Unscoped, Vec::new()),
        Scope::Project { project_id } => {
            let (project, domain) = live_project(conn, project_id)?.ok_or_else(invalid)?;
            let roles = assignment::effective_project_roles(conn, &user.id, &project)?;
            (ResolvedScope::Project { project, domain }, roles)
        }
        Scope::Domain { domain_id } => {
            let domain = resource::get_domain(conn, domain_id)?
                .filter(|d| d.enabled)
                .ok_or_else(invalid)?;
            let roles = assignment::effective_domain_roles(conn, &user.id, &domain.id)?;
            (ResolvedScope::Domain(domain), roles)
        }
        Scope::System => (
            ResolvedScope::System,
            assignment::effective_system_roles(conn, &user.id)?,
        ),
        Scope::ApplicationCredential {
            project_id,
            app_cred_id,
        } => {
            let ac = crate::application_credential::get(conn, app_cred_id)?
                .ok_or_else(|| crate::application_credential::not_found(app_cred_id))?;
            if ac.user_id != user.id || &ac.project_id != project_id {
                return Err(invalid());
            }
            let (project, domain) = live_project(conn, project_id)?.ok_or_else(invalid)?;
            // The credential's roles that the user still holds.
            let held = assignment::effective_project_roles(conn, &user.id, &project)?;
            let roles: Vec<Role> = held
                .into_iter()
                .filter(|r| ac.roles.iter().any(|a| a.id == r.id))
                .collect();
            app_cred_expires_at = ac.expires_at;
            app_cred = Some(AppCredInfo {
                id: ac.id,
                name: ac.name,
                restricted: !ac.unrestricted,
                access_rules: ac.access_rules,
            });
            (ResolvedScope::Project { project, domain }, roles)
        }
        // Trusts, federation and OAuth are not issued by this service;
        // their tokens do not validate here.
        _ => return Err(invalid()),
    };
    if !matches!(scope, ResolvedScope::Unscoped) && roles.is_empty() {
        return Err(invalid());
    }
    Ok(ScopeFacts {
        user,
        user_domain,
        scope,
        roles,
        app_cred,
        app_cred_expires_at,
    })
}

/// The revocation facts of a token with the given live scope.
fn token_facts<'a>(
    facts: &'a ScopeFacts,
    payload: &'a Payload,
    issued_at: i64,
    role_ids: &'a [String],
) -> TokenFacts<'a> {
    let (project_id, assignment_domain_id) = match &facts.scope {
        ResolvedScope::Project { project, .. } => {
            (Some(project.id.as_str()), Some(project.domain_id.as_str()))
        }
        ResolvedScope::Domain(d) => (None, Some(d.id.as_str())),
        _ => (None, None),
    };
    TokenFacts {
        user_id: &facts.user.id,
        identity_domain_id: Some(&facts.user.domain_id),
        project_id,
        assignment_domain_id,
        issued_at,
        expires_at: payload.expires_at as i64,
        audit_id: payload.audit_ids.first().map(String::as_str).unwrap_or(""),
        parent_audit_id: payload.audit_ids.get(1).map(String::as_str),
        role_ids,
        ..Default::default()
    }
}

/// Where the revocation events come from: all of them from the cache, or a
/// targeted query on a connection.
enum Revocations<'a> {
    Cached(&'a [crate::token::revoke::RevocationEvent]),
    Query(&'a mut Conn),
}

/// Applies the token-specific checks (application-credential expiry and
/// revocation) to a live scope and builds the context.
fn finish_context(
    facts: ScopeFacts,
    token: Secret,
    payload: Payload,
    issued_at: i64,
    method_names: Vec<String>,
    revocations: Revocations<'_>,
) -> Result<TokenContext, Error> {
    let invalid = || token_not_found(FAILED_TO_VALIDATE);
    if facts
        .app_cred_expires_at
        .is_some_and(|t| crate::store::now_micros() >= t)
    {
        return Err(invalid());
    }
    let role_ids: Vec<String> = facts.roles.iter().map(|r| r.id.clone()).collect();
    let token_facts = token_facts(&facts, &payload, issued_at, &role_ids);
    let revoked = match revocations {
        Revocations::Cached(events) => events.iter().any(|e| e.revokes(&token_facts)),
        Revocations::Query(conn) => revoke::is_revoked(conn, &token_facts)?,
    };
    if revoked {
        return Err(invalid());
    }
    Ok(TokenContext {
        token,
        issued_at,
        expires_at: payload.expires_at,
        audit_ids: payload.audit_ids,
        methods: method_names,
        user: facts.user,
        user_domain: facts.user_domain,
        scope: facts.scope,
        roles: facts.roles,
        application_credential: facts.app_cred,
    })
}

/// Loads the live objects behind a decoded payload and applies every check
/// Keystone applies on validation, on a connection (no caches).
pub(crate) fn load_context(
    conn: &mut Conn,
    token: Secret,
    payload: Payload,
    issued_at: i64,
    method_names: Vec<String>,
) -> Result<TokenContext, Error> {
    let facts = live_scope(conn, &payload.user_id, &payload.scope)?;
    finish_context(
        facts,
        token,
        payload,
        issued_at,
        method_names,
        Revocations::Query(conn),
    )
}

/// The context of a decoded payload: from the caches when the change
/// epoch allows, otherwise in one database hop that fills them.
pub(crate) async fn context_for(
    state: &Auth,
    token: Secret,
    payload: Payload,
    issued_at: i64,
    method_names: Vec<String>,
) -> Result<TokenContext, Error> {
    let caches = &state.caches;
    let epoch = state.db.changes().epoch();
    let key = scope_key(&payload.user_id, &payload.scope);
    let (Some(epoch), Some(key), true) = (epoch, key, caches.enabled) else {
        return state
            .db
            .read(move |conn| load_context(conn, token, payload, issued_at, method_names))
            .await;
    };
    let (facts, events) = match (
        caches.scopes.get(&key, epoch),
        caches.revocations.get("", epoch),
    ) {
        (Some(facts), Some(events)) => (facts, events),
        (_, known) => {
            let user_id = payload.user_id.clone();
            let scope = payload.scope.clone();
            let (facts, events) = state
                .db
                .read(move |conn| {
                    let events = match known {
                        Some(events) => events,
                        None => revoke::load_all(conn, REVOCATION_CACHE_LIMIT)?.map(Arc::new),
                    };
                    Ok((live_scope(conn, &user_id, &scope), events))
                })
                .await?;
            caches
                .revocations
                .insert(String::new(), epoch, events.clone());
            let facts = facts?;
            caches.scopes.insert(key, epoch, facts.clone());
            (facts, events)
        }
    };
    match events {
        Some(events) => finish_context(
            facts,
            token,
            payload,
            issued_at,
            method_names,
            Revocations::Cached(&events),
        ),
        // Too many events to hold: ask the database for this token's.
        None => {
            state
                .db
                .read(move |conn| {
                    finish_context(
                        facts,
                        token,
                        payload,
                        issued_at,
                        method_names,
                        Revocations::Query(conn),
                    )
                })
                .await
        }
    }
}

/// Past this many revocation events, they are queried per token instead of
/// held in memory.
const REVOCATION_CACHE_LIMIT: i64 = 10_000;

/// An enabled project in an enabled domain.
fn live_project(conn: &mut Conn, project_id: &str) -> Result<Option<(Project, Domain)>, Error> {
    let Some(project) = resource::get_project(conn, project_id)? else {
        return Ok(None);
    };
    if !project.enabled {
        return Ok(None);
    }
    match resource::get_domain(conn, &project.domain_id)? {
        Some(domain) if domain.enabled => Ok(Some((project, domain))),
        _ => Ok(None),
    }
}

/// Validates a token. Every failure is Keystone's 404 with its message;
/// callers validating their *own* token turn that into a 401.
pub async fn validate(
    state: &Auth,
    token: &str,
    allow_expired: bool,
) -> Result<TokenContext, Error> {
    let (payload, issued_at) = state.tokens.open(token).map_err(opened_error)?;
    let window = if allow_expired {
        state.config.token.allow_expired_window as f64
    } else {
        0.0
    };
    if now_seconds() >= payload.expires_at + window {
        return Err(token_not_found(FAILED_TO_VALIDATE));
    }
    let methods = state.tokens.methods().decode(payload.methods);
    let token = Secret::new(token.trim());
    context_for(state, token, payload, issued_at, methods).await
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

/// Validates the caller's own `X-Auth-Token` for the request it came with:
/// any failure, including a request its access rules do not allow, is a
/// 401 (as keystonemiddleware answers on Keystone's own API).
pub async fn authenticate_caller(
    state: &Auth,
    presented: Presented<'_>,
) -> Result<TokenContext, Error> {
    let Some(token) = presented.token.filter(|t| !t.trim().is_empty()) else {
        return Err(Error::unauthorized());
    };
    let context = validate(state, token, false).await.map_err(|e| match e {
        Error::NotFound(_) => Error::unauthorized(),
        other => other,
    })?;
    if !allowed_by_access_rules(state, &context, &presented).await? {
        return Err(Error::unauthorized());
    }
    Ok(context)
}

/// keystonemiddleware's `validate_allowed_request`, as Keystone's own API
/// applies it to a caller limited by access rules: validating a token
/// (`GET …/v3/auth/tokens`) is always allowed; otherwise the identity
/// service must be in the token's catalog and a rule must name this
/// service type, method and path. A service acting for the user
/// (`X-Service-Token`) lifts the rules, as there, but only with a token
/// that validates and holds the `service` role: Keystone 30 lifts them for
/// any `X-Service-Token` at all, even one that does not validate.
async fn allowed_by_access_rules(
    state: &Auth,
    context: &TokenContext,
    presented: &Presented<'_>,
) -> Result<bool, Error> {
    let Some(rules) = context
        .application_credential
        .as_ref()
        .map(|ac| &ac.access_rules)
        .filter(|rules| !rules.is_empty())
    else {
        return Ok(true);
    };
    if presented.method == "GET" && presented.path.ends_with("/v3/auth/tokens") {
        return Ok(true);
    }
    let catalog = catalog_for(state, context).await?;
    let in_catalog = catalog
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|services| services.iter().any(|s| s["type"] == SERVICE_TYPE));
    if !in_catalog {
        return Ok(false);
    }
    if let Some(service_token) = presented.service_token.filter(|t| !t.trim().is_empty()) {
        if let Ok(service) = validate(state, service_token, false).await {
            if service.has_role("service") {
                return Ok(true);
            }
        }
    }
    Ok(crate::application_credential::rules_allow(
        rules,
        SERVICE_TYPE,
        presented.method,
        presented.path,
    ))
}

fn resolve_domain(conn: &mut Conn, domain: &DomainRef) -> Result<Option<Domain>, Error> {
    match domain {
        DomainRef::Id(id) => resource::get_domain(conn, id),
        DomainRef::Name(name) => resource::find_domain_by_name(conn, name),
    }
}

/// The user a password request names, with its current hash; `None` when
/// the user, or its domain, does not exist.
fn find_password_user(
    conn: &mut Conn,
    user: &UserRef,
) -> Result<Option<(User, Option<String>)>, Error> {
    let found = match user {
        UserRef::Id(id) => identity::get_user(conn, id)?,
        UserRef::Name { name, domain } => match resolve_domain(conn, domain)? {
            Some(d) => identity::find_user_by_name(conn, &d.id, name)?,
            None => None,
        },
    };
    let Some(found) = found else {
        return Ok(None);
    };
    let hash = identity::current_password(conn, &found.id)?.map(|p| p.password_hash);
    Ok(Some((found, hash)))
}

/// The scope a new token gets, resolved against live objects. Anything
/// missing or disabled is the generic 401.
fn resolve_scope(
    conn: &mut Conn,
    user: &User,
    scope: &ScopeRequest,
) -> Result<(ResolvedScope, Vec<Role>), Error> {
    let scoped = |roles: Vec<Role>, scope: ResolvedScope| {
        if roles.is_empty() {
            Err(Error::unauthorized())
        } else {
            Ok((scope, roles))
        }
    };
    match scope {
        ScopeRequest::Unscoped => Ok((ResolvedScope::Unscoped, Vec::new())),
        ScopeRequest::Default => {
            let Some(default_project) = &user.default_project_id else {
                return Ok((ResolvedScope::Unscoped, Vec::new()));
            };
            if let Some((project, domain)) = live_project(conn, default_project)? {
                let roles = assignment::effective_project_roles(conn, &user.id, &project)?;
                if !roles.is_empty() {
                    return Ok((ResolvedScope::Project { project, domain }, roles));
                }
            }
            Ok((ResolvedScope::Unscoped, Vec::new()))
        }
        ScopeRequest::Project(project_ref) => {
            let project_id = match project_ref {
                ProjectRef::Id(id) => Some(id.clone()),
                ProjectRef::Name { name, domain } => match resolve_domain(conn, domain)? {
                    Some(d) if d.enabled => {
                        resource::find_project_by_name(conn, &d.id, name)?.map(|p| p.id)
                    }
                    _ => None,
                },
            };
            let Some((project, domain)) = project_id
                .map(|id| live_project(conn, &id))
                .transpose()?
                .flatten()
            else {
                return Err(Error::unauthorized());
            };
            let roles = assignment::effective_project_roles(conn, &user.id, &project)?;
            scoped(roles, ResolvedScope::Project { project, domain })
        }
        ScopeRequest::Domain(domain_ref) => {
            let Some(domain) = resolve_domain(conn, domain_ref)?.filter(|d| d.enabled) else {
                return Err(Error::unauthorized());
            };
            let roles = assignment::effective_domain_roles(conn, &user.id, &domain.id)?;
            scoped(roles, ResolvedScope::Domain(domain))
        }
        ScopeRequest::System => {
            let roles = assignment::effective_system_roles(conn, &user.id)?;
            scoped(roles, ResolvedScope::System)
        }
        ScopeRequest::Trust(id) => Err(Error::NotFound(format!("Could not find trust: {id}."))),
    }
}

/// What the identity methods established, before scoping.
struct Authenticated {
    user_id: String,
    /// Inherited from a rescoped token; otherwise now + expiration.
    expires_at: Option<f64>,
    parent_audit_id: Option<String>,
    method_bits: u64,
    /// `(credential id, project id)` when an application credential authenticated.
    app_cred: Option<(String, String)>,
}

/// `POST /v3/auth/tokens`: runs the methods, resolves the scope and issues.
/// Returns the token string and its context.
pub async fn issue_token(
    state: &Auth,
    request: AuthRequest,
) -> Result<(String, TokenContext), Error> {
    let methods = state.tokens.methods();
    let mut authenticated: Option<Authenticated> = None;
    let mut merge = |next: Authenticated| -> Result<(), Error> {
        match &mut authenticated {
            None => authenticated = Some(next),
            Some(current) => {
                if current.user_id != next.user_id {
                    return Err(Error::unauthorized());
                }
                current.method_bits |= next.method_bits;
                current.expires_at = match (current.expires_at, next.expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                current.parent_audit_id = current.parent_audit_id.take().or(next.parent_audit_id);
                current.app_cred = current.app_cred.take().or(next.app_cred);
            }
        }
        Ok(())
    };

    for method in &request.methods {
        match method.as_str() {
            "password" => {
                let creds = request
                    .password
                    .as_ref()
                    .ok_or_else(|| Error::expecting("password", "identity"))?;
                let user = creds.user.clone();
                let found = state
                    .db
                    .read(move |conn| find_password_user(conn, &user))
                    .await?;
                let password = creds
                    .password
                    .clone()
                    .unwrap_or_else(|| Secret::new(""))
                    .into_zeroizing();
                // Always hash, even for an unknown or disabled user, so
                // every failure looks and takes the same.
                let stored = found.as_ref().and_then(|(_, h)| h.clone());
                let matched = state.hasher.verify(password, stored).await?;
                let Some((user, _)) = found else {
                    return Err(Error::unauthorized());
                };
                if !matched || creds.password.is_none() || !user.enabled {
                    return Err(Error::unauthorized());
                }
                if user
                    .password_expires_at
                    .is_some_and(|t| t <= crate::store::now_micros())
                {
                    return Err(Error::unauthorized());
                }
                merge(Authenticated {
                    user_id: user.id,
                    expires_at: None,
                    parent_audit_id: None,
                    method_bits: methods.encode(&["password"]),
                    app_cred: None,
                })?;
            }
            "token" => {
                let token = request
                    .token
                    .as_ref()
                    .ok_or_else(|| Error::expecting("token", "identity"))?;
                let original = validate(state, token.expose(), false).await?;
                check_rescope(state, &original, &request.scope)?;
                let original_bits = methods.encode(&original.methods);
                merge(Authenticated {
                    user_id: original.user.id.clone(),
                    expires_at: Some(original.expires_at),
                    parent_audit_id: Some(original.chain_root().to_string()),
                    method_bits: original_bits | methods.encode(&["token"]),
                    app_cred: None,
                })?;
            }
            "application_credential" => {
                let creds = request
                    .application_credential
                    .as_ref()
                    .ok_or_else(|| Error::expecting("application_credential", "identity"))?;
                if !matches!(request.scope, ScopeRequest::Default) {
                    return Err(Error::Unauthorized {
                        message: Some("Error authenticating with application credential: Application credentials cannot request a scope.".into()),
                        identity: Some(json!({})),
                    });
                }
                let (id, name, user) = (creds.id.clone(), creds.name.clone(), creds.user.clone());
                let found = state
                    .db
                    .read(move |conn| {
                        // An unknown id is the same 401 as a wrong secret,
                        // after the same (dummy) hash.
                        let ac = match (&id, &name, &user) {
                            (Some(id), _, _) => crate::application_credential::get(conn, id)?,
                            (None, Some(name), Some(user)) => match find_password_user(conn, user)?
                            {
                                Some((u, _)) => {
                                    crate::application_credential::find_by_name(conn, &u.id, name)?
                                }
                                None => None,
                            },
                            _ => None,
                        };
                        let owner = match &ac {
                            Some(ac) => identity::get_user(conn, &ac.user_id)?,
                            None => None,
                        };
                        Ok((ac, owner))
                    })
                    .await?;
                let (ac, owner) = found;
                let matched = state
                    .hasher
                    .verify(
                        creds.secret.clone().into_zeroizing(),
                        ac.as_ref().map(|a| a.secret_hash.clone()),
                    )
                    .await?;
                let (Some(ac), Some(owner)) = (ac, owner) else {
                    return Err(Error::unauthorized());
                };
                if !matched || !owner.enabled || ac.is_expired(crate::store::now_micros()) {
                    return Err(Error::unauthorized());
                }
                merge(Authenticated {
                    user_id: owner.id,
                    expires_at: ac.expires_at.map(|t| (t / 1_000_000) as f64),
                    parent_audit_id: None,
                    method_bits: methods.encode(&["application_credential"]),
                    app_cred: Some((ac.id, ac.project_id)),
                })?;
            }
            // external needs REMOTE_USER; ec2credential is never valid here;
            // the rest are not implemented: all fail like a bad credential.
            _ => return Err(Error::unauthorized()),
        }
    }
    let Some(auth) = authenticated else {
        return Err(Error::unauthorized());
    };

    let expiration = state.config.token.expiration as f64;
    let default_expiry = (now_seconds() + expiration).floor();
    let expires_at = match (auth.expires_at, &auth.app_cred) {
        // An application credential's expiry caps the token's.
        (Some(cap), Some(_)) => cap.min(default_expiry),
        (Some(inherited), None) => inherited,
        (None, _) => default_expiry,
    };
    let audit_ids = match auth.parent_audit_id {
        Some(parent) => vec![new_audit_id(), parent],
        None => vec![new_audit_id()],
    };
    let scope_request = request.scope;
    let user_id = auth.user_id;
    let (user, scope, _) = state
        .db
        .read(move |conn| {
            let user = identity::get_user(conn, &user_id)?.ok_or_else(Error::unauthorized)?;
            let (scope, roles) = resolve_scope(conn, &user, &scope_request)?;
            Ok((user, scope, roles))
        })
        .await?;
    let payload_scope = match (&auth.app_cred, &scope) {
        (Some((app_cred_id, project_id)), _) => Scope::ApplicationCredential {
            project_id: project_id.clone(),
            app_cred_id: app_cred_id.clone(),
        },
        (None, scope) => match scope {
            ResolvedScope::Unscoped => Scope::Unscoped,
            ResolvedScope::Project { project, .. } => Scope::Project {
                project_id: project.id.clone(),
            },
            ResolvedScope::Domain(d) => Scope::Domain {
                domain_id: d.id.clone(),
            },
            ResolvedScope::System => Scope::System,
        },
    };
    let payload = Payload {
        user_id: user.id.clone(),
        methods: auth.method_bits,
        scope: payload_scope,
        expires_at,
        audit_ids,
    };
    let (token, issued_at) = state.tokens.issue(&payload)?;
    let method_names = methods.decode(payload.methods);
    let token_secret = Secret::new(token.clone());
    // Re-load through the validation path so that what we answer is
    // exactly what a later validation will answer.
    let context = context_for(state, token_secret, payload, issued_at, method_names)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::unauthorized(),
            other => other,
        })?;
    Ok((token, context))
}

/// Keystone's rules for the token method (`keystone/auth/plugins/token.py`).
fn check_rescope(state: &Auth, original: &TokenContext, scope: &ScopeRequest) -> Result<(), Error> {
    if original.is_delegated() {
        return Err(Error::forbidden_action(
            "Using a delegated token to create another token is not allowed",
        ));
    }
    let asks_for_scope = matches!(scope, ScopeRequest::Project(_) | ScopeRequest::Domain(_));
    if original.is_system_scoped() && asks_for_scope {
        return Err(Error::forbidden_action("rescope a system-scoped token"));
    }
    let already_scoped = matches!(
        original.scope,
        ResolvedScope::Project { .. } | ResolvedScope::Domain(_)
    );
    if already_scoped && !state.config.token.allow_rescope_scoped_token {
        return Err(Error::forbidden_action("rescope a scoped token"));
    }
    Ok(())
}

/// The catalog for a token's scope, or `None` for unscoped tokens (which
/// carry no catalog in Keystone).
pub async fn catalog_for(state: &Auth, context: &TokenContext) -> Result<Option<Value>, Error> {
    if matches!(context.scope, ResolvedScope::Unscoped) {
        return Ok(None);
    }
    let project_id = context.project_id().map(str::to_string);
    let user_id = context.user.id.clone();
    // The catalog depends on the ids its URL templates may name.
    let key = format!("{user_id} {}", project_id.as_deref().unwrap_or(""));
    let epoch = state.db.changes().epoch();
    if let Some(catalog) = epoch.and_then(|e| state.caches.catalogs.get(&key, e)) {
        return Ok(Some(catalog));
    }
    let catalog = state
        .db
        .read(move |conn| {
            let values = UrlValues {
                project_id: project_id.as_deref(),
                user_id: Some(&user_id),
            };
            catalog::store::token_catalog(conn, &values)
        })
        .await?;
    if let Some(epoch) = epoch {
        state.caches.catalogs.insert(key, epoch, catalog.clone());
    }
    Ok(Some(catalog))
}
