//! Assignment subsystem: roles, implied roles, and role assignments of
//! users and groups on projects, domains and the system.

pub mod listing;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use diesel::prelude::*;

use crate::error::Error;
use crate::policy::{self, Caller, Input, Target};
use crate::resource::Project;
use crate::store::rows::{AssignmentRow, RoleRow};
use crate::store::schema::{implied_roles, projects, role_assignments, roles};
use crate::store::{new_id, now_micros, Conn};

/// The target id of system assignments.
pub const SYSTEM_TARGET: &str = "system";

/// Who holds an assignment on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentKind {
    UserProject,
    GroupProject,
    UserDomain,
    GroupDomain,
    UserSystem,
    GroupSystem,
}

impl AssignmentKind {
    /// Held by a group (not a user).
    pub fn is_group(self) -> bool {
        matches!(
            self,
            AssignmentKind::GroupProject
                | AssignmentKind::GroupDomain
                | AssignmentKind::GroupSystem
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentKind::UserProject => "UserProject",
            AssignmentKind::GroupProject => "GroupProject",
            AssignmentKind::UserDomain => "UserDomain",
            AssignmentKind::GroupDomain => "GroupDomain",
            AssignmentKind::UserSystem => "UserSystem",
            AssignmentKind::GroupSystem => "GroupSystem",
        }
    }
}

/// Stages Keystone's `identity.role_assignment.created`/`.deleted`.
fn notify_assignment(
    created: bool,
    kind: AssignmentKind,
    actor_id: &str,
    target_id: &str,
    role_id: &str,
    inherited: bool,
) {
    let target = match kind {
        AssignmentKind::UserProject | AssignmentKind::GroupProject => "project",
        AssignmentKind::UserDomain | AssignmentKind::GroupDomain => "domain",
        AssignmentKind::UserSystem | AssignmentKind::GroupSystem => "system",
    };
    let actor = if kind.is_group() { "group" } else { "user" };
    crate::notify::role_assignment(
        created,
        &crate::notify::Assignment {
            role_id,
            actor: (actor, actor_id),
            target: (target, target_id),
            inherited,
        },
    );
}

/// A role as Keystone shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// `None` for global roles.
    pub domain_id: Option<String>,
    pub description: Option<String>,
    pub options: String,
    /// Keystone's `extra` as stored (JSON text, which keeps `Role`
    /// ordered): the attributes it keeps beside its columns.
    pub extra: String,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Self {
        Role {
            id: r.id,
            name: r.name,
            domain_id: (!r.domain_id.is_empty()).then_some(r.domain_id),
            description: r.description,
            options: r.options,
            extra: r.extra,
        }
    }
}

impl Role {
    /// The attributes Keystone keeps beside the columns.
    pub fn extra_attributes(&self) -> serde_json::Map<String, serde_json::Value> {
        crate::store::extra::parse(&self.extra)
    }
}

pub fn find_global_role_by_name(conn: &mut Conn, name: &str) -> Result<Option<Role>, Error> {
    find_role_by_name(conn, "", name)
}

/// The role of that name in a domain (`""` for the global roles), if any:
/// names are unique per domain.
pub fn find_role_by_name(
    conn: &mut Conn,
    domain_key: &str,
    name: &str,
) -> Result<Option<Role>, Error> {
    Ok(roles::table
        .filter(roles::domain_id.eq(domain_key))
        .filter(roles::name.eq(name))
        .select(RoleRow::as_select())
        .first(conn)
        .optional()?
        .map(Role::from))
}

pub struct NewRole<'a> {
    pub name: &'a str,
    pub domain_id: Option<&'a str>,
    pub description: Option<&'a str>,
    pub immutable: bool,
    pub extra: &'a serde_json::Map<String, serde_json::Value>,
}

pub fn create_role(conn: &mut Conn, new: NewRole<'_>) -> Result<Role, Error> {
    let domain_key = new.domain_id.unwrap_or("");
    let exists = roles::table
        .filter(roles::domain_id.eq(domain_key))
        .filter(roles::name.eq(new.name))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Err(Error::Conflict(format!(
            "Conflict occurred attempting to store role - Duplicate entry found with name {}.",
            new.name
        )));
    }
    let options = if new.immutable {
        r#"{"immutable": true}"#
    } else {
        "{}"
    };
    let row = RoleRow {
        id: new_id(),
        name: new.name.to_string(),
        domain_id: domain_key.to_string(),
        description: new.description.map(str::to_string),
        options: options.to_string(),
        extra: crate::store::extra::text(new.extra),
        created_at: now_micros(),
    };
    diesel::insert_into(roles::table)
        .values(&row)
        .execute(conn)?;
    crate::notify::created("role", &row.id);
    Ok(row.into())
}

