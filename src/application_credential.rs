//! Application credentials: a user's delegation of some of its roles on
//! one project to a secret (stored only as a hash), optionally limited by
//! access rules and an expiry.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::assignment::{self, Role};
use crate::error::Error;
use crate::policy::{self, Caller, Input, Target};
use crate::store::schema::{
    access_rules, application_credential_access_rules, application_credential_roles,
    application_credentials,
};
use crate::store::{new_id, now_micros, Conn};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    pub id: String,
    pub service: String,
    pub path: String,
    pub method: String,
}

impl AccessRule {
    /// keystonemiddleware's `validate_allowed_request` for one rule: the
    /// same service type, the same method, and a path matching the rule's
    /// pattern.
    pub fn allows(&self, service: &str, method: &str, path: &str) -> bool {
        self.service == service && self.method == method && path_matches(path, &self.path)
    }
}

/// One piece of an access-rule path pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathToken {
    /// `*` or `{name}`: one path segment, at least one character.
    Segment,
    /// `**`: anything, slashes included.
    Anything,
    Literal(u8),
}

fn path_tokens(pattern: &str) -> Vec<PathToken> {
    let bytes = pattern.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'*' if bytes.get(i + 1) == Some(&b'*') => {
                out.push(PathToken::Anything);
                i += 2;
            }
            b'*' => {
                out.push(PathToken::Segment);
                i += 1;
            }
            b'{' => match bytes[i..].iter().position(|&b| b == b'}') {
                Some(end) => {
                    out.push(PathToken::Segment);
                    i += end + 1;
                }
                None => {
                    out.push(PathToken::Literal(b'{'));
                    i += 1;
                }
            },
            b => {
                out.push(PathToken::Literal(b));
                i += 1;
            }
        }
    }
    out
}

/// keystonemiddleware's `_path_matches`: `*` and `{tag}` match one
/// segment, `**` matches anything, the whole path must match. Literal
/// characters match only themselves (keystonemiddleware pastes them into
/// a regular expression, where `.` would match any character).
pub fn path_matches(path: &str, pattern: &str) -> bool {
    let tokens = path_tokens(pattern);
    let path = path.as_bytes();
    // reachable[j]: the tokens so far can match path[..j].
    let mut reachable = vec![false; path.len() + 1];
    reachable[0] = true;
    for token in tokens {
        let mut next = vec![false; path.len() + 1];
        for j in 0..=path.len() {
            if !reachable[j] {
                continue;
            }
            match token {
                PathToken::Literal(b) => {
                    if path.get(j) == Some(&b) {
                        next[j + 1] = true;
                    }
                }
                PathToken::Anything => next[j..].iter_mut().for_each(|n| *n = true),
                PathToken::Segment => {
                    let mut k = j;
                    while k < path.len() && path[k] != b'/' {
                        k += 1;
                        next[k] = true;
                    }
                }
            }
        }
        reachable = next;
    }
    reachable[path.len()]
}

/// Whether a token limited to `rules` may make this request of a service
/// of type `service`. An empty list allows nothing.
pub fn rules_allow(rules: &[AccessRule], service: &str, method: &str, path: &str) -> bool {
    rules.iter().any(|r| r.allows(service, method, path))
}

#[derive(Debug, Clone)]
pub struct AppCred {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub user_id: String,
    pub project_id: String,
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    pub secret_hash: String,
    pub roles: Vec<Role>,
    pub access_rules: Vec<AccessRule>,
    /// When it last authenticated (Ironstone's).
    pub last_used_at: Option<i64>,
    /// Within the deployment's expiry warning window, as listed.
    pub expires_soon: bool,
    /// `None`: the deployment's default.
    pub action_when_leaked: Option<crate::lifecycle::LeakAction>,
    /// When it was reported leaked.
    pub leaked_at: Option<i64>,
}

impl AppCred {
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }
}

pub fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Could not find Application Credential: {id}."))
}

