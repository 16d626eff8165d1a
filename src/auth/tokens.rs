//! The use cases of `/v3/auth/*` beyond issuing: validating a subject
//! token for a caller, revoking it, and what a token may reach (projects,
//! domains, the system, the catalog).

use serde_json::Value;

use std::sync::Arc;

use super::{validate_shared, Auth, TokenContext, ValidToken, FAILED_TO_VALIDATE};
use crate::error::Error;
use crate::policy::{self, Caller, Policy, Target};
use crate::resource::{Domain, Project};
use crate::revoke::{self, Revoke};
use crate::{assignment, resource};

/// A subject token as the caller presented it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// `X-Subject-Token`, trimmed; `None` when missing or empty.
    pub token: Option<&'a str>,
    /// `?allow_expired`.
    pub allow_expired: bool,
    /// The caller enforces access rules
    /// (`OpenStack-Identity-Access-Rules: 1`, as keystonemiddleware sends).
    pub enforces_access_rules: bool,
}

impl Auth {
    /// Validates a subject token for `caller` under `rule`. Tokens limited
    /// by access rules validate only for callers that enforce them.
    pub async fn validate_subject(
        &self,
        caller: &Caller,
        subject: Subject<'_>,
        rule: Policy,
    ) -> Result<Arc<ValidToken>, Error> {
        let Some(token) = subject.token else {
            return Err(Error::NotFound("No token in the request".into()));
        };
        let valid = validate_shared(self, token, subject.allow_expired).await?;
        let context = &valid.context;
        let has_rules = context
            .live
            .application_credential
            .as_ref()
            .is_some_and(|ac| !ac.access_rules.is_empty());
        if has_rules && !subject.enforces_access_rules {
            return Err(Error::NotFound(FAILED_TO_VALIDATE.into()));
        }
        policy::enforce(rule, caller, Target::owned_by(context.user_id()))?;
        Ok(valid)
    }

    /// Revokes a token by its audit id, and the tokens rescoped from it
    /// when `cascade`.
    pub async fn revoke(&self, subject: &TokenContext, cascade: bool) -> Result<(), Error> {
        let audit_id = subject.audit_id().to_string();
        self.db
            .write(move |conn| {
                revoke::record(
                    conn,
                    Revoke {
                        audit_id: Some(audit_id.clone()),
                        ..Default::default()
                    },
                )?;
                if cascade {
                    revoke::record(
                        conn,
                        Revoke {
                            audit_chain_id: Some(audit_id),
                            ..Default::default()
                        },
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Ends a console session: the token, the one it was rescoped from and
    /// every other token rescoped from that (the whole audit chain).
    pub async fn end_session(&self, session: &TokenContext) -> Result<(), Error> {
        let chain = session.chain_root().to_string();
        self.db
            .write(move |conn| {
                revoke::record(
                    conn,
                    Revoke {
                        audit_chain_id: Some(chain),
                        ..Default::default()
                    },
                )
            })
            .await
    }

    /// `GET /v3/auth/projects`: enabled projects in enabled domains that
    /// the caller has a role on.
    pub async fn projects_of(&self, caller: &Caller) -> Result<Vec<Project>, Error> {
        policy::enforce(policy::GET_AUTH_PROJECTS, caller, Target::default())?;
        let user_id = caller.user_id().to_string();
        self.db
            .read(move |conn| {
                let ids = assignment::project_ids_for_user(conn, &user_id)?;
                let projects = resource::list_projects_by_ids(conn, &ids)?;
                let mut enabled = Vec::new();
                for p in projects.into_iter().filter(|p| p.enabled) {
                    if resource::get_domain(conn, &p.domain_id)?.is_some_and(|d| d.enabled) {
                        enabled.push(p);
                    }
                }
                Ok(enabled)
            })
            .await
    }

    /// `GET /v3/auth/domains`: enabled domains the caller has a role on.
    pub async fn domains_of(&self, caller: &Caller) -> Result<Vec<Domain>, Error> {
        policy::enforce(policy::GET_AUTH_DOMAINS, caller, Target::default())?;
        let user_id = caller.user_id().to_string();
        self.db
            .read(move |conn| {
                let ids = assignment::domain_ids_for_user(conn, &user_id)?;
                Ok(resource::list_domains_by_ids(conn, &ids)?
                    .into_iter()
                    .filter(|d| d.enabled)
                    .collect())
            })
            .await
    }

    /// `GET /v3/auth/system`: whether the caller has a role on the system.
    pub async fn has_system_role(&self, caller: &Caller) -> Result<bool, Error> {
        policy::enforce(policy::GET_AUTH_SYSTEM, caller, Target::default())?;
        let user_id = caller.user_id().to_string();
        self.db
            .read(move |conn| Ok(!assignment::effective_system_roles(conn, &user_id)?.is_empty()))
            .await
    }

    /// `GET /v3/auth/catalog`: needs a project-scoped token, as in Keystone.
    pub async fn catalog_of(&self, context: &TokenContext) -> Result<Value, Error> {
        let caller = context.caller();
        policy::enforce(policy::GET_AUTH_CATALOG, &caller, Target::default())?;
        if caller.project_id().is_none() {
            return Err(Error::Forbidden(crate::error::FORBIDDEN_MESSAGE.into()));
        }
        Ok(super::catalog_for(self, context)
            .await?
            .map_or_else(|| Value::Array(Vec::new()), |c| c.value.clone()))
    }
}
