//! Keystone 30's URL map against Ironstone's route table (issue 17): every
//! path and method Keystone answers must be answered here, except
//! federation (its own issue). Until parity II is done, what is still
//! missing is listed exactly, so that each route added shrinks the list
//! and none can go missing unnoticed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

/// Federation (SAML2, OpenID Connect, identity providers, mappings,
/// service providers) belongs to the federation issue.
fn is_federation(route: &str) -> bool {
    route.contains("OS-FEDERATION")
}

/// Routes of Keystone 30 that parity II has yet to bring.
const STILL_MISSING: &[&str] = &[
    "DELETE /v3/OS-OAUTH1/consumers/{}",
    "DELETE /v3/users/{}/OS-OAUTH1/access_tokens/{}",
    "GET /v3/OS-OAUTH1/access_token",
    "GET /v3/OS-OAUTH1/consumers",
    "GET /v3/OS-OAUTH1/consumers/{}",
    "GET /v3/OS-OAUTH1/request_token",
    "GET /v3/users/{}/OS-OAUTH1/access_tokens",
    "GET /v3/users/{}/OS-OAUTH1/access_tokens/{}",
    "GET /v3/users/{}/OS-OAUTH1/access_tokens/{}/roles",
    "GET /v3/users/{}/OS-OAUTH1/access_tokens/{}/roles/{}",
    "HEAD /v3/OS-OAUTH1/access_token",
    "HEAD /v3/OS-OAUTH1/consumers",
    "HEAD /v3/OS-OAUTH1/consumers/{}",
    "HEAD /v3/OS-OAUTH1/request_token",
    "HEAD /v3/users/{}/OS-OAUTH1/access_tokens",
    "HEAD /v3/users/{}/OS-OAUTH1/access_tokens/{}",
    "HEAD /v3/users/{}/OS-OAUTH1/access_tokens/{}/roles",
    "HEAD /v3/users/{}/OS-OAUTH1/access_tokens/{}/roles/{}",
    "PATCH /v3/OS-OAUTH1/consumers/{}",
    "POST /v3/OS-OAUTH1/access_token",
    "POST /v3/OS-OAUTH1/consumers",
    "POST /v3/OS-OAUTH1/request_token",
    "PUT /v3/OS-OAUTH1/authorize/{}",
];

/// `{name}` → `{}`, as the Keystone dump writes path variables.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_var = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_var = true;
                out.push_str("{}");
            }
            '}' => in_var = false,
            _ if in_var => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn every_keystone_route_is_answered() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("url-map.txt");
    let status = std::process::Command::new(python)
        .arg(common::interop_dir().join("keystone_url_map.py"))
        .arg(dir.path().join("keystone"))
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "keystone_url_map.py failed");
    let keystone: BTreeSet<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with("/static/{}") && !is_federation(l))
        .map(str::to_string)
        .collect();
    assert!(keystone.len() > 200, "{keystone:?}");
    let mut ours = BTreeSet::new();
    for (method, path) in ironstone::api::ROUTES {
        ours.insert(format!("{method} {}", shape(path)));
        if *method == "GET" {
            // GET lends its handler to HEAD (see the routes! macro).
            ours.insert(format!("HEAD {}", shape(path)));
        }
    }
    let missing: Vec<&str> = keystone
        .iter()
        .filter(|r| !ours.contains(*r))
        .map(String::as_str)
        .collect();
    assert_eq!(
        missing, STILL_MISSING,
        "Keystone routes Ironstone does not answer (left); update STILL_MISSING when adding one"
    );
}
