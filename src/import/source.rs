//! Reading a Keystone database (SQLite, PostgreSQL, or MariaDB/MySQL, where
//! most Keystones live) as Keystone 30's models lay it out. The source is
//! opened read-only and is never migrated or written.
//!
//! Queries are plain SQL that every backend accepts: booleans and integer
//! ids are cast to BIGINT and datetimes to text, so one set of row types
//! reads any backend. MySQL spells those casts SIGNED and CHAR, and quotes
//! identifiers with double quotes only in ANSI_QUOTES mode, which the
//! session turns on.

use diesel::deserialize::QueryableByName;
use diesel::mysql::{Mysql, MysqlConnection};
use diesel::pg::{Pg, PgConnection};
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{Connection, RunQueryDsl};

use crate::error::Error;
use crate::store::redact_url;

/// A connection to the Keystone database being imported.
pub enum Source {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
    Mysql(MysqlConnection),
}

/// Turns a database URL as Keystone's `[database] connection` spells it
/// (SQLAlchemy: `sqlite:////abs/path`, `postgresql+psycopg2://…`) or as a
/// plain URL or path into the backend and its target.
pub fn parse_source_url(url: &str) -> Result<SourceUrl, Error> {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme, rest),
        None => {
            if let Some(path) = url.strip_prefix("sqlite:") {
                return Ok(SourceUrl::Sqlite(path.to_string()));
            }
            return Ok(SourceUrl::Sqlite(url.to_string()));
        }
    };
    // SQLAlchemy names a driver after '+': postgresql+psycopg2.
    let dialect = scheme.split('+').next().unwrap_or(scheme);
    match dialect {
        "sqlite" => {
            // sqlite:///relative and sqlite:////absolute; the third slash
            // separates the (empty) host from the path.
            let path = rest.strip_prefix('/').unwrap_or(rest);
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(Error::Config(
                    "an in-memory SQLite database cannot be imported: name the file".into(),
                ));
            }
            Ok(SourceUrl::Sqlite(path.to_string()))
        }
        "postgres" | "postgresql" => Ok(SourceUrl::Postgres(format!("postgresql://{rest}"))),
        // SQLAlchemy's options (`?charset=utf8`) are PyMySQL's; the
        // client library takes none of them.
        "mysql" | "mariadb" => Ok(SourceUrl::Mysql(format!(
            "mysql://{}",
            rest.split('?').next().unwrap_or(rest)
        ))),
        other => Err(Error::Config(format!(
            "unsupported database URL scheme {other:?} in {}: use sqlite:///PATH, a path, postgresql:// or mysql://",
            redact_url(url)
        ))),
    }
}

/// The backend and target of a source database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceUrl {
    Sqlite(String),
    Postgres(String),
    Mysql(String),
}

impl Source {
    pub fn open(url: &str) -> Result<Source, Error> {
        let cannot = |e: &dyn std::fmt::Display| {
            Error::Config(format!(
                "cannot open the Keystone database {}: {e}",
                redact_url(url)
            ))
        };
        match parse_source_url(url)? {
            SourceUrl::Sqlite(path) => {
                if !std::path::Path::new(&path).is_file() {
                    return Err(cannot(&"no such file"));
                }
                // Read-only through SQLite's URI form, so that opening never
                // creates, journals or changes Keystone's file.
                let uri = format!("file:{}?mode=ro", percent_encode_path(&path));
                SqliteConnection::establish(&uri)
                    .map(Source::Sqlite)
                    .map_err(|e| cannot(&e))
            }
            SourceUrl::Postgres(target) => {
                let mut conn = PgConnection::establish(&target).map_err(|e| cannot(&e))?;
                diesel::sql_query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                    .execute(&mut conn)
                    .map_err(|e| cannot(&e))?;
                Ok(Source::Postgres(conn))
            }
            SourceUrl::Mysql(target) => {
                let mut conn = MysqlConnection::establish(&target).map_err(|e| cannot(&e))?;
                for setting in [
                    "SET SESSION TRANSACTION READ ONLY",
                    "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')",
                ] {
                    diesel::sql_query(setting)
                        .execute(&mut conn)
                        .map_err(|e| cannot(&e))?;
                }
                Ok(Source::Mysql(conn))
            }
        }
    }

    /// Runs a query that both backends understand.
    pub fn load<T>(&mut self, sql: &str) -> Result<Vec<T>, Error>
    where
        T: QueryableByName<Sqlite> + QueryableByName<Pg> + QueryableByName<Mysql> + 'static,
    {
        let result = match self {
            Source::Sqlite(c) => diesel::sql_query(sql).load::<T>(c),
            Source::Postgres(c) => diesel::sql_query(sql).load::<T>(c),
            Source::Mysql(c) => diesel::sql_query(mysql_dialect(sql)).load::<T>(c),
        };
        result.map_err(|e| {
            Error::Config(format!(
                "reading the Keystone database failed ({e}) in: {sql}"
            ))
        })
    }

