//! `GET /v3/role_assignments`: every assignment, or the effective ones
//! (groups expanded into users, inheritance into projects, implied roles
//! added), filtered as Keystone filters them, with names on request.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Error;
use crate::store::rows::AssignmentRow;
use crate::store::Conn;
use crate::{identity, resource};

/// The filters of a role-assignment listing, as Keystone names its
/// parameters (`user.id`, `scope.project.id`, …).
pub type Query = BTreeMap<String, String>;

/// The listing's switches, as the API read them (Keystone's
/// `query_filter_is_true`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// Groups expanded into users, inheritance into projects, implied
    /// roles added.
    pub effective: bool,
    pub include_names: bool,
    /// With `scope.project.id`: that project and every project below it.
    pub include_subtree: bool,
}

/// One assignment as the API shows it.
#[derive(Clone, Debug)]
pub struct Shown {
    pub user: Option<String>,
    pub group: Option<String>,
    pub project: Option<String>,
    pub domain: Option<String>,
    pub system: bool,
    pub role: String,
    pub inherited: bool,
    /// The group it came through, for effective listings.
    pub via_group: Option<String>,
    /// The role that implied it, for effective listings.
    pub prior_role: Option<String>,
}

fn shown(row: &AssignmentRow) -> Shown {
    let (user, group) = if row.kind.starts_with("User") {
        (Some(row.actor_id.clone()), None)
    } else {
        (None, Some(row.actor_id.clone()))
    };
    Shown {
        user,
        group,
        project: row.kind.ends_with("Project").then(|| row.target_id.clone()),
        domain: row.kind.ends_with("Domain").then(|| row.target_id.clone()),
        system: row.kind.ends_with("System"),
        role: row.role_id.clone(),
        inherited: row.inherited,
        via_group: None,
        prior_role: None,
    }
}

/// Expands groups into their users, inheritance into projects, and
/// implied roles, then drops domain-specific roles (they only imply
/// others), as Keystone's `effective` listing does.
fn effective(conn: &mut Conn, rows: Vec<Shown>) -> Result<Vec<Shown>, Error> {
    let mut out = Vec::new();
    for row in rows {
        let users: Vec<(String, Option<String>)> = match &row.group {
            Some(g) => identity::users_in_group(conn, g)?
                .into_iter()
                .map(|u| (u.id, Some(g.clone())))
                .collect(),
            None => vec![(row.user.clone().unwrap_or_default(), None)],
        };
        let targets: Vec<(Option<String>, Option<String>, bool)> = if row.inherited {
            let mut projects = Vec::new();
            if let Some(d) = &row.domain {
                projects = resource::list_projects(
                    conn,
                    &resource::ProjectFilter {
                        domain_id: Some(d.clone()),
                        ..Default::default()
                    },
                )?
                .into_iter()
                .map(|p| p.id)
                .collect();
            }
            if let Some(root) = &row.project {
                let mut frontier = vec![root.clone()];
                while let Some(next) = frontier.pop() {
                    for child in resource::list_projects(
                        conn,
                        &resource::ProjectFilter {
                            parent_id: Some(next),
                            ..Default::default()
                        },
                    )? {
                        if child.parent_id.is_some() {
                            frontier.push(child.id.clone());
                            projects.push(child.id);
                        }
                    }
                }
            }
            projects
                .into_iter()
                .map(|p| (Some(p), None, false))
                .collect()
        } else {
            vec![(row.project.clone(), row.domain.clone(), row.system)]
        };
        for (user, via) in &users {
            for (project, domain, system) in &targets {
                let base = Shown {
                    user: Some(user.clone()),
                    group: None,
                    project: project.clone(),
                    domain: domain.clone(),
                    system: *system,
                    role: row.role.clone(),
                    inherited: false,
                    via_group: via.clone(),
                    prior_role: None,
                };
                let implied = super::expand_implied(conn, BTreeSet::from([row.role.clone()]))?;
                for role in implied {
                    let mut s = base.clone();
                    if role != row.role {
                        s.prior_role = Some(row.role.clone());
                    }
                    s.role = role;
                    out.push(s);
                }
            }
        }
    }
    let domain_roles = super::domain_role_ids(conn)?;
    out.retain(|s| !domain_roles.contains(&s.role));
    Ok(out)
}

