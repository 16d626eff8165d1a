//! Scope resolution: which live project, domain or system a new token is
//! scoped to, and with which roles.

use crate::assignment::{self, Role};
use crate::error::Error;
use crate::identity::User;
use crate::resource::{self, Domain, Project};
use crate::store::Conn;

use super::request::{DomainRef, ProjectRef, ScopeRequest};
use super::ResolvedScope;

/// An enabled project in an enabled domain.
pub(super) fn live_project(
    conn: &mut Conn,
    project_id: &str,
) -> Result<Option<(Project, Domain)>, Error> {
    let Some(project) = resource::get_project(conn, project_id)? else {
        return Ok(None);
    };
    if !project.enabled {
        return Ok(None);
    }
    match resource::get_domain(conn, &project.domain_id)? {
        Some(domain) if domain.enabled => Ok(Some((project, domain))),
        _ => Ok(None),
    }
}

pub(super) fn resolve_domain(conn: &mut Conn, domain: &DomainRef) -> Result<Option<Domain>, Error> {
    match domain {
        DomainRef::Id(id) => resource::get_domain(conn, id),
        DomainRef::Name(name) => resource::find_domain_by_name(conn, name),
    }
}

/// The scope a new token gets, resolved against live objects. Anything
/// missing or disabled is the generic 401.
pub(super) fn resolve_scope(
    conn: &mut Conn,
    user: &User,
    scope: &ScopeRequest,
) -> Result<(ResolvedScope, Vec<Role>), Error> {
    let scoped = |roles: Vec<Role>, scope: ResolvedScope| {
        if roles.is_empty() {
            Err(Error::unauthorized())
        } else {
            Ok((scope, roles))
        }
    };
    match scope {
        ScopeRequest::Unscoped => Ok((ResolvedScope::Unscoped, Vec::new())),
        ScopeRequest::Default => {
            let Some(default_project) = &user.default_project_id else {
                return Ok((ResolvedScope::Unscoped, Vec::new()));
            };
            if let Some((project, domain)) = live_project(conn, default_project)? {
                let roles = assignment::effective_project_roles(conn, &user.id, &project)?;
                if !roles.is_empty() {
                    return Ok((ResolvedScope::Project { project, domain }, roles));
                }
            }
            Ok((ResolvedScope::Unscoped, Vec::new()))
        }
        ScopeRequest::Project(project_ref) => {
            let project_id = match project_ref {
                ProjectRef::Id(id) => Some(id.clone()),
                ProjectRef::Name { name, domain } => match resolve_domain(conn, domain)? {
                    Some(d) if d.enabled => {
                        resource::find_project_by_name(conn, &d.id, name)?.map(|p| p.id)
                    }
                    _ => None,
                },
            };
            let Some((project, domain)) = project_id
                .map(|id| live_project(conn, &id))
                .transpose()?
                .flatten()
            else {
                return Err(Error::unauthorized());
            };
            let roles = assignment::effective_project_roles(conn, &user.id, &project)?;
            scoped(roles, ResolvedScope::Project { project, domain })
        }
        ScopeRequest::Domain(domain_ref) => {
            let Some(domain) = resolve_domain(conn, domain_ref)?.filter(|d| d.enabled) else {
                return Err(Error::unauthorized());
            };
            let roles = assignment::effective_domain_roles(conn, &user.id, &domain.id)?;
            scoped(roles, ResolvedScope::Domain(domain))
        }
        ScopeRequest::System => {
            let roles = assignment::effective_system_roles(conn, &user.id)?;
            scoped(roles, ResolvedScope::System)
        }
        // Trust scopes are issued by `issue::issue_for_trust`, with the
        // trust's own checks; nothing else resolves one.
        ScopeRequest::Trust(_) => Err(Error::unauthorized()),
    }
}
