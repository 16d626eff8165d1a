//! OS-EP-FILTER (rules and storage in `crate::catalog::filter`).
//!
//! Keystone validates these bodies and queries against its JSON schemas
//! before the policy check (a malformed body is a 400 even for a caller
//! the policy refuses), and checks the filters' names after it; the
//! parsers below keep that order.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::crud::{Create, Entity, Names};
use super::http::{base_url, caller, query_pairs, Resp};
use super::input::path_id;
use super::render;
use crate::catalog::filter::{EndpointGroup, EndpointGroupPatch, Membership, NewEndpointGroup};
use crate::error::Error;
use crate::policy::{Caller, Input};
use crate::resource::Project;
use crate::AppState;

/// Keystone's `parameter_types.name`: 1 to 255 characters, not all
/// blank.
fn check_name(field: &str, value: &Value) -> Result<String, Error> {
    match value {
        Value::String(s) if s.is_empty() => Err(Error::invalid(field, "'' is too short")),
        Value::String(s) if s.chars().count() > 255 => {
            Err(Error::invalid(field, &format!("'{s}' is too long")))
        }
        Value::String(s) if s.chars().all(char::is_whitespace) => Err(Error::invalid(
            field,
            &format!("'{s}' does not match '[\\\\S]+'"),
        )),
        Value::String(s) => Ok(s.clone()),
        other => Err(Error::invalid(
            field,
            &format!("{other} is not of type 'string'"),
        )),
    }
}

/// The filters object under Keystone's schema: an object whose known
/// keys have the right types. Unknown keys pass here and are refused
/// after the policy check ([`crate::catalog::filter::check_filters`]).
fn schema_filters(value: &Value) -> Result<Map<String, Value>, Error> {
    let Value::Object(filters) = value else {
        return Err(Error::invalid(
            "filters",
            &format!("{value} is not of type 'object'"),
        ));
    };
    for (key, v) in filters {
        let ok = match key.as_str() {
            "interface" => matches!(v.as_str(), Some("admin" | "internal" | "public")),
            "service_id" => v.is_string(),
            "region_id" => v.is_string() || v.is_null(),
            "enabled" => v.is_boolean(),
            _ => true,
        };
        if !ok {
            return Err(Error::invalid(
                &format!("filters.{key}"),
                &format!("{v} is not valid here"),
            ));
        }
    }
    Ok(filters.clone())
}

/// `{"endpoint_group": {…}}` checked against Keystone's create or update
/// schema; the group's attributes, or `None` for an empty create body.
fn schema_group(body: &Value, create: bool) -> Result<Option<Map<String, Value>>, Error> {
    let empty = Map::new();
    let top = match body {
        Value::Null => &empty,
        Value::Object(m) => m,
        other => {
            return Err(Error::invalid(
                "request body",
                &format!("{other} is not of type 'object'"),
            ))
        }
    };
    if let Some(k) = top.keys().find(|k| *k != "endpoint_group") {
        return Err(Error::BadRequest(format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        )));
    }
    let group = match top.get("endpoint_group") {
        None if create => return Ok(None),
        None => return Err(Error::expecting("endpoint_group", "request body")),
        Some(Value::Object(g)) => g,
        Some(other) => {
            return Err(Error::invalid(
                "endpoint_group",
                &format!("{other} is not of type 'object'"),
            ))
        }
    };
    if let Some(k) = group
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "description" | "filters"))
    {
        return Err(Error::invalid(
            "endpoint_group",
            &format!("Additional properties are not allowed ('{k}' was unexpected)"),
        ));
    }
    if create {
        for key in ["name", "filters"] {
            if !group.contains_key(key) {
                return Err(Error::invalid(
                    key,
                    &format!("'{key}' is a required property"),
                ));
            }
        }
    } else if group.is_empty() {
        return Err(Error::invalid(
            "endpoint_group",
            "{} does not have enough properties",
        ));
    }
    if let Some(name) = group.get("name") {
        check_name("name", name)?;
    }
    if let Some(filters) = group.get("filters") {
        schema_filters(filters)?;
    }
    match group.get("description") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(other) => {
            return Err(Error::invalid(
                "description",
                &format!("{other} is not of type 'string', 'null'"),
            ))
        }
    }
    Ok(Some(group.clone()))
}

