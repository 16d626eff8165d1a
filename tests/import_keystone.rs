//! `ironstone import keystone` against a real Keystone 30 deployment built
//! by keystone-manage and used through Keystone's own WSGI application
//! (tests/interop/keystone_deployment.py), on SQLite and on PostgreSQL.
//! After the import, into SQLite and into PostgreSQL: users log in with their old passwords, tokens that
//! Keystone issued still validate (and the one it revoked does not), EC2
//! pairs still verify through /v3/ec2tokens with botocore's signatures, and
//! a second import changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use diesel::{Connection, RunQueryDsl};

use common::{call, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One Keystone deployment per source backend for every test in this file
/// (it takes seconds to build); the tests only read it.
struct Deployment {
    _dir: tempfile::TempDir,
    db_url: String,
    facts: Value,
}

/// The PostgreSQL database the Keystone source lives in: a fixed name,
/// dropped and made anew by each run, so at most one is ever left behind.
const KEYSTONE_PG_DATABASE: &str = "ironstone_test_keystone_source";

/// Builds a Keystone whose database URL `db_url` makes from its directory.
fn build_deployment(python: &Path, db_url: impl FnOnce(&Path) -> String) -> Deployment {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("keystone");
    let db_url = db_url(&top);
    let out = dir.path().join("facts.json");
    let output = Command::new(python)
        .arg(common::interop_dir().join("keystone_deployment.py"))
        .arg(&top)
        .arg(&db_url)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "keystone deployment failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let facts = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    Deployment {
        _dir: dir,
        db_url,
        facts,
    }
}

/// A Keystone on SQLite.
fn deployment(python: &Path) -> &'static Deployment {
    static DEPLOYMENT: OnceLock<Deployment> = OnceLock::new();
    DEPLOYMENT.get_or_init(|| {
        build_deployment(python, |top| {
            format!("sqlite:///{}", top.join("keystone.db").display())
        })
    })
}

/// A Keystone on PostgreSQL (`None`, with a printed reason, without one).
fn postgres_deployment(python: &Path) -> Option<&'static Deployment> {
    static DEPLOYMENT: OnceLock<Option<Deployment>> = OnceLock::new();
    DEPLOYMENT
        .get_or_init(|| {
            let (url, name) = common::create_postgres_database()?;
            common::drop_postgres_database(&name);
            let mut admin = diesel::PgConnection::establish(&common::postgres_admin_url()).unwrap();
            diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {KEYSTONE_PG_DATABASE} WITH (FORCE)"
            ))
            .execute(&mut admin)
            .unwrap();
            diesel::sql_query(format!("CREATE DATABASE {KEYSTONE_PG_DATABASE}"))
                .execute(&mut admin)
                .unwrap();
            let base = url.rsplit_once('/').map(|(b, _)| b).unwrap();
            let sqlalchemy = format!(
                "{}/{KEYSTONE_PG_DATABASE}",
                base.replacen("postgres://", "postgresql+psycopg2://", 1)
            );
            Some(build_deployment(python, |_| sqlalchemy))
        })
        .as_ref()
}

/// The MariaDB database the Keystone source lives in, made anew by each
/// run (most Keystones live in MariaDB or MySQL).
const KEYSTONE_MARIADB_DATABASE: &str = "ironstone_test_keystone_source";

/// A Keystone on MariaDB (`None`, with a printed reason, without one,
/// unless `IRONSTONE_TEST_REQUIRE_MARIADB=1`).
fn mariadb_deployment(python: &Path) -> Option<&'static Deployment> {
    static DEPLOYMENT: OnceLock<Option<Deployment>> = OnceLock::new();
    DEPLOYMENT
        .get_or_init(|| {
            let server = common::mariadb_url();
            let mut admin: diesel::MysqlConnection = common::connect_or_skip(
                &format!("{server}/mysql"),
                "MariaDB",
                "IRONSTONE_TEST_REQUIRE_MARIADB",
            )?;
            for statement in [
                format!("DROP DATABASE IF EXISTS {KEYSTONE_MARIADB_DATABASE}"),
                format!("CREATE DATABASE {KEYSTONE_MARIADB_DATABASE} CHARACTER SET utf8mb4"),
            ] {
                diesel::sql_query(statement).execute(&mut admin).unwrap();
            }
            let sqlalchemy = format!(
                "{}/{KEYSTONE_MARIADB_DATABASE}?charset=utf8mb4",
                server.replacen("mysql://", "mysql+pymysql://", 1)
            );
            Some(build_deployment(python, |_| sqlalchemy))
        })
        .as_ref()
}

