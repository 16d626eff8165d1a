//! Unified limits (Keystone's `unified_limit_api`): default limits
//! registered per service, region and resource, and overrides per project
//! or domain, checked against the configured enforcement model. What
//! `oslo.limit` reads to enforce quotas in Nova, Glance and the others.

pub mod store;

use crate::catalog;
use crate::error::Error;
use crate::policy::{self, Caller, Input, Target};
use crate::resource;
use crate::store::{Conn, Database};

pub use store::LimitOwner;

#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredLimit {
    pub id: String,
    pub service_id: String,
    pub region_id: Option<String>,
    pub resource_name: String,
    pub default_limit: i32,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub id: String,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub service_id: String,
    pub region_id: Option<String>,
    pub resource_name: String,
    pub resource_limit: i32,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewRegisteredLimit {
    pub service_id: String,
    pub region_id: Option<String>,
    pub resource_name: String,
    pub default_limit: i32,
    pub description: Option<String>,
}

/// Changes to a registered limit; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct RegisteredLimitPatch {
    pub service_id: Option<String>,
    pub region_id: Option<Option<String>>,
    pub resource_name: Option<String>,
    pub default_limit: Option<i32>,
    pub description: Option<Option<String>>,
}

/// A limit to create: exactly one of `project_id` and `domain_id`.
#[derive(Debug, Clone)]
pub struct NewLimit {
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub service_id: String,
    pub region_id: Option<String>,
    pub resource_name: String,
    pub resource_limit: i32,
    pub description: Option<String>,
}

/// Changes to a limit (its value and description only).
#[derive(Debug, Clone, Default)]
pub struct LimitPatch {
    pub resource_limit: Option<i32>,
    pub description: Option<Option<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct RegisteredLimitFilter {
    pub service_id: Option<String>,
    pub region_id: Option<String>,
    pub resource_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LimitFilter {
    pub id: Option<String>,
    pub service_id: Option<String>,
    pub region_id: Option<String>,
    pub resource_name: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
}

pub use crate::config::EnforcementModel as Model;

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::Flat => "flat",
            Model::StrictTwoLevel => "strict_two_level",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Model::Flat => {
                "Limit enforcement and validation does not take project hierarchy into consideration."
            }
            Model::StrictTwoLevel => {
                "This model requires project hierarchy never exceeds a depth of two"
            }
        }
    }

    /// Keystone's `check_limit`: under the strict model a project's limit
    /// may not exceed its parent's (a limit of the domain sent in the same
    /// request, or the parent's stored one, or the registered default),
    /// and a domain's may not be below any of its projects'.
    fn check(self, conn: &mut Conn, limits: &[NewLimit]) -> Result<(), Error> {
        if self == Model::Flat {
            return Ok(());
        }
        for limit in limits {
            check_strict(conn, limit, limits).map_err(|_| {
                let (level, id) = match (&limit.project_id, &limit.domain_id) {
                    (Some(p), _) => ("project_id", p.as_str()),
                    (None, d) => ("domain_id", d.as_deref().unwrap_or("None")),
                };
                Error::Forbidden(format!(
                    "Invalid resource limit: The resource limit ({level}: {id}, resource_name: {}, resource_limit: {}, service_id: {}, region_id: {}) doesn't satisfy current hierarchy model..",
                    limit.resource_name,
                    limit.resource_limit,
                    limit.service_id,
                    limit.region_id.as_deref().unwrap_or("None"),
                ))
            })??;
        }
        Ok(())
    }
}

/// One limit under the strict model. The outer error is a violation, the
/// inner one a failure to read.
fn check_strict(
    conn: &mut Conn,
    limit: &NewLimit,
    batch: &[NewLimit],
) -> Result<Result<(), Error>, ()> {
    let same_resource = |other: &NewLimit| {
        other.service_id == limit.service_id
            && other.region_id == limit.region_id
            && other.resource_name == limit.resource_name
    };
    let value = |conn: &mut Conn, owner: LimitOwner<'_>| {
        store::limit_value(
            conn,
            owner,
            &limit.service_id,
            limit.region_id.as_deref(),
            &limit.resource_name,
        )
    };
    if let Some(project_id) = &limit.project_id {
        let project = match resource::get_project(conn, project_id) {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(Ok(())),
            Err(e) => return Ok(Err(e)),
        };
        // Keystone's parent of a top-level project is its domain.
        let parent = project
            .parent_id
            .clone()
            .unwrap_or(project.domain_id.clone());
        if let Some(in_batch) = batch
            .iter()
            .find(|l| l.domain_id.as_deref() == Some(parent.as_str()) && same_resource(l))
        {
            return if limit.resource_limit > in_batch.resource_limit {
                Err(())
            } else {
                Ok(Ok(()))
            };
        }
        // As Keystone: the parent's limit is looked up as a domain limit,
        // falling back to the registered default.
        let parent_value = match value(conn, LimitOwner::Domain(&parent)) {
            Ok(Some(v)) => Some(v),
            Ok(None) => match store::find_registered(
                conn,
                &limit.service_id,
                limit.region_id.as_deref(),
                &limit.resource_name,
            ) {
                Ok(r) => r.map(|r| r.default_limit),
                Err(e) => return Ok(Err(e)),
            },
            Err(e) => return Ok(Err(e)),
        };
        if parent_value.is_some_and(|p| p != 0 && limit.resource_limit > p) {
            return Err(());
        }
        return Ok(Ok(()));
    }
    let Some(domain_id) = &limit.domain_id else {
        return Ok(Ok(()));
    };
    let projects = match resource::list_projects(
        conn,
        &resource::ProjectFilter {
            domain_id: Some(domain_id.clone()),
            ..Default::default()
        },
    ) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    for project in projects {
        match value(conn, LimitOwner::Project(&project.id)) {
            Ok(Some(v)) if v != 0 && limit.resource_limit < v => return Err(()),
            Ok(_) => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(()))
}

