//! Domain types in Keystone's JSON shapes. Links are built under the
//! request's base URL (`…/v3`).

use serde_json::{json, Map, Value};

use crate::{assignment, catalog, identity, resource};

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

pub fn role(r: &assignment::Role, base_url: &str) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "domain_id": r.domain_id,
        "description": r.description,
        "options": serde_json::from_str::<Value>(&r.options).unwrap_or_else(|_| json!({})),
        "links": {"self": format!("{base_url}/roles/{}", r.id)},
    })
}

pub fn user(u: &identity::User, base_url: &str) -> Value {
    let mut body = u.extra.clone();
    let fields = json!({
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "enabled": u.enabled,
        "password_expires_at": u.password_expires_at_json(),
        "options": {},
        "links": {"self": format!("{base_url}/users/{}", u.id)},
    });
    if let Value::Object(f) = fields {
        body.extend(f);
    }
    if let Some(p) = &u.default_project_id {
        body.insert("default_project_id".into(), Value::String(p.clone()));
    }
    Value::Object(body)
}

pub fn group(g: &identity::Group, base_url: &str) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description.clone().unwrap_or_default(),
        "links": {"self": format!("{base_url}/groups/{}", g.id)},
    })
}

pub fn domain(d: &resource::Domain, base_url: &str) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "description": d.description.clone().unwrap_or_default(),
        "enabled": d.enabled,
        "tags": [],
        "options": {},
        "links": {"self": format!("{base_url}/domains/{}", d.id)},
    })
}

pub fn project(p: &resource::Project, base_url: &str) -> Value {
    let mut body = Map::new();
    for (k, v) in &p.extra {
        body.insert(k.clone(), v.clone());
    }
    let fields = json!({
        "id": p.id,
        "name": p.name,
        "domain_id": p.domain_id,
        "description": p.description.clone().unwrap_or_default(),
        "enabled": p.enabled,
        "parent_id": p.parent_id.clone().unwrap_or_else(|| p.domain_id.clone()),
        "is_domain": p.is_domain,
        "tags": p.tags,
        "options": {},
        "links": {"self": format!("{base_url}/projects/{}", p.id)},
    });
    if let Value::Object(f) = fields {
        body.extend(f);
    }
    Value::Object(body)
}

/// `{"id", "name", "links"}`: a role inside an inference rule.
pub fn role_ref(r: &assignment::Role, base: &str) -> Value {
    json!({"id": r.id, "name": r.name, "links": {"self": format!("{base}/roles/{}", r.id)}})
}

/// One implication rule: `prior` implies `implied`.
pub fn implication(prior: &assignment::Role, implied: &assignment::Role, base: &str) -> Value {
    json!({
        "role_inference": {"prior_role": role_ref(prior, base), "implies": role_ref(implied, base)},
        "links": {"self": format!("{base}/roles/{}/implies/{}", prior.id, implied.id)},
    })
}

/// The roles `prior` implies.
pub fn implications(prior: &assignment::Role, implied: &[assignment::Role], base: &str) -> Value {
    json!({
        "role_inference": {
            "prior_role": role_ref(prior, base),
            "implies": implied.iter().map(|r| role_ref(r, base)).collect::<Vec<_>>(),
        },
        "links": {"self": format!("{base}/roles/{}/implies", prior.id)},
    })
}

/// `GET /v3/role_inferences`: every prior role with what it implies.
pub fn inferences(all: &assignment::Inferences, base: &str) -> Value {
    let find = |id: &str| all.roles.iter().find(|r| r.id == id);
    let priors: std::collections::BTreeSet<&str> =
        all.rules.iter().map(|(p, _)| p.as_str()).collect();
    let items: Vec<Value> = priors
        .iter()
        .filter_map(|p| find(p))
        .map(|prior| {
            let implies: Vec<Value> = all
                .rules
                .iter()
                .filter(|(p, _)| *p == prior.id)
                .filter_map(|(_, i)| find(i))
                .map(|r| role_ref(r, base))
                .collect();
            json!({"prior_role": role_ref(prior, base), "implies": implies})
        })
        .collect();
    json!({"role_inferences": items, "links": {"self": format!("{base}/role_inferences")}})
}
