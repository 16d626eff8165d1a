//! The import of what Keystone parity II added: policy blobs and their
//! OS-ENDPOINT-POLICY associations, OS-EP-FILTER's endpoint groups and
//! project associations, and domain configurations. Keystone leaves
//! associations dangling when what they name is deleted; those are
//! skipped (and counted), since Ironstone's tables hold only live ones.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use serde_json::Value;

use super::source::Source;
use super::{ImportReport, Outcome};
use crate::credential::CredentialCipher;
use crate::error::Error;
use crate::store::schema::{
    domain_config, domains, endpoint_groups, endpoints, policies, policy_associations,
    project_endpoint_groups, project_endpoints, projects, regions, services,
};
use crate::store::Conn;

#[derive(Debug, QueryableByName)]
pub struct KsPolicy {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub policy_type: String,
    #[diesel(sql_type = Text)]
    pub blob: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
}

const POLICIES: &str = "SELECT id, type AS policy_type, \"blob\", extra FROM policy";

#[derive(Debug, QueryableByName)]
pub struct KsPolicyAssociation {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub policy_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub endpoint_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub service_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub region_id: Option<String>,
}

const POLICY_ASSOCIATIONS: &str =
    "SELECT id, policy_id, endpoint_id, service_id, region_id FROM policy_association";

#[derive(Debug, QueryableByName)]
pub struct KsEndpointGroup {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Text)]
    pub filters: String,
}

const ENDPOINT_GROUPS: &str = "SELECT id, name, description, filters FROM endpoint_group";

#[derive(Debug, QueryableByName)]
pub struct KsLinkPair {
    #[diesel(sql_type = Text)]
    pub a: String,
    #[diesel(sql_type = Text)]
    pub b: String,
}

const PROJECT_ENDPOINTS: &str = "SELECT endpoint_id AS a, project_id AS b FROM project_endpoint";
const PROJECT_ENDPOINT_GROUPS: &str =
    "SELECT endpoint_group_id AS a, project_id AS b FROM project_endpoint_group";

#[derive(Debug, QueryableByName)]
pub struct KsDomainOption {
    #[diesel(sql_type = Text)]
    pub domain_id: String,
    #[diesel(sql_type = Text)]
    pub config_group: String,
    #[diesel(sql_type = Text)]
    pub config_option: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub value: Option<String>,
}

const WHITELISTED_CONFIG: &str = "SELECT domain_id, \"group\" AS config_group, \
     option AS config_option, value FROM whitelisted_config";
const SENSITIVE_CONFIG: &str = "SELECT domain_id, \"group\" AS config_group, \
     option AS config_option, value FROM sensitive_config";

#[derive(Debug, QueryableByName)]
pub struct KsConsumer {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Text)]
    pub secret: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub extra: Option<String>,
}

const CONSUMERS: &str = "SELECT id, description, secret, extra FROM consumer";

#[derive(Debug, QueryableByName)]
pub struct KsAccessToken {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub access_secret: String,
    #[diesel(sql_type = Text)]
    pub authorizing_user_id: String,
    #[diesel(sql_type = Text)]
    pub project_id: String,
    #[diesel(sql_type = Text)]
    pub role_ids: String,
    #[diesel(sql_type = Text)]
    pub consumer_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub expires_at: Option<String>,
}

const ACCESS_TOKENS: &str = "SELECT id, access_secret, authorizing_user_id, project_id, \
     role_ids, consumer_id, expires_at FROM access_token";

/// What parity II's tables held in Keystone.
#[derive(Default)]
pub struct ParityData {
    policies: Vec<KsPolicy>,
    associations: Vec<KsPolicyAssociation>,
    groups: Vec<KsEndpointGroup>,
    project_endpoints: Vec<KsLinkPair>,
    project_groups: Vec<KsLinkPair>,
    whitelisted: Vec<KsDomainOption>,
    sensitive: Vec<KsDomainOption>,
    consumers: Vec<KsConsumer>,
    access_tokens: Vec<KsAccessToken>,
}