/// Adds `prior ⇒ implied`; adding it twice is not an error.
pub fn add_implied_role(conn: &mut Conn, prior: &str, implied: &str) -> Result<(), Error> {
    let exists = implied_roles::table
        .filter(implied_roles::prior_role_id.eq(prior))
        .filter(implied_roles::implied_role_id.eq(implied))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(implied_roles::table)
            .values((
                implied_roles::prior_role_id.eq(prior),
                implied_roles::implied_role_id.eq(implied),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn remove_implied_role(conn: &mut Conn, prior: &str, implied: &str) -> Result<(), Error> {
    diesel::delete(
        implied_roles::table
            .filter(implied_roles::prior_role_id.eq(prior))
            .filter(implied_roles::implied_role_id.eq(implied)),
    )
    .execute(conn)?;
    Ok(())
}

/// Grants a role; granting an existing assignment succeeds, as in Keystone.
pub fn grant(
    conn: &mut Conn,
    kind: AssignmentKind,
    actor_id: &str,
    target_id: &str,
    role_id: &str,
    inherited: bool,
) -> Result<(), Error> {
    if !grant_exists(conn, kind, actor_id, target_id, role_id, inherited)? {
        diesel::insert_into(role_assignments::table)
            .values(AssignmentRow {
                kind: kind.as_str().to_string(),
                actor_id: actor_id.to_string(),
                target_id: target_id.to_string(),
                role_id: role_id.to_string(),
                inherited,
            })
            .execute(conn)?;
    }
    notify_assignment(true, kind, actor_id, target_id, role_id, inherited);
    Ok(())
}

/// Removes every assignment held by a user or group (on its deletion).
pub fn delete_actor_assignments(conn: &mut Conn, actor_id: &str) -> Result<(), Error> {
    diesel::delete(role_assignments::table.filter(role_assignments::actor_id.eq(actor_id)))
        .execute(conn)?;
    Ok(())
}

/// Removes every assignment on a project or domain (on its deletion).
pub fn delete_target_assignments(conn: &mut Conn, target_id: &str) -> Result<(), Error> {
    diesel::delete(role_assignments::table.filter(role_assignments::target_id.eq(target_id)))
        .execute(conn)?;
    Ok(())
}

/// Loads assignments of the given actors (a user and its groups).
fn assignments_of(conn: &mut Conn, actor_ids: &[String]) -> Result<Vec<AssignmentRow>, Error> {
    Ok(role_assignments::table
        .filter(role_assignments::actor_id.eq_any(actor_ids))
        .select(AssignmentRow::as_select())
        .load(conn)?)
}

fn actors_of_user(conn: &mut Conn, user_id: &str) -> Result<Vec<String>, Error> {
    let mut actors = crate::identity::group_ids_of_user(conn, user_id)?;
    actors.push(user_id.to_string());
    Ok(actors)
}

/// Rows are already limited to the user and its groups, so the kind alone
/// says whether a row is on a project, a domain or the system.
fn is_kind(row: &AssignmentRow, user_kind: AssignmentKind, group_kind: AssignmentKind) -> bool {
    row.kind == user_kind.as_str() || row.kind == group_kind.as_str()
}

/// Adds every role implied by the given ones, transitively.
pub fn expand_implied(
    conn: &mut Conn,
    role_ids: BTreeSet<String>,
) -> Result<BTreeSet<String>, Error> {
    let rules: Vec<(String, String)> = implied_roles::table
        .select((implied_roles::prior_role_id, implied_roles::implied_role_id))
        .load(conn)?;
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (prior, implied) in &rules {
        graph
            .entry(prior.as_str())
            .or_default()
            .push(implied.as_str());
    }
    let mut result = role_ids.clone();
    let mut stack: Vec<String> = role_ids.into_iter().collect();
    while let Some(id) = stack.pop() {
        if let Some(next) = graph.get(id.as_str()) {
            for implied in next {
                if result.insert(implied.to_string()) {
                    stack.push(implied.to_string());
                }
            }
        }
    }
    Ok(result)
}

/// The ids of every domain-specific role (stored with a non-empty domain).
pub fn domain_role_ids(conn: &mut Conn) -> Result<BTreeSet<String>, Error> {
    let ids: Vec<String> = roles::table
        .filter(roles::domain_id.ne(""))
        .select(roles::id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// The roles a token carries for these assigned roles: the implied ones
/// added, then the domain-specific ones dropped (Keystone's
/// `_strip_domain_roles`: a domain role only implies others).
pub fn effective_roles(conn: &mut Conn, assigned: BTreeSet<String>) -> Result<Vec<Role>, Error> {
    let ids = expand_implied(conn, assigned)?;
    let mut roles = load_roles(conn, &ids)?;
    roles.retain(|r| r.domain_id.is_none());
    Ok(roles)
}

fn load_roles(conn: &mut Conn, ids: &BTreeSet<String>) -> Result<Vec<Role>, Error> {
    let ids: Vec<&String> = ids.iter().collect();
    let mut roles: Vec<Role> = roles::table
        .filter(roles::id.eq_any(ids))
        .select(RoleRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Role::from)
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles)
}

/// The user's effective roles on a project: direct and group assignments,
/// those inherited from the domain and parent projects, and implied roles.
pub fn effective_project_roles(
    conn: &mut Conn,
    user_id: &str,
    project: &Project,
) -> Result<Vec<Role>, Error> {
    let ids = assigned_project_role_ids(conn, user_id, project)?;
    effective_roles(conn, ids)
}

/// The ids of every role the user holds on a project, implied and
/// domain-specific ones included (what a trust may delegate: Keystone's
/// `list_role_assignments(effective=True, strip_domain_roles=False)`).
pub fn held_project_role_ids(
    conn: &mut Conn,
    user_id: &str,
    project: &Project,
) -> Result<BTreeSet<String>, Error> {
    let ids = assigned_project_role_ids(conn, user_id, project)?;
    expand_implied(conn, ids)
}

/// The roles assigned to the user (directly, through groups, or inherited)
/// on a project, before implied roles.
fn assigned_project_role_ids(
    conn: &mut Conn,
    user_id: &str,
    project: &Project,
) -> Result<BTreeSet<String>, Error> {
    let actors = actors_of_user(conn, user_id)?;
    let ancestors = crate::resource::project_ancestors(conn, project)?;
    let mut ids = BTreeSet::new();
    for row in assignments_of(conn, &actors)? {
        let on_project = is_kind(
            &row,
            AssignmentKind::UserProject,
            AssignmentKind::GroupProject,
        );
        let on_domain = is_kind(
            &row,
            AssignmentKind::UserDomain,
            AssignmentKind::GroupDomain,
        );
        // Direct on this project; inherited from a parent project or the
        // project's domain.
        let applies = if row.inherited {
            (on_project && ancestors.contains(&row.target_id))
                || (on_domain && row.target_id == project.domain_id)
        } else {
            on_project && row.target_id == project.id
        };
        if applies {
            ids.insert(row.role_id);
        }
    }
    Ok(ids)
}

/// The user's effective roles on a domain (direct and group, not inherited).
pub fn effective_domain_roles(
    conn: &mut Conn,
    user_id: &str,
    domain_id: &str,
) -> Result<Vec<Role>, Error> {
    direct_roles(conn, user_id, |r| {
        is_kind(r, AssignmentKind::UserDomain, AssignmentKind::GroupDomain)
            && r.target_id == domain_id
            && !r.inherited
    })
}

/// The user's effective roles on the system.
pub fn effective_system_roles(conn: &mut Conn, user_id: &str) -> Result<Vec<Role>, Error> {
    direct_roles(conn, user_id, |r| {
        is_kind(r, AssignmentKind::UserSystem, AssignmentKind::GroupSystem)
            && r.target_id == SYSTEM_TARGET
    })
}

/// The roles, implied ones included, of the assignments of a user and its
/// groups that `on_target` selects.
fn direct_roles(
    conn: &mut Conn,
    user_id: &str,
    on_target: impl Fn(&AssignmentRow) -> bool,
) -> Result<Vec<Role>, Error> {
    let actors = actors_of_user(conn, user_id)?;
    let ids: BTreeSet<String> = assignments_of(conn, &actors)?
        .into_iter()
        .filter(|r| on_target(r))
        .map(|r| r.role_id)
        .collect();
    effective_roles(conn, ids)
}

/// Projects on which the user has any role, directly, through a group, or
/// by inheritance from a domain or parent project.
pub fn project_ids_for_user(conn: &mut Conn, user_id: &str) -> Result<Vec<String>, Error> {
    let actors = actors_of_user(conn, user_id)?;
    let rows = assignments_of(conn, &actors)?;
    let mut ids = BTreeSet::new();
    let mut inherited_roots = Vec::new();
    let mut inherited_domains = Vec::new();
    for row in rows {
        if is_kind(
            &row,
            AssignmentKind::UserProject,
            AssignmentKind::GroupProject,
        ) {
            if row.inherited {
                inherited_roots.push(row.target_id);
            } else {
                ids.insert(row.target_id);
            }
        } else if is_kind(
            &row,
            AssignmentKind::UserDomain,
            AssignmentKind::GroupDomain,
        ) && row.inherited
        {
            inherited_domains.push(row.target_id);
        }
    }
    if !inherited_domains.is_empty() {
        let in_domains: Vec<String> = projects::table
            .filter(projects::domain_id.eq_any(&inherited_domains))
            .select(projects::id)
            .load(conn)?;
        ids.extend(in_domains);
    }
    // Inherited project assignments reach the whole subtree below the root.
    let mut frontier = inherited_roots;
    let mut seen = BTreeSet::new();
    while !frontier.is_empty() {
        let children: Vec<String> = projects::table
            .filter(projects::parent_id.eq_any(&frontier))
            .select(projects::id)
            .load(conn)?;
        frontier = children
            .into_iter()
            .filter(|c| seen.insert(c.clone()))
            .collect();
        ids.extend(frontier.iter().cloned());
    }
    Ok(ids.into_iter().collect())
}

/// Domains on which the user has a direct or group role.
pub fn domain_ids_for_user(conn: &mut Conn, user_id: &str) -> Result<Vec<String>, Error> {
    let actors = actors_of_user(conn, user_id)?;
    let ids: BTreeSet<String> = assignments_of(conn, &actors)?
        .into_iter()
        .filter(|r| {
            is_kind(r, AssignmentKind::UserDomain, AssignmentKind::GroupDomain) && !r.inherited
        })
        .map(|r| r.target_id)
        .collect();
    Ok(ids.into_iter().collect())
}

pub fn not_found_role(id: &str) -> Error {
    Error::NotFound(format!("Could not find role: {id}."))
}

pub fn get_role(conn: &mut Conn, id: &str) -> Result<Option<Role>, Error> {
    Ok(roles::table
        .find(id)
        .select(RoleRow::as_select())
        .first(conn)
        .optional()?
        .map(Role::from))
}

/// Roles, global ones (`domain_id` None) unless a domain is asked for.
pub fn list_roles(
    conn: &mut Conn,
    name: Option<&str>,
    domain_id: Option<&str>,
) -> Result<Vec<Role>, Error> {
    let mut query = roles::table
        .filter(roles::domain_id.eq(domain_id.unwrap_or("").to_string()))
        .select(RoleRow::as_select())
        .into_boxed();
    if let Some(n) = name {
        query = query.filter(roles::name.eq(n.to_string()));
    }
    Ok(query
        .order(roles::name.asc())
        .load(conn)?
        .into_iter()
        .map(Role::from)
        .collect())
}

pub fn update_role(
    conn: &mut Conn,
    id: &str,
    name: Option<&str>,
    description: Option<Option<&str>>,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<Role, Error> {
    let current = get_role(conn, id)?.ok_or_else(|| not_found_role(id))?;
    if let Some(name) = name {
        let domain_key = current.domain_id.clone().unwrap_or_default();
        let taken = roles::table
            .filter(roles::domain_id.eq(&domain_key))
            .filter(roles::name.eq(name))
            .filter(roles::id.ne(id))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if taken {
            return Err(Error::Conflict(format!(
                "Conflict occurred attempting to store role - Duplicate entry found with name {name}."
            )));
        }
        diesel::update(roles::table.find(id))
            .set(roles::name.eq(name))
            .execute(conn)?;
    }
    if let Some(description) = description {
        diesel::update(roles::table.find(id))
            .set(roles::description.eq(description))
            .execute(conn)?;
    }
    let stored = crate::store::extra::parse(&current.extra);
    if let Some(extra) = crate::store::extra::merged(&stored, extra) {
        diesel::update(roles::table.find(id))
            .set(roles::extra.eq(extra))
            .execute(conn)?;
    }
    crate::notify::updated("role", id);
    get_role(conn, id)?.ok_or_else(|| not_found_role(id))
}

/// Refuses to delete immutable roles (the bootstrap ones), as Keystone
/// does.
pub fn check_role_deletable(conn: &mut Conn, id: &str) -> Result<(), Error> {
    let role = get_role(conn, id)?.ok_or_else(|| not_found_role(id))?;
    if role.options.contains("\"immutable\": true") || role.options.contains("\"immutable\":true") {
        return Err(Error::Forbidden(format!(
            "Role {} is immutable: its immutable option must be cleared before it can be deleted.",
            role.name
        )));
    }
    Ok(())
}

/// Deletes a role with its assignments and implication rules (the
/// application credentials holding it are gone, see `cascade`).
pub fn delete_role(conn: &mut Conn, id: &str) -> Result<(), Error> {
    diesel::delete(role_assignments::table.filter(role_assignments::role_id.eq(id)))
        .execute(conn)?;
    diesel::delete(
        implied_roles::table.filter(
            implied_roles::prior_role_id
                .eq(id)
                .or(implied_roles::implied_role_id.eq(id)),
        ),
    )
    .execute(conn)?;
    diesel::delete(roles::table.find(id)).execute(conn)?;
    crate::notify::deleted("role", id);
    crate::revoke::record(
        conn,
        crate::revoke::Revoke {
            role_id: Some(id.to_string()),
            ..Default::default()
        },
    )
}

/// Roles directly implied by `prior`.
pub fn implied_by(conn: &mut Conn, prior: &str) -> Result<Vec<Role>, Error> {
    let ids: Vec<String> = implied_roles::table
        .filter(implied_roles::prior_role_id.eq(prior))
        .select(implied_roles::implied_role_id)
        .load(conn)?;
    let set: BTreeSet<String> = ids.into_iter().collect();
    load_roles(conn, &set)
}

/// Every `(prior, implied)` rule.
pub fn all_implications(conn: &mut Conn) -> Result<Vec<(String, String)>, Error> {
    Ok(implied_roles::table
        .select((implied_roles::prior_role_id, implied_roles::implied_role_id))
        .load(conn)?)
}

/// Adds `prior ⇒ implied` after checking both exist, the implied role is
/// global, and no cycle results.
/// Keystone's rules: a prohibited role (`admin`) is never implied, and a
/// global role may not imply a domain-specific one (both 403); a domain
/// role may imply any role. Ironstone also refuses a cycle (400), which
/// Keystone stores.
pub fn create_implication(
    conn: &mut Conn,
    prior: &str,
    implied: &str,
    prohibited: &[String],
) -> Result<(), Error> {
    let implied_role = get_role(conn, implied)?.ok_or_else(|| not_found_role(implied))?;
    let prior_role = get_role(conn, prior)?.ok_or_else(|| not_found_role(prior))?;
    if prohibited.contains(&implied_role.name) {
        return Err(Error::Forbidden(format!(
            "{implied} cannot be an implied roles."
        )));
    }
    if prior_role.domain_id.is_none() && implied_role.domain_id.is_some() {
        return Err(Error::Forbidden(
            "Global role cannot imply a domain-specific role".into(),
        ));
    }
    if prior == implied
        || expand_implied(conn, BTreeSet::from([implied.to_string()]))?.contains(prior)
    {
        return Err(Error::BadRequest(format!(
            "Cannot make {prior} imply {implied}: that would create a cycle of implied roles."
        )));
    }
    add_implied_role(conn, prior, implied)
}

pub fn implication_exists(conn: &mut Conn, prior: &str, implied: &str) -> Result<bool, Error> {
    Ok(implied_roles::table
        .filter(implied_roles::prior_role_id.eq(prior))
        .filter(implied_roles::implied_role_id.eq(implied))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn grant_exists(
    conn: &mut Conn,
    kind: AssignmentKind,
    actor_id: &str,
    target_id: &str,
    role_id: &str,
    inherited: bool,
) -> Result<bool, Error> {
    Ok(role_assignments::table
        .find((kind.as_str(), actor_id, target_id, role_id, inherited))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Removes a grant; a 404 when there was none (Keystone's RoleAssignmentNotFound).
pub fn revoke_grant(
    conn: &mut Conn,
    kind: AssignmentKind,
    actor_id: &str,
    target_id: &str,
    role_id: &str,
    inherited: bool,
) -> Result<(), Error> {
    let n = diesel::delete(role_assignments::table.find((
        kind.as_str(),
        actor_id,
        target_id,
        role_id,
        inherited,
    )))
    .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound(format!(
            "Could not find role assignment with role: {role_id}, user or group: {actor_id}, project, domain, or system: {target_id}."
        )));
    }
    notify_assignment(false, kind, actor_id, target_id, role_id, inherited);
    Ok(())
}

/// The roles granted to an actor on a target (direct grants only).
pub fn granted_roles(
    conn: &mut Conn,
    kind: AssignmentKind,
    actor_id: &str,
    target_id: &str,
    inherited: bool,
) -> Result<Vec<Role>, Error> {
    let ids: Vec<String> = role_assignments::table
        .filter(role_assignments::kind.eq(kind.as_str()))
        .filter(role_assignments::actor_id.eq(actor_id))
        .filter(role_assignments::target_id.eq(target_id))
        .filter(role_assignments::inherited.eq(inherited))
        .select(role_assignments::role_id)
        .load(conn)?;
    load_roles(conn, &ids.into_iter().collect())
}

/// Every stored assignment (the input of `GET /v3/role_assignments`).
pub fn all_assignments(conn: &mut Conn) -> Result<Vec<AssignmentRow>, Error> {
    Ok(role_assignments::table
        .select(AssignmentRow::as_select())
        .load(conn)?)
}

/// Deletes the roles that belong to a domain (domain-specific roles).
pub fn delete_domain_roles(conn: &mut Conn, domain_id: &str) -> Result<(), Error> {
    diesel::delete(roles::table.filter(roles::domain_id.eq(domain_id))).execute(conn)?;
    Ok(())
}

/// A role to create through the API.
#[derive(Debug, Clone)]
pub struct RoleInput {
    pub name: String,
    pub domain_id: Option<String>,
    pub description: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Changes to a role; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    /// The domain the body names, if it does: it may only repeat it.
    pub domain_id: Option<Option<String>>,
    /// Attributes to set in Keystone's `extra` (merged into it).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The rules of implication, with the roles they name.
#[derive(Debug, Clone)]
pub struct Inferences {
    pub rules: Vec<(String, String)>,
    pub roles: Vec<Role>,
}

/// The assignment subsystem's use cases for roles and their implications
/// (Keystone's `role_api`).
#[derive(Clone)]
pub struct Roles {
    db: crate::store::Database,
    /// Names no role may imply.
    prohibited_implied: Arc<Vec<String>>,
}

impl Roles {
    pub fn new(db: crate::store::Database, prohibited_implied: Vec<String>) -> Self {
        Roles {
            db,
            prohibited_implied: Arc::new(prohibited_implied),
        }
    }

    pub async fn create(&self, caller: &Caller, new: Input<RoleInput>) -> Result<Role, Error> {
        policy::enforce(policy::MANAGE_ROLES, caller, Target::default())?;
        let new = new?;
        self.db
            .write(move |conn| {
                if let Some(d) = &new.domain_id {
                    if crate::resource::get_domain(conn, d)?.is_none() {
                        return Err(crate::resource::not_found_domain(d));
                    }
                }
                create_role(
                    conn,
                    NewRole {
                        name: &new.name,
                        domain_id: new.domain_id.as_deref(),
                        description: new.description.as_deref(),
                        immutable: false,
                        extra: &new.extra,
                    },
                )
            })
            .await
    }

    pub async fn list(
        &self,
        caller: &Caller,
        name: Option<String>,
        domain_id: Option<String>,
    ) -> Result<Vec<Role>, Error> {
        policy::enforce(policy::LIST_ROLES, caller, Target::default())?;
        self.db
            .read(move |conn| list_roles(conn, name.as_deref(), domain_id.as_deref()))
            .await
    }

    async fn load(&self, id: Input<String>) -> Result<Role, Error> {
        self.db.load(id, get_role, not_found_role).await
    }

    /// The role exists before the rule is checked: domain managers may see
    /// the roles they may hand out.
    pub async fn get(&self, caller: &Caller, id: Input<String>) -> Result<Role, Error> {
        let role = self.load(id).await?;
        policy::enforce_get_role(caller, &role.name)?;
        Ok(role)
    }

    pub async fn update(
        &self,
        caller: &Caller,
        change: Input<(String, RolePatch)>,
    ) -> Result<Role, Error> {
        policy::enforce(policy::MANAGE_ROLES, caller, Target::default())?;
        let (id, patch) = change?;
        self.db
            .write(move |conn| {
                let current = get_role(conn, &id)?.ok_or_else(|| not_found_role(&id))?;
                if patch
                    .domain_id
                    .as_ref()
                    .is_some_and(|d| d != &current.domain_id)
                {
                    return Err(Error::BadRequest(
                        "Update of `domain_id` is not allowed.".into(),
                    ));
                }
                update_role(
                    conn,
                    &id,
                    patch.name.as_deref(),
                    patch.description.as_ref().map(|d| d.as_deref()),
                    &patch.extra,
                )
            })
            .await
    }

    /// The role and the roles it implies directly.
    pub async fn implied(
        &self,
        caller: &Caller,
        prior: Input<String>,
    ) -> Result<(Role, Vec<Role>), Error> {
        policy::enforce(policy::READ_IMPLIED_ROLES, caller, Target::default())?;
        let prior = self.load(prior).await?;
        let id = prior.id.clone();
        let implied = self.db.read(move |conn| implied_by(conn, &id)).await?;
        Ok((prior, implied))
    }

    pub async fn create_implication(
        &self,
        caller: &Caller,
        prior: Input<String>,
        implied: Input<String>,
    ) -> Result<(Role, Role), Error> {
        policy::enforce(policy::MANAGE_IMPLIED_ROLES, caller, Target::default())?;
        let (prior, implied) = (prior?, implied?);
        let (p, i) = (prior.clone(), implied.clone());
        self.db
            .write({
                let prohibited = self.prohibited_implied.clone();
                move |conn| create_implication(conn, &p, &i, &prohibited)
            })
            .await?;
        Ok((self.load(Ok(prior)).await?, self.load(Ok(implied)).await?))
    }

    async fn existing_implication(
        &self,
        prior: Input<String>,
        implied: Input<String>,
    ) -> Result<(Role, Role), Error> {
        let prior = self.load(prior).await?;
        let implied = self.load(implied).await?;
        let (p, i) = (prior.id.clone(), implied.id.clone());
        let exists = self
            .db
            .read(move |conn| implication_exists(conn, &p, &i))
            .await?;
        if !exists {
            return Err(Error::NotFound(format!(
                "{} does not imply {}.",
                prior.id, implied.id
            )));
        }
        Ok((prior, implied))
    }

    pub async fn get_implication(
        &self,
        caller: &Caller,
        prior: Input<String>,
        implied: Input<String>,
    ) -> Result<(Role, Role), Error> {
        policy::enforce(policy::READ_IMPLIED_ROLES, caller, Target::default())?;
        self.existing_implication(prior, implied).await
    }

    pub async fn delete_implication(
        &self,
        caller: &Caller,
        prior: Input<String>,
        implied: Input<String>,
    ) -> Result<(), Error> {
        policy::enforce(policy::MANAGE_IMPLIED_ROLES, caller, Target::default())?;
        let (prior, implied) = self.existing_implication(prior, implied).await?;
        self.db
            .write(move |conn| remove_implied_role(conn, &prior.id, &implied.id))
            .await
    }

    pub async fn inferences(&self, caller: &Caller) -> Result<Inferences, Error> {
        policy::enforce(policy::READ_IMPLIED_ROLES, caller, Target::default())?;
        self.db
            .read(|conn| {
                Ok(Inferences {
                    rules: all_implications(conn)?,
                    roles: list_roles(conn, None, None)?,
                })
            })
            .await
    }
}

/// The assignment subsystem's use cases for who holds which role where
/// (Keystone's `assignment_api`).
#[derive(Clone)]
pub struct Assignments {
    db: crate::store::Database,
    users: crate::identity::Users,
}

impl Assignments {
    pub fn new(db: crate::store::Database, users: crate::identity::Users) -> Self {
        Assignments { db, users }
    }

    /// The projects a user has a role on (Keystone's
    /// `list_projects_for_user`), once the rule allowed the caller on the
    /// user.
    pub async fn projects_of_user(
        &self,
        caller: &Caller,
        user_id: Input<String>,
    ) -> Result<Vec<Project>, Error> {
        let user = self
            .users
            .authorized(caller, policy::LIST_USER_PROJECTS, user_id)
            .await?;
        self.db
            .read(move |conn| {
                let ids = project_ids_for_user(conn, &user.id)?;
                crate::resource::list_projects_by_ids(conn, &ids)
            })
            .await
    }
}

/// A grant route's coordinates: who (`actor`) holds roles on what
/// (`target`), and how.
#[derive(Debug, Clone)]
pub struct Grant {
    pub kind: AssignmentKind,
    pub inherited: bool,
    pub target: String,
    pub actor: String,
}

/// The domain of the target and of the actor, checking that the target,
/// the actor and the role exist.
/// The grant's target domain (none for the system), its actor's domain,
/// and its role's name and domain.
type Resolved = (Option<String>, String, Option<(String, Option<String>)>);

fn resolve(conn: &mut Conn, grant: &Grant, role: Option<&str>) -> Result<Resolved, Error> {
    let target_domain = match grant.kind {
        AssignmentKind::UserProject | AssignmentKind::GroupProject => Some(
            crate::resource::get_project(conn, &grant.target)?
                .ok_or_else(|| crate::resource::not_found_project(&grant.target))?
                .domain_id,
        ),
        AssignmentKind::UserDomain | AssignmentKind::GroupDomain => Some(
            crate::resource::get_domain(conn, &grant.target)?
                .ok_or_else(|| crate::resource::not_found_domain(&grant.target))?
                .id,
        ),
        AssignmentKind::UserSystem | AssignmentKind::GroupSystem => None,
    };
    let actor_domain = if grant.kind.is_group() {
        crate::identity::get_group(conn, &grant.actor)?
            .ok_or_else(|| crate::identity::not_found_group(&grant.actor))?
            .domain_id
    } else {
        crate::identity::get_user(conn, &grant.actor)?
            .ok_or_else(|| crate::identity::not_found_user(&grant.actor))?
            .domain_id
    };
    let mut role_info = None;
    if let Some(role) = role {
        let role = get_role(conn, role)?.ok_or_else(|| not_found_role(role))?;
        // A domain-specific role is granted only inside its domain.
        if let Some(role_domain) = &role.domain_id {
            if target_domain.as_deref() != Some(role_domain.as_str()) {
                return Err(Error::Forbidden(format!(
                    "Domain-specific role {} can only be granted on projects or the domain of domain {role_domain}.",
                    role.id
                )));
            }
        }
        role_info = Some((role.name, role.domain_id));
    }
    Ok((target_domain, actor_domain, role_info))
}

impl Assignments {
    /// Checks that the target, the actor and the role exist, then the
    /// grant rule (`manage` for PUT and DELETE).
    pub async fn authorize_grant(
        &self,
        caller: &Caller,
        grant: &Grant,
        role: Option<&str>,
        manage: bool,
    ) -> Result<(), Error> {
        let (g, r) = (grant.clone(), role.map(str::to_string));
        let (target_domain, actor_domain, role) = self
            .db
            .read(move |conn| resolve(conn, &g, r.as_deref()))
            .await?;
        let role = role
            .as_ref()
            .map(|(name, domain)| (name.as_str(), domain.as_deref()));
        policy::enforce_grant(
            caller,
            manage,
            target_domain.as_deref(),
            &actor_domain,
            role,
        )
    }

    pub async fn grant(&self, caller: &Caller, grant: Grant, role: String) -> Result<(), Error> {
        self.authorize_grant(caller, &grant, Some(&role), true)
            .await?;
        self.db
            .write(move |conn| {
                self::grant(
                    conn,
                    grant.kind,
                    &grant.actor,
                    &grant.target,
                    &role,
                    grant.inherited,
                )
            })
            .await
    }

    /// Keystone's 404 when the grant does not exist.
    pub async fn check_grant(
        &self,
        caller: &Caller,
        grant: Grant,
        role: String,
    ) -> Result<(), Error> {
        self.authorize_grant(caller, &grant, Some(&role), false)
            .await?;
        let (g, r) = (grant.clone(), role.clone());
        let exists = self
            .db
            .read(move |conn| grant_exists(conn, g.kind, &g.actor, &g.target, &r, g.inherited))
            .await?;
        if exists {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "Could not find role assignment with role: {role}, user or group: {}, project, domain, or system: {}.",
                grant.actor, grant.target
            )))
        }
    }

    pub async fn granted(&self, caller: &Caller, grant: Grant) -> Result<Vec<Role>, Error> {
        self.authorize_grant(caller, &grant, None, false).await?;
        self.db
            .read(move |conn| {
                granted_roles(
                    conn,
                    grant.kind,
                    &grant.actor,
                    &grant.target,
                    grant.inherited,
                )
            })
            .await
    }

    /// `GET /v3/role_assignments`.
    pub async fn list_role_assignments(
        &self,
        caller: &Caller,
        query: listing::Query,
        flags: listing::Flags,
    ) -> Result<(Vec<listing::Shown>, Option<listing::Names>), Error> {
        let domain = policy::enforce_list_role_assignments(caller)?;
        self.db
            .read(move |conn| {
                let (mut rows, names) = listing::list(conn, &query, flags)?;
                if let Some(domain) = domain {
                    let projects: BTreeSet<String> = crate::resource::list_projects(
                        conn,
                        &crate::resource::ProjectFilter {
                            domain_id: Some(domain.clone()),
                            ..Default::default()
                        },
                    )?
                    .into_iter()
                    .map(|p| p.id)
                    .collect();
                    rows.retain(|r| {
                        r.domain.as_deref() == Some(domain.as_str())
                            || r.project.as_ref().is_some_and(|p| projects.contains(p))
                    });
                }
                Ok((rows, names))
            })
            .await
    }
}
