//! Deleting a thing that others hang from: the one place that knows the
//! order (domain → projects, users, groups, roles → assignments →
//! application credentials; users and projects → their credentials). Each subsystem deletes only its own rows, so
//! the subsystems form a tree and only this module sees all of them. Every
//! function runs inside the caller's transaction: a refusal half-way
//! leaves nothing deleted.

use std::sync::Arc;

use crate::audit::{Cause, Initiator};
use crate::credential::CredentialCipher;
use crate::error::Error;
use crate::limit::{self, LimitOwner};
use crate::policy::{self, Caller, Input, Target};
use crate::store::{Conn, Database};
use crate::{application_credential, assignment, catalog, credential, identity, resource, trust};

/// A disabled, non-default domain and everything in it: its projects
/// (children first), users, groups, domain roles and the assignments on
/// it.
pub fn delete_domain(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    id: &str,
    default_domain_id: &str,
    by: &Initiator,
) -> Result<(), Error> {
    resource::deletable_domain(conn, id, default_domain_id)?;
    for project_id in resource::projects_leaves_first(conn, id)? {
        delete_project(conn, cipher, &project_id, by)?;
    }
    let (user_ids, group_ids) = identity::members_of_domain(conn, id)?;
    for user_id in user_ids {
        delete_user(conn, cipher, &user_id, by)?;
    }
    for group_id in group_ids {
        delete_group(conn, &group_id)?;
    }
    assignment::delete_target_assignments(conn, id)?;
    assignment::delete_domain_roles(conn, id)?;
    limit::store::delete_limits_of(conn, LimitOwner::Domain(id))?;
    resource::delete_domain(conn, id)
}

/// A project without children, the assignments on it, the credentials
/// bound to it (Keystone's `delete_credentials_for_project`) and its limits
/// (`delete_limits_for_project`).
pub fn delete_project(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    id: &str,
    by: &Initiator,
) -> Result<(), Error> {
    assignment::delete_target_assignments(conn, id)?;
    let cause = Cause {
        initiator: by.clone(),
        reason: format!("project {id} deleted"),
    };
    credential::delete_for_project(conn, cipher, id, &cause)?;
    limit::store::delete_limits_of(conn, LimitOwner::Project(id))?;
    for trust_id in trust::store::ids_of_project(conn, id)? {
        trust::delete_with_redelegations(conn, &trust_id)?;
    }
    resource::delete_project(conn, id)
}

/// A user, the assignments it holds, its credentials (AK/SK pairs
/// included), its application credentials and the trusts it gave or
/// received, as Keystone deletes them.
pub fn delete_user(
    conn: &mut Conn,
    cipher: &CredentialCipher,
    id: &str,
    by: &Initiator,
) -> Result<(), Error> {
    assignment::delete_actor_assignments(conn, id)?;
    let cause = Cause {
        initiator: by.clone(),
        reason: format!("user {id} deleted"),
    };
    credential::delete_for_user(conn, cipher, id, &cause)?;
    application_credential::delete_for_user(conn, id, &cause)?;
    for trust_id in trust::store::ids_of_user(conn, id)? {
        trust::delete_with_redelegations(conn, &trust_id)?;
    }
    // The user's OS-OAUTH1 delegations go too (Keystone leaves them).
    crate::oauth1::store::delete_tokens_of_user(conn, id)?;
    identity::delete_user(conn, id)
}

/// A service or region that no registered limit names. Keystone's schema
/// holds the reference with a foreign key; Ironstone says why.
fn refuse_limited_catalog(
    conn: &mut Conn,
    service: Option<&str>,
    region: Option<&str>,
) -> Result<(), Error> {
    if limit::store::catalog_in_use(conn, service, region)? {
        let (what, id) = match (service, region) {
            (Some(s), _) => ("service", s),
            (None, r) => ("region", r.unwrap_or_default()),
        };
        return Err(Error::Conflict(format!(
            "Cannot delete {what} {id}: registered limits refer to it; delete them first."
        )));
    }
    Ok(())
}

/// A service that no registered limit names, with its endpoints.
pub fn delete_service(conn: &mut Conn, id: &str) -> Result<(), Error> {
    catalog::store::get_service(conn, id)?.ok_or_else(|| catalog::store::not_found_service(id))?;
    refuse_limited_catalog(conn, Some(id), None)?;
    catalog::store::delete_service(conn, id)
}

/// A region that no registered limit names.
pub fn delete_region(conn: &mut Conn, id: &str) -> Result<(), Error> {
    catalog::store::get_region(conn, id)?.ok_or_else(|| catalog::store::not_found_region(id))?;
    refuse_limited_catalog(conn, None, Some(id))?;
    catalog::store::delete_region(conn, id)
}

/// A group, and the assignments it holds.
pub fn delete_group(conn: &mut Conn, id: &str) -> Result<(), Error> {
    assignment::delete_actor_assignments(conn, id)?;
    identity::delete_group(conn, id)
}

/// A mutable role, the application credentials holding it, its
/// assignments and implication rules.
pub fn delete_role(conn: &mut Conn, id: &str, by: &Initiator) -> Result<(), Error> {
    assignment::check_role_deletable(conn, id)?;
    let cause = Cause {
        initiator: by.clone(),
        reason: format!("role {id} deleted"),
    };
    application_credential::delete_holding_role(conn, id, &cause)?;
    assignment::delete_role(conn, id)
}

