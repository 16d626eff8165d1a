//! Identity subsystem: users, their local passwords, groups, and the
//! bounded pool that hashes passwords off the async workers.

pub mod password;

use std::sync::Arc;

use diesel::prelude::*;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::policy::{self, Caller, Input, Policy, Target};
use crate::store::rows::{PasswordRow, UserRow};
use crate::store::schema::{passwords, user_group_memberships, users};
use crate::store::{new_id, now_micros, Conn};

/// A user as Keystone shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub extra: Map<String, Value>,
    /// Microseconds; `None` when the password never expires.
    pub password_expires_at: Option<i64>,
}

impl User {
    fn from_row(row: UserRow, password_expires_at: Option<i64>) -> Self {
        User {
            id: row.id,
            name: row.name,
            domain_id: row.domain_id,
            enabled: row.enabled,
            default_project_id: row.default_project_id,
            extra: serde_json::from_str(&row.extra).unwrap_or_default(),
            password_expires_at,
        }
    }

    /// Keystone's resource datetime format (no `Z`).
    pub fn password_expires_at_json(&self) -> Value {
        match self
            .password_expires_at
            .and_then(chrono::DateTime::from_timestamp_micros)
        {
            Some(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
            None => Value::Null,
        }
    }
}

pub fn not_found_user(id: &str) -> Error {
    Error::NotFound(format!("Could not find user: {id}."))
}

/// Completes a row with its current password's expiry.
fn with_password_expiry(conn: &mut Conn, row: Option<UserRow>) -> Result<Option<User>, Error> {
    match row {
        Some(row) => {
            let expiry = current_password(conn, &row.id)?.and_then(|p| p.expires_at);
            Ok(Some(User::from_row(row, expiry)))
        }
        None => Ok(None),
    }
}

pub fn get_user(conn: &mut Conn, id: &str) -> Result<Option<User>, Error> {
    let row = users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    with_password_expiry(conn, row)
}

pub fn find_user_by_name(
    conn: &mut Conn,
    domain_id: &str,
    name: &str,
) -> Result<Option<User>, Error> {
    let row = users::table
        .filter(users::domain_id.eq(domain_id))
        .filter(users::name.eq(name))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    with_password_expiry(conn, row)
}

/// The group of that name in the domain, if any (names are unique per
/// domain).
pub fn find_group_by_name(
    conn: &mut Conn,
    domain_id: &str,
    name: &str,
) -> Result<Option<Group>, Error> {
    use crate::store::schema::groups;
    Ok(groups::table
        .filter(groups::domain_id.eq(domain_id))
        .filter(groups::name.eq(name))
        .select(crate::store::rows::GroupRow::as_select())
        .first(conn)
        .optional()?
        .map(Group::from))
}

/// The user's current local password, if any.
pub fn current_password(conn: &mut Conn, user_id: &str) -> Result<Option<PasswordRow>, Error> {
    Ok(passwords::table
        .filter(passwords::user_id.eq(user_id))
        .order((passwords::created_at.desc(), passwords::id.desc()))
        .select(PasswordRow::as_select())
        .first(conn)
        .optional()?)
}

pub struct NewUser<'a> {
    pub name: &'a str,
    pub domain_id: &'a str,
    pub enabled: bool,
    pub default_project_id: Option<&'a str>,
    /// An already computed hash: hashing happens before the transaction.
    pub password_hash: Option<String>,
}

