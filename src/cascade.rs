//! Deleting a thing that others hang from: the one place that knows the
//! order (domain → projects, users, groups, roles → assignments →
//! application credentials). Each subsystem deletes only its own rows, so
//! the subsystems form a tree and only this module sees all of them. Every
//! function runs inside the caller's transaction: a refusal half-way
//! leaves nothing deleted.

use crate::error::Error;
use crate::store::Conn;
use crate::{application_credential, assignment, identity, resource};

/// A disabled, non-default domain and everything in it: its projects
/// (children first), users, groups, domain roles and the assignments on
/// it.
pub fn delete_domain(conn: &mut Conn, id: &str, default_domain_id: &str) -> Result<(), Error> {
    resource::deletable_domain(conn, id, default_domain_id)?;
    for project_id in resource::projects_leaves_first(conn, id)? {
        delete_project(conn, &project_id)?;
    }
    let (user_ids, group_ids) = identity::members_of_domain(conn, id)?;
    for user_id in user_ids {
        delete_user(conn, &user_id)?;
    }
    for group_id in group_ids {
        delete_group(conn, &group_id)?;
    }
    assignment::delete_target_assignments(conn, id)?;
    assignment::delete_domain_roles(conn, id)?;
    resource::delete_domain(conn, id)
}

/// A project without children, and the assignments on it.
pub fn delete_project(conn: &mut Conn, id: &str) -> Result<(), Error> {
    assignment::delete_target_assignments(conn, id)?;
    resource::delete_project(conn, id)
}

/// A user, and the assignments it holds.
pub fn delete_user(conn: &mut Conn, id: &str) -> Result<(), Error> {
    assignment::delete_actor_assignments(conn, id)?;
    identity::delete_user(conn, id)
}

/// A group, and the assignments it holds.
pub fn delete_group(conn: &mut Conn, id: &str) -> Result<(), Error> {
    assignment::delete_actor_assignments(conn, id)?;
    identity::delete_group(conn, id)
}

/// A mutable role, the application credentials holding it, its
/// assignments and implication rules.
pub fn delete_role(conn: &mut Conn, id: &str) -> Result<(), Error> {
    assignment::check_role_deletable(conn, id)?;
    application_credential::delete_holding_role(conn, id)?;
    assignment::delete_role(conn, id)
}
