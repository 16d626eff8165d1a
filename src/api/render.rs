//! Domain types in Keystone's JSON shapes. Links are built under the
//! request's base URL (`…/v3`).

use serde_json::{json, Value};

use crate::catalog;

pub fn region(r: &catalog::Region, base_url: &str) -> Value {
    json!({
        "id": r.id,
        "description": r.description,
        "parent_region_id": r.parent_region_id,
        "links": {"self": format!("{base_url}/regions/{}", r.id)},
    })
}

pub fn service(s: &catalog::Service, base_url: &str) -> Value {
    let mut v = json!({
        "id": s.id,
        "type": s.service_type,
        "name": s.name,
        "enabled": s.enabled,
        "links": {"self": format!("{base_url}/services/{}", s.id)},
    });
    if let Some(d) = &s.description {
        v["description"] = json!(d);
    }
    v
}

pub fn endpoint(e: &catalog::Endpoint, base_url: &str) -> Value {
    json!({
        "id": e.id,
        "interface": e.interface,
        "region_id": e.region_id,
        "region": e.region_id,
        "service_id": e.service_id,
        "url": e.url,
        "enabled": e.enabled,
        "links": {"self": format!("{base_url}/endpoints/{}", e.id)},
    })
}
