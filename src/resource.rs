//! Resource subsystem: domains and projects.

use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::policy::{self, Caller, Input, Policy, Target};
use crate::store::rows::{DomainRow, ProjectRow};
use crate::store::schema::{domain_tags, domains, project_tags, projects};
use crate::store::{now_micros, Conn};

/// A domain as Keystone shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    /// Keystone's `extra`: the attributes it keeps beside its columns.
    pub extra: Map<String, Value>,
    /// Loaded only where the API shows the domain ([`show_domain`]); the
    /// token paths read domains often and never need them.
    pub tags: Vec<String>,
}

impl From<DomainRow> for Domain {
    fn from(r: DomainRow) -> Self {
        Domain {
            id: r.id,
            name: r.name,
            description: r.description,
            enabled: r.enabled,
            extra: crate::store::extra::parse(&r.extra),
            tags: Vec::new(),
        }
    }
}

/// A project as Keystone shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    /// `None` for a top-level project, whose API `parent_id` is its domain.
    pub parent_id: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub is_domain: bool,
    pub tags: Vec<String>,
    pub extra: Map<String, Value>,
}

impl Project {
    /// A domain as Keystone shows it through `/v3/projects`, where every
    /// domain is a root project acting as a domain: no domain, no parent.
    /// Its `domain_id` is empty; only rendering and policy targets look at
    /// it, and both go by `is_domain`.
    pub fn acting_as_domain(d: Domain) -> Self {
        Project {
            id: d.id,
            name: d.name,
            domain_id: String::new(),
            parent_id: None,
            description: d.description,
            enabled: d.enabled,
            is_domain: true,
            tags: d.tags,
            extra: d.extra,
        }
    }

    /// The domain this project belongs to, for policy targets: none for a
    /// domain, as in Keystone (so no domain-scoped rule matches it).
    pub fn owning_domain(&self) -> Option<&str> {
        (!self.is_domain).then_some(self.domain_id.as_str())
    }

    fn from_row(r: ProjectRow, tags: Vec<String>) -> Self {
        let extra = crate::store::extra::parse(&r.extra);
        Project {
            id: r.id,
            name: r.name,
            domain_id: r.domain_id,
            parent_id: r.parent_id,
            description: r.description,
            enabled: r.enabled,
            is_domain: r.is_domain,
            tags,
            extra,
        }
    }
}

pub fn not_found_domain(id: &str) -> Error {
    Error::NotFound(format!("Could not find domain: {id}."))
}

pub fn not_found_project(id: &str) -> Error {
    Error::NotFound(format!("Could not find project: {id}."))
}

pub fn get_domain(conn: &mut Conn, id: &str) -> Result<Option<Domain>, Error> {
    Ok(domains::table
        .find(id)
        .select(DomainRow::as_select())
        .first(conn)
        .optional()?
        .map(Domain::from))
}

pub fn find_domain_by_name(conn: &mut Conn, name: &str) -> Result<Option<Domain>, Error> {
    Ok(domains::table
        .filter(domains::name.eq(name))
        .select(DomainRow::as_select())
        .first(conn)
        .optional()?
        .map(Domain::from))
}

pub fn list_domains_by_ids(conn: &mut Conn, ids: &[String]) -> Result<Vec<Domain>, Error> {
    Ok(domains::table
        .filter(domains::id.eq_any(ids))
        .order(domains::name.asc())
        .select(DomainRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Domain::from)
        .collect())
}

pub struct NewDomain<'a> {
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub enabled: bool,
    pub extra: &'a Map<String, Value>,
    pub tags: &'a [String],
}

pub fn create_domain(conn: &mut Conn, new: NewDomain<'_>) -> Result<Domain, Error> {
    if find_domain_by_name(conn, new.name)?.is_some() {
        return Err(Error::Conflict(format!(
            "Conflict occurred attempting to store domain - Duplicate entry found with name {}.",
            new.name
        )));
    }
    let row = DomainRow {
        id: new
            .id
            .map(str::to_string)
            .unwrap_or_else(crate::store::new_id),
        name: new.name.to_string(),
        description: new.description.map(str::to_string),
        enabled: new.enabled,
        extra: crate::store::extra::text(new.extra),
        created_at: now_micros(),
    };
    diesel::insert_into(domains::table)
        .values(&row)
        .execute(conn)?;
    set_domain_tags(conn, &row.id, new.tags)?;
    let mut domain = Domain::from(row);
    domain.tags = domain_tags_of(conn, &domain.id)?;
    crate::notify::created("domain", &domain.id);
    Ok(domain)
}

/// Replaces the rows of a tag table (`owner`, `name`) for one owner.
macro_rules! replace_tag_rows {
    ($conn:expr, $table:ident, $owner:ident, $tags:expr) => {{
        check_tags($tags)?;
        diesel::delete($table::table.filter($table::$owner.eq($owner))).execute($conn)?;
        for tag in unique_tags($tags) {
            diesel::insert_into($table::table)
                .values(($table::$owner.eq($owner), $table::name.eq(tag)))
                .execute($conn)?;
        }
        Ok(())
    }};
}

