//! Contracts that keep the repository honest: the OpenAPI spec names every
//! route that exists (and no other), its request and response schemas
//! are Keystone's own, and the migration trees are in step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn openapi_describes_exactly_the_routes_that_exist() {
    let text = std::fs::read_to_string(root().join("openapi/openapi.yaml")).unwrap();
    let spec: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap().to_ascii_uppercase();
            if method == "PARAMETERS" {
                continue;
            }
            assert!(
                operation["responses"]
                    .as_mapping()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path:?} has no responses"
            );
            documented.insert((method, path.as_str().unwrap().to_string()));
        }
    }
    let routed: BTreeSet<(String, String)> = ironstone::api::ROUTES
        .iter()
        .chain(ironstone::api::console::ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes without an openapi/openapi.yaml entry: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "openapi/openapi.yaml documents routes that do not exist: {stale:?}"
    );
}

/// The request-body and query-string schemas Ironstone validates with
/// (`openapi/keystone-requests.json`, `openapi/keystone-queries.json`) and
/// the response schemas its answers are fuzzed against
/// (`openapi/keystone-responses.json`) are Keystone 30's: regenerated from
/// the installed Keystone they come out the same, and openapi.yaml uses
/// each for its operation (a query schema for each of its parameters).
#[test]
fn request_and_response_schemas_are_keystones() {
    let spec: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join("openapi/openapi.yaml")).unwrap(),
    )
    .unwrap();
    let mut referenced = BTreeSet::new();
    for (_, item) in spec["paths"].as_mapping().unwrap() {
        for (_, operation) in item.as_mapping().unwrap() {
            let body = &operation["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            let answers = operation["responses"].as_mapping().into_iter().flatten();
            let query_parameters = operation["parameters"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| &p["schema"]["$ref"]);
            for reference in answers
                .map(|(_, r)| &r["content"]["application/json"]["schema"]["$ref"])
                .chain([body])
                .chain(query_parameters)
                .filter_map(|r| r.as_str())
            {
                referenced.insert(reference.to_string());
            }
        }
    }
    for kind in ["requests", "responses", "queries"] {
        let file = root().join(format!("openapi/keystone-{kind}.json"));
        let committed = std::fs::read_to_string(&file).unwrap();
        let schemas: serde_json::Value = serde_json::from_str(&committed).unwrap();
        for (id, schema) in schemas.as_object().unwrap() {
            // A query schema is documented parameter by parameter.
            let references: Vec<String> = if kind == "queries" {
                let names = schema["properties"].as_object().into_iter().flatten();
                names
                    .map(|(name, _)| format!("keystone-queries.json#/{id}/properties/{name}"))
                    .collect()
            } else {
                vec![format!("keystone-{kind}.json#/{id}")]
            };
            for reference in references {
                assert!(
                    referenced.contains(&reference),
                    "{id} does not use Keystone's schema ({reference})"
                );
            }
        }
        let Some(python) = crate::common::interop_python() else {
            continue;
        };
        let generated = std::process::Command::new(python)
            .arg(crate::common::interop_dir().join("keystone_schemas.py"))
            .arg(root().join("openapi/openapi.yaml"))
            .arg(kind)
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(generated.status.success());
        assert!(
            String::from_utf8_lossy(&generated.stdout) == committed,
            "{} is not what the installed Keystone has: regenerate it with \
             .venv-interop/bin/python tests/interop/keystone_schemas.py openapi/openapi.yaml {kind}",
            file.display()
        );
    }
}

fn migration_names(backend: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("migrations").join(backend))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn migration_trees_are_in_step() {
    let sqlite = migration_names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_names("postgres"));
    assert_eq!(sqlite, migration_names("mysql"));
    for name in &sqlite {
        for backend in ["sqlite", "postgres", "mysql"] {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    root()
                        .join("migrations")
                        .join(backend)
                        .join(name)
                        .join(file)
                        .exists(),
                    "{backend}/{name}/{file}"
                );
            }
        }
    }
}

