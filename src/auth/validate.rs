//! Validation: a token back into the identity it carries, with every check
//! Keystone applies (live user, domains, project and roles; revocation;
//! application-credential expiry and access rules), through the caches
//! tagged with the change epoch.

use std::sync::Arc;

use serde_json::Value;

use crate::assignment::{self, Role};
use crate::cache::EpochCache;
use crate::catalog::{self, UrlValues};
use crate::error::Error;
use crate::identity::{self, User};
use crate::resource;
use crate::revoke;
use crate::secret::Secret;
use crate::store::Conn;
use crate::token::revoke::TokenFacts;
use crate::token::{Payload, Scope};
use crate::trust;

use super::scope::live_project;
use super::{
    now_seconds, opened_error, token_not_found, AppCredInfo, Auth, LiveScope, Presented,
    ResolvedScope, TokenContext, TrustInfo, FAILED_TO_VALIDATE, SERVICE_TYPE,
};

/// The caches of the validation path, all tagged with the database's
/// change epoch (see [`crate::cache`]).
pub struct Caches {
    pub(crate) scopes: EpochCache<Arc<LiveScope>>,
    /// All events, or `None` when there are too many to hold.
    pub(crate) revocations: EpochCache<Option<Arc<revoke::HeldEvents>>>,
    /// The events last loaded, whatever their epoch: a change loads only
    /// what was recorded since ([`revoke::refresh`]).
    last_revocations: std::sync::Mutex<Option<Arc<revoke::HeldEvents>>>,
    /// Held while the events are refreshed ([`held_revocations`]).
    refreshing: tokio::sync::Mutex<()>,
    pub(crate) catalogs: EpochCache<Arc<Catalog>>,
    /// Tokens validated in this epoch, by the token string: a service
    /// validates the same tokens again and again, and a hit costs a map
    /// lookup instead of a decryption and the checks behind it.
    tokens: EpochCache<Arc<ValidToken>>,
    /// Decrypted credentials by id, for signature verification; ids that
    /// do not exist too, so unknown keys cost what known ones do.
    pub(crate) credentials: EpochCache<Arc<super::signed::Pair>>,
    /// False with `cache.entries = 0`: every request reads the database.
    enabled: bool,
}

impl Caches {
    /// Each cache's (hits, misses) since start, by name.
    pub fn counts(&self) -> [(&'static str, (u64, u64)); 5] {
        [
            ("tokens", self.tokens.counts()),
            ("scopes", self.scopes.counts()),
            ("revocations", self.revocations.counts()),
            ("catalogs", self.catalogs.counts()),
            ("credentials", self.credentials.counts()),
        ]
    }

    pub fn new(settings: &crate::config::Cache) -> Self {
        let ttl = std::time::Duration::from_secs(settings.ttl);
        Caches {
            scopes: EpochCache::new(settings.entries, ttl),
            revocations: EpochCache::new(settings.entries.min(1), ttl),
            last_revocations: std::sync::Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            catalogs: EpochCache::new(settings.entries, ttl),
            tokens: EpochCache::new(settings.entries.min(settings.token_entries), ttl),
            credentials: EpochCache::new(settings.entries, ttl),
            enabled: settings.entries > 0,
        }
    }
}

/// A token catalog, with its JSON text made once: every answer that
/// carries it copies the text instead of serialising the tree again.
#[derive(Debug)]
pub struct Catalog {
    pub value: Value,
    pub json: bytes::Bytes,
}

impl Catalog {
    pub(crate) fn new(value: Value) -> Result<Self, Error> {
        let json = serde_json::to_vec(&value)
            .map_err(|e| Error::Internal(format!("cannot render a catalog: {e}")))?;
        Ok(Catalog {
            value,
            json: json.into(),
        })
    }
}

/// A validated token as the token cache holds it.
#[derive(Debug)]
pub struct ValidToken {
    pub context: TokenContext,
    /// The key set it was opened with ([`crate::token::TokenProvider::key_generation`]).
    key_generation: u64,
    /// Its application credential's expiry (microseconds), checked on
    /// every use as on a fresh validation.
    app_cred_expires_at: Option<i64>,
    /// The caller it makes, as the policy rules see it.
    caller: std::sync::OnceLock<crate::policy::Caller>,
    /// The token body as the API rendered it (without the catalog), kept
    /// so that a token validated again in this epoch renders once.
    pub rendered: std::sync::OnceLock<bytes::Bytes>,
}

impl ValidToken {
    /// Made once per cached token; borrowed, not copied, per request.
    pub fn caller(&self) -> &crate::policy::Caller {
        self.caller.get_or_init(|| self.context.caller())
    }
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
        Scope::Trust {
            project_id,
            trust_id,
        } => format!("{user_id} t {project_id} {trust_id}"),
        Scope::OAuth {
            project_id,
            access_token_id,
        } => format!("{user_id} o {project_id} {access_token_id}"),
        _ => return None,
    })
}

