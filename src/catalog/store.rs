//! The catalog's queries: regions, services and endpoints, and the token
//! catalog built from them. Runs inside a transaction `catalog`'s use
//! cases (or bootstrap, or validation) opened.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::store::rows::{EndpointRow, RegionRow, ServiceRow};
use crate::store::schema::{endpoints, regions, services};
use crate::store::{new_id, Conn};

pub const INTERFACES: [&str; 3] = ["public", "internal", "admin"];

pub fn ensure_region(conn: &mut Conn, id: &str) -> Result<(), Error> {
    let exists = regions::table.find(id).count().get_result::<i64>(conn)? > 0;
    if !exists {
        diesel::insert_into(regions::table)
            .values(RegionRow {
                id: id.to_string(),
                description: String::new(),
                parent_region_id: None,
                extra: "{}".into(),
            })
            .execute(conn)?;
    }
    Ok(())
}

/// The first service of a type, or a new one.
pub fn ensure_service(conn: &mut Conn, service_type: &str, name: &str) -> Result<String, Error> {
    let existing: Option<String> = services::table
        .filter(services::service_type.eq(service_type))
        .select(services::id)
        .first(conn)
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = new_id();
    diesel::insert_into(services::table)
        .values(ServiceRow {
            id: id.clone(),
            service_type: service_type.to_string(),
            name: name.to_string(),
            description: None,
            enabled: true,
            extra: "{}".into(),
        })
        .execute(conn)?;
    Ok(id)
}

