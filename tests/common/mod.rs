//! Test harness: the real server on 127.0.0.1:0 with a temporary SQLite file,
//! or a PostgreSQL or MariaDB database of its own, spoken to over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod signing;

use std::sync::Arc;

use diesel::{Connection, RunQueryDsl};
use ironstone::config::Config;
use ironstone::server::{self, RunningServer};
use ironstone::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "s3cret-admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("IRONSTONE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Connects to a database server the tests use; `None` (with a printed
/// reason) when it is unreachable, unless `require` (an environment
/// variable, set by `.ci/run`) is 1.
pub fn connect_or_skip<C: Connection>(url: &str, what: &str, require: &str) -> Option<C> {
    match C::establish(url) {
        Ok(c) => Some(c),
        Err(e) => {
            if std::env::var(require).is_ok_and(|v| v == "1") {
                panic!("{what} is required ({require}=1) but unreachable at {url}: {e}");
            }
            eprintln!("skipping {what} test: cannot connect to {url}: {e}");
            None
        }
    }
}

/// The Redis tests keep a replay record in (`IRONSTONE_TEST_REDIS_URL`,
/// default 127.0.0.1:6379), or `None` with a printed reason when it does
/// not answer, unless IRONSTONE_TEST_REQUIRE_REDIS is 1 (`.ci/run`).
pub fn redis_url_or_skip() -> Option<String> {
    let url = std::env::var("IRONSTONE_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let reached = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection_with_timeout(std::time::Duration::from_secs(2)))
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
    match reached {
        Ok(_) => Some(url),
        Err(e) => {
            if std::env::var("IRONSTONE_TEST_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
                panic!("Redis is required (IRONSTONE_TEST_REQUIRE_REDIS=1) but unreachable at {url}: {e}");
            }
            eprintln!("skipping Redis test: cannot reach {url}: {e}");
            None
        }
    }
}

/// Creates a database of a new name on the server `conn` reaches.
fn create_fresh_database<C: Connection>(conn: &mut C, options: &str) -> String {
    let name = format!("ironstone_test_{}", uuid::Uuid::new_v4().simple());
    conn.batch_execute(&format!("CREATE DATABASE {name}{options}"))
        .expect("create test database");
    name
}

/// Creates a fresh database; `None` (with a printed reason) when PostgreSQL
/// is not reachable and not required.
pub fn create_postgres_database() -> Option<(String, String)> {
    let admin_url = postgres_admin_url();
    let mut conn: diesel::PgConnection =
        connect_or_skip(&admin_url, "PostgreSQL", "IRONSTONE_TEST_REQUIRE_POSTGRES")?;
    let name = create_fresh_database(&mut conn, "");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin_url);
    Some((format!("{base}/{name}"), name))
}

/// Makes PostgreSQL refuse (and end) or accept again the connections to
/// the database of `server`: an outage of its database alone, which the
/// tests beside it do not see.
pub fn postgres_accepts_connections(server: &TestServer, allow: bool) {
    let url = server.state().config.database_url();
    let name = url.rsplit('/').next().unwrap_or_default().to_string();
    let mut admin = diesel::PgConnection::establish(&postgres_admin_url()).unwrap();
    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}"))
        .execute(&mut admin)
        .unwrap();
    if !allow {
        postgres_end_connections(&url);
    }
}

/// Ends every connection to the PostgreSQL database `database_url` names
/// (`pg_terminate_backend`), as a server restart or a failover does.
pub fn postgres_end_connections(database_url: &str) {
    postgres_end_where(database_url, "TRUE");
}

/// Ends the change listeners' connections to the database alone (they
/// name themselves), leaving the pools' alone.
pub fn postgres_end_listeners(database_url: &str) {
    let only = format!("application_name = '{}'", ironstone::store::LISTENER_NAME);
    postgres_end_where(database_url, &only);
}

