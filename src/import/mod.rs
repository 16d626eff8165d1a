//! `ironstone import keystone`: takes over a running Keystone deployment
//! without logging anyone out.
//!
//! Every row keeps Keystone's id, so Keystone's Fernet tokens (which carry
//! ids) validate here once the token keys are adopted; password hashes are
//! kept as they are (Ironstone verifies every format Keystone writes);
//! credential blobs are decrypted with Keystone's credential keys and
//! re-encrypted with ours; revocation events come along so that a token
//! revoked in Keystone stays revoked.
//!
//! The import reads the whole source first, checks it (blobs decrypt,
//! names do not collide with rows Ironstone made itself), and writes in one
//! transaction: it either lands whole or changes nothing. Re-running it is
//! safe: rows are matched by id, unchanged rows are left alone, changed
//! ones are brought back in line with Keystone, and rows that exist only
//! in Ironstone are kept.

pub mod source;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::credential::CredentialCipher;
use crate::error::Error;
use crate::limit;
use crate::secret::Secret;
use crate::store::rows::{
    AccessRuleRow, AppCredRow, DomainRow, EndpointRow, GroupRow, PasswordRow, ProjectRow,
    RegionRow, RevocationEventRow, RoleRow, ServiceRow, UserRow,
};
use crate::store::schema::{
    access_rules, application_credential_access_rules, application_credential_roles,
    application_credentials, credentials, domain_tags, domains, endpoints, groups, implied_roles,
    passwords, project_tags, projects, regions, revocation_events, role_assignments, roles,
    services, user_group_memberships, users,
};
use crate::store::{now_micros, Conn, Database};
use crate::token::keys::KeyAdoption;
use crate::token::{KeyRepository, KeyRing};
use source::*;

/// Keystone's parent of every domain row in `project`.
const DOMAIN_ROOT: &str = "<<keystone.domain.root>>";
/// Keystone's `role.domain_id` for global roles.
const NULL_DOMAIN: &str = "<<null>>";

/// What to import and from where.
pub struct ImportOptions<'a> {
    /// Keystone's `[database] connection` (or a plain URL or path).
    pub database_url: &'a str,
    /// Keystone's `[fernet_tokens] key_repository`: adopted so that its
    /// tokens validate here.
    pub fernet_keys: Option<&'a Path>,
    /// Keystone's `[credential] key_repository`: decrypts its credential
    /// blobs. Without it the blobs must decrypt with Ironstone's own
    /// credential keys (an operator who copied Keystone's keys over).
    pub credential_keys: Option<&'a Path>,
}

/// How many rows of one kind the import created, brought up to date, or
/// found already matching.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// The counts of one kind of row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub kind: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// What the import did, kind by kind, in the order it ran.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    pub counts: Vec<KindCounts>,
    /// Rows that have no place in Ironstone, with the reason.
    pub skipped: Vec<String>,
    /// The token key repository after adoption, when keys were given.
    pub token_keys: Option<KeyAdoption>,
}

impl ImportReport {
    fn count(&mut self, kind: &str, outcome: Outcome) {
        let entry = match self.counts.iter().position(|k| k.kind == kind) {
            Some(i) => &mut self.counts[i].counts,
            None => {
                self.counts.push(KindCounts {
                    kind: kind.to_string(),
                    counts: Counts::default(),
                });
                let last = self.counts.len() - 1;
                &mut self.counts[last].counts
            }
        };
        match outcome {
            Outcome::Created => entry.created += 1,
            Outcome::Updated => entry.updated += 1,
            Outcome::Unchanged => entry.unchanged += 1,
        }
    }

    /// A row left out, counted by reason.
    fn skip(&mut self, reason: &str) {
        let suffix = format!(" {reason}");
        match self.skipped.iter_mut().find(|s| s.ends_with(&suffix)) {
            Some(entry) => {
                let n: u64 = entry
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                *entry = format!("{}{suffix}", n + 1);
            }
            None => self.skipped.push(format!("1{suffix}")),
        }
    }

    /// True when nothing was created or changed: a repeated import.
    pub fn changed_nothing(&self) -> bool {
        self.counts
            .iter()
            .all(|k| k.counts.created == 0 && k.counts.updated == 0)
            && self.token_keys.as_ref().is_none_or(|k| !k.changed)
    }

