//! OS-EP-FILTER: which endpoints a project's tokens see. A project is
//! associated with endpoints directly, or with endpoint groups that
//! select endpoints by attribute. A project with any association sees
//! only those endpoints in its catalog (and no service left without
//! one); a project with none sees the whole catalog, as Keystone does
//! with `return_all_endpoints_if_no_filter` (its default).

use std::collections::BTreeSet;

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::store as catalog_store;
use super::{Catalog, Endpoint};
use crate::error::Error;
use crate::policy::{self, Caller, Input};
use crate::resource::{self, Project};
use crate::store::schema::{endpoint_groups, project_endpoint_groups, project_endpoints};
use crate::store::{new_id, Conn};

/// The endpoint attributes an endpoint group may filter on.
pub const FILTER_KEYS: &[&str] = &["service_id", "region_id", "interface"];

/// A named selection of endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointGroup {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Endpoint attributes and the values they must equal.
    pub filters: Map<String, Value>,
}

/// An endpoint group to create.
#[derive(Debug, Clone)]
pub struct NewEndpointGroup {
    pub name: String,
    pub description: Option<String>,
    pub filters: Map<String, Value>,
}

/// Changes to an endpoint group; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct EndpointGroupPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub filters: Option<Map<String, Value>>,
}

/// What an association call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Check,
    Add,
    Remove,
}

/// Keystone's checks on filters, made after the policy check: present,
/// not empty, and naming only [`FILTER_KEYS`].
pub fn check_filters(filters: &Map<String, Value>, on_create: bool) -> Result<(), Error> {
    if on_create && filters.is_empty() {
        return Err(Error::BadRequest(
            "filters field is required and cannot be empty".into(),
        ));
    }
    if filters.keys().any(|k| !FILTER_KEYS.contains(&k.as_str())) {
        return Err(Error::expecting(
            &FILTER_KEYS.join(" or "),
            "endpoint_group",
        ));
    }
    Ok(())
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = endpoint_groups)]
struct GroupRow {
    id: String,
    name: String,
    description: Option<String>,
    filters: String,
}

impl From<GroupRow> for EndpointGroup {
    fn from(row: GroupRow) -> Self {
        EndpointGroup {
            id: row.id,
            name: row.name,
            description: row.description,
            filters: serde_json::from_str(&row.filters).unwrap_or_default(),
        }
    }
}

fn group_not_found(id: &str) -> Error {
    Error::NotFound(format!("Could not find Endpoint Group: {id}."))
}

fn get_group(conn: &mut Conn, id: &str) -> Result<EndpointGroup, Error> {
    endpoint_groups::table
        .find(id)
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?
        .map(EndpointGroup::from)
        .ok_or_else(|| group_not_found(id))
}

fn get_project(conn: &mut Conn, id: &str) -> Result<Project, Error> {
    resource::get_project(conn, id)?.ok_or_else(|| resource::not_found_project(id))
}

fn get_endpoint(conn: &mut Conn, id: &str) -> Result<Endpoint, Error> {
    catalog_store::get_endpoint(conn, id)?.ok_or_else(|| catalog_store::not_found_endpoint(id))
}

/// Whether an endpoint has every attribute value a group's filters name.
fn selects(filters: &Map<String, Value>, e: &Endpoint) -> bool {
    filters.iter().all(|(key, wanted)| {
        let actual = match key.as_str() {
            "service_id" => Value::from(e.service_id.clone()),
            "region_id" => e.region_id.clone().map_or(Value::Null, Value::from),
            "interface" => Value::from(e.interface.clone()),
            "enabled" => Value::from(e.enabled),
            "url" => Value::from(e.url.clone()),
            "id" => Value::from(e.id.clone()),
            _ => return false,
        };
        &actual == wanted
    })
}

