//! JSON Home (`GET /` and `GET /v3` with `Accept: application/json-home`):
//! Keystone 30's document (`json_home.json`, written by
//! `tests/interop/keystone_json_home.py`), keeping exactly the resources
//! whose paths are in [`super::ROUTES`], so that it lists what Ironstone
//! serves and cannot drift from the URL map.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::http::header;

const KEYSTONE_JSON_HOME: &str = include_str!("json_home.json");

pub const MEDIA_TYPE: &str = "application/json-home";

/// A path with every `{variable}` written `{}`.
pub fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_var = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_var = true;
                out.push('{');
            }
            '}' => {
                in_var = false;
                out.push('}');
            }
            _ if in_var => {}
            _ => out.push(c),
        }
    }
    out
}

/// The resources (relative to `/v3`) of the routes Ironstone serves.
fn resources() -> &'static Map<String, Value> {
    static KEPT: OnceLock<Map<String, Value>> = OnceLock::new();
    KEPT.get_or_init(|| {
        let served: BTreeSet<String> = super::ROUTES.iter().map(|(_, p)| shape(p)).collect();
        let keystone: Value = serde_json::from_str(KEYSTONE_JSON_HOME).unwrap_or_default();
        let all = keystone["resources"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        all.into_iter()
            .filter(|(_, r)| {
                let href = r.get("href").or_else(|| r.get("href-template"));
                href.and_then(Value::as_str)
                    .is_some_and(|h| served.contains(&shape(&format!("/v3{h}"))))
            })
            .collect()
    })
}

/// The document, its paths under `prefix` (`/v3` when it answers `/`,
/// as Keystone's `translate_urls` does).
fn document(prefix: &str) -> Value {
    let mut resources = resources().clone();
    if !prefix.is_empty() {
        for r in resources.values_mut() {
            for key in ["href", "href-template"] {
                if let Some(Value::String(h)) = r.get_mut(key) {
                    *h = format!("{prefix}{h}");
                }
            }
        }
    }
    serde_json::json!({ "resources": resources })
}

/// How much the `Accept` header wants `wanted`: its quality and how
/// specific the matching range is (werkzeug's `best_match`, which
/// Keystone uses).
fn preference(accept: &str, wanted: &str) -> Option<(f32, u8)> {
    let (kind, _) = wanted.split_once('/')?;
    accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let specificity = if range == wanted {
                2
            } else if range == format!("{kind}/*") {
                1
            } else if range == "*/*" || range == "*" {
                0
            } else {
                return None;
            };
            (quality > 0.0).then_some((quality, specificity))
        })
        .max_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
}

/// Whether the caller prefers JSON Home over JSON, as Keystone decides:
/// JSON wins ties.
pub fn wanted(req: &HttpRequest) -> bool {
    let Some(accept) = header(req, "accept").filter(|a| !a.trim().is_empty()) else {
        return false;
    };
    match (
        preference(accept, MEDIA_TYPE),
        preference(accept, "application/json"),
    ) {
        (Some(home), Some(json)) => home.0 > json.0 || (home.0 == json.0 && home.1 > json.1),
        (Some(_), None) => true,
        _ => false,
    }
}

/// The JSON Home answer, with paths under `prefix`.
pub fn answer(prefix: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(MEDIA_TYPE)
        .body(document(prefix).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_wins_ties_and_wildcards() {
        let prefers = |accept: &str| {
            let home = preference(accept, MEDIA_TYPE);
            let json = preference(accept, "application/json");
            match (home, json) {
                (Some(h), Some(j)) => h.0 > j.0 || (h.0 == j.0 && h.1 > j.1),
                (Some(_), None) => true,
                _ => false,
            }
        };
        assert!(prefers("application/json-home"));
        assert!(!prefers("application/json"));
        assert!(!prefers("*/*"));
        assert!(!prefers("application/json-home, application/json"));
        assert!(prefers("application/json-home, application/json;q=0.5"));
        assert!(prefers("application/json-home, */*"));
        assert!(!prefers("application/json-home;q=0"));
    }

    #[test]
    fn the_document_keeps_served_routes_only() {
        let doc = document("");
        let resources = doc["resources"].as_object().cloned().unwrap_or_default();
        let users = &resources["https://docs.openstack.org/api/openstack-identity/3/rel/users"];
        assert_eq!(users["href"], "/users");
        // Federation is not served, but its aliases of /auth/projects
        // and /auth/domains are.
        assert!(!resources.keys().any(|k| k.ends_with("/identity_providers")));
        assert!(resources.contains_key(
            "https://docs.openstack.org/api/openstack-identity/3/ext/OS-FEDERATION/1.0/rel/projects"
        ));
        let rooted = document("/v3");
        assert_eq!(
            rooted["resources"]["https://docs.openstack.org/api/openstack-identity/3/rel/users"]
                ["href"],
            "/v3/users"
        );
    }
}