/// Loads the live objects behind a payload's user and scope and applies
/// Keystone's checks on them: enabled user, domains and project, and a
/// non-empty role list for scoped tokens.
fn live_scope(
    conn: &mut Conn,
    user_id: &str,
    payload_scope: &Scope,
    max_redelegation: i32,
) -> Result<LiveScope, Error> {
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
    let mut trust = None;
    let mut oauth = None;
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
        Scope::Trust {
            project_id,
            trust_id,
        } => {
            let (info, roles) = live_trust(conn, &user, project_id, trust_id, max_redelegation)?;
            let (project, domain) = live_project(conn, project_id)?.ok_or_else(invalid)?;
            trust = Some(info);
            (ResolvedScope::Project { project, domain }, roles)
        }
        Scope::OAuth {
            project_id,
            access_token_id,
        } => {
            // The access token must still be there (deleting it or its
            // consumer ends its tokens) and lend its user's roles on its
            // project; the roles are those it lends, with the ones they
            // imply, that the user still holds (Keystone's
            // `_get_oauth_roles`).
            let delegation = crate::oauth1::OAuth1::delegation(conn, access_token_id)?
                .filter(|d| d.user_id == user.id && &d.project_id == project_id)
                .ok_or_else(invalid)?;
            let (project, domain) = live_project(conn, project_id)?.ok_or_else(invalid)?;
            let lent = assignment::expand_implied(conn, delegation.role_ids.into_iter().collect())?;
            let roles: Vec<Role> = assignment::effective_project_roles(conn, &user.id, &project)?
                .into_iter()
                .filter(|r| lent.contains(&r.id))
                .collect();
            oauth = Some(super::OAuthInfo {
                access_token_id: delegation.access_token_id,
                consumer_id: delegation.consumer_id,
            });
            (ResolvedScope::Project { project, domain }, roles)
        }
        // Federation is not issued by this service; its tokens do not
        // validate here.
        _ => return Err(invalid()),
    };
    if !matches!(scope, ResolvedScope::Unscoped) && roles.is_empty() {
        return Err(invalid());
    }
    Ok(LiveScope {
        user,
        user_domain,
        scope,
        role_ids: roles.iter().map(|r| r.id.clone()).collect(),
        roles,
        application_credential: app_cred,
        app_cred_expires_at,
        trust,
        oauth,
        rendered: std::sync::OnceLock::new(),
    })
}

