//! Issuance: `POST /v3/auth/tokens`. Each identity method is one
//! function that turns its credentials into an [`Authenticated`]; the
//! results are merged, the scope resolved, and the token issued and
//! answered through the validation path.

use std::sync::Arc;

use serde_json::json;

use crate::error::Error;
use crate::identity::{self, User};
use crate::secret::Secret;
use crate::store::Conn;
use crate::token::payload::new_audit_id;
use crate::token::{Payload, Scope};
use crate::trust;

use super::request::{AuthRequest, PasswordCredentials, ScopeRequest, UserRef};
use super::scope::{resolve_domain, resolve_scope};
use super::validate::{issue_and_load, validate};
use super::{now_seconds, Auth, ResolvedScope, TokenContext};

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

/// What the identity methods established, before scoping.
struct Authenticated {
    user_id: String,
    /// Inherited from a rescoped token; otherwise now + expiration.
    expires_at: Option<f64>,
    parent_audit_id: Option<String>,
    method_bits: u64,
    /// `(credential id, project id)` when an application credential authenticated.
    app_cred: Option<(String, String)>,
    /// `(access token id, project id)` when an OS-OAUTH1 access token did.
    oauth: Option<(String, String)>,
}

/// `POST /v3/auth/tokens`: runs the methods, resolves the scope and issues.
/// Returns the token string and its context. Every success and every
/// refusal (401) is written to the audit trail.
pub async fn issue_token(
    state: &Auth,
    request: AuthRequest,
) -> Result<(String, TokenContext), Error> {
    let methods = request.methods.clone();
    let named_user = match &request.password {
        Some(PasswordCredentials {
            user: UserRef::Id(id),
            ..
        }) => Some(id.clone()),
        _ => None,
    };
    let named_app_cred = request
        .application_credential
        .as_ref()
        .and_then(|a| a.id.clone());
    let password_user = request.password.as_ref().map(|p| p.user.clone());
    let outcome = issue_token_unaudited(state, request).await;
    let record = match &outcome {
        Ok((_, context)) => Some(crate::audit::Authentication {
            succeeded: true,
            methods,
            user_id: Some(context.user_id().to_string()),
            project_id: context.project_id().map(str::to_string),
            app_cred_id: context
                .live
                .application_credential
                .as_ref()
                .map(|a| a.id.clone()),
        }),
        Err(Error::Unauthorized { .. }) => Some(crate::audit::Authentication {
            succeeded: false,
            methods,
            user_id: named_user,
            project_id: None,
            app_cred_id: named_app_cred,
        }),
        Err(_) => None,
    };
    // Keystone's `identity.authenticate`: the password check of a user it
    // found, with its outcome.
    let password_check = match &outcome {
        Ok(_) => password_user.map(|u| (u, true)),
        Err(Error::Unauthorized { .. }) => password_user.map(|u| (u, false)),
        Err(_) => None,
    };
    if let Some(record) = record {
        // The trail must not decide whether a login works.
        if let Err(e) = state
            .db
            .write(move |conn| {
                if let Some((user, succeeded)) = &password_check {
                    if let Some((found, _)) = find_password_user(conn, user)? {
                        crate::notify::authentication(&found.id, &found.name, *succeeded);
                    }
                }
                crate::audit::record_authentication(conn, &record)
            })
            .await
        {
            tracing::warn!(error = %e, "cannot write an authentication to the audit trail");
        }
    }
    outcome
}

