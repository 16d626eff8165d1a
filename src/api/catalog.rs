//! The catalog API: regions, services and endpoints. Admins write;
//! admins and system readers read services and endpoints; any token reads
//! regions (Keystone's defaults).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::http::{base_url, caller, collection, query_pairs, JsonBody};
use super::input::{member, opt_bool, opt_string, path_id, req_string};
use crate::catalog::{self, EndpointFilter, EndpointPatch, NewEndpoint, ServicePatch};
use crate::error::Error;
use crate::policy::{self, Target};
use crate::AppState;

async fn admin(state: &AppState, req: &HttpRequest) -> Result<(), Error> {
    policy::enforce(
        policy::MANAGE_CATALOG,
        &caller(state, req).await?,
        Target::default(),
    )
}

async fn reader(state: &AppState, req: &HttpRequest) -> Result<(), Error> {
    policy::enforce(
        policy::READ_CATALOG,
        &caller(state, req).await?,
        Target::default(),
    )
}

fn query(req: &HttpRequest, name: &str) -> Option<String> {
    query_pairs(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

// ---- regions ----

pub async fn create_region(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let r = member(&body.0, "region")?;
    let id = opt_string(r, "id", 255)?;
    if let Some(id) = &id {
        path_id(id, "region id")?;
    }
    let description = opt_string(r, "description", 65_535)?.unwrap_or_default();
    let parent = opt_string(r, "parent_region_id", 255)?;
    let row = state
        .db
        .write(move |conn| {
            catalog::create_region(conn, id.as_deref(), &description, parent.as_deref())
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({"region": catalog::region_json(&row, &base_url(&req, &state))})))
}

pub async fn list_regions(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    caller(&state, &req).await?;
    let parent = query(&req, "parent_region_id");
    let rows = state
        .db
        .read(move |conn| catalog::list_regions(conn, parent.as_deref()))
        .await?;
    let base = base_url(&req, &state);
    let items = rows
        .iter()
        .map(|r| catalog::region_json(r, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("regions", items, &req, &base, "/regions")))
}

pub async fn get_region(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    caller(&state, &req).await?;
    let id = path.into_inner();
    path_id(&id, "region id")?;
    let row = state
        .db
        .read(move |conn| {
            catalog::get_region(conn, &id)?.ok_or_else(|| catalog::not_found_region(&id))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"region": catalog::region_json(&row, &base_url(&req, &state))})))
}

pub async fn update_region(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let r = member(&body.0, "region")?;
    if r.contains_key("id") {
        return Err(Error::BadRequest(
            "Update of `id` of a region is not allowed.".into(),
        ));
    }
    let description = opt_string(r, "description", 65_535)?;
    let parent = r
        .contains_key("parent_region_id")
        .then(|| opt_string(r, "parent_region_id", 255))
        .transpose()?;
    let id = path.into_inner();
    path_id(&id, "region id")?;
    let row = state
        .db
        .write(move |conn| {
            catalog::update_region(
                conn,
                &id,
                description.as_deref(),
                parent.as_ref().map(|p| p.as_deref()),
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"region": catalog::region_json(&row, &base_url(&req, &state))})))
}

pub async fn delete_region(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let id = path.into_inner();
    path_id(&id, "region id")?;
    state
        .db
        .write(move |conn| catalog::delete_region(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- services ----

pub async fn create_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let s = member(&body.0, "service")?;
    let service_type = req_string(s, "type", 255)?;
    let name = opt_string(s, "name", 255)?.unwrap_or_default();
    let description = opt_string(s, "description", 65_535)?;
    let enabled = opt_bool(s, "enabled")?.unwrap_or(true);
    let row = state
        .db
        .write(move |conn| {
            catalog::create_service(conn, &service_type, &name, description.as_deref(), enabled)
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({"service": catalog::service_json(&row, &base_url(&req, &state))})))
}

pub async fn list_services(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    reader(&state, &req).await?;
    let (service_type, name) = (query(&req, "type"), query(&req, "name"));
    let rows = state
        .db
        .read(move |conn| catalog::list_services(conn, service_type.as_deref(), name.as_deref()))
        .await?;
    let base = base_url(&req, &state);
    let items = rows
        .iter()
        .map(|s| catalog::service_json(s, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("services", items, &req, &base, "/services")))
}

pub async fn get_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    reader(&state, &req).await?;
    let id = path.into_inner();
    path_id(&id, "service id")?;
    let row = state
        .db
        .read(move |conn| {
            catalog::get_service(conn, &id)?.ok_or_else(|| catalog::not_found_service(&id))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"service": catalog::service_json(&row, &base_url(&req, &state))})))
}