fn domain_tags_of(conn: &mut Conn, domain_id: &str) -> Result<Vec<String>, Error> {
    Ok(domain_tags::table
        .filter(domain_tags::domain_id.eq(domain_id))
        .order(domain_tags::name.asc())
        .select(domain_tags::name)
        .load(conn)?)
}

/// Replaces a domain's tags, under the rules of a project's.
pub fn set_domain_tags(conn: &mut Conn, domain_id: &str, tags: &[String]) -> Result<(), Error> {
    replace_tag_rows!(conn, domain_tags, domain_id, tags)
}

/// The domain with its tags, as the API shows it.
pub fn show_domain(conn: &mut Conn, id: &str) -> Result<Option<Domain>, Error> {
    match get_domain(conn, id)? {
        Some(mut domain) => {
            domain.tags = domain_tags_of(conn, id)?;
            Ok(Some(domain))
        }
        None => Ok(None),
    }
}

/// The project, or the domain of that id as the project acting as it:
/// what `/v3/projects/{id}` finds, as in Keystone.
pub fn get_project_or_domain(conn: &mut Conn, id: &str) -> Result<Option<Project>, Error> {
    match get_project(conn, id)? {
        Some(project) => Ok(Some(project)),
        None => Ok(show_domain(conn, id)?.map(Project::acting_as_domain)),
    }
}

fn tags_of(conn: &mut Conn, project_id: &str) -> Result<Vec<String>, Error> {
    Ok(project_tags::table
        .filter(project_tags::project_id.eq(project_id))
        .order(project_tags::name.asc())
        .select(project_tags::name)
        .load(conn)?)
}

/// Completes a row with its tags.
fn with_tags(conn: &mut Conn, row: Option<ProjectRow>) -> Result<Option<Project>, Error> {
    match row {
        Some(row) => {
            let tags = tags_of(conn, &row.id)?;
            Ok(Some(Project::from_row(row, tags)))
        }
        None => Ok(None),
    }
}

pub fn get_project(conn: &mut Conn, id: &str) -> Result<Option<Project>, Error> {
    let row = projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?;
    with_tags(conn, row)
}

pub fn find_project_by_name(
    conn: &mut Conn,
    domain_id: &str,
    name: &str,
) -> Result<Option<Project>, Error> {
    let row = projects::table
        .filter(projects::domain_id.eq(domain_id))
        .filter(projects::name.eq(name))
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?;
    with_tags(conn, row)
}

pub fn list_projects_by_ids(conn: &mut Conn, ids: &[String]) -> Result<Vec<Project>, Error> {
    let rows = projects::table
        .filter(projects::id.eq_any(ids))
        .order(projects::name.asc())
        .select(ProjectRow::as_select())
        .load(conn)?;
    let mut projects = Vec::with_capacity(rows.len());
    for row in rows {
        projects.extend(with_tags(conn, Some(row))?);
    }
    Ok(projects)
}

/// The project's ancestors, nearest first (for inherited assignments).
pub fn project_ancestors(conn: &mut Conn, project: &Project) -> Result<Vec<String>, Error> {
    let mut chain = Vec::new();
    let mut next = project.parent_id.clone();
    while let Some(id) = next {
        if chain.contains(&id) || chain.len() > 64 {
            break;
        }
        next = projects::table
            .find(&id)
            .select(projects::parent_id)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten();
        chain.push(id);
    }
    Ok(chain)
}

/// The project's ancestors, nearest first, up to and including its
/// domain (Keystone's `list_project_parents`, in which a domain is the
/// root project acting as it).
pub fn project_parents(conn: &mut Conn, project: &Project) -> Result<Vec<Project>, Error> {
    let mut parents = Vec::new();
    if project.is_domain {
        return Ok(parents);
    }
    for id in project_ancestors(conn, project)? {
        parents.extend(get_project(conn, &id)?);
    }
    parents.extend(get_project_or_domain(conn, &project.domain_id)?);
    Ok(parents)
}

/// The project's descendants, level by level (Keystone's
/// `list_projects_in_subtree`); a domain's are all of its projects.
pub fn project_subtree(conn: &mut Conn, project: &Project) -> Result<Vec<Project>, Error> {
    let mut subtree: Vec<Project> = Vec::new();
    let mut level = vec![project.id.clone()];
    while !level.is_empty() {
        let mut children = Vec::new();
        for parent in &level {
            children.extend(list_projects(
                conn,
                &ProjectFilter {
                    parent_id: Some(parent.clone()),
                    ..Default::default()
                },
            )?);
        }
        // A cycle (which Keystone logs and stops at) ends the walk too.
        children.retain(|c| c.id != project.id && !subtree.iter().any(|s| s.id == c.id));
        level = children.iter().map(|c| c.id.clone()).collect();
        subtree.extend(children);
    }
    Ok(subtree)
}

/// Keystone's `_assert_max_hierarchy_depth`: a new project below `parent`
/// may not make the branch deeper than `max_depth` levels of projects.
fn check_depth(conn: &mut Conn, parent: &str, max_depth: usize) -> Result<(), Error> {
    let Some(parent_project) = get_project(conn, parent)? else {
        return Ok(());
    };
    let levels = project_ancestors(conn, &parent_project)?.len() + 2;
    if levels > max_depth {
        return Err(Error::Forbidden(format!(
            "Max hierarchy depth reached for {parent} branch."
        )));
    }
    Ok(())
}

