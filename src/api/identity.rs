//! Reads of users and projects (`GET /v3/users/{id}`,
//! `GET /v3/projects/{id}`): what clients resolve before they act on a
//! user's credentials. The full admin API arrives with issue 5.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::http::base_url;
use super::input::path_id;
use crate::error::Error;
use crate::policy::{self, Target};
use crate::{identity, resource, AppState};

/// `GET /v3/users/{user_id}`.
pub async fn get_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let user_id = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = super::http::caller(&state, &req).await?;
    let lookup = user_id.clone();
    let user = state
        .db
        .read(move |conn| identity::get_user(conn, &lookup))
        .await?
        .ok_or_else(|| identity::not_found_user(&user_id))?;
    policy::enforce(
        policy::GET_USER,
        &caller,
        Target {
            user_id: Some(&user.id),
            domain_id: Some(&user.domain_id),
            project_id: None,
        },
    )?;
    Ok(HttpResponse::Ok()
        .json(json!({"user": super::render::user(&user, &base_url(&req, &state))})))
}

/// `GET /v3/projects/{project_id}`.
pub async fn get_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let project_id = path.into_inner();
    path_id(&project_id, "project id")?;
    let caller = super::http::caller(&state, &req).await?;
    let lookup = project_id.clone();
    let project = state
        .db
        .read(move |conn| resource::get_project(conn, &lookup))
        .await?
        .ok_or_else(|| resource::not_found_project(&project_id))?;
    policy::enforce(
        policy::GET_PROJECT,
        &caller,
        Target {
            user_id: None,
            domain_id: Some(&project.domain_id),
            project_id: Some(&project.id),
        },
    )?;
    Ok(HttpResponse::Ok()
        .json(json!({"project": super::render::project(&project, &base_url(&req, &state))})))
}
