//! The catalog API: regions, services and endpoints (rules and storage in
//! `crate::catalog`).

use actix_web::HttpRequest;
use serde_json::{Map, Value};

use super::crud::{Create, CreateAt, Entity, Names};
use super::http::query;
use super::input::{
    change_string, extra_attributes, matching_id, member, opt_bool, opt_string, path_id, req_string,
};
use super::render;
use crate::catalog::{
    Endpoint, EndpointFilter, EndpointPatch, NewEndpoint, NewRegion, NewService, Region,
    RegionPatch, Service, ServicePatch,
};
use crate::error::Error;
use crate::policy::{Caller, Input};
use crate::AppState;

/// The attributes Keystone keeps in a region's columns; every other one
/// is stored in `extra`.
const REGION_FIELDS: [&str; 5] = ["id", "description", "parent_region_id", "links", "extra"];

/// A service's (Keystone keeps `name` and `description` in `extra`; here
/// they are columns).
const SERVICE_FIELDS: [&str; 7] = [
    "id",
    "type",
    "name",
    "description",
    "enabled",
    "links",
    "extra",
];

/// An endpoint's (with the legacy `region`, which names its region).
const ENDPOINT_FIELDS: [&str; 9] = [
    "id",
    "service_id",
    "interface",
    "url",
    "region_id",
    "region",
    "enabled",
    "links",
    "extra",
];

/// `/v3/regions`.
pub struct Regions;

impl Entity for Regions {
    const NAMES: Names = Names {
        member: "region",
        collection: "regions",
        id: "region id",
    };
    type Item = Region;
    type Patch = Input<RegionPatch>;
    type Filter = Option<String>;

    fn parse_patch(body: &Value, path_id: &str, _: &AppState) -> Self::Patch {
        let r = member(body, "region")?;
        matching_id(r, path_id)?;
        Ok(RegionPatch {
            description: opt_string(r, "description", 65_535)?,
            parent_region_id: change_string(r, "parent_region_id", 255)?,
            extra: extra_attributes(r, &REGION_FIELDS, false),
        })
    }

    /// `?parent_region_id=`.
    fn filter(req: &HttpRequest) -> Result<Option<String>, Error> {
        Ok(query(req, "parent_region_id"))
    }