/// Keystone's `_assert_resource_exist`: what a limit names must exist (a
/// 400 naming the field). A `project_id` that names a domain makes a
/// domain limit, as Keystone's projects acting as domains do.
fn assert_exists(
    conn: &mut Conn,
    target: &str,
    service_id: Option<&str>,
    region_id: Option<&str>,
) -> Result<(), Error> {
    if let Some(s) = service_id {
        if catalog::store::get_service(conn, s)?.is_none() {
            return Err(Error::expecting("service_id", target));
        }
    }
    if let Some(r) = region_id {
        if catalog::store::get_region(conn, r)?.is_none() {
            return Err(Error::expecting("region_id", target));
        }
    }
    Ok(())
}

fn resolve_owner(conn: &mut Conn, limit: &mut NewLimit) -> Result<(), Error> {
    if let Some(p) = limit.project_id.clone() {
        if resource::get_project(conn, &p)?.is_none() {
            if resource::get_domain(conn, &p)?.is_none() {
                return Err(Error::expecting("project_id", "limit"));
            }
            limit.domain_id = limit.project_id.take();
        }
    }
    if let Some(d) = &limit.domain_id {
        if resource::get_domain(conn, d)?.is_none() {
            return Err(Error::expecting("domain_id", "limit"));
        }
    }
    Ok(())
}

/// The unified-limit use cases.
#[derive(Clone)]
pub struct Limits {
    db: Database,
    model: Model,
}

impl Limits {
    pub fn new(db: Database, model: Model) -> Self {
        Limits { db, model }
    }

    pub fn model(&self, _caller: &Caller) -> Model {
        self.model
    }

    pub async fn create_registered(
        &self,
        caller: &Caller,
        new: Input<Vec<NewRegisteredLimit>>,
    ) -> Result<Vec<RegisteredLimit>, Error> {
        policy::enforce(policy::CREATE_REGISTERED_LIMITS, caller, Target::default())?;
        let new = new?;
        self.db
            .write(move |conn| {
                for r in &new {
                    assert_exists(
                        conn,
                        "registered_limit",
                        Some(&r.service_id),
                        r.region_id.as_deref(),
                    )?;
                }
                new.into_iter()
                    .map(|r| store::create_registered(conn, r))
                    .collect()
            })
            .await
    }

    pub async fn list_registered(
        &self,
        _caller: &Caller,
        filter: RegisteredLimitFilter,
    ) -> Result<Vec<RegisteredLimit>, Error> {
        self.db
            .read(move |conn| store::list_registered(conn, &filter))
            .await
    }

    pub async fn get_registered(
        &self,
        _caller: &Caller,
        id: Input<String>,
    ) -> Result<RegisteredLimit, Error> {
        self.db
            .load(id, store::get_registered, store::not_found_registered)
            .await
    }

    pub async fn update_registered(
        &self,
        caller: &Caller,
        id: Input<String>,
        patch: Input<RegisteredLimitPatch>,
    ) -> Result<RegisteredLimit, Error> {
        policy::enforce(policy::UPDATE_REGISTERED_LIMIT, caller, Target::default())?;
        let patch = patch?;
        let id = id?;
        self.db
            .write(move |conn| {
                let region = patch.region_id.clone().flatten();
                assert_exists(
                    conn,
                    "registered_limit",
                    patch.service_id.as_deref(),
                    region.as_deref(),
                )?;
                store::update_registered(conn, &id, patch)
            })
            .await
    }

    pub async fn delete_registered(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        policy::enforce(policy::DELETE_REGISTERED_LIMIT, caller, Target::default())?;
        let id = id?;
        self.db
            .write(move |conn| store::delete_registered(conn, &id))
            .await
    }