fn postgres_end_where(database_url: &str, condition: &str) {
    let name = database_url.rsplit('/').next().unwrap_or_default();
    let mut admin = diesel::PgConnection::establish(&postgres_admin_url()).unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND {condition}"
    ))
    .execute(&mut admin)
    .unwrap();
}

pub fn drop_postgres_database(name: &str) {
    if let Ok(mut conn) = diesel::PgConnection::establish(&postgres_admin_url()) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn);
    }
}

/// The MariaDB server tests create their databases on (no database in
/// the URL): `IRONSTONE_TEST_MARIADB_URL`, or root with an empty password
/// on 127.0.0.1:3306, as on our machines.
pub fn mariadb_url() -> String {
    std::env::var("IRONSTONE_TEST_MARIADB_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_string())
}

/// Creates a fresh MariaDB database; `None` (with a printed reason) when
/// MariaDB is not reachable and not required.
pub fn create_mariadb_database() -> Option<(String, String)> {
    let server = mariadb_url();
    let mut conn: diesel::MysqlConnection = connect_or_skip(
        &format!("{server}/mysql"),
        "MariaDB",
        "IRONSTONE_TEST_REQUIRE_MARIADB",
    )?;
    let name = create_fresh_database(&mut conn, " CHARACTER SET utf8mb4");
    Some((format!("{server}/{name}"), name))
}

pub fn drop_mariadb_database(name: &str) {
    if let Ok(mut conn) = diesel::MysqlConnection::establish(&format!("{}/mysql", mariadb_url())) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn);
    }
}

/// A fresh database of its own for `backend`: `Some(None)` for SQLite
/// (a file in the server's directory), `Some(Some((url, name)))` for a
/// server database, `None` when that server is unavailable.
pub fn create_database(backend: Backend) -> Option<Option<(String, String)>> {
    match backend {
        Backend::Sqlite => Some(None),
        Backend::Postgres => create_postgres_database().map(Some),
        Backend::Mysql => create_mariadb_database().map(Some),
    }
}

/// Drops what [`create_database`] made.
pub fn drop_database(backend: Backend, name: &str) {
    match backend {
        Backend::Postgres => drop_postgres_database(name),
        Backend::Mysql => drop_mariadb_database(name),
        Backend::Sqlite => {}
    }
}

/// A config for tests: temp data dir, an ephemeral port, a bootstrapped
/// admin, and a cheap bcrypt cost so the suite stays fast.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.server.data_dir = data_dir.to_path_buf();
    config.server.listen = vec!["127.0.0.1:0".into()];
    config.server.workers = 2;
    config.identity.password_hash_rounds = 4;
    config.bootstrap.password = Some(ADMIN_PASSWORD.into());
    config.log.filter = "warn".into();
    config
}

pub struct TestServer {
    server: Option<RunningServer>,
    pub url: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    /// The database this server made and drops (PostgreSQL or MariaDB).
    own_database: Option<String>,
}