    /// A table for the operator.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{:<36} {:>9} {:>9} {:>9}\n",
            "kind", "created", "updated", "unchanged"
        );
        for KindCounts { kind, counts: c } in &self.counts {
            out.push_str(&format!(
                "{kind:<36} {:>9} {:>9} {:>9}\n",
                c.created, c.updated, c.unchanged
            ));
        }
        if let Some(keys) = &self.token_keys {
            out.push_str(&format!(
                "token keys: {} ({} from Keystone, {} of Ironstone's kept), primary is key {}\n",
                if keys.changed {
                    "adopted"
                } else {
                    "already adopted"
                },
                keys.from_keystone,
                keys.kept,
                keys.primary
            ));
        }
        for s in &self.skipped {
            out.push_str(&format!("skipped: {s}\n"));
        }
        if self.changed_nothing() {
            out.push_str("nothing changed: Ironstone already matched this Keystone\n");
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Everything read from Keystone, before anything is written.
struct KeystoneData {
    projects: Vec<KsProject>,
    tags: Vec<KsPair>,
    users: Vec<KsUser>,
    user_options: Vec<KsOption>,
    passwords: Vec<KsPassword>,
    groups: Vec<KsGroup>,
    memberships: Vec<KsPair>,
    roles: Vec<KsRole>,
    role_options: Vec<KsOption>,
    implied_roles: Vec<KsPair>,
    assignments: Vec<KsAssignment>,
    regions: Vec<KsRegion>,
    services: Vec<KsService>,
    endpoints: Vec<KsEndpoint>,
    registered_limits: Vec<KsRegisteredLimit>,
    limits: Vec<KsLimit>,
    trusts: Vec<KsTrust>,
    trust_roles: Vec<KsPair>,
    /// With their blobs already decrypted.
    credentials: Vec<(KsCredential, Secret)>,
    access_rules: Vec<KsAccessRule>,
    app_creds: Vec<KsAppCred>,
    app_cred_roles: Vec<KsLink>,
    app_cred_rules: Vec<KsLink>,
    revocations: Vec<KsRevocation>,
    parity: parity::ParityData,
}

fn optional<T>(src: &mut Source, table: &str, sql: &str) -> Result<Vec<T>, Error>
where
    T: diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
        + diesel::deserialize::QueryableByName<diesel::pg::Pg>
        + diesel::deserialize::QueryableByName<diesel::mysql::Mysql>
        + 'static,
{
    if src.has_table(table)? {
        src.load(sql)
    } else {
        Ok(Vec::new())
    }
}

impl KeystoneData {
    fn read(src: &mut Source, keystone_cipher: &CredentialCipher) -> Result<Self, Error> {
        src.check_is_keystone()?;
        let mut assignments: Vec<KsAssignment> = src.load(ASSIGNMENTS)?;
        assignments.extend(optional::<KsAssignment>(
            src,
            "system_assignment",
            SYSTEM_ASSIGNMENTS,
        )?);
        let raw_credentials: Vec<KsCredential> = optional(src, "credential", CREDENTIALS)?;
        let mut credentials = Vec::with_capacity(raw_credentials.len());
        for c in raw_credentials {
            let plaintext = keystone_cipher.decrypt(&c.encrypted_blob).map_err(|_| {
                Error::Config(format!(
                    "credential {} does not decrypt with the given credential keys: pass Keystone's [credential] key_repository as --credential-keys",
                    c.id
                ))
            })?;
            credentials.push((c, plaintext));
        }
        Ok(KeystoneData {
            projects: src.load(PROJECTS)?,
            tags: optional(src, "project_tag", PROJECT_TAGS)?,
            users: src.load(USERS)?,
            user_options: optional(src, "user_option", USER_OPTIONS)?,
            passwords: optional(src, "password", PASSWORDS)?,
            groups: optional(src, "group", GROUPS)?,
            memberships: optional(src, "user_group_membership", MEMBERSHIPS)?,
            roles: src.load(ROLES)?,
            role_options: optional(src, "role_option", ROLE_OPTIONS)?,
            implied_roles: optional(src, "implied_role", IMPLIED_ROLES)?,
            assignments,
            regions: optional(src, "region", REGIONS)?,
            services: optional(src, "service", SERVICES)?,
            endpoints: optional(src, "endpoint", ENDPOINTS)?,
            registered_limits: optional(src, "registered_limit", REGISTERED_LIMITS)?,
            limits: optional(src, "limit", LIMITS)?,
            trusts: optional(src, "trust", TRUSTS)?,
            trust_roles: optional(src, "trust_role", TRUST_ROLES)?,
            credentials,
            access_rules: optional(src, "access_rule", ACCESS_RULES)?,
            app_creds: optional(src, "application_credential", APP_CREDS)?,
            app_cred_roles: optional(src, "application_credential_role", APP_CRED_ROLES)?,
            app_cred_rules: optional(src, "application_credential_access_rule", APP_CRED_RULES)?,
            revocations: optional(src, "revocation_event", REVOCATIONS)?,
            parity: parity::ParityData::read(src)?,
        })
    }
}

/// Runs the import: reads Keystone, writes one transaction, then adopts the
/// token keys. `ours` encrypts the credential blobs at rest.
pub fn import_keystone(
    db: &Database,
    ours: &CredentialCipher,
    token_keys: &KeyRepository,
    options: &ImportOptions<'_>,
) -> Result<ImportReport, Error> {
    let keystone_cipher = match options.credential_keys {
        Some(dir) => Some(CredentialCipher::new(KeyRing::new(KeyRepository::new(
            dir,
            usize::MAX,
        ))?)),
        None => None,
    };
    let mut src = Source::open(options.database_url)?;
    let data = KeystoneData::read(&mut src, keystone_cipher.as_ref().unwrap_or(ours))?;
    drop(src);
    let mut report = db.blocking(|conn| write_all(conn, ours, &data))?;
    if let Some(dir) = options.fernet_keys {
        report.token_keys = Some(token_keys.adopt(&KeyRepository::new(dir, usize::MAX))?);
    }
    Ok(report)
}

/// A stable id for a Keystone row that has only an integer key, so a
/// repeated import finds what the first one wrote.
fn derived_id(kind: &str, keystone_id: i64) -> String {
    let digest = Sha256::digest(format!("keystone-import:{kind}:{keystone_id}").as_bytes());
    hex::encode(&digest[..16])
}

/// Keystone's JSON `extra` column as Ironstone stores it (an object).
fn extra_json(extra: &Option<String>) -> Map<String, Value> {
    extra
        .as_deref()
        .and_then(|e| serde_json::from_str::<Value>(e).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

fn json_text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

/// A row of ours with the same name and another id: the import stops, by
/// the subsystem's own uniqueness rule (its lookup by name).
fn refuse_clash(
    kind: &str,
    name: &str,
    keystone_id: &str,
    ours: Option<String>,
) -> Result<(), Error> {
    match ours {
        Some(other) if other != keystone_id => Err(conflict(kind, name, keystone_id, &other)),
        _ => Ok(()),
    }
}

fn conflict(kind: &str, name: &str, keystone_id: &str, ours: &str) -> Error {
    Error::Conflict(format!(
        "Keystone's {kind} {name:?} (id {keystone_id}) has the same name as {kind} {ours} already in Ironstone's database. \
         Import into a database Ironstone has not bootstrapped (a new data directory, with no bootstrap password), \
         or delete the conflicting {kind} first; nothing was imported."
    ))
}

/// Inserts a row that is missing, updates one that differs, and leaves an
/// equal one alone. `$keep` carries fields Ironstone owns (creation time,
/// last activity) from the stored row into the new one before comparing.
macro_rules! upsert {
    ($conn:expr, $table:ident, $ty:ty, $row:expr, $keep:expr) => {{
        let mut row: $ty = $row;
        let existing: Option<$ty> = $table::table
            .find(&row.id)
            .select(<$ty>::as_select())
            .first($conn)
            .optional()?;
        match existing {
            None => {
                diesel::insert_into($table::table)
                    .values(&row)
                    .execute($conn)?;
                Outcome::Created
            }
            Some(old) => {
                let keep: fn(&$ty, &mut $ty) = $keep;
                keep(&old, &mut row);
                if old == row {
                    Outcome::Unchanged
                } else {
                    diesel::update($table::table.find(&row.id))
                        .set(&row)
                        .execute($conn)?;
                    Outcome::Updated
                }
            }
        }
    }};
}

/// Inserts a two-column link (`$a` in `$col_a`, `$b` in `$col_b`) unless
/// it is there.
macro_rules! insert_link {
    ($conn:expr, $table:ident, $col_a:ident = $a:expr, $col_b:ident = $b:expr) => {
        insert_missing!(
            $conn,
            $table,
            $table::$col_a.eq($a).and($table::$col_b.eq($b)),
            ($table::$col_a.eq($a), $table::$col_b.eq($b))
        )
    };
}

/// Inserts a row of a link table unless an equal one is there.
macro_rules! insert_missing {
    ($conn:expr, $table:ident, $filter:expr, $values:expr) => {{
        let present = $table::table
            .filter($filter)
            .count()
            .get_result::<i64>($conn)?
            > 0;
        if present {
            Outcome::Unchanged
        } else {
            diesel::insert_into($table::table)
                .values($values)
                .execute($conn)?;
            Outcome::Created
        }
    }};
}

mod parity;

fn write_all(
    conn: &mut Conn,
    ours: &CredentialCipher,
    data: &KeystoneData,
) -> Result<ImportReport, Error> {
    let mut report = ImportReport::default();
    let now = now_micros();
    let domain_ids = write_domains(conn, data, now, &mut report)?;
    let project_ids = write_projects(conn, data, &domain_ids, now, &mut report)?;
    let user_ids = write_users(conn, data, &domain_ids, now, &mut report)?;
    write_groups(conn, data, &user_ids, now, &mut report)?;
    write_roles(conn, data, now, &mut report)?;
    write_assignments(conn, data, &mut report)?;
    write_catalog(conn, data, &mut report)?;
    write_limits(conn, data, &project_ids, &domain_ids, &mut report)?;
    write_trusts(conn, data, &user_ids, &project_ids, &mut report)?;
    write_credentials(conn, ours, data, &user_ids, now, &mut report)?;
    write_application_credentials(conn, data, &user_ids, &project_ids, now, &mut report)?;
    parity::write(conn, ours, &data.parity, &mut report)?;
    write_revocations(conn, data, &mut report)?;
    Ok(report)
}

fn write_domains(
    conn: &mut Conn,
    data: &KeystoneData,
    now: i64,
    report: &mut ImportReport,
) -> Result<HashSet<String>, Error> {
    let mut ids = HashSet::new();
    for p in data
        .projects
        .iter()
        .filter(|p| p.is_domain != 0 && p.id != DOMAIN_ROOT)
    {
        let ours = crate::resource::find_domain_by_name(conn, &p.name)?.map(|d| d.id);
        refuse_clash("domain", &p.name, &p.id, ours)?;
        let row = DomainRow {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            enabled: p.enabled.unwrap_or(1) != 0,
            extra: json_text(&extra_json(&p.extra)),
            created_at: now,
        };
        let outcome = upsert!(conn, domains, DomainRow, row, |old, new| new.created_at =
            old.created_at);
        report.count("domains", outcome);
        ids.insert(p.id.clone());
    }
    // A domain's tags sit with the projects' in Keystone; its set here
    // becomes Keystone's.
    for domain_id in &ids {
        let tags: Vec<&str> = data
            .tags
            .iter()
            .filter(|t| &t.a == domain_id)
            .map(|t| t.b.as_str())
            .collect();
        diesel::delete(
            domain_tags::table
                .filter(domain_tags::domain_id.eq(domain_id))
                .filter(domain_tags::name.ne_all(tags.clone())),
        )
        .execute(conn)?;
        for tag in tags {
            let outcome = insert_link!(conn, domain_tags, domain_id = domain_id, name = tag);
            report.count("domain tags", outcome);
        }
    }
    Ok(ids)
}

fn write_projects(
    conn: &mut Conn,
    data: &KeystoneData,
    domain_ids: &HashSet<String>,
    now: i64,
    report: &mut ImportReport,
) -> Result<HashSet<String>, Error> {
    // Parents first: a project's parent is its domain or a project written
    // before it.
    let mut pending: Vec<&KsProject> = data.projects.iter().filter(|p| p.is_domain == 0).collect();
    let mut done: HashSet<String> = HashSet::new();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for p in pending {
            let parent = p.parent_id.as_deref().filter(|id| *id != p.domain_id);
            if parent.is_some_and(|id| !done.contains(id)) {
                rest.push(p);
                continue;
            }
            if !domain_ids.contains(&p.domain_id) {
                return Err(Error::Config(format!(
                    "Keystone's project {} names domain {} which the database does not hold",
                    p.id, p.domain_id
                )));
            }
            let ours = crate::resource::find_project_by_name(conn, &p.domain_id, &p.name)?
                .map(|found| found.id);
            refuse_clash("project", &p.name, &p.id, ours)?;
            let row = ProjectRow {
                id: p.id.clone(),
                name: p.name.clone(),
                domain_id: p.domain_id.clone(),
                parent_id: parent.map(str::to_string),
                description: p.description.clone(),
                enabled: p.enabled.unwrap_or(1) != 0,
                is_domain: false,
                extra: json_text(&extra_json(&p.extra)),
                created_at: now,
            };
            let outcome = upsert!(conn, projects, ProjectRow, row, |old, new| new.created_at =
                old.created_at);
            report.count("projects", outcome);
            done.insert(p.id.clone());
        }
        if rest.len() == before {
            let ids: Vec<&str> = rest.iter().map(|p| p.id.as_str()).collect();
            return Err(Error::Config(format!(
                "Keystone's projects {ids:?} have parents that are missing or form a cycle"
            )));
        }
        pending = rest;
    }
    // Tags: the project's set becomes Keystone's.
    let mut wanted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for t in data.tags.iter().filter(|t| done.contains(&t.a)) {
        wanted.entry(t.a.as_str()).or_default().insert(t.b.as_str());
    }
    for project_id in &done {
        let tags = wanted.remove(project_id.as_str()).unwrap_or_default();
        diesel::delete(
            project_tags::table
                .filter(project_tags::project_id.eq(project_id))
                .filter(project_tags::name.ne_all(tags.iter().copied().collect::<Vec<_>>())),
        )
        .execute(conn)?;
        for tag in tags {
            let outcome = insert_link!(conn, project_tags, project_id = project_id, name = tag);
            report.count("project tags", outcome);
        }
    }
    Ok(done)
}

/// Keystone's user option ids (`keystone/identity/backends/resource_options`)
/// and the names its API shows.
fn user_option_name(id: &str) -> Option<&'static str> {
    Some(match id {
        "1000" => "ignore_change_password_upon_first_use",
        "1001" => "ignore_password_expiry",
        "1002" => "ignore_lockout_failure_attempts",
        "1003" => "lock_password",
        "MFAR" => "multi_factor_auth_rules",
        "MFAE" => "multi_factor_auth_enabled",
        _ => return None,
    })
}

fn option_value(value: &Option<String>) -> Value {
    value
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or(Value::Null)
}

fn write_users(
    conn: &mut Conn,
    data: &KeystoneData,
    domain_ids: &HashSet<String>,
    now: i64,
    report: &mut ImportReport,
) -> Result<HashSet<String>, Error> {
    let mut options: HashMap<&str, Map<String, Value>> = HashMap::new();
    for o in &data.user_options {
        if let Some(name) = user_option_name(&o.option_id) {
            options
                .entry(o.owner_id.as_str())
                .or_default()
                .insert(name.into(), option_value(&o.option_value));
        }
    }
    let mut ids = HashSet::new();
    for u in &data.users {
        let Some(name) = u.local_name.as_ref().or(u.nonlocal_name.as_ref()) else {
            report.skipped.push(format!(
                "user {}: a federated user (Ironstone has no federation; it is re-created on the next federated login to a Keystone that has)",
                u.id
            ));
            continue;
        };
        if !domain_ids.contains(&u.domain_id) {
            report.skipped.push(format!(
                "user {}: its domain {} is not in the database",
                u.id, u.domain_id
            ));
            continue;
        }
        let ours =
            crate::identity::find_user_by_name(conn, &u.domain_id, name)?.map(|found| found.id);
        refuse_clash("user", name, &u.id, ours)?;
        let row = UserRow {
            id: u.id.clone(),
            name: name.clone(),
            domain_id: u.domain_id.clone(),
            enabled: u.enabled.unwrap_or(1) != 0,
            default_project_id: u.default_project_id.clone(),
            extra: json_text(&extra_json(&u.extra)),
            options: json_text(&options.remove(u.id.as_str()).unwrap_or_default()),
            created_at: u
                .created_at
                .as_deref()
                .and_then(parse_datetime_micros)
                .unwrap_or(now),
            last_active_at: u.last_active_at.as_deref().and_then(parse_datetime_micros),
        };
        let outcome = upsert!(conn, users, UserRow, row, |old, new| {
            // Activity seen by Ironstone since the last import is newer.
            new.last_active_at = old.last_active_at.max(new.last_active_at);
        });
        report.count("users", outcome);
        ids.insert(u.id.clone());
    }
    // Keystone's password history, under ids derived from its own, so a
    // password set in Ironstone later (newer created_at) stays current.
    for p in &data.passwords {
        let Some(hash) = &p.password_hash else {
            continue;
        };
        if !ids.contains(&p.user_id) {
            continue;
        }
        let id = derived_id("password", p.id);
        let outcome = insert_missing!(
            conn,
            passwords,
            passwords::id.eq(&id),
            &PasswordRow {
                id: id.clone(),
                user_id: p.user_id.clone(),
                password_hash: hash.clone(),
                self_service: p.self_service != 0,
                created_at: p.created_at_int,
                expires_at: p.expires_at_int,
            }
        );
        report.count("passwords", outcome);
    }
    Ok(ids)
}

fn write_groups(
    conn: &mut Conn,
    data: &KeystoneData,
    user_ids: &HashSet<String>,
    now: i64,
    report: &mut ImportReport,
) -> Result<(), Error> {
    let mut group_ids = HashSet::new();
    for g in &data.groups {
        let ours =
            crate::identity::find_group_by_name(conn, &g.domain_id, &g.name)?.map(|found| found.id);
        refuse_clash("group", &g.name, &g.id, ours)?;
        let row = GroupRow {
            id: g.id.clone(),
            name: g.name.clone(),
            domain_id: g.domain_id.clone(),
            description: g.description.clone(),
            extra: json_text(&extra_json(&g.extra)),
            created_at: now,
        };
        let outcome = upsert!(conn, groups, GroupRow, row, |old, new| new.created_at =
            old.created_at);
        report.count("groups", outcome);
        group_ids.insert(g.id.clone());
    }
    for m in &data.memberships {
        if !user_ids.contains(&m.a) || !group_ids.contains(&m.b) {
            continue;
        }
        let outcome = insert_link!(
            conn,
            user_group_memberships,
            user_id = &m.a,
            group_id = &m.b
        );
        report.count("group memberships", outcome);
    }
    Ok(())
}

fn write_roles(
    conn: &mut Conn,
    data: &KeystoneData,
    now: i64,
    report: &mut ImportReport,
) -> Result<(), Error> {
    let mut options: HashMap<&str, Map<String, Value>> = HashMap::new();
    for o in &data.role_options {
        if o.option_id == "IMMU" {
            options
                .entry(o.owner_id.as_str())
                .or_default()
                .insert("immutable".into(), option_value(&o.option_value));
        }
    }
    for r in &data.roles {
        let domain_id = if r.domain_id == NULL_DOMAIN {
            String::new()
        } else {
            r.domain_id.clone()
        };
        let ours =
            crate::assignment::find_role_by_name(conn, &domain_id, &r.name)?.map(|found| found.id);
        refuse_clash("role", &r.name, &r.id, ours)?;
        let row = RoleRow {
            id: r.id.clone(),
            name: r.name.clone(),
            domain_id,
            description: r.description.clone(),
            options: json_text(&options.remove(r.id.as_str()).unwrap_or_default()),
            extra: json_text(&extra_json(&r.extra)),
            created_at: now,
        };
        let outcome = upsert!(conn, roles, RoleRow, row, |old, new| new.created_at =
            old.created_at);
        report.count("roles", outcome);
    }
    for i in &data.implied_roles {
        let outcome = insert_link!(
            conn,
            implied_roles,
            prior_role_id = &i.a,
            implied_role_id = &i.b
        );
        report.count("implied roles", outcome);
    }
    Ok(())
}

fn write_assignments(
    conn: &mut Conn,
    data: &KeystoneData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    const KINDS: [&str; 6] = [
        "UserProject",
        "GroupProject",
        "UserDomain",
        "GroupDomain",
        "UserSystem",
        "GroupSystem",
    ];
    for a in &data.assignments {
        if !KINDS.contains(&a.kind.as_str()) {
            report.skipped.push(format!(
                "role assignment of type {} for {} on {}: not a type Ironstone knows",
                a.kind, a.actor_id, a.target_id
            ));
            continue;
        }
        let inherited = a.inherited != 0;
        let outcome = insert_missing!(
            conn,
            role_assignments,
            role_assignments::kind
                .eq(&a.kind)
                .and(role_assignments::actor_id.eq(&a.actor_id))
                .and(role_assignments::target_id.eq(&a.target_id))
                .and(role_assignments::role_id.eq(&a.role_id))
                .and(role_assignments::inherited.eq(inherited)),
            (
                role_assignments::kind.eq(&a.kind),
                role_assignments::actor_id.eq(&a.actor_id),
                role_assignments::target_id.eq(&a.target_id),
                role_assignments::role_id.eq(&a.role_id),
                role_assignments::inherited.eq(inherited),
            )
        );
        report.count("role assignments", outcome);
    }
    Ok(())
}

fn outcome_of(put: crate::store::Put) -> Outcome {
    match put {
        crate::store::Put::Created => Outcome::Created,
        crate::store::Put::Updated => Outcome::Updated,
        crate::store::Put::Unchanged => Outcome::Unchanged,
    }
}

/// Live trusts between imported users on imported projects, with their
/// roles, through the trust subsystem's writer. Trust-scoped tokens
/// Keystone issued keep validating.
fn write_trusts(
    conn: &mut Conn,
    data: &KeystoneData,
    user_ids: &HashSet<String>,
    project_ids: &HashSet<String>,
    report: &mut ImportReport,
) -> Result<(), Error> {
    for t in &data.trusts {
        let known = user_ids.contains(&t.trustor_user_id)
            && user_ids.contains(&t.trustee_user_id)
            && t.project_id
                .as_ref()
                .is_none_or(|p| project_ids.contains(p));
        if !known {
            report.skipped.push(format!(
                "trust {}: its trustor, trustee or project was not imported",
                t.id
            ));
            continue;
        }
        let mut role_ids: Vec<String> = data
            .trust_roles
            .iter()
            .filter(|r| r.a == t.id)
            .map(|r| r.b.clone())
            .collect();
        role_ids.sort();
        let row = crate::trust::Trust {
            id: t.id.clone(),
            trustor_user_id: t.trustor_user_id.clone(),
            trustee_user_id: t.trustee_user_id.clone(),
            project_id: t.project_id.clone(),
            impersonation: t.impersonation != 0,
            expires_at: t.expires_at,
            remaining_uses: t.remaining_uses,
            redelegated_trust_id: t.redelegated_trust_id.clone(),
            redelegation_count: t.redelegation_count.unwrap_or(0),
            deleted_at: None,
            role_ids,
        };
        report.count("trusts", outcome_of(crate::trust::store::put(conn, &row)?));
    }
    Ok(())
}

/// Registered limits, then the limits of imported projects and domains,
/// through the limit subsystem's writers.
fn write_limits(
    conn: &mut Conn,
    data: &KeystoneData,
    project_ids: &HashSet<String>,
    domain_ids: &HashSet<String>,
    report: &mut ImportReport,
) -> Result<(), Error> {
    let put = outcome_of;
    let mut registered = HashSet::new();
    for r in &data.registered_limits {
        let row = limit::RegisteredLimit {
            id: r.id.clone(),
            service_id: r.service_id.clone(),
            region_id: r.region_id.clone(),
            resource_name: r.resource_name.clone(),
            default_limit: r.default_limit,
            description: r.description.clone(),
        };
        report.count(
            "registered_limits",
            put(limit::store::put_registered(conn, &row)?),
        );
        registered.insert(r.id.as_str());
    }
    for l in &data.limits {
        let owner_known = match (&l.project_id, &l.domain_id) {
            (Some(p), _) => project_ids.contains(p),
            (None, Some(d)) => domain_ids.contains(d),
            (None, None) => false,
        };
        if !owner_known || !registered.contains(l.registered_limit_id.as_str()) {
            report.skipped.push(format!(
                "limit {}: its project, domain or registered limit was not imported",
                l.id
            ));
            continue;
        }
        let row = limit::store::StoredLimit {
            id: l.id.clone(),
            project_id: l.project_id.clone(),
            domain_id: l.domain_id.clone(),
            registered_limit_id: l.registered_limit_id.clone(),
            resource_limit: l.resource_limit,
            description: l.description.clone(),
        };
        report.count("limits", put(limit::store::put_limit(conn, &row)?));
    }
    Ok(())
}

fn write_catalog(
    conn: &mut Conn,
    data: &KeystoneData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    // Regions: parents first.
    let mut pending: Vec<&KsRegion> = data.regions.iter().collect();
    let mut done: HashSet<&str> = HashSet::new();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for r in pending {
            if r.parent_region_id
                .as_deref()
                .is_some_and(|p| !done.contains(p))
            {
                rest.push(r);
                continue;
            }
            let row = RegionRow {
                id: r.id.clone(),
                description: r.description.clone().unwrap_or_default(),
                parent_region_id: r.parent_region_id.clone(),
                extra: json_text(&extra_json(&r.extra)),
            };
            let outcome = upsert!(conn, regions, RegionRow, row, |_, _| {});
            report.count("regions", outcome);
            done.insert(r.id.as_str());
        }
        if rest.len() == before {
            return Err(Error::Config(
                "Keystone's regions have parents that are missing or form a cycle".into(),
            ));
        }
        pending = rest;
    }
    for s in &data.services {
        // Keystone keeps a service's name and description in `extra`.
        let mut extra = extra_json(&s.extra);
        let name = match extra.remove("name") {
            Some(Value::String(n)) => n,
            _ => String::new(),
        };
        let description = match extra.remove("description") {
            Some(Value::String(d)) => Some(d),
            _ => None,
        };
        let row = ServiceRow {
            id: s.id.clone(),
            service_type: s.service_type.clone().unwrap_or_default(),
            name,
            description,
            enabled: s.enabled != 0,
            extra: json_text(&extra),
        };
        let outcome = upsert!(conn, services, ServiceRow, row, |_, _| {});
        report.count("services", outcome);
    }
    for e in &data.endpoints {
        let row = EndpointRow {
            id: e.id.clone(),
            service_id: e.service_id.clone(),
            region_id: e.region_id.clone(),
            interface: e.interface.clone(),
            url: e.url.clone(),
            enabled: e.enabled != 0,
            extra: json_text(&extra_json(&e.extra)),
        };
        let outcome = upsert!(conn, endpoints, EndpointRow, row, |_, _| {});
        report.count("endpoints", outcome);
    }
    Ok(())
}