/// The trust behind a trust-scoped token, checked as Keystone validates
/// one: usable (404 otherwise, as a deleted or used-up trust's token),
/// its chain valid, the token's user its trustee, the trustor and both
/// domains enabled, and every delegated role still held by the trustor.
/// As in Keystone's `TokenModel.mint`, a disabled trustor or a lost role
/// is a 403, not a 404.
pub(crate) fn live_trust(
    conn: &mut Conn,
    trustee: &User,
    project_id: &str,
    trust_id: &str,
    max_redelegation: i32,
) -> Result<(TrustInfo, Vec<Role>), Error> {
    let invalid = || token_not_found(FAILED_TO_VALIDATE);
    let quiet = |e: Error| match e {
        Error::NotFound(_) => invalid(),
        other => other,
    };
    let found = trust::get_checked(conn, trust_id, max_redelegation).map_err(quiet)?;
    if found.project_id.as_deref() != Some(project_id) {
        return Err(invalid());
    }
    if found.trustee_user_id != trustee.id {
        return Err(Error::Forbidden("User is not a trustee.".into()));
    }
    let trustor = identity::get_user(conn, &found.trustor_user_id)?.ok_or_else(invalid)?;
    let trustor_domain = resource::get_domain(conn, &trustor.domain_id)?
        .filter(|d| d.enabled)
        .ok_or_else(invalid)?;
    if !trustor.enabled {
        return Err(Error::Forbidden("Trustor is disabled.".into()));
    }
    let roles = trust::delegated_roles(conn, &found).map_err(quiet)?;
    let info = TrustInfo {
        id: found.id,
        impersonation: found.impersonation,
        trustee_user_id: found.trustee_user_id,
        trustor,
        trustor_domain,
    };
    Ok((info, roles))
}

/// The revocation facts of a token with the given live scope.
fn token_facts<'a>(facts: &'a LiveScope, payload: &'a Payload, issued_at: i64) -> TokenFacts<'a> {
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
        role_ids: &facts.role_ids,
        trust_id: facts.trust.as_ref().map(|t| t.id.as_str()),
        trustor_id: facts.trust.as_ref().map(|t| t.trustor.id.as_str()),
        trustee_id: facts.trust.as_ref().map(|t| t.trustee_user_id.as_str()),
        access_token_id: facts.oauth.as_ref().map(|o| o.access_token_id.as_str()),
        ..Default::default()
    }
}

/// Where the revocation events come from: all of them from the cache, or a
/// targeted query on a connection.
enum Revocations<'a> {
    Cached(&'a revoke::HeldEvents),
    Query(&'a mut Conn),
}

/// Applies the token-specific checks (application-credential expiry and
/// revocation) to a live scope and builds the context.
fn finish_context(
    facts: Arc<LiveScope>,
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
    let token_facts = token_facts(&facts, &payload, issued_at);
    let revoked = match revocations {
        Revocations::Cached(events) => events.revokes(&token_facts),
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
        live: facts,
    })
}

/// Loads the live objects behind a decoded payload and applies every check
/// Keystone applies on validation, on a connection (no caches). With the
/// context, the expiry of its application credential (microseconds).
fn load_context(
    conn: &mut Conn,
    token: Secret,
    payload: Payload,
    issued_at: i64,
    method_names: Vec<String>,
    max_redelegation: i32,
) -> Result<(TokenContext, Option<i64>), Error> {
    let facts = Arc::new(live_scope(
        conn,
        &payload.user_id,
        &payload.scope,
        max_redelegation,
    )?);
    let expiry = facts.app_cred_expires_at;
    let context = finish_context(
        facts,
        token,
        payload,
        issued_at,
        method_names,
        Revocations::Query(conn),
    )?;
    Ok((context, expiry))
}

