//! The unified-limit queries, composable inside a use case's transaction.

use diesel::prelude::*;

use super::{
    Limit, LimitFilter, NewLimit, NewRegisteredLimit, RegisteredLimit, RegisteredLimitFilter,
    RegisteredLimitPatch,
};
use crate::error::Error;
use crate::store::schema::{limits, registered_limits};
use crate::store::Conn;

type RegisteredRow = (String, String, Option<String>, String, i32, Option<String>);

const REGISTERED_COLUMNS: (
    registered_limits::id,
    registered_limits::service_id,
    registered_limits::region_id,
    registered_limits::resource_name,
    registered_limits::default_limit,
    registered_limits::description,
) = (
    registered_limits::id,
    registered_limits::service_id,
    registered_limits::region_id,
    registered_limits::resource_name,
    registered_limits::default_limit,
    registered_limits::description,
);

fn registered_from(row: RegisteredRow) -> RegisteredLimit {
    let (id, service_id, region_id, resource_name, default_limit, description) = row;
    RegisteredLimit {
        id,
        service_id,
        region_id,
        resource_name,
        default_limit,
        description,
    }
}

pub fn not_found_registered(id: &str) -> Error {
    Error::NotFound(format!("Could not find registered limit for {id}."))
}

pub fn not_found_limit(id: &str) -> Error {
    Error::NotFound(format!("Could not find limit for {id}."))
}

fn duplicate(kind: &str) -> Error {
    Error::Conflict(format!(
        "Conflict occurred attempting to store {kind} - Duplicate entry."
    ))
}

pub fn get_registered(conn: &mut Conn, id: &str) -> Result<Option<RegisteredLimit>, Error> {
    Ok(registered_limits::table
        .filter(registered_limits::id.eq(id))
        .select(REGISTERED_COLUMNS)
        .first::<RegisteredRow>(conn)
        .optional()?
        .map(registered_from))
}

/// Registered limits in Keystone's order (creation), filtered exactly.
pub fn list_registered(
    conn: &mut Conn,
    filter: &RegisteredLimitFilter,
) -> Result<Vec<RegisteredLimit>, Error> {
    let mut query = registered_limits::table
        .select(REGISTERED_COLUMNS)
        .order(registered_limits::internal_id.asc())
        .into_boxed();
    if let Some(s) = &filter.service_id {
        query = query.filter(registered_limits::service_id.eq(s.clone()));
    }
    if let Some(r) = &filter.region_id {
        query = query.filter(registered_limits::region_id.eq(r.clone()));
    }
    if let Some(n) = &filter.resource_name {
        query = query.filter(registered_limits::resource_name.eq(n.clone()));
    }
    Ok(query
        .load::<RegisteredRow>(conn)?
        .into_iter()
        .map(registered_from)
        .collect())
}

/// The registered limit for a (service, region, resource), if any; a
/// missing region matches only registered limits without one.
pub fn find_registered(
    conn: &mut Conn,
    service_id: &str,
    region_id: Option<&str>,
    resource_name: &str,
) -> Result<Option<RegisteredLimit>, Error> {
    let query = registered_limits::table
        .filter(registered_limits::service_id.eq(service_id))
        .filter(registered_limits::resource_name.eq(resource_name))
        .select(REGISTERED_COLUMNS)
        .into_boxed();
    let query = match region_id {
        Some(r) => query.filter(registered_limits::region_id.eq(r.to_string())),
        None => query.filter(registered_limits::region_id.is_null()),
    };
    Ok(query
        .first::<RegisteredRow>(conn)
        .optional()?
        .map(registered_from))
}

/// Whether any registered limit names the service or the region.
pub fn catalog_in_use(
    conn: &mut Conn,
    service_id: Option<&str>,
    region_id: Option<&str>,
) -> Result<bool, Error> {
    let mut query = registered_limits::table
        .select(registered_limits::id)
        .into_boxed();
    if let Some(s) = service_id {
        query = query.filter(registered_limits::service_id.eq(s.to_string()));
    }
    if let Some(r) = region_id {
        query = query.filter(registered_limits::region_id.eq(r.to_string()));
    }
    Ok(query.first::<String>(conn).optional()?.is_some())
}