fn groups_of_project(conn: &mut Conn, project_id: &str) -> Result<Vec<EndpointGroup>, Error> {
    let ids: Vec<String> = project_endpoint_groups::table
        .filter(project_endpoint_groups::project_id.eq(project_id))
        .select(project_endpoint_groups::endpoint_group_id)
        .load(conn)?;
    Ok(endpoint_groups::table
        .filter(endpoint_groups::id.eq_any(ids))
        .order(endpoint_groups::id.asc())
        .select(GroupRow::as_select())
        .load(conn)?
        .into_iter()
        .map(EndpointGroup::from)
        .collect())
}

/// The endpoints associated with a project, directly or through its
/// endpoint groups, each once.
fn endpoints_for_project(conn: &mut Conn, project_id: &str) -> Result<Vec<Endpoint>, Error> {
    let direct: BTreeSet<String> = project_endpoints::table
        .filter(project_endpoints::project_id.eq(project_id))
        .select(project_endpoints::endpoint_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let groups = groups_of_project(conn, project_id)?;
    if direct.is_empty() && groups.is_empty() {
        return Ok(Vec::new());
    }
    let all = catalog_store::list_endpoints(conn, &Default::default())?;
    Ok(all
        .into_iter()
        .filter(|e| direct.contains(&e.id) || groups.iter().any(|g| selects(&g.filters, e)))
        .collect())
}

/// The ids of the endpoints a project's catalog is limited to, or `None`
/// when the project has no association and sees every endpoint.
pub fn catalog_filter(
    conn: &mut Conn,
    project_id: &str,
) -> Result<Option<BTreeSet<String>>, Error> {
    let endpoints = endpoints_for_project(conn, project_id)?;
    Ok((!endpoints.is_empty()).then(|| endpoints.into_iter().map(|e| e.id).collect()))
}

fn project_endpoint(
    conn: &mut Conn,
    project_id: &str,
    endpoint_id: &str,
    change: Membership,
) -> Result<(), Error> {
    let row = project_endpoints::table.find((endpoint_id, project_id));
    let exists = row.count().get_result::<i64>(conn)? > 0;
    let missing = || {
        Error::NotFound(format!(
            "Endpoint {endpoint_id} not found in project {project_id}"
        ))
    };
    if change != Membership::Remove {
        get_endpoint(conn, endpoint_id)?;
        get_project(conn, project_id)?;
    }
    match (change, exists) {
        (Membership::Check, true) => Ok(()),
        (Membership::Add, false) => {
            diesel::insert_into(project_endpoints::table)
                .values((
                    project_endpoints::endpoint_id.eq(endpoint_id),
                    project_endpoints::project_id.eq(project_id),
                ))
                .execute(conn)?;
            Ok(())
        }
        (Membership::Add, true) => Err(Error::Conflict(
            "Conflict occurred attempting to store project_endpoint - Duplicate entry.".into(),
        )),
        (Membership::Remove, true) => {
            diesel::delete(row).execute(conn)?;
            Ok(())
        }
        (Membership::Check | Membership::Remove, false) => Err(missing()),
    }
}

fn project_endpoint_group(
    conn: &mut Conn,
    group_id: &str,
    project_id: &str,
    change: Membership,
) -> Result<(), Error> {
    get_project(conn, project_id)?;
    get_group(conn, group_id)?;
    let row = project_endpoint_groups::table.find((group_id, project_id));
    let exists = row.count().get_result::<i64>(conn)? > 0;
    match (change, exists) {
        (Membership::Check, true) => Ok(()),
        (Membership::Add, false) => {
            diesel::insert_into(project_endpoint_groups::table)
                .values((
                    project_endpoint_groups::endpoint_group_id.eq(group_id),
                    project_endpoint_groups::project_id.eq(project_id),
                ))
                .execute(conn)?;
            Ok(())
        }
        (Membership::Add, true) => Err(Error::Conflict(
            "Conflict occurred attempting to store project_endpoint_group - Duplicate entry."
                .into(),
        )),
        (Membership::Remove, true) => {
            diesel::delete(row).execute(conn)?;
            Ok(())
        }
        (Membership::Check | Membership::Remove, false) => Err(Error::NotFound(
            "Endpoint Group Project Association not found".into(),
        )),
    }
}

impl Catalog {
    pub async fn create_endpoint_group(
        &self,
        caller: &Caller,
        new: Input<NewEndpointGroup>,
    ) -> Result<EndpointGroup, Error> {
        self.write(caller, policy::MANAGE_ENDPOINT_FILTERS, new, |conn, new| {
            check_filters(&new.filters, true)?;
            let row = GroupRow {
                id: new_id(),
                name: new.name,
                description: new.description,
                filters: Value::Object(new.filters).to_string(),
            };
            diesel::insert_into(endpoint_groups::table)
                .values(&row)
                .execute(conn)?;
            Ok(row.into())
        })
        .await
    }

    /// Every endpoint group, or those of one name.
    pub async fn list_endpoint_groups(
        &self,
        caller: &Caller,
        name: Option<String>,
    ) -> Result<Vec<EndpointGroup>, Error> {
        self.read(
            caller,
            policy::READ_ENDPOINT_FILTERS,
            Ok(name),
            |conn, name| {
                let mut query = endpoint_groups::table
                    .select(GroupRow::as_select())
                    .order(endpoint_groups::id.asc())
                    .into_boxed();
                if let Some(name) = name {
                    query = query.filter(endpoint_groups::name.eq(name));
                }
                Ok(query
                    .load(conn)?
                    .into_iter()
                    .map(EndpointGroup::from)
                    .collect())
            },
        )
        .await
    }

    pub async fn get_endpoint_group(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<EndpointGroup, Error> {
        self.read(caller, policy::READ_ENDPOINT_FILTERS, id, |conn, id| {
            get_group(conn, &id)
        })
        .await
    }

    pub async fn update_endpoint_group(
        &self,
        caller: &Caller,
        change: Input<(String, EndpointGroupPatch)>,
    ) -> Result<EndpointGroup, Error> {
        self.write(
            caller,
            policy::MANAGE_ENDPOINT_FILTERS,
            change,
            |conn, (id, patch)| {
                if let Some(filters) = &patch.filters {
                    check_filters(filters, false)?;
                }
                let mut group = get_group(conn, &id)?;
                if let Some(name) = patch.name {
                    group.name = name;
                }
                if let Some(description) = patch.description {
                    group.description = description;
                }
                if let Some(filters) = patch.filters {
                    group.filters = filters;
                }
                diesel::update(endpoint_groups::table.find(&id))
                    .set((
                        endpoint_groups::name.eq(&group.name),
                        endpoint_groups::description.eq(&group.description),
                        endpoint_groups::filters
                            .eq(Value::Object(group.filters.clone()).to_string()),
                    ))
                    .execute(conn)?;
                Ok(group)
            },
        )
        .await
    }

    /// An endpoint group and its project associations.
    pub async fn delete_endpoint_group(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<(), Error> {
        self.write(caller, policy::MANAGE_ENDPOINT_FILTERS, id, |conn, id| {
            get_group(conn, &id)?;
            diesel::delete(endpoint_groups::table.find(&id)).execute(conn)?;
            Ok(())
        })
        .await
    }

    /// The endpoints a group selects.
    pub async fn endpoints_in_group(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Vec<Endpoint>, Error> {
        self.read(caller, policy::READ_ENDPOINT_FILTERS, id, |conn, id| {
            let group = get_group(conn, &id)?;
            let all = catalog_store::list_endpoints(conn, &Default::default())?;
            Ok(all
                .into_iter()
                .filter(|e| selects(&group.filters, e))
                .collect())
        })
        .await
    }

    /// The projects associated with a group (none for a missing group,
    /// as in Keystone).
    pub async fn projects_of_group(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Vec<Project>, Error> {
        self.read(caller, policy::READ_ENDPOINT_FILTERS, id, |conn, id| {
            let ids: Vec<String> = project_endpoint_groups::table
                .filter(project_endpoint_groups::endpoint_group_id.eq(&id))
                .select(project_endpoint_groups::project_id)
                .load(conn)?;
            resource::list_projects_by_ids(conn, &ids)
        })
        .await
    }

    /// The projects an endpoint is directly associated with.
    pub async fn projects_of_endpoint(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Vec<Project>, Error> {
        self.read(caller, policy::READ_ENDPOINT_FILTERS, id, |conn, id| {
            get_endpoint(conn, &id)?;
            let ids: Vec<String> = project_endpoints::table
                .filter(project_endpoints::endpoint_id.eq(&id))
                .select(project_endpoints::project_id)
                .load(conn)?;
            resource::list_projects_by_ids(conn, &ids)
        })
        .await
    }

    /// The endpoints a project's catalog is limited to.
    pub async fn endpoints_of_project(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Vec<Endpoint>, Error> {
        self.read(caller, policy::READ_ENDPOINT_FILTERS, id, |conn, id| {
            get_project(conn, &id)?;
            endpoints_for_project(conn, &id)
        })
        .await
    }

    /// The endpoint groups associated with a project.
    pub async fn groups_of_project(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Vec<EndpointGroup>, Error> {
        self.read(caller, policy::READ_ENDPOINT_FILTERS, id, |conn, id| {
            get_project(conn, &id)?;
            groups_of_project(conn, &id)
        })
        .await
    }

    /// Checks, adds or removes a project's association with an endpoint
    /// (`input`: project, endpoint).
    pub async fn project_endpoint(
        &self,
        caller: &Caller,
        change: Membership,
        input: Input<(String, String)>,
    ) -> Result<(), Error> {
        self.membership(caller, change, input, project_endpoint)
            .await
    }

    /// Checks, adds or removes a project's association with a group
    /// (`input`: group, project).
    pub async fn project_endpoint_group(
        &self,
        caller: &Caller,
        change: Membership,
        input: Input<(String, String)>,
    ) -> Result<(), Error> {
        self.membership(caller, change, input, project_endpoint_group)
            .await
    }

    /// A check (for readers) or a change (for admins) of an association.
    async fn membership(
        &self,
        caller: &Caller,
        change: Membership,
        input: Input<(String, String)>,
        apply: fn(&mut Conn, &str, &str, Membership) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let work = move |conn: &mut Conn, (a, b): (String, String)| apply(conn, &a, &b, change);
        match change {
            Membership::Check => {
                self.read(caller, policy::READ_ENDPOINT_FILTERS, input, work)
                    .await
            }
            _ => {
                self.write(caller, policy::MANAGE_ENDPOINT_FILTERS, input, work)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(region: Option<&str>) -> Endpoint {
        Endpoint {
            id: "e1".into(),
            service_id: "s1".into(),
            region_id: region.map(str::to_string),
            interface: "public".into(),
            url: "http://x".into(),
            enabled: true,
            extra: "{}".into(),
        }
    }

    #[test]
    fn filters_select_by_every_attribute_they_name() {
        let f = |v: Value| v.as_object().cloned().unwrap_or_default();
        let e = endpoint(Some("r1"));
        assert!(selects(
            &f(serde_json::json!({"service_id": "s1", "interface": "public"})),
            &e
        ));
        assert!(!selects(
            &f(serde_json::json!({"service_id": "s1", "interface": "admin"})),
            &e
        ));
        assert!(selects(
            &f(serde_json::json!({"region_id": null})),
            &endpoint(None)
        ));
        assert!(!selects(&f(serde_json::json!({"region_id": null})), &e));
        assert!(!selects(&f(serde_json::json!({"nothing": 1})), &e));
    }

    #[test]
    fn filters_must_name_endpoint_attributes() {
        let f = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(check_filters(&f(serde_json::json!({})), true).is_err());
        assert!(check_filters(&f(serde_json::json!({})), false).is_ok());
        assert!(check_filters(&f(serde_json::json!({"enabled": true})), true).is_err());
        assert!(check_filters(&f(serde_json::json!({"interface": "public"})), true).is_ok());
    }
}
