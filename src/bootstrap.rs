//! `keystone-manage bootstrap`, idempotently: the default domain, the admin
//! project and user, the roles reader ⊂ member ⊂ manager ⊂ admin plus
//! service, the admin grants on the project and the system, a region, and
//! the identity service with one endpoint per interface.

use diesel::prelude::*;

use crate::assignment::{self, AssignmentKind, NewRole, SYSTEM_TARGET};
use crate::catalog;
use crate::config::Bootstrap as Settings;
use crate::error::Error;
use crate::identity::{self, Hasher, NewUser};
use crate::resource::{self, NewDomain, NewProject};
use crate::store::schema::domains;
use crate::store::{Conn, Database};

/// What bootstrap needs besides the settings.
pub struct BootstrapInput<'a> {
    pub settings: &'a Settings,
    pub password: &'a str,
    pub default_domain_id: &'a str,
    /// The identity endpoint URLs (public, internal, admin).
    pub public_url: String,
    pub internal_url: String,
    pub admin_url: String,
}

/// What bootstrap did, for the operator.
#[derive(Debug, Default)]
pub struct BootstrapReport {
    pub created: Vec<String>,
}

/// True when the database has never been bootstrapped.
pub fn is_empty(conn: &mut Conn) -> Result<bool, Error> {
    Ok(domains::table.count().get_result::<i64>(conn)? == 0)
}

/// Runs bootstrap in one transaction. The password is hashed first, outside
/// it; an existing admin whose password no longer matches gets the new one.
pub fn run(
    db: &Database,
    hasher: &Hasher,
    input: &BootstrapInput<'_>,
) -> Result<BootstrapReport, Error> {
    let new_hash = hasher.hash_blocking(input.password)?;
    db.blocking(|conn| apply(conn, hasher, input, new_hash))
}

fn apply(
    conn: &mut Conn,
    hasher: &Hasher,
    input: &BootstrapInput<'_>,
    new_hash: String,
) -> Result<BootstrapReport, Error> {
    let s = input.settings;
    let mut report = BootstrapReport::default();
    let domain_id = input.default_domain_id;
    if resource::get_domain(conn, domain_id)?.is_none() {
        resource::create_domain(
            conn,
            NewDomain {
                id: Some(domain_id),
                name: "Default",
                description: Some("The default domain"),
                enabled: true,
                extra: &Default::default(),
                tags: &[],
            },
        )?;
        report.created.push(format!("domain {domain_id}"));
    }
    let project = match resource::find_project_by_name(conn, domain_id, &s.project_name)? {
        Some(p) => p,
        None => {
            report.created.push(format!("project {}", s.project_name));
            resource::create_project(
                conn,
                NewProject {
                    name: &s.project_name,
                    domain_id,
                    parent_id: None,
                    description: Some("Bootstrap project for initializing the cloud."),
                    enabled: true,
                    extra: &Default::default(),
                },
            )?
        }
    };
    let user = match identity::find_user_by_name(conn, domain_id, &s.username)? {
        Some(user) => {
            if !user.enabled {
                identity::set_user_enabled(conn, &user.id, true)?;
            }
            let current = identity::current_password(conn, &user.id)?;
            let matches = current
                .as_ref()
                .is_some_and(|p| hasher.verify_blocking(input.password, &p.password_hash));
            if !matches {
                identity::store_password(conn, &user.id, new_hash, false)?;
                report
                    .created
                    .push(format!("password of user {}", s.username));
            }
            user
        }
        None => {
            report.created.push(format!("user {}", s.username));
            identity::create_user(
                conn,
                NewUser {
                    name: &s.username,
                    domain_id,
                    enabled: true,
                    default_project_id: None,
                    password_hash: Some(new_hash),
                },
            )?
        }
    };
    let mut role_id = |name: &str, report: &mut BootstrapReport| -> Result<String, Error> {
        if let Some(role) = assignment::find_global_role_by_name(conn, name)? {
            return Ok(role.id);
        }
        report.created.push(format!("role {name}"));
        Ok(assignment::create_role(
            conn,
            NewRole {
                name,
                domain_id: None,
                description: None,
                immutable: true,
                extra: &Default::default(),
            },
        )?
        .id)
    };
    let reader = role_id("reader", &mut report)?;
    let member = role_id("member", &mut report)?;
    let manager = role_id("manager", &mut report)?;
    let admin = role_id(&s.role_name, &mut report)?;
    role_id("service", &mut report)?;
    assignment::add_implied_role(conn, &member, &reader)?;
    assignment::add_implied_role(conn, &manager, &member)?;
    assignment::add_implied_role(conn, &admin, &manager)?;
    // Keystone drops an old admin ⇒ member rule in favour of the chain.
    assignment::remove_implied_role(conn, &admin, &member)?;
    assignment::grant(
        conn,
        AssignmentKind::UserProject,
        &user.id,
        &project.id,
        &admin,
        false,
    )?;
    assignment::grant(
        conn,
        AssignmentKind::UserSystem,
        &user.id,
        SYSTEM_TARGET,
        &admin,
        false,
    )?;
    catalog::store::ensure_region(conn, &s.region_id)?;
    let service_id = catalog::store::ensure_service(conn, "identity", &s.service_name)?;
    for (interface, url) in [
        ("public", &input.public_url),
        ("internal", &input.internal_url),
        ("admin", &input.admin_url),
    ] {
        catalog::store::ensure_endpoint(conn, &service_id, &s.region_id, interface, url)?;
    }
    Ok(report)
}