pub fn create_user(conn: &mut Conn, new: NewUser<'_>) -> Result<User, Error> {
    if crate::resource::get_domain(conn, new.domain_id)?.is_none() {
        return Err(crate::resource::not_found_domain(new.domain_id));
    }
    if find_user_by_name(conn, new.domain_id, new.name)?.is_some() {
        return Err(Error::Conflict(format!(
            "Conflict occurred attempting to store user - Duplicate entry found with name {} at domain ID {}.",
            new.name, new.domain_id
        )));
    }
    let row = UserRow {
        id: new_id(),
        name: new.name.to_string(),
        domain_id: new.domain_id.to_string(),
        enabled: new.enabled,
        default_project_id: new.default_project_id.map(str::to_string),
        extra: "{}".into(),
        options: "{}".into(),
        created_at: now_micros(),
        last_active_at: None,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .execute(conn)?;
    if let Some(hash) = new.password_hash {
        store_password(conn, &row.id, hash, false)?;
    }
    crate::notify::created("user", &row.id);
    Ok(User::from_row(row, None))
}

/// Records a new current password (an already computed hash).
pub fn store_password(
    conn: &mut Conn,
    user_id: &str,
    password_hash: String,
    self_service: bool,
) -> Result<(), Error> {
    let now = now_micros();
    // Keep created_at strictly increasing per user so "current" is exact.
    let latest = current_password(conn, user_id)?.map(|p| p.created_at);
    let created_at = match latest {
        Some(t) if t >= now => t + 1,
        _ => now,
    };
    let row = PasswordRow {
        id: new_id(),
        user_id: user_id.to_string(),
        password_hash,
        self_service,
        created_at,
        expires_at: None,
    };
    diesel::insert_into(passwords::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// Enables or disables a user. Disabling revokes every token the user
/// holds, as Keystone's `revoke_by_user` does.
pub fn set_user_enabled(conn: &mut Conn, id: &str, enabled: bool) -> Result<(), Error> {
    let n = diesel::update(users::table.find(id))
        .set(users::enabled.eq(enabled))
        .execute(conn)?;
    if n == 0 {
        return Err(not_found_user(id));
    }
    if !enabled {
        revoke_user_tokens(conn, id)?;
    }
    Ok(())
}

/// Changes a user's password (an already computed hash) and revokes the
/// tokens issued before the change.
pub fn change_password(
    conn: &mut Conn,
    user_id: &str,
    password_hash: String,
    self_service: bool,
) -> Result<(), Error> {
    if get_user(conn, user_id)?.is_none() {
        return Err(not_found_user(user_id));
    }
    store_password(conn, user_id, password_hash, self_service)?;
    crate::notify::updated("user", user_id);
    revoke_user_tokens(conn, user_id)
}

/// Deletes a user with its passwords and memberships (its assignments
/// are gone, see `cascade`); its tokens stop validating because the user
/// is gone, and an event makes that explicit.
pub fn delete_user(conn: &mut Conn, user_id: &str) -> Result<(), Error> {
    diesel::delete(passwords::table.filter(passwords::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(
        user_group_memberships::table.filter(user_group_memberships::user_id.eq(user_id)),
    )
    .execute(conn)?;
    let n = diesel::delete(users::table.find(user_id)).execute(conn)?;
    if n == 0 {
        return Err(not_found_user(user_id));
    }
    crate::notify::deleted("user", user_id);
    revoke_user_tokens(conn, user_id)
}

fn revoke_user_tokens(conn: &mut Conn, user_id: &str) -> Result<(), Error> {
    crate::revoke::record(
        conn,
        crate::revoke::Revoke {
            user_id: Some(user_id.to_string()),
            ..Default::default()
        },
    )
}

pub fn group_ids_of_user(conn: &mut Conn, user_id: &str) -> Result<Vec<String>, Error> {
    Ok(user_group_memberships::table
        .filter(user_group_memberships::user_id.eq(user_id))
        .select(user_group_memberships::group_id)
        .load(conn)?)
}

/// Password hashing and checking on a pool of its own threads, so that a
/// burst of logins queues here instead of starving other requests. The
/// threads run at a lower CPU priority (SCHED_BATCH, nice 10): when
/// validations and hashing compete for the cores, validations go first,
/// and hashing still gets the cores whenever nothing else wants them.
#[derive(Clone)]
pub struct Hasher {
    jobs: std::sync::mpsc::SyncSender<HashJob>,
    /// Jobs queued and not yet started (for `/metrics`).
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    cost: u32,
    /// A hash of a random password at the configured cost, checked when the
    /// user does not exist so both failures take the same time. Made by
    /// the pool's first job rather than before the server starts: it costs
    /// a whole hash (a quarter of a second at cost 12), which was most of a
    /// cold start. A login that needs it sooner waits for it.
    dummy_hash: Arc<std::sync::OnceLock<String>>,
}

type HashJob = Box<dyn FnOnce() + Send>;

/// The dummy hash, made on first use (by whichever hashing thread gets
/// there first; the others wait for it). A failure to hash leaves a
/// string no password verifies against, which costs no time: logged, as
/// it makes unknown users answer faster.
fn dummy_hash_of(slot: &std::sync::OnceLock<String>, cost: u32) -> &str {
    slot.get_or_init(|| {
        let random = Zeroizing::new(new_id());
        password::hash(&random, cost).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot make the dummy password hash");
            String::new()
        })
    })
}

/// Logins waiting for a hashing thread, at most; past that they get a 503
/// instead of queueing without bound.
const HASH_QUEUE: usize = 1024;

impl Hasher {
    pub fn new(threads: usize, cost: u32) -> Result<Self, Error> {
        let threads = if threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            threads
        };
        let dummy_hash = Arc::new(std::sync::OnceLock::new());
        let (jobs, queue) = std::sync::mpsc::sync_channel::<HashJob>(HASH_QUEUE);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("ironstone-hash-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The pool ends when the last Hasher is dropped.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| Error::Config(format!("cannot start a hashing thread: {e}")))?;
        }
        let first = Arc::clone(&dummy_hash);
        jobs.try_send(Box::new(move || {
            dummy_hash_of(&first, cost);
        }))
        .map_err(|e| Error::Config(format!("cannot queue the dummy hash: {e}")))?;
        Ok(Hasher {
            jobs,
            waiting: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            cost,
            dummy_hash,
        })
    }

    /// Password hashes waiting for a hashing thread.
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs `f` on a hashing thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = tokio::sync::oneshot::channel();
        let waiting = Arc::clone(&self.waiting);
        waiting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = Arc::clone(&waiting);
        let job: HashJob = Box::new(move || {
            started.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            let _ = done.send(f());
        });
        self.jobs.try_send(job).map_err(|e| {
            waiting.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            match e {
                std::sync::mpsc::TrySendError::Full(_) => {
                    Error::Unavailable("too many logins at once; try again".into())
                }
                std::sync::mpsc::TrySendError::Disconnected(_) => {
                    Error::Unavailable("the service is shutting down".into())
                }
            }
        })?;
        result
            .await
            .map_err(|_| Error::Internal("a hashing task failed".into()))
    }

    /// True when `password` matches `stored`; with no stored hash it checks
    /// the dummy hash and answers false.
    pub async fn verify(
        &self,
        password: Zeroizing<String>,
        stored: Option<String>,
    ) -> Result<bool, Error> {
        let dummy = Arc::clone(&self.dummy_hash);
        let cost = self.cost;
        self.run(move || match stored {
            Some(hash) => password::verify(&password, &hash),
            None => {
                let _ = password::verify(&password, dummy_hash_of(&dummy, cost));
                false
            }
        })
        .await
    }

    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String, Error> {
        let cost = self.cost;
        self.run(move || password::hash(&password, cost))
            .await?
            .map_err(Error::Internal)
    }

    /// For the CLI, outside the async runtime.
    pub fn hash_blocking(&self, password: &str) -> Result<String, Error> {
        password::hash(password, self.cost).map_err(Error::Internal)
    }

    pub fn verify_blocking(&self, password: &str, stored: &str) -> bool {
        password::verify(password, stored)
    }
}

/// Makes the calling (hashing) thread yield to request handling: SCHED_BATCH
/// at nice 10. Best effort: where the system refuses, hashing runs at
/// normal priority.
fn lower_priority() {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    };
    // Crossplatform 22 maps to nice 10 on Linux.
    let Ok(value) = ThreadPriorityValue::try_from(22u8) else {
        return;
    };
    if let Err(e) = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch),
    ) {
        tracing::debug!(error = ?e, "cannot lower the hashing threads' priority");
    }
}

