//! Settings: a TOML file (keystone.conf section names), defaults for
//! everything, and any key overridden by `IRONSTONE_<SECTION>_<KEY>`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::error::Error;

/// Keystone's default `[auth] methods`; the order fixes the token bitmask.
pub const DEFAULT_AUTH_METHODS: [&str; 7] = [
    "external",
    "password",
    "token",
    "oauth1",
    "mapped",
    "application_credential",
    "ec2credential",
];

/// Environment variables under the prefix that are not settings.
const NON_SETTING_VARS: [&str; 1] = ["IRONSTONE_CONFIG"];

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    pub database: Database,
    pub token: Token,
    pub fernet_tokens: FernetTokens,
    pub credential: Credential,
    pub auth: Auth,
    pub identity: Identity,
    pub bootstrap: Bootstrap,
    pub signature: Signature,
    pub cache: Cache,
    pub log: Log,
    pub unified_limit: UnifiedLimit,
    pub trust: Trust,
    pub oauth1: OAuth1,
    pub console: Console,
    pub audit: Audit,
    pub notifications: crate::notify::Settings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Addresses to listen on, e.g. `["0.0.0.0:5000", "0.0.0.0:8089"]`.
    #[serde(deserialize_with = "string_or_list")]
    pub listen: Vec<String>,
    /// Where the SQLite file and key repositories live unless set apart.
    pub data_dir: PathBuf,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Keystone's `[DEFAULT] public_endpoint` (also spelt `public_url`):
    /// the base URL in links and `WWW-Authenticate`. Unset means "derived
    /// from the request's Host", and from `X-Forwarded-*` only when the
    /// peer is a trusted proxy.
    #[serde(alias = "public_url")]
    pub public_endpoint: Option<String>,
    /// Addresses or CIDRs of reverse proxies whose `Forwarded` and
    /// `X-Forwarded-For/-Host/-Proto` headers are believed. Nobody's by
    /// default.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// `text` or `json`; when set, wins over `log.format`.
    pub log_format: Option<String>,
    /// Keystone's oslo `max_request_body_size`.
    pub max_request_body_size: usize,
    /// Blocking threads for password hashing; 0 means one per core.
    pub hash_threads: usize,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: vec!["127.0.0.1:5000".into()],
            data_dir: PathBuf::from("data"),
            workers: 0,
            public_endpoint: None,
            trusted_proxies: Vec::new(),
            log_format: None,
            max_request_body_size: 114_688,
            hash_threads: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// A SQLite path, `sqlite://PATH`, or `postgres://…`. Unset: SQLite in
    /// the data directory.
    pub url: Option<String>,
    pub max_connections: u32,
    /// How long a request waits for a connection before a 503.
    pub acquire_timeout_ms: u64,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            url: None,
            max_connections: 8,
            acquire_timeout_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Token {
    /// Token lifetime in seconds.
    pub expiration: u64,
    /// How long past expiry `allow_expired` still validates, in seconds.
    pub allow_expired_window: u64,
    pub allow_rescope_scoped_token: bool,
}