    /// True when the table exists (tables differ between Keystone releases).
    pub fn has_table(&mut self, name: &str) -> Result<bool, Error> {
        let sql = match self {
            Source::Sqlite(_) => format!(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{}'",
                name.replace('\'', "''")
            ),
            Source::Postgres(_) => format!(
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{}'",
                name.replace('\'', "''")
            ),
            Source::Mysql(_) => format!(
                "SELECT CAST(COUNT(*) AS SIGNED) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{}'",
                name.replace('\'', "''")
            ),
        };
        let rows: Vec<Count> = self.load(&sql)?;
        Ok(rows.first().is_some_and(|c| c.n > 0))
    }

    /// Checks that this is a Keystone database at all.
    pub fn check_is_keystone(&mut self) -> Result<(), Error> {
        for table in ["project", "user", "local_user", "role", "assignment"] {
            if !self.has_table(table)? {
                return Err(Error::Config(format!(
                    "this is not a Keystone database: it has no {table:?} table (run keystone-manage db_sync on it first?)"
                )));
            }
        }
        Ok(())
    }
}

/// The shared queries as MySQL spells their casts.
fn mysql_dialect(sql: &str) -> String {
    sql.replace(" AS BIGINT)", " AS SIGNED)")
        .replace(" AS INTEGER)", " AS SIGNED)")
        .replace(" AS TEXT)", " AS CHAR)")
}

fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'%' | b'?' | b'#' => out.push_str(&format!("%{b:02X}")),
            _ => out.push(b as char),
        }
    }
    out
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Keystone's `project` rows: domains (`is_domain`) and projects alike.
#[derive(Debug, QueryableByName)]
pub struct KsProject {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub enabled: Option<i64>,
    #[diesel(sql_type = Text)]
    pub domain_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub parent_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub is_domain: i64,
}

pub const PROJECTS: &str =
    "SELECT id, name, extra, description, CAST(CAST(enabled AS INTEGER) AS BIGINT) AS enabled, \
     domain_id, parent_id, CAST(CAST(is_domain AS INTEGER) AS BIGINT) AS is_domain FROM project";

/// A pair of text columns (tags, memberships, implied roles, options).
#[derive(Debug, QueryableByName)]
pub struct KsPair {
    #[diesel(sql_type = Text)]
    pub a: String,
    #[diesel(sql_type = Text)]
    pub b: String,
}

pub const PROJECT_TAGS: &str = "SELECT project_id AS a, name AS b FROM project_tag";
pub const MEMBERSHIPS: &str = "SELECT user_id AS a, group_id AS b FROM user_group_membership";
pub const IMPLIED_ROLES: &str = "SELECT prior_role_id AS a, implied_role_id AS b FROM implied_role";

/// An option row (`user_option`, `role_option`): owner, option id, value.
#[derive(Debug, QueryableByName)]
pub struct KsOption {
    #[diesel(sql_type = Text)]
    pub owner_id: String,
    #[diesel(sql_type = Text)]
    pub option_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub option_value: Option<String>,
}

pub const USER_OPTIONS: &str =
    "SELECT user_id AS owner_id, option_id, option_value FROM user_option";
pub const ROLE_OPTIONS: &str =
    "SELECT role_id AS owner_id, option_id, option_value FROM role_option";

/// A user with the name from `local_user` or `nonlocal_user`.
#[derive(Debug, QueryableByName)]
pub struct KsUser {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub enabled: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub default_project_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub created_at: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_active_at: Option<String>,
    #[diesel(sql_type = Text)]
    pub domain_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub local_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub nonlocal_name: Option<String>,
}

pub const USERS: &str = "SELECT u.id, u.extra, CAST(CAST(u.enabled AS INTEGER) AS BIGINT) AS enabled, u.default_project_id, \
     CAST(u.created_at AS TEXT) AS created_at, CAST(u.last_active_at AS TEXT) AS last_active_at, \
     u.domain_id, l.name AS local_name, n.name AS nonlocal_name \
     FROM \"user\" u LEFT JOIN local_user l ON l.user_id = u.id LEFT JOIN nonlocal_user n ON n.user_id = u.id";

/// A password of a local user (Keystone keeps the history; the newest is
/// current).
#[derive(Debug, QueryableByName)]
pub struct KsPassword {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub password_hash: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub self_service: i64,
    #[diesel(sql_type = BigInt)]
    pub created_at_int: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub expires_at_int: Option<i64>,
}

pub const PASSWORDS: &str = "SELECT CAST(p.id AS BIGINT) AS id, l.user_id, p.password_hash, \
     CAST(CAST(p.self_service AS INTEGER) AS BIGINT) AS self_service, CAST(p.created_at_int AS BIGINT) AS created_at_int, \
     CAST(p.expires_at_int AS BIGINT) AS expires_at_int \
     FROM password p JOIN local_user l ON l.id = p.local_user_id";

