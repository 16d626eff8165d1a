//! Identity administration: domains, projects and users (rules and
//! storage in `crate::resource`, `crate::identity` and `crate::cascade`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::crud::{Create, Entity, Names};
use super::http::{
    base_url, bool_filter, caller, gone, id_of, oslo_bool, page_marker, paged_collection,
    query_filter_is_true, query_pairs, JsonBody, Resp,
};
use super::input::{
    change_string, extra_attributes, matching_id, member, opt_bool, opt_string, path_id, req_string,
};
use super::render;
use crate::error::Error;
use crate::identity::{User, UserChange, UserDetails, UserFilter, UserInput};
use crate::policy::{Caller, Input};
use crate::resource::{
    Domain, DomainFilter, DomainInput, DomainPatch, Project, ProjectFilter, ProjectInput,
    ProjectPatch, TagFilter,
};
use crate::secret::Secret;
use crate::AppState;

fn name_field(map: &Map<String, Value>, max: usize) -> Result<Option<String>, Error> {
    match opt_string(map, "name", max)? {
        Some(n) if n.trim().is_empty() => Err(Error::invalid("name", "the name must not be blank")),
        other => Ok(other),
    }
}

// ---- domains ----

/// `/v3/domains`.
pub struct Domains;

impl Entity for Domains {
    const NAMES: Names = Names {
        member: "domain",
        collection: "domains",
        id: "domain id",
    };
    type Item = Domain;
    type Patch = Input<DomainPatch>;
    type Filter = DomainFilter;

    /// Keystone's domain PATCH ignores an `id` in the body, whatever it says.
    fn parse_patch(body: &Value, _: &str, _: &AppState) -> Self::Patch {
        let d = member(body, "domain")?;
        Ok(DomainPatch {
            name: name_field(d, 64)?,
            description: change_string(d, "description", 65_535)?,
            enabled: opt_bool(d, "enabled")?,
            tags: tags_field(d)?,
            extra: extra_attributes(d, &DOMAIN_FIELDS, false),
        })
    }

    fn filter(req: &HttpRequest) -> Result<DomainFilter, Error> {
        let mut filter = DomainFilter {
            marker: page_marker(req),
            ..Default::default()
        };
        for (k, v) in query_pairs(req) {
            match k.as_str() {
                "name" => filter.name = Some(v),
                "enabled" => filter.enabled = Some(bool_filter(&v)?),
                _ => tag_filter(&mut filter.tags, &k, v),
            }
        }
        Ok(filter)
    }

    fn render(item: &Domain, base: &str) -> Value {
        render::domain(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        filter: DomainFilter,
    ) -> Result<Vec<Domain>, Error> {
        state.resources.list_domains(caller, filter).await
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Domain, Error> {
        state.resources.get_domain(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Domain, Error> {
        let change = patch.and_then(|p| Ok((id?, p)));
        state.resources.update_domain(caller, change).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.cascade.delete_domain(caller, id).await
    }
}

/// The attributes Keystone keeps in a domain's columns (or as its
/// options, tags, links and id); every other one is stored in `extra`.
const DOMAIN_FIELDS: [&str; 9] = [
    "id",
    "name",
    "description",
    "enabled",
    "tags",
    "options",
    "links",
    "extra",
    "explicit_domain_id",
];

impl Create for Domains {
    type New = Input<DomainInput>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let d = member(body, "domain")?;
        Ok(DomainInput {
            name: req_string(d, "name", 64)?,
            description: opt_string(d, "description", 65_535)?,
            enabled: opt_bool(d, "enabled")?.unwrap_or(true),
            tags: tags_field(d)?.unwrap_or_default(),
            extra: extra_attributes(d, &DOMAIN_FIELDS, true),
        })
    }

    async fn create(state: &AppState, caller: &Caller, new: Self::New) -> Result<Domain, Error> {
        state.resources.create_domain(caller, new).await
    }
}

// ---- projects ----

/// Keystone's tag filters on a listing; other parameters are ignored.
fn tag_filter(filter: &mut TagFilter, name: &str, value: String) {
    let tags = || Some(value.split(',').map(str::to_string).collect());
    match name {
        "tags" => filter.all = tags(),
        "tags-any" => filter.any = tags(),
        "not-tags" => filter.not_all = tags(),
        "not-tags-any" => filter.not_any = tags(),
        _ => {}
    }
}

/// The values Keystone's query schema allows for `is_domain`; an empty
/// one means true, as oslo reads it.
fn is_domain_filter(value: &str) -> Result<bool, Error> {
    const ALLOWED: [&str; 19] = [
        "True", "TRUE", "true", "False", "FALSE", "false", "", "1", "0", "y", "Y", "n", "N", "on",
        "ON", "off", "OFF", "yes", "no",
    ];
    if !ALLOWED.contains(&value) {
        return Err(Error::BadRequest(format!(
            "Invalid input for field/attribute is_domain. Value: {value}. '{value}' is not one of [True, 'True', 'TRUE', 'true', False, 'False', 'FALSE', 'false', '', '1', '0', 'y', 'Y', 'n', 'N', 'on', 'ON', 'off', 'OFF', 'yes', 'no']"
        )));
    }
    Ok(oslo_bool(value).unwrap_or(true))
}

fn tags_field(map: &Map<String, Value>) -> Result<Option<Vec<String>>, Error> {
    match map.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::invalid("tags", &format!("{t} is not of type 'string'")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(Error::invalid(
            "tags",
            &format!("{other} is not of type 'array'"),
        )),
    }
}

/// `GET /v3/projects/{project_id}/tags`.
pub async fn list_project_tags(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let project = id_of(path, "project id");
    let tags = state.resources.project_tags(&caller, project).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "tags": tags })))
}