impl ParityData {
    pub fn read(src: &mut Source) -> Result<Self, Error> {
        Ok(ParityData {
            policies: super::optional(src, "policy", POLICIES)?,
            associations: super::optional(src, "policy_association", POLICY_ASSOCIATIONS)?,
            groups: super::optional(src, "endpoint_group", ENDPOINT_GROUPS)?,
            project_endpoints: super::optional(src, "project_endpoint", PROJECT_ENDPOINTS)?,
            project_groups: super::optional(
                src,
                "project_endpoint_group",
                PROJECT_ENDPOINT_GROUPS,
            )?,
            whitelisted: super::optional(src, "whitelisted_config", WHITELISTED_CONFIG)?,
            sensitive: super::optional(src, "sensitive_config", SENSITIVE_CONFIG)?,
            consumers: super::optional(src, "consumer", CONSUMERS)?,
            access_tokens: super::optional(src, "access_token", ACCESS_TOKENS)?,
        })
    }
}

/// Keystone's `JsonBlob` columns hold JSON text; a policy's blob is a
/// JSON string inside it.
fn unblob(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::String(s)) => s,
        _ => text.to_string(),
    }
}

macro_rules! exists {
    ($conn:expr, $table:ident, $id:expr) => {
        $table::table.find($id).count().get_result::<i64>($conn)? > 0
    };
}

fn write_policies(
    conn: &mut Conn,
    data: &ParityData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    for p in &data.policies {
        let blob = unblob(&p.blob);
        let extra = Value::Object(super::extra_json(&p.extra)).to_string();
        let existing: Option<(String, String, String)> = policies::table
            .find(&p.id)
            .select((policies::blob, policies::policy_type, policies::extra))
            .first(conn)
            .optional()?;
        let outcome = match existing {
            Some(old) if old == (blob.clone(), p.policy_type.clone(), extra.clone()) => {
                Outcome::Unchanged
            }
            Some(_) => {
                diesel::update(policies::table.find(&p.id))
                    .set((
                        policies::blob.eq(&blob),
                        policies::policy_type.eq(&p.policy_type),
                        policies::extra.eq(&extra),
                    ))
                    .execute(conn)?;
                Outcome::Updated
            }
            None => {
                diesel::insert_into(policies::table)
                    .values((
                        policies::id.eq(&p.id),
                        policies::blob.eq(&blob),
                        policies::policy_type.eq(&p.policy_type),
                        policies::extra.eq(&extra),
                    ))
                    .execute(conn)?;
                Outcome::Created
            }
        };
        report.count("policies", outcome);
    }
    for a in &data.associations {
        let live = exists!(conn, policies, &a.policy_id)
            && match &a.endpoint_id {
                Some(e) => exists!(conn, endpoints, e),
                None => true,
            }
            && match &a.service_id {
                Some(s) => exists!(conn, services, s),
                None => true,
            }
            && match &a.region_id {
                Some(r) => exists!(conn, regions, r),
                None => true,
            };
        if !live {
            report.skip("policy associations naming what Keystone deleted");
            continue;
        }
        let mut same_target = policy_associations::table
            .select((policy_associations::id, policy_associations::policy_id))
            .into_boxed();
        same_target = match &a.endpoint_id {
            Some(e) => same_target.filter(policy_associations::endpoint_id.eq(e.clone())),
            None => same_target.filter(policy_associations::endpoint_id.is_null()),
        };
        same_target = match &a.service_id {
            Some(s) => same_target.filter(policy_associations::service_id.eq(s.clone())),
            None => same_target.filter(policy_associations::service_id.is_null()),
        };
        same_target = match &a.region_id {
            Some(r) => same_target.filter(policy_associations::region_id.eq(r.clone())),
            None => same_target.filter(policy_associations::region_id.is_null()),
        };
        let found: Option<(String, String)> = same_target.first(conn).optional()?;
        let outcome = match found {
            Some((_, policy)) if policy == a.policy_id => Outcome::Unchanged,
            Some((id, _)) => {
                diesel::update(policy_associations::table.find(id))
                    .set(policy_associations::policy_id.eq(&a.policy_id))
                    .execute(conn)?;
                Outcome::Updated
            }
            None => {
                diesel::insert_into(policy_associations::table)
                    .values((
                        policy_associations::id.eq(&a.id),
                        policy_associations::policy_id.eq(&a.policy_id),
                        policy_associations::endpoint_id.eq(&a.endpoint_id),
                        policy_associations::service_id.eq(&a.service_id),
                        policy_associations::region_id.eq(&a.region_id),
                    ))
                    .execute(conn)?;
                Outcome::Created
            }
        };
        report.count("policy associations", outcome);
    }
    Ok(())
}

