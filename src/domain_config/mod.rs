//! Domain-specific configuration (`/v3/domains/{id}/config`), with
//! Keystone's whitelisted options (returned) and sensitive ones (the LDAP
//! bind password: stored encrypted under the credential keys, never
//! returned). Nothing in Ironstone reads these options yet: they are kept
//! for the LDAP backend that may come, and so that tools which manage
//! them on Keystone work unchanged.

use std::sync::{Arc, OnceLock};

use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::credential::CredentialCipher;
use crate::error::Error;
use crate::policy::{self, Caller, Input, Target};
use crate::resource;
use crate::store::schema::domain_config;
use crate::store::{Conn, Database};

/// Keystone 30's defaults for every whitelisted option (read from its
/// configuration), which `GET /v3/domains/config/default` answers.
const DEFAULTS: &str = include_str!("defaults.json");

/// The options that are stored but never returned.
const SENSITIVE: &[(&str, &str)] = &[("ldap", "password")];

/// The group Keystone answers from its own configuration, for the
/// default domain only.
const SECURITY_COMPLIANCE: &str = "security_compliance";

fn defaults() -> &'static Map<String, Value> {
    static PARSED: OnceLock<Map<String, Value>> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(DEFAULTS).unwrap_or_default())
}

fn is_whitelisted(group: &str, option: &str) -> bool {
    defaults()
        .get(group)
        .and_then(Value::as_object)
        .is_some_and(|g| g.contains_key(option))
}

fn is_sensitive(group: &str, option: &str) -> bool {
    SENSITIVE.contains(&(group, option))
}

fn invalid(reason: &str) -> Error {
    Error::Forbidden(format!("Invalid domain specific configuration: {reason}."))
}

fn not_found(domain_id: &str, group: Option<&str>, option: Option<&str>) -> Error {
    let what = match (group, option) {
        (Some(g), Some(o)) => format!("option {o} in group {g}"),
        (Some(g), None) => format!("group {g}"),
        _ => "any options".to_string(),
    };
    Error::NotFound(format!(
        "Could not find {what} in domain configuration for domain {domain_id}."
    ))
}

/// Keystone's `_assert_valid_group_and_option`.
fn check_group_and_option(group: Option<&str>, option: Option<&str>) -> Result<(), Error> {
    let Some(group) = group else {
        return Ok(());
    };
    let known_group = defaults().contains_key(group) || SENSITIVE.iter().any(|(g, _)| *g == group);
    if !known_group {
        return Err(invalid(&format!(
            "Group {group} is not supported for domain specific configurations"
        )));
    }
    match option {
        Some(o) if !is_whitelisted(group, o) && !is_sensitive(group, o) => Err(invalid(&format!(
            "Option {o} in group {group} is not supported for domain specific configurations"
        ))),
        _ => Ok(()),
    }
}

/// Keystone's `_assert_valid_config`: groups of options, none empty.
fn check_config(config: &Value) -> Result<Vec<(String, String, Value)>, Error> {
    let groups = match config {
        Value::Object(m) if !m.is_empty() => m,
        Value::Object(_) | Value::Null => return Err(invalid("No options specified")),
        _ => return Err(invalid("The config should be a dictionary of groups")),
    };
    let mut options = Vec::new();
    for (group, value) in groups {
        let opts = match value {
            Value::Object(o) if !o.is_empty() => o,
            _ => {
                return Err(invalid(&format!(
                    "The value of group {group} specified in the config should be a dictionary of options"
                )))
            }
        };
        for (option, v) in opts {
            check_group_and_option(Some(group), Some(option))?;
            options.push((group.clone(), option.clone(), v.clone()));
        }
    }
    Ok(options)
}

/// Python's truth of a value (Keystone tests `not current_group.get(option)`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// One stored option. A sensitive one has no `value` here unless
/// decrypted.
struct Stored {
    group: String,
    option: String,
    value: Option<Value>,
    sensitive: bool,
}

fn load(
    conn: &mut Conn,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<Vec<Stored>, Error> {
    let mut query = domain_config::table
        .filter(domain_config::domain_id.eq(domain_id))
        .order((
            domain_config::config_group.asc(),
            domain_config::config_option.asc(),
        ))
        .select((
            domain_config::config_group,
            domain_config::config_option,
            domain_config::value,
        ))
        .into_boxed();
    if let Some(g) = group {
        query = query.filter(domain_config::config_group.eq(g.to_string()));
        if let Some(o) = option {
            query = query.filter(domain_config::config_option.eq(o.to_string()));
        }
    }
    let rows: Vec<(String, String, Option<String>)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(group, option, value)| Stored {
            sensitive: value.is_none(),
            value: value.and_then(|v| serde_json::from_str(&v).ok()),
            group,
            option,
        })
        .collect())
}