    pub async fn create(
        &self,
        caller: &Caller,
        new: Input<Vec<NewLimit>>,
    ) -> Result<Vec<Limit>, Error> {
        policy::enforce(policy::CREATE_LIMITS, caller, Target::default())?;
        let mut new = new?;
        let model = self.model;
        self.db
            .write(move |conn| {
                for l in &mut new {
                    assert_exists(conn, "limit", Some(&l.service_id), l.region_id.as_deref())?;
                    resolve_owner(conn, l)?;
                }
                model.check(conn, &new)?;
                new.into_iter()
                    .map(|l| store::create_limit(conn, l))
                    .collect()
            })
            .await
    }

    /// Everything for admins, system-scoped and service callers; a
    /// domain-scoped token sees its domain's limit and its projects'; a
    /// project-scoped token its project's; an unscoped one nothing
    /// (Keystone's list, whose rule lets any token in).
    pub async fn list(
        &self,
        caller: &Caller,
        mut filter: LimitFilter,
    ) -> Result<Vec<Limit>, Error> {
        let superuser =
            caller.is_system_scoped() || caller.has_role("admin") || caller.has_role("service");
        if superuser {
            return self
                .db
                .read(move |conn| store::list_limits(conn, &filter))
                .await;
        }
        if let Some(domain_id) = caller.domain_id().map(str::to_string) {
            return self
                .db
                .read(move |conn| {
                    let projects: Vec<String> = resource::list_projects(
                        conn,
                        &resource::ProjectFilter {
                            domain_id: Some(domain_id.clone()),
                            ..Default::default()
                        },
                    )?
                    .into_iter()
                    .map(|p| p.id)
                    .collect();
                    let all = store::list_limits(conn, &filter)?;
                    Ok(all
                        .into_iter()
                        .filter(|l| match (&l.project_id, &l.domain_id) {
                            (Some(p), _) => projects.contains(p),
                            (None, Some(d)) => d == &domain_id,
                            (None, None) => false,
                        })
                        .collect())
                })
                .await;
        }
        let Some(project_id) = caller.project_id().map(str::to_string) else {
            return Ok(Vec::new());
        };
        if filter.project_id.as_ref().is_some_and(|p| p != &project_id) {
            return Ok(Vec::new());
        }
        filter.project_id = Some(project_id);
        self.db
            .read(move |conn| store::list_limits(conn, &filter))
            .await
    }

    /// A limit, for admins, system readers, a token scoped to its project,
    /// or to its domain (or its project's domain).
    pub async fn get(&self, caller: &Caller, id: Input<String>) -> Result<Limit, Error> {
        let id = id?;
        let found = self
            .db
            .read(move |conn| {
                let Some(limit) = store::get_limit(conn, &id)? else {
                    return Ok(Err(id));
                };
                let domain = match (&limit.project_id, &limit.domain_id) {
                    (Some(p), _) => resource::get_project(conn, p)?.map(|p| p.domain_id),
                    (None, d) => d.clone(),
                };
                Ok(Ok((limit, domain)))
            })
            .await?;
        match found {
            Ok((limit, domain)) => {
                let target = Target {
                    domain_id: domain.as_deref(),
                    project_id: limit.project_id.as_deref(),
                    ..Default::default()
                };
                policy::enforce(policy::GET_LIMIT, caller, target)?;
                Ok(limit)
            }
            Err(id) => {
                policy::enforce(policy::GET_LIMIT, caller, Target::default())?;
                Err(store::not_found_limit(&id))
            }
        }
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: Input<String>,
        patch: Input<LimitPatch>,
    ) -> Result<Limit, Error> {
        policy::enforce(policy::UPDATE_LIMIT, caller, Target::default())?;
        let patch = patch?;
        let id = id?;
        let model = self.model;
        self.db
            .write(move |conn| {
                let current =
                    store::get_limit(conn, &id)?.ok_or_else(|| store::not_found_limit(&id))?;
                let merged = NewLimit {
                    project_id: current.project_id.clone(),
                    domain_id: current.domain_id.clone(),
                    service_id: current.service_id.clone(),
                    region_id: current.region_id.clone(),
                    resource_name: current.resource_name.clone(),
                    resource_limit: patch.resource_limit.unwrap_or(current.resource_limit),
                    description: current.description.clone(),
                };
                model.check(conn, &[merged])?;
                let description = patch.description.as_ref().and_then(|d| d.as_deref());
                store::write_limit(conn, &id, patch.resource_limit, description)?;
                store::get_limit(conn, &id)?.ok_or_else(|| store::not_found_limit(&id))
            })
            .await
    }

    pub async fn delete(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        policy::enforce(policy::DELETE_LIMIT, caller, Target::default())?;
        let id = id?;
        self.db
            .write(move |conn| store::delete_limit(conn, &id))
            .await
    }
}