impl Default for Token {
    fn default() -> Self {
        Token {
            expiration: 3600,
            allow_expired_window: 172_800,
            allow_rescope_scoped_token: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FernetTokens {
    /// Unset: `<data_dir>/fernet-keys`.
    pub key_repository: Option<PathBuf>,
    pub max_active_keys: usize,
    /// How often a running server re-reads the repository, in seconds, so a
    /// rotation is picked up without a restart.
    pub reload_interval: u64,
}

impl Default for FernetTokens {
    fn default() -> Self {
        FernetTokens {
            key_repository: None,
            max_active_keys: 3,
            reload_interval: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Credential {
    /// Unset: `<data_dir>/credential-keys`.
    pub key_repository: Option<PathBuf>,
    /// Keystone's `[credential] user_limit`: credentials per user, -1 for
    /// no limit. Creating one more answers 403.
    pub user_limit: i64,
    /// New AK/SK secret keys and application credential secrets carry a
    /// prefix and a checksum that secret scanners recognise (`irsk_…`,
    /// `irac_…`); false keeps SODA's and Keystone's plain formats.
    pub secret_prefix: bool,
    /// Seconds a new key may live at most (AK/SK pairs and application
    /// credentials): an expiry is then required and capped. 0: no cap.
    pub max_key_lifetime: i64,
    /// Keys expiring within this many seconds are listed `expires_soon`.
    pub expiry_warning: i64,
    /// Keys unused for this many seconds (counted from creation when never
    /// used) are disabled. 0: never.
    pub disable_unused_after: i64,
    /// What happens to a key reported leaked unless the key says:
    /// `none`, `disable` or `delete`.
    pub action_when_leaked: String,
}

impl Default for Credential {
    fn default() -> Self {
        Credential {
            key_repository: None,
            user_limit: -1,
            secret_prefix: true,
            max_key_lifetime: 0,
            expiry_warning: 14 * 24 * 3600,
            disable_unused_after: 0,
            action_when_leaked: "disable".into(),
        }
    }
}

impl Credential {
    /// The default action on a leaked key (checked by `validate`).
    pub fn leak_action(&self) -> crate::lifecycle::LeakAction {
        crate::lifecycle::LeakAction::parse(&self.action_when_leaked)
            .unwrap_or(crate::lifecycle::LeakAction::Disable)
    }

    /// The lifetime rules of keys.
    pub fn lifetime(&self) -> crate::lifecycle::Lifetime {
        crate::lifecycle::Lifetime {
            max_seconds: self.max_key_lifetime,
            warning_seconds: self.expiry_warning,
            disable_unused_seconds: self.disable_unused_after,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    /// Enabled methods, in the order that defines the token bitmask. Every
    /// node sharing a key repository must use the same list.
    #[serde(deserialize_with = "string_or_list")]
    pub methods: Vec<String>,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            methods: DEFAULT_AUTH_METHODS.iter().map(|m| m.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Identity {
    pub default_domain_id: String,
    /// bcrypt cost for new password hashes (Keystone's default is 12).
    pub password_hash_rounds: u32,
    pub max_password_length: usize,
    /// Names of roles no role may imply (Keystone's `[assignment]
    /// prohibited_implied_role`): implying `admin` would hand it out
    /// with every role that implies it.
    pub prohibited_implied_roles: Vec<String>,
    /// Levels of projects allowed below a domain (Keystone's
    /// `max_project_tree_depth`); the strict limit model caps it at 2.
    pub max_project_tree_depth: usize,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            default_domain_id: "default".into(),
            password_hash_rounds: 12,
            max_password_length: 4096,
            prohibited_implied_roles: vec!["admin".into()],
            max_project_tree_depth: 5,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bootstrap {
    /// When set, an empty database is bootstrapped at start-up.
    pub password: Option<String>,
    pub username: String,
    pub project_name: String,
    pub role_name: String,
    pub service_name: String,
    pub region_id: String,
    /// Identity endpoint URLs for the catalog. Unset: derived from
    /// `public_endpoint` or the first listen address.
    pub public_url: Option<String>,
    pub internal_url: Option<String>,
    pub admin_url: Option<String>,
}

impl std::fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrap")
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("username", &self.username)
            .field("project_name", &self.project_name)
            .finish_non_exhaustive()
    }
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap {
            password: None,
            username: "admin".into(),
            project_name: "admin".into(),
            role_name: "admin".into(),
            service_name: "keystone".into(),
            region_id: "RegionOne".into(),
            public_url: None,
            internal_url: None,
            admin_url: None,
        }
    }
}

/// Signed-request verification (`/v3/ec2tokens`, `/v3/s3tokens`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Signature {
    /// Keystone before 30 let anyone call the verification endpoints, and
    /// older s3token middleware relies on it. Default: Keystone 30's rule
    /// (a token with the admin or service role).
    pub allow_anonymous: bool,
    /// Seconds a signed request may be older or newer than now.
    pub max_clock_skew: u64,
    /// Reject v4 (and S3) requests that carry no time. Turning this off is
    /// Keystone's (looser) behaviour.
    pub require_timestamp: bool,
    /// How long past its signing time (or past now) a presigned request's
    /// `Expires`/`X-Amz-Expires` may reach, in seconds (AWS: 7 days).
    pub max_presigned_lifetime: u64,
    /// Signatures this node remembers to refuse replays, at most.
    pub replay_cache_size: usize,
    /// Where used signatures are recorded: `auto` (the database when it
    /// is PostgreSQL or MariaDB/MySQL, so the whole cluster shares it;
    /// this node's memory on SQLite), `database`, `local`, or a Redis URL
    /// (a shared record at a fraction of a database insert's cost).
    pub replay_store: String,
    /// Failed verifications allowed per (access key, client address) and
    /// per client address in `throttle_window` seconds; past them,
    /// failures answer 429. A correctly signed request is never refused.
    pub throttle_failures: u32,
    /// The same for the calling service's own address (a gateway speaks
    /// for many clients, so it gets a far larger budget).
    pub throttle_peer_failures: u32,
    pub throttle_window: u64,
    /// Milliseconds between writes of the keys' `last_used_at` and
    /// `use_count`, gathered in memory in between so verification never
    /// waits on a write.
    pub use_flush_interval_ms: u64,
}

impl Default for Signature {
    fn default() -> Self {
        Signature {
            allow_anonymous: false,
            max_clock_skew: 900,
            require_timestamp: true,
            max_presigned_lifetime: 604_800,
            replay_cache_size: 100_000,
            replay_store: "auto".into(),
            throttle_failures: 10,
            throttle_peer_failures: 1_000,
            throttle_window: 60,
            use_flush_interval_ms: 1000,
        }
    }
}

/// Keystone's `[trust]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Trust {
    /// How long a chain of redelegated trusts may be.
    pub max_redelegation_count: i32,
}

impl Default for Trust {
    fn default() -> Self {
        Trust {
            max_redelegation_count: 3,
        }
    }
}

/// Keystone's `[oauth1]`: how long OS-OAUTH1's tokens live (0: until
/// deleted).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth1 {
    /// Seconds a request token may wait to be authorized and traded.
    pub request_token_duration: u64,
    /// Seconds an access token may authenticate.
    pub access_token_duration: u64,
}

impl Default for OAuth1 {
    fn default() -> Self {
        OAuth1 {
            request_token_duration: 28_800,
            access_token_duration: 86_400,
        }
    }
}

/// The audit trail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Audit {
    /// Which signed-request verifications are kept: `all` (the default),
    /// `failures` (refusals and throttling), or `none`. Key lifecycle
    /// events and logins are always kept. Verifications are tallied per
    /// key, route and outcome, and each tally is one event with a count.
    pub signed_requests: String,
    /// Seconds over which successful verifications of a key are tallied
    /// into one event. Refusals are written every 250 ms.
    pub signed_window: u64,
    /// Seconds events are kept; 0 keeps them forever.
    pub retention: i64,
    /// A file to append every event to as a JSON line (owner-only;
    /// reopened after logrotate moves it). Empty: none.
    pub file: String,
    /// A syslog socket (usually `/dev/log`) to send every event to as a
    /// JSON line, facility authpriv. Empty: none.
    pub syslog: String,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            signed_requests: "all".into(),
            signed_window: 60,
            retention: 90 * 24 * 3600,
            file: String::new(),
            syslog: String::new(),
        }
    }
}

impl Audit {
    pub fn signed_policy(&self) -> crate::audit::SignedPolicy {
        match self.signed_requests.as_str() {
            "failures" => crate::audit::SignedPolicy::Failures,
            "none" => crate::audit::SignedPolicy::None,
            _ => crate::audit::SignedPolicy::All,
        }
    }
}

/// The self-service web console for API keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Console {
    /// Serve the console at all.
    pub enabled: bool,
    /// Where it is served, e.g. `/console`: one or more path segments,
    /// outside the API's own (`/v3`, `/v1`, `/identity`).
    pub path: String,
}

impl Default for Console {
    fn default() -> Self {
        Console {
            enabled: true,
            path: "/console".into(),
        }
    }
}

/// Keystone's `[unified_limit]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnifiedLimit {
    pub enforcement_model: EnforcementModel,
}