impl TestServer {
    pub fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, |_| {})
    }

    /// Starts with a config adjusted by `tweak`; `None` when the backend is
    /// unavailable (its server not running and not required).
    pub fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestServer> {
        let own = create_database(backend)?;
        let (url, own_database) = own
            .map(|(url, name)| (Some(url), Some(name)))
            .unwrap_or_default();
        Some(Self::serve(backend, own_database, |config| {
            config.database.url = url;
            tweak(config);
        }))
    }

    /// A second node on this one's database and key repositories (a
    /// shared database: PostgreSQL or MariaDB), with `tweak`.
    pub fn replica(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let state = self.state();
        Self::serve(self.backend, None, |config| {
            config.database.url = Some(state.config.database_url());
            config.fernet_tokens.key_repository = Some(state.config.fernet_key_repository());
            config.credential.key_repository = Some(state.config.credential_key_repository());
            tweak(config);
        })
    }

    /// Spawns a server on a test config adjusted by `tweak`; it drops
    /// `own_database` when it goes.
    fn serve(
        backend: Backend,
        own_database: Option<String>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(dir.path());
        tweak(&mut config);
        let server = server::spawn(config).expect("server starts");
        let url = server.url();
        TestServer {
            server: Some(server),
            url,
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            backend,
            dir,
            own_database,
        }
    }

    pub fn state(&self) -> Arc<AppState> {
        Arc::clone(&self.server.as_ref().unwrap().state)
    }

    pub fn addrs(&self) -> Vec<std::net::SocketAddr> {
        self.server.as_ref().unwrap().addrs.clone()
    }

    /// Runs a store closure in one transaction, as a use case would.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut ironstone::store::Conn) -> Result<T, ironstone::error::Error>
            + Send
            + 'static,
    ) -> T {
        self.state().db.write(f).await.expect("db operation")
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{}", self.url, path))
    }

    /// POSTs `body` to `path` with `token`; the whole response.
    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.request(Method::POST, path)
            .header("X-Auth-Token", token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POST /v3/auth/tokens with a body; returns (status, token, body).
    pub async fn auth(&self, body: Value) -> (StatusCode, Option<String>, Value) {
        self.auth_at("/v3/auth/tokens", body).await
    }

    pub async fn auth_at(&self, path: &str, body: Value) -> (StatusCode, Option<String>, Value) {
        let resp = self
            .request(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let token = resp
            .headers()
            .get("x-subject-token")
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, token, body)
    }

    /// A token for a user by name in the Default domain, with a scope.
    /// `DELETE /v3/auth/tokens` of `subject`, as `caller`: the status.
    pub async fn revoke(&self, caller: &str, subject: &str) -> StatusCode {
        self.request(Method::DELETE, "/v3/auth/tokens")
            .header("X-Auth-Token", caller)
            .header("X-Subject-Token", subject)
            .send()
            .await
            .unwrap()
            .status()
    }

    pub async fn password_token(
        &self,
        user: &str,
        password: &str,
        scope: Option<Value>,
    ) -> (String, Value) {
        let mut body = json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}}}});
        if let Some(scope) = scope {
            body["auth"]["scope"] = scope;
        }
        let (status, token, body) = self.auth(body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (token.unwrap(), body)
    }

    pub async fn admin_project_token(&self) -> String {
        self.password_token(
            "admin",
            ADMIN_PASSWORD,
            Some(json!({"project": {"name": "admin", "domain": {"id": "default"}}})),
        )
        .await
        .0
    }

    /// GET /v3/auth/tokens.
    pub async fn validate(&self, caller: &str, subject: &str, query: &str) -> (StatusCode, Value) {
        let resp = self
            .request(Method::GET, &format!("/v3/auth/tokens{query}"))
            .header("X-Auth-Token", caller)
            .header("X-Subject-Token", subject)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            record_statuses(&server);
            server.stop();
        }
        if let Some(name) = &self.own_database {
            drop_database(self.backend, name);
        }
    }
}

/// Appends the answers `server` gave, as `METHOD ROUTE STATUS` lines, to
/// the file `IRONSTONE_TEST_STATUS_LOG` names (set by `scripts/test`,
/// which compares them with the statuses the contract documents).
fn record_statuses(server: &ironstone::server::RunningServer) {
    let Ok(path) = std::env::var("IRONSTONE_TEST_STATUS_LOG") else {
        return;
    };
    let mut lines = String::new();
    for line in server.state.metrics_text().lines() {
        let Some(labels) = line
            .strip_prefix("ironstone_http_responses_total{")
            .and_then(|rest| rest.rsplit_once('}'))
            .map(|(labels, _)| labels)
        else {
            continue;
        };
        let value = |name: &str| {
            labels
                .split("\",")
                .find_map(|pair| pair.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').to_string())
                .unwrap_or_default()
        };
        lines += &format!(
            "{} {} {}\n",
            value("method"),
            value("route"),
            value("status")
        );
    }
    use std::io::Write;
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        // One write per server: lines from servers stopping at once stay whole.
        let _ = file.write_all(lines.as_bytes());
    }
}