    fn render(item: &Region, base: &str) -> Value {
        render::region(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        parent: Option<String>,
    ) -> Result<Vec<Region>, Error> {
        state.catalog.list_regions(caller, parent).await
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Region, Error> {
        state.catalog.get_region(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Region, Error> {
        let change = patch.and_then(|p| Ok((id?, p)));
        state.catalog.update_region(caller, change).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.cascade.delete_region(caller, id).await
    }
}

impl Create for Regions {
    type New = Input<NewRegion>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let r = member(body, "region")?;
        let id = opt_string(r, "id", 255)?;
        if let Some(id) = &id {
            path_id(id, "region id")?;
        }
        Ok(NewRegion {
            id,
            description: opt_string(r, "description", 65_535)?.unwrap_or_default(),
            parent_region_id: opt_string(r, "parent_region_id", 255)?,
            extra: extra_attributes(r, &REGION_FIELDS, true),
        })
    }

    async fn create(state: &AppState, caller: &Caller, new: Self::New) -> Result<Region, Error> {
        state.catalog.create_region(caller, new).await
    }
}

impl CreateAt for Regions {
    fn at_id(new: Self::New, id: &str) -> Self::New {
        let mut new = new?;
        match &new.id {
            None => {
                path_id(id, "region id")?;
                new.id = Some(id.to_string());
            }
            Some(body_id) if body_id != id => {
                return Err(Error::BadRequest(format!(
                    "Conflicting region IDs specified: \"{id}\" != \"{body_id}\""
                )))
            }
            Some(_) => {}
        }
        Ok(new)
    }
}

/// `/v3/services`.
pub struct Services;

impl Entity for Services {
    const NAMES: Names = Names {
        member: "service",
        collection: "services",
        id: "service id",
    };
    type Item = Service;
    type Patch = Input<ServicePatch>;
    /// `?type=` and `?name=`.
    type Filter = (Option<String>, Option<String>);

    fn parse_patch(body: &Value, path_id: &str, _: &AppState) -> Self::Patch {
        let s = member(body, "service")?;
        matching_id(s, path_id)?;
        Ok(ServicePatch {
            service_type: opt_string(s, "type", 255)?,
            name: opt_string(s, "name", 255)?,
            description: change_string(s, "description", 65_535)?,
            enabled: opt_bool(s, "enabled")?,
            extra: extra_attributes(s, &SERVICE_FIELDS, false),
        })
    }

    fn filter(req: &HttpRequest) -> Result<Self::Filter, Error> {
        Ok((query(req, "type"), query(req, "name")))
    }

    fn render(item: &Service, base: &str) -> Value {
        render::service(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        (kind, name): Self::Filter,
    ) -> Result<Vec<Service>, Error> {
        state.catalog.list_services(caller, kind, name).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Service, Error> {
        let change = patch.and_then(|p| Ok((id?, p)));
        state.catalog.update_service(caller, change).await
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Service, Error> {
        state.catalog.get_service(caller, id).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.cascade.delete_service(caller, id).await
    }
}

impl Create for Services {
    type New = Input<NewService>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let s = member(body, "service")?;
        Ok(NewService {
            service_type: req_string(s, "type", 255)?,
            name: opt_string(s, "name", 255)?.unwrap_or_default(),
            description: opt_string(s, "description", 65_535)?,
            enabled: opt_bool(s, "enabled")?.unwrap_or(true),
            extra: extra_attributes(s, &SERVICE_FIELDS, true),
        })
    }

    async fn create(state: &AppState, caller: &Caller, new: Self::New) -> Result<Service, Error> {
        state.catalog.create_service(caller, new).await
    }
}

/// `region_id`, or the legacy `region` field.
fn region_field(e: &Map<String, Value>) -> Result<Option<String>, Error> {
    Ok(opt_string(e, "region_id", 255)?.or(opt_string(e, "region", 255)?))
}

/// `/v3/endpoints`.
pub struct Endpoints;

impl Entity for Endpoints {
    const NAMES: Names = Names {
        member: "endpoint",
        collection: "endpoints",
        id: "endpoint id",
    };
    type Item = Endpoint;
    type Patch = Input<EndpointPatch>;
    type Filter = EndpointFilter;

    fn parse_patch(body: &Value, path_id: &str, _: &AppState) -> Self::Patch {
        let e = member(body, "endpoint")?;
        matching_id(e, path_id)?;
        Ok(EndpointPatch {
            interface: opt_string(e, "interface", 16)?,
            url: opt_string(e, "url", 1024)?,
            region_id: (e.contains_key("region_id") || e.contains_key("region"))
                .then(|| region_field(e))
                .transpose()?,
            service_id: opt_string(e, "service_id", 64)?,
            enabled: opt_bool(e, "enabled")?,
            extra: extra_attributes(e, &ENDPOINT_FIELDS, false),
        })
    }

    fn filter(req: &HttpRequest) -> Result<EndpointFilter, Error> {
        Ok(EndpointFilter {
            interface: query(req, "interface"),
            service_id: query(req, "service_id"),
            region_id: query(req, "region_id").or_else(|| query(req, "region")),
        })
    }

    fn render(item: &Endpoint, base: &str) -> Value {
        render::endpoint(item, base)
    }

    async fn get(state: &AppState, caller: &Caller, id: Input<String>) -> Result<Endpoint, Error> {
        state.catalog.get_endpoint(caller, id).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.catalog.delete_endpoint(caller, id).await
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        filter: EndpointFilter,
    ) -> Result<Vec<Endpoint>, Error> {
        state.catalog.list_endpoints(caller, filter).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Endpoint, Error> {
        let change = patch.and_then(|p| Ok((id?, p)));
        state.catalog.update_endpoint(caller, change).await
    }
}

impl Create for Endpoints {
    type New = Input<NewEndpoint>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let e = member(body, "endpoint")?;
        Ok(NewEndpoint {
            service_id: req_string(e, "service_id", 64)?,
            interface: req_string(e, "interface", 16)?,
            url: req_string(e, "url", 1024)?,
            region_id: region_field(e)?,
            enabled: opt_bool(e, "enabled")?.unwrap_or(true),
            extra: extra_attributes(e, &ENDPOINT_FIELDS, true),
        })
    }

    async fn create(state: &AppState, caller: &Caller, new: Self::New) -> Result<Endpoint, Error> {
        state.catalog.create_endpoint(caller, new).await
    }
}
