//! Trusts (OS-TRUST, Keystone's `trust_api`): a trustor delegates some of
//! its roles on a project to a trustee, who then gets trust-scoped tokens
//! (Heat, Magnum, Aodh and Mistral act for users this way). The roles a
//! trust gives are always the live intersection of what it names and what
//! the (original) trustor still holds.

pub mod store;

use std::collections::BTreeSet;

use crate::assignment::{self, Role};
use crate::error::Error;
use crate::policy::{self, Caller, Input, Target};
use crate::store::{Conn, Database};
use crate::{identity, resource};

/// A trust as stored. `role_ids` is empty in lists, as Keystone's.
#[derive(Debug, Clone, PartialEq)]
pub struct Trust {
    pub id: String,
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub project_id: Option<String>,
    pub impersonation: bool,
    /// Microseconds since the epoch.
    pub expires_at: Option<i64>,
    pub remaining_uses: Option<i32>,
    pub redelegated_trust_id: Option<String>,
    pub redelegation_count: i32,
    pub deleted_at: Option<i64>,
    pub role_ids: Vec<String>,
}

/// A role named by id or by (global) name.
#[derive(Debug, Clone)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

/// A trust to create, as the body gives it.
#[derive(Debug, Clone)]
pub struct NewTrust {
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub project_id: Option<String>,
    pub impersonation: bool,
    pub expires_at: Option<i64>,
    pub remaining_uses: Option<i32>,
    pub allow_redelegation: bool,
    pub redelegation_count: Option<i32>,
    pub roles: Vec<RoleRef>,
}

/// A trust with its roles resolved, for rendering.
#[derive(Debug, Clone)]
pub struct Shown {
    pub trust: Trust,
    pub roles: Vec<Role>,
}

/// Why a trust gives no token: Keystone's 403 for a trustor who no
/// longer holds a delegated role.
pub fn no_delegated_roles() -> Error {
    Error::Forbidden("Trustee has no delegated roles.".into())
}

/// The trusts of a chain, from `trust` up to the original one.
pub fn pedigree(conn: &mut Conn, trust: &Trust) -> Result<Vec<Trust>, Error> {
    let mut chain = vec![trust.clone()];
    let mut next = trust.redelegated_trust_id.clone();
    while let Some(id) = next {
        if chain.len() > 64 || chain.iter().any(|t| t.id == id) {
            break;
        }
        let parent = store::get_any(conn, &id)?.ok_or_else(|| store::not_found(&id))?;
        next = parent.redelegated_trust_id.clone();
        chain.push(parent);
    }
    Ok(chain)
}

/// The roles a trust gives now: what it names (with the roles those
/// imply) that its original trustor still holds on the project, global
/// ones only. If the trustor lost any of them, the trust gives nothing
/// (Keystone's "Trustee has no delegated roles.").
pub fn delegated_roles(conn: &mut Conn, trust: &Trust) -> Result<Vec<Role>, Error> {
    let Some(project_id) = &trust.project_id else {
        return Ok(Vec::new());
    };
    let project = resource::get_project(conn, project_id)?
        .ok_or_else(|| resource::not_found_project(project_id))?;
    let chain = pedigree(conn, trust)?;
    let original_trustor = chain.last().map_or(trust.trustor_user_id.as_str(), |t| {
        t.trustor_user_id.as_str()
    });
    let held = assignment::held_project_role_ids(conn, original_trustor, &project)?;
    let wanted = assignment::expand_implied(conn, trust.role_ids.iter().cloned().collect())?;
    if !wanted.is_subset(&held) {
        return Err(no_delegated_roles());
    }
    assignment::effective_roles(conn, trust.role_ids.iter().cloned().collect())
}

