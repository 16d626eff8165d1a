//! Keystone's policy blobs (`/v3/policies`) and OS-ENDPOINT-POLICY, the
//! associations that say which blob an endpoint should enforce. The blobs
//! are opaque here: Ironstone stores and serves them, as Keystone does,
//! and enforces its own rules. Admins write; admins and system readers
//! read.

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::store as catalog_store;
use super::{Catalog, Endpoint};
use crate::error::Error;
use crate::policy::{self, Caller, Input};
use crate::store::schema::{policies, policy_associations};
use crate::store::{new_id, Conn};

/// One policy blob with the attributes Keystone keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyBlob {
    pub id: String,
    pub blob: String,
    pub policy_type: String,
    /// Every other attribute the caller gave, as Keystone's `extra`.
    pub extra: Map<String, Value>,
}

/// A policy to create: blob and type, and the other attributes given.
#[derive(Debug, Clone)]
pub struct NewPolicy {
    pub blob: String,
    pub policy_type: String,
    pub extra: Map<String, Value>,
}

/// Changes to a policy: `None` leaves blob or type alone; `extra`
/// replaces the attributes it names.
#[derive(Debug, Clone, Default)]
pub struct PolicyPatch {
    pub blob: Option<String>,
    pub policy_type: Option<String>,
    pub extra: Map<String, Value>,
}

/// What an association names: one endpoint, one service, or one service
/// in a region (and the regions below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyTarget {
    Endpoint(String),
    Service(String),
    ServiceInRegion { service: String, region: String },
}

impl PolicyTarget {
    fn columns(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            PolicyTarget::Endpoint(e) => (Some(e), None, None),
            PolicyTarget::Service(s) => (None, Some(s), None),
            PolicyTarget::ServiceInRegion { service, region } => {
                (None, Some(service), Some(region))
            }
        }
    }
}

/// What an association change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Association {
    Check,
    Create,
    Delete,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = policies)]
struct PolicyRow {
    id: String,
    blob: String,
    policy_type: String,
    extra: String,
}