fn refuse_duplicate_registered(conn: &mut Conn, candidate: &RegisteredLimit) -> Result<(), Error> {
    match find_registered(
        conn,
        &candidate.service_id,
        candidate.region_id.as_deref(),
        &candidate.resource_name,
    )? {
        Some(other) if other.id != candidate.id => Err(duplicate("registered_limit")),
        _ => Ok(()),
    }
}

/// A registered limit's columns, for inserts and full updates alike.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = registered_limits, treat_none_as_null = true)]
struct RegisteredColumns<'a> {
    id: &'a str,
    service_id: &'a str,
    region_id: Option<&'a str>,
    resource_name: &'a str,
    default_limit: i32,
    description: Option<&'a str>,
}

impl<'a> From<&'a RegisteredLimit> for RegisteredColumns<'a> {
    fn from(r: &'a RegisteredLimit) -> Self {
        RegisteredColumns {
            id: &r.id,
            service_id: &r.service_id,
            region_id: r.region_id.as_deref(),
            resource_name: &r.resource_name,
            default_limit: r.default_limit,
            description: r.description.as_deref(),
        }
    }
}

fn insert_registered(conn: &mut Conn, r: &RegisteredLimit) -> Result<(), Error> {
    diesel::insert_into(registered_limits::table)
        .values(RegisteredColumns::from(r))
        .execute(conn)?;
    Ok(())
}

/// Writes every field of the registered limit with `r`'s id.
fn set_registered(conn: &mut Conn, r: &RegisteredLimit) -> Result<(), Error> {
    diesel::update(registered_limits::table.filter(registered_limits::id.eq(&r.id)))
        .set(RegisteredColumns::from(r))
        .execute(conn)?;
    Ok(())
}

pub fn create_registered(
    conn: &mut Conn,
    new: NewRegisteredLimit,
) -> Result<RegisteredLimit, Error> {
    let created = RegisteredLimit {
        id: crate::store::new_id(),
        service_id: new.service_id,
        region_id: new.region_id,
        resource_name: new.resource_name,
        default_limit: new.default_limit,
        description: new.description,
    };
    refuse_duplicate_registered(conn, &created)?;
    insert_registered(conn, &created)?;
    Ok(created)
}

