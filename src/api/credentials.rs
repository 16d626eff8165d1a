//! `/v3/credentials` and `/v3/users/{user_id}/credentials/OS-EC2`, in
//! Keystone's shapes (rules and storage in `crate::credential`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::crud::{Create, Entity, Names};
use super::http::{
    base_url, caller, collection, gone, id_of, one, query_pairs, user_and, JsonBody, Resp,
};
use super::input::{
    extra_attributes, member, only_keys, opt_string, req_secret_string, req_string,
};

/// The attributes a credential keeps in its columns; every other one a
/// `/v3/credentials` create keeps as an extra attribute.
const CREDENTIAL_FIELDS: [&str; 7] = [
    "id",
    "user_id",
    "project_id",
    "type",
    "blob",
    "links",
    "extra",
];
use super::render;
use crate::credential::{self, Credential, CredentialInput};
use crate::error::Error;
use crate::policy::{Caller, Input};
use crate::AppState;

/// `/v3/credentials`.
pub struct Credentials;

impl Entity for Credentials {
    const NAMES: Names = Names {
        member: "credential",
        collection: "credentials",
        id: "credential id",
    };
    type Item = Credential;
    /// Only the blob may change.
    type Patch = Input<String>;
    type Filter = credential::Filter;

    /// Keystone's schema allows `blob` alone, so even a matching `id` is a 400.
    fn parse_patch(body: &Value, _: &str, _: &AppState) -> Self::Patch {
        let c = member(body, "credential")?;
        only_keys(c, "credential", &["blob"])?;
        req_secret_string(c, "blob", 65_536)
    }

    /// `?user_id=` and `?type=`.
    fn filter(req: &HttpRequest) -> Result<credential::Filter, Error> {
        let mut filter = credential::Filter::default();
        for (k, v) in query_pairs(req) {
            match k.as_str() {
                "user_id" => filter.user_id = Some(v),
                "type" => filter.credential_type = Some(v),
                _ => {}
            }
        }
        Ok(filter)
    }

    fn render(item: &Credential, base: &str) -> Value {
        render::credential(item, base)
    }

    async fn list(
        state: &AppState,
        caller: &Caller,
        filter: credential::Filter,
    ) -> Result<Vec<Credential>, Error> {
        state.credential.list(caller, filter).await
    }

    async fn get(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
    ) -> Result<Credential, Error> {
        state.credential.get(caller, id).await
    }

    async fn update(
        state: &AppState,
        caller: &Caller,
        id: Input<String>,
        blob: Input<String>,
    ) -> Result<Credential, Error> {
        state.credential.update(caller, id, blob).await
    }

    async fn delete(state: &AppState, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        state.credential.delete(caller, id).await
    }
}

impl Create for Credentials {
    type New = Input<CredentialInput>;

    fn parse_new(body: &Value, _: &AppState) -> Self::New {
        let c = member(body, "credential")?;
        // Keystone's create schema allows more properties and keeps them
        // (its updates take `blob` alone).
        Ok(CredentialInput {
            blob: req_secret_string(c, "blob", 65_536)?,
            credential_type: req_string(c, "type", 255)?,
            user_id: req_string(c, "user_id", 64)?,
            project_id: opt_string(c, "project_id", 64)?,
            extra: extra_attributes(c, &CREDENTIAL_FIELDS, true),
        })
    }

    async fn create(
        state: &AppState,
        caller: &Caller,
        new: Self::New,
    ) -> Result<Credential, Error> {
        state.credential.create(caller, new).await
    }
}

/// The project of an OS-EC2 create: Keystone answers a missing one with
/// its 404 for the project "None".
fn tenant_of(body: &Value) -> Result<String, Error> {
    match body.get("tenant_id") {
        Some(Value::String(t)) if !t.is_empty() => Ok(t.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(Error::NotFound("Could not find project: None.".into()))
        }
        Some(other) => Err(Error::invalid(
            "tenant_id",
            &format!("{other} is not of type 'string'"),
        )),
    }
}

/// `POST /v3/users/{user_id}/credentials/OS-EC2` with `{"tenant_id"}`.
pub async fn ec2_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> Resp {
    let user_id = id_of(path, "user id")?;
    let caller = caller(&state, &req).await?;
    let created = state
        .credential
        .ec2_create(&caller, user_id, tenant_of(&body.0))
        .await?;
    Ok(one(
        true,
        "credential",
        render::ec2_credential(&created, &base_url(&req, &state))?,
    ))
}

/// `GET /v3/users/{user_id}/credentials/OS-EC2`.
pub async fn ec2_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Resp {
    let user_id = id_of(path, "user id")?;
    let caller = caller(&state, &req).await?;
    let found = state.credential.ec2_list(&caller, user_id.clone()).await?;
    let base = base_url(&req, &state);
    let items = found
        .iter()
        .map(|c| render::ec2_credential(c, &base))
        .collect::<Result<Vec<_>, _>>()?;
    let path = format!("/users/{user_id}/credentials/OS-EC2");
    Ok(HttpResponse::Ok().json(collection("credentials", items, &req, &base, &path)))
}

/// `GET /v3/users/{user_id}/credentials/OS-EC2/{access}`.
pub async fn ec2_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let (user_id, access) = user_and(path)?;
    let caller = caller(&state, &req).await?;
    let found = state.credential.ec2_get(&caller, user_id, access).await?;
    Ok(one(
        false,
        "credential",
        render::ec2_credential(&found, &base_url(&req, &state))?,
    ))
}

/// `DELETE /v3/users/{user_id}/credentials/OS-EC2/{access}`.
pub async fn ec2_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Resp {
    let (user_id, access) = user_and(path)?;
    let caller = caller(&state, &req).await?;
    state
        .credential
        .ec2_delete(&caller, user_id, access)
        .await
        .map(gone)
}