pub struct NewProject<'a> {
    pub name: &'a str,
    pub domain_id: &'a str,
    pub parent_id: Option<&'a str>,
    pub description: Option<&'a str>,
    pub enabled: bool,
    /// Keystone's `extra`: the attributes it keeps beside its columns.
    pub extra: &'a Map<String, Value>,
}

pub fn create_project(conn: &mut Conn, new: NewProject<'_>) -> Result<Project, Error> {
    if get_domain(conn, new.domain_id)?.is_none() {
        return Err(not_found_domain(new.domain_id));
    }
    if find_project_by_name(conn, new.domain_id, new.name)?.is_some() {
        return Err(Error::Conflict(format!(
            "Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : {}.",
            new.name
        )));
    }
    if let Some(parent_id) = new.parent_id {
        let parent = get_project(conn, parent_id)?.ok_or_else(|| {
            Error::BadRequest(format!("Could not find the parent project: {parent_id}."))
        })?;
        if parent.domain_id != new.domain_id {
            return Err(Error::BadRequest(
                "Cannot create a project whose parent is in another domain.".into(),
            ));
        }
    }
    let row = ProjectRow {
        id: crate::store::new_id(),
        name: new.name.to_string(),
        domain_id: new.domain_id.to_string(),
        parent_id: new.parent_id.map(str::to_string),
        description: new.description.map(str::to_string),
        enabled: new.enabled,
        is_domain: false,
        extra: crate::store::extra::text(new.extra),
        created_at: now_micros(),
    };
    diesel::insert_into(projects::table)
        .values(&row)
        .execute(conn)?;
    crate::notify::created("project", &row.id);
    Ok(Project::from_row(row, Vec::new()))
}

/// Deletes a project with no children (its assignments are gone, see
/// `cascade`); tokens scoped to it stop validating, and an event makes
/// that explicit.
pub fn delete_project(conn: &mut Conn, id: &str) -> Result<(), Error> {
    let children = projects::table
        .filter(projects::parent_id.eq(id))
        .count()
        .get_result::<i64>(conn)?;
    if children > 0 {
        return Err(Error::Forbidden(format!(
            "Cannot delete project {id}: it has child projects."
        )));
    }
    diesel::delete(project_tags::table.filter(project_tags::project_id.eq(id))).execute(conn)?;
    let n = diesel::delete(projects::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(not_found_project(id));
    }
    crate::notify::deleted("project", id);
    crate::revoke::record(
        conn,
        crate::revoke::Revoke {
            project_id: Some(id.to_string()),
            ..Default::default()
        },
    )
}

/// Enables or disables a project. Tokens scoped to a disabled project stop
/// validating because validation checks the live project.
pub fn set_project_enabled(conn: &mut Conn, id: &str, enabled: bool) -> Result<(), Error> {
    let n = diesel::update(projects::table.find(id))
        .set(projects::enabled.eq(enabled))
        .execute(conn)?;
    if n == 0 {
        return Err(not_found_project(id));
    }
    Ok(())
}

pub fn set_domain_enabled(conn: &mut Conn, id: &str, enabled: bool) -> Result<(), Error> {
    let n = diesel::update(domains::table.find(id))
        .set(domains::enabled.eq(enabled))
        .execute(conn)?;
    if n == 0 {
        return Err(not_found_domain(id));
    }
    Ok(())
}

/// Filters for listing domains; `None` matches all.
#[derive(Debug, Default, Clone)]
pub struct DomainFilter {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub id: Option<String>,
    pub tags: TagFilter,
    /// Keystone 30's page marker: only domains after this id.
    pub marker: Option<String>,
}

/// Keystone's tag filters on listings (`tags`, `tags-any`, `not-tags`,
/// `not-tags-any`, each a comma-separated list).
#[derive(Debug, Default, Clone)]
pub struct TagFilter {
    pub all: Option<Vec<String>>,
    pub any: Option<Vec<String>>,
    pub not_all: Option<Vec<String>>,
    pub not_any: Option<Vec<String>>,
}

impl TagFilter {
    /// Whether an entity with `tags` passes every filter given.
    pub fn admits(&self, tags: &[String]) -> bool {
        let has = |t: &String| tags.contains(t);
        self.all.as_ref().is_none_or(|w| w.iter().all(has))
            && self.any.as_ref().is_none_or(|w| w.iter().any(has))
            && self.not_all.as_ref().is_none_or(|w| !w.iter().all(has))
            && self.not_any.as_ref().is_none_or(|w| !w.iter().any(has))
    }
}