/// How limits relate to the project tree (Keystone's enforcement models).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnforcementModel {
    /// Limits are independent of the project tree.
    #[default]
    Flat,
    /// A domain's limit bounds its projects', and projects are at most two
    /// levels deep.
    StrictTwoLevel,
}

impl EnforcementModel {
    /// How many levels of projects the model allows below a domain.
    pub fn max_project_depth(self) -> Option<usize> {
        match self {
            EnforcementModel::Flat => None,
            EnforcementModel::StrictTwoLevel => Some(2),
        }
    }
}

/// The in-process caches of the validation path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cache {
    /// Entries held per cache (token scopes, catalogs, credentials); 0
    /// turns caching off.
    pub entries: usize,
    /// Validated tokens held (per generation, so up to twice this): each
    /// is about 2 KB, far more than the other caches' entries.
    pub token_entries: usize,
    /// Seconds an entry may be served even when nothing was written.
    pub ttl: u64,
    /// Milliseconds between checks for writes by other nodes (PostgreSQL
    /// NOTIFY, the MariaDB/MySQL counter row) or other processes (SQLite):
    /// the bound on stale answers.
    pub listener_poll_ms: u64,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            entries: 10_000,
            token_entries: 2_000,
            ttl: 300,
            listener_poll_ms: 50,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// A `tracing` filter, e.g. `info` or `ironstone=debug`.
    pub filter: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            filter: "info".into(),
            format: "text".into(),
        }
    }
}