impl From<PolicyRow> for PolicyBlob {
    fn from(row: PolicyRow) -> Self {
        PolicyBlob {
            id: row.id,
            blob: row.blob,
            policy_type: row.policy_type,
            extra: serde_json::from_str(&row.extra).unwrap_or_default(),
        }
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Could not find policy: {id}."))
}

fn no_association() -> Error {
    Error::NotFound("Could not find policy association.".into())
}

fn get(conn: &mut Conn, id: &str) -> Result<PolicyBlob, Error> {
    policies::table
        .find(id)
        .select(PolicyRow::as_select())
        .first(conn)
        .optional()?
        .map(PolicyBlob::from)
        .ok_or_else(|| not_found(id))
}

fn save(conn: &mut Conn, p: &PolicyBlob) -> Result<(), Error> {
    let extra = Value::Object(p.extra.clone()).to_string();
    diesel::update(policies::table.find(&p.id))
        .set((
            policies::blob.eq(&p.blob),
            policies::policy_type.eq(&p.policy_type),
            policies::extra.eq(extra),
        ))
        .execute(conn)?;
    Ok(())
}

/// The association row naming exactly `target`, with its policy.
fn association_for(
    conn: &mut Conn,
    target: &PolicyTarget,
) -> Result<Option<(String, String)>, Error> {
    let (endpoint, service, region) = target.columns();
    let mut query = policy_associations::table
        .select((policy_associations::id, policy_associations::policy_id))
        .into_boxed();
    query = match endpoint {
        Some(e) => query.filter(policy_associations::endpoint_id.eq(e.to_string())),
        None => query.filter(policy_associations::endpoint_id.is_null()),
    };
    query = match service {
        Some(s) => query.filter(policy_associations::service_id.eq(s.to_string())),
        None => query.filter(policy_associations::service_id.is_null()),
    };
    query = match region {
        Some(r) => query.filter(policy_associations::region_id.eq(r.to_string())),
        None => query.filter(policy_associations::region_id.is_null()),
    };
    Ok(query.first(conn).optional()?)
}

/// Keystone's order: the policy, then each named entity, must exist.
fn check_target(conn: &mut Conn, target: &PolicyTarget) -> Result<(), Error> {
    match target {
        PolicyTarget::Endpoint(e) => {
            catalog_store::get_endpoint(conn, e)?
                .ok_or_else(|| catalog_store::not_found_endpoint(e))?;
        }
        PolicyTarget::Service(s) => {
            catalog_store::get_service(conn, s)?
                .ok_or_else(|| catalog_store::not_found_service(s))?;
        }
        PolicyTarget::ServiceInRegion { service, region } => {
            catalog_store::get_service(conn, service)?
                .ok_or_else(|| catalog_store::not_found_service(service))?;
            catalog_store::get_region(conn, region)?
                .ok_or_else(|| catalog_store::not_found_region(region))?;
        }
    }
    Ok(())
}

fn change_association(
    conn: &mut Conn,
    policy_id: &str,
    target: &PolicyTarget,
    change: Association,
) -> Result<(), Error> {
    get(conn, policy_id)?;
    check_target(conn, target)?;
    let existing = association_for(conn, target)?;
    match (change, existing) {
        (Association::Check, Some((_, p))) if p == policy_id => Ok(()),
        (Association::Check, _) => Err(no_association()),
        // One policy per target: a new association replaces the old.
        (Association::Create, Some((id, _))) => {
            diesel::update(policy_associations::table.find(id))
                .set(policy_associations::policy_id.eq(policy_id))
                .execute(conn)?;
            Ok(())
        }
        (Association::Create, None) => {
            let (endpoint, service, region) = target.columns();
            diesel::insert_into(policy_associations::table)
                .values((
                    policy_associations::id.eq(new_id()),
                    policy_associations::policy_id.eq(policy_id),
                    policy_associations::endpoint_id.eq(endpoint),
                    policy_associations::service_id.eq(service),
                    policy_associations::region_id.eq(region),
                ))
                .execute(conn)?;
            Ok(())
        }
        // Keystone deletes what matches, and answers 204 when nothing does.
        (Association::Delete, Some((id, p))) if p == policy_id => {
            diesel::delete(policy_associations::table.find(id)).execute(conn)?;
            Ok(())
        }
        (Association::Delete, _) => Ok(()),
    }
}

/// The endpoints a policy covers, in Keystone's order: its associations
/// as stored, each expanded (a service-and-region association covers the
/// service's endpoints in that region and every region below it).
fn endpoints_for_policy(conn: &mut Conn, policy_id: &str) -> Result<Vec<Endpoint>, Error> {
    get(conn, policy_id)?;
    let targets: Vec<(Option<String>, Option<String>, Option<String>)> = policy_associations::table
        .filter(policy_associations::policy_id.eq(policy_id))
        .select((
            policy_associations::endpoint_id,
            policy_associations::service_id,
            policy_associations::region_id,
        ))
        .order(policy_associations::id.asc())
        .load(conn)?;
    let endpoints = catalog_store::list_endpoints(conn, &Default::default())?;
    let regions = catalog_store::list_regions(conn, None)?;
    let mut found = Vec::new();
    for target in targets {
        match target {
            (Some(endpoint), _, _) => {
                found.extend(endpoints.iter().filter(|e| e.id == endpoint).cloned());
            }
            (None, Some(service), None) => {
                found.extend(
                    endpoints
                        .iter()
                        .filter(|e| e.service_id == service)
                        .cloned(),
                );
            }
            (None, Some(service), Some(region)) => {
                // The region and every region below it, each once.
                let mut tree = vec![region];
                let mut next = 0;
                while next < tree.len() {
                    let parent = tree[next].clone();
                    for r in &regions {
                        if r.parent_region_id.as_deref() == Some(parent.as_str())
                            && !tree.contains(&r.id)
                        {
                            tree.push(r.id.clone());
                        }
                    }
                    next += 1;
                }
                for region in &tree {
                    found.extend(
                        endpoints
                            .iter()
                            .filter(|e| {
                                e.service_id == service
                                    && e.region_id.as_deref() == Some(region.as_str())
                            })
                            .cloned(),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

/// The policy an endpoint should enforce, by Keystone's precedence: its
/// own association; else its service's in its region, then in each
/// parent region up the tree; else its service's.
fn policy_for_endpoint(conn: &mut Conn, endpoint_id: &str) -> Result<PolicyBlob, Error> {
    let endpoint = catalog_store::get_endpoint(conn, endpoint_id)?
        .ok_or_else(|| catalog_store::not_found_endpoint(endpoint_id))?;
    let found = |conn: &mut Conn, target: PolicyTarget| -> Result<Option<String>, Error> {
        Ok(association_for(conn, &target)?.map(|(_, policy)| policy))
    };
    let mut policy = found(conn, PolicyTarget::Endpoint(endpoint.id.clone()))?;
    let mut region = endpoint.region_id.clone();
    let mut seen = Vec::new();
    while let (None, Some(r)) = (&policy, region.take()) {
        policy = found(
            conn,
            PolicyTarget::ServiceInRegion {
                service: endpoint.service_id.clone(),
                region: r.clone(),
            },
        )?;
        seen.push(r.clone());
        region = catalog_store::get_region(conn, &r)?
            .and_then(|row| row.parent_region_id)
            .filter(|parent| !seen.contains(parent));
    }
    if policy.is_none() {
        policy = found(conn, PolicyTarget::Service(endpoint.service_id.clone()))?;
    }
    match policy {
        Some(id) => get(conn, &id),
        None => Err(Error::NotFound(format!(
            "No policy is associated with endpoint {endpoint_id}."
        ))),
    }
}

impl Catalog {
    pub async fn create_policy(
        &self,
        caller: &Caller,
        new: Input<NewPolicy>,
    ) -> Result<PolicyBlob, Error> {
        self.write(caller, policy::MANAGE_POLICIES, new, |conn, new| {
            let row = PolicyRow {
                id: new_id(),
                blob: new.blob,
                policy_type: new.policy_type,
                extra: Value::Object(new.extra).to_string(),
            };
            diesel::insert_into(policies::table)
                .values(&row)
                .execute(conn)?;
            crate::notify::created("policy", &row.id);
            Ok(row.into())
        })
        .await
    }

    /// Every policy, or those of one `type`.
    pub async fn list_policies(
        &self,
        caller: &Caller,
        policy_type: Option<String>,
    ) -> Result<Vec<PolicyBlob>, Error> {
        self.read(caller, policy::READ_POLICIES, Ok(policy_type), |conn, t| {
            let mut query = policies::table
                .select(PolicyRow::as_select())
                .order(policies::id.asc())
                .into_boxed();
            if let Some(t) = t {
                query = query.filter(policies::policy_type.eq(t));
            }
            Ok(query
                .load(conn)?
                .into_iter()
                .map(PolicyBlob::from)
                .collect())
        })
        .await
    }

    pub async fn get_policy(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<PolicyBlob, Error> {
        self.read(caller, policy::READ_POLICIES, id, |conn, id| get(conn, &id))
            .await
    }

    pub async fn update_policy(
        &self,
        caller: &Caller,
        change: Input<(String, PolicyPatch)>,
    ) -> Result<PolicyBlob, Error> {
        self.write(
            caller,
            policy::MANAGE_POLICIES,
            change,
            |conn, (id, patch)| {
                let mut p = get(conn, &id)?;
                if let Some(blob) = patch.blob {
                    p.blob = blob;
                }
                if let Some(t) = patch.policy_type {
                    p.policy_type = t;
                }
                p.extra.extend(patch.extra);
                save(conn, &p)?;
                crate::notify::updated("policy", &id);
                Ok(p)
            },
        )
        .await
    }

    /// A policy and its associations.
    pub async fn delete_policy(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        self.write(caller, policy::MANAGE_POLICIES, id, |conn, id| {
            get(conn, &id)?;
            diesel::delete(policies::table.find(&id)).execute(conn)?;
            crate::notify::deleted("policy", &id);
            Ok(())
        })
        .await
    }

    /// Checks, creates or deletes the association of a policy with a
    /// target: each a 204, or the 404 of the first thing missing.
    pub async fn policy_association(
        &self,
        caller: &Caller,
        change: Association,
        input: Input<(String, PolicyTarget)>,
    ) -> Result<(), Error> {
        let work = move |conn: &mut Conn, (policy_id, target): (String, PolicyTarget)| {
            change_association(conn, &policy_id, &target, change)
        };
        match change {
            Association::Check => {
                self.read(caller, policy::READ_POLICY_ASSOCIATIONS, input, work)
                    .await
            }
            _ => {
                self.write(caller, policy::MANAGE_POLICY_ASSOCIATIONS, input, work)
                    .await
            }
        }
    }

    pub async fn endpoints_for_policy(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Vec<Endpoint>, Error> {
        self.read(caller, policy::READ_POLICY_ASSOCIATIONS, id, |conn, id| {
            endpoints_for_policy(conn, &id)
        })
        .await
    }

    pub async fn policy_for_endpoint(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<PolicyBlob, Error> {
        self.read(caller, policy::READ_POLICY_ASSOCIATIONS, id, |conn, id| {
            policy_for_endpoint(conn, &id)
        })
        .await
    }
}