/// Keystone's `RegisteredLimitError`: a registered limit that project or
/// domain limits refer to can be neither changed nor deleted.
fn refuse_if_referenced(conn: &mut Conn, id: &str) -> Result<(), Error> {
    let referenced = limits::table
        .filter(limits::registered_limit_id.eq(id))
        .select(limits::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if referenced {
        return Err(Error::Forbidden(format!(
            "Unable to update or delete registered limit {id} because there are project limits associated with it."
        )));
    }
    Ok(())
}

pub fn update_registered(
    conn: &mut Conn,
    id: &str,
    patch: RegisteredLimitPatch,
) -> Result<RegisteredLimit, Error> {
    let mut current = get_registered(conn, id)?.ok_or_else(|| not_found_registered(id))?;
    refuse_if_referenced(conn, id)?;
    let moves =
        patch.service_id.is_some() || patch.region_id.is_some() || patch.resource_name.is_some();
    if let Some(s) = patch.service_id {
        current.service_id = s;
    }
    if let Some(r) = patch.region_id {
        current.region_id = r;
    }
    if let Some(n) = patch.resource_name {
        current.resource_name = n;
    }
    if let Some(d) = patch.default_limit {
        current.default_limit = d;
    }
    if let Some(d) = patch.description {
        current.description = d;
    }
    if moves {
        refuse_duplicate_registered(conn, &current)?;
    }
    set_registered(conn, &current)?;
    Ok(current)
}

pub fn delete_registered(conn: &mut Conn, id: &str) -> Result<(), Error> {
    get_registered(conn, id)?.ok_or_else(|| not_found_registered(id))?;
    refuse_if_referenced(conn, id)?;
    diesel::delete(registered_limits::table.filter(registered_limits::id.eq(id))).execute(conn)?;
    Ok(())
}

type LimitRow = (
    String,
    Option<String>,
    Option<String>,
    i32,
    Option<String>,
    String,
    Option<String>,
    String,
);

/// Limits with their registered limit's service, region and resource, in
/// Keystone's order, filtered exactly.
pub fn list_limits(conn: &mut Conn, filter: &LimitFilter) -> Result<Vec<Limit>, Error> {
    let mut query = limits::table
        .inner_join(
            registered_limits::table.on(registered_limits::id.eq(limits::registered_limit_id)),
        )
        .select((
            limits::id,
            limits::project_id,
            limits::domain_id,
            limits::resource_limit,
            limits::description,
            registered_limits::service_id,
            registered_limits::region_id,
            registered_limits::resource_name,
        ))
        .order(limits::internal_id.asc())
        .into_boxed();
    if let Some(id) = &filter.id {
        query = query.filter(limits::id.eq(id.clone()));
    }
    if let Some(s) = &filter.service_id {
        query = query.filter(registered_limits::service_id.eq(s.clone()));
    }
    if let Some(r) = &filter.region_id {
        query = query.filter(registered_limits::region_id.eq(r.clone()));
    }
    if let Some(n) = &filter.resource_name {
        query = query.filter(registered_limits::resource_name.eq(n.clone()));
    }
    if let Some(p) = &filter.project_id {
        query = query.filter(limits::project_id.eq(p.clone()));
    }
    if let Some(d) = &filter.domain_id {
        query = query.filter(limits::domain_id.eq(d.clone()));
    }
    Ok(query
        .load::<LimitRow>(conn)?
        .into_iter()
        .map(
            |(
                id,
                project_id,
                domain_id,
                resource_limit,
                description,
                service_id,
                region_id,
                resource_name,
            )| Limit {
                id,
                project_id,
                domain_id,
                service_id,
                region_id,
                resource_name,
                resource_limit,
                description,
            },
        )
        .collect())
}

pub fn get_limit(conn: &mut Conn, id: &str) -> Result<Option<Limit>, Error> {
    let filter = LimitFilter {
        id: Some(id.to_string()),
        ..Default::default()
    };
    Ok(list_limits(conn, &filter)?.into_iter().next())
}

/// The limit of a project or domain (`owner`) for one resource, if set.
pub fn limit_value(
    conn: &mut Conn,
    owner: LimitOwner<'_>,
    service_id: &str,
    region_id: Option<&str>,
    resource_name: &str,
) -> Result<Option<i32>, Error> {
    let Some(registered) = find_registered(conn, service_id, region_id, resource_name)? else {
        return Ok(None);
    };
    let query = limits::table
        .filter(limits::registered_limit_id.eq(&registered.id))
        .select(limits::resource_limit)
        .into_boxed();
    let query = match owner {
        LimitOwner::Project(p) => query.filter(limits::project_id.eq(p.to_string())),
        LimitOwner::Domain(d) => query.filter(limits::domain_id.eq(d.to_string())),
    };
    Ok(query.first::<i32>(conn).optional()?)
}

/// Whose limit.
#[derive(Debug, Clone, Copy)]
pub enum LimitOwner<'a> {
    Project(&'a str),
    Domain(&'a str),
}

pub fn create_limit(conn: &mut Conn, new: NewLimit) -> Result<Limit, Error> {
    let registered = find_registered(
        conn,
        &new.service_id,
        new.region_id.as_deref(),
        &new.resource_name,
    )?
    .ok_or_else(|| {
        Error::Forbidden(
            "Unable to create a limit that has no corresponding registered limit.".into(),
        )
    })?;
    let owner = match (&new.project_id, &new.domain_id) {
        (Some(p), _) => LimitOwner::Project(p),
        (None, Some(d)) => LimitOwner::Domain(d),
        (None, None) => {
            return Err(Error::invalid(
                "limit",
                "a project_id or a domain_id is required",
            ))
        }
    };
    if limit_value(
        conn,
        owner,
        &new.service_id,
        new.region_id.as_deref(),
        &new.resource_name,
    )?
    .is_some()
    {
        return Err(duplicate("limit"));
    }
    let id = crate::store::new_id();
    diesel::insert_into(limits::table)
        .values((
            limits::id.eq(&id),
            limits::project_id.eq(&new.project_id),
            limits::domain_id.eq(&new.domain_id),
            limits::registered_limit_id.eq(&registered.id),
            limits::resource_limit.eq(new.resource_limit),
            limits::description.eq(&new.description),
        ))
        .execute(conn)?;
    Ok(Limit {
        id,
        project_id: new.project_id,
        domain_id: new.domain_id,
        service_id: new.service_id,
        region_id: new.region_id,
        resource_name: new.resource_name,
        resource_limit: new.resource_limit,
        description: new.description,
    })
}

/// Writes a limit's value and description as Keystone's driver does:
/// only values that are truthy (a `0` or an empty description is
/// ignored).
pub fn write_limit(
    conn: &mut Conn,
    id: &str,
    resource_limit: Option<i32>,
    description: Option<&str>,
) -> Result<(), Error> {
    if let Some(value) = resource_limit.filter(|v| *v != 0) {
        diesel::update(limits::table.filter(limits::id.eq(id)))
            .set(limits::resource_limit.eq(value))
            .execute(conn)?;
    }
    if let Some(text) = description.filter(|d| !d.is_empty()) {
        diesel::update(limits::table.filter(limits::id.eq(id)))
            .set(limits::description.eq(text))
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_limit(conn: &mut Conn, id: &str) -> Result<(), Error> {
    let n = diesel::delete(limits::table.filter(limits::id.eq(id))).execute(conn)?;
    if n == 0 {
        return Err(not_found_limit(id));
    }
    Ok(())
}

/// The limits of a project (deleted with it) or of a domain.
pub fn delete_limits_of(conn: &mut Conn, owner: LimitOwner<'_>) -> Result<(), Error> {
    match owner {
        LimitOwner::Project(p) => {
            diesel::delete(limits::table.filter(limits::project_id.eq(p))).execute(conn)?
        }
        LimitOwner::Domain(d) => {
            diesel::delete(limits::table.filter(limits::domain_id.eq(d))).execute(conn)?
        }
    };
    Ok(())
}

pub use crate::store::Put;

/// Writes a registered limit under its own id (the import from Keystone).
pub fn put_registered(conn: &mut Conn, r: &RegisteredLimit) -> Result<Put, Error> {
    match get_registered(conn, &r.id)? {
        Some(existing) if &existing == r => Ok(Put::Unchanged),
        Some(_) => {
            set_registered(conn, r)?;
            Ok(Put::Updated)
        }
        None => {
            refuse_duplicate_registered(conn, r)?;
            insert_registered(conn, r)?;
            Ok(Put::Created)
        }
    }
}

/// A limit as Keystone stores it: its owner, value and registered limit.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLimit {
    pub id: String,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub registered_limit_id: String,
    pub resource_limit: i32,
    pub description: Option<String>,
}

type StoredRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    i32,
    Option<String>,
);

/// Writes a limit under its own id (the import from Keystone).
pub fn put_limit(conn: &mut Conn, l: &StoredLimit) -> Result<Put, Error> {
    let existing = limits::table
        .filter(limits::id.eq(&l.id))
        .select((
            limits::id,
            limits::project_id,
            limits::domain_id,
            limits::registered_limit_id,
            limits::resource_limit,
            limits::description,
        ))
        .first::<StoredRow>(conn)
        .optional()?
        .map(
            |(id, project_id, domain_id, registered_limit_id, resource_limit, description)| {
                StoredLimit {
                    id,
                    project_id,
                    domain_id,
                    registered_limit_id,
                    resource_limit,
                    description,
                }
            },
        );
    let values = (
        limits::project_id.eq(&l.project_id),
        limits::domain_id.eq(&l.domain_id),
        limits::registered_limit_id.eq(&l.registered_limit_id),
        limits::resource_limit.eq(l.resource_limit),
        limits::description.eq(&l.description),
    );
    match existing {
        Some(stored) if &stored == l => Ok(Put::Unchanged),
        Some(_) => {
            diesel::update(limits::table.filter(limits::id.eq(&l.id)))
                .set(values)
                .execute(conn)?;
            Ok(Put::Updated)
        }
        None => {
            diesel::insert_into(limits::table)
                .values((limits::id.eq(&l.id), values))
                .execute(conn)?;
            Ok(Put::Created)
        }
    }
}
