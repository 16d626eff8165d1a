//! The five handlers every Keystone collection shares: `POST /things`
//! (201), `GET /things` (filtered list), and `GET`, `PATCH` and `DELETE`
//! (204) on `/things/{id}`. An entity says how its bodies and filters
//! parse, which use case answers and how it renders; the HTTP is written
//! once here. A new collection (trusts, limits, endpoint groups…) is one
//! `impl Entity` beside its parsers and five lines in the URL map.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::http::{
    base_url, caller, collection, gone, id_of, one, paged_collection, JsonBody, Resp,
};
use super::input::checked_id;
use crate::error::Error;
use crate::policy::{Caller, Input};
use crate::AppState;

/// How an entity is named on the wire: the member of one (`"role"`), the
/// collection (`"roles"`, also its path under `/v3`) and its id in errors.
pub struct Names {
    pub member: &'static str,
    pub collection: &'static str,
    pub id: &'static str,
}

/// One Keystone collection. `Patch` (and [`Create::New`]) are what the parsers hand
/// the use case, usually [`Input`] so that a malformed body is reported
/// after the policy check, as Keystone does.
// actix runs each handler on its worker's own thread, so the futures need
// not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Entity: 'static {
    const NAMES: Names;
    /// Whether `GET /things/{id}` refuses a malformed id before it reads
    /// the token (as Keystone's routing does for users and projects).
    const READ_ID_BEFORE_TOKEN: bool = false;
    /// Whether `GET /things` honours Keystone 30's `?limit=` (every listing
    /// Keystone builds driver hints for).
    const PAGED: bool = true;
    type Item;
    type Patch;
    type Filter;

    /// `path_id` is the id in the URL as given: Keystone accepts a body
    /// that repeats it and refuses one that names another
    /// ([`super::input::matching_id`]).
    fn parse_patch(body: &Value, path_id: &str, state: &AppState) -> Self::Patch;
    /// The exact filters of a list; inexact ones (`name__contains`) are
    /// applied to the rendered items by [`collection`].
    fn filter(req: &HttpRequest) -> Result<Self::Filter, Error>;
    fn render(item: &Self::Item, base: &str) -> Value;
    /// The collection's path under `/v3` (an extension's sits under its
    /// prefix, as `/OS-EP-FILTER/endpoint_groups`).
    fn path() -> String {
        format!("/{}", Self::NAMES.collection)
    }
    /// What a PATCH answers; Keystone's drivers add `extra` to some.
    fn render_updated(item: &Self::Item, base: &str) -> Value {
        Self::render(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        filter: Self::Filter,
    ) -> Result<Vec<Self::Item>, Error>;
    async fn get(state: &AppState, caller: &Caller, id: Input<String>)
        -> Result<Self::Item, Error>;
    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        patch: Self::Patch,
    ) -> Result<Self::Item, Error>;
    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error>;
}

/// An entity created one at a time (`POST /things` with `{"thing": …}`).
#[allow(async_fn_in_trait)]
pub trait Create: Entity {
    type New;
    fn parse_new(body: &Value, state: &AppState) -> Self::New;
    async fn create(state: &AppState, caller: &Caller, new: Self::New)
        -> Result<Self::Item, Error>;
}

/// An entity that may also be created at an id the caller chooses in the
/// path (`PUT /things/{id}`), as Keystone's regions.
pub trait CreateAt: Create {
    /// The parsed body with the path's id: the body may repeat it, not
    /// contradict it.
    fn at_id(new: Self::New, id: &str) -> Self::New;
}

/// An entity created in batches (`POST /things` with `{"things": […]}`,
/// answered with the created list and no links), as Keystone's limits.
#[allow(async_fn_in_trait)]
pub trait CreateMany: Entity {
    type New;
    fn parse_new(body: &Value, state: &AppState) -> Self::New;
    async fn create(
        state: &AppState,
        caller: &Caller,
        new: Self::New,
    ) -> Result<Vec<Self::Item>, Error>;
}

fn reply<E: Entity>(created: bool, item: &E::Item, req: &HttpRequest, state: &AppState) -> Resp {
    let rendered = E::render(item, &base_url(req, state));
    Ok(one(created, E::NAMES.member, rendered))
}

pub async fn create<E: Create>(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let item = E::create(&state, &caller, E::parse_new(&body.0, &state)).await?;
    reply::<E>(true, &item, &req, &state)
}

pub async fn create_at<E: CreateAt>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let id = path.into_inner();
    let caller = caller(&state, &req).await?;
    let new = E::at_id(E::parse_new(&body.0, &state), &id);
    let item = E::create(&state, &caller, new).await?;
    reply::<E>(true, &item, &req, &state)
}

pub async fn create_many<E: CreateMany>(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let created = E::create(&state, &caller, E::parse_new(&body.0, &state)).await?;
    let base = base_url(&req, &state);
    let items: Vec<Value> = created.iter().map(|item| E::render(item, &base)).collect();
    Ok(HttpResponse::Created().json(serde_json::json!({ E::NAMES.collection: items })))
}

pub async fn list<E: Entity>(state: web::Data<AppState>, req: HttpRequest) -> Resp {
    let caller = caller(&state, &req).await?;
    let found = E::list(&state, &caller, E::filter(&req)?).await?;
    let base = base_url(&req, &state);
    let items = found.iter().map(|item| E::render(item, &base)).collect();
    let key = E::NAMES.collection;
    Ok(HttpResponse::Ok().json(if E::PAGED {
        paged_collection(key, items, &req, &base, &E::path())?
    } else {
        collection(key, items, &req, &base, &E::path())
    }))
}

pub async fn get<E: Entity>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let id = id_of(path, E::NAMES.id);
    let id = if E::READ_ID_BEFORE_TOKEN { Ok(id?) } else { id };
    let caller = caller(&state, &req).await?;
    let item = E::get(&state, &caller, id).await?;
    reply::<E>(false, &item, &req, &state)
}

pub async fn update<E: Entity>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let raw = path.into_inner();
    let patch = E::parse_patch(&body.0, &raw, &state);
    let id = checked_id(raw, E::NAMES.id);
    let item = E::update(&state, &caller, id, patch).await?;
    let rendered = E::render_updated(&item, &base_url(&req, &state));
    Ok(one(false, E::NAMES.member, rendered))
}

pub async fn delete<E: Entity>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let caller = caller(&state, &req).await?;
    let id = id_of(path, E::NAMES.id);
    E::delete(&state, &caller, id).await.map(gone)
}
