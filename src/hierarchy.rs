//! A project with its place in the hierarchy, as Keystone's
//! `GET /v3/projects/{id}` shows it on request (`parents_as_list`,
//! `parents_as_ids`, `subtree_as_list`, `subtree_as_ids`,
//! `include_limits`). It sits above `resource` (the tree), `assignment`
//! (which of those projects the caller may see) and `limit` (their limits).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::limit::{self, Limit, LimitFilter};
use crate::policy::{self, Caller, Input};
use crate::resource::{self, Project, Resources};
use crate::store::{Conn, Database};

/// How to show one side of the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The projects the caller has a role on, each shown in full.
    List,
    /// Every project's id, nested as the tree is (`{id: {child: null}}`).
    Ids,
}

/// What the query asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expansion {
    pub parents: Option<Shape>,
    pub subtree: Option<Shape>,
    /// Each listed project carries its limits.
    pub include_limits: bool,
}

/// One side of the hierarchy, in the shape asked for.
#[derive(Debug, Clone)]
pub enum Relatives {
    List(Vec<Relative>),
    /// Keystone's nested ids; `Null` when there are none.
    Ids(Value),
}

/// A listed parent or descendant, with its limits when they were asked for.
#[derive(Debug, Clone)]
pub struct Relative {
    pub project: Project,
    pub limits: Option<Vec<Limit>>,
}

/// The project and the sides of its hierarchy asked for.
#[derive(Debug, Clone)]
pub struct ProjectTree {
    pub project: Project,
    pub parents: Option<Relatives>,
    pub subtree: Option<Relatives>,
}

/// Parses Keystone's switches, which are mutually exclusive per side.
pub fn expansion(flag: impl Fn(&str) -> bool) -> Result<Expansion, Error> {
    let side = |list: &str, ids: &str, what: &str| match (flag(list), flag(ids)) {
        (true, true) => Err(Error::BadRequest(format!(
            "Cannot use {what}_as_list and {what}_as_ids query params at the same time."
        ))),
        (true, false) => Ok(Some(Shape::List)),
        (false, true) => Ok(Some(Shape::Ids)),
        (false, false) => Ok(None),
    };
    Ok(Expansion {
        parents: side("parents_as_list", "parents_as_ids", "parents")?,
        subtree: side("subtree_as_list", "subtree_as_ids", "subtree")?,
        include_limits: flag("include_limits"),
    })
}

/// The API parent of a project: its parent, or its domain at the top.
fn api_parent(p: &Project) -> Option<&str> {
    p.parent_id.as_deref().or(p.owning_domain())
}

/// `{parent: {grandparent: … {domain: null}}}`, or `null` for a domain.
fn parents_as_ids(parents: &[Project]) -> Value {
    parents.iter().rev().fold(Value::Null, |above, p| {
        Value::Object(Map::from_iter([(p.id.clone(), above)]))
    })
}

/// `{child: {grandchild: null}, leaf: null}`, or `null` without children.
fn subtree_as_ids(root: &str, subtree: &[Project]) -> Value {
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in subtree {
        if let Some(parent) = api_parent(p) {
            children.entry(parent).or_default().push(&p.id);
        }
    }
    fn nest(id: &str, children: &BTreeMap<&str, Vec<&str>>, depth: usize) -> Value {
        match children.get(id) {
            Some(kids) if depth < 128 => Value::Object(
                kids.iter()
                    .map(|k| (k.to_string(), nest(k, children, depth + 1)))
                    .collect(),
            ),
            _ => Value::Null,
        }
    }
    nest(root, &children, 0)
}

/// The side as asked: the ids of all, or the caller's visible ones in full.
fn relatives(
    conn: &mut Conn,
    shape: Shape,
    projects: Vec<Project>,
    ids: impl FnOnce(&[Project]) -> Value,
    visible: &[String],
    include_limits: bool,
) -> Result<Relatives, Error> {
    if shape == Shape::Ids {
        return Ok(Relatives::Ids(ids(&projects)));
    }
    let mut listed = Vec::new();
    for project in projects.into_iter().filter(|p| visible.contains(&p.id)) {
        let limits = match include_limits {
            true => Some(limit::store::list_limits(
                conn,
                &LimitFilter {
                    project_id: Some(project.id.clone()),
                    ..Default::default()
                },
            )?),
            false => None,
        };
        listed.push(Relative { project, limits });
    }
    Ok(Relatives::List(listed))
}