/// Domains in id order, as Keystone 30 pages them.
pub fn list_domains(conn: &mut Conn, filter: &DomainFilter) -> Result<Vec<Domain>, Error> {
    let mut query = domains::table.select(DomainRow::as_select()).into_boxed();
    if let Some(marker) = &filter.marker {
        check_project_marker(conn, marker)?;
        query = query.filter(domains::id.gt(marker.clone()));
    }
    if let Some(n) = &filter.name {
        query = query.filter(domains::name.eq(n.clone()));
    }
    if let Some(e) = filter.enabled {
        query = query.filter(domains::enabled.eq(e));
    }
    if let Some(id) = &filter.id {
        query = query.filter(domains::id.eq(id.clone()));
    }
    let mut listed: Vec<Domain> = query
        .order(domains::id.asc())
        .load(conn)?
        .into_iter()
        .map(Domain::from)
        .collect();
    for domain in &mut listed {
        domain.tags = domain_tags_of(conn, &domain.id)?;
    }
    listed.retain(|d| filter.tags.admits(&d.tags));
    Ok(listed)
}

/// Changes to a domain; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct DomainPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub tags: Option<Vec<String>>,
    /// Attributes to set in Keystone's `extra` (merged into it).
    pub extra: Map<String, Value>,
}

pub fn update_domain(conn: &mut Conn, id: &str, patch: &DomainPatch) -> Result<Domain, Error> {
    let current = get_domain(conn, id)?.ok_or_else(|| not_found_domain(id))?;
    if let Some(name) = &patch.name {
        if name != &current.name && find_domain_by_name(conn, name)?.is_some() {
            return Err(Error::Conflict(format!(
                "Conflict occurred attempting to store domain - Duplicate entry found with name {name}."
            )));
        }
        diesel::update(domains::table.find(id))
            .set(domains::name.eq(name))
            .execute(conn)?;
    }
    if let Some(description) = &patch.description {
        diesel::update(domains::table.find(id))
            .set(domains::description.eq(description))
            .execute(conn)?;
    }
    if let Some(enabled) = patch.enabled {
        set_domain_enabled(conn, id, enabled)?;
    }
    if let Some(tags) = &patch.tags {
        set_domain_tags(conn, id, tags)?;
    }
    if let Some(extra) = crate::store::extra::merged(&current.extra, &patch.extra) {
        diesel::update(domains::table.find(id))
            .set(domains::extra.eq(extra))
            .execute(conn)?;
    }
    crate::notify::updated("domain", id);
    show_domain(conn, id)?.ok_or_else(|| not_found_domain(id))
}

/// The domain, if it may be deleted: not the default one, and disabled
/// first, as Keystone demands.
pub fn deletable_domain(
    conn: &mut Conn,
    id: &str,
    default_domain_id: &str,
) -> Result<Domain, Error> {
    let domain = get_domain(conn, id)?.ok_or_else(|| not_found_domain(id))?;
    if domain.id == default_domain_id {
        return Err(Error::Forbidden("Cannot delete the default domain.".into()));
    }
    if domain.enabled {
        return Err(Error::Forbidden(
            "Cannot delete a domain that is enabled, please disable it first.".into(),
        ));
    }
    Ok(domain)
}

/// The domain's projects in an order in which each can be deleted: every
/// project after all of its children.
pub fn projects_leaves_first(conn: &mut Conn, domain_id: &str) -> Result<Vec<String>, Error> {
    let mut remaining: Vec<(String, Option<String>)> = projects::table
        .filter(projects::domain_id.eq(domain_id))
        .select((projects::id, projects::parent_id))
        .load(conn)?;
    let mut ordered = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let leaves: Vec<String> = remaining
            .iter()
            .filter(|(pid, _)| {
                !remaining
                    .iter()
                    .any(|(_, parent)| parent.as_deref() == Some(pid.as_str()))
            })
            .map(|(pid, _)| pid.clone())
            .collect();
        if leaves.is_empty() {
            return Err(Error::Internal("project hierarchy has a cycle".into()));
        }
        remaining.retain(|(pid, _)| !leaves.contains(pid));
        ordered.extend(leaves);
    }
    Ok(ordered)
}

/// Deletes the domain row (its contents are gone, see `cascade`); tokens
/// scoped to it stop validating, and an event makes that explicit.
pub fn delete_domain(conn: &mut Conn, id: &str) -> Result<(), Error> {
    diesel::delete(domains::table.find(id)).execute(conn)?;
    crate::notify::deleted("domain", id);
    crate::revoke::record(
        conn,
        crate::revoke::Revoke {
            domain_id: Some(id.to_string()),
            ..Default::default()
        },
    )
}

/// Filters for listing projects; `None` matches all.
#[derive(Debug, Default, Clone)]
pub struct ProjectFilter {
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub enabled: Option<bool>,
    pub parent_id: Option<String>,
    /// Keystone lists projects acting as domains (the domains) when asked,
    /// and only then.
    pub is_domain: bool,
    pub tags: TagFilter,
    /// Keystone 30's page marker: only projects after this id.
    pub marker: Option<String>,
}

/// Keystone 30 pages projects and domains (projects acting as domains)
/// from a marker that must name one of either.
fn check_project_marker(conn: &mut Conn, marker: &str) -> Result<(), Error> {
    let projects: i64 = projects::table.find(marker).count().get_result(conn)?;
    let domains: i64 = domains::table.find(marker).count().get_result(conn)?;
    if projects + domains == 0 {
        return Err(crate::store::marker_not_found(marker));
    }
    Ok(())
}