/// The context of a decoded payload, from the caches when the change
/// epoch allows, otherwise from database hops that fill them; with the
/// expiry of the token's application credential (microseconds), which a
/// cached validation checks again on each use.
async fn context_and_expiry(
    state: &Auth,
    token: Secret,
    payload: Payload,
    issued_at: i64,
    method_names: Vec<String>,
) -> Result<(TokenContext, Option<i64>), Error> {
    let caches = &state.caches;
    let max_redelegation = state.config.trust.max_redelegation_count;
    let epoch = state.db.changes().epoch();
    let key = scope_key(&payload.user_id, &payload.scope);
    let (Some(epoch), Some(key), true) = (epoch, key, caches.enabled) else {
        return state
            .db
            .read(move |conn| {
                load_context(
                    conn,
                    token,
                    payload,
                    issued_at,
                    method_names,
                    max_redelegation,
                )
            })
            .await;
    };
    let events = match caches.revocations.get("", epoch) {
        Some(events) => events,
        // Boxed: taken once per change, and its lock's future is long.
        None => Box::pin(held_revocations(state, epoch)).await?,
    };
    let facts = match caches.scopes.get(&key, epoch) {
        Some(facts) => facts,
        None => {
            let user_id = payload.user_id.clone();
            let scope = payload.scope.clone();
            let facts = state
                .db
                .read(move |conn| live_scope(conn, &user_id, &scope, max_redelegation))
                .await
                .map(Arc::new)?;
            caches.scopes.insert(key, epoch, Arc::clone(&facts));
            facts
        }
    };
    let expiry = facts.app_cred_expires_at;
    let context = match events {
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
    }?;
    Ok((context, expiry))
}

/// The revocation events as of `epoch`, brought up to date by one request
/// at a time: after a change every request in flight misses at once, and
/// each refreshing on its own multiplied the work and, with copies of the
/// events being merged side by side, the memory (the soak's RSS peaks).
/// The others wait and find the result in the cache.
async fn held_revocations(
    state: &Auth,
    epoch: u64,
) -> Result<Option<Arc<revoke::HeldEvents>>, Error> {
    let caches = &state.caches;
    let _one_at_a_time = caches.refreshing.lock().await;
    if let Some(events) = caches.revocations.get("", epoch) {
        return Ok(events);
    }
    let last = caches
        .last_revocations
        .lock()
        .ok()
        .and_then(|last| last.clone());
    let events = state
        .db
        .read(move |conn| {
            Ok(revoke::refresh(conn, last.as_deref(), REVOCATION_CACHE_LIMIT)?.map(Arc::new))
        })
        .await?;
    if let Ok(mut last) = caches.last_revocations.lock() {
        last.clone_from(&events);
    }
    caches
        .revocations
        .insert(String::new(), epoch, events.clone());
    Ok(events)
}

/// Past this many revocation events, they are queried per token instead of
/// held in memory.
const REVOCATION_CACHE_LIMIT: i64 = 10_000;

/// Validates a token. Every failure is Keystone's 404 with its message;
/// callers validating their *own* token turn that into a 401.
pub async fn validate(
    state: &Auth,
    token: &str,
    allow_expired: bool,
) -> Result<TokenContext, Error> {
    Ok(validate_shared(state, token, allow_expired)
        .await?
        .context
        .clone())
}

/// [`validate`], answered from the token cache when the token was
/// validated in this change epoch with this key set: the checks that
/// depend on the clock (expiry, the application credential's expiry)
/// are made again on every use; every other check depends only on what
/// the epoch covers.
pub async fn validate_shared(
    state: &Auth,
    token: &str,
    allow_expired: bool,
) -> Result<Arc<ValidToken>, Error> {
    let token = token.trim();
    let window = if allow_expired {
        state.config.token.allow_expired_window as f64
    } else {
        0.0
    };
    // Both read before anything is checked: what is cached is only ever
    // older than what was checked.
    let epoch = state.db.changes().epoch().filter(|_| state.caches.enabled);
    let key_generation = state.tokens.key_generation();
    if let Some(found) = epoch.and_then(|e| state.caches.tokens.get(token, e)) {
        if found.key_generation == key_generation {
            if now_seconds() >= found.context.expires_at + window
                || found
                    .app_cred_expires_at
                    .is_some_and(|t| crate::store::now_micros() >= t)
            {
                return Err(token_not_found(FAILED_TO_VALIDATE));
            }
            return Ok(found);
        }
    }
    let (payload, issued_at) = state.tokens.open(token).map_err(opened_error)?;
    if now_seconds() >= payload.expires_at + window {
        return Err(token_not_found(FAILED_TO_VALIDATE));
    }
    let methods = state.tokens.methods().decode(payload.methods);
    // Boxed: a miss of the token cache is the rarer path, and this
    // future is most of the length of the whole.
    let (context, app_cred_expires_at) = Box::pin(context_and_expiry(
        state,
        Secret::new(token),
        payload,
        issued_at,
        methods,
    ))
    .await?;
    let valid = Arc::new(ValidToken {
        context,
        key_generation,
        app_cred_expires_at,
        caller: std::sync::OnceLock::new(),
        rendered: std::sync::OnceLock::new(),
    });
    if let Some(epoch) = epoch {
        state
            .caches
            .tokens
            .insert(token.to_string(), epoch, Arc::clone(&valid));
    }
    Ok(valid)
}