/// A usable trust, its chain checked as Keystone's `get_trust` does: every
/// trust above it still valid for redelegation, and every trustee in the
/// chain enabled.
pub fn get_checked(conn: &mut Conn, id: &str, max_redelegation: i32) -> Result<Trust, Error> {
    let trust = store::get_usable(conn, id)?.ok_or_else(|| store::not_found(id))?;
    if trust.redelegated_trust_id.is_some() {
        let chain = pedigree(conn, &trust)?;
        for pair in chain.windows(2) {
            let (child, parent) = (&pair[0], &pair[1]);
            check_redelegation(parent, child, max_redelegation)?;
            let trustee = identity::get_user(conn, &parent.trustee_user_id)?;
            if !trustee.is_some_and(|u| u.enabled) {
                return Err(Error::Forbidden(
                    "One of the trust agents is disabled or deleted".into(),
                ));
            }
        }
    }
    Ok(trust)
}

/// Keystone's `_validate_redelegation`: what a trust made from `parent`
/// may be.
fn check_redelegation(parent: &Trust, child: &Trust, max: i32) -> Result<(), Error> {
    let depth = parent.redelegation_count;
    if !(0 < depth && depth <= max) {
        return Err(Error::Forbidden(format!(
            "Remaining redelegation depth of {depth} out of allowed range of [0..{max}]"
        )));
    }
    if let Some(uses) = child.remaining_uses {
        return Err(Error::Forbidden(format!(
            "Field \"remaining_uses\" is set to {uses} while it must not be set in order to redelegate a trust"
        )));
    }
    if let (Some(parent_expiry), Some(child_expiry)) = (parent.expires_at, child.expires_at) {
        if parent_expiry < child_expiry {
            return Err(Error::Forbidden(
                "Requested expiration time is more than redelegated trust can provide".into(),
            ));
        }
    }
    let parent_roles: BTreeSet<&String> = parent.role_ids.iter().collect();
    if !child.role_ids.iter().all(|r| parent_roles.contains(r)) {
        return Err(Error::Forbidden(
            "Some of requested roles are not in redelegated trust".into(),
        ));
    }
    if !parent.impersonation && child.impersonation {
        return Err(Error::Forbidden(format!(
            "Impersonation is not allowed because redelegated trust does not specify impersonation. Redelegated trust id: {}",
            parent.id
        )));
    }
    Ok(())
}

/// Keystone's `_check_delegated_token`: tokens from application
/// credentials or EC2 signatures may not read or manage trusts (a
/// trust-scoped token may: that is redelegation).
fn refuse_delegated(caller: &Caller) -> Result<(), Error> {
    if caller.is_delegated() {
        return Err(Error::forbidden_action(
            "Delegated tokens cannot manage trusts.",
        ));
    }
    Ok(())
}

fn resolve_roles(conn: &mut Conn, roles: &[RoleRef]) -> Result<Vec<String>, Error> {
    roles
        .iter()
        .map(|r| match r {
            RoleRef::Id(id) => Ok(id.clone()),
            RoleRef::Name(name) => assignment::find_global_role_by_name(conn, name)?
                .map(|role| role.id)
                .ok_or_else(|| Error::NotFound(format!("Role {name} is not defined"))),
        })
        .collect()
}

/// The trust use cases.
#[derive(Clone)]
pub struct Trusts {
    db: Database,
    max_redelegation: i32,
}

impl Trusts {
    pub fn new(db: Database, max_redelegation: i32) -> Self {
        Trusts {
            db,
            max_redelegation,
        }
    }

