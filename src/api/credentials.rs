//! `/v3/credentials` and `/v3/users/{user_id}/credentials/OS-EC2`, in
//! Keystone's shapes, over the one credential store.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::http::{base_url, collection, query_pairs, JsonBody};
use super::input::{member, only_keys, opt_string, path_id, req_secret_string, req_string};
use crate::credential::{self, Credential, KeyMeta, NewCredential, EC2};
use crate::error::Error;
use crate::policy::{self, Caller, Policy, Target};
use crate::secret::Secret;
use crate::{identity, resource, AppState};

/// The caller, refusing delegated tokens as Keystone 30 does.
pub(super) async fn credential_caller(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Caller, Error> {
    let caller = super::http::caller(state, req).await?;
    policy::refuse_delegated_credentials(&caller)?;
    Ok(caller)
}

fn enforce_on(policy: Policy, caller: &Caller, owner: &str) -> Result<(), Error> {
    policy::enforce(policy, caller, Target::owned_by(owner))
}

/// Refuses a new credential past `[credential] user_limit`.
pub(super) fn check_user_limit(
    conn: &mut crate::store::Conn,
    user_id: &str,
    limit: i64,
) -> Result<(), Error> {
    credential::check_user_limit(conn, user_id, limit)
}

/// The user must exist, and the project when one is named.
pub(super) fn check_owner_exists(
    conn: &mut crate::store::Conn,
    user_id: &str,
    project_id: Option<&str>,
) -> Result<(), Error> {
    if identity::get_user(conn, user_id)?.is_none() {
        return Err(identity::not_found_user(user_id));
    }
    if let Some(p) = project_id {
        if resource::get_project(conn, p)?.is_none() {
            return Err(resource::not_found_project(p));
        }
    }
    Ok(())
}

/// `POST /v3/credentials`.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = credential_caller(&state, &req).await?;
    let c = member(&body.0, "credential")?;
    only_keys(
        c,
        "credential",
        &["blob", "type", "user_id", "project_id", "id"],
    )?;
    let blob = req_secret_string(c, "blob", 65_536)?;
    let credential_type = req_string(c, "type", 255)?;
    let user_id = req_string(c, "user_id", 64)?;
    let project_id = opt_string(c, "project_id", 64)?;
    enforce_on(policy::CREATE_CREDENTIAL, &caller, &user_id)?;
    let id = if credential_type.eq_ignore_ascii_case(EC2) {
        if project_id.is_none() {
            return Err(Error::invalid(
                "credential",
                "'project_id' is a required property for ec2 credentials",
            ));
        }
        credential::ec2_credential_id(&credential::parse_ec2_blob(&blob)?.access)
    } else {
        crate::store::new_id()
    };
    let limit = state.config.credential.user_limit;
    let cipher = state.credentials.clone();
    let created = state
        .db
        .write(move |conn| {
            check_owner_exists(conn, &user_id, project_id.as_deref())?;
            check_user_limit(conn, &user_id, limit)?;
            credential::create(
                conn,
                &cipher,
                NewCredential {
                    id,
                    user_id,
                    project_id,
                    credential_type: credential_type.to_ascii_lowercase(),
                    blob: Secret::new(blob),
                    meta: KeyMeta {
                        enabled: true,
                        ..Default::default()
                    },
                },
            )
        })
        .await?;
    let base = base_url(&req, &state);
    Ok(HttpResponse::Created().json(json!({"credential": created.to_json(&base)})))
}

/// `GET /v3/credentials[?user_id=&type=]`: callers who are neither admin
/// nor system reader see only their own.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, Error> {
    let caller = credential_caller(&state, &req).await?;
    let mut filter = credential::Filter::default();
    for (k, v) in query_pairs(&req) {
        match k.as_str() {
            "user_id" => filter.user_id = Some(v),
            "type" => filter.credential_type = Some(v),
            _ => {}
        }
    }
    filter.user_id = policy::credential_list_user(&caller, filter.user_id.take());
    let cipher = state.credentials.clone();
    let found = state
        .db
        .read(move |conn| credential::list(conn, &cipher, &filter))
        .await?;
    let base = base_url(&req, &state);
    let items = found
        .iter()
        .filter(|c| {
            policy::allows(
                policy::LIST_CREDENTIALS,
                &caller,
                Target::owned_by(&c.user_id),
            )
        })
        .map(|c| c.to_json(&base))
        .collect();
    Ok(HttpResponse::Ok().json(collection(
        "credentials",
        items,
        &req,
        &base,
        "/credentials",
    )))
}

/// The credential with this id, decrypted, if any.
async fn fetch(state: &AppState, id: &str) -> Result<Option<Credential>, Error> {
    let cipher = state.credentials.clone();
    let id = id.to_string();
    state
        .db
        .read(move |conn| credential::get(conn, &cipher, &id))
        .await
}

/// Loads a credential for `policy` in Keystone's order: the policy is
/// checked first, against the credential when it exists and against an
/// empty target when it does not. A caller who may not act on it gets the
/// same 403 whether it exists or not; only callers the policy lets
/// through learn that it is missing (404).
async fn load_for(
    state: &AppState,
    caller: &Caller,
    policy: Policy,
    path: web::Path<String>,
) -> Result<Credential, Error> {
    let id = path.into_inner();
    path_id(&id, "credential id")?;
    let found = fetch(state, &id).await?;
    let target = Target {
        user_id: found.as_ref().map(|c| c.user_id.as_str()),
        ..Default::default()
    };
    policy::enforce(policy, caller, target)?;
    found.ok_or_else(|| credential::not_found(&id))
}

/// `GET /v3/credentials/{credential_id}`.
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = credential_caller(&state, &req).await?;
    let found = load_for(&state, &caller, policy::GET_CREDENTIAL, path).await?;
    Ok(HttpResponse::Ok().json(json!({"credential": found.to_json(&base_url(&req, &state))})))
}