/// The returned shape: `{group: {option: value}}`, or `{option: value}`
/// for one option. Sensitive options are left out.
fn shape(stored: &[Stored], one_option: bool) -> Value {
    let mut config = Map::new();
    for s in stored.iter().filter(|s| !s.sensitive) {
        let value = s.value.clone().unwrap_or(Value::Null);
        if one_option {
            return serde_json::json!({ s.option.clone(): value });
        }
        let group = config
            .entry(s.group.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(g) = group {
            g.insert(s.option.clone(), value);
        }
    }
    Value::Object(config)
}

fn require_domain(conn: &mut Conn, domain_id: &str) -> Result<(), Error> {
    resource::get_domain(conn, domain_id)?
        .map(|_| ())
        .ok_or_else(|| resource::not_found_domain(domain_id))
}

fn delete_options(
    conn: &mut Conn,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<(), Error> {
    let mut query = diesel::delete(domain_config::table)
        .filter(domain_config::domain_id.eq(domain_id))
        .into_boxed();
    if let Some(g) = group {
        query = query.filter(domain_config::config_group.eq(g.to_string()));
        if let Some(o) = option {
            query = query.filter(domain_config::config_option.eq(o.to_string()));
        }
    }
    query.execute(conn)?;
    Ok(())
}

/// Where a group or an option of a domain's configuration is addressed.
#[derive(Debug, Clone, Default)]
pub struct ConfigPath {
    pub group: Option<String>,
    pub option: Option<String>,
}

/// The domain-configuration use cases.
#[derive(Clone)]
pub struct DomainConfigs {
    db: Database,
    cipher: Arc<CredentialCipher>,
    default_domain_id: String,
}

impl DomainConfigs {
    pub fn new(db: Database, cipher: Arc<CredentialCipher>, default_domain_id: String) -> Self {
        DomainConfigs {
            db,
            cipher,
            default_domain_id,
        }
    }

    fn insert(
        cipher: &CredentialCipher,
        conn: &mut Conn,
        domain_id: &str,
        options: Vec<(String, String, Value)>,
    ) -> Result<(), Error> {
        for (group, option, value) in options {
            delete_options(conn, domain_id, Some(&group), Some(&option))?;
            let text = value.to_string();
            let (plain, encrypted, key_hash) = if is_sensitive(&group, &option) {
                let (encrypted, key_hash) = cipher.encrypt(&text)?;
                (None, Some(encrypted), Some(key_hash))
            } else {
                (Some(text), None, None)
            };
            diesel::insert_into(domain_config::table)
                .values((
                    domain_config::domain_id.eq(domain_id),
                    domain_config::config_group.eq(&group),
                    domain_config::config_option.eq(&option),
                    domain_config::value.eq(plain),
                    domain_config::encrypted_value.eq(encrypted),
                    domain_config::key_hash.eq(key_hash),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// A domain's configuration, one group of it, or one option. The
    /// `security_compliance` group is the service's own password rules,
    /// readable by any token for the default domain only.
    pub async fn get(
        &self,
        caller: &Caller,
        domain_id: Input<String>,
        at: ConfigPath,
    ) -> Result<Value, Error> {
        if at.group.as_deref() == Some(SECURITY_COMPLIANCE) {
            policy::enforce(policy::GET_SECURITY_COMPLIANCE, caller, Target::default())?;
            let domain_id = domain_id?;
            if domain_id != self.default_domain_id {
                return Err(invalid("Reading security compliance information for any domain other than the default domain is not allowed or supported"));
            }
            let readable = ["password_regex", "password_regex_description"];
            return match at.option.as_deref() {
                // Ironstone sets no password rules of this kind.
                Some(o) if readable.contains(&o) => Ok(serde_json::json!({ o: null })),
                Some(_) => Err(invalid("Reading security compliance values other than password_regex and password_regex_description is not allowed")),
                None => Ok(serde_json::json!({SECURITY_COMPLIANCE: {
                    "password_regex": null,
                    "password_regex_description": null,
                }})),
            };
        }
        policy::enforce(policy::GET_DOMAIN_CONFIG, caller, Target::default())?;
        let domain_id = domain_id?;
        check_group_and_option(at.group.as_deref(), at.option.as_deref())?;
        self.db
            .read(move |conn| {
                let (group, option) = (at.group.as_deref(), at.option.as_deref());
                let stored = load(conn, &domain_id, group, option)?;
                if stored.iter().all(|s| s.sensitive) {
                    return Err(not_found(&domain_id, group, option));
                }
                Ok(shape(&stored, option.is_some()))
            })
            .await
    }

    /// Replaces a domain's whole configuration; whether there was none
    /// before (Keystone's 201) and what is returned.
    pub async fn create(
        &self,
        caller: &Caller,
        domain_id: Input<String>,
        config: Value,
    ) -> Result<(bool, Value), Error> {
        self.change(caller, domain_id, move |conn, cipher, domain_id| {
            let existed = !load(conn, domain_id, None, None)?.is_empty();
            let options = check_config(&config)?;
            delete_options(conn, domain_id, None, None)?;
            Self::insert(cipher, conn, domain_id, options)?;
            Ok((!existed, shape(&load(conn, domain_id, None, None)?, false)))
        })
        .await
    }

    /// Merges options into a domain's configuration, or into one group or
    /// option that must already be set; answers the whole (returnable)
    /// configuration.
    pub async fn update(
        &self,
        caller: &Caller,
        domain_id: Input<String>,
        at: ConfigPath,
        config: Value,
    ) -> Result<Value, Error> {
        self.change(caller, domain_id, move |conn, cipher, domain_id| {
                let (group, option) = (at.group.as_deref(), at.option.as_deref());
                let config = match (group, option) {
                    (Some(g), Some(_)) => serde_json::json!({ g: config }),
                    _ => config,
                };
                let options = check_config(&config)?;
                check_group_and_option(group, option)?;
                if let Some(g) = group {
                    let groups = config.as_object().map_or(0, Map::len);
                    let in_group = config.get(g).and_then(Value::as_object).map_or(0, Map::len);
                    if groups != 1 || (option.is_some() && in_group != 1) {
                        return Err(invalid(&match option {
                            Some(o) => format!("Trying to update option {o} in group {g}, so that, and only that, option must be specified  in the config"),
                            None => format!("Trying to update group {g}, so that, and only that, group must be specified in the config"),
                        }));
                    }
                    if config.get(g).is_none() {
                        return Err(invalid(&format!(
                            "request to update group {g}, but config provided contains a different group instead"
                        )));
                    }
                    if let Some(o) = option {
                        if config[g].get(o).is_none() {
                            return Err(invalid(&format!(
                                "Trying to update option {o} in group {g}, but config provided contains a different option instead"
                            )));
                        }
                    }
                    if load(conn, domain_id, group, option)?.is_empty() {
                        return Err(not_found(domain_id, group, option));
                    }
                }
                Self::insert(cipher, conn, domain_id, options)?;
                let stored = load(conn, domain_id, None, None)?;
                if stored.iter().all(|s| s.sensitive) {
                    return Err(not_found(domain_id, None, None));
                }
                Ok(shape(&stored, false))
        })
        .await
    }

    /// Deletes a domain's configuration, one group or one option (which
    /// must be set, to a value Python would call true, as in Keystone).
    pub async fn delete(
        &self,
        caller: &Caller,
        domain_id: Input<String>,
        at: ConfigPath,
    ) -> Result<(), Error> {
        self.change(caller, domain_id, move |conn, cipher, domain_id| {
            let (group, option) = (at.group.as_deref(), at.option.as_deref());
            check_group_and_option(group, option)?;
            if let Some(g) = group {
                let current = load(conn, domain_id, Some(g), None)?;
                if current.is_empty() {
                    return Err(not_found(domain_id, group, None));
                }
                if let Some(o) = option {
                    let set = match current.iter().find(|s| s.option == o) {
                        Some(s) if s.sensitive => {
                            let text = Self::sensitive_value(conn, cipher, domain_id, g, o)?;
                            serde_json::from_str(&text).is_ok_and(|v| truthy(&v))
                        }
                        Some(s) => s.value.as_ref().is_some_and(truthy),
                        None => false,
                    };
                    if !set {
                        return Err(not_found(domain_id, group, option));
                    }
                }
            }
            delete_options(conn, domain_id, group, option)
        })
        .await
    }

    /// A change by an admin to an existing domain's configuration.
    async fn change<T: Send + 'static>(
        &self,
        caller: &Caller,
        domain_id: Input<String>,
        f: impl FnOnce(&mut Conn, &CredentialCipher, &str) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        policy::enforce(policy::MANAGE_DOMAIN_CONFIG, caller, Target::default())?;
        let domain_id = domain_id?;
        let cipher = self.cipher.clone();
        self.db
            .write(move |conn| {
                require_domain(conn, &domain_id)?;
                f(conn, &cipher, &domain_id)
            })
            .await
    }

    fn sensitive_value(
        conn: &mut Conn,
        cipher: &CredentialCipher,
        domain_id: &str,
        group: &str,
        option: &str,
    ) -> Result<String, Error> {
        let encrypted: Option<String> = domain_config::table
            .find((domain_id, group, option))
            .select(domain_config::encrypted_value)
            .first(conn)?;
        match encrypted {
            Some(e) => Ok(cipher.decrypt(&e)?.expose().to_string()),
            None => Ok(String::new()),
        }
    }

    /// Keystone's defaults for the whitelisted options: all, one group's,
    /// or one option's.
    pub async fn defaults(&self, caller: &Caller, at: ConfigPath) -> Result<Value, Error> {
        policy::enforce(policy::GET_DOMAIN_CONFIG_DEFAULT, caller, Target::default())?;
        let (group, option) = (at.group.as_deref(), at.option.as_deref());
        check_group_and_option(group, option)?;
        let all = defaults();
        match (group, option) {
            (Some(g), Some(o)) => match all.get(g).and_then(|v| v.get(o)) {
                Some(v) => Ok(serde_json::json!({ o: v })),
                None => Err(invalid(&format!(
                    "Reading the default for option {o} in group {g} is not supported"
                ))),
            },
            (Some(g), None) => {
                Ok(serde_json::json!({ g: all.get(g).cloned().unwrap_or_default() }))
            }
            _ => Ok(Value::Object(all.clone())),
        }
    }
}

/// How many sensitive options are not encrypted under `primary` (a
/// credential key rotation must wait for `credential migrate`).
pub fn count_not_under(conn: &mut Conn, primary: &str) -> Result<i64, Error> {
    Ok(domain_config::table
        .filter(domain_config::key_hash.is_not_null())
        .filter(domain_config::key_hash.ne(primary))
        .count()
        .get_result(conn)?)
}

/// Re-encrypts the sensitive options under the primary credential key.
pub fn migrate(conn: &mut Conn, cipher: &CredentialCipher) -> Result<usize, Error> {
    let primary = cipher.ring().primary_key_hash()?;
    let stale: Vec<(String, String, String, Option<String>)> = domain_config::table
        .filter(domain_config::key_hash.is_not_null())
        .filter(domain_config::key_hash.ne(&primary))
        .select((
            domain_config::domain_id,
            domain_config::config_group,
            domain_config::config_option,
            domain_config::encrypted_value,
        ))
        .load(conn)?;
    for (domain_id, group, option, encrypted) in &stale {
        let Some(encrypted) = encrypted else { continue };
        let plaintext = cipher.decrypt(encrypted)?;
        let (reencrypted, key_hash) = cipher.encrypt(plaintext.expose())?;
        diesel::update(domain_config::table.find((domain_id, group, option)))
            .set((
                domain_config::encrypted_value.eq(reencrypted),
                domain_config::key_hash.eq(key_hash),
            ))
            .execute(conn)?;
    }
    Ok(stale.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_keystones() {
        assert_eq!(defaults()["identity"]["driver"], "sql");
        assert_eq!(defaults()["ldap"]["url"], "ldap://localhost");
        assert!(!is_whitelisted("ldap", "password"));
        assert!(is_sensitive("ldap", "password"));
    }

    #[test]
    fn configs_name_known_groups_and_options() {
        let ok = serde_json::json!({"ldap": {"url": "ldap://x", "password": "p"}});
        assert_eq!(check_config(&ok).map(|o| o.len()).ok(), Some(2));
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"ldap": {}}),
            serde_json::json!({"ldap": "x"}),
            serde_json::json!({"nova": {"x": 1}}),
            serde_json::json!({"ldap": {"nothing": 1}}),
            serde_json::json!(["ldap"]),
        ] {
            assert!(
                matches!(check_config(&bad), Err(Error::Forbidden(_))),
                "{bad}"
            );
        }
    }
}
