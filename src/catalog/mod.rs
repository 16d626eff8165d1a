//! Catalog subsystem: regions, services and endpoints. Each public
//! function is one use case: its policy check, then one transaction.
//! Admins write; admins and system readers read services and endpoints;
//! any token reads regions (Keystone's defaults).

pub mod filter;
pub mod policies;
pub mod store;

use crate::error::Error;
use crate::policy::{self, Caller, Input, Policy, Target};
use crate::store::{Conn, Database};

pub use crate::store::rows::{EndpointRow as Endpoint, RegionRow as Region, ServiceRow as Service};
use store::WithExtra;
pub use store::{
    check_endpoint, EndpointFilter, EndpointPatch, ServicePatch, UrlValues, INTERFACES,
};

type Extra = serde_json::Map<String, serde_json::Value>;

/// Keystone's `extra` of a catalog entity, as stored text parsed.
macro_rules! extra_attributes {
    ($($row:ty),*) => {$(
        impl $row {
            /// The attributes Keystone keeps beside the columns.
            pub fn extra_attributes(&self) -> Extra {
                crate::store::extra::parse(&self.extra)
            }
        }
    )*};
}
extra_attributes!(Region, Service, Endpoint);

/// The catalog's use cases (Keystone's `catalog_api`).
#[derive(Clone)]
pub struct Catalog {
    db: Database,
}

/// A region to create.
#[derive(Debug, Clone, Default)]
pub struct NewRegion {
    pub id: Option<String>,
    pub description: String,
    pub parent_region_id: Option<String>,
    pub extra: Extra,
}

/// Changes to a region; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct RegionPatch {
    pub description: Option<String>,
    pub parent_region_id: Option<Option<String>>,
    pub extra: Extra,
}

/// A service to create.
#[derive(Debug, Clone)]
pub struct NewService {
    pub service_type: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub extra: Extra,
}

/// An endpoint to create.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub service_id: String,
    pub interface: String,
    pub url: String,
    pub region_id: Option<String>,
    pub enabled: bool,
    pub extra: Extra,
}

/// The input, once the caller passed `rule` (a malformed input counts
/// only after the policy check, as in Keystone).
fn allowed<I>(rule: Policy, caller: &Caller, input: Input<I>) -> Result<I, Error> {
    policy::enforce(rule, caller, Target::default())?;
    input
}

impl Catalog {
    pub fn new(db: Database) -> Self {
        Catalog { db }
    }

    async fn read<I: Send + 'static, T: Send + 'static>(
        &self,
        caller: &Caller,
        rule: Policy,
        input: Input<I>,
        f: impl FnOnce(&mut Conn, I) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let input = allowed(rule, caller, input)?;
        self.db.read(move |conn| f(conn, input)).await
    }

    async fn write<I: Send + 'static, T: Send + 'static>(
        &self,
        caller: &Caller,
        rule: Policy,
        input: Input<I>,
        f: impl FnOnce(&mut Conn, I) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let input = allowed(rule, caller, input)?;
        self.db.write(move |conn| f(conn, input)).await
    }

    pub async fn create_region(
        &self,
        caller: &Caller,
        new: Input<NewRegion>,
    ) -> Result<Region, Error> {
        self.write(caller, policy::MANAGE_CATALOG, new, |conn, new| {
            let mut region = store::create_region(
                conn,
                new.id.as_deref(),
                &new.description,
                new.parent_region_id.as_deref(),
            )?;
            region.extra = store::merge_extra(
                conn,
                WithExtra::Region,
                &region.id,
                &region.extra,
                &new.extra,
            )?;
            Ok(region)
        })
        .await
    }

    pub async fn list_regions(
        &self,
        caller: &Caller,
        parent: Option<String>,
    ) -> Result<Vec<Region>, Error> {
        self.read(caller, policy::READ_REGIONS, Ok(parent), |conn, parent| {
            store::list_regions(conn, parent.as_deref())
        })
        .await
    }

    pub async fn get_region(&self, caller: &Caller, id: Input<String>) -> Result<Region, Error> {
        self.read(caller, policy::READ_REGIONS, id, |conn, id| {
            store::get_region(conn, &id)?.ok_or_else(|| store::not_found_region(&id))
        })
        .await
    }

