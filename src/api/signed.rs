//! `POST /v3/ec2tokens` and `POST /v3/s3tokens`: services forward a signed
//! request; Ironstone says who signed it by answering with a token.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use std::net::IpAddr;

use super::http::{peer_address, shared_token_context, JsonBody, Resp, JSON};
use super::input::opt_string;
use super::render;
use crate::auth::signed::{Signed, Verification};
use crate::error::Error;
use crate::policy;
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

/// Whether the body reports the end client's address (`client_ip`).
fn reports_client(parsed: &Result<&Map<String, Value>, Error>) -> bool {
    parsed
        .as_ref()
        .is_ok_and(|c| !matches!(c.get("client_ip"), None | Some(Value::Null)))
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

fn ec2_verification(c: &Map<String, Value>, peer: Option<IpAddr>) -> Result<Verification, Error> {
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
    Ok(Verification {
        access,
        signature,
        signed: Signed::Ec2(request),
        client_ip,
        peer,
    })
}

fn s3_verification(c: &Map<String, Value>, peer: Option<IpAddr>) -> Result<Verification, Error> {
    let access = required(c, "access")?;
    let signature = required(c, "signature")?;
    let token = required(c, "token")?;
    let client_ip = client_ip(c)?;
    let string_to_sign = s3::decode_token(&token).map_err(Error::from)?;
    // Keystone answers a v4 scope it does not accept with a 401.
    let parsed = s3::parse(string_to_sign)
        .map_err(|_| Error::unauthorized_with("Invalid EC2 signature."))?;
    Ok(Verification {
        access,
        signature,
        signed: Signed::S3(parsed),
        client_ip,
        peer,
    })
}

/// `POST /v3/ec2tokens`: 200 with `X-Subject-Token` and the token body.
pub async fn ec2tokens(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let parsed = credentials_of(&body.0);
    let reports = reports_client(&parsed);
    let peer = peer_address(&req, &state);
    let verification = parsed.and_then(|c| ec2_verification(c, peer));
    let caller = shared_token_context(&state, &req).await;
    let (token, context, catalog) = state
        .auth
        .signed_token(caller, policy::EC2TOKENS_VALIDATE, reports, verification)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Subject-Token", token))
        .content_type(JSON)
        .body(render::token(&context, catalog.as_deref())))
}

/// `POST /v3/s3tokens`: 200 with the token body and no `X-Subject-Token`,
/// as Keystone answers.
pub async fn s3tokens(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> Resp {
    let parsed = credentials_of(&body.0);
    let reports = reports_client(&parsed);
    let peer = peer_address(&req, &state);
    let verification = parsed.and_then(|c| s3_verification(c, peer));
    let caller = shared_token_context(&state, &req).await;
    let (_, context, catalog) = state
        .auth
        .signed_token(caller, policy::S3TOKENS_VALIDATE, reports, verification)
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(JSON)
        .body(render::token(&context, catalog.as_deref())))
}