/// The body of `GET path`, as text.
pub async fn text_of(s: &TestServer, path: &str) -> String {
    s.request(Method::GET, path)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Asserts Keystone's error JSON with the given status.
pub fn assert_error(body: &Value, code: u16) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["title"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

/// Asserts a refusal: the status, and Keystone's error JSON whose message
/// contains `message`.
#[track_caller]
pub fn expect_error(status: StatusCode, body: &Value, expected: StatusCode, message: &str) {
    assert_eq!(status, expected, "{body}");
    let text = body["error"]["message"].as_str().unwrap_or_default();
    assert!(text.contains(message), "{message:?} not in {body}");
}

/// Creates a user with a password and, optionally, a role on a project.
pub async fn create_user(
    server: &TestServer,
    name: &str,
    password: &str,
    role_on: Option<(&str, &str)>,
) -> String {
    let hash = ironstone::identity::password::hash(password, 4).unwrap();
    let name = name.to_string();
    let role_on = role_on.map(|(p, r)| (p.to_string(), r.to_string()));
    server
        .db(move |conn| {
            let user = ironstone::identity::create_user(
                conn,
                ironstone::identity::NewUser {
                    name: &name,
                    domain_id: "default",
                    enabled: true,
                    default_project_id: None,
                    password_hash: Some(hash),
                },
            )?;
            if let Some((project_id, role_name)) = role_on {
                let role =
                    ironstone::assignment::find_global_role_by_name(conn, &role_name)?.unwrap();
                ironstone::assignment::grant(
                    conn,
                    ironstone::assignment::AssignmentKind::UserProject,
                    &user.id,
                    &project_id,
                    &role.id,
                    false,
                )?;
            }
            Ok(user.id)
        })
        .await
}

/// Creates a project in the Default domain and returns its id.
pub async fn create_project(server: &TestServer, name: &str) -> String {
    let name = name.to_string();
    server
        .db(move |conn| {
            Ok(ironstone::resource::create_project(
                conn,
                ironstone::resource::NewProject {
                    name: &name,
                    domain_id: "default",
                    parent_id: None,
                    description: None,
                    enabled: true,
                    extra: &Default::default(),
                },
            )?
            .id)
        })
        .await
}

/// Defines `mod name { sqlite, postgres, mariadb }` tests running
/// `name(backend)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::common::Backend::Sqlite).await
                }
                $crate::on_clustered_backends!(@tests $name);
            }
        )*
    };
}

/// Defines `mod name { postgres, mariadb }` tests running `name(backend)`:
/// the backends several replicas can share.
#[macro_export]
macro_rules! on_clustered_backends {
    (@tests $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            super::$name(super::common::Backend::Postgres).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn mariadb() {
            super::$name(super::common::Backend::Mysql).await
        }
    };
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                $crate::on_clustered_backends!(@tests $name);
            }
        )*
    };
}

/// The Python of the interop virtualenv (real Keystone and clients), or
/// `None` with a printed reason. `.ci/run` sets
/// IRONSTONE_TEST_REQUIRE_INTEROP=1 so a missing venv fails there.
pub fn interop_python() -> Option<std::path::PathBuf> {
    let venv = std::env::var("IRONSTONE_TEST_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-interop"));
    let python = venv.join("bin").join("python");
    if python.exists() {
        return Some(python);
    }
    if std::env::var("IRONSTONE_TEST_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
        panic!(
            "interop tests are required but {} does not exist: run scripts/interop-venv.sh",
            python.display()
        );
    }
    eprintln!(
        "skipping interop test: no virtualenv at {} (create it with scripts/interop-venv.sh)",
        venv.display()
    );
    None
}

/// The directory with the interop scripts.
pub fn interop_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
}