pub async fn update_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let s = member(&body.0, "service")?;
    let patch = ServicePatch {
        service_type: opt_string(s, "type", 255)?,
        name: opt_string(s, "name", 255)?,
        description: s
            .contains_key("description")
            .then(|| opt_string(s, "description", 65_535))
            .transpose()?,
        enabled: opt_bool(s, "enabled")?,
    };
    let id = path.into_inner();
    path_id(&id, "service id")?;
    let row = state
        .db
        .write(move |conn| catalog::update_service(conn, &id, &patch))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"service": catalog::service_json(&row, &base_url(&req, &state))})))
}

pub async fn delete_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let id = path.into_inner();
    path_id(&id, "service id")?;
    state
        .db
        .write(move |conn| catalog::delete_service(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- endpoints ----

/// `region_id`, or the legacy `region` field.
fn region_field(e: &serde_json::Map<String, serde_json::Value>) -> Result<Option<String>, Error> {
    Ok(opt_string(e, "region_id", 255)?.or(opt_string(e, "region", 255)?))
}

pub async fn create_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let e = member(&body.0, "endpoint")?;
    let service_id = req_string(e, "service_id", 64)?;
    let interface = req_string(e, "interface", 16)?;
    let url = req_string(e, "url", 1024)?;
    let region_id = region_field(e)?;
    let enabled = opt_bool(e, "enabled")?.unwrap_or(true);
    catalog::check_endpoint(Some(&interface), Some(&url))?;
    let row = state
        .db
        .write(move |conn| {
            catalog::create_endpoint(
                conn,
                NewEndpoint {
                    service_id: &service_id,
                    interface: &interface,
                    url: &url,
                    region_id: region_id.as_deref(),
                    enabled,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(json!({"endpoint": catalog::endpoint_json(&row, &base_url(&req, &state))})))
}

pub async fn list_endpoints(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    reader(&state, &req).await?;
    let filter = EndpointFilter {
        interface: query(&req, "interface"),
        service_id: query(&req, "service_id"),
        region_id: query(&req, "region_id").or_else(|| query(&req, "region")),
    };
    let rows = state
        .db
        .read(move |conn| catalog::list_endpoints(conn, &filter))
        .await?;
    let base = base_url(&req, &state);
    let items = rows
        .iter()
        .map(|e| catalog::endpoint_json(e, &base))
        .collect();
    Ok(HttpResponse::Ok().json(collection("endpoints", items, &req, &base, "/endpoints")))
}

pub async fn get_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    reader(&state, &req).await?;
    let id = path.into_inner();
    path_id(&id, "endpoint id")?;
    let row = state
        .db
        .read(move |conn| {
            catalog::get_endpoint(conn, &id)?.ok_or_else(|| catalog::not_found_endpoint(&id))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"endpoint": catalog::endpoint_json(&row, &base_url(&req, &state))})))
}

pub async fn update_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let e = member(&body.0, "endpoint")?;
    let patch = EndpointPatch {
        interface: opt_string(e, "interface", 16)?,
        url: opt_string(e, "url", 1024)?,
        region_id: (e.contains_key("region_id") || e.contains_key("region"))
            .then(|| region_field(e))
            .transpose()?,
        service_id: opt_string(e, "service_id", 64)?,
        enabled: opt_bool(e, "enabled")?,
    };
    let id = path.into_inner();
    path_id(&id, "endpoint id")?;
    let row = state
        .db
        .write(move |conn| catalog::update_endpoint(conn, &id, &patch))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"endpoint": catalog::endpoint_json(&row, &base_url(&req, &state))})))
}

pub async fn delete_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    admin(&state, &req).await?;
    let id = path.into_inner();
    path_id(&id, "endpoint id")?;
    state
        .db
        .write(move |conn| catalog::delete_endpoint(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