/// Filters for listing users; `None` matches all.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub enabled: Option<bool>,
    /// Keystone 30's page marker: only users after this one (by id).
    pub marker: Option<String>,
}

/// Users in id order, as Keystone 30 pages them.
pub fn list_users(conn: &mut Conn, filter: &UserFilter) -> Result<Vec<User>, Error> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(marker) = &filter.marker {
        let known: i64 = users::table.find(marker).count().get_result(conn)?;
        if known == 0 {
            return Err(crate::store::marker_not_found(marker));
        }
        query = query.filter(users::id.gt(marker.clone()));
    }
    if let Some(n) = &filter.name {
        query = query.filter(users::name.eq(n.clone()));
    }
    if let Some(d) = &filter.domain_id {
        query = query.filter(users::domain_id.eq(d.clone()));
    }
    if let Some(e) = filter.enabled {
        query = query.filter(users::enabled.eq(e));
    }
    let rows = query.order(users::id.asc()).load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.extend(with_password_expiry(conn, Some(row))?);
    }
    Ok(out)
}

/// Keystone's free-form user attributes (`email`, `description`, …),
/// shown flattened in the user.
pub fn set_extra(conn: &mut Conn, user_id: &str, extra: &Map<String, Value>) -> Result<(), Error> {
    let text = Value::Object(extra.clone()).to_string();
    diesel::update(users::table.find(user_id))
        .set(users::extra.eq(text))
        .execute(conn)?;
    Ok(())
}