pub fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

/// Section names, longest first so `FERNET_TOKENS_` wins over `TOKEN_`.
const SECTIONS: [&str; 17] = [
    "notifications",
    "unified_limit",
    "console",
    "audit",
    "trust",
    "oauth1",
    "fernet_tokens",
    "credential",
    "signature",
    "bootstrap",
    "database",
    "identity",
    "server",
    "cache",
    "token",
    "auth",
    "log",
];

impl Config {
    /// Reads the file (if any), then applies `IRONSTONE_*` overrides from
    /// `env`. Unknown keys in either are errors, so typos do not pass
    /// silently.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, Error> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::Config(format!("cannot read config {}: {e}", path.display()))
                })?;
                text.parse::<toml::Table>().map_err(|e| {
                    Error::Config(format!("invalid TOML in {}: {e}", path.display()))
                })?
            }
            None => toml::Table::new(),
        };
        // Which variable set which key, to name it in errors.
        let mut from_env: Vec<(String, String)> = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("IRONSTONE_") else {
                continue;
            };
            if NON_SETTING_VARS.contains(&name.as_str()) || rest.starts_with("TEST_") {
                continue;
            }
            let lower = rest.to_ascii_lowercase();
            let Some(section) = SECTIONS
                .iter()
                .find(|s| lower.starts_with(&format!("{s}_")))
            else {
                return Err(Error::Config(format!(
                    "unknown setting {name}: expected IRONSTONE_<SECTION>_<KEY> with a section among {SECTIONS:?}"
                )));
            };
            let key = &lower[section.len() + 1..];
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(section_table) = entry else {
                return Err(Error::Config(format!("[{section}] must be a table")));
            };
            from_env.push((format!("`{key}`"), name.clone()));
            let typed = env_value(&value);
            let is_string = typed.is_str();
            section_table.insert(key.to_string(), typed);
            // A typed guess that does not fit the setting (a numeric
            // password, say) is taken as the string it was.
            if !is_string && Config::deserialize(toml::Value::Table(table.clone())).is_err() {
                if let Some(toml::Value::Table(t)) = table.get_mut(*section) {
                    t.insert(key.to_string(), toml::Value::String(value.clone()));
                }
            }
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    let text = e.to_string();
                    let culprit = from_env
                        .iter()
                        .find(|(key, _)| text.contains(key.as_str()))
                        .map(|(_, var)| format!(" (set by the environment variable {var})"))
                        .unwrap_or_default();
                    Error::Config(format!("invalid configuration{culprit}: {text}"))
                })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), Error> {
        if !["basic", "cadf"].contains(&self.notifications.format.as_str()) {
            return Err(Error::Config(
                "notifications.format must be basic or cadf".into(),
            ));
        }
        if self.notifications.topics.is_empty() {
            return Err(Error::Config(
                "notifications.topics needs at least one topic".into(),
            ));
        }
        if self.server.listen.is_empty() {
            return Err(Error::Config(
                "server.listen needs at least one address".into(),
            ));
        }
        if self.fernet_tokens.max_active_keys < 1 {
            return Err(Error::Config(
                "fernet_tokens.max_active_keys must be at least 1".into(),
            ));
        }
        if !(4..=31).contains(&self.identity.password_hash_rounds) {
            return Err(Error::Config(
                "identity.password_hash_rounds must be 4..=31".into(),
            ));
        }
        if self.token.expiration == 0 {
            return Err(Error::Config("token.expiration must be positive".into()));
        }
        for method in &self.auth.methods {
            if !DEFAULT_AUTH_METHODS.contains(&method.as_str()) && method != "totp" {
                return Err(Error::Config(format!("unknown auth method {method:?}")));
            }
        }
        if !matches!(self.log_format(), "text" | "json") {
            return Err(Error::Config(
                "log.format (or server.log_format) must be text or json".into(),
            ));
        }
        let store = self.signature.replay_store.as_str();
        if !matches!(store, "auto" | "database" | "local") && !is_redis_url(store) {
            // The value may hold a Redis password: never echo it.
            return Err(Error::Config(
                "signature.replay_store must be auto, database, local or a Redis URL (redis://[[user]:password@]host[:port][/db] or redis+unix:///path)".into(),
            ));
        }
        let credential = &self.credential;
        for (name, value) in [
            ("credential.max_key_lifetime", credential.max_key_lifetime),
            ("credential.expiry_warning", credential.expiry_warning),
            (
                "credential.disable_unused_after",
                credential.disable_unused_after,
            ),
        ] {
            if value < 0 {
                return Err(Error::Config(format!(
                    "{name} must be 0 (off) or a number of seconds"
                )));
            }
        }
        if !matches!(
            self.audit.signed_requests.as_str(),
            "all" | "failures" | "none"
        ) {
            return Err(Error::Config(
                "audit.signed_requests must be all, failures or none".into(),
            ));
        }
        if self.audit.retention < 0 {
            return Err(Error::Config(
                "audit.retention must be 0 (forever) or a number of seconds".into(),
            ));
        }
        if !(1..=3600).contains(&self.audit.signed_window) {
            return Err(Error::Config(
                "audit.signed_window must be 1 to 3600 seconds".into(),
            ));
        }
        if crate::lifecycle::LeakAction::parse(&credential.action_when_leaked).is_none() {
            return Err(Error::Config(format!(
                "credential.action_when_leaked must be {}",
                crate::lifecycle::LeakAction::NAMES
            )));
        }
        if self.console.enabled {
            check_console_path(&self.console.path)?;
        }
        for proxy in &self.server.trusted_proxies {
            if crate::credential::parse_cidr(proxy).is_none() {
                return Err(Error::Config(format!(
                    "server.trusted_proxies: {proxy:?} is not an address or CIDR"
                )));
            }
        }
        Ok(())
    }

    /// The log format: `server.log_format` when set, else `log.format`.
    pub fn log_format(&self) -> &str {
        self.server
            .log_format
            .as_deref()
            .unwrap_or(self.log.format.as_str())
    }

    pub fn database_url(&self) -> String {
        self.database.url.clone().unwrap_or_else(|| {
            self.server
                .data_dir
                .join("ironstone.sqlite")
                .to_string_lossy()
                .into_owned()
        })
    }

    pub fn fernet_key_repository(&self) -> PathBuf {
        self.fernet_tokens
            .key_repository
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("fernet-keys"))
    }

    pub fn credential_key_repository(&self) -> PathBuf {
        self.credential
            .key_repository
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("credential-keys"))
    }
}