#[derive(Debug, QueryableByName)]
pub struct KsGroup {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub domain_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
}

pub const GROUPS: &str = "SELECT id, domain_id, name, description, extra FROM \"group\"";

#[derive(Debug, QueryableByName)]
pub struct KsRole {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
    #[diesel(sql_type = Text)]
    pub domain_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
}

pub const ROLES: &str = "SELECT id, name, extra, domain_id, description FROM role";

/// `assignment` and `system_assignment` rows.
#[derive(Debug, QueryableByName)]
pub struct KsAssignment {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub actor_id: String,
    #[diesel(sql_type = Text)]
    pub target_id: String,
    #[diesel(sql_type = Text)]
    pub role_id: String,
    #[diesel(sql_type = BigInt)]
    pub inherited: i64,
}

pub const ASSIGNMENTS: &str = "SELECT type AS kind, actor_id, target_id, role_id, \
     CAST(CAST(inherited AS INTEGER) AS BIGINT) AS inherited FROM \"assignment\"";
pub const SYSTEM_ASSIGNMENTS: &str = "SELECT type AS kind, actor_id, target_id, role_id, \
     CAST(CAST(inherited AS INTEGER) AS BIGINT) AS inherited FROM system_assignment";

#[derive(Debug, QueryableByName)]
pub struct KsRegion {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub parent_region_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
}

pub const REGIONS: &str = "SELECT id, description, parent_region_id, extra FROM region";

#[derive(Debug, QueryableByName)]
pub struct KsRegisteredLimit {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub service_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub region_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub resource_name: String,
    #[diesel(sql_type = Integer)]
    pub default_limit: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
}

/// In Keystone's order (its `internal_id`), which lists keep.
pub const REGISTERED_LIMITS: &str = "SELECT id, service_id, region_id, resource_name, \
     CAST(default_limit AS INTEGER) AS default_limit, description FROM registered_limit ORDER BY internal_id";

#[derive(Debug, QueryableByName)]
pub struct KsLimit {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub project_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub domain_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub registered_limit_id: String,
    #[diesel(sql_type = Integer)]
    pub resource_limit: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
}

pub const LIMITS: &str = "SELECT id, project_id, domain_id, registered_limit_id, \
     CAST(resource_limit AS INTEGER) AS resource_limit, description FROM \"limit\" ORDER BY internal_id";

#[derive(Debug, QueryableByName)]
pub struct KsTrust {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub trustor_user_id: String,
    #[diesel(sql_type = Text)]
    pub trustee_user_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub project_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub impersonation: i64,
    /// Microseconds since the epoch (Keystone's `expires_at_int`).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub expires_at: Option<i64>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub remaining_uses: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub redelegated_trust_id: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub redelegation_count: Option<i32>,
}

/// Live trusts only: a deleted one has no token left to honour.
pub const TRUSTS: &str = "SELECT id, trustor_user_id, trustee_user_id, project_id, \
     CAST(CAST(impersonation AS INTEGER) AS BIGINT) AS impersonation, \
     CAST(expires_at_int AS BIGINT) AS expires_at, CAST(remaining_uses AS INTEGER) AS remaining_uses, \
     redelegated_trust_id, CAST(redelegation_count AS INTEGER) AS redelegation_count \
     FROM trust WHERE deleted_at IS NULL";

pub const TRUST_ROLES: &str = "SELECT trust_id AS a, role_id AS b FROM trust_role";

#[derive(Debug, QueryableByName)]
pub struct KsService {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub service_type: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub enabled: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
}

pub const SERVICES: &str =
    "SELECT id, type AS service_type, CAST(CAST(enabled AS INTEGER) AS BIGINT) AS enabled, extra FROM service";

#[derive(Debug, QueryableByName)]
pub struct KsEndpoint {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub interface: String,
    #[diesel(sql_type = Text)]
    pub service_id: String,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub enabled: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub region_id: Option<String>,
}

pub const ENDPOINTS: &str = "SELECT id, interface, service_id, url, extra, \
     CAST(CAST(enabled AS INTEGER) AS BIGINT) AS enabled, region_id FROM endpoint";

#[derive(Debug, QueryableByName)]
pub struct KsCredential {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub project_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub credential_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
    #[diesel(sql_type = Text)]
    pub encrypted_blob: String,
}

pub const CREDENTIALS: &str = "SELECT id, user_id, project_id, type AS credential_type, extra, \
     encrypted_blob FROM credential";

#[derive(Debug, QueryableByName)]
pub struct KsAppCred {
    #[diesel(sql_type = BigInt)]
    pub internal_id: i64,
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub secret_hash: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub project_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub expires_at: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub system: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub unrestricted: Option<i64>,
}