/// Runs `tests/interop/<script>` with the interop venv's Python and
/// returns the JSON it prints; a failing script fails the test with its
/// stderr.
pub fn run_interop(python: &std::path::Path, script: &str, args: &[&str]) -> Value {
    let output = std::process::Command::new(python)
        .arg(interop_dir().join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// What a caller needs to use the SODA API: its token, project and user.
pub struct Member {
    pub token: String,
    pub project_id: String,
    pub user_id: String,
}

/// A user with `role` on a new or given project, holding a token scoped to it.
pub async fn member_of(server: &TestServer, name: &str, project_id: &str, role: &str) -> Member {
    let user_id = create_user(server, name, "pw", Some((project_id, role))).await;
    let (token, _) = server
        .password_token(name, "pw", Some(json!({"project": {"id": project_id}})))
        .await;
    Member {
        token,
        project_id: project_id.to_string(),
        user_id,
    }
}

/// The bootstrapped admin as a [`Member`] of the admin project.
pub async fn admin_member(server: &TestServer) -> Member {
    let (token, body) = server
        .password_token(
            "admin",
            ADMIN_PASSWORD,
            Some(json!({"project": {"name": "admin", "domain": {"id": "default"}}})),
        )
        .await;
    Member {
        token,
        project_id: body["token"]["project"]["id"].as_str().unwrap().to_string(),
        user_id: body["token"]["user"]["id"].as_str().unwrap().to_string(),
    }
}

/// The seconds a 429 says to wait.
pub fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The id of the role named `name`.
pub async fn role_id(s: &TestServer, token: &str, name: &str) -> String {
    let (_, roles) = call(
        s,
        reqwest::Method::GET,
        &format!("/v3/roles?name={name}"),
        Some(token),
        None,
    )
    .await;
    roles["roles"][0]["id"].as_str().unwrap().to_string()
}

/// Sends a request with an optional token and JSON body; returns status and body.
pub async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = server.request(method, path);
    if let Some(t) = token {
        req = req.header("X-Auth-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

/// `POST path` as `token`, which must answer 201; the new item's id
/// under `key`.
pub async fn create_as(
    server: &TestServer,
    token: &str,
    path: &str,
    body: Value,
    key: &str,
) -> String {
    let (status, body) = call(server, Method::POST, path, Some(token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    body[key]["id"].as_str().unwrap().to_string()
}

/// `POST /v3/users/{id}/application_credentials` as `m`; status and body.
pub async fn create_app_cred(server: &TestServer, m: &Member, body: Value) -> (StatusCode, Value) {
    call(
        server,
        Method::POST,
        &format!("/v3/users/{}/application_credentials", m.user_id),
        Some(&m.token),
        Some(json!({ "application_credential": body })),
    )
    .await
}

/// A free loopback port (for a server started as a process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `ironstone serve` on 127.0.0.1:`port` with `data_dir`, a bootstrap
/// password, cheap hashing and nothing else from the environment.
pub fn serve_command(
    data_dir: &std::path::Path,
    port: u16,
    bootstrap_password: &str,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ironstone"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IRONSTONE_BOOTSTRAP_PASSWORD", bootstrap_password)
        .env("IRONSTONE_IDENTITY_PASSWORD_HASH_ROUNDS", "4")
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(std::process::Stdio::null());
    cmd
}

/// A server process, killed when dropped.
pub struct Serving(pub std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn wait_until_listening(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "server did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `POST {base}/v3/auth/tokens` with a password for `user` in the
/// Default domain and `scope`; the token and the body.
pub async fn login(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    scope: Value,
) -> (String, Value) {
    let resp = client
        .post(format!("{base}/v3/auth/tokens"))
        .json(&json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": scope}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{base}: token for {user}");
    let token = resp.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string();
    (token, resp.json().await.unwrap())
}

/// The scope of the bootstrapped admin project.
pub fn admin_project_scope() -> Value {
    json!({"project": {"name": "admin", "domain": {"id": "default"}}})
}
