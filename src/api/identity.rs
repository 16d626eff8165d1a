//! Reads of users and projects (`GET /v3/users/{id}`,
//! `GET /v3/projects/{id}`): what clients resolve before they act on a
//! user's credentials. The id is checked before the token, as Keystone's
//! routing does.

use actix_web::{web, HttpRequest};

use super::http::{base_url, caller, id_of, one, Resp};
use super::render;
use crate::AppState;

/// `GET /v3/users/{user_id}`.
pub async fn get_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let id = id_of(path, "user id")?;
    let caller = caller(&state, &req).await?;
    let user = state.users.get(&caller, Ok(id)).await?;
    Ok(one(
        false,
        "user",
        render::user(&user, &base_url(&req, &state)),
    ))
}

/// `GET /v3/projects/{project_id}`.
pub async fn get_project(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let id = id_of(path, "project id")?;
    let caller = caller(&state, &req).await?;
    let project = state.resources.get_project(&caller, Ok(id)).await?;
    Ok(one(
        false,
        "project",
        render::project(&project, &base_url(&req, &state)),
    ))
}
