//! Keystone 30's URL map against Ironstone's route table (issue 17): every
//! path and method Keystone answers must be answered here, except
//! federation (its own issue). What is still missing is listed exactly
//! (nothing, since OS-OAUTH1 came), so that none can go missing
//! unnoticed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;

/// Federation (SAML2, OpenID Connect, identity providers, mappings,
/// service providers) belongs to the federation issue.
fn is_federation(route: &str) -> bool {
    route.contains("OS-FEDERATION")
}

/// Routes of Keystone 30 that parity II has yet to bring.
const STILL_MISSING: &[&str] = &[];

use ironstone::api::json_home::shape;

/// What an interop `script DIR OUT` writes about a throwaway Keystone.
fn keystone_dump(python: &std::path::Path, script: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dump");
    let status = std::process::Command::new(python)
        .arg(common::interop_dir().join(script))
        .arg(dir.path().join("keystone"))
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{script} failed");
    std::fs::read_to_string(&out).unwrap()
}

#[test]
fn every_keystone_route_is_answered() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let keystone: BTreeSet<String> = keystone_dump(&python, "keystone_url_map.py")
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

/// What `GET /v3` answers with `Accept: application/json-home`.
async fn json_home(
    s: &common::TestServer,
    path: &str,
    accept: &str,
) -> (String, serde_json::Value) {
    let resp = s
        .request(reqwest::Method::GET, path)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (kind, resp.json().await.unwrap_or_default())
}

/// JSON Home is Keystone 30's live document, less federation and what
/// parity II has yet to bring (OS-OAUTH1), at `/v3` and (under `/v3`) at
/// `/`; it lists every `/v3` route Ironstone serves that Keystone lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_home_is_keystones() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let keystone: serde_json::Value =
        serde_json::from_str(&keystone_dump(&python, "keystone_json_home.py")).unwrap();
    let mut expected = keystone["resources"].as_object().unwrap().clone();
    expected.retain(|_, r| {
        let href = r["href"]
            .as_str()
            .or(r["href-template"].as_str())
            .unwrap_or("");
        !href.contains("OS-FEDERATION")
    });
    let s = common::TestServer::start(common::Backend::Sqlite).unwrap();
    let (kind, ours) = json_home(&s, "/v3", "application/json-home").await;
    assert_eq!(kind, "application/json-home");
    let ours = ours["resources"].as_object().unwrap().clone();
    let extra: Vec<&String> = ours.keys().filter(|k| !expected.contains_key(*k)).collect();
    let missing: Vec<&String> = expected.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "extra {extra:?}, missing {missing:?}"
    );
    for (rel, r) in &expected {
        assert_eq!(&ours[rel], r, "{rel}");
    }
    // At `/` the paths are under /v3; JSON stays the default.
    let (_, rooted) = json_home(&s, "/", "application/json-home").await;
    assert_eq!(
        rooted["resources"]["https://docs.openstack.org/api/openstack-identity/3/rel/users"]
            ["href"],
        "/v3/users"
    );
    let (kind, plain) = json_home(&s, "/v3", "application/json-home, application/json").await;
    assert!(
        kind.starts_with("application/json") && plain["version"]["id"] == "v3.14",
        "{kind} {plain}"
    );
    // Every /v3 route is listed, but for what Keystone itself leaves out.
    let listed: BTreeSet<String> = ours
        .values()
        .map(|r| {
            shape(&format!(
                "/v3{}",
                r["href"].as_str().or(r["href-template"].as_str()).unwrap()
            ))
        })
        .collect();
    let unlisted: BTreeSet<String> = ironstone::api::ROUTES
        .iter()
        .map(|(_, p)| shape(p))
        .filter(|p| p.starts_with("/v3") && !listed.contains(p))
        .collect();
    assert_eq!(
        unlisted.iter().map(String::as_str).collect::<Vec<_>>(),
        [
            "/v3",
            "/v3/projects/{}/tags",
            "/v3/users/{}/application_credentials/{}/rotate"
        ]
    );
}