/// The membership of a user in a group ends: application credentials that
/// relied on a role held through it go, and the user's tokens are revoked.
pub fn remove_member(
    conn: &mut Conn,
    user_id: &str,
    group_id: &str,
    by: &Initiator,
) -> Result<(), Error> {
    identity::remove_member(conn, user_id, group_id)?;
    application_credential::prune_for_user(conn, user_id, by)?;
    crate::revoke::record(
        conn,
        crate::revoke::Revoke {
            user_id: Some(user_id.to_string()),
            ..Default::default()
        },
    )
}

/// A grant ends: application credentials built on a role the user (or a
/// member of the group) lost go too.
pub fn revoke_grant(
    conn: &mut Conn,
    grant: &assignment::Grant,
    role: &str,
    by: &Initiator,
) -> Result<(), Error> {
    assignment::revoke_grant(
        conn,
        grant.kind,
        &grant.actor,
        &grant.target,
        role,
        grant.inherited,
    )?;
    let users: Vec<String> = if grant.kind.is_group() {
        identity::users_in_group(conn, &grant.actor)?
            .into_iter()
            .map(|u| u.id)
            .collect()
    } else {
        vec![grant.actor.clone()]
    };
    for user in users {
        application_credential::prune_for_user(conn, &user, by)?;
    }
    Ok(())
}

/// The use cases that delete what others hang from: their rule, then one
/// transaction through the functions above.
#[derive(Clone)]
pub struct Cascade {
    db: Database,
    groups: identity::Groups,
    users: identity::Users,
    resources: resource::Resources,
    assignments: assignment::Assignments,
    default_domain_id: String,
    cipher: Arc<CredentialCipher>,
}

impl Cascade {
    pub fn new(
        db: Database,
        groups: identity::Groups,
        users: identity::Users,
        resources: resource::Resources,
        assignments: assignment::Assignments,
        default_domain_id: String,
        cipher: Arc<CredentialCipher>,
    ) -> Self {
        Cascade {
            db,
            groups,
            users,
            resources,
            assignments,
            default_domain_id,
            cipher,
        }
    }

    pub async fn revoke_grant(
        &self,
        caller: &Caller,
        grant: assignment::Grant,
        role: String,
    ) -> Result<(), Error> {
        self.assignments
            .authorize_grant(caller, &grant, Some(&role), true)
            .await?;
        let by = Initiator::of(caller);
        self.db
            .write(move |conn| revoke_grant(conn, &grant, &role, &by))
            .await
    }

    pub async fn delete_domain(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        policy::enforce(policy::DELETE_DOMAIN, caller, Target::default())?;
        let id = id?;
        let default_domain = self.default_domain_id.clone();
        let (cipher, by) = (Arc::clone(&self.cipher), Initiator::of(caller));
        self.db
            .write(move |conn| delete_domain(conn, &cipher, &id, &default_domain, &by))
            .await
    }

    pub async fn delete_project(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        let project = self
            .resources
            .authorized_project(caller, policy::DELETE_PROJECT, id)
            .await?;
        let (cipher, by) = (Arc::clone(&self.cipher), Initiator::of(caller));
        let default_domain = self.default_domain_id.clone();
        // A project acting as a domain goes as the domain does (Keystone's
        // `_delete_domain`: disabled first, never the default one).
        self.db
            .write(move |conn| match project.is_domain {
                true => delete_domain(conn, &cipher, &project.id, &default_domain, &by),
                false => delete_project(conn, &cipher, &project.id, &by),
            })
            .await
    }

    pub async fn delete_user(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        let user = self
            .users
            .authorized(caller, policy::DELETE_USER, id)
            .await?;
        let (cipher, by) = (Arc::clone(&self.cipher), Initiator::of(caller));
        self.db
            .write(move |conn| delete_user(conn, &cipher, &user.id, &by))
            .await
    }

    /// A catalog delete, for admins.
    async fn catalog_delete(
        &self,
        caller: &Caller,
        id: Input<String>,
        delete: fn(&mut Conn, &str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        policy::enforce(policy::MANAGE_CATALOG, caller, Target::default())?;
        let id = id?;
        self.db.write(move |conn| delete(conn, &id)).await
    }

    pub async fn delete_service(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        self.catalog_delete(caller, id, delete_service).await
    }

    pub async fn delete_region(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        self.catalog_delete(caller, id, delete_region).await
    }

    pub async fn delete_role(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        policy::enforce(policy::MANAGE_ROLES, caller, Target::default())?;
        let id = id?;
        let by = Initiator::of(caller);
        self.db.write(move |conn| delete_role(conn, &id, &by)).await
    }

    pub async fn delete_group(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        let group = self
            .groups
            .authorized(caller, policy::MANAGE_GROUPS, id)
            .await?;
        self.db
            .write(move |conn| delete_group(conn, &group.id))
            .await
    }

    pub async fn remove_member(
        &self,
        caller: &Caller,
        group_id: Input<String>,
        user_id: Input<String>,
    ) -> Result<(), Error> {
        let (group, user) = self
            .groups
            .membership(caller, group_id, user_id, true)
            .await?;
        let by = Initiator::of(caller);
        self.db
            .write(move |conn| remove_member(conn, &user.id, &group.id, &by))
            .await
    }
}