    pub async fn update_region(
        &self,
        caller: &Caller,
        change: Input<(String, RegionPatch)>,
    ) -> Result<Region, Error> {
        self.write(
            caller,
            policy::MANAGE_CATALOG,
            change,
            |conn, (id, patch)| {
                let mut region = store::update_region(
                    conn,
                    &id,
                    patch.description.as_deref(),
                    patch.parent_region_id.as_ref().map(|p| p.as_deref()),
                )?;
                region.extra =
                    store::merge_extra(conn, WithExtra::Region, &id, &region.extra, &patch.extra)?;
                Ok(region)
            },
        )
        .await
    }

    pub async fn create_service(
        &self,
        caller: &Caller,
        new: Input<NewService>,
    ) -> Result<Service, Error> {
        self.write(caller, policy::MANAGE_CATALOG, new, |conn, new| {
            let mut service = store::create_service(
                conn,
                &new.service_type,
                &new.name,
                new.description.as_deref(),
                new.enabled,
            )?;
            service.extra = store::merge_extra(
                conn,
                WithExtra::Service,
                &service.id,
                &service.extra,
                &new.extra,
            )?;
            Ok(service)
        })
        .await
    }

    pub async fn list_services(
        &self,
        caller: &Caller,
        service_type: Option<String>,
        name: Option<String>,
    ) -> Result<Vec<Service>, Error> {
        self.read(
            caller,
            policy::READ_CATALOG,
            Ok((service_type, name)),
            |conn, (t, n)| store::list_services(conn, t.as_deref(), n.as_deref()),
        )
        .await
    }

    pub async fn get_service(&self, caller: &Caller, id: Input<String>) -> Result<Service, Error> {
        self.read(caller, policy::READ_CATALOG, id, |conn, id| {
            store::get_service(conn, &id)?.ok_or_else(|| store::not_found_service(&id))
        })
        .await
    }

    pub async fn update_service(
        &self,
        caller: &Caller,
        change: Input<(String, ServicePatch)>,
    ) -> Result<Service, Error> {
        self.write(
            caller,
            policy::MANAGE_CATALOG,
            change,
            |conn, (id, patch)| {
                let mut service = store::update_service(conn, &id, &patch)?;
                service.extra = store::merge_extra(
                    conn,
                    WithExtra::Service,
                    &id,
                    &service.extra,
                    &patch.extra,
                )?;
                Ok(service)
            },
        )
        .await
    }

    pub async fn create_endpoint(
        &self,
        caller: &Caller,
        new: Input<NewEndpoint>,
    ) -> Result<Endpoint, Error> {
        let new = new.and_then(|new| {
            check_endpoint(Some(&new.interface), Some(&new.url))?;
            Ok(new)
        });
        self.write(caller, policy::MANAGE_CATALOG, new, |conn, new| {
            let mut endpoint = store::create_endpoint(
                conn,
                store::NewEndpoint {
                    service_id: &new.service_id,
                    interface: &new.interface,
                    url: &new.url,
                    region_id: new.region_id.as_deref(),
                    enabled: new.enabled,
                },
            )?;
            endpoint.extra = store::merge_extra(
                conn,
                WithExtra::Endpoint,
                &endpoint.id,
                &endpoint.extra,
                &new.extra,
            )?;
            Ok(endpoint)
        })
        .await
    }

    pub async fn list_endpoints(
        &self,
        caller: &Caller,
        filter: EndpointFilter,
    ) -> Result<Vec<Endpoint>, Error> {
        self.read(caller, policy::READ_CATALOG, Ok(filter), |conn, filter| {
            store::list_endpoints(conn, &filter)
        })
        .await
    }

    pub async fn get_endpoint(
        &self,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Endpoint, Error> {
        self.read(caller, policy::READ_CATALOG, id, |conn, id| {
            store::get_endpoint(conn, &id)?.ok_or_else(|| store::not_found_endpoint(&id))
        })
        .await
    }

    pub async fn update_endpoint(
        &self,
        caller: &Caller,
        change: Input<(String, EndpointPatch)>,
    ) -> Result<Endpoint, Error> {
        self.write(
            caller,
            policy::MANAGE_CATALOG,
            change,
            |conn, (id, patch)| {
                let mut endpoint = store::update_endpoint(conn, &id, &patch)?;
                endpoint.extra = store::merge_extra(
                    conn,
                    WithExtra::Endpoint,
                    &id,
                    &endpoint.extra,
                    &patch.extra,
                )?;
                Ok(endpoint)
            },
        )
        .await
    }

    pub async fn delete_endpoint(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        self.write(caller, policy::MANAGE_CATALOG, id, |conn, id| {
            store::delete_endpoint(conn, &id)
        })
        .await
    }
}