/// The domains as the projects acting as them, under a project filter:
/// they have no domain and no parent, so filtering on either finds none.
fn list_domains_as_projects(
    conn: &mut Conn,
    filter: &ProjectFilter,
) -> Result<Vec<Project>, Error> {
    if filter.domain_id.is_some() || filter.parent_id.is_some() {
        return Ok(Vec::new());
    }
    let domains = list_domains(
        conn,
        &DomainFilter {
            name: filter.name.clone(),
            enabled: filter.enabled,
            id: None,
            tags: filter.tags.clone(),
            marker: filter.marker.clone(),
        },
    )?;
    Ok(domains.into_iter().map(Project::acting_as_domain).collect())
}

pub fn list_projects(conn: &mut Conn, filter: &ProjectFilter) -> Result<Vec<Project>, Error> {
    if filter.is_domain {
        return list_domains_as_projects(conn, filter);
    }
    let mut query = projects::table.select(ProjectRow::as_select()).into_boxed();
    if let Some(marker) = &filter.marker {
        check_project_marker(conn, marker)?;
        query = query.filter(projects::id.gt(marker.clone()));
    }
    if let Some(n) = &filter.name {
        query = query.filter(projects::name.eq(n.clone()));
    }
    if let Some(d) = &filter.domain_id {
        query = query.filter(projects::domain_id.eq(d.clone()));
    }
    if let Some(e) = filter.enabled {
        query = query.filter(projects::enabled.eq(e));
    }
    if let Some(p) = &filter.parent_id {
        // A top-level project's API parent is its domain.
        query = query.filter(
            projects::parent_id.eq(p.clone()).or(projects::parent_id
                .is_null()
                .and(projects::domain_id.eq(p.clone()))),
        );
    }
    let rows = query.order(projects::id.asc()).load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.extend(with_tags(conn, Some(row))?);
    }
    out.retain(|p| filter.tags.admits(&p.tags));
    Ok(out)
}

fn not_found_tag(tag: &str) -> Error {
    Error::NotFound(format!("Could not find project tag: {tag}."))
}

/// Keystone's rules for a project's tags: at most 80, each 1 to 255
/// characters without `/` or `,`.
pub fn check_tags(tags: &[String]) -> Result<(), Error> {
    if tags.len() > 80 {
        return Err(Error::BadRequest(
            "A project may have at most 80 tags.".into(),
        ));
    }
    for tag in tags {
        if tag.is_empty() || tag.chars().count() > 255 || tag.contains('/') || tag.contains(',') {
            return Err(Error::BadRequest(format!(
                "Invalid project tag {tag:?}: 1 to 255 characters, without '/' or ','."
            )));
        }
    }
    Ok(())
}

fn unique_tags(tags: &[String]) -> Vec<&String> {
    let mut unique: Vec<&String> = tags.iter().collect();
    unique.sort();
    unique.dedup();
    unique
}

/// Replaces a project's tags, checked by [`check_tags`].
pub fn set_tags(conn: &mut Conn, project_id: &str, tags: &[String]) -> Result<(), Error> {
    replace_tag_rows!(conn, project_tags, project_id, tags)
}

/// Changes to a project; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub tags: Option<Vec<String>>,
    /// What the body says of the fields Keystone never changes: each may
    /// repeat the current value (`None` when absent).
    pub domain_id: Option<Option<String>>,
    pub parent_id: Option<Option<String>>,
    pub is_domain: Option<bool>,
    /// Attributes to set in Keystone's `extra` (merged into it).
    pub extra: Map<String, Value>,
}

/// Keystone's `_require_matching_domain_id`: an update may repeat the
/// entity's domain, not move it.
pub fn require_matching_domain(asked: &Option<Option<String>>, current: &str) -> Result<(), Error> {
    match asked {
        Some(d) if d.as_deref() != Some(current) => {
            Err(Error::BadRequest("Cannot change Domain ID".into()))
        }
        _ => Ok(()),
    }
}

/// Keystone's `_update_project` checks: the domain, the parent (whose API
/// value for a top-level project is its domain) and `is_domain` stay.
fn require_fixed_project_fields(patch: &ProjectPatch, current: &Project) -> Result<(), Error> {
    require_matching_domain(&patch.domain_id, &current.domain_id)?;
    let parent = current.parent_id.as_deref().unwrap_or(&current.domain_id);
    if matches!(&patch.parent_id, Some(p) if p.as_deref() != Some(parent)) {
        return Err(Error::Forbidden(
            "Update of `parent_id` is not allowed.".into(),
        ));
    }
    if patch.is_domain.is_some_and(|d| d != current.is_domain) {
        return Err(Error::BadRequest(
            "Update of `is_domain` is not allowed.".into(),
        ));
    }
    Ok(())
}

/// Keystone's `_assert_all_parents_are_enabled`, domain included.
fn check_parents_enabled(conn: &mut Conn, project: &Project) -> Result<(), Error> {
    if project_parents(conn, project)?.iter().any(|p| !p.enabled) {
        return Err(Error::Forbidden(format!(
            "Cannot enable project {} since it has disabled parents",
            project.id
        )));
    }
    Ok(())
}