/// A stored row, in `columns()` order.
#[derive(Queryable)]
struct Row {
    id: String,
    name: String,
    secret_hash: String,
    description: Option<String>,
    user_id: String,
    project_id: Option<String>,
    expires_at: Option<i64>,
    unrestricted: bool,
    last_used_at: Option<i64>,
    action_when_leaked: Option<String>,
    leaked_at: Option<i64>,
}

fn load(conn: &mut Conn, row: Row) -> Result<AppCred, Error> {
    let id = row.id;
    let role_ids: BTreeSet<String> = application_credential_roles::table
        .filter(application_credential_roles::application_credential_id.eq(&id))
        .select(application_credential_roles::role_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut roles = Vec::new();
    for rid in role_ids {
        roles.extend(assignment::get_role(conn, &rid)?);
    }
    let rule_ids: Vec<String> = application_credential_access_rules::table
        .filter(application_credential_access_rules::application_credential_id.eq(&id))
        .select(application_credential_access_rules::access_rule_id)
        .load(conn)?;
    let rules = load_access_rules(
        conn,
        access_rules::table
            .filter(access_rules::id.eq_any(rule_ids))
            .into_boxed(),
    )?;
    Ok(AppCred {
        id,
        name: row.name,
        description: row.description,
        user_id: row.user_id,
        project_id: row.project_id.unwrap_or_default(),
        expires_at: row.expires_at,
        unrestricted: row.unrestricted,
        secret_hash: row.secret_hash,
        roles,
        access_rules: rules,
        last_used_at: row.last_used_at,
        expires_soon: false,
        action_when_leaked: row
            .action_when_leaked
            .as_deref()
            .and_then(crate::lifecycle::LeakAction::parse),
        leaked_at: row.leaked_at,
    })
}

fn columns() -> (
    application_credentials::id,
    application_credentials::name,
    application_credentials::secret_hash,
    application_credentials::description,
    application_credentials::user_id,
    application_credentials::project_id,
    application_credentials::expires_at,
    application_credentials::unrestricted,
    application_credentials::last_used_at,
    application_credentials::action_when_leaked,
    application_credentials::leaked_at,
) {
    use application_credentials::*;
    (
        id,
        name,
        secret_hash,
        description,
        user_id,
        project_id,
        expires_at,
        unrestricted,
        last_used_at,
        action_when_leaked,
        leaked_at,
    )
}

/// Records a successful authentication.
pub fn touch(conn: &mut Conn, id: &str, now: i64) -> Result<(), Error> {
    diesel::update(application_credentials::table.find(id))
        .set(application_credentials::last_used_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

/// Ends the application credentials last used (or, never used, created)
/// before `before`: they expire `now`, and their tokens with them.
/// Keystone's credentials have no enabled flag; rotating one gives its
/// owner a working replacement. How many.
pub fn expire_unused(conn: &mut Conn, before: i64, now: i64) -> Result<Vec<AppCred>, Error> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool};
    let ids: Vec<String> = application_credentials::table
        .filter(
            application_credentials::expires_at
                .is_null()
                .or(application_credentials::expires_at.gt(now)),
        )
        .filter(sql::<Bool>("COALESCE(last_used_at, created_at) < ").bind::<BigInt, _>(before))
        .select(application_credentials::id)
        .load(conn)?;
    diesel::update(application_credentials::table.filter(application_credentials::id.eq_any(&ids)))
        .set(application_credentials::expires_at.eq(Some(now)))
        .execute(conn)?;
    let mut ended = Vec::with_capacity(ids.len());
    for id in &ids {
        ended.extend(get(conn, id)?);
    }
    Ok(ended)
}

/// The audit event of an application credential.
pub fn event(
    action: &'static str,
    a: &AppCred,
    initiator: crate::audit::Initiator,
    reason: Option<String>,
) -> crate::audit::KeyEvent {
    crate::audit::KeyEvent {
        action,
        kind: crate::audit::KeyKind::AppCred,
        key_id: a.id.clone(),
        user_id: a.user_id.clone(),
        project_id: Some(a.project_id.clone()),
        initiator,
        reason,
    }
}

pub fn get(conn: &mut Conn, id: &str) -> Result<Option<AppCred>, Error> {
    let row: Option<Row> = application_credentials::table
        .find(id)
        .select(columns())
        .first(conn)
        .optional()?;
    row.map(|r| load(conn, r)).transpose()
}

pub fn find_by_name(conn: &mut Conn, user_id: &str, name: &str) -> Result<Option<AppCred>, Error> {
    let row: Option<Row> = application_credentials::table
        .filter(application_credentials::user_id.eq(user_id))
        .filter(application_credentials::name.eq(name))
        .select(columns())
        .first(conn)
        .optional()?;
    row.map(|r| load(conn, r)).transpose()
}

pub fn list_for_user(
    conn: &mut Conn,
    user_id: &str,
    name: Option<&str>,
) -> Result<Vec<AppCred>, Error> {
    let mut query = application_credentials::table
        .filter(application_credentials::user_id.eq(user_id.to_string()))
        .select(columns())
        .into_boxed();
    if let Some(n) = name {
        query = query.filter(application_credentials::name.eq(n.to_string()));
    }
    let rows: Vec<Row> = query
        .order(application_credentials::name.asc())
        .load(conn)?;
    rows.into_iter().map(|r| load(conn, r)).collect()
}

pub struct NewAppCred {
    pub name: String,
    pub description: Option<String>,
    pub user_id: String,
    pub project_id: String,
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    pub secret_hash: String,
    /// The lookup digest of a generated secret (see
    /// `credential::secret_digest`); `None` for one the client chose.
    pub secret_digest: Option<String>,
    pub action_when_leaked: Option<crate::lifecycle::LeakAction>,
    pub role_ids: Vec<String>,
    /// (service, path, method), or an existing rule's id in `service`
    /// with empty path and method.
    pub access_rules: Vec<(String, String, String)>,
}

pub fn create(conn: &mut Conn, new: NewAppCred) -> Result<AppCred, Error> {
    if find_by_name(conn, &new.user_id, &new.name)?.is_some() {
        return Err(Error::Conflict(format!(
            "Conflict occurred attempting to store application_credential - Duplicate entry found with name {}.",
            new.name
        )));
    }
    let id = new_id();
    diesel::insert_into(application_credentials::table)
        .values((
            application_credentials::id.eq(&id),
            application_credentials::name.eq(&new.name),
            application_credentials::secret_hash.eq(&new.secret_hash),
            application_credentials::description.eq(&new.description),
            application_credentials::user_id.eq(&new.user_id),
            application_credentials::project_id.eq(Some(&new.project_id)),
            application_credentials::expires_at.eq(new.expires_at),
            application_credentials::unrestricted.eq(new.unrestricted),
            application_credentials::created_at.eq(now_micros()),
            application_credentials::secret_digest.eq(&new.secret_digest),
            application_credentials::action_when_leaked.eq(new
                .action_when_leaked
                .map(crate::lifecycle::LeakAction::as_str)),
        ))
        .execute(conn)?;
    for role_id in &new.role_ids {
        diesel::insert_into(application_credential_roles::table)
            .values((
                application_credential_roles::application_credential_id.eq(&id),
                application_credential_roles::role_id.eq(role_id),
            ))
            .execute(conn)?;
    }
    for (service, path, method) in &new.access_rules {
        let rule_id = if path.is_empty() && method.is_empty() {
            access_rules::table
                .filter(access_rules::id.eq(service))
                .filter(access_rules::user_id.eq(&new.user_id))
                .select(access_rules::id)
                .first::<String>(conn)
                .optional()?
                .ok_or_else(|| Error::NotFound(format!("Could not find access rule: {service}.")))?
        } else {
            let existing: Option<String> = access_rules::table
                .filter(access_rules::user_id.eq(&new.user_id))
                .filter(access_rules::service.eq(service))
                .filter(access_rules::path.eq(path))
                .filter(access_rules::method.eq(method))
                .select(access_rules::id)
                .first(conn)
                .optional()?;
            match existing {
                Some(id) => id,
                None => {
                    let rid = new_id();
                    diesel::insert_into(access_rules::table)
                        .values((
                            access_rules::id.eq(&rid),
                            access_rules::user_id.eq(&new.user_id),
                            access_rules::service.eq(service),
                            access_rules::path.eq(path),
                            access_rules::method.eq(method),
                        ))
                        .execute(conn)?;
                    rid
                }
            }
        };
        diesel::insert_into(application_credential_access_rules::table)
            .values((
                application_credential_access_rules::application_credential_id.eq(&id),
                application_credential_access_rules::access_rule_id.eq(&rule_id),
            ))
            .execute(conn)?;
    }
    crate::notify::created("application_credential", &id);
    get(conn, &id)?.ok_or_else(|| not_found(&id))
}

/// Renames an application credential and sets its expiry (a rotation's
/// old credential: the name goes to the replacement).
pub fn retire(conn: &mut Conn, id: &str, name: &str, expires_at: i64) -> Result<(), Error> {
    diesel::update(application_credentials::table.find(id))
        .set((
            application_credentials::name.eq(name),
            application_credentials::expires_at.eq(Some(expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut Conn, id: &str) -> Result<(), Error> {
    diesel::delete(
        application_credential_roles::table
            .filter(application_credential_roles::application_credential_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(
        application_credential_access_rules::table
            .filter(application_credential_access_rules::application_credential_id.eq(id)),
    )
    .execute(conn)?;
    let n = diesel::delete(application_credentials::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(not_found(id));
    }
    crate::notify::deleted("application_credential", id);
    Ok(())
}

/// Deletes one application credential as part of a cascade, and records
/// it with `cause`.
fn delete_for_cause(conn: &mut Conn, id: &str, cause: &crate::audit::Cause) -> Result<(), Error> {
    let Some(found) = get(conn, id)? else {
        return Ok(());
    };
    delete(conn, id)?;
    let reason = Some(cause.reason.clone());
    crate::audit::record(
        conn,
        &event("deleted", &found, cause.initiator.clone(), reason),
    )
}

/// Deletes every application credential of a user.
pub fn delete_for_user(
    conn: &mut Conn,
    user_id: &str,
    cause: &crate::audit::Cause,
) -> Result<(), Error> {
    let ids: Vec<String> = application_credentials::table
        .filter(application_credentials::user_id.eq(user_id))
        .select(application_credentials::id)
        .load(conn)?;
    for id in ids {
        delete_for_cause(conn, &id, cause)?;
    }
    Ok(())
}

/// Deletes every application credential that holds `role_id`.
pub fn delete_holding_role(
    conn: &mut Conn,
    role_id: &str,
    cause: &crate::audit::Cause,
) -> Result<(), Error> {
    let holders: Vec<String> = application_credential_roles::table
        .filter(application_credential_roles::role_id.eq(role_id))
        .select(application_credential_roles::application_credential_id)
        .load(conn)?;
    for id in holders {
        delete_for_cause(conn, &id, cause)?;
    }
    Ok(())
}

/// Deletes the user's application credentials that hold a role the user
/// no longer has on the credential's project (Keystone does the same when
/// an assignment goes away).
pub fn prune_for_user(
    conn: &mut Conn,
    user_id: &str,
    initiator: &crate::audit::Initiator,
) -> Result<usize, Error> {
    let mut removed = 0;
    for ac in list_for_user(conn, user_id, None)? {
        let held: BTreeSet<String> = match crate::resource::get_project(conn, &ac.project_id)? {
            Some(project) => assignment::effective_project_roles(conn, user_id, &project)?
                .into_iter()
                .map(|r| r.id)
                .collect(),
            None => BTreeSet::new(),
        };
        let lost: Vec<&str> = ac
            .roles
            .iter()
            .filter(|r| !held.contains(&r.id))
            .map(|r| r.id.as_str())
            .collect();
        if !lost.is_empty() {
            let cause = crate::audit::Cause {
                initiator: initiator.clone(),
                reason: format!("roles no longer held: {}", lost.join(", ")),
            };
            delete_for_cause(conn, &ac.id, &cause)?;
            removed += 1;
        }
    }
    Ok(removed)
}

pub fn list_access_rules(conn: &mut Conn, user_id: &str) -> Result<Vec<AccessRule>, Error> {
    load_access_rules(
        conn,
        access_rules::table
            .filter(access_rules::user_id.eq(user_id.to_string()))
            .into_boxed(),
    )
}

/// The access rules a query selects.
fn load_access_rules<'a>(
    conn: &mut Conn,
    query: access_rules::BoxedQuery<'a, <Conn as diesel::Connection>::Backend>,
) -> Result<Vec<AccessRule>, Error> {
    Ok(query
        .select((
            access_rules::id,
            access_rules::service,
            access_rules::path,
            access_rules::method,
        ))
        .load::<(String, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, service, path, method)| AccessRule {
            id,
            service,
            path,
            method,
        })
        .collect())
}

/// Deletes an access rule no application credential uses.
pub fn delete_access_rule(conn: &mut Conn, user_id: &str, id: &str) -> Result<(), Error> {
    let used = application_credential_access_rules::table
        .filter(application_credential_access_rules::access_rule_id.eq(id))
        .count()
        .get_result::<i64>(conn)?;
    if used > 0 {
        return Err(Error::Forbidden(format!(
            "Access rule {id} is in use by an application credential."
        )));
    }
    let n = diesel::delete(
        access_rules::table
            .filter(access_rules::id.eq(id))
            .filter(access_rules::user_id.eq(user_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound(format!(
            "Could not find access rule: {id}."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rule_paths_match_as_keystonemiddleware() {
        assert!(path_matches("/v2.1/servers", "/v2.1/servers"));
        assert!(!path_matches("/v2.1/servers/x", "/v2.1/servers"));
        assert!(path_matches("/v3/users/abc", "/v3/users/*"));
        assert!(path_matches("/v3/users/abc", "/v3/users/{user_id}"));
        assert!(!path_matches("/v3/users/abc/projects", "/v3/users/*"));
        assert!(
            !path_matches("/v3/users/", "/v3/users/*"),
            "* needs a character"
        );
        assert!(path_matches("/v3/users/abc/projects", "/v3/users/**"));
        assert!(path_matches("/v3/users/a/b/c", "/v3/**/c"));
        assert!(!path_matches("/v3Xusers", "/v3.users"), ". is literal");
        assert!(path_matches("/v3/{x", "/v3/{x"));
        let rule = AccessRule {
            id: "r".into(),
            service: "identity".into(),
            path: "/v3/users".into(),
            method: "GET".into(),
        };
        assert!(rules_allow(
            std::slice::from_ref(&rule),
            "identity",
            "GET",
            "/v3/users"
        ));
        assert!(!rules_allow(
            std::slice::from_ref(&rule),
            "identity",
            "POST",
            "/v3/users"
        ));
        assert!(!rules_allow(
            std::slice::from_ref(&rule),
            "compute",
            "GET",
            "/v3/users"
        ));
        assert!(!rules_allow(&[], "identity", "GET", "/v3/users"));
    }
}

/// A role named in a create request, by id or by name.
#[derive(Debug, Clone, Default)]
pub struct RoleRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// An access rule as asked for: an existing rule's id, or a new
/// (service, path, method).
pub type RuleInput = (String, String, String);

/// An application credential to create. `roles` default to all of the
/// token's; `access_rules` are checked after the roles, as Keystone does.
#[derive(Debug)]
pub struct AppCredInput {
    pub name: String,
    pub description: Option<String>,
    /// Generated when absent or empty.
    pub secret: Option<String>,
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    pub roles: Option<Vec<RoleRef>>,
    pub access_rules: Input<Vec<RuleInput>>,
    /// Ironstone's: what happens when it is reported leaked.
    pub action_when_leaked: Option<crate::lifecycle::LeakAction>,
}

/// A new application credential: the only time its secret is shown.
#[derive(Debug)]
pub struct Created {
    pub credential: AppCred,
    pub secret: crate::secret::Secret,
}

/// A rotation's outcome: the replacement (its secret shown once) and the
/// credential it replaces, renamed and set to expire.
#[derive(Debug)]
pub struct Rotated {
    pub replacement: Created,
    pub previous: AppCred,
}

/// The name a rotated-out credential takes, so its replacement can keep
/// the name clients and operators know: `<name> (rotated <time>)`, within
/// Keystone's 255 characters.
fn retired_name(name: &str, now_micros: i64) -> String {
    let when = chrono::DateTime::from_timestamp_micros(now_micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default();
    let suffix = format!(" (rotated {when})");
    let keep = 255usize.saturating_sub(suffix.chars().count());
    let head: String = name.chars().take(keep).collect();
    format!("{head}{suffix}")
}

/// A new secret: scannable (`irac_…`), or as Keystone makes it.
fn generate_secret(scannable: bool) -> String {
    if scannable {
        return crate::scannable::generate(crate::scannable::Kind::AppCredSecret);
    }
    keystone_secret()
}

/// Keystone's: 64 random bytes, urlsafe base64.
fn keystone_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The application-credential subsystem's use cases (Keystone's
/// `application_credential_api`). Secrets are stored only as hashes.
#[derive(Clone)]
pub struct AppCreds {
    db: crate::store::Database,
    hasher: crate::identity::Hasher,
    /// `credential.secret_prefix`: generated secrets are scannable.
    scannable: bool,
    lifetime: crate::lifecycle::Lifetime,
}

impl AppCreds {
    pub fn new(
        db: crate::store::Database,
        hasher: crate::identity::Hasher,
        scannable: bool,
        lifetime: crate::lifecycle::Lifetime,
    ) -> Self {
        AppCreds {
            db,
            hasher,
            scannable,
            lifetime,
        }
    }

    /// Ends the credentials unused for `credential.disable_unused_after`
    /// (upkeep); how many.
    pub async fn expire_unused(&self) -> Result<usize, Error> {
        let now = now_micros();
        let Some(before) = self.lifetime.unused_before(now) else {
            return Ok(0);
        };
        self.db
            .write(move |conn| {
                let ended = expire_unused(conn, before, now)?;
                for a in &ended {
                    let why = Some("unused".to_string());
                    crate::audit::record(
                        conn,
                        &event("expired", a, crate::audit::Initiator::Service, why),
                    )?;
                }
                Ok(ended.len())
            })
            .await
    }

    /// The credential as listed: marked when it expires soon.
    fn as_listed(&self, mut found: AppCred) -> AppCred {
        found.expires_soon = self.lifetime.expires_soon(now_micros(), found.expires_at);
        found
    }

    /// Creates one for the caller's own project, with a subset of its
    /// token's roles (by id or name; all of them when none are named).
    pub async fn create(
        &self,
        caller: &Caller,
        user_id: String,
        new: Input<AppCredInput>,
    ) -> Result<Created, Error> {
        policy::refuse_restricted_delegation(caller)?;
        policy::enforce(policy::CREATE_APP_CRED, caller, Target::owned_by(&user_id))?;
        policy::refuse_delegated_app_creds(caller)?;
        let Some(project_id) = caller.project_id().map(str::to_string) else {
            return Err(Error::forbidden_action(policy::CREATE_APP_CRED.action));
        };
        let new = new?;
        // Absent and empty both mean the token's roles (Keystone tests
        // `if app_cred_data.get('roles')`; the CLI sends `[]`).
        let role_ids: BTreeSet<String> = match new.roles.as_deref() {
            None | Some([]) => caller.roles.iter().map(|r| r.id.clone()).collect(),
            Some(asked) => {
                let mut ids = BTreeSet::new();
                for item in asked {
                    let found = caller.roles.iter().find(|r| {
                        item.id.as_deref() == Some(r.id.as_str())
                            || item.name.as_deref() == Some(r.name.as_str())
                    });
                    match found {
                        Some(r) => ids.insert(r.id.clone()),
                        None => {
                            return Err(Error::BadRequest(
                                "Invalid application credential: Cannot create an application credential with unassigned role".into(),
                            ))
                        }
                    };
                }
                ids
            }
        };
        let rules = new.access_rules?;
        let generated = new.secret.as_deref().is_none_or(str::is_empty);
        let secret = match new.secret {
            // A secret that wears our prefix must be one of ours: it would
            // never authenticate (see `auth::issue`), and scanners would
            // report it as ours.
            Some(s) if crate::scannable::classify(&s) == crate::scannable::Shape::Malformed => {
                return Err(Error::BadRequest(
                    "Invalid application credential: a secret starting with irac_ or irsk_ must be one Ironstone generated (its checksum does not match).".into(),
                ))
            }
            Some(s) if !s.is_empty() => crate::secret::Secret::new(s),
            _ => crate::secret::Secret::new(generate_secret(self.scannable)),
        };
        // Only a secret Ironstone generated gets a lookup digest.
        let secret_digest = generated.then(|| crate::credential::secret_digest(secret.expose()));
        let action_when_leaked = new.action_when_leaked;
        let secret_hash = self
            .hasher
            .hash(crate::secret::Secret::new(secret.expose().to_string()).into_zeroizing())
            .await?;
        let expires_at = self.lifetime.for_new_key(now_micros(), new.expires_at)?;
        let (name, description, unrestricted) = (new.name, new.description, new.unrestricted);
        let initiator = crate::audit::Initiator::of(caller);
        let credential = self
            .db
            .write(move |conn| {
                let implied = assignment::expand_implied(conn, role_ids)?;
                let created = create(
                    conn,
                    NewAppCred {
                        name,
                        description,
                        user_id,
                        project_id,
                        expires_at,
                        unrestricted,
                        secret_hash,
                        secret_digest,
                        action_when_leaked,
                        role_ids: implied.into_iter().collect(),
                        access_rules: rules,
                    },
                )?;
                crate::audit::record(conn, &event("created", &created, initiator, None))?;
                Ok(created)
            })
            .await?;
        Ok(Created {
            credential: self.as_listed(credential),
            secret,
        })
    }

    pub async fn list(
        &self,
        caller: &Caller,
        user_id: String,
        name: Option<String>,
    ) -> Result<Vec<AppCred>, Error> {
        policy::enforce(policy::READ_APP_CREDS, caller, Target::owned_by(&user_id))?;
        policy::refuse_delegated_app_creds(caller)?;
        let found = self
            .db
            .read(move |conn| list_for_user(conn, &user_id, name.as_deref()))
            .await?;
        Ok(found.into_iter().map(|a| self.as_listed(a)).collect())
    }

    async fn load(&self, user_id: String, id: Input<String>) -> Result<AppCred, Error> {
        let id = id?;
        self.db
            .read(move |conn| {
                get(conn, &id)?
                    .filter(|a| a.user_id == user_id)
                    .ok_or_else(|| not_found(&id))
            })
            .await
    }

    pub async fn get(
        &self,
        caller: &Caller,
        user_id: String,
        id: Input<String>,
    ) -> Result<AppCred, Error> {
        policy::enforce(policy::READ_APP_CREDS, caller, Target::owned_by(&user_id))?;
        policy::refuse_delegated_app_creds(caller)?;
        Ok(self.as_listed(self.load(user_id, id).await?))
    }

    pub async fn delete(
        &self,
        caller: &Caller,
        user_id: String,
        id: Input<String>,
    ) -> Result<(), Error> {
        policy::refuse_restricted_delegation(caller)?;
        policy::enforce(policy::DELETE_APP_CRED, caller, Target::owned_by(&user_id))?;
        policy::refuse_delegated_app_creds(caller)?;
        let found = self.load(user_id, id).await?;
        let initiator = crate::audit::Initiator::of(caller);
        self.db
            .write(move |conn| {
                delete(conn, &found.id)?;
                crate::audit::record(conn, &event("deleted", &found, initiator, None))
            })
            .await
    }

    /// Rotates one: a replacement with the same name, description, roles,
    /// access rules, unrestricted flag and expiry (if still ahead), and
    /// the old one renamed and set to expire `grace_seconds` from now
    /// (sooner if it already would), in one transaction. As a create, only
    /// the owner may, with a token scoped to the credential's project and
    /// still holding all of its roles.
    pub async fn rotate(
        &self,
        caller: &Caller,
        user_id: String,
        id: Input<String>,
        grace_seconds: Input<i64>,
    ) -> Result<Rotated, Error> {
        policy::refuse_restricted_delegation(caller)?;
        policy::enforce(policy::CREATE_APP_CRED, caller, Target::owned_by(&user_id))?;
        policy::refuse_delegated_app_creds(caller)?;
        let old = self.load(user_id.clone(), id).await?;
        if caller.project_id() != Some(old.project_id.as_str()) {
            return Err(Error::forbidden_action(policy::CREATE_APP_CRED.action));
        }
        if !old
            .roles
            .iter()
            .all(|r| caller.roles.iter().any(|held| held.id == r.id))
        {
            return Err(Error::BadRequest(
                "Invalid application credential: Cannot create an application credential with unassigned role".into(),
            ));
        }
        let now = now_micros();
        let old_expiry = crate::lifecycle::retired_expiry(now, old.expires_at, grace_seconds?)?;
        let secret = crate::secret::Secret::new(generate_secret(self.scannable));
        let secret_hash = self
            .hasher
            .hash(crate::secret::Secret::new(secret.expose().to_string()).into_zeroizing())
            .await?;
        let new = NewAppCred {
            name: old.name.clone(),
            description: old.description.clone(),
            user_id,
            project_id: old.project_id.clone(),
            expires_at: self.lifetime.for_replacement(now, old.expires_at),
            unrestricted: old.unrestricted,
            secret_hash,
            secret_digest: Some(crate::credential::secret_digest(secret.expose())),
            action_when_leaked: old.action_when_leaked,
            role_ids: old.roles.iter().map(|r| r.id.clone()).collect(),
            access_rules: old
                .access_rules
                .iter()
                .map(|r| (r.id.clone(), String::new(), String::new()))
                .collect(),
        };
        let (old_id, retired) = (old.id.clone(), retired_name(&old.name, now));
        let initiator = crate::audit::Initiator::of(caller);
        let (credential, previous) = self
            .db
            .write(move |conn| {
                retire(conn, &old_id, &retired, old_expiry)?;
                let credential = create(conn, new)?;
                let previous = get(conn, &old_id)?.ok_or_else(|| not_found(&old_id))?;
                let (why_old, why_new) = (
                    format!("replaced by {}", credential.id),
                    format!("rotation of {}", previous.id),
                );
                crate::audit::record(
                    conn,
                    &event("rotated", &previous, initiator.clone(), Some(why_old)),
                )?;
                crate::audit::record(
                    conn,
                    &event("created", &credential, initiator, Some(why_new)),
                )?;
                Ok((credential, previous))
            })
            .await?;
        Ok(Rotated {
            replacement: Created {
                credential: self.as_listed(credential),
                secret,
            },
            previous: self.as_listed(previous),
        })
    }

    pub async fn access_rules(
        &self,
        caller: &Caller,
        user_id: String,
    ) -> Result<Vec<AccessRule>, Error> {
        policy::enforce(
            policy::READ_ACCESS_RULES,
            caller,
            Target::owned_by(&user_id),
        )?;
        policy::refuse_delegated_app_creds(caller)?;
        self.db
            .read(move |conn| list_access_rules(conn, &user_id))
            .await
    }

    pub async fn access_rule(
        &self,
        caller: &Caller,
        user_id: String,
        id: String,
    ) -> Result<AccessRule, Error> {
        self.access_rules(caller, user_id)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::NotFound(format!("Could not find access rule: {id}.")))
    }

    pub async fn delete_access_rule(
        &self,
        caller: &Caller,
        user_id: String,
        id: String,
    ) -> Result<(), Error> {
        policy::enforce(
            policy::DELETE_ACCESS_RULE,
            caller,
            Target::owned_by(&user_id),
        )?;
        policy::refuse_delegated_app_creds(caller)?;
        self.db
            .write(move |conn| delete_access_rule(conn, &user_id, &id))
            .await
    }
}