/// `DELETE /v3/projects/{project_id}/tags`: removes them all.
pub async fn delete_project_tags(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let project = id_of(path, "project id");
    let rule = crate::policy::DELETE_PROJECT_TAGS;
    let none = Ok(Vec::new());
    state
        .resources
        .replace_project_tags(&caller, rule, project, none)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /v3/projects/{project_id}/tags`: `{"tags": [...]}` replaces them
/// all.
pub async fn replace_project_tags(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let project = id_of(path, "project id");
    let tags = match body.0.as_object().map(tags_field) {
        Some(Ok(Some(tags))) => Ok(tags),
        Some(Err(e)) => Err(e),
        _ => Err(Error::invalid("tags", "{} is not of type 'array'")),
    };
    let tags = state
        .resources
        .replace_project_tags(&caller, crate::policy::UPDATE_PROJECT_TAGS, project, tags)
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "tags": tags })))
}

/// `GET`, `PUT` and `DELETE /v3/projects/{project_id}/tags/{tag}`.
pub async fn project_tag(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let (project_id, tag) = path.into_inner();
    let project = path_id(&project_id, "project id").map(|_| project_id.clone());
    let resources = &state.resources;
    match *req.method() {
        actix_web::http::Method::PUT => {
            resources
                .change_project_tag(&caller, project, tag.clone(), true)
                .await?;
            // The tag as the request spelled it (percent-encoded): a
            // decoded control character is no header value.
            let spelled = req.path().rsplit('/').next().unwrap_or_default();
            let location = format!(
                "{}/projects/{project_id}/tags/{spelled}",
                base_url(&req, &state)
            );
            Ok(HttpResponse::Created()
                .insert_header(("Location", location))
                .finish())
        }
        actix_web::http::Method::DELETE => {
            resources
                .change_project_tag(&caller, project, tag, false)
                .await?;
            Ok(HttpResponse::NoContent().finish())
        }
        _ => {
            resources.check_project_tag(&caller, project, &tag).await?;
            Ok(HttpResponse::NoContent().finish())
        }
    }
}

/// The attributes Keystone keeps in a project's columns (or as its
/// options, links and id); every other one is stored in `extra`
/// (`openstack project set --property k=v`).
const PROJECT_FIELDS: [&str; 11] = [
    "id",
    "name",
    "domain_id",
    "description",
    "enabled",
    "parent_id",
    "is_domain",
    "tags",
    "options",
    "links",
    "extra",
];

/// `/v3/projects`.
pub struct Projects;

impl Entity for Projects {
    const NAMES: Names = Names {
        member: "project",
        collection: "projects",
        id: "project id",
    };
    const READ_ID_BEFORE_TOKEN: bool = true;
    type Item = Project;
    type Patch = Input<ProjectPatch>;
    type Filter = ProjectFilter;

    fn parse_patch(body: &Value, path_id: &str, _: &AppState) -> Self::Patch {
        let p = member(body, "project")?;
        matching_id(p, path_id)?;
        Ok(ProjectPatch {
            domain_id: change_string(p, "domain_id", 64)?,
            parent_id: change_string(p, "parent_id", 64)?,
            is_domain: opt_bool(p, "is_domain")?,
            name: name_field(p, 64)?,
            description: change_string(p, "description", 65_535)?,
            enabled: opt_bool(p, "enabled")?,
            tags: tags_field(p)?,
            extra: extra_attributes(p, &PROJECT_FIELDS, false),
        })
    }

    fn filter(req: &HttpRequest) -> Result<ProjectFilter, Error> {
        let mut filter = ProjectFilter {
            marker: page_marker(req),
            ..Default::default()
        };
        for (k, v) in query_pairs(req) {
            match k.as_str() {
                "name" => filter.name = Some(v),
                "domain_id" => filter.domain_id = Some(v),
                "parent_id" => filter.parent_id = Some(v),
                "enabled" => filter.enabled = Some(bool_filter(&v)?),
                "is_domain" => filter.is_domain = is_domain_filter(&v)?,
                _ => tag_filter(&mut filter.tags, &k, v),
            }
        }
        Ok(filter)
    }

    fn render(item: &Project, base: &str) -> Value {
        render::project(item, base)
    }

    /// Keystone's `update_project` answers with the `extra` dict as well.
    fn render_updated(item: &Project, base: &str) -> Value {
        let mut body = render::project(item, base);
        body["extra"] = Value::Object(item.extra.clone());
        body
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        filter: ProjectFilter,
    ) -> Result<Vec<Project>, Error> {
        state.resources.list_projects(caller, filter).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Project, Error> {
        state.resources.update_project(caller, id, patch).await
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Project, Error> {
        state.resources.get_project(caller, id).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.cascade.delete_project(caller, id).await
    }
}

impl Create for Projects {
    type New = Input<ProjectInput>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let p = member(body, "project")?;
        let name = req_string(p, "name", 64)?;
        let description = opt_string(p, "description", 65_535)?;
        let enabled = opt_bool(p, "enabled")?.unwrap_or(true);
        let tags = tags_field(p)?.unwrap_or_default();
        Ok(ProjectInput {
            is_domain: opt_bool(p, "is_domain")?.unwrap_or(false),
            name,
            description,
            enabled,
            tags,
            parent_id: opt_string(p, "parent_id", 64)?,
            domain_id: opt_string(p, "domain_id", 64)?,
            extra: extra_attributes(p, &PROJECT_FIELDS, true),
        })
    }

    async fn create(state: &AppState, caller: &Caller, new: Self::New) -> Result<Project, Error> {
        state.resources.create_project(caller, new).await
    }
}

// ---- users ----

const USER_FIELDS: [&str; 7] = [
    "id",
    "name",
    "domain_id",
    "password",
    "enabled",
    "default_project_id",
    "options",
];

/// Everything that is not a known field is Keystone's "extra" (email, …).
fn user_extra(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| {
            !USER_FIELDS.contains(&k.as_str())
                && k.as_str() != "password_expires_at"
                && k.as_str() != "links"
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn password_field(map: &Map<String, Value>, max: usize) -> Result<Option<Secret>, Error> {
    match map.get("password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(p)) if p.len() > max => Err(Error::invalid(
            "password",
            &format!("the password is longer than {max} bytes"),
        )),
        Some(Value::String(p)) => Ok(Some(Secret::new(p.clone()))),
        Some(_) => Err(Error::invalid(
            "password",
            "the value is not of type 'string'",
        )),
    }
}

/// `GET /v3/projects/{project_id}`, with Keystone's hierarchy switches
/// (`parents_as_list`, `subtree_as_ids`, …, `include_limits`).
pub async fn get_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let id = Ok(id_of(path, Projects::NAMES.id)?);
    let caller = caller(&state, &req).await?;
    let expansion = crate::hierarchy::expansion(|name| query_filter_is_true(&req, name));
    let tree = state.hierarchy.show_project(&caller, id, expansion).await?;
    let body = render::project_tree(&tree, &base_url(&req, &state));
    Ok(HttpResponse::Ok().json(serde_json::json!({ "project": body })))
}

/// `/v3/users`.
pub struct Users;

impl Entity for Users {
    const NAMES: Names = Names {
        member: "user",
        collection: "users",
        id: "user id",
    };
    const READ_ID_BEFORE_TOKEN: bool = true;
    type Item = User;
    /// The shape is checked before the user is looked up, the fields
    /// after the rule passed: Keystone's order.
    type Patch = Input<Input<UserChange>>;
    type Filter = UserFilter;

    fn parse_patch(body: &Value, path_id: &str, state: &AppState) -> Self::Patch {
        let max_password = state.config.identity.max_password_length;
        let u = member(body, "user")?;
        matching_id(u, path_id)?;
        Ok((|| {
            let password = password_field(u, max_password)?;
            Ok(UserChange {
                domain_id: change_string(u, "domain_id", 64)?,
                password,
                name: name_field(u, 255)?,
                enabled: opt_bool(u, "enabled")?,
                default_project_id: change_string(u, "default_project_id", 64)?,
                extra: user_extra(u),
            })
        })())
    }

    fn filter(req: &HttpRequest) -> Result<UserFilter, Error> {
        let mut filter = UserFilter {
            marker: page_marker(req),
            ..Default::default()
        };
        for (k, v) in query_pairs(req) {
            match k.as_str() {
                "name" => filter.name = Some(v),
                "domain_id" => filter.domain_id = Some(v),
                "enabled" => filter.enabled = Some(bool_filter(&v)?),
                _ => {}
            }
        }
        Ok(filter)
    }

    fn render(item: &User, base: &str) -> Value {
        render::user(item, base)
    }

    /// Keystone's `update_user` answers with the `extra` dict as well.
    fn render_updated(item: &User, base: &str) -> Value {
        let mut body = render::user(item, base);
        body["extra"] = Value::Object(item.extra.clone());
        body
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<User, Error> {
        state.users.get(caller, id).await
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        filter: UserFilter,
    ) -> Result<Vec<User>, Error> {
        state.users.list(caller, filter).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.cascade.delete_user(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<User, Error> {
        state.users.update(caller, id, patch).await
    }
}

impl Create for Users {
    type New = Input<UserInput>;

    fn parse_new(body: &Value, state: &AppState) -> Self::New {
        let max_password = state.config.identity.max_password_length;
        let u = member(body, "user")?;
        let details = (|| {
            Ok(UserDetails {
                enabled: opt_bool(u, "enabled")?.unwrap_or(true),
                default_project_id: opt_string(u, "default_project_id", 64)?,
                extra: user_extra(u),
                password: password_field(u, max_password)?,
            })
        })();
        Ok(UserInput {
            name: req_string(u, "name", 255)?,
            domain_id: opt_string(u, "domain_id", 64)?,
            details,
        })
    }

    async fn create(state: &AppState, caller: &Caller, new: Self::New) -> Result<User, Error> {
        state.users.create(caller, new).await
    }
}

/// `POST /v3/users/{user_id}/password`: self-service, with the original
/// password instead of a token (as Keystone).
pub async fn change_password(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let user_id = id_of(path, "user id")?;
    let u = member(&body.0, "user")?;
    let original = match u.get("original_password") {
        Some(Value::String(p)) => Secret::new(p.clone()),
        _ => {
            return Err(Error::invalid(
                "user",
                "'original_password' is a required property",
            ))
        }
    };
    let new = password_field(u, state.config.identity.max_password_length)?
        .ok_or_else(|| Error::invalid("user", "'password' is a required property"))?;
    state
        .users
        .change_password(user_id, original, new)
        .await
        .map(gone)
}

/// `DELETE /v3/users/{user_id}/tokens`.
pub async fn revoke_user_tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    state
        .users
        .revoke_tokens(&caller, id_of(path, "user id"))
        .await
        .map(gone)
}

/// `GET /v3/users/{user_id}/projects`: projects the user has a role on.
pub async fn list_user_projects(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let user_id = path.into_inner();
    let checked = path_id(&user_id, "user id").map(|_| user_id.clone());
    let projects = state.assignments.projects_of_user(&caller, checked).await?;
    let base = base_url(&req, &state);
    let items = projects.iter().map(|p| render::project(p, &base)).collect();
    let path = format!("/users/{user_id}/projects");
    Ok(HttpResponse::Ok().json(paged_collection("projects", items, &req, &base, &path)?))
}