fn description(group: &Map<String, Value>) -> Option<String> {
    group
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// `/v3/OS-EP-FILTER/endpoint_groups`.
pub struct EndpointGroups;

impl Entity for EndpointGroups {
    const NAMES: Names = Names {
        member: "endpoint_group",
        collection: "endpoint_groups",
        id: "endpoint group id",
    };
    type Item = EndpointGroup;
    /// A schema error (answered before the policy check), or the change.
    type Patch = Result<EndpointGroupPatch, Error>;
    /// `?name=`, the only query Keystone's schema allows.
    type Filter = Option<String>;

    fn path() -> String {
        "/OS-EP-FILTER/endpoint_groups".into()
    }

    fn parse_patch(body: &Value, _: &str, _: &AppState) -> Self::Patch {
        let group = schema_group(body, false)?.unwrap_or_default();
        Ok(EndpointGroupPatch {
            name: group
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string),
            description: group
                .contains_key("description")
                .then(|| description(&group)),
            filters: group.get("filters").and_then(Value::as_object).cloned(),
        })
    }

    fn filter(req: &HttpRequest) -> Result<Self::Filter, Error> {
        let mut name = None;
        for (key, value) in query_pairs(req) {
            if key != "name" {
                return Err(Error::BadRequest(format!(
                    "Additional properties are not allowed ('{key}' was unexpected)"
                )));
            }
            name = Some(check_name("name", &Value::String(value))?);
        }
        Ok(name)
    }

    fn render(item: &EndpointGroup, base: &str) -> Value {
        render::endpoint_group(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        name: Self::Filter,
    ) -> Result<Vec<EndpointGroup>, Error> {
        state.catalog.list_endpoint_groups(caller, name).await
    }

    async fn get(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<EndpointGroup, Error> {
        state.catalog.get_endpoint_group(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<EndpointGroup, Error> {
        let patch = patch?;
        state
            .catalog
            .update_endpoint_group(caller, id.map(|id| (id, patch)))
            .await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.catalog.delete_endpoint_group(caller, id).await
    }
}

impl Create for EndpointGroups {
    /// A schema error (answered before the policy check), or the group.
    type New = Result<NewEndpointGroup, Error>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let group = schema_group(body, true)?.unwrap_or_default();
        Ok(NewEndpointGroup {
            name: group
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            description: description(&group),
            filters: group
                .get("filters")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        })
    }

    async fn create(
        state: &AppState,
        caller: &Caller,
        new: Self::New,
    ) -> Result<EndpointGroup, Error> {
        let new = new?;
        state.catalog.create_endpoint_group(caller, Ok(new)).await
    }
}

fn membership(req: &HttpRequest) -> Membership {
    match *req.method() {
        actix_web::http::Method::PUT => Membership::Add,
        actix_web::http::Method::DELETE => Membership::Remove,
        _ => Membership::Check,
    }
}

fn checked(id: String, what: &str) -> Input<String> {
    path_id(&id, what).map(|_| id)
}

fn projects(list: &[Project], req: &HttpRequest, state: &AppState) -> Resp {
    let base = base_url(req, state);
    let items: Vec<Value> = list.iter().map(|p| render::project(p, &base)).collect();
    Ok(HttpResponse::Ok().json(listed("projects", items, req, &base)))
}

fn endpoints(list: &[crate::catalog::Endpoint], req: &HttpRequest, state: &AppState) -> Resp {
    let base = base_url(req, state);
    let items: Vec<Value> = list.iter().map(|e| render::endpoint(e, &base)).collect();
    Ok(HttpResponse::Ok().json(listed("endpoints", items, req, &base)))
}

/// A collection linked to the request's own path.
fn listed(key: &str, items: Vec<Value>, req: &HttpRequest, base: &str) -> Value {
    let path = req.path();
    let path = path.find("/v3").map_or(path, |at| &path[at + 3..]);
    json!({
        key: items,
        "links": {"self": format!("{base}{path}"), "next": null, "previous": null},
    })
}

/// `/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}`:
/// GET/HEAD check, PUT adds, DELETE removes; each a 204.
pub async fn project_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (project, endpoint) = path.into_inner();
    let input = checked(project, "project id").map(|p| (p, endpoint));
    state
        .catalog
        .project_endpoint(&caller, membership(&req), input)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}`:
/// GET/HEAD shows the association, PUT adds, DELETE removes.
pub async fn group_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (group, project) = path.into_inner();
    let change = membership(&req);
    let input = checked(project.clone(), "project id").map(|p| (group.clone(), p));
    state
        .catalog
        .project_endpoint_group(&caller, change, input)
        .await?;
    if change != Membership::Check {
        return Ok(HttpResponse::NoContent().finish());
    }
    // Keystone links the association by its path alone, without the base.
    Ok(HttpResponse::Ok().json(json!({"project_endpoint_group": {
        "endpoint_group_id": group,
        "project_id": project,
        "links": {"self": format!("/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}")},
    }})))
}

/// `GET /v3/OS-EP-FILTER/projects/{project_id}/endpoints`.
pub async fn project_endpoints(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let id = checked(path.into_inner(), "project id");
    let found = state.catalog.endpoints_of_project(&caller, id).await?;
    endpoints(&found, &req, &state)
}

/// `GET /v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups`.
pub async fn project_groups(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let id = checked(path.into_inner(), "project id");
    let found = state.catalog.groups_of_project(&caller, id).await?;
    let base = base_url(&req, &state);
    let items = found
        .iter()
        .map(|g| render::endpoint_group(g, &base))
        .collect();
    Ok(HttpResponse::Ok().json(listed("endpoint_groups", items, &req, &base)))
}

/// `GET /v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects`.
pub async fn endpoint_projects(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let id = checked(path.into_inner(), "endpoint id");
    let found = state.catalog.projects_of_endpoint(&caller, id).await?;
    projects(&found, &req, &state)
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints`.
pub async fn group_endpoints(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let id = checked(path.into_inner(), "endpoint group id");
    let found = state.catalog.endpoints_in_group(&caller, id).await?;
    endpoints(&found, &req, &state)
}

/// `GET /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects`.
pub async fn group_projects(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let id = checked(path.into_inner(), "endpoint group id");
    let found = state.catalog.projects_of_group(&caller, id).await?;
    projects(&found, &req, &state)
}
