//! `POST /v3/ec2tokens` and `POST /v3/s3tokens`: services forward a signed
//! request; Ironstone says who signed it by answering with a token.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::http::JsonBody;
use super::input::opt_string;
use crate::auth;
use crate::auth::signed::{self, Signed, Verification};
use crate::error::Error;
use crate::signature::ec2::Ec2Request;
use crate::signature::s3;
use crate::AppState;

/// `credentials`, `credential` or `ec2Credentials`, as Keystone accepts.
fn credentials_of(body: &Value) -> Result<&Map<String, Value>, Error> {
    if body.is_null() {
        return Err(Error::BadRequest(
            "request must include a request body".into(),
        ));
    }
    for key in ["credentials", "credential", "ec2Credentials"] {
        match body.get(key) {
            Some(Value::Object(map)) => return Ok(map),
            Some(other) => {
                return Err(Error::invalid(
                    key,
                    &format!("{other} is not of type 'object'"),
                ))
            }
            None => {}
        }
    }
    Err(Error::expecting("credentials", "request body"))
}

/// The credentials object, once the caller may ask (and may report
/// `client_ip`, if the body does): Keystone checks the caller before it
/// reads the body.
async fn credentials_of_authorized<'a>(
    state: &AppState,
    req: &HttpRequest,
    body: &'a Value,
    policy: crate::policy::Policy,
) -> Result<&'a Map<String, Value>, Error> {
    let parsed = credentials_of(body);
    let reports_client = parsed
        .as_ref()
        .is_ok_and(|c| !matches!(c.get("client_ip"), None | Some(Value::Null)));
    let caller = super::http::token_context(state, req).await;
    signed::authorize(&state.auth, caller, policy, reports_client)?;
    parsed
}

fn required(map: &Map<String, Value>, key: &str) -> Result<String, Error> {
    match opt_string(map, key, 65_536)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(Error::BadRequest(format!(
            "Expecting to find {key} in credentials."
        ))),
    }
}

/// A `{name: value}` object with string (or scalar) values, in order.
fn string_map(map: &Map<String, Value>, key: &str) -> Result<Vec<(String, String)>, Error> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(obj)) => obj
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), if *b { "True" } else { "False" }.to_string())),
                other => Err(Error::invalid(
                    &format!("{key}/{k}"),
                    &format!("{other} is not of type 'string'"),
                )),
            })
            .collect(),
        Some(other) => Err(Error::invalid(
            key,
            &format!("{other} is not of type 'object'"),
        )),
    }
}

/// The end client's address as the service reports it; an IPv4-mapped
/// IPv6 address is its IPv4 address.
fn client_ip(map: &Map<String, Value>) -> Result<Option<std::net::IpAddr>, Error> {
    opt_string(map, "client_ip", 64)?
        .map(|ip| {
            ip.trim()
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.to_canonical())
                .map_err(|_| {
                    Error::invalid(
                        "client_ip",
                        &format!("{ip:?} is not an IPv4 or IPv6 address"),
                    )
                })
        })
        .transpose()
}

/// `POST /v3/ec2tokens`: 200 with `X-Subject-Token` and the token body.
pub async fn ec2tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let c =
        credentials_of_authorized(&state, &req, &body.0, crate::policy::EC2TOKENS_VALIDATE).await?;
    let access = required(c, "access")?;
    let signature = required(c, "signature")?;
    let client_ip = client_ip(c)?;
    let request = Ec2Request {
        host: opt_string(c, "host", 1024)?.unwrap_or_default(),
        verb: opt_string(c, "verb", 16)?.unwrap_or_default(),
        path: opt_string(c, "path", 8192)?.unwrap_or_default(),
        params: string_map(c, "params")?,
        headers: string_map(c, "headers")?,
        body_hash: opt_string(c, "body_hash", 128)?,
    };
    let verification = Verification {
        access,
        signature,
        signed: Signed::Ec2(request),
        client_ip,
        peer: super::http::peer_address(&req, &state),
    };
    let (token, context) = signed::verify_and_issue(&state.auth, verification).await?;
    let catalog = auth::catalog_for(&state.auth, &context).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Subject-Token", token))
        .json(super::render::token(&context, catalog)))
}

/// `POST /v3/s3tokens`: 200 with the token body and no `X-Subject-Token`,
/// as Keystone answers.
pub async fn s3tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, Error> {
    let c =
        credentials_of_authorized(&state, &req, &body.0, crate::policy::S3TOKENS_VALIDATE).await?;
    let access = required(c, "access")?;
    let signature = required(c, "signature")?;
    let token = required(c, "token")?;
    let client_ip = client_ip(c)?;
    let string_to_sign = s3::decode_token(&token).map_err(Error::from)?;
    // Keystone answers a v4 scope it does not accept with a 401.
    let parsed = s3::parse(string_to_sign)
        .map_err(|_| Error::unauthorized_with("Invalid EC2 signature."))?;
    let verification = Verification {
        access,
        signature,
        signed: Signed::S3(parsed),
        client_ip,
        peer: super::http::peer_address(&req, &state),
    };
    let (_, context) = signed::verify_and_issue(&state.auth, verification).await?;
    let catalog = auth::catalog_for(&state.auth, &context).await?;
    Ok(HttpResponse::Ok().json(super::render::token(&context, catalog)))
}