pub const APP_CREDS: &str =
    "SELECT CAST(internal_id AS BIGINT) AS internal_id, id, name, secret_hash, \
     description, user_id, project_id, CAST(expires_at AS BIGINT) AS expires_at, system, \
     CAST(CAST(unrestricted AS INTEGER) AS BIGINT) AS unrestricted FROM application_credential";

/// A link from an integer id to a text value.
#[derive(Debug, QueryableByName)]
pub struct KsLink {
    #[diesel(sql_type = BigInt)]
    pub owner: i64,
    #[diesel(sql_type = Text)]
    pub value: String,
}

pub const APP_CRED_ROLES: &str = "SELECT CAST(application_credential_id AS BIGINT) AS owner, \
     role_id AS value FROM application_credential_role";
pub const APP_CRED_RULES: &str = "SELECT CAST(r.application_credential_id AS BIGINT) AS owner, \
     a.external_id AS value FROM application_credential_access_rule r \
     JOIN access_rule a ON a.id = r.access_rule_id";

#[derive(Debug, QueryableByName)]
pub struct KsAccessRule {
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub service: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub path: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub method: Option<String>,
}

pub const ACCESS_RULES: &str =
    "SELECT external_id, user_id, service, path, method FROM access_rule \
     WHERE external_id IS NOT NULL";

#[derive(Debug, QueryableByName)]
pub struct KsRevocation {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub domain_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub project_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub role_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub trust_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub consumer_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub access_token_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub issued_before: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub expires_at: Option<String>,
    #[diesel(sql_type = Text)]
    pub revoked_at: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub audit_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub audit_chain_id: Option<String>,
}

pub const REVOCATIONS: &str =
    "SELECT CAST(id AS BIGINT) AS id, domain_id, project_id, user_id, role_id, \
     trust_id, consumer_id, access_token_id, CAST(issued_before AS TEXT) AS issued_before, \
     CAST(expires_at AS TEXT) AS expires_at, CAST(revoked_at AS TEXT) AS revoked_at, audit_id, \
     audit_chain_id FROM revocation_event";

/// Parses a Keystone DATETIME or DATE as SQLite and PostgreSQL print it
/// (`2026-12-01 18:43:29.123456`, `2026-12-01T18:43:29`, `2026-12-01`),
/// naive UTC as Keystone stores it, into Unix microseconds.
pub fn parse_datetime_micros(text: &str) -> Option<i64> {
    let text = text.trim();
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls_are_understood() {
        assert_eq!(
            parse_source_url("sqlite:////var/lib/keystone/keystone.db").unwrap(),
            SourceUrl::Sqlite("/var/lib/keystone/keystone.db".into())
        );
        assert_eq!(
            parse_source_url("sqlite:///keystone.db").unwrap(),
            SourceUrl::Sqlite("keystone.db".into())
        );
        assert_eq!(
            parse_source_url("/tmp/k.db").unwrap(),
            SourceUrl::Sqlite("/tmp/k.db".into())
        );
        assert_eq!(
            parse_source_url("postgresql+psycopg2://keystone:pw@db:5432/keystone").unwrap(),
            SourceUrl::Postgres("postgresql://keystone:pw@db:5432/keystone".into())
        );
        assert_eq!(
            parse_source_url("postgres://u@h/k").unwrap(),
            SourceUrl::Postgres("postgresql://u@h/k".into())
        );
        assert_eq!(
            parse_source_url("mysql+pymysql://keystone:pw@db:3306/keystone?charset=utf8").unwrap(),
            SourceUrl::Mysql("mysql://keystone:pw@db:3306/keystone".into())
        );
        assert_eq!(
            mysql_dialect("SELECT CAST(a AS BIGINT) AS a, CAST(b AS TEXT) AS b FROM \"limit\""),
            "SELECT CAST(a AS SIGNED) AS a, CAST(b AS CHAR) AS b FROM \"limit\""
        );
        assert!(parse_source_url("sqlite://").is_err());
        assert!(parse_source_url("oracle://x").is_err());
    }

    #[test]
    fn keystone_datetimes_parse_as_utc() {
        assert_eq!(
            parse_datetime_micros("1970-01-01 00:00:01.5"),
            Some(1_500_000)
        );
        assert_eq!(parse_datetime_micros("1970-01-02"), Some(86_400_000_000));
        assert_eq!(
            parse_datetime_micros("2026-12-01 18:43:29"),
            parse_datetime_micros("2026-12-01T18:43:29.000000")
        );
        assert_eq!(parse_datetime_micros("yesterday"), None);
    }

    #[test]
    fn sqlite_uri_paths_are_escaped() {
        assert_eq!(percent_encode_path("/a?b#c%d"), "/a%3Fb%23c%25d");
    }
}