type StoredCredential = (String, Option<String>, String, String);

/// How Keystone finds an ec2 pair: by its id, the digest of the access
/// key it was created with. An imported pair answers to the same key.
fn keystone_lookup(c: &KsCredential) -> Option<&str> {
    (c.credential_type == crate::credential::EC2).then_some(c.id.as_str())
}

fn write_credentials(
    conn: &mut Conn,
    ours: &CredentialCipher,
    data: &KeystoneData,
    user_ids: &HashSet<String>,
    now: i64,
    report: &mut ImportReport,
) -> Result<(), Error> {
    for (c, plaintext) in &data.credentials {
        if !user_ids.contains(&c.user_id) {
            report.skipped.push(format!(
                "credential {}: its user {} was not imported",
                c.id, c.user_id
            ));
            continue;
        }
        let extra = json_text(&extra_json(&c.extra));
        let stored: Option<StoredCredential> = credentials::table
            .find(&c.id)
            .select((
                credentials::user_id,
                credentials::project_id,
                credentials::credential_type,
                credentials::encrypted_blob,
            ))
            .first(conn)
            .optional()?;
        let outcome = match stored {
            Some((user_id, project_id, kind, blob))
                if user_id == c.user_id
                    && project_id == c.project_id
                    && kind == c.credential_type
                    && ours
                        .decrypt(&blob)
                        .is_ok_and(|p| p.expose() == plaintext.expose()) =>
            {
                Outcome::Unchanged
            }
            Some(_) => {
                let (encrypted, key_hash) = ours.encrypt(plaintext.expose())?;
                diesel::update(credentials::table.find(&c.id))
                    .set((
                        credentials::user_id.eq(&c.user_id),
                        credentials::project_id.eq(&c.project_id),
                        credentials::credential_type.eq(&c.credential_type),
                        credentials::encrypted_blob.eq(encrypted),
                        credentials::key_hash.eq(key_hash),
                        credentials::extra.eq(&extra),
                        credentials::access_digest.eq(keystone_lookup(c)),
                    ))
                    .execute(conn)?;
                Outcome::Updated
            }
            None => {
                let (encrypted, key_hash) = ours.encrypt(plaintext.expose())?;
                diesel::insert_into(credentials::table)
                    .values((
                        credentials::id.eq(&c.id),
                        credentials::user_id.eq(&c.user_id),
                        credentials::project_id.eq(&c.project_id),
                        credentials::credential_type.eq(&c.credential_type),
                        credentials::key_hash.eq(key_hash),
                        credentials::encrypted_blob.eq(encrypted),
                        credentials::extra.eq(&extra),
                        credentials::enabled.eq(true),
                        credentials::allowed_cidrs.eq("[]"),
                        credentials::created_at.eq(now),
                        credentials::use_count.eq(0i64),
                        credentials::access_digest.eq(keystone_lookup(c)),
                    ))
                    .execute(conn)?;
                Outcome::Created
            }
        };
        report.count("credentials", outcome);
    }
    Ok(())
}