/// Keystone's `_check_whole_subtree_is_disabled`, before a disable.
fn check_subtree_disabled(conn: &mut Conn, project: &Project) -> Result<(), Error> {
    if project_subtree(conn, project)?.iter().any(|p| p.enabled) {
        return Err(Error::Forbidden(format!(
            "Cannot disable project {} since its subtree contains enabled projects.",
            project.id
        )));
    }
    Ok(())
}

pub fn update_project(conn: &mut Conn, id: &str, patch: &ProjectPatch) -> Result<Project, Error> {
    let current = get_project(conn, id)?.ok_or_else(|| not_found_project(id))?;
    require_fixed_project_fields(patch, &current)?;
    if patch.enabled == Some(true) && !current.enabled {
        check_parents_enabled(conn, &current)?;
    }
    if patch.enabled == Some(false) && current.enabled {
        check_subtree_disabled(conn, &current)?;
    }
    if let Some(name) = &patch.name {
        if name != &current.name && find_project_by_name(conn, &current.domain_id, name)?.is_some()
        {
            return Err(Error::Conflict(format!(
                "Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : {name}."
            )));
        }
        diesel::update(projects::table.find(id))
            .set(projects::name.eq(name))
            .execute(conn)?;
    }
    if let Some(description) = &patch.description {
        diesel::update(projects::table.find(id))
            .set(projects::description.eq(description))
            .execute(conn)?;
    }
    if let Some(enabled) = patch.enabled {
        set_project_enabled(conn, id, enabled)?;
    }
    if let Some(tags) = &patch.tags {
        set_tags(conn, id, tags)?;
    }
    if let Some(extra) = crate::store::extra::merged(&current.extra, &patch.extra) {
        diesel::update(projects::table.find(id))
            .set(projects::extra.eq(extra))
            .execute(conn)?;
    }
    crate::notify::updated("project", id);
    get_project(conn, id)?.ok_or_else(|| not_found_project(id))
}

/// Keystone's `_assert_regular_project_constraints` and the enabled
/// branch: the domain and the parent exist (else a 400, as Keystone turns
/// them into), the parent is the domain or one of its projects, and
/// nothing above is disabled. Yields the parent.
fn placed_below(conn: &mut Conn, domain_id: &str, parent_id: &str) -> Result<Project, Error> {
    let domain = get_domain(conn, domain_id)?
        .ok_or_else(|| Error::BadRequest(format!("Could not find domain: {domain_id}.")))?;
    let parent = get_project_or_domain(conn, parent_id)?
        .ok_or_else(|| Error::BadRequest(format!("Could not find project: {parent_id}.")))?;
    if parent.is_domain && parent.id != domain.id {
        return Err(Error::BadRequest(format!(
            "Cannot create project, the parent ({}) is acting as a domain, but this project's domain id ({}) does not match the parent's id.",
            parent.id, domain.id
        )));
    }
    if !parent.is_domain && parent.domain_id != domain.id {
        return Err(Error::BadRequest(format!(
            "Cannot create project, since it specifies its domain_id {}, but specifies a parent in a different domain ({}).",
            domain.id, parent.domain_id
        )));
    }
    let mut branch: Vec<(String, bool)> = Vec::new();
    if !parent.is_domain {
        for id in project_ancestors(conn, &parent)? {
            if let Some(p) = get_project(conn, &id)? {
                branch.push((p.id, p.enabled));
            }
        }
        branch.push((domain.id.clone(), domain.enabled));
    }
    branch.push((parent.id.clone(), parent.enabled));
    if let Some((disabled, _)) = branch.iter().find(|(_, enabled)| !enabled) {
        return Err(Error::BadRequest(format!(
            "cannot create a project in a branch containing a disabled project: {disabled}"
        )));
    }
    Ok(parent)
}

/// A project's tags, or a domain's for a project acting as one.
fn replace_tags(conn: &mut Conn, project: &Project, tags: &[String]) -> Result<(), Error> {
    match project.is_domain {
        true => set_domain_tags(conn, &project.id, tags),
        false => set_tags(conn, &project.id, tags),
    }
}

/// Keystone's name conflict for a project acting as a domain.
fn domain_conflict_as_project(e: Error, name: &str) -> Error {
    match e {
        Error::Conflict(_) => Error::Conflict(format!(
            "Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: {name}."
        )),
        other => other,
    }
}

/// Keystone's `_update_project` for a project acting as a domain: it has
/// no domain and no parent to repeat, stays a domain, and changes as the
/// domain does.
fn update_project_acting_as_domain(
    conn: &mut Conn,
    id: &str,
    patch: ProjectPatch,
) -> Result<Project, Error> {
    if matches!(patch.domain_id, Some(Some(_))) {
        return Err(Error::BadRequest("Cannot change Domain ID".into()));
    }
    if matches!(patch.parent_id, Some(Some(_))) {
        return Err(Error::Forbidden(
            "Update of `parent_id` is not allowed.".into(),
        ));
    }
    if patch.is_domain == Some(false) {
        return Err(Error::BadRequest(
            "Update of `is_domain` is not allowed.".into(),
        ));
    }
    let name = patch.name.clone().unwrap_or_default();
    let domain = update_domain(
        conn,
        id,
        &DomainPatch {
            name: patch.name,
            description: patch.description,
            enabled: patch.enabled,
            tags: patch.tags,
            extra: patch.extra,
        },
    )
    .map_err(|e| domain_conflict_as_project(e, &name))?;
    Ok(Project::acting_as_domain(domain))
}