/// Names for `include_names`: id → (name, domain id).
#[derive(Default)]
pub struct Names {
    pub users: BTreeMap<String, (String, Option<String>)>,
    pub groups: BTreeMap<String, (String, Option<String>)>,
    pub projects: BTreeMap<String, (String, Option<String>)>,
    pub domains: BTreeMap<String, String>,
    pub roles: BTreeMap<String, String>,
}

fn names_for(conn: &mut Conn, rows: &[Shown]) -> Result<Names, Error> {
    let mut n = Names::default();
    for s in rows {
        if let Some(u) = &s.user {
            if let Some(user) = identity::get_user(conn, u)? {
                n.users.insert(u.clone(), (user.name, Some(user.domain_id)));
            }
        }
        if let Some(g) = &s.group {
            if let Some(group) = identity::get_group(conn, g)? {
                n.groups
                    .insert(g.clone(), (group.name, Some(group.domain_id)));
            }
        }
        if let Some(p) = &s.project {
            if let Some(project) = resource::get_project(conn, p)? {
                n.projects
                    .insert(p.clone(), (project.name, Some(project.domain_id)));
            }
        }
        if let Some(role) = super::get_role(conn, &s.role)? {
            n.roles.insert(s.role.clone(), role.name);
        }
    }
    let domain_ids: BTreeSet<String> = n
        .users
        .values()
        .chain(n.groups.values())
        .chain(n.projects.values())
        .filter_map(|(_, d)| d.clone())
        .chain(rows.iter().filter_map(|s| s.domain.clone()))
        .collect();
    for d in domain_ids {
        if let Some(domain) = resource::get_domain(conn, &d)? {
            n.domains.insert(d, domain.name);
        }
    }
    Ok(n)
}

/// The listing's rows, filtered, and their names when asked for.
pub fn list(
    conn: &mut Conn,
    filters: &Query,
    flags: Flags,
) -> Result<(Vec<Shown>, Option<Names>), Error> {
    let mut rows: Vec<Shown> = super::all_assignments(conn)?.iter().map(shown).collect();
    if flags.effective {
        rows = effective(conn, rows)?;
    }
    // include_subtree: the project named and every project below it.
    let projects: Option<BTreeSet<String>> = match filters.get("scope.project.id") {
        Some(root) if flags.include_subtree => {
            let mut all = BTreeSet::from([root.clone()]);
            let mut frontier = vec![root.clone()];
            while let Some(next) = frontier.pop() {
                let children = resource::list_projects(
                    conn,
                    &resource::ProjectFilter {
                        parent_id: Some(next),
                        ..Default::default()
                    },
                )?;
                for child in children.into_iter().filter(|c| c.parent_id.is_some()) {
                    if all.insert(child.id.clone()) {
                        frontier.push(child.id);
                    }
                }
            }
            Some(all)
        }
        Some(root) => Some(BTreeSet::from([root.clone()])),
        None => None,
    };
    let keep = |s: &Shown| {
        filters
            .get("user.id")
            .is_none_or(|u| s.user.as_deref() == Some(u))
            && filters
                .get("group.id")
                .is_none_or(|g| s.group.as_deref() == Some(g))
            && filters.get("role.id").is_none_or(|r| &s.role == r)
            && projects
                .as_ref()
                .is_none_or(|set| s.project.as_ref().is_some_and(|p| set.contains(p)))
            && filters
                .get("scope.domain.id")
                .is_none_or(|d| s.domain.as_deref() == Some(d))
            && (!filters.contains_key("scope.system") || s.system)
            && filters
                .get("scope.OS-INHERIT:inherited_to")
                .is_none_or(|_| s.inherited)
    };
    rows.retain(keep);
    let names = if flags.include_names {
        Some(names_for(conn, &rows)?)
    } else {
        None
    };
    Ok((rows, names))
}