fn write_application_credentials(
    conn: &mut Conn,
    data: &KeystoneData,
    user_ids: &HashSet<String>,
    project_ids: &HashSet<String>,
    now: i64,
    report: &mut ImportReport,
) -> Result<(), Error> {
    let mut rule_owner: HashMap<&str, &str> = HashMap::new();
    for r in &data.access_rules {
        let Some(user_id) = r.user_id.as_deref().filter(|u| user_ids.contains(*u)) else {
            continue;
        };
        let row = AccessRuleRow {
            id: r.external_id.clone(),
            user_id: user_id.to_string(),
            service: r.service.clone().unwrap_or_default(),
            path: r.path.clone().unwrap_or_default(),
            method: r.method.clone().unwrap_or_default(),
        };
        let outcome = upsert!(conn, access_rules, AccessRuleRow, row, |_, _| {});
        report.count("access rules", outcome);
        rule_owner.insert(r.external_id.as_str(), user_id);
    }
    let mut by_internal: HashMap<i64, &str> = HashMap::new();
    for a in &data.app_creds {
        if !user_ids.contains(&a.user_id)
            || a.project_id
                .as_ref()
                .is_some_and(|p| !project_ids.contains(p))
        {
            report.skipped.push(format!(
                "application credential {}: its user or project was not imported",
                a.id
            ));
            continue;
        }
        let row = AppCredRow {
            id: a.id.clone(),
            name: a.name.clone(),
            secret_hash: a.secret_hash.clone(),
            description: a.description.clone(),
            user_id: a.user_id.clone(),
            project_id: a.project_id.clone(),
            system: a.system.clone(),
            expires_at: a.expires_at,
            unrestricted: a.unrestricted.unwrap_or(0) != 0,
            created_at: now,
        };
        let outcome = upsert!(
            conn,
            application_credentials,
            AppCredRow,
            row,
            |old, new| new.created_at = old.created_at
        );
        report.count("application credentials", outcome);
        by_internal.insert(a.internal_id, a.id.as_str());
    }
    for link in &data.app_cred_roles {
        let Some(id) = by_internal.get(&link.owner) else {
            continue;
        };
        let outcome = insert_link!(
            conn,
            application_credential_roles,
            application_credential_id = id,
            role_id = &link.value
        );
        report.count("application credential roles", outcome);
    }
    for link in &data.app_cred_rules {
        let Some(id) = by_internal.get(&link.owner) else {
            continue;
        };
        if !rule_owner.contains_key(link.value.as_str()) {
            continue;
        }
        let outcome = insert_link!(
            conn,
            application_credential_access_rules,
            application_credential_id = id,
            access_rule_id = &link.value
        );
        report.count("application credential access rules", outcome);
    }
    Ok(())
}

fn write_revocations(
    conn: &mut Conn,
    data: &KeystoneData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    for e in &data.revocations {
        let (Some(issued_before), Some(revoked_at)) = (
            parse_datetime_micros(&e.issued_before),
            parse_datetime_micros(&e.revoked_at),
        ) else {
            report
                .skipped
                .push(format!("revocation event {}: unreadable times", e.id));
            continue;
        };
        let id = derived_id("revocation_event", e.id);
        let outcome = insert_missing!(
            conn,
            revocation_events,
            revocation_events::id.eq(&id),
            &RevocationEventRow {
                id: id.clone(),
                domain_id: e.domain_id.clone(),
                project_id: e.project_id.clone(),
                user_id: e.user_id.clone(),
                role_id: e.role_id.clone(),
                trust_id: e.trust_id.clone(),
                consumer_id: e.consumer_id.clone(),
                access_token_id: e.access_token_id.clone(),
                issued_before,
                expires_at: e.expires_at.as_deref().and_then(parse_datetime_micros),
                revoked_at,
                audit_id: e.audit_id.clone(),
                audit_chain_id: e.audit_chain_id.clone(),
            }
        );
        report.count("revocation events", outcome);
    }
    Ok(())
}