/// Creates the endpoint, or updates the URL of an existing one with the same
/// service, interface and region (Keystone's bootstrap behaviour).
pub fn ensure_endpoint(
    conn: &mut Conn,
    service_id: &str,
    region_id: &str,
    interface: &str,
    url: &str,
) -> Result<(), Error> {
    let existing: Option<String> = endpoints::table
        .filter(endpoints::service_id.eq(service_id))
        .filter(endpoints::interface.eq(interface))
        .filter(endpoints::region_id.eq(region_id))
        .select(endpoints::id)
        .first(conn)
        .optional()?;
    match existing {
        Some(id) => {
            diesel::update(endpoints::table.find(id))
                .set(endpoints::url.eq(url))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(endpoints::table)
                .values(EndpointRow {
                    id: new_id(),
                    service_id: service_id.to_string(),
                    region_id: Some(region_id.to_string()),
                    interface: interface.to_string(),
                    url: url.to_string(),
                    enabled: true,
                    extra: "{}".into(),
                })
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Values for `$(name)s` placeholders in endpoint URLs.
#[derive(Debug, Default, Clone)]
pub struct UrlValues<'a> {
    pub project_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
}

/// Expands Keystone's whitelisted `$(…)s` placeholders; `None` when a
/// placeholder has no value (Keystone then omits the endpoint).
pub fn expand_url(template: &str, values: &UrlValues<'_>) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find(")s")?;
        let name = &after[..end];
        let value = match name {
            "project_id" | "tenant_id" => values.project_id?,
            "user_id" => values.user_id?,
            _ => return None,
        };
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// The catalog as tokens carry it: enabled services (even with no
/// endpoints) and their enabled endpoints, URLs expanded. With `only`
/// (a project's OS-EP-FILTER associations), just those endpoints, and
/// no service left without one.
pub fn token_catalog(
    conn: &mut Conn,
    values: &UrlValues<'_>,
    only: Option<&BTreeSet<String>>,
) -> Result<Value, Error> {
    let services: Vec<ServiceRow> = services::table
        .filter(services::enabled.eq(true))
        .order(services::id.asc())
        .select(ServiceRow::as_select())
        .load(conn)?;
    let endpoints: Vec<EndpointRow> = endpoints::table
        .filter(endpoints::enabled.eq(true))
        .order(endpoints::id.asc())
        .select(EndpointRow::as_select())
        .load(conn)?;
    let mut by_service: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for e in &endpoints {
        if only.is_some_and(|only| !only.contains(&e.id)) {
            continue;
        }
        let Some(url) = expand_url(&e.url, values) else {
            continue;
        };
        by_service
            .entry(e.service_id.as_str())
            .or_default()
            .push(json!({
                "id": e.id,
                "interface": e.interface,
                "region_id": e.region_id,
                "url": url,
                "region": e.region_id,
            }));
    }
    Ok(Value::Array(
        services
            .iter()
            .filter_map(|s| {
                let endpoints = by_service.remove(s.id.as_str());
                if only.is_some() && endpoints.is_none() {
                    return None;
                }
                Some(json!({
                    "endpoints": endpoints.unwrap_or_default(),
                    "id": s.id,
                    "type": s.service_type,
                    "name": s.name,
                }))
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_or_drop_the_endpoint() {
        let values = UrlValues {
            project_id: Some("p1"),
            user_id: Some("u1"),
        };
        assert_eq!(
            expand_url("http://h/v1/$(project_id)s/x", &values).as_deref(),
            Some("http://h/v1/p1/x")
        );
        assert_eq!(
            expand_url("http://h/$(tenant_id)s/$(user_id)s", &values).as_deref(),
            Some("http://h/p1/u1")
        );
        assert_eq!(
            expand_url("http://h/v3/", &values).as_deref(),
            Some("http://h/v3/")
        );
        let no_project = UrlValues {
            project_id: None,
            user_id: Some("u1"),
        };
        assert_eq!(expand_url("http://h/$(project_id)s", &no_project), None);
        assert_eq!(expand_url("http://h/$(unknown)s", &values), None);
        assert_eq!(expand_url("http://h/$(project_id", &values), None);
    }
}

pub fn not_found_region(id: &str) -> Error {
    Error::NotFound(format!("Could not find region: {id}."))
}
pub fn not_found_service(id: &str) -> Error {
    Error::NotFound(format!("Could not find service: {id}."))
}
pub fn not_found_endpoint(id: &str) -> Error {
    Error::NotFound(format!("Could not find endpoint: {id}."))
}

pub fn get_region(conn: &mut Conn, id: &str) -> Result<Option<RegionRow>, Error> {
    Ok(regions::table
        .find(id)
        .select(RegionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_regions(conn: &mut Conn, parent: Option<&str>) -> Result<Vec<RegionRow>, Error> {
    let mut query = regions::table.select(RegionRow::as_select()).into_boxed();
    if let Some(p) = parent {
        query = query.filter(regions::parent_region_id.eq(p.to_string()));
    }
    Ok(query.order(regions::id.asc()).load(conn)?)
}

/// The parent exists and making it the parent creates no loop.
fn check_parent_region(conn: &mut Conn, id: &str, parent: &str) -> Result<(), Error> {
    let mut cursor = Some(parent.to_string());
    let mut steps = 0;
    while let Some(current) = cursor {
        if current == id {
            return Err(Error::BadRequest(format!(
                "Region {parent} cannot be the parent of {id}: that would create a loop."
            )));
        }
        // Keystone answers a missing parent with its 404.
        let row = get_region(conn, &current)?.ok_or_else(|| not_found_region(&current))?;
        cursor = row.parent_region_id;
        steps += 1;
        if steps > 100 {
            return Err(Error::BadRequest(
                "The region hierarchy is too deep.".into(),
            ));
        }
    }
    Ok(())
}

pub fn create_region(
    conn: &mut Conn,
    id: Option<&str>,
    description: &str,
    parent: Option<&str>,
) -> Result<RegionRow, Error> {
    let id = id.map(str::to_string).unwrap_or_else(new_id);
    if get_region(conn, &id)?.is_some() {
        return Err(Error::Conflict(format!(
            "Conflict occurred attempting to store region - Duplicate ID, {id}."
        )));
    }
    if let Some(p) = parent {
        check_parent_region(conn, &id, p)?;
    }
    let row = RegionRow {
        id,
        description: description.to_string(),
        parent_region_id: parent.map(str::to_string),
        extra: "{}".into(),
    };
    diesel::insert_into(regions::table)
        .values(&row)
        .execute(conn)?;
    crate::notify::created("region", &row.id);
    Ok(row)
}

pub fn update_region(
    conn: &mut Conn,
    id: &str,
    description: Option<&str>,
    parent: Option<Option<&str>>,
) -> Result<RegionRow, Error> {
    get_region(conn, id)?.ok_or_else(|| not_found_region(id))?;
    if let Some(d) = description {
        diesel::update(regions::table.find(id))
            .set(regions::description.eq(d))
            .execute(conn)?;
    }
    if let Some(parent) = parent {
        if let Some(p) = parent {
            check_parent_region(conn, id, p)?;
        }
        diesel::update(regions::table.find(id))
            .set(regions::parent_region_id.eq(parent))
            .execute(conn)?;
    }
    crate::notify::updated("region", id);
    get_region(conn, id)?.ok_or_else(|| not_found_region(id))
}

pub fn delete_region(conn: &mut Conn, id: &str) -> Result<(), Error> {
    get_region(conn, id)?.ok_or_else(|| not_found_region(id))?;
    let children = regions::table
        .filter(regions::parent_region_id.eq(id))
        .count()
        .get_result::<i64>(conn)?;
    if children > 0 {
        return Err(Error::Forbidden(format!(
            "Cannot delete region {id}: it has child regions."
        )));
    }
    let used = endpoints::table
        .filter(endpoints::region_id.eq(id))
        .count()
        .get_result::<i64>(conn)?;
    if used > 0 {
        return Err(Error::Conflict(format!(
            "Cannot delete region {id}: {used} endpoints are in it."
        )));
    }
    diesel::delete(regions::table.find(id)).execute(conn)?;
    crate::notify::deleted("region", id);
    Ok(())
}

pub fn get_service(conn: &mut Conn, id: &str) -> Result<Option<ServiceRow>, Error> {
    Ok(services::table
        .find(id)
        .select(ServiceRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_services(
    conn: &mut Conn,
    service_type: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<ServiceRow>, Error> {
    let mut query = services::table.select(ServiceRow::as_select()).into_boxed();
    if let Some(t) = service_type {
        query = query.filter(services::service_type.eq(t.to_string()));
    }
    if let Some(n) = name {
        query = query.filter(services::name.eq(n.to_string()));
    }
    Ok(query.order(services::id.asc()).load(conn)?)
}

pub fn create_service(
    conn: &mut Conn,
    service_type: &str,
    name: &str,
    description: Option<&str>,
    enabled: bool,
) -> Result<ServiceRow, Error> {
    let row = ServiceRow {
        id: new_id(),
        service_type: service_type.to_string(),
        name: name.to_string(),
        description: description.map(str::to_string),
        enabled,
        extra: "{}".into(),
    };
    diesel::insert_into(services::table)
        .values(&row)
        .execute(conn)?;
    crate::notify::created("service", &row.id);
    Ok(row)
}

/// Changes to a service; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct ServicePatch {
    pub service_type: Option<String>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    /// Attributes to set in Keystone's `extra` ([`merge_extra`]).
    pub extra: Map<String, Value>,
}

pub fn update_service(
    conn: &mut Conn,
    id: &str,
    patch: &ServicePatch,
) -> Result<ServiceRow, Error> {
    get_service(conn, id)?.ok_or_else(|| not_found_service(id))?;
    let target = services::table.find(id);
    if let Some(t) = &patch.service_type {
        diesel::update(target)
            .set(services::service_type.eq(t))
            .execute(conn)?;
    }
    if let Some(n) = &patch.name {
        diesel::update(target)
            .set(services::name.eq(n))
            .execute(conn)?;
    }
    if let Some(d) = &patch.description {
        diesel::update(target)
            .set(services::description.eq(d))
            .execute(conn)?;
    }
    if let Some(e) = patch.enabled {
        diesel::update(target)
            .set(services::enabled.eq(e))
            .execute(conn)?;
    }
    crate::notify::updated("service", id);
    get_service(conn, id)?.ok_or_else(|| not_found_service(id))
}

/// Deletes a service and its endpoints.
pub fn delete_service(conn: &mut Conn, id: &str) -> Result<(), Error> {
    get_service(conn, id)?.ok_or_else(|| not_found_service(id))?;
    diesel::delete(endpoints::table.filter(endpoints::service_id.eq(id))).execute(conn)?;
    diesel::delete(services::table.find(id)).execute(conn)?;
    crate::notify::deleted("service", id);
    Ok(())
}

pub fn get_endpoint(conn: &mut Conn, id: &str) -> Result<Option<EndpointRow>, Error> {
    Ok(endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?)
}

/// Filters for listing endpoints; `None` matches all.
#[derive(Debug, Default, Clone)]
pub struct EndpointFilter {
    pub interface: Option<String>,
    pub service_id: Option<String>,
    pub region_id: Option<String>,
}

pub fn list_endpoints(conn: &mut Conn, filter: &EndpointFilter) -> Result<Vec<EndpointRow>, Error> {
    let mut query = endpoints::table
        .select(EndpointRow::as_select())
        .into_boxed();
    if let Some(i) = &filter.interface {
        query = query.filter(endpoints::interface.eq(i.clone()));
    }
    if let Some(s) = &filter.service_id {
        query = query.filter(endpoints::service_id.eq(s.clone()));
    }
    if let Some(r) = &filter.region_id {
        query = query.filter(endpoints::region_id.eq(r.clone()));
    }
    Ok(query.order(endpoints::id.asc()).load(conn)?)
}

/// Interfaces and URLs Keystone accepts.
pub fn check_endpoint(interface: Option<&str>, url: Option<&str>) -> Result<(), Error> {
    if let Some(i) = interface {
        if !INTERFACES.contains(&i) {
            return Err(Error::invalid(
                "interface",
                &format!("'{i}' is not one of ['admin', 'internal', 'public']"),
            ));
        }
    }
    if let Some(u) = url {
        if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() > 1024 {
            return Err(Error::invalid(
                "url",
                &format!("'{u}' is not an http(s) URL"),
            ));
        }
    }
    Ok(())
}

pub struct NewEndpoint<'a> {
    pub service_id: &'a str,
    pub interface: &'a str,
    pub url: &'a str,
    pub region_id: Option<&'a str>,
    pub enabled: bool,
}

pub fn create_endpoint(conn: &mut Conn, new: NewEndpoint<'_>) -> Result<EndpointRow, Error> {
    check_endpoint(Some(new.interface), Some(new.url))?;
    get_service(conn, new.service_id)?.ok_or_else(|| not_found_service(new.service_id))?;
    if let Some(r) = new.region_id {
        get_region(conn, r)?.ok_or_else(|| not_found_region(r))?;
    }
    let row = EndpointRow {
        id: new_id(),
        service_id: new.service_id.to_string(),
        region_id: new.region_id.map(str::to_string),
        interface: new.interface.to_string(),
        url: new.url.to_string(),
        enabled: new.enabled,
        extra: "{}".into(),
    };
    diesel::insert_into(endpoints::table)
        .values(&row)
        .execute(conn)?;
    crate::notify::created("endpoint", &row.id);
    Ok(row)
}

/// Changes to an endpoint; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct EndpointPatch {
    pub interface: Option<String>,
    pub url: Option<String>,
    pub region_id: Option<Option<String>>,
    pub service_id: Option<String>,
    pub enabled: Option<bool>,
    /// Attributes to set in Keystone's `extra` ([`merge_extra`]).
    pub extra: Map<String, Value>,
}

pub fn update_endpoint(
    conn: &mut Conn,
    id: &str,
    patch: &EndpointPatch,
) -> Result<EndpointRow, Error> {
    get_endpoint(conn, id)?.ok_or_else(|| not_found_endpoint(id))?;
    check_endpoint(patch.interface.as_deref(), patch.url.as_deref())?;
    let target = endpoints::table.find(id);
    if let Some(i) = &patch.interface {
        diesel::update(target)
            .set(endpoints::interface.eq(i))
            .execute(conn)?;
    }
    if let Some(u) = &patch.url {
        diesel::update(target)
            .set(endpoints::url.eq(u))
            .execute(conn)?;
    }
    if let Some(r) = &patch.region_id {
        if let Some(r) = r {
            get_region(conn, r)?.ok_or_else(|| not_found_region(r))?;
        }
        diesel::update(target)
            .set(endpoints::region_id.eq(r))
            .execute(conn)?;
    }
    if let Some(s) = &patch.service_id {
        get_service(conn, s)?.ok_or_else(|| not_found_service(s))?;
        diesel::update(target)
            .set(endpoints::service_id.eq(s))
            .execute(conn)?;
    }
    if let Some(e) = patch.enabled {
        diesel::update(target)
            .set(endpoints::enabled.eq(e))
            .execute(conn)?;
    }
    crate::notify::updated("endpoint", id);
    get_endpoint(conn, id)?.ok_or_else(|| not_found_endpoint(id))
}

/// The catalog tables that keep Keystone's `extra`.
#[derive(Debug, Clone, Copy)]
pub enum WithExtra {
    Region,
    Service,
    Endpoint,
}

/// Keystone's `extra` on a create or an update: the given attributes over
/// `current` (the stored text), written back; yields the text now stored.
pub fn merge_extra(
    conn: &mut Conn,
    table: WithExtra,
    id: &str,
    current: &str,
    given: &Map<String, Value>,
) -> Result<String, Error> {
    let Some(extra) = crate::store::extra::merged(&crate::store::extra::parse(current), given)
    else {
        return Ok(current.to_string());
    };
    match table {
        WithExtra::Region => diesel::update(regions::table.find(id))
            .set(regions::extra.eq(&extra))
            .execute(conn)?,
        WithExtra::Service => diesel::update(services::table.find(id))
            .set(services::extra.eq(&extra))
            .execute(conn)?,
        WithExtra::Endpoint => diesel::update(endpoints::table.find(id))
            .set(endpoints::extra.eq(&extra))
            .execute(conn)?,
    };
    Ok(extra)
}

pub fn delete_endpoint(conn: &mut Conn, id: &str) -> Result<(), Error> {
    let n = diesel::delete(endpoints::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(not_found_endpoint(id));
    }
    crate::notify::deleted("endpoint", id);
    Ok(())
}