fn write_endpoint_filters(
    conn: &mut Conn,
    data: &ParityData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    for g in &data.groups {
        let filters = serde_json::from_str::<Value>(&g.filters)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| serde_json::json!({}))
            .to_string();
        let row = (g.name.clone(), g.description.clone(), filters);
        let existing: Option<(String, Option<String>, String)> = endpoint_groups::table
            .find(&g.id)
            .select((
                endpoint_groups::name,
                endpoint_groups::description,
                endpoint_groups::filters,
            ))
            .first(conn)
            .optional()?;
        let values = (
            endpoint_groups::name.eq(row.0.clone()),
            endpoint_groups::description.eq(row.1.clone()),
            endpoint_groups::filters.eq(row.2.clone()),
        );
        let outcome = match existing {
            Some(old) if old == row => Outcome::Unchanged,
            Some(_) => {
                diesel::update(endpoint_groups::table.find(&g.id))
                    .set(values)
                    .execute(conn)?;
                Outcome::Updated
            }
            None => {
                diesel::insert_into(endpoint_groups::table)
                    .values((endpoint_groups::id.eq(&g.id), values))
                    .execute(conn)?;
                Outcome::Created
            }
        };
        report.count("endpoint groups", outcome);
    }
    for link in &data.project_endpoints {
        if !(exists!(conn, endpoints, &link.a) && exists!(conn, projects, &link.b)) {
            report.skip("project endpoints naming what Keystone deleted");
            continue;
        }
        let outcome = insert_link!(
            conn,
            project_endpoints,
            endpoint_id = &link.a,
            project_id = &link.b
        );
        report.count("project endpoints", outcome);
    }
    for link in &data.project_groups {
        if !(exists!(conn, endpoint_groups, &link.a) && exists!(conn, projects, &link.b)) {
            report.skip("project endpoint groups naming what Keystone deleted");
            continue;
        }
        let outcome = insert_link!(
            conn,
            project_endpoint_groups,
            endpoint_group_id = &link.a,
            project_id = &link.b
        );
        report.count("project endpoint groups", outcome);
    }
    Ok(())
}

/// Domain options; Keystone keeps sensitive ones in clear, Ironstone
/// encrypts them with its own credential keys.
fn write_domain_configs(
    conn: &mut Conn,
    ours: &CredentialCipher,
    data: &ParityData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    let options = data
        .whitelisted
        .iter()
        .map(|o| (o, false))
        .chain(data.sensitive.iter().map(|o| (o, true)));
    for (o, sensitive) in options {
        if !exists!(conn, domains, &o.domain_id) {
            report.skip("domain options of domains Keystone deleted");
            continue;
        }
        let value = o.value.clone().unwrap_or_else(|| "null".into());
        let key = (&o.domain_id, &o.config_group, &o.config_option);
        let existing: Option<(Option<String>, Option<String>)> = domain_config::table
            .find(key)
            .select((domain_config::value, domain_config::encrypted_value))
            .first(conn)
            .optional()?;
        let same = match &existing {
            Some((Some(plain), None)) => !sensitive && *plain == value,
            Some((None, Some(encrypted))) => {
                sensitive && ours.decrypt(encrypted)?.expose() == value.as_str()
            }
            _ => false,
        };
        if same {
            report.count("domain options", Outcome::Unchanged);
            continue;
        }
        diesel::delete(domain_config::table.find(key)).execute(conn)?;
        let (plain, encrypted, key_hash) = if sensitive {
            let (encrypted, key_hash) = ours.encrypt(&value)?;
            (None, Some(encrypted), Some(key_hash))
        } else {
            (Some(value), None, None)
        };
        diesel::insert_into(domain_config::table)
            .values((
                domain_config::domain_id.eq(&o.domain_id),
                domain_config::config_group.eq(&o.config_group),
                domain_config::config_option.eq(&o.config_option),
                domain_config::value.eq(plain),
                domain_config::encrypted_value.eq(encrypted),
                domain_config::key_hash.eq(key_hash),
            ))
            .execute(conn)?;
        let outcome = if existing.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        report.count("domain options", outcome);
    }
    Ok(())
}