/// Every table with its columns, as a tree's migrations leave them.
/// MariaDB's generated key columns (`… AS (…) STORED`, which stand in for
/// PostgreSQL's expression indexes) are not columns the code sees.
fn tables(backend: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let bare = |word: &str| {
        word.trim_matches(|c| c == '`' || c == ',' || c == '(')
            .to_string()
    };
    for name in migration_names(backend) {
        let sql = std::fs::read_to_string(
            root()
                .join("migrations")
                .join(backend)
                .join(&name)
                .join("up.sql"),
        )
        .unwrap();
        let mut open: Option<String> = None;
        for line in sql.lines().map(str::trim) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                let table = bare(rest.split_whitespace().next().unwrap());
                all.entry(table.clone()).or_default();
                open = Some(table);
            } else if line.starts_with(')') {
                open = None;
            } else if let ["ALTER", "TABLE", table, "ADD", "COLUMN", column, ..] = words[..] {
                all.entry(bare(table)).or_default().insert(bare(column));
            } else if let Some(table) = &open {
                let first = words.first().copied().unwrap_or("--");
                let constraint = ["PRIMARY", "FOREIGN", "UNIQUE", "CONSTRAINT", "--"]
                    .iter()
                    .any(|k| first.starts_with(k));
                if !constraint && !line.contains(" AS (") {
                    all.get_mut(table).unwrap().insert(bare(first));
                }
            }
        }
    }
    all
}

#[test]
fn all_trees_create_the_same_tables_and_columns() {
    let sqlite = tables("sqlite");
    for needed in [
        "domains",
        "projects",
        "users",
        "passwords",
        "groups",
        "roles",
        "implied_roles",
        "role_assignments",
        "regions",
        "services",
        "endpoints",
        "revocation_events",
        "credentials",
        "application_credentials",
    ] {
        assert!(sqlite.contains_key(needed), "missing table {needed}");
    }
    assert!(sqlite["credentials"].contains("access_digest"));
    assert!(!sqlite["limits"].contains("PRIMARY"));
    assert_eq!(sqlite, tables("postgres"));
    assert_eq!(sqlite, tables("mysql"));
}

/// The statuses openapi.yaml documents, by `(METHOD, path)`.
fn documented_statuses() -> BTreeMap<(String, String), BTreeSet<u16>> {
    let text = std::fs::read_to_string(root().join("openapi/openapi.yaml")).unwrap();
    let spec: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut documented = BTreeMap::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            let Some(responses) = operation["responses"].as_mapping() else {
                continue;
            };
            let statuses = responses
                .keys()
                .filter_map(|s| {
                    s.as_str()
                        .and_then(|s| s.parse().ok())
                        .or(s.as_u64().map(|n| n as u16))
                })
                .collect();
            documented.insert(
                (
                    method.as_str().unwrap().to_ascii_uppercase(),
                    path.as_str().unwrap().to_string(),
                ),
                statuses,
            );
        }
    }
    documented
}

/// The bodies the sweep sends: none without one; an empty object (which
/// Keystone's schemas mostly refuse before the policy is asked); and for
/// an update, a new description of the member the path names
/// (`/v3/groups/{group_id}` takes `{"group": {...}}`), which gets past the
/// schema to the policy and to the lookup.
fn bodies(method: &str, pattern: &str) -> Vec<Option<serde_json::Value>> {
    match method {
        "POST" | "PUT" => vec![Some(serde_json::json!({}))],
        "PATCH" => {
            let collection = pattern
                .rsplit('/')
                .find(|segment| !segment.starts_with('{'))
                .unwrap_or_default();
            let member = match collection.strip_suffix("ies") {
                Some(stem) => format!("{stem}y"),
                None => collection.trim_end_matches('s').to_string(),
            };
            vec![
                Some(serde_json::json!({})),
                Some(serde_json::json!({member: {"description": "swept"}})),
            ]
        }
        _ => vec![None],
    }
}