/// The hierarchy views' use case.
#[derive(Clone)]
pub struct Hierarchy {
    db: Database,
    resources: Resources,
}

impl Hierarchy {
    pub fn new(db: Database, resources: Resources) -> Self {
        Hierarchy { db, resources }
    }

    /// `GET /v3/projects/{id}`: the project once `get_project` allowed the
    /// caller on it, then (Keystone's order) the switches, then the sides
    /// asked for. Listed relatives are those the calling user has a role
    /// on, as Keystone filters them even for admins; ids are all shown.
    pub async fn show_project(
        &self,
        caller: &Caller,
        id: Input<String>,
        expansion: Input<Expansion>,
    ) -> Result<ProjectTree, Error> {
        let project = self
            .resources
            .authorized_project(caller, policy::GET_PROJECT, id)
            .await?;
        let expansion = expansion?;
        if expansion.parents.is_none() && expansion.subtree.is_none() {
            return Ok(ProjectTree {
                project,
                parents: None,
                subtree: None,
            });
        }
        let user_id = caller.user_id().to_string();
        self.db
            .read(move |conn| {
                let visible = crate::assignment::project_ids_for_user(conn, &user_id)?;
                let limits = expansion.include_limits;
                let parents = match expansion.parents {
                    Some(shape) => {
                        let parents = resource::project_parents(conn, &project)?;
                        Some(relatives(
                            conn,
                            shape,
                            parents,
                            parents_as_ids,
                            &visible,
                            limits,
                        )?)
                    }
                    None => None,
                };
                let subtree = match expansion.subtree {
                    Some(shape) => {
                        let subtree = resource::project_subtree(conn, &project)?;
                        let root = project.id.clone();
                        let ids = move |s: &[Project]| subtree_as_ids(&root, s);
                        Some(relatives(conn, shape, subtree, ids, &visible, limits)?)
                    }
                    None => None,
                };
                Ok(ProjectTree {
                    project,
                    parents,
                    subtree,
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(id: &str, parent: Option<&str>) -> Project {
        Project {
            id: id.into(),
            name: id.into(),
            domain_id: "d".into(),
            parent_id: parent.map(str::to_string),
            description: None,
            enabled: true,
            is_domain: false,
            tags: Vec::new(),
            extra: Map::new(),
        }
    }

    #[test]
    fn ids_nest_as_keystone_nests_them() {
        let parents = [project("b", Some("a")), project("a", None)];
        let mut domain = project("d", None);
        domain.is_domain = true;
        let mut chain = parents.to_vec();
        chain.push(domain);
        assert_eq!(
            parents_as_ids(&chain),
            serde_json::json!({"b": {"a": {"d": null}}})
        );
        let subtree = [
            project("b", Some("a")),
            project("c", Some("b")),
            project("e", Some("b")),
        ];
        assert_eq!(
            subtree_as_ids("a", &subtree),
            serde_json::json!({"b": {"c": null, "e": null}})
        );
        assert_eq!(subtree_as_ids("c", &subtree), Value::Null);
        // A top-level project hangs under its domain.
        assert_eq!(
            subtree_as_ids("d", &[project("a", None)]),
            serde_json::json!({"a": null})
        );
    }

    #[test]
    fn both_shapes_of_one_side_are_refused() {
        let all = |_: &str| true;
        assert!(matches!(expansion(all), Err(Error::BadRequest(_))));
        let one = |f: &str| f == "subtree_as_ids" || f == "include_limits";
        let e = expansion(one).ok();
        assert_eq!(e.and_then(|e| e.subtree), Some(Shape::Ids));
    }
}