/// Keystone's `expires_at` text (`2026-12-04T08:47:00.123456Z`) in
/// microseconds; `None` when it cannot be read (then it never expires,
/// as Keystone reads a missing one).
fn keystone_time(text: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

/// Whether the stored secret (encrypted) is `secret`.
fn same_secret(ours: &CredentialCipher, stored: &str, secret: &str) -> Result<bool, Error> {
    Ok(ours.decrypt(stored)?.expose() == secret)
}

/// OS-OAUTH1 consumers and live access tokens (Keystone keeps their
/// secrets in clear; Ironstone encrypts them). Request tokens, which live
/// minutes, stay behind.
fn write_oauth1(
    conn: &mut Conn,
    ours: &CredentialCipher,
    data: &ParityData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    use crate::store::schema::{oauth_access_tokens as at, oauth_consumers as oc, users};
    let now = crate::store::now_micros();
    for c in &data.consumers {
        let extra = super::json_text(&super::extra_json(&c.extra));
        let existing: Option<(Option<String>, String, String)> = oc::table
            .find(&c.id)
            .select((oc::description, oc::extra, oc::encrypted_secret))
            .first(conn)
            .optional()?;
        let outcome = match existing {
            Some((d, e, s))
                if d == c.description && e == extra && same_secret(ours, &s, &c.secret)? =>
            {
                Outcome::Unchanged
            }
            found => {
                let (encrypted, key_hash) = ours.encrypt(&c.secret)?;
                diesel::delete(oc::table.find(&c.id)).execute(conn)?;
                diesel::insert_into(oc::table)
                    .values((
                        oc::id.eq(&c.id),
                        oc::description.eq(&c.description),
                        oc::encrypted_secret.eq(encrypted),
                        oc::key_hash.eq(key_hash),
                        oc::extra.eq(&extra),
                        oc::created_at.eq(now),
                    ))
                    .execute(conn)?;
                if found.is_some() {
                    Outcome::Updated
                } else {
                    Outcome::Created
                }
            }
        };
        report.count("OAuth1 consumers", outcome);
    }
    for t in &data.access_tokens {
        let live = exists!(conn, users, &t.authorizing_user_id)
            && exists!(conn, projects, &t.project_id)
            && exists!(conn, oc, &t.consumer_id);
        if !live {
            report.skip("OAuth1 access tokens of users, projects or consumers Keystone deleted");
            continue;
        }
        let stored: Option<String> = at::table
            .find(&t.id)
            .select(at::encrypted_secret)
            .first(conn)
            .optional()?;
        if let Some(stored) = &stored {
            if same_secret(ours, stored, &t.access_secret)? {
                report.count("OAuth1 access tokens", Outcome::Unchanged);
                continue;
            }
        }
        let (encrypted, key_hash) = ours.encrypt(&t.access_secret)?;
        diesel::delete(at::table.find(&t.id)).execute(conn)?;
        diesel::insert_into(at::table)
            .values((
                at::id.eq(&t.id),
                at::consumer_id.eq(&t.consumer_id),
                at::encrypted_secret.eq(encrypted),
                at::key_hash.eq(key_hash),
                at::authorizing_user_id.eq(&t.authorizing_user_id),
                at::project_id.eq(&t.project_id),
                at::role_ids.eq(&t.role_ids),
                at::expires_at.eq(t.expires_at.as_deref().and_then(keystone_time)),
                at::created_at.eq(now),
            ))
            .execute(conn)?;
        let outcome = if stored.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        report.count("OAuth1 access tokens", outcome);
    }
    Ok(())
}

/// Writes parity II's data, after the catalog, projects and domains.
pub fn write(
    conn: &mut Conn,
    ours: &CredentialCipher,
    data: &ParityData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    write_policies(conn, data, report)?;
    write_endpoint_filters(conn, data, report)?;
    write_domain_configs(conn, ours, data, report)?;
    write_oauth1(conn, ours, data, report)
}
