//! SODA's multicloud AK/SK API (`/v1/{project_id}/aksks`), over the same
//! ec2 credentials as `/v3/credentials` and OS-EC2, with the key metadata
//! consoles expect. Errors are Keystone's JSON with SODA's status codes.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::http::{caller, query_pairs, JsonBody};
use super::input::{
    change_string, format_time, opt_bool, opt_cidrs, opt_future_time, opt_leak_action,
    opt_rate_limit, path_id, req_string,
};
use crate::credential::{self, AkskInput, Credential, MetaPatch};
use crate::error::Error;
use crate::lifecycle::{LeakAction, Lifetime, RateLimit};
use crate::policy;
use crate::AppState;

fn ids(path: &(String, String)) -> Result<(&str, &str), Error> {
    path_id(&path.0, "project id")?;
    path_id(&path.1, "user id")?;
    Ok((&path.0, &path.1))
}

/// The optional metadata fields of a create or update body.
fn meta_patch(fields: &Map<String, Value>) -> Result<MetaPatch, Error> {
    Ok(MetaPatch {
        name: change_string(fields, "name", 255)?,
        description: change_string(fields, "description", 1024)?,
        enabled: opt_bool(fields, "enabled")?,
        expires_at: opt_future_time(fields, "expires_at")?,
        allowed_cidrs: opt_cidrs(fields, "allowed_cidrs")?,
        action_when_leaked: opt_leak_action(fields)?,
        rate_limit: opt_rate_limit(fields)?,
    })
}

const META_FIELDS: [&str; 7] = [
    "name",
    "description",
    "enabled",
    "expires_at",
    "allowed_cidrs",
    "action_when_leaked",
    "rate_limit",
];

/// `POST /v1/{project_id}/aksks`: the documented `{"credential": {...}}`
/// and the top-level form SODA's code parses are both accepted.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let path_project = path.into_inner();
    path_id(&path_project, "project id")?;
    let caller = caller(&state, &req).await?;
    let fields = match &body.0 {
        Value::Object(top) => match top.get("credential") {
            Some(Value::Object(inner)) => inner,
            Some(other) => {
                return Err(Error::invalid(
                    "credential",
                    &format!("{other} is not of type 'object'"),
                ))
            }
            None => top,
        },
        _ => return Err(Error::expecting("credential", "request body")),
    };
    if let Some(unknown) = fields.keys().find(|k| {
        !["project_id", "user_id"].contains(&k.as_str()) && !META_FIELDS.contains(&k.as_str())
    }) {
        return Err(Error::invalid(
            "credential",
            &format!("Additional properties are not allowed ('{unknown}' was unexpected)"),
        ));
    }
    let new = (|| {
        let project_id = req_string(fields, "project_id", 64)?;
        let user_id = req_string(fields, "user_id", 64)?;
        path_id(&project_id, "project id")?;
        path_id(&user_id, "user id")?;
        Ok(AkskInput {
            project_id,
            user_id,
            meta: meta_patch(fields),
        })
    })();
    let pair = state
        .credential
        .aksk_create(&caller, path_project, new)
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"access_key": pair.access, "secret_key": pair.secret.expose()})))
}

/// The user's pairs in the project, after the authorisation checks.
async fn pairs(
    state: &AppState,
    req: &HttpRequest,
    rule: policy::Policy,
    project_id: &str,
    user_id: &str,
) -> Result<Vec<Credential>, Error> {
    let caller = caller(state, req).await?;
    state
        .credential
        .aksk_pairs(&caller, rule, project_id.to_string(), user_id.to_string())
        .await
}

/// SODA's entry: `{project_id, user_id, type, blob: {access_key, secret_key}}`.
fn soda_json(c: &Credential) -> Result<Value, Error> {
    let blob = c.ec2()?;
    Ok(json!({
        "project_id": c.project_id,
        "user_id": c.user_id,
        "type": c.credential_type,
        "blob": {"access_key": blob.access, "secret_key": blob.secret.expose()},
    }))
}

fn soda_array(found: &[Credential]) -> Result<Value, Error> {
    found
        .iter()
        .map(soda_json)
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// `GET /v1/{project_id}/aksks/{user_id}`: SODA's array (`[]` when none).
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let path = path.into_inner();
    let (project_id, user_id) = ids(&path)?;
    let found = pairs(&state, &req, policy::AKSK_GET, project_id, user_id).await?;
    Ok(HttpResponse::Ok().json(soda_array(&found)?))
}