    /// `POST /v3/OS-TRUST/trusts`: the caller is the trustor; a caller
    /// whose token comes from a trust redelegates it.
    pub async fn create(&self, caller: &Caller, new: NewTrust) -> Result<Shown, Error> {
        policy::enforce(
            policy::CREATE_TRUST,
            caller,
            Target::owned_by(&new.trustor_user_id),
        )?;
        refuse_delegated(caller)?;
        if new.project_id.is_some() && new.roles.is_empty() {
            return Err(Error::forbidden_action(
                "At least one role should be specified",
            ));
        }
        if caller.user_id() != new.trustor_user_id {
            return Err(Error::forbidden_action(
                "The authenticated user should match the trustor",
            ));
        }
        let max = self.max_redelegation;
        let source_trust = caller.trust_id.clone();
        self.db
            .write(move |conn| {
                identity::get_user(conn, &new.trustee_user_id)?
                    .ok_or_else(|| identity::not_found_user(&new.trustee_user_id))?;
                let role_ids = resolve_roles(conn, &new.roles)?;
                let mut trust = Trust {
                    id: crate::store::new_id(),
                    trustor_user_id: new.trustor_user_id.clone(),
                    trustee_user_id: new.trustee_user_id.clone(),
                    project_id: new.project_id.clone(),
                    impersonation: new.impersonation,
                    expires_at: new.expires_at,
                    remaining_uses: new.remaining_uses,
                    redelegated_trust_id: None,
                    redelegation_count: 0,
                    deleted_at: None,
                    role_ids,
                };
                let parent = match &source_trust {
                    Some(id) => Some(get_checked(conn, id, max)?),
                    None => None,
                };
                require_trustor_roles(conn, &trust, parent.as_ref())?;
                settle_redelegation(conn, &mut trust, &new, parent.as_ref(), max)?;
                store::create(conn, &trust)?;
                show(conn, trust)
            })
            .await
    }

    /// `GET /v3/OS-TRUST/trusts[?trustor_user_id=|?trustee_user_id=]`.
    pub async fn list(
        &self,
        caller: &Caller,
        trustor: Option<String>,
        trustee: Option<String>,
    ) -> Result<Vec<Trust>, Error> {
        match (&trustor, &trustee) {
            (Some(t), _) => {
                policy::enforce(policy::LIST_TRUSTS_FOR_TRUSTOR, caller, Target::owned_by(t))?
            }
            (None, Some(t)) => {
                policy::enforce(policy::LIST_TRUSTS_FOR_TRUSTEE, caller, Target::owned_by(t))?
            }
            (None, None) => policy::enforce(policy::LIST_TRUSTS, caller, Target::default())?,
        }
        refuse_delegated(caller)?;
        self.db
            .read(move |conn| match (&trustor, &trustee) {
                (Some(t), _) => store::list(conn, Some(t), None, None),
                (None, t) => store::list(conn, None, t.as_deref(), None),
            })
            .await
    }

    /// A trust for its trustor, its trustee, admins and system readers. A
    /// missing (or used up, or expired) trust is a 404 before the rule is
    /// checked, as Keystone answers.
    async fn authorized(
        &self,
        caller: &Caller,
        rule: policy::Policy,
        id: Input<String>,
    ) -> Result<Shown, Error> {
        let id = id?;
        let max = self.max_redelegation;
        let shown = self
            .db
            .read(move |conn| {
                let trust = get_checked(conn, &id, max)?;
                show(conn, trust)
            })
            .await?;
        let target = Target {
            user_id: Some(&shown.trust.trustor_user_id),
            delegate_id: Some(&shown.trust.trustee_user_id),
            ..Default::default()
        };
        policy::enforce(rule, caller, target)?;
        Ok(shown)
    }

    pub async fn get(&self, caller: &Caller, id: Input<String>) -> Result<Shown, Error> {
        let shown = self.authorized(caller, policy::GET_TRUST, id).await?;
        refuse_delegated(caller)?;
        Ok(shown)
    }

    /// `GET …/roles`: the roles the trust names.
    pub async fn roles(&self, caller: &Caller, id: Input<String>) -> Result<Shown, Error> {
        let shown = self
            .authorized(caller, policy::LIST_ROLES_FOR_TRUST, id)
            .await?;
        refuse_delegated(caller)?;
        Ok(shown)
    }

    /// `GET|HEAD …/roles/{role_id}`: one role the trust names, or 404.
    pub async fn role(
        &self,
        caller: &Caller,
        id: Input<String>,
        role_id: String,
    ) -> Result<Role, Error> {
        let shown = self
            .authorized(caller, policy::GET_ROLE_FOR_TRUST, id)
            .await?;
        refuse_delegated(caller)?;
        shown
            .roles
            .into_iter()
            .find(|r| r.id == role_id)
            .ok_or_else(|| assignment::not_found_role(&role_id))
    }

