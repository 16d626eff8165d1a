//! `POST /v3/ec2tokens` and `POST /v3/s3tokens`: services forward a signed
//! request; Ironstone says who signed it by answering with a token.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use std::net::IpAddr;

use serde::Deserialize;

use super::http::{peer_address, shared_token_context, JsonBody, Object, Resp, TypedJson, JSON};
use super::input::opt_string;
use super::render;
use crate::auth::signed::{Signed, Verification};
use crate::error::Error;
use crate::policy;
use crate::signature::ec2::Ec2Request;
use crate::signature::s3;
use crate::AppState;

/// Longest values (in characters) the credentials' fields may hold: one
/// table for the `Value` walk and the typed read alike.
const REQUIRED_MAX: usize = 65_536;
const HOST_MAX: usize = 1024;
const VERB_MAX: usize = 16;
const PATH_MAX: usize = 8192;
const BODY_HASH_MAX: usize = 128;
const CLIENT_IP_MAX: usize = 64;

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
    match opt_string(map, key, REQUIRED_MAX)? {
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
    opt_string(map, "client_ip", CLIENT_IP_MAX)?
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
        host: opt_string(c, "host", HOST_MAX)?.unwrap_or_default(),
        verb: opt_string(c, "verb", VERB_MAX)?.unwrap_or_default(),
        path: opt_string(c, "path", PATH_MAX)?.unwrap_or_default(),
        params: string_map(c, "params")?,
        headers: string_map(c, "headers")?,
        body_hash: opt_string(c, "body_hash", BODY_HASH_MAX)?,
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
pub async fn ec2tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut body: TypedJson<CommonBody>,
) -> Resp {
    let peer = peer_address(&req, &state);
    let (reports, verification) = match body.typed.take().and_then(|b| b.credentials.0.ec2(peer)) {
        Some(v) => (v.client_ip.is_some(), Ok(v)),
        None => {
            let body = body.value()?;
            let parsed = credentials_of(&body);
            (
                reports_client(&parsed),
                parsed.and_then(|c| ec2_verification(c, peer)),
            )
        }
    };
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

/// The body services send (`{"credentials": {…}}` with string fields),
/// read without a `Value` tree. Any other body falls back to the
/// `Value` walk above, which words the errors as Keystone does.
#[derive(Deserialize)]
pub struct CommonBody {
    credentials: Object<CommonCredentials>,
}

#[derive(Deserialize)]
struct CommonCredentials {
    access: Option<String>,
    signature: Option<String>,
    host: Option<String>,
    verb: Option<String>,
    path: Option<String>,
    params: Option<SortedStrings>,
    headers: Option<SortedStrings>,
    body_hash: Option<String>,
    client_ip: Option<String>,
}

impl CommonCredentials {
    /// The verification [`ec2_verification`] would make of the same body,
    /// or `None` for anything it might word as an error.
    fn ec2(self, peer: Option<IpAddr>) -> Option<Verification> {
        // Bytes bound characters from above: within the byte limit is
        // within the character limit; past it, the `Value` walk decides.
        let fits = |s: &Option<String>, max: usize| s.as_ref().is_none_or(|s| s.len() <= max);
        let given = |s: Option<String>| s.filter(|s| !s.is_empty() && s.len() <= REQUIRED_MAX);
        if !(fits(&self.host, HOST_MAX)
            && fits(&self.verb, VERB_MAX)
            && fits(&self.path, PATH_MAX)
            && fits(&self.body_hash, BODY_HASH_MAX)
            && fits(&self.client_ip, CLIENT_IP_MAX))
        {
            return None;
        }
        let client_ip = match self.client_ip {
            None => None,
            Some(ip) => Some(ip.trim().parse::<IpAddr>().ok()?.to_canonical()),
        };
        Some(Verification {
            access: given(self.access)?,
            signature: given(self.signature)?,
            signed: Signed::Ec2(Ec2Request {
                host: self.host.unwrap_or_default(),
                verb: self.verb.unwrap_or_default(),
                path: self.path.unwrap_or_default(),
                params: self.params.map(|p| p.0).unwrap_or_default(),
                headers: self.headers.map(|h| h.0).unwrap_or_default(),
                body_hash: self.body_hash,
            }),
            client_ip,
            peer,
        })
    }
}

/// A `{name: "value"}` object in the order the `Value` walk gives
/// (`serde_json::Map` sorts its keys); a repeated name or a value that is
/// not a string is an error here, left to the walk.
struct SortedStrings(Vec<(String, String)>);

impl<'de> Deserialize<'de> for SortedStrings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = SortedStrings;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut pairs: Vec<(String, String)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
                    return Err(serde::de::Error::custom("a repeated name"));
                }
                Ok(SortedStrings(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the `Value` walk makes of a body: the verification, or the
    /// error's text.
    fn walked(body: &[u8]) -> Result<String, String> {
        let value = super::super::http::parse_json_body(None, body).map_err(|e| e.to_string())?;
        credentials_of(&value)
            .and_then(|c| ec2_verification(c, None))
            .map(|v| format!("{v:?}"))
            .map_err(|e| e.to_string())
    }

    /// What the typed read makes of it, when it answers.
    fn typed(body: &[u8]) -> Option<String> {
        let body = serde_json::from_slice::<Object<CommonBody>>(body).ok()?;
        body.0.credentials.0.ec2(None).map(|v| format!("{v:?}"))
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            40 => "[a-zA-Z0-9/=+ .:-]{0,12}".prop_map(|s| format!("{s:?}")),
            1 => Just("\"\\u00e9t\\u00e9\"".to_string()),
            1 => Just("\"\"".to_string()),
            1 => Just("null".to_string()),
            1 => Just("12".to_string()),
            1 => Just("1.50".to_string()),
            1 => Just("true".to_string()),
            1 => Just("[]".to_string()),
            1 => Just("\"::ffff:10.0.0.1\"".to_string()),
            1 => Just("\" 10.0.0.1 \"".to_string()),
        ]
    }

    /// An object of some of `names` (each once, unless `repeat` adds one
    /// again), with values of every kind.
    fn object(names: &'static [&'static str]) -> impl Strategy<Value = String> {
        (
            proptest::sample::subsequence(names, 0..names.len()),
            proptest::collection::vec(value(), names.len() + 1),
            proptest::option::weighted(0.1, proptest::sample::select(names)),
        )
            .prop_map(|(mut chosen, values, repeat)| {
                chosen.extend(repeat);
                let fields: Vec<String> = chosen
                    .iter()
                    .zip(values)
                    .map(|(k, v)| format!("{k:?}: {v}"))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            })
    }

    fn credentials() -> impl Strategy<Value = String> {
        const FIELDS: &[&str] = &[
            "access",
            "signature",
            "host",
            "verb",
            "path",
            "body_hash",
            "client_ip",
            "token",
            "other",
        ];
        const NAMES: &[&str] = &["Action", "b", "a", "Version", "host", "x-amz-date"];
        (
            proptest::option::weighted(0.9, value()),
            proptest::option::weighted(0.9, value()),
            object(&FIELDS[2..]),
            proptest::option::weighted(0.7, object(NAMES)),
            proptest::option::weighted(0.7, object(NAMES)),
            proptest::bool::weighted(0.05),
        )
            .prop_map(|(access, signature, fields, params, headers, as_array)| {
                if as_array {
                    return format!("[{}]", fields.trim_matches(['{', '}']));
                }
                let mut parts = vec![fields.trim_matches(['{', '}']).to_string()];
                parts.extend(access.map(|v| format!("\"access\": {v}")));
                parts.extend(signature.map(|v| format!("\"signature\": {v}")));
                parts.extend(params.map(|p| format!("\"params\": {p}")));
                parts.extend(headers.map(|h| format!("\"headers\": {h}")));
                parts.retain(|p| !p.is_empty());
                format!("{{{}}}", parts.join(", "))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        /// Whenever the typed read answers, it answers what the `Value`
        /// walk does: same fields, same order, same client address.
        #[test]
        fn the_typed_read_agrees_with_the_value_walk(
            creds in credentials(),
            envelope in proptest::sample::select(&["credentials", "credential", "ec2Credentials"][..]),
            extra in proptest::option::of(credentials()),
        ) {
            let mut body = format!("{{{envelope:?}: {creds}");
            if let Some(extra) = extra {
                body.push_str(&format!(", \"credentials\": {extra}"));
            }
            body.push('}');
            if let Some(fast) = typed(body.as_bytes()) {
                prop_assert_eq!(Ok(fast), walked(body.as_bytes()), "{}", body);
            }
        }
    }

    #[test]
    fn the_typed_read_takes_the_common_body_and_leaves_the_rest() {
        let common = br#"{"credentials": {"access": "ak", "signature": "sig", "host": "h",
            "verb": "GET", "path": "/", "params": {"b": "2", "a": "1"}, "headers": {}}}"#;
        assert_eq!(typed(common), walked(common).ok());
        assert!(typed(common)
            .unwrap()
            .contains(r#"[("a", "1"), ("b", "2")]"#));
        for other in [
            &br#"[{"access": "ak", "signature": "sig"}]"#[..],
            br#"{"credentials": ["ak", "sig"]}"#,
            br#"{"credentials": {"access": "ak", "signature": "sig", "params": {"a": 1}}}"#,
            br#"{"credentials": {"access": "ak", "signature": "sig", "params": {"a": "1", "a": "2"}}}"#,
            br#"{"credentials": {"access": "ak", "access": "ak2", "signature": "sig"}}"#,
            br#"{"credentials": {"access": "", "signature": "sig"}}"#,
            br#"{"credentials": {"access": "ak", "signature": "sig", "client_ip": "x"}}"#,
            br#"{"credential": {"access": "ak", "signature": "sig"}}"#,
        ] {
            assert_eq!(typed(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}
