//! Catalog subsystem: regions, services and endpoints, and the token
//! catalog built from them.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde_json::{json, Value};

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
/// endpoints) and their enabled endpoints, URLs expanded.
pub fn token_catalog(conn: &mut Conn, values: &UrlValues<'_>) -> Result<Value, Error> {
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
            .map(|s| {
                json!({
                    "endpoints": by_service.remove(s.id.as_str()).unwrap_or_default(),
                    "id": s.id,
                    "type": s.service_type,
                    "name": s.name,
                })
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