/// A domain to create through the API.
#[derive(Debug, Clone)]
pub struct DomainInput {
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub tags: Vec<String>,
    /// Attributes Keystone keeps in `extra`.
    pub extra: Map<String, Value>,
}

impl DomainInput {
    fn store(&self, conn: &mut Conn) -> Result<Domain, Error> {
        create_domain(
            conn,
            NewDomain {
                id: None,
                name: &self.name,
                description: self.description.as_deref(),
                enabled: self.enabled,
                extra: &self.extra,
                tags: &self.tags,
            },
        )
    }
}

/// A project to create through the API.
#[derive(Debug, Clone)]
pub struct ProjectInput {
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub tags: Vec<String>,
    /// A project, or a domain (meaning "top level in that domain").
    pub parent_id: Option<String>,
    pub domain_id: Option<String>,
    /// A project acting as a domain: Keystone's way of creating a domain
    /// through `/v3/projects`.
    pub is_domain: bool,
    /// Attributes Keystone keeps in `extra`.
    pub extra: Map<String, Value>,
}

/// The resource subsystem's use cases: domains and projects (Keystone's
/// `resource_api`).
#[derive(Clone)]
pub struct Resources {
    db: crate::store::Database,
    default_domain_id: String,
    max_depth: usize,
}

impl Resources {
    /// `max_depth`: the levels of projects allowed below a domain.
    pub fn new(db: crate::store::Database, default_domain_id: String, max_depth: usize) -> Self {
        Resources {
            db,
            default_domain_id,
            max_depth,
        }
    }

    pub async fn create_domain(
        &self,
        caller: &Caller,
        new: Input<DomainInput>,
    ) -> Result<Domain, Error> {
        policy::enforce(policy::CREATE_DOMAIN, caller, Target::default())?;
        let new = new?;
        self.db.write(move |conn| new.store(conn)).await
    }

    pub async fn list_domains(
        &self,
        caller: &Caller,
        mut filter: DomainFilter,
    ) -> Result<Vec<Domain>, Error> {
        filter.id = policy::list_domain(policy::LIST_DOMAINS, caller, None)?;
        self.db.read(move |conn| list_domains(conn, &filter)).await
    }

    async fn load_domain(&self, id: Input<String>) -> Result<Domain, Error> {
        self.db.load(id, show_domain, not_found_domain).await
    }

    pub async fn get_domain(&self, caller: &Caller, id: Input<String>) -> Result<Domain, Error> {
        let domain = self.load_domain(id).await?;
        policy::enforce(policy::GET_DOMAIN, caller, Target::in_domain(&domain.id))?;
        Ok(domain)
    }

    pub async fn update_domain(
        &self,
        caller: &Caller,
        change: Input<(String, DomainPatch)>,
    ) -> Result<Domain, Error> {
        policy::enforce(policy::UPDATE_DOMAIN, caller, Target::default())?;
        let (id, patch) = change?;
        self.db
            .write(move |conn| update_domain(conn, &id, &patch))
            .await
    }

    /// Keystone's `POST /v3/projects`: the rule sees the body as given
    /// (a domain manager must name the domain); the project then goes to
    /// the domain asked for, else the token's domain scope, else the
    /// default one, below the parent asked for, else at the top.
    pub async fn create_project(
        &self,
        caller: &Caller,
        new: Input<ProjectInput>,
    ) -> Result<Project, Error> {
        let new = new?;
        policy::enforce(
            policy::CREATE_PROJECT,
            caller,
            Target {
                domain_id: new.domain_id.as_deref(),
                ..Default::default()
            },
        )?;
        if new.is_domain {
            return self.create_project_acting_as_domain(new).await;
        }
        let domain_id = new
            .domain_id
            .clone()
            .or_else(|| caller.domain_id().map(str::to_string))
            .unwrap_or_else(|| self.default_domain_id.clone());
        let max_depth = self.max_depth;
        self.db
            .write(move |conn| {
                let parent = new.parent_id.as_deref().unwrap_or(&domain_id);
                let parent = placed_below(conn, &domain_id, parent)?;
                if !parent.is_domain {
                    check_depth(conn, &parent.id, max_depth)?;
                }
                let project = create_project(
                    conn,
                    NewProject {
                        name: &new.name,
                        domain_id: &domain_id,
                        parent_id: (!parent.is_domain).then_some(parent.id.as_str()),
                        description: new.description.as_deref(),
                        enabled: new.enabled,
                        extra: &new.extra,
                    },
                )?;
                set_tags(conn, &project.id, &new.tags)?;
                get_project(conn, &project.id)?.ok_or_else(|| not_found_project(&project.id))
            })
            .await
    }