/// `DELETE /v1/{project_id}/aksks/{user_id}`: the user's AK/SK pairs in the
/// project, and only those (SODA also deleted other credential types).
pub async fn delete_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let path = path.into_inner();
    let (project_id, user_id) = ids(&path)?;
    let caller = caller(&state, &req).await?;
    state
        .credential
        .aksk_delete_all(&caller, project_id.to_string(), user_id.to_string())
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// A downloadable rendering of the user's pairs.
pub enum DownloadFormat {
    Json,
    Csv,
    Env,
    Clouds,
}

impl DownloadFormat {
    fn parse(value: Option<&str>) -> Result<Self, Error> {
        match value.unwrap_or("json") {
            "json" => Ok(DownloadFormat::Json),
            "csv" => Ok(DownloadFormat::Csv),
            "env" => Ok(DownloadFormat::Env),
            "clouds" | "aws" => Ok(DownloadFormat::Clouds),
            other => Err(Error::BadRequest(format!(
                "Unknown download format {:?}: use json, csv, env or clouds.",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }
}

/// The pairs that can be used now, oldest first; a 404 when there are none.
fn usable_pairs(
    user_id: &str,
    found: &[Credential],
    now_micros: i64,
) -> Result<Vec<credential::Ec2Blob>, Error> {
    let usable: Vec<_> = found
        .iter()
        .filter(|c| c.is_usable(now_micros))
        .map(|c| c.ec2())
        .collect::<Result<_, _>>()?;
    if usable.is_empty() {
        return Err(Error::NotFound(format!(
            "User {user_id} has no usable AK/SK pair to download."
        )));
    }
    Ok(usable)
}

/// Renders the pairs; returns (body, content type, file name). The JSON
/// file is SODA's array of every pair; CSV, env and credentials files hold
/// only the pairs that can be used now.
pub fn render_download(
    format: &DownloadFormat,
    user_id: &str,
    found: &[Credential],
    now_micros: i64,
) -> Result<(String, &'static str, String), Error> {
    Ok(match format {
        DownloadFormat::Json => {
            let text = serde_json::to_string_pretty(&soda_array(found)?)
                .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?;
            (
                text + "\n",
                "application/json",
                format!("aksk-{user_id}.json"),
            )
        }
        DownloadFormat::Csv => {
            let mut text = String::from("Access key ID,Secret access key\n");
            for pair in usable_pairs(user_id, found, now_micros)? {
                text.push_str(&format!("{},{}\n", pair.access, pair.secret.expose()));
            }
            (text, "text/csv", format!("aksk-{user_id}.csv"))
        }
        DownloadFormat::Env => {
            // The newest usable pair; the others are named so nobody
            // wonders where they went.
            let usable = usable_pairs(user_id, found, now_micros)?;
            let (newest, older) = usable
                .split_last()
                .ok_or_else(|| Error::Internal("no pair".into()))?;
            let mut text = format!(
                "# AK/SK pair of user {user_id}, generated by Ironstone.\n\
                 export AWS_ACCESS_KEY_ID={0}\nexport AWS_SECRET_ACCESS_KEY={1}\n\
                 export EC2_ACCESS_KEY={0}\nexport EC2_SECRET_KEY={1}\n",
                newest.access,
                newest.secret.expose()
            );
            for other in older {
                text.push_str(&format!(
                    "# also usable: {} (download with ?format=csv)\n",
                    other.access
                ));
            }
            (
                text,
                "text/plain; charset=utf-8",
                format!("aksk-{user_id}.env"),
            )
        }
        DownloadFormat::Clouds => {
            // An AWS shared credentials file: the newest pair is [default],
            // and every pair is also a profile named by its access key.
            let usable = usable_pairs(user_id, found, now_micros)?;
            let (newest, _) = usable
                .split_last()
                .ok_or_else(|| Error::Internal("no pair".into()))?;
            let mut text = format!(
                "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                newest.access,
                newest.secret.expose()
            );
            for pair in usable.iter().rev() {
                text.push_str(&format!(
                    "\n[{0}]\naws_access_key_id = {0}\naws_secret_access_key = {1}\n",
                    pair.access,
                    pair.secret.expose()
                ));
            }
            (text, "text/plain; charset=utf-8", "credentials".to_string())
        }
    })
}

/// `GET /v1/{project_id}/aksks/{user_id}/download[?format=][&access_key=]`.
pub async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let path = path.into_inner();
    let (project_id, user_id) = ids(&path)?;
    let query = query_pairs(&req);
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let format = DownloadFormat::parse(get("format"))?;
    let mut found = pairs(&state, &req, policy::AKSK_GET, project_id, user_id).await?;
    if let Some(access) = get("access_key") {
        found.retain(|c| c.ec2().is_ok_and(|b| b.access == access));
        if found.is_empty() {
            return Err(credential::not_found(&credential::ec2_credential_id(
                access,
            )));
        }
    }
    let (body, content_type, filename) = render_download(
        &format,
        user_id,
        &found,
        chrono::Utc::now().timestamp_micros(),
    )?;
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", content_type))
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

/// A pair as consoles list it: everything but the secret.
fn key_json(c: &Credential, now: i64, lifetime: &Lifetime) -> Result<Value, Error> {
    let blob = c.ec2()?;
    let status = if c.meta.leaked_at.is_some() {
        "leaked"
    } else if !c.meta.enabled {
        "disabled"
    } else if c.meta.expires_at.is_some_and(|t| t <= now) {
        "expired"
    } else {
        "active"
    };
    Ok(json!({
        "id": c.id,
        "access_key": blob.access,
        "project_id": c.project_id,
        "user_id": c.user_id,
        "name": c.meta.name,
        "description": c.meta.description,
        "enabled": c.meta.enabled,
        "status": status,
        "expires_at": format_time(c.meta.expires_at),
        "expires_soon": lifetime.expires_soon(now, c.meta.expires_at),
        "allowed_cidrs": c.meta.allowed_cidrs,
        "created_at": format_time(Some(c.meta.created_at)),
        "last_used_at": format_time(c.meta.last_used_at),
        "use_count": c.meta.use_count,
        "action_when_leaked": c.meta.action_when_leaked.map(LeakAction::as_str),
        "rate_limit": c.meta.rate_limit.map(RateLimit::to_json),
        "leaked_at": format_time(c.meta.leaked_at),
    }))
}

/// `GET /v1/{project_id}/aksks/{user_id}/keys`: the console list, no secrets.
pub async fn list_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let path = path.into_inner();
    let (project_id, user_id) = ids(&path)?;
    let found = pairs(&state, &req, policy::AKSK_GET, project_id, user_id).await?;
    let now = chrono::Utc::now().timestamp_micros();
    let keys = found
        .iter()
        .map(|c| key_json(c, now, &state.credential.lifetime()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(json!({"keys": keys})))
}

/// The path of a key route, its ids checked.
fn key_path(path: (String, String, String)) -> Result<(String, String, String), Error> {
    path_id(&path.0, "project id")?;
    path_id(&path.1, "user id")?;
    Ok(path)
}

/// `PATCH /v1/{project_id}/aksks/{user_id}/keys/{access_key}`: name,
/// description, enabled, expires_at (null clears) and allowed_cidrs.
pub async fn update_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let path = path.into_inner();
    let fields = match &body.0 {
        Value::Object(top) => match top.get("key") {
            Some(Value::Object(inner)) => inner,
            Some(other) => {
                return Err(Error::invalid(
                    "key",
                    &format!("{other} is not of type 'object'"),
                ))
            }
            None => top,
        },
        _ => return Err(Error::expecting("key", "request body")),
    };
    if let Some(unknown) = fields.keys().find(|k| !META_FIELDS.contains(&k.as_str())) {
        return Err(Error::invalid(
            "key",
            &format!("Additional properties are not allowed ('{unknown}' was unexpected)"),
        ));
    }
    let patch = meta_patch(fields)?;
    let path = key_path(path)?;
    let caller = caller(&state, &req).await?;
    let updated = state.credential.aksk_update(&caller, path, patch).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"key": key_json(&updated, chrono::Utc::now().timestamp_micros(), &state.credential.lifetime())?})))
}

/// `POST /v1/{project_id}/aksks/{user_id}/keys/{access_key}/rotate`: a
/// replacement pair (its secret shown once) and the old pair set to
/// expire after the grace period, in one transaction.
pub async fn rotate_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let path = key_path(path.into_inner())?;
    let grace = super::input::grace_period(&body.0);
    let caller = caller(&state, &req).await?;
    let rotated = state.credential.aksk_rotate(&caller, path, grace).await?;
    let now = chrono::Utc::now().timestamp_micros();
    Ok(HttpResponse::Created().json(json!({
        "access_key": rotated.pair.access,
        "secret_key": rotated.pair.secret.expose(),
        "key": key_json(&rotated.replacement, now, &state.credential.lifetime())?,
        "previous": key_json(&rotated.previous, now, &state.credential.lifetime())?,
    })))
}

/// `DELETE /v1/{project_id}/aksks/{user_id}/keys/{access_key}`: one pair,
/// for rotation.
pub async fn delete_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, Error> {
    let path = key_path(path.into_inner())?;
    let caller = caller(&state, &req).await?;
    state.credential.aksk_delete(&caller, path).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}