    /// `DELETE /v3/OS-TRUST/trusts/{id}`: the trust and every trust
    /// redelegated from it; their tokens stop validating at once.
    pub async fn delete(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        let shown = self.authorized(caller, policy::DELETE_TRUST, id).await?;
        refuse_delegated(caller)?;
        let id = shown.trust.id;
        self.db
            .write(move |conn| delete_with_redelegations(conn, &id))
            .await
    }
}

/// Deletes a trust and, first, the trusts its trustee redelegated from it.
pub fn delete_with_redelegations(conn: &mut Conn, id: &str) -> Result<(), Error> {
    let trust = store::get_any(conn, id)?.ok_or_else(|| store::not_found(id))?;
    for child in store::list(conn, None, None, Some(id))? {
        if child.id != trust.id {
            delete_with_redelegations(conn, &child.id)?;
        }
    }
    crate::notify::deleted("OS-TRUST:trust", id);
    store::soft_delete(conn, id)
}

/// The trust's roles, as role objects (those that still exist).
fn show(conn: &mut Conn, trust: Trust) -> Result<Shown, Error> {
    let mut roles = Vec::new();
    for id in &trust.role_ids {
        if let Some(role) = assignment::get_role(conn, id)? {
            roles.push(role);
        }
    }
    Ok(Shown { trust, roles })
}

/// Keystone's `_require_trustor_has_role_in_project`: the (original)
/// trustor must hold every named role on the project (a 404 naming the
/// role otherwise).
fn require_trustor_roles(
    conn: &mut Conn,
    trust: &Trust,
    parent: Option<&Trust>,
) -> Result<(), Error> {
    let Some(project_id) = &trust.project_id else {
        return Ok(());
    };
    let project = resource::get_project(conn, project_id)?
        .ok_or_else(|| resource::not_found_project(project_id))?;
    let original_trustor = match parent {
        Some(p) => pedigree(conn, p)?
            .last()
            .map(|t| t.trustor_user_id.clone())
            .unwrap_or_else(|| p.trustor_user_id.clone()),
        None => trust.trustor_user_id.clone(),
    };
    let held = assignment::held_project_role_ids(conn, &original_trustor, &project)?;
    match trust.role_ids.iter().find(|r| !held.contains(*r)) {
        Some(missing) => Err(assignment::not_found_role(missing)),
        None => Ok(()),
    }
}

/// Keystone's `create_trust`: the redelegation count of a new trust, and
/// the checks of a trust made from another one.
fn settle_redelegation(
    conn: &mut Conn,
    trust: &mut Trust,
    new: &NewTrust,
    parent: Option<&Trust>,
    max: i32,
) -> Result<(), Error> {
    let requested = new.redelegation_count;
    let redelegatable = new.allow_redelegation && requested != Some(0);
    let mut count = if redelegatable {
        if requested.is_some_and(|c| c > max) {
            return Err(Error::Forbidden(format!(
                "Requested redelegation depth of {} is greater than allowed {max}",
                requested.unwrap_or_default()
            )));
        }
        if trust.remaining_uses.is_some() {
            return Err(Error::BadRequest(
                "remaining_uses must not be set if redelegation is allowed".into(),
            ));
        }
        requested
    } else {
        Some(0)
    };
    if let Some(parent) = parent {
        trust.redelegated_trust_id = Some(parent.id.clone());
        let remaining = parent.redelegation_count - 1;
        if redelegatable && requested.is_some_and(|c| c != remaining) {
            return Err(Error::Forbidden(
                "Modifying \"redelegation_count\" upon redelegation is forbidden. Omitting this parameter is advised.".into(),
            ));
        }
        count = count.or(Some(remaining));
        trust.redelegation_count = count.unwrap_or(remaining);
        if trust.expires_at.is_none() {
            trust.expires_at = parent.expires_at;
        }
        for ancestor in pedigree(conn, parent)? {
            check_redelegation(&ancestor, trust, max)?;
        }
    }
    trust.redelegation_count = count.unwrap_or(max);
    Ok(())
}