/// Validates the caller's own `X-Auth-Token` for the request it came with:
/// any failure, including a request its access rules do not allow, is a
/// 401 (as keystonemiddleware answers on Keystone's own API).
pub async fn authenticate_caller(
    state: &Auth,
    presented: Presented<'_>,
) -> Result<TokenContext, Error> {
    Ok(authenticate_caller_shared(state, presented)
        .await?
        .context
        .clone())
}

/// [`authenticate_caller`], as the token cache holds the token.
pub async fn authenticate_caller_shared(
    state: &Auth,
    presented: Presented<'_>,
) -> Result<Arc<ValidToken>, Error> {
    let Some(token) = presented.token.filter(|t| !t.trim().is_empty()) else {
        return Err(Error::unauthorized());
    };
    let valid = validate_shared(state, token, false)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::unauthorized(),
            other => other,
        })?;
    if !allowed_by_access_rules(state, &valid.context, &presented).await? {
        return Err(Error::unauthorized());
    }
    Ok(valid)
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
        .live
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
        .and_then(|c| c.value.as_array())
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

/// The catalog for a token's scope, or `None` for unscoped tokens (which
/// carry no catalog in Keystone).
pub async fn catalog_for(
    state: &Auth,
    context: &TokenContext,
) -> Result<Option<Arc<Catalog>>, Error> {
    if matches!(context.live.scope, ResolvedScope::Unscoped) {
        return Ok(None);
    }
    let project_id = context.project_id().map(str::to_string);
    let user_id = context.live.user.id.clone();
    // The catalog depends on the ids its URL templates may name.
    let key = format!("{user_id} {}", project_id.as_deref().unwrap_or(""));
    let epoch = state.db.changes().epoch();
    let load = || {
        state.db.read(move |conn| {
            let values = UrlValues {
                project_id: project_id.as_deref(),
                user_id: Some(&user_id),
            };
            let only = match values.project_id {
                Some(project) => catalog::filter::catalog_filter(conn, project)?,
                None => None,
            };
            Catalog::new(catalog::store::token_catalog(conn, &values, only.as_ref())?).map(Arc::new)
        })
    };
    let catalog = state.caches.catalogs.get_or_load(&key, epoch, load).await?;
    Ok(Some(catalog))
}

/// Issues `payload` and answers it through the validation path, so that
/// what a new token's issuer answers is exactly what a later validation
/// will answer. A token that would not validate is `refusal`.
pub(crate) async fn issue_and_load(
    state: &Auth,
    payload: Payload,
    refusal: fn() -> Error,
) -> Result<(String, TokenContext), Error> {
    let (token, issued_at) = state.tokens.issue(&payload)?;
    let method_names = state.tokens.methods().decode(payload.methods);
    let token_secret = Secret::new(token.clone());
    let (context, _) = context_and_expiry(state, token_secret, payload, issued_at, method_names)
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => refusal(),
            other => other,
        })?;
    Ok((token, context))
}