/// `PATCH /v3/credentials/{credential_id}`: only the blob may change, and
/// an ec2 blob keeps its access key (the id is derived from it).
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let caller = credential_caller(&state, &req).await?;
    let c = member(&body.0, "credential")?;
    only_keys(c, "credential", &["blob"])?;
    let blob = req_secret_string(c, "blob", 65_536)?;
    let found = load_for(&state, &caller, policy::UPDATE_CREDENTIAL, path).await?;
    if found.credential_type == EC2 {
        credential::check_ec2_blob_update(&found.ec2()?, &credential::parse_ec2_blob(&blob)?)?;
    }
    let cipher = state.credentials.clone();
    let id = found.id.clone();
    let blob = Secret::new(blob);
    let updated = state
        .db
        .write(move |conn| {
            credential::update_blob(conn, &cipher, &id, &blob)?;
            credential::get(conn, &cipher, &id)?.ok_or_else(|| credential::not_found(&id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"credential": updated.to_json(&base_url(&req, &state))})))
}

/// `DELETE /v3/credentials/{credential_id}`.
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let caller = credential_caller(&state, &req).await?;
    let found = load_for(&state, &caller, policy::DELETE_CREDENTIAL, path).await?;
    let id = found.id;
    state
        .db
        .write(move |conn| credential::delete(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Keystone's OS-EC2 shape of an ec2 credential.
fn ec2_json(c: &Credential, base: &str) -> Result<Value, Error> {
    let blob = c.ec2()?;
    Ok(json!({
        "user_id": c.user_id,
        "tenant_id": c.project_id,
        "access": blob.access,
        "secret": blob.secret.expose(),
        "trust_id": blob.trust_id,
        "links": {"self": format!("{base}/users/{}/credentials/OS-EC2/{}", c.user_id, blob.access)},
    }))
}

/// `POST /v3/users/{user_id}/credentials/OS-EC2` with `{"tenant_id"}`:
/// Keystone's uuid-hex access and secret.
pub async fn ec2_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let user_id = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = credential_caller(&state, &req).await?;
    enforce_on(policy::EC2_CREATE_CREDENTIAL, &caller, &user_id)?;
    let tenant_id = match body.0.get("tenant_id") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(Error::NotFound("Could not find project: None.".into()))
        }
        Some(other) => {
            return Err(Error::invalid(
                "tenant_id",
                &format!("{other} is not of type 'string'"),
            ))
        }
    };
    let access = crate::store::new_id();
    let secret = crate::store::new_id();
    let limit = state.config.credential.user_limit;
    let cipher = state.credentials.clone();
    let created = state
        .db
        .write(move |conn| {
            check_owner_exists(conn, &user_id, Some(&tenant_id))?;
            check_user_limit(conn, &user_id, limit)?;
            credential::create(
                conn,
                &cipher,
                NewCredential {
                    id: credential::ec2_credential_id(&access),
                    user_id,
                    project_id: Some(tenant_id),
                    credential_type: EC2.into(),
                    blob: Secret::new(credential::ec2_blob(&access, &secret)),
                    meta: KeyMeta {
                        enabled: true,
                        ..Default::default()
                    },
                },
            )
        })
        .await?;
    let base = base_url(&req, &state);
    Ok(HttpResponse::Created().json(json!({"credential": ec2_json(&created, &base)?})))
}

/// `GET /v3/users/{user_id}/credentials/OS-EC2`.
pub async fn ec2_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let user_id = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = credential_caller(&state, &req).await?;
    enforce_on(policy::EC2_LIST_CREDENTIALS, &caller, &user_id)?;
    let cipher = state.credentials.clone();
    let filter = credential::Filter {
        user_id: Some(user_id.clone()),
        credential_type: Some(EC2.into()),
        ..Default::default()
    };
    let found = state
        .db
        .read(move |conn| credential::list(conn, &cipher, &filter))
        .await?;
    let base = base_url(&req, &state);
    let items = found
        .iter()
        .map(|c| ec2_json(c, &base))
        .collect::<Result<Vec<_>, _>>()?;
    let path = format!("/users/{user_id}/credentials/OS-EC2");
    Ok(HttpResponse::Ok().json(collection("credentials", items, &req, &base, &path)))
}

/// An ec2 credential of `user_id` by access key (the caller's policy was
/// checked against `user_id` already).
async fn load_ec2(state: &AppState, user_id: &str, access: &str) -> Result<Credential, Error> {
    let id = credential::ec2_credential_id(access);
    match fetch(state, &id).await? {
        Some(c) if c.credential_type == EC2 && c.user_id == user_id => Ok(c),
        _ => Err(credential::not_found(&id)),
    }
}

/// `GET /v3/users/{user_id}/credentials/OS-EC2/{access}`.
pub async fn ec2_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (user_id, access) = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = credential_caller(&state, &req).await?;
    enforce_on(policy::EC2_GET_CREDENTIAL, &caller, &user_id)?;
    let found = load_ec2(&state, &user_id, &access).await?;
    Ok(HttpResponse::Ok().json(json!({"credential": ec2_json(&found, &base_url(&req, &state))?})))
}

/// `DELETE /v3/users/{user_id}/credentials/OS-EC2/{access}`.
pub async fn ec2_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (user_id, access) = path.into_inner();
    path_id(&user_id, "user id")?;
    let caller = credential_caller(&state, &req).await?;
    enforce_on(policy::EC2_DELETE_CREDENTIAL, &caller, &user_id)?;
    let found = load_ec2(&state, &user_id, &access).await?;
    let id = found.id;
    state
        .db
        .write(move |conn| credential::delete(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
