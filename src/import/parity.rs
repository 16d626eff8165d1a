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

const POLICIES: &str = "SELECT id, type AS policy_type, blob, extra FROM policy";

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

/// Writes parity II's data, after the catalog, projects and domains.
pub fn write(
    conn: &mut Conn,
    ours: &CredentialCipher,
    data: &ParityData,
    report: &mut ImportReport,
) -> Result<(), Error> {
    write_policies(conn, data, report)?;
    write_endpoint_filters(conn, data, report)?;
    write_domain_configs(conn, ours, data, report)
}