/// Changes to a user; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct UserPatch {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub default_project_id: Option<Option<String>>,
    /// An already computed hash.
    pub password_hash: Option<String>,
    /// Extra attributes to set (`null` removes one).
    pub extra: Map<String, Value>,
}

/// Applies a patch. Disabling the user or changing the password revokes
/// the user's tokens.
pub fn update_user(conn: &mut Conn, id: &str, patch: UserPatch) -> Result<User, Error> {
    let current = get_user(conn, id)?.ok_or_else(|| not_found_user(id))?;
    if let Some(name) = &patch.name {
        if name != &current.name && find_user_by_name(conn, &current.domain_id, name)?.is_some() {
            return Err(Error::Conflict(format!(
                "Conflict occurred attempting to store user - Duplicate entry found with name {name} at domain ID {}.",
                current.domain_id
            )));
        }
        diesel::update(users::table.find(id))
            .set(users::name.eq(name))
            .execute(conn)?;
    }
    if let Some(default_project) = &patch.default_project_id {
        if let Some(p) = default_project {
            if crate::resource::get_project(conn, p)?.is_none() {
                return Err(Error::BadRequest(format!(
                    "The default project {p} does not exist."
                )));
            }
        }
        diesel::update(users::table.find(id))
            .set(users::default_project_id.eq(default_project))
            .execute(conn)?;
    }
    if !patch.extra.is_empty() {
        let mut extra = current.extra.clone();
        for (k, v) in patch.extra {
            if v.is_null() {
                extra.remove(&k);
            } else {
                extra.insert(k, v);
            }
        }
        set_extra(conn, id, &extra)?;
    }
    if let Some(hash) = patch.password_hash {
        change_password(conn, id, hash, false)?;
    }
    if let Some(enabled) = patch.enabled {
        set_user_enabled(conn, id, enabled)?;
    }
    crate::notify::updated("user", id);
    get_user(conn, id)?.ok_or_else(|| not_found_user(id))
}

/// A group as Keystone shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: Option<String>,
    /// Keystone's `extra`: the attributes it keeps beside its columns.
    pub extra: Map<String, Value>,
}

impl Group {}

impl From<crate::store::rows::GroupRow> for Group {
    fn from(r: crate::store::rows::GroupRow) -> Self {
        Group {
            id: r.id,
            name: r.name,
            domain_id: r.domain_id,
            description: r.description,
            extra: crate::store::extra::parse(&r.extra),
        }
    }
}

pub fn not_found_group(id: &str) -> Error {
    Error::NotFound(format!("Could not find group: {id}."))
}

pub fn get_group(conn: &mut Conn, id: &str) -> Result<Option<Group>, Error> {
    use crate::store::schema::groups;
    Ok(groups::table
        .find(id)
        .select(crate::store::rows::GroupRow::as_select())
        .first(conn)
        .optional()?
        .map(Group::from))
}

/// Groups in id order, after `marker` if given, as Keystone 30 pages them.
pub fn list_groups(
    conn: &mut Conn,
    name: Option<&str>,
    domain_id: Option<&str>,
    marker: Option<&str>,
) -> Result<Vec<Group>, Error> {
    use crate::store::schema::groups;
    let mut query = groups::table
        .select(crate::store::rows::GroupRow::as_select())
        .into_boxed();
    if let Some(marker) = marker {
        let known: i64 = groups::table.find(marker).count().get_result(conn)?;
        if known == 0 {
            return Err(crate::store::marker_not_found(marker));
        }
        query = query.filter(groups::id.gt(marker.to_string()));
    }
    if let Some(n) = name {
        query = query.filter(groups::name.eq(n.to_string()));
    }
    if let Some(d) = domain_id {
        query = query.filter(groups::domain_id.eq(d.to_string()));
    }
    Ok(query
        .order(groups::id.asc())
        .load(conn)?
        .into_iter()
        .map(Group::from)
        .collect())
}