async fn issue_token_unaudited(
    state: &Auth,
    request: AuthRequest,
) -> Result<(String, TokenContext), Error> {
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
                current.oauth = current.oauth.take().or(next.oauth);
            }
        }
        Ok(())
    };

    for method in &request.methods {
        match method.as_str() {
            "password" => merge(by_password(state, &request).await?)?,
            "token" => merge(by_token(state, &request).await?)?,
            "application_credential" => merge(by_application_credential(state, &request).await?)?,
            "oauth1" => merge(by_oauth1(state, &request).await?)?,
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
    let audit_ids = match auth.parent_audit_id.clone() {
        Some(parent) => vec![new_audit_id(), parent],
        None => vec![new_audit_id()],
    };
    if let ScopeRequest::Trust(trust_id) = &request.scope {
        return issue_for_trust(state, &auth, trust_id.clone(), expires_at, audit_ids).await;
    }
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
    let payload_scope = match (&auth.app_cred, &auth.oauth, &scope) {
        (Some((app_cred_id, project_id)), _, _) => Scope::ApplicationCredential {
            project_id: project_id.clone(),
            app_cred_id: app_cred_id.clone(),
        },
        // An access token scopes its tokens to its project.
        (None, Some((access_token_id, project_id)), _) => Scope::OAuth {
            project_id: project_id.clone(),
            access_token_id: access_token_id.clone(),
        },
        (None, None, scope) => match scope {
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
    issue_and_load(state, payload, Error::unauthorized).await
}

/// A trust-scoped token for the trustee: the trust's project, an expiry
/// capped at the trust's, and one use of a limited trust spent once the
/// token exists (Keystone's `authenticate_for_token`). The trustor and
/// the delegated roles are checked once, by the validation that
/// `issue_and_load` runs (`validate::live_trust`, Keystone's
/// `TokenModel.mint`): a disabled trustor or a lost role is its 403, no
/// role left its 401.
async fn issue_for_trust(
    state: &Auth,
    auth: &Authenticated,
    trust_id: String,
    expires_at: f64,
    audit_ids: Vec<String>,
) -> Result<(String, TokenContext), Error> {
    if auth.app_cred.is_some() {
        return Err(Error::unauthorized());
    }
    let max = state.config.trust.max_redelegation_count;
    let user_id = auth.user_id.clone();
    let id = trust_id.clone();
    let (project_id, trust_expiry) = state
        .db
        .read(move |conn| {
            let found = match trust::get_checked(conn, &id, max) {
                Ok(t) => t,
                // Keystone turns TrustNotFound into a 401 here.
                Err(Error::NotFound(_)) => return Err(Error::unauthorized()),
                Err(e) => return Err(e),
            };
            if found.trustee_user_id != user_id {
                return Err(Error::Forbidden("User is not a trustee.".into()));
            }
            let Some(project_id) = found.project_id.clone() else {
                return Err(Error::unauthorized());
            };
            Ok((project_id, found.expires_at))
        })
        .await?;
    let expires_at = match trust_expiry {
        Some(micros) => expires_at.min((micros / 1_000_000) as f64),
        None => expires_at,
    };
    let payload = Payload {
        user_id: auth.user_id.clone(),
        methods: auth.method_bits,
        scope: Scope::Trust {
            project_id,
            trust_id: trust_id.clone(),
        },
        expires_at,
        audit_ids,
    };
    let issued = issue_and_load(state, payload, Error::unauthorized).await?;
    state
        .db
        .write(move |conn| trust::store::consume_use(conn, &trust_id))
        .await?;
    Ok(issued)
}

/// Keystone's rules for the token method (`keystone/auth/plugins/token.py`).
fn check_rescope(state: &Auth, original: &TokenContext, scope: &ScopeRequest) -> Result<(), Error> {
    if original.live.trust.is_some() {
        return Err(Error::forbidden_action(
            "Using trust-scoped token to create another token. Create a new trust-scoped token instead",
        ));
    }
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
        original.live.scope,
        ResolvedScope::Project { .. } | ResolvedScope::Domain(_)
    );
    if already_scoped && !state.config.token.allow_rescope_scoped_token {
        return Err(Error::forbidden_action("rescope a scoped token"));
    }
    Ok(())
}

/// The `password` method. Always hashes, even for an unknown or disabled
/// user, so every failure looks and takes the same.
async fn by_password(state: &Auth, request: &AuthRequest) -> Result<Authenticated, Error> {
    let methods = state.tokens.methods();
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
    Ok(Authenticated {
        user_id: user.id,
        expires_at: None,
        parent_audit_id: None,
        method_bits: methods.encode(&["password"]),
        app_cred: None,
        oauth: None,
    })
}

/// The `token` method: rescoping a token under Keystone's rules.
async fn by_token(state: &Auth, request: &AuthRequest) -> Result<Authenticated, Error> {
    let methods = state.tokens.methods();
    let token = request
        .token
        .as_ref()
        .ok_or_else(|| Error::expecting("token", "identity"))?;
    let original = validate(state, token.expose(), false).await?;
    check_rescope(state, &original, &request.scope)?;
    let original_bits = methods.encode(&original.methods);
    Ok(Authenticated {
        user_id: original.live.user.id.clone(),
        expires_at: Some(original.expires_at),
        parent_audit_id: Some(original.chain_root().to_string()),
        method_bits: original_bits | methods.encode(&["token"]),
        app_cred: None,
        oauth: None,
    })
}

/// The `application_credential` method; it may not ask for a scope.
async fn by_application_credential(
    state: &Auth,
    request: &AuthRequest,
) -> Result<Authenticated, Error> {
    let methods = state.tokens.methods();
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
    // A secret in our scannable format with a wrong checksum is a typo, a
    // truncation or a guess: refused before any lookup or hash. This says
    // nothing about the store, only about the string presented.
    if crate::scannable::classify(creds.secret.expose()) == crate::scannable::Shape::Malformed {
        return Err(Error::unauthorized());
    }
    let (id, name, user) = (creds.id.clone(), creds.name.clone(), creds.user.clone());
    let found = state
        .db
        .read(move |conn| {
            // An unknown id is the same 401 as a wrong secret,
            // after the same (dummy) hash.
            let ac = match (&id, &name, &user) {
                (Some(id), _, _) => crate::application_credential::get(conn, id)?,
                (None, Some(name), Some(user)) => match find_password_user(conn, user)? {
                    Some((u, _)) => crate::application_credential::find_by_name(conn, &u.id, name)?,
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
    let now = crate::store::now_micros();
    if !matched || !owner.enabled || ac.is_expired(now) {
        return Err(Error::unauthorized());
    }
    // The last use, for the console and the unused-key rule.
    let used = ac.id.clone();
    state
        .db
        .write(move |conn| crate::application_credential::touch(conn, &used, now))
        .await?;
    Ok(Authenticated {
        user_id: owner.id,
        expires_at: ac.expires_at.map(|t| (t / 1_000_000) as f64),
        parent_audit_id: None,
        method_bits: methods.encode(&["application_credential"]),
        app_cred: Some((ac.id, ac.project_id)),
        oauth: None,
    })
}

/// The `oauth1` method: a request signed with an OS-OAUTH1 access token
/// (and its consumer's secret) stands for the delegation it holds.
async fn by_oauth1(state: &Auth, request: &AuthRequest) -> Result<Authenticated, Error> {
    let methods = state.tokens.methods();
    let signed = request
        .oauth1
        .clone()
        .ok_or_else(|| Error::expecting("oauth1", "identity"))?;
    let oauth1 = crate::oauth1::OAuth1::new(
        state.db.clone(),
        Arc::clone(&state.credentials),
        state.config.oauth1.clone(),
    );
    let delegation = oauth1.authenticate(signed).await?;
    Ok(Authenticated {
        user_id: delegation.user_id,
        expires_at: None,
        parent_audit_id: None,
        method_bits: methods.encode(&["oauth1"]),
        app_cred: None,
        oauth: Some((delegation.access_token_id, delegation.project_id)),
    })
}