    /// Keystone's `create_project` with `is_domain` (the rule has passed):
    /// a domain must be a root, with no domain or parent; its name is
    /// unique among the domains.
    async fn create_project_acting_as_domain(&self, new: ProjectInput) -> Result<Project, Error> {
        if new.domain_id.is_some() || new.parent_id.is_some() {
            return Err(Error::BadRequest(
                "only root projects are allowed to act as domains.".into(),
            ));
        }
        self.db
            .write(move |conn| {
                let domain = DomainInput {
                    name: new.name,
                    description: new.description,
                    enabled: new.enabled,
                    tags: new.tags,
                    extra: new.extra,
                };
                let domain = domain
                    .store(conn)
                    .map_err(|e| domain_conflict_as_project(e, &domain.name))?;
                Ok(Project::acting_as_domain(domain))
            })
            .await
    }

    pub async fn list_projects(
        &self,
        caller: &Caller,
        mut filter: ProjectFilter,
    ) -> Result<Vec<Project>, Error> {
        filter.domain_id =
            policy::list_domain(policy::LIST_PROJECTS, caller, filter.domain_id.take())?;
        let mut listed = self
            .db
            .read(move |conn| list_projects(conn, &filter))
            .await?;
        // Keystone then keeps, for a domain-scoped token, only that
        // domain's projects (whatever the rule let an admin ask for).
        if let Some(own) = caller.domain_id() {
            listed.retain(|p| p.owning_domain() == Some(own));
        }
        Ok(listed)
    }

    /// The project, or Keystone's 404.
    pub async fn load_project(&self, id: Input<String>) -> Result<Project, Error> {
        self.db
            .load(id, get_project_or_domain, not_found_project)
            .await
    }

    /// The project after `rule` allowed the caller on it.
    pub async fn authorized_project(
        &self,
        caller: &Caller,
        rule: Policy,
        id: Input<String>,
    ) -> Result<Project, Error> {
        let project = self.load_project(id).await?;
        policy::enforce(
            rule,
            caller,
            Target {
                domain_id: project.owning_domain(),
                project_id: Some(&project.id),
                ..Default::default()
            },
        )?;
        Ok(project)
    }

    pub async fn get_project(&self, caller: &Caller, id: Input<String>) -> Result<Project, Error> {
        self.authorized_project(caller, policy::GET_PROJECT, id)
            .await
    }

    /// `GET /v3/projects/{id}/tags`.
    pub async fn project_tags(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Vec<String>, Error> {
        Ok(self
            .authorized_project(caller, policy::LIST_PROJECT_TAGS, id)
            .await?
            .tags)
    }

    /// `GET /v3/projects/{id}/tags/{tag}`: Keystone's 404 when absent.
    pub async fn check_project_tag(
        &self,
        caller: &Caller,
        id: Input<String>,
        tag: &str,
    ) -> Result<(), Error> {
        let project = self
            .authorized_project(caller, policy::GET_PROJECT_TAG, id)
            .await?;
        if project.tags.iter().any(|t| t == tag) {
            Ok(())
        } else {
            Err(not_found_tag(tag))
        }
    }

    /// `PUT /v3/projects/{id}/tags` (all of them) and `DELETE` (none):
    /// the tags now.
    pub async fn replace_project_tags(
        &self,
        caller: &Caller,
        rule: Policy,
        id: Input<String>,
        tags: Input<Vec<String>>,
    ) -> Result<Vec<String>, Error> {
        let project = self.authorized_project(caller, rule, id).await?;
        let tags = tags?;
        self.db
            .write(move |conn| {
                replace_tags(conn, &project, &tags)?;
                Ok(unique_tags(&tags).into_iter().cloned().collect())
            })
            .await
    }

    /// `PUT /v3/projects/{id}/tags/{tag}` adds one tag (already there is
    /// Keystone's 400); `DELETE` removes one (absent is Keystone's 404).
    pub async fn change_project_tag(
        &self,
        caller: &Caller,
        id: Input<String>,
        tag: String,
        add: bool,
    ) -> Result<(), Error> {
        let rule = if add {
            policy::CREATE_PROJECT_TAG
        } else {
            policy::DELETE_PROJECT_TAG
        };
        let project = self.authorized_project(caller, rule, id).await?;
        let mut tags = project.tags.clone();
        let present = tags.contains(&tag);
        match (add, present) {
            // Keystone appends and validates: a repeated tag breaks the
            // schema's `uniqueItems`.
            (true, true) => {
                return Err(Error::BadRequest(format!(
                    "Invalid input for field 'tags': the project already has the tag {tag:?}."
                )))
            }
            (true, false) => tags.push(tag),
            (false, true) => tags.retain(|t| *t != tag),
            (false, false) => return Err(not_found_tag(&tag)),
        }
        self.db
            .write(move |conn| replace_tags(conn, &project, &tags))
            .await
    }

    pub async fn update_project(
        &self,
        caller: &Caller,
        id: Input<String>,
        patch: Input<ProjectPatch>,
    ) -> Result<Project, Error> {
        let patch = patch?;
        let project = self
            .authorized_project(caller, policy::UPDATE_PROJECT, id)
            .await?;
        self.db
            .write(move |conn| match project.is_domain {
                true => update_project_acting_as_domain(conn, &project.id, patch),
                false => update_project(conn, &project.id, &patch),
            })
            .await
    }
}