fn group_name_taken(
    conn: &mut Conn,
    domain_id: &str,
    name: &str,
    except: Option<&str>,
) -> Result<bool, Error> {
    use crate::store::schema::groups;
    let mut query = groups::table
        .filter(groups::domain_id.eq(domain_id.to_string()))
        .filter(groups::name.eq(name.to_string()))
        .count()
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(groups::id.ne(id.to_string()));
    }
    Ok(query.get_result::<i64>(conn)? > 0)
}

pub fn create_group(
    conn: &mut Conn,
    name: &str,
    domain_id: &str,
    description: Option<&str>,
    extra: &Map<String, Value>,
) -> Result<Group, Error> {
    use crate::store::schema::groups;
    if crate::resource::get_domain(conn, domain_id)?.is_none() {
        return Err(crate::resource::not_found_domain(domain_id));
    }
    if group_name_taken(conn, domain_id, name, None)? {
        return Err(Error::Conflict(format!(
            "Conflict occurred attempting to store group - Duplicate entry found with name {name} at domain ID {domain_id}."
        )));
    }
    let row = crate::store::rows::GroupRow {
        id: new_id(),
        name: name.to_string(),
        domain_id: domain_id.to_string(),
        description: description.map(str::to_string),
        extra: crate::store::extra::text(extra),
        created_at: now_micros(),
    };
    diesel::insert_into(groups::table)
        .values(&row)
        .execute(conn)?;
    crate::notify::created("group", &row.id);
    Ok(row.into())
}

pub fn update_group(
    conn: &mut Conn,
    id: &str,
    name: Option<&str>,
    description: Option<Option<&str>>,
    extra: &Map<String, Value>,
) -> Result<Group, Error> {
    use crate::store::schema::groups;
    let current = get_group(conn, id)?.ok_or_else(|| not_found_group(id))?;
    if let Some(name) = name {
        if group_name_taken(conn, &current.domain_id, name, Some(id))? {
            return Err(Error::Conflict(format!(
                "Conflict occurred attempting to store group - Duplicate entry found with name {name} at domain ID {}.",
                current.domain_id
            )));
        }
        diesel::update(groups::table.find(id))
            .set(groups::name.eq(name))
            .execute(conn)?;
    }
    if let Some(description) = description {
        diesel::update(groups::table.find(id))
            .set(groups::description.eq(description))
            .execute(conn)?;
    }
    if let Some(extra) = crate::store::extra::merged(&current.extra, extra) {
        diesel::update(groups::table.find(id))
            .set(groups::extra.eq(extra))
            .execute(conn)?;
    }
    crate::notify::updated("group", id);
    get_group(conn, id)?.ok_or_else(|| not_found_group(id))
}

/// Deletes a group and its memberships (its assignments are gone, see
/// `cascade`).
pub fn delete_group(conn: &mut Conn, id: &str) -> Result<(), Error> {
    use crate::store::schema::groups;
    get_group(conn, id)?.ok_or_else(|| not_found_group(id))?;
    diesel::delete(user_group_memberships::table.filter(user_group_memberships::group_id.eq(id)))
        .execute(conn)?;
    diesel::delete(groups::table.find(id)).execute(conn)?;
    crate::notify::deleted("group", id);
    Ok(())
}