/// Every route, as every kind of caller (the admin, a member of another
/// project, no token), on ids that do not exist and on ids that cannot
/// be ids, with an empty JSON object for a body: no 5xx, and every answer
/// is one its route documents. The sweep also puts the 400s, 403s and
/// 404s of routes no other test calls that way into the status report
/// (scripts/documented-statuses).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_only_what_it_documents() {
    use crate::common::{admin_member, call, create_project, member_of, Backend, TestServer};
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    let project = create_project(&s, "swept").await;
    let member = member_of(&s, "sweeper", &project, "member").await;
    let documented = documented_statuses();
    let unknown_id = "0123456789abcdef0123456789abcdef";
    // Things that exist, by the name of the path parameter: only callers
    // who may not act on them are sent there (the admin would delete them).
    let (_, group) = call(
        &s,
        reqwest::Method::POST,
        "/v3/groups",
        Some(&admin.token),
        Some(serde_json::json!({"group": {"name": "swept"}})),
    )
    .await;
    let admin_role = crate::common::role_id(&s, &admin.token, "admin").await;
    let member_role = crate::common::role_id(&s, &admin.token, "member").await;
    let existing: BTreeMap<&str, String> = [
        ("user_id", admin.user_id.clone()),
        ("project_id", admin.project_id.clone()),
        ("domain_id", "default".to_string()),
        ("role_id", admin_role.clone()),
        ("prior_role_id", admin_role),
        ("implied_role_id", member_role),
        (
            "group_id",
            group["group"]["id"].as_str().unwrap().to_string(),
        ),
    ]
    .into_iter()
    .collect();
    // Each `{name}` of a pattern filled with `id`, or with the id of an
    // existing thing of that name for `EXISTING`.
    const EXISTING: &str = "existing";
    // The admin's own user id beside unknown others (where a path has
    // more than the user): the lookups past the policy check. Nothing can
    // be changed there, as something in the path does not exist.
    const OWN: &str = "own";
    let fill = |pattern: &str, id: &str| {
        let mut path = String::new();
        for (i, part) in pattern.split('{').enumerate() {
            match part.split_once('}') {
                Some((name, rest)) if i > 0 => {
                    path += match existing.get(name) {
                        Some(real) if id == EXISTING => real,
                        _ if id == OWN && name == "user_id" => &admin.user_id,
                        _ if id == EXISTING || id == OWN => unknown_id,
                        _ => id,
                    };
                    path += rest;
                }
                _ => path += part,
            }
        }
        path
    };
    let mut wrong = Vec::new();
    let mut requests = 0;
    for (method, pattern) in ironstone::api::ROUTES {
        let mut methods = vec![*method];
        if *method == "GET" {
            methods.push("HEAD");
        }
        let ids: &[&str] = if pattern.contains("{user_id}") && pattern.matches('{').count() > 1 {
            &[unknown_id, "not%20an%20id", EXISTING, OWN]
        } else if pattern.contains('{') {
            &[unknown_id, "not%20an%20id", EXISTING]
        } else {
            &[""]
        };
        for method in methods {
            let Some(statuses) = documented.get(&(method.to_string(), pattern.to_string())) else {
                continue;
            };
            // A listing's bad page size: Keystone 30's `int(limit)` fails
            // (a 500 there, a 400 here) wherever it pages.
            let paths = ids.iter().flat_map(|id| {
                let path = fill(pattern, id);
                let bad_limit = (method == "GET" && !pattern.contains('{'))
                    .then(|| (format!("{path}?limit=x"), *id));
                [(path, *id)].into_iter().chain(bad_limit)
            });
            for (path, id) in paths.collect::<Vec<_>>() {
                let id = &id;
                for token in [
                    Some(admin.token.as_str()),
                    Some(member.token.as_str()),
                    None,
                ] {
                    let as_admin = token == Some(admin.token.as_str());
                    if (*id == EXISTING && as_admin) || (*id == OWN && !as_admin) {
                        continue;
                    }
                    for body in bodies(method, pattern) {
                        let (status, answer) = call(
                            &s,
                            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                            &path,
                            token,
                            body,
                        )
                        .await;
                        requests += 1;
                        if status.is_server_error() || !statuses.contains(&status.as_u16()) {
                            let who = match token {
                                Some(t) if t == admin.token => "admin",
                                Some(_) => "member",
                                None => "no token",
                            };
                            wrong.push(format!("{method} {path} as {who}: {status} {answer}"));
                        }
                    }
                }
            }
        }
    }
    assert!(requests > 1000, "{requests}");
    assert!(
        wrong.is_empty(),
        "{} undocumented answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