/// Where the Keystone being taken over keeps its data.
#[derive(Clone, Copy)]
enum KeystoneOn {
    Sqlite,
    Postgres,
    Mariadb,
}

/// Runs `ironstone import keystone` with a clean environment plus `env`.
fn import(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let output = import_command(data_dir, env, args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `ironstone import keystone` with a clean environment plus `env`.
fn import_command(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ironstone"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IRONSTONE_LOG_FILTER", "warn")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["import", "keystone"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn full_import_args(d: &Deployment) -> Vec<String> {
    vec![
        "--db".into(),
        d.db_url.clone(),
        "--fernet-keys".into(),
        d.facts["fernet_keys"].as_str().unwrap().into(),
        "--credential-keys".into(),
        d.facts["credential_keys"].as_str().unwrap().into(),
        "--json".into(),
    ]
}

fn counts(report: &Value, kind: &str) -> (u64, u64, u64) {
    let entry = report["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {report}"));
    let c = entry;
    (
        c["created"].as_u64().unwrap(),
        c["updated"].as_u64().unwrap(),
        c["unchanged"].as_u64().unwrap(),
    )
}

fn str_of<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer}"))
}

/// Imports a Keystone on `source` into an Ironstone on `target`, then
/// checks every promise of the takeover against the running server.
async fn takeover(source: KeystoneOn, target: Backend) {
    let Some(python) = common::interop_python() else {
        return;
    };
    let d = match source {
        KeystoneOn::Sqlite => deployment(&python),
        KeystoneOn::Postgres => match postgres_deployment(&python) {
            Some(d) => d,
            None => return,
        },
        KeystoneOn::Mariadb => match mariadb_deployment(&python) {
            Some(d) => d,
            None => return,
        },
    };
    let backend = target;
    let mut env: Vec<(&str, String)> = Vec::new();
    let Some(own) = common::create_database(backend) else {
        return;
    };
    let own = own.map(|(url, name)| {
        env.push(("IRONSTONE_DATABASE_URL", url));
        name
    });
    let facts = &d.facts;
    let dir = tempfile::tempdir().unwrap();
    let data_dir: PathBuf = dir.path().join("ironstone");
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = full_import_args(d);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();

    let (ok, stdout, stderr) = import(&data_dir, &env_refs, &arg_refs);
    assert!(ok, "import failed: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    // bootstrap's Default domain plus acme; admin, alice and bob.
    assert_eq!(counts(&report, "domains"), (2, 0, 0));
    assert_eq!(counts(&report, "projects"), (3, 0, 0));
    assert_eq!(counts(&report, "users"), (3, 0, 0));
    // alice's two passwords, admin's and bob's.
    assert_eq!(counts(&report, "passwords"), (4, 0, 0));
    assert_eq!(counts(&report, "credentials"), (2, 0, 0));
    assert_eq!(counts(&report, "application credentials"), (1, 0, 0));
    assert_eq!(counts(&report, "access rules"), (1, 0, 0));
    assert_eq!(counts(&report, "group memberships"), (1, 0, 0));
    assert_eq!(counts(&report, "registered_limits"), (2, 0, 0));
    assert_eq!(counts(&report, "limits"), (2, 0, 0));
    assert_eq!(counts(&report, "trusts"), (1, 0, 0));
    assert_eq!(counts(&report, "policies"), (1, 0, 0));
    assert_eq!(counts(&report, "policy associations"), (1, 0, 0));
    assert_eq!(counts(&report, "endpoint groups"), (1, 0, 0));
    assert_eq!(counts(&report, "project endpoint groups"), (1, 0, 0));
    assert_eq!(counts(&report, "project endpoints"), (1, 0, 0));
    assert_eq!(counts(&report, "domain options"), (2, 0, 0));
    assert_eq!(counts(&report, "OAuth1 consumers"), (1, 0, 0));
    assert_eq!(counts(&report, "OAuth1 access tokens"), (1, 0, 0));
    assert_eq!(counts(&report, "domain tags"), (1, 0, 0));
    assert!(counts(&report, "revocation events").0 >= 3, "{report}");
    assert!(counts(&report, "role assignments").0 >= 6, "{report}");
    assert_eq!(report["token_keys"]["changed"], true, "{report}");
    assert_eq!(report["token_keys"]["kept"], 0, "{report}");

    // A second run finds everything in place.
    let (ok, stdout, stderr) = import(&data_dir, &env_refs, &arg_refs);
    assert!(ok, "second import failed: {stderr}");
    let again: Value = serde_json::from_str(&stdout).unwrap();
    for entry in again["counts"].as_array().unwrap() {
        assert_eq!(entry["created"], 0, "{again}");
        assert_eq!(entry["updated"], 0, "{again}");
        assert!(entry["unchanged"].as_u64().unwrap() > 0, "{again}");
    }
    assert_eq!(again["token_keys"]["changed"], false, "{again}");

    // Serve the imported data. The database is not empty, so nothing is
    // bootstrapped over it.
    let data_dir_for_server = data_dir.clone();
    let pg_url = env.first().map(|(_, v)| v.clone());
    let s = TestServer::start_with(Backend::Sqlite, move |c| {
        c.server.data_dir = data_dir_for_server;
        c.database.url = pg_url;
        c.signature.throttle_failures = 0;
    })
    .unwrap();
    let tokens = &facts["tokens"];
    let admin = str_of(tokens, "/admin_project");
    let alice_id = str_of(facts, "/alice/id");
    let webapp_id = str_of(facts, "/webapp/id");

    // Tokens Keystone issued before the import validate, with the roles
    // Keystone gave them (direct, implied, through a group, on a domain).
    for (name, user, project, domain, role) in [
        ("admin_project", "admin", Some("admin"), None, "admin"),
        ("admin_system", "admin", None, None, "admin"),
        ("alice_project", "alice", Some("webapp"), None, "member"),
        ("alice_dev", "alice", Some("webapp-dev"), None, "deployer"),
        ("alice_domain", "alice", None, Some("acme"), "reader"),
    ] {
        let (status, body) = s
            .validate(admin, str_of(tokens, &format!("/{name}")), "")
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        let t = &body["token"];
        assert_eq!(t["user"]["name"], user, "{name}");
        assert_eq!(t["project"]["name"].as_str(), project, "{name}");
        assert_eq!(t["domain"]["name"].as_str(), domain, "{name}");
        let roles: Vec<&str> = t["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(roles.contains(&role), "{name}: {roles:?}");
    }
    // The trust comes along: Keystone's trust-scoped token validates, for
    // the trustor it impersonates.
    let (status, body) = s.validate(admin, str_of(tokens, "/trust"), "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"]["OS-TRUST:trust"]["id"], facts["trust"]["id"]);
    assert_eq!(body["token"]["user"]["id"], alice_id);
    assert_eq!(body["token"]["project"]["id"], webapp_id);

    // Unified limits come along with their ids, values and order.
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("links");
        v
    };
    for (path, key) in [
        ("/v3/registered_limits", "registered_limits"),
        ("/v3/limits", "limits"),
    ] {
        let (status, body) = call(&s, Method::GET, path, Some(admin), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let ours: Vec<Value> = body[key].as_array().unwrap().iter().map(strip).collect();
        let theirs: Vec<Value> = facts[key].as_array().unwrap().iter().map(strip).collect();
        assert_eq!(ours, theirs, "{key}");
    }

    // Parity II: the policy blob and its service association, the
    // endpoint group and project endpoint, the domain configuration (its
    // password kept but never shown) and a project's extra attribute.
    let get = |path: String| {
        let s = &s;
        async move { call(s, Method::GET, &path, Some(admin), None).await }
    };
    let policy_id = str_of(facts, "/policy/id");
    let (_, body) = get(format!("/v3/policies/{policy_id}")).await;
    assert_eq!(body["policy"]["blob"], facts["policy"]["blob"], "{body}");
    assert_eq!(body["policy"]["owner"], "ops", "{body}");
    let endpoint_id = str_of(facts, "/endpoint/id");
    let (_, body) = get(format!(
        "/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy"
    ))
    .await;
    assert_eq!(body["policy"]["id"], facts["policy"]["id"], "{body}");
    let group_id = str_of(facts, "/endpoint_group/id");
    let dev_id = str_of(facts, "/webapp_dev/id");
    for (path, expected) in [
        (
            format!("/v3/OS-EP-FILTER/endpoint_groups/{group_id}/projects/{webapp_id}"),
            StatusCode::OK,
        ),
        (
            format!("/v3/OS-EP-FILTER/projects/{dev_id}/endpoints/{endpoint_id}"),
            StatusCode::NO_CONTENT,
        ),
    ] {
        assert_eq!(get(path.clone()).await.0, expected, "{path}");
    }
    let acme_id = str_of(facts, "/domain/id");
    let (_, body) = get(format!("/v3/domains/{acme_id}/config")).await;
    assert_eq!(
        body,
        json!({"config": {"ldap": {"url": "ldap://dir.acme"}}})
    );
    let (_, body) = get(format!("/v3/projects/{webapp_id}")).await;
    assert_eq!(body["project"]["cost_center"], "42", "{body}");
    // A domain's tags (kept with the projects' in Keystone) and an
    // endpoint's extra attributes.
    let (_, body) = get(format!("/v3/domains/{acme_id}")).await;
    assert_eq!(body["domain"]["tags"], json!(["emea"]), "{body}");
    let (_, body) = get(format!("/v3/endpoints/{endpoint_id}")).await;
    assert_eq!(body["endpoint"]["zone"], "a", "{body}");
    // The OS-OAUTH1 delegation Keystone held keeps working: its consumer
    // logs in with keystoneauth1 as before, with the secrets it was given.
    let consumer = str_of(facts, "/oauth1/consumer");
    let (_, body) = get(format!("/v3/OS-OAUTH1/consumers/{consumer}")).await;
    assert_eq!(body["consumer"]["description"], "backup agent", "{body}");
    let login = {
        let (python, url) = (python.clone(), s.url.clone());
        let args: Vec<String> = ["consumer", "consumer_secret", "access", "access_secret"]
            .iter()
            .map(|k| str_of(facts, &format!("/oauth1/{k}")).to_string())
            .collect();
        tokio::task::spawn_blocking(move || {
            let mut all = vec![url.as_str()];
            all.extend(args.iter().map(String::as_str));
            common::run_interop(&python, "oauth1_login.py", &all)
        })
        .await
        .unwrap()
    };
    assert_eq!(
        login["project_id"],
        str_of(facts, "/oauth1/project"),
        "{login}"
    );
    assert_eq!(login["methods"], json!(["oauth1"]), "{login}");
    assert_eq!(login["roles"], json!(["reader"]), "{login}");

    // Implied roles come along: deployer implies reader.
    let (_, dev) = s.validate(admin, str_of(tokens, "/alice_dev"), "").await;
    assert!(dev["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "reader"));
    // The token Keystone revoked stays revoked.
    let (status, body) = s
        .validate(admin, str_of(tokens, "/alice_revoked"), "")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    common::assert_error(&body, 404);
    // The application-credential token, by a service that honours access
    // rules.
    let resp = s
        .request(Method::GET, "/v3/auth/tokens")
        .header("X-Auth-Token", admin)
        .header("X-Subject-Token", str_of(tokens, "/app_cred"))
        .header("OpenStack-Identity-Access-Rules", "1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["token"]["application_credential"]["id"],
        facts["app_cred"]["id"]
    );
    assert_eq!(
        body["token"]["application_credential"]["access_rules"][0]["service"],
        "compute"
    );

    // Old passwords: alice's current one works, her first one and disabled
    // bob do not; Keystone's admin logs in with Keystone's password.
    let login = |name: &str, password: &str, scope: Value| {
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": name, "domain": {"name": "acme"}, "password": password}}}, "scope": scope}})
    };
    let webapp_scope = json!({"project": {"id": webapp_id}});
    let (status, token, body) = s
        .auth(login("alice", "alice-current-pw", webapp_scope.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["token"]["user"]["id"], alice_id);
    assert!(token.is_some());
    let (status, _, _) = s
        .auth(login("alice", "alice-first-pw", webapp_scope.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = s.auth(login("bob", "bob-pw", webapp_scope)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    s.password_token(
        "admin",
        str_of(facts, "/admin_password"),
        Some(json!({"system": {"all": true}})),
    )
    .await;
    // The application credential's secret (a Keystone bcrypt hash) works.
    let (status, _, body) = s
        .auth(json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": facts["app_cred"]["id"], "secret": facts["app_cred"]["secret"]}}}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["token"]["project"]["id"], webapp_id);

    // Credentials decrypt under Ironstone's keys and read as Keystone wrote them.
    let (status, body) = call(&s, Method::GET, "/v3/credentials", Some(admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let cert = body["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "cert")
        .unwrap();
    assert_eq!(cert["blob"], facts["cert_credential"]["blob"]);
    let ec2_access = str_of(facts, "/ec2/access");
    let (status, body) = call(
        &s,
        Method::GET,
        &format!("/v3/users/{alice_id}/credentials/OS-EC2/{ec2_access}"),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["credential"]["secret"], facts["ec2"]["secret"]);
    assert_eq!(body["credential"]["tenant_id"], webapp_id);

    // The EC2 pair verifies: every request botocore signs with it, and none
    // signed with another secret.
    let output = Command::new(&python)
        .arg(common::interop_dir().join("botocore_sign.py"))
        .args([ec2_access, str_of(facts, "/ec2/secret")])
        .output()
        .unwrap();
    assert!(output.status.success());
    let cases: serde_json::Map<String, Value> = serde_json::from_slice(&output.stdout).unwrap();
    let mut verified = 0;
    for (name, case) in &cases {
        let (status, body) = call(
            &s,
            Method::POST,
            case["endpoint"].as_str().unwrap(),
            Some(admin),
            Some(case["body"].clone()),
        )
        .await;
        if name.ends_with("-wrong-secret") {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        } else {
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
            assert_eq!(body["token"]["user"]["id"], alice_id, "{name}");
            assert_eq!(body["token"]["project"]["id"], webapp_id, "{name}");
            verified += 1;
        }
    }
    assert!(verified >= 6, "{verified}");

    // Hierarchy, tags and the group grant read back through the API.
    let (_, body) = call(
        &s,
        Method::GET,
        &format!("/v3/projects/{}", str_of(facts, "/webapp_dev/id")),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(body["project"]["parent_id"], webapp_id);
    let (_, body) = call(
        &s,
        Method::GET,
        &format!("/v3/projects/{webapp_id}"),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(body["project"]["tags"], json!(["prod", "web"]));
    assert_eq!(body["project"]["parent_id"], str_of(facts, "/domain/id"));
    let (_, body) = call(
        &s,
        Method::GET,
        &format!("/v3/role_assignments?user.id={alice_id}&effective&include_names"),
        Some(admin),
        None,
    )
    .await;
    let via_group = body["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["role"]["name"] == "deployer" && a["links"]["membership"].is_string());
    assert!(via_group, "{body}");
    let (_, body) = call(
        &s,
        Method::GET,
        &format!("/v3/users/{alice_id}"),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(body["user"]["default_project_id"], webapp_id);

    drop(s);
    if let Some(name) = own {
        common::drop_database(backend, &name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_on_sqlite_taken_over_by_ironstone_on_sqlite() {
    takeover(KeystoneOn::Sqlite, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_on_sqlite_taken_over_by_ironstone_on_postgres() {
    takeover(KeystoneOn::Sqlite, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_on_postgres_taken_over_by_ironstone_on_postgres() {
    takeover(KeystoneOn::Postgres, Backend::Postgres).await;
}

/// Where most Keystones live: MariaDB (Kolla-Ansible, OpenStack-Ansible,
/// devstack), read with `mysql+pymysql://` as Keystone's own URL spells it,
/// taken over by Ironstone on the same MariaDB server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_on_mariadb_taken_over_by_ironstone_on_mariadb() {
    takeover(KeystoneOn::Mariadb, Backend::Mysql).await;
}

/// A database Ironstone bootstrapped has its own admin, project and roles
/// under other ids: the import names the collision and writes nothing, not
/// even the token keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_into_a_bootstrapped_database_is_refused_whole() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let d = deployment(&python);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("ironstone");
    let status = Command::new(env!("CARGO_BIN_EXE_ironstone"))
        .env_clear()
        .env("IRONSTONE_IDENTITY_PASSWORD_HASH_ROUNDS", "4")
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["bootstrap", "--admin-password", "ironstone-admin"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let setup = Command::new(env!("CARGO_BIN_EXE_ironstone"))
        .env_clear()
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["fernet", "setup"])
        .output()
        .unwrap();
    assert!(setup.status.success());
    let keys_before = key_files(&data_dir.join("fernet-keys"));
    assert_eq!(keys_before.len(), 2);
    let args = full_import_args(d);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = import(&data_dir, &[], &arg_refs);
    assert!(!ok);
    assert!(stderr.contains("has the same name"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(key_files(&data_dir.join("fernet-keys")), keys_before);
    // Nothing of Keystone's landed: Ironstone's admin still logs in, acme
    // does not exist, and the token keys are untouched.
    let data_dir_for_server = data_dir.clone();
    let s = TestServer::start_with(Backend::Sqlite, move |c| {
        c.server.data_dir = data_dir_for_server;
    })
    .unwrap();
    let (token, _) = s
        .password_token(
            "admin",
            "ironstone-admin",
            Some(json!({"system": {"all": true}})),
        )
        .await;
    let (status, body) = call(&s, Method::GET, "/v3/domains?name=acme", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["domains"], json!([]));
}

/// A key repository's files and contents, sorted.
fn key_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Without Keystone's credential keys the blobs cannot be read: the import
/// says which credential and what to pass, and writes nothing.
#[test]
fn import_without_the_credential_keys_is_refused() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let d = deployment(&python);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("ironstone");
    let (ok, _, stderr) = import(&data_dir, &[], &["--db", &d.db_url]);
    assert!(!ok);
    assert!(stderr.contains("--credential-keys"), "{stderr}");
    assert!(!stderr.contains(str_of(&d.facts, "/ec2/secret")));
    // An unknown source is a clear error too.
    let (ok, _, stderr) = import(
        &data_dir,
        &[],
        &["--db", "sqlite:////nonexistent/keystone.db"],
    );
    assert!(!ok);
    assert!(stderr.contains("no such file"), "{stderr}");
    // An unreachable MariaDB names itself, never its password.
    let (ok, _, stderr) = import(
        &data_dir,
        &[],
        &["--db", "mysql+pymysql://k:pw@127.0.0.1:1/k"],
    );
    assert!(!ok);
    assert!(
        stderr.contains("cannot open the Keystone database mysql+pymysql://k:***@")
            && !stderr.contains("pw@"),
        "{stderr}"
    );
}

/// `import keystone` killed (SIGKILL) at eleven moments spread over a whole
/// import's run, then run again: the rerun completes, a third run finds
/// everything in place, the token keys are Keystone's, file for file, and
/// the tokens Keystone issued validate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_import_can_be_run_again() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let d = deployment(&python);
    let args = full_import_args(d);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let keystone_keys = key_files(Path::new(str_of(&d.facts, "/fernet_keys")));
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (ok, _, stderr) = import(&dir.path().join("whole"), &[], &args);
    assert!(ok, "{stderr}");
    let whole = started.elapsed();
    let mut last = PathBuf::new();
    for step in 0..=10u32 {
        let data_dir = dir.path().join(format!("killed-{step}"));
        let mut child = import_command(&data_dir, &[], &args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole * step / 10);
        let _ = child.kill();
        let _ = child.wait();
        let (ok, _, stderr) = import(&data_dir, &[], &args);
        assert!(
            ok,
            "killed at {step}/10 of a run, the rerun failed: {stderr}"
        );
        let (ok, stdout, stderr) = import(&data_dir, &[], &args);
        assert!(ok, "{stderr}");
        let again: Value = serde_json::from_str(&stdout).unwrap();
        for entry in again["counts"].as_array().unwrap() {
            assert_eq!(entry["created"], 0, "killed at {step}/10: {again}");
            assert_eq!(entry["updated"], 0, "killed at {step}/10: {again}");
        }
        assert_eq!(
            key_files(&data_dir.join("fernet-keys")),
            keystone_keys,
            "killed at {step}/10"
        );
        last = data_dir;
    }
    eprintln!("a whole import took {whole:?}; killed at eleven points of it (0 to 10 tenths), each rerun completed");
    let s = TestServer::start_with(Backend::Sqlite, move |c| c.server.data_dir = last).unwrap();
    let tokens = &d.facts["tokens"];
    let admin = str_of(tokens, "/admin_project");
    for name in ["admin_project", "alice_project"] {
        let (status, body) = s
            .validate(admin, str_of(tokens, &format!("/{name}")), "")
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
}
