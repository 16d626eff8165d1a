//! The catalog API: regions, services and endpoints (rules and storage in
//! `crate::catalog`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::http::{base_url, caller, collection, gone, id_of, one, query, JsonBody, Resp};
use super::input::{member, opt_bool, opt_string, path_id, req_string};
use super::render;
use crate::catalog::{self, EndpointFilter, EndpointPatch, ServicePatch};
use crate::error::Error;
use crate::AppState;

/// The four handlers of a catalog entity that differ only by names:
/// create (201), get, update and delete (204). Lists differ by their
/// filters and stay written out.
macro_rules! catalog_entity {
    ($key:literal, $what:literal, $render:path, $new:path, $patch:path,
     $create:ident, $get:ident, $update:ident, $delete:ident) => {
        pub async fn $create(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
            let caller = caller(&state, &req).await?;
            let row = state.catalog.$create(&caller, $new(&body.0)).await?;
            Ok(one(true, $key, $render(&row, &base_url(&req, &state))))
        }

        pub async fn $get(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<String>,
        ) -> Resp {
            let caller = caller(&state, &req).await?;
            let row = state.catalog.$get(&caller, id_of(path, $what)).await?;
            Ok(one(false, $key, $render(&row, &base_url(&req, &state))))
        }

        pub async fn $update(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<String>,
            body: JsonBody,
        ) -> Resp {
            let caller = caller(&state, &req).await?;
            let change = $patch(&body.0).and_then(|p| Ok((id_of(path, $what)?, p)));
            let row = state.catalog.$update(&caller, change).await?;
            Ok(one(false, $key, $render(&row, &base_url(&req, &state))))
        }

        pub async fn $delete(
            state: web::Data<AppState>,
            req: HttpRequest,
            path: web::Path<String>,
        ) -> Resp {
            let caller = caller(&state, &req).await?;
            state
                .catalog
                .$delete(&caller, id_of(path, $what))
                .await
                .map(gone)
        }
    };
}

catalog_entity!(
    "region",
    "region id",
    render::region,
    new_region,
    region_patch,
    create_region,
    get_region,
    update_region,
    delete_region
);
catalog_entity!(
    "service",
    "service id",
    render::service,
    new_service,
    service_patch,
    create_service,
    get_service,
    update_service,
    delete_service
);
catalog_entity!(
    "endpoint",
    "endpoint id",
    render::endpoint,
    new_endpoint,
    endpoint_patch,
    create_endpoint,
    get_endpoint,
    update_endpoint,
    delete_endpoint
);

// ---- regions ----

fn new_region(body: &Value) -> Result<catalog::NewRegion, Error> {
    let r = member(body, "region")?;
    let id = opt_string(r, "id", 255)?;
    if let Some(id) = &id {
        path_id(id, "region id")?;
    }
    Ok(catalog::NewRegion {
        id,
        description: opt_string(r, "description", 65_535)?.unwrap_or_default(),
        parent_region_id: opt_string(r, "parent_region_id", 255)?,
    })
}

fn region_patch(body: &Value) -> Result<catalog::RegionPatch, Error> {
    let r = member(body, "region")?;
    if r.contains_key("id") {
        return Err(Error::BadRequest(
            "Update of `id` of a region is not allowed.".into(),
        ));
    }
    Ok(catalog::RegionPatch {
        description: opt_string(r, "description", 65_535)?,
        parent_region_id: r
            .contains_key("parent_region_id")
            .then(|| opt_string(r, "parent_region_id", 255))
            .transpose()?,
    })
}

pub async fn list_regions(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let rows = state
        .catalog
        .list_regions(&caller, query(&req, "parent_region_id"))
        .await?;
    let base = base_url(&req, &state);
    let items = rows.iter().map(|r| render::region(r, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("regions", items, &req, &base, "/regions")))
}

// ---- services ----

fn new_service(body: &Value) -> Result<catalog::NewService, Error> {
    let s = member(body, "service")?;
    Ok(catalog::NewService {
        service_type: req_string(s, "type", 255)?,
        name: opt_string(s, "name", 255)?.unwrap_or_default(),
        description: opt_string(s, "description", 65_535)?,
        enabled: opt_bool(s, "enabled")?.unwrap_or(true),
    })
}

fn service_patch(body: &Value) -> Result<ServicePatch, Error> {
    let s = member(body, "service")?;
    Ok(ServicePatch {
        service_type: opt_string(s, "type", 255)?,
        name: opt_string(s, "name", 255)?,
        description: s
            .contains_key("description")
            .then(|| opt_string(s, "description", 65_535))
            .transpose()?,
        enabled: opt_bool(s, "enabled")?,
    })
}

pub async fn list_services(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let (service_type, name) = (query(&req, "type"), query(&req, "name"));
    let rows = state
        .catalog
        .list_services(&caller, service_type, name)
        .await?;
    let base = base_url(&req, &state);
    let items = rows.iter().map(|s| render::service(s, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("services", items, &req, &base, "/services")))
}

// ---- endpoints ----

/// `region_id`, or the legacy `region` field.
fn region_field(e: &Map<String, Value>) -> Result<Option<String>, Error> {
    Ok(opt_string(e, "region_id", 255)?.or(opt_string(e, "region", 255)?))
}

fn new_endpoint(body: &Value) -> Result<catalog::NewEndpoint, Error> {
    let e = member(body, "endpoint")?;
    Ok(catalog::NewEndpoint {
        service_id: req_string(e, "service_id", 64)?,
        interface: req_string(e, "interface", 16)?,
        url: req_string(e, "url", 1024)?,
        region_id: region_field(e)?,
        enabled: opt_bool(e, "enabled")?.unwrap_or(true),
    })
}

fn endpoint_patch(body: &Value) -> Result<EndpointPatch, Error> {
    let e = member(body, "endpoint")?;
    Ok(EndpointPatch {
        interface: opt_string(e, "interface", 16)?,
        url: opt_string(e, "url", 1024)?,
        region_id: (e.contains_key("region_id") || e.contains_key("region"))
            .then(|| region_field(e))
            .transpose()?,
        service_id: opt_string(e, "service_id", 64)?,
        enabled: opt_bool(e, "enabled")?,
    })
}

pub async fn list_endpoints(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let filter = EndpointFilter {
        interface: query(&req, "interface"),
        service_id: query(&req, "service_id"),
        region_id: query(&req, "region_id").or_else(|| query(&req, "region")),
    };
    let rows = state.catalog.list_endpoints(&caller, filter).await?;
    let base = base_url(&req, &state);
    let items = rows.iter().map(|e| render::endpoint(e, &base)).collect();
    Ok(HttpResponse::Ok().json(collection("endpoints", items, &req, &base, "/endpoints")))
}