pub fn is_member(conn: &mut Conn, user_id: &str, group_id: &str) -> Result<bool, Error> {
    Ok(user_group_memberships::table
        .filter(user_group_memberships::user_id.eq(user_id))
        .filter(user_group_memberships::group_id.eq(group_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Adds a user to a group; adding twice is not an error.
pub fn add_member(conn: &mut Conn, user_id: &str, group_id: &str) -> Result<(), Error> {
    if !is_member(conn, user_id, group_id)? {
        diesel::insert_into(user_group_memberships::table)
            .values((
                user_group_memberships::user_id.eq(user_id),
                user_group_memberships::group_id.eq(group_id),
            ))
            .execute(conn)?;
    }
    crate::notify::membership(group_id, user_id, true);
    Ok(())
}

pub fn remove_member(conn: &mut Conn, user_id: &str, group_id: &str) -> Result<(), Error> {
    let n = diesel::delete(
        user_group_memberships::table
            .filter(user_group_memberships::user_id.eq(user_id))
            .filter(user_group_memberships::group_id.eq(group_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound(format!(
            "Could not find user {user_id} in group {group_id}."
        )));
    }
    crate::notify::membership(group_id, user_id, false);
    Ok(())
}

pub fn users_in_group(conn: &mut Conn, group_id: &str) -> Result<Vec<User>, Error> {
    let ids: Vec<String> = user_group_memberships::table
        .filter(user_group_memberships::group_id.eq(group_id))
        .select(user_group_memberships::user_id)
        .load(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get_user(conn, &id)?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub fn groups_of_user(conn: &mut Conn, user_id: &str) -> Result<Vec<Group>, Error> {
    let ids = group_ids_of_user(conn, user_id)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get_group(conn, &id)?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The users and the groups that live in a domain.
pub fn members_of_domain(
    conn: &mut Conn,
    domain_id: &str,
) -> Result<(Vec<String>, Vec<String>), Error> {
    use crate::store::schema::groups;
    let user_ids = users::table
        .filter(users::domain_id.eq(domain_id))
        .select(users::id)
        .load(conn)?;
    let group_ids = groups::table
        .filter(groups::domain_id.eq(domain_id))
        .select(groups::id)
        .load(conn)?;
    Ok((user_ids, group_ids))
}

/// A group to create through the API.
#[derive(Debug, Clone)]
pub struct GroupInput {
    pub name: String,
    /// Defaults to the caller's domain, then the default domain.
    pub domain_id: Option<String>,
    pub description: Option<String>,
    pub extra: Map<String, Value>,
}

/// Changes to a group; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    /// The domain the body names, if it does: it may only repeat it.
    pub domain_id: Option<Option<String>>,
    /// Attributes to set in Keystone's `extra` (merged into it).
    pub extra: Map<String, Value>,
}

/// The identity subsystem's use cases for groups and their members
/// (Keystone's `identity_api`).
#[derive(Clone)]
pub struct Groups {
    db: crate::store::Database,
    users: Users,
    default_domain_id: String,
}

impl Groups {
    pub fn new(db: crate::store::Database, users: Users, default_domain_id: String) -> Self {
        Groups {
            db,
            users,
            default_domain_id,
        }
    }

    /// The group, or Keystone's 404.
    pub async fn load(&self, id: Input<String>) -> Result<Group, Error> {
        self.db.load(id, get_group, not_found_group).await
    }

    /// The group after `rule` allowed the caller on its domain.
    pub async fn authorized(
        &self,
        caller: &Caller,
        rule: Policy,
        id: Input<String>,
    ) -> Result<Group, Error> {
        let group = self.load(id).await?;
        policy::enforce(rule, caller, Target::in_domain(&group.domain_id))?;
        Ok(group)
    }

    pub async fn create(&self, caller: &Caller, new: Input<GroupInput>) -> Result<Group, Error> {
        let new = new?;
        let domain_id = new
            .domain_id
            .or_else(|| caller.domain_id().map(str::to_string))
            .unwrap_or_else(|| self.default_domain_id.clone());
        policy::enforce(policy::MANAGE_GROUPS, caller, Target::in_domain(&domain_id))?;
        self.db
            .write(move |conn| {
                create_group(
                    conn,
                    &new.name,
                    &domain_id,
                    new.description.as_deref(),
                    &new.extra,
                )
            })
            .await
    }

    pub async fn list(
        &self,
        caller: &Caller,
        name: Option<String>,
        domain_id: Option<String>,
        marker: Option<String>,
    ) -> Result<Vec<Group>, Error> {
        let domain = policy::list_domain(policy::LIST_GROUPS, caller, domain_id)?;
        self.db
            .read(move |conn| {
                list_groups(conn, name.as_deref(), domain.as_deref(), marker.as_deref())
            })
            .await
    }

    pub async fn get(&self, caller: &Caller, id: Input<String>) -> Result<Group, Error> {
        self.authorized(caller, policy::READ_GROUPS, id).await
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: Input<String>,
        patch: Input<GroupPatch>,
    ) -> Result<Group, Error> {
        let patch = patch?;
        let group = self.authorized(caller, policy::MANAGE_GROUPS, id).await?;
        crate::resource::require_matching_domain(&patch.domain_id, &group.domain_id)?;
        self.db
            .write(move |conn| {
                update_group(
                    conn,
                    &group.id,
                    patch.name.as_deref(),
                    patch.description.as_ref().map(|d| d.as_deref()),
                    &patch.extra,
                )
            })
            .await
    }

    pub async fn users(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<(Group, Vec<User>), Error> {
        let group = self.authorized(caller, policy::READ_GROUPS, id).await?;
        let gid = group.id.clone();
        let users = self.db.read(move |conn| users_in_group(conn, &gid)).await?;
        Ok((group, users))
    }

    /// The group and the user of a membership route, after the rule
    /// (managers act only when both live in their domain).
    pub async fn membership(
        &self,
        caller: &Caller,
        group_id: Input<String>,
        user_id: Input<String>,
        manage: bool,
    ) -> Result<(Group, User), Error> {
        let group = self.load(group_id).await?;
        let user = self.users.load(user_id).await?;
        policy::enforce_membership(caller, manage, &group.domain_id, &user.domain_id)?;
        Ok((group, user))
    }

    pub async fn add_member(
        &self,
        caller: &Caller,
        group_id: Input<String>,
        user_id: Input<String>,
    ) -> Result<(), Error> {
        let (group, user) = self.membership(caller, group_id, user_id, true).await?;
        self.db
            .write(move |conn| add_member(conn, &user.id, &group.id))
            .await
    }

    pub async fn check_member(
        &self,
        caller: &Caller,
        group_id: Input<String>,
        user_id: Input<String>,
    ) -> Result<(), Error> {
        let (group, user) = self.membership(caller, group_id, user_id, false).await?;
        let (g, u) = (group.id.clone(), user.id.clone());
        if self.db.read(move |conn| is_member(conn, &u, &g)).await? {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "Could not find user {} in group {}.",
                user.id, group.id
            )))
        }
    }

    /// The groups a user is in (Keystone checks `list_user_projects`'s
    /// rule with the user as target).
    pub async fn of_user(
        &self,
        caller: &Caller,
        user_id: Input<String>,
    ) -> Result<Vec<Group>, Error> {
        let user = self
            .users
            .authorized(caller, policy::LIST_USER_PROJECTS, user_id)
            .await?;
        self.db
            .read(move |conn| groups_of_user(conn, &user.id))
            .await
    }
}

/// A user to create through the API. `details` are checked only once the
/// caller may create users in the domain, as in Keystone.
#[derive(Debug)]
pub struct UserInput {
    pub name: String,
    /// Defaults to the caller's domain, then the default domain.
    pub domain_id: Option<String>,
    pub details: Input<UserDetails>,
}

#[derive(Debug)]
pub struct UserDetails {
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub extra: Map<String, Value>,
    pub password: Option<crate::secret::Secret>,
}

/// Changes to a user through the API; the password is hashed by the use
/// case.
#[derive(Debug, Default)]
pub struct UserChange {
    /// The domain the body names, if it does: it may only repeat it.
    pub domain_id: Option<Option<String>>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub default_project_id: Option<Option<String>>,
    pub password: Option<crate::secret::Secret>,
    pub extra: Map<String, Value>,
}

/// The identity subsystem's use cases for users (Keystone's
/// `identity_api`).
#[derive(Clone)]
pub struct Users {
    db: crate::store::Database,
    hasher: Hasher,
    default_domain_id: String,
}

/// The rules about a user name the user and its domain.
fn user_target(user: &User) -> Target<'_> {
    Target {
        user_id: Some(&user.id),
        domain_id: Some(&user.domain_id),
        ..Default::default()
    }
}

impl Users {
    pub fn new(db: crate::store::Database, hasher: Hasher, default_domain_id: String) -> Self {
        Users {
            db,
            hasher,
            default_domain_id,
        }
    }

    async fn hash(&self, password: Option<crate::secret::Secret>) -> Result<Option<String>, Error> {
        match password {
            Some(p) => Ok(Some(self.hasher.hash(p.into_zeroizing()).await?)),
            None => Ok(None),
        }
    }

    /// The user, or Keystone's 404.
    pub async fn load(&self, id: Input<String>) -> Result<User, Error> {
        self.db.load(id, get_user, not_found_user).await
    }

    /// The user after `rule` allowed the caller on it.
    pub async fn authorized(
        &self,
        caller: &Caller,
        rule: Policy,
        id: Input<String>,
    ) -> Result<User, Error> {
        let user = self.load(id).await?;
        policy::enforce(rule, caller, user_target(&user))?;
        Ok(user)
    }

    pub async fn create(&self, caller: &Caller, new: Input<UserInput>) -> Result<User, Error> {
        let new = new?;
        // Keystone's rule sees the body as given; the user then goes to the
        // domain asked for, else the token's domain scope, else the default.
        let asked = Target {
            domain_id: new.domain_id.as_deref(),
            ..Default::default()
        };
        policy::enforce(policy::CREATE_USER, caller, asked)?;
        let domain_id = new
            .domain_id
            .or_else(|| caller.domain_id().map(str::to_string))
            .unwrap_or_else(|| self.default_domain_id.clone());
        let details = new.details?;
        let password_hash = self.hash(details.password).await?;
        let name = new.name;
        self.db
            .write(move |conn| {
                if let Some(p) = &details.default_project_id {
                    if crate::resource::get_project(conn, p)?.is_none() {
                        return Err(Error::BadRequest(format!(
                            "The default project {p} does not exist."
                        )));
                    }
                }
                let user = create_user(
                    conn,
                    NewUser {
                        name: &name,
                        domain_id: &domain_id,
                        enabled: details.enabled,
                        default_project_id: details.default_project_id.as_deref(),
                        password_hash,
                    },
                )?;
                if !details.extra.is_empty() {
                    set_extra(conn, &user.id, &details.extra)?;
                }
                get_user(conn, &user.id)?.ok_or_else(|| not_found_user(&user.id))
            })
            .await
    }

    pub async fn list(&self, caller: &Caller, mut filter: UserFilter) -> Result<Vec<User>, Error> {
        filter.domain_id =
            policy::list_domain(policy::LIST_USERS, caller, filter.domain_id.take())?;
        self.db.read(move |conn| list_users(conn, &filter)).await
    }

    pub async fn get(&self, caller: &Caller, id: Input<String>) -> Result<User, Error> {
        self.authorized(caller, policy::GET_USER, id).await
    }

    /// `change` is checked in two steps, as Keystone does: its shape
    /// before the user is looked up, its fields after the rule passed.
    pub async fn update(
        &self,
        caller: &Caller,
        id: Input<String>,
        change: Input<Input<UserChange>>,
    ) -> Result<User, Error> {
        let change = change?;
        let user = self.authorized(caller, policy::UPDATE_USER, id).await?;
        let change = change?;
        crate::resource::require_matching_domain(&change.domain_id, &user.domain_id)?;
        let patch = UserPatch {
            password_hash: self.hash(change.password).await?,
            name: change.name,
            enabled: change.enabled,
            default_project_id: change.default_project_id,
            extra: change.extra,
        };
        self.db
            .write(move |conn| update_user(conn, &user.id, patch))
            .await
    }

    /// `DELETE /v3/users/{user_id}/tokens`: every token of the user stops
    /// validating (a revocation event by user). The rule is checked
    /// against the id in the URL before the user is looked up, so a
    /// caller who may not act learns nothing of who exists (Keystone's
    /// order).
    pub async fn revoke_tokens(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        let id = id?;
        policy::enforce(policy::REVOKE_USER_TOKENS, caller, Target::owned_by(&id))?;
        let user = self.load(Ok(id)).await?;
        self.db
            .write(move |conn| revoke_user_tokens(conn, &user.id))
            .await
    }

    /// `POST /v3/users/{user_id}/password`: self-service with the original
    /// password instead of a token. Revokes the user's tokens.
    pub async fn change_password(
        &self,
        user_id: String,
        original: crate::secret::Secret,
        new: crate::secret::Secret,
    ) -> Result<(), Error> {
        let lookup = user_id.clone();
        let found = self
            .db
            .read(move |conn| {
                let user = get_user(conn, &lookup)?;
                let hash = current_password(conn, &lookup)?.map(|p| p.password_hash);
                Ok(user.map(|u| (u, hash)))
            })
            .await?;
        let stored = found.as_ref().and_then(|(_, h)| h.clone());
        let matched = self
            .hasher
            .verify(original.into_zeroizing(), stored)
            .await?;
        match found {
            Some((user, _)) if matched && user.enabled => {}
            _ => return Err(Error::unauthorized()),
        }
        let hash = self.hasher.hash(new.into_zeroizing()).await?;
        self.db
            .write(move |conn| change_password(conn, &user_id, hash, true))
            .await
    }
}