/// A Redis URL the client can use: plain TCP or a Unix socket (this build
/// has no TLS for Redis; a local TLS proxy or a socket covers that).
fn is_redis_url(value: &str) -> bool {
    ["redis://", "redis+unix://", "unix://", "valkey://"]
        .iter()
        .any(|scheme| value.starts_with(scheme))
        && redis::Client::open(value).is_ok()
}

/// `-1`, `0`, `42`: the integers an environment value may spell.
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// An environment value as TOML: numbers, booleans and arrays keep their
/// type, anything else is a string.
fn env_value(raw: &str) -> toml::Value {
    let trimmed = raw.trim();
    let looks_typed =
        trimmed == "true" || trimmed == "false" || trimmed.starts_with('[') || is_integer(trimmed);
    if looks_typed {
        if let Ok(table) = format!("v = {trimmed}").parse::<toml::Table>() {
            if let Some(v) = table.get("v") {
                return v.clone();
            }
        }
    }
    toml::Value::String(raw.to_string())
}

/// The console's path must be a plain absolute path that no API route
/// lives under, or the console would shadow it.
fn check_console_path(path: &str) -> Result<(), Error> {
    let plain = path.len() > 1
        && path.starts_with('/')
        && !path.ends_with('/')
        && path[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    let first = path[1.min(path.len())..].split('/').next().unwrap_or("");
    let taken = ["v3", "v1", "identity", "metrics", "healthz", "readyz"];
    if !plain || taken.contains(&first) {
        return Err(Error::Config(format!(
            "console.path {path:?} must look like /console: path segments of letters, digits, '-', '_' or '.', not under {taken:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn negative_numbers_come_through_the_environment() {
        let config = Config::load(None, env(&[("IRONSTONE_CREDENTIAL_USER_LIMIT", "-1")])).unwrap();
        assert_eq!(config.credential.user_limit, -1);
        assert_eq!(env_value("-"), toml::Value::String("-".into()));
        assert_eq!(env_value("-x1"), toml::Value::String("-x1".into()));
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_file() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.token.expiration, 3600);
        assert_eq!(c.server.listen, vec!["127.0.0.1:5000"]);
        assert!(c.database_url().ends_with("ironstone.sqlite"));
        assert_eq!(c.auth.methods.len(), 7);
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[token]\nexpiration = 100\n[server]\nlisten = [\"0.0.0.0:1\"]\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("IRONSTONE_TOKEN_EXPIRATION", "200"),
                ("IRONSTONE_DATABASE_URL", "postgres://postgres@127.0.0.1/x"),
                ("IRONSTONE_BOOTSTRAP_PASSWORD", "pw"),
                ("IRONSTONE_SERVER_LISTEN", "127.0.0.1:5000,127.0.0.1:8089"),
                ("IRONSTONE_FERNET_TOKENS_MAX_ACTIVE_KEYS", "5"),
                ("IRONSTONE_CONFIG", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.token.expiration, 200);
        assert_eq!(c.database_url(), "postgres://postgres@127.0.0.1/x");
        assert_eq!(c.bootstrap.password.as_deref(), Some("pw"));
        assert_eq!(c.server.listen, vec!["127.0.0.1:5000", "127.0.0.1:8089"]);
        assert_eq!(c.fernet_tokens.max_active_keys, 5);
    }

    #[test]
    fn digits_in_a_password_stay_a_string() {
        let c = Config::load(None, env(&[("IRONSTONE_BOOTSTRAP_PASSWORD", "123456")])).unwrap();
        assert_eq!(c.bootstrap.password.as_deref(), Some("123456"));
    }

    #[test]
    fn typos_are_errors() {
        let err = Config::load(None, env(&[("IRONSTONE_TOKEN_EXPIRATOIN", "1")])).unwrap_err();
        assert!(
            err.to_string().contains("IRONSTONE_TOKEN_EXPIRATOIN"),
            "{err}"
        );
        assert!(Config::load(None, env(&[("IRONSTONE_NOPE_X", "1")])).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[token]\nexpiry = 1\n").unwrap();
        assert!(Config::load(Some(&path), env(&[])).is_err());
    }

    #[test]
    fn debug_output_hides_the_bootstrap_password() {
        let c = Config::load(None, env(&[("IRONSTONE_BOOTSTRAP_PASSWORD", "hunter2")])).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn console_paths_stay_clear_of_the_api() {
        for good in ["/console", "/keys", "/ui/api-keys"] {
            assert!(check_console_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/",
            "console",
            "/console/",
            "/v3",
            "/v1/x",
            "/identity",
            "/a//b",
            "/a b",
            "/metrics",
        ] {
            assert!(check_console_path(bad).is_err(), "{bad}");
        }
    }
}
