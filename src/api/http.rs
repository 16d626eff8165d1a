//! The HTTP helpers every handler shares: who is calling and from where
//! (behind trusted proxies), the base URL of links, query parameters,
//! Keystone's JSON body rules and its collection shape.

use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde_json::Value;

use super::IDENTITY_PREFIX;
use crate::error::{Error, BAD_REQUEST_SUFFIX};
use crate::AppState;

/// `<scheme>://<host>[/identity]/v3`: the base of every link, Keystone's
/// `base_url()`. A configured `public_endpoint` wins. Otherwise the Host
/// header names the host, and `Forwarded`/`X-Forwarded-Host`/`-Proto`
/// count only when the peer is one of `server.trusted_proxies`: anyone
/// else could make links and `WWW-Authenticate` point anywhere.
pub fn base_url(req: &HttpRequest, state: &AppState) -> String {
    if let Some(endpoint) = &state.config.server.public_endpoint {
        let trimmed = endpoint.trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/v3").unwrap_or(trimmed);
        return format!("{trimmed}/v3");
    }
    let forwarded = forwarded(req, state);
    let host = forwarded
        .host
        .or_else(|| header(req, "host").map(str::to_string))
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| req.app_config().host().to_string());
    let scheme = forwarded.proto.unwrap_or_else(|| "http".to_string());
    let prefix = if req.path().starts_with(IDENTITY_PREFIX) {
        IDENTITY_PREFIX
    } else {
        ""
    };
    format!("{scheme}://{host}{prefix}/v3")
}

/// What trusted proxies say about the original request.
#[derive(Debug, Default)]
struct Forwarded {
    host: Option<String>,
    proto: Option<String>,
    /// Client addresses, nearest proxy last.
    chain: Vec<std::net::IpAddr>,
}

fn is_trusted_proxy(state: &AppState, ip: std::net::IpAddr) -> bool {
    state
        .config
        .server
        .trusted_proxies
        .iter()
        .any(|cidr| crate::credential::keys::cidr_contains(cidr, ip))
}

/// An address as `Forwarded: for=` or `X-Forwarded-For` write it:
/// `1.2.3.4`, `1.2.3.4:5`, `"[::1]:5"`, `::1`.
fn forwarded_address(text: &str) -> Option<std::net::IpAddr> {
    let t = text.trim().trim_matches('"');
    if let Ok(ip) = t.parse::<std::net::IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = t.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    t.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|ip| ip.parse().ok())
}

/// The forwarding headers, read only from a trusted proxy.
fn forwarded(req: &HttpRequest, state: &AppState) -> Forwarded {
    let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
        return Forwarded::default();
    };
    if !is_trusted_proxy(state, peer) {
        return Forwarded::default();
    }
    let mut out = Forwarded::default();
    // RFC 7239: the last element is the one our proxy wrote.
    if let Some(last) = header(req, "forwarded").and_then(|f| f.split(',').next_back()) {
        for pair in last.split(';') {
            if let Some((k, v)) = pair.split_once('=') {
                let v = v.trim().trim_matches('"').to_string();
                match k.trim().to_ascii_lowercase().as_str() {
                    "host" => out.host = Some(v),
                    "proto" => out.proto = Some(v),
                    _ => {}
                }
            }
        }
        out.chain = header(req, "forwarded")
            .unwrap_or("")
            .split(',')
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| forwarded_address(v))
                        .flatten()
                })
            })
            .collect();
    }
    if out.host.is_none() {
        out.host = header(req, "x-forwarded-host")
            .and_then(|h| h.split(',').next_back())
            .map(|h| h.trim().to_string());
    }
    if out.proto.is_none() {
        out.proto = header(req, "x-forwarded-proto")
            .and_then(|p| p.split(',').next_back())
            .map(|p| p.trim().to_ascii_lowercase());
    }
    if out.chain.is_empty() {
        out.chain = header(req, "x-forwarded-for")
            .unwrap_or("")
            .split(',')
            .filter_map(forwarded_address)
            .collect();
    }
    out.proto = out.proto.filter(|p| p == "http" || p == "https");
    out.host = out
        .host
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic() && b != b'/'));
    out
}

/// The address that sent the request: the TCP peer, or, when the peer is
/// a trusted proxy, the nearest address it forwarded that is not itself a
/// trusted proxy. IPv4-mapped IPv6 addresses are their IPv4 address.
pub fn peer_address(req: &HttpRequest, state: &AppState) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip().to_canonical())?;
    let chain = forwarded(req, state).chain;
    let mut nearest = peer;
    for hop in chain.iter().rev().map(|ip| ip.to_canonical()) {
        if !is_trusted_proxy(state, nearest) {
            break;
        }
        nearest = hop;
    }
    Some(nearest)
}

/// Keystone's collection body: the items under `key`, and links whose
/// `self` is the request's own URL under `base` (`path` is relative to
/// `/v3`).
pub fn collection(
    key: &str,
    items: Vec<Value>,
    req: &HttpRequest,
    base: &str,
    path: &str,
) -> Value {
    let filters = query_pairs(req);
    let items: Vec<Value> = items
        .into_iter()
        .filter(|item| matches_filters(item, &filters))
        .collect();
    let query = if req.query_string().is_empty() {
        String::new()
    } else {
        format!("?{}", req.query_string())
    };
    serde_json::json!({
        key: items,
        "links": {"self": format!("{base}{path}{query}"), "next": null, "previous": null},
    })
}

/// Keystone 30's largest page (`[DEFAULT] max_db_limit`): a larger
/// `limit` asks for this many.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The page marker of a listing Keystone 30 pages from one (users, groups,
/// projects, domains): the id the previous page ended with. Empty is none.
pub fn page_marker(req: &HttpRequest) -> Option<String> {
    query(req, "marker").filter(|m| !m.is_empty())
}

/// Keystone 30's `?limit=`: the most items a page holds, at most
/// [`MAX_PAGE_SIZE`]. Keystone answers a 500 for anything but a whole
/// number (`int()` raises); here it is a 400, as is a negative one.
fn page_limit(req: &HttpRequest) -> Result<Option<usize>, Error> {
    let Some(limit) = query(req, "limit").filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let limit: usize = limit.trim().parse().map_err(|_| {
        Error::BadRequest("Invalid limit: it must be a whole number, 0 or more.".into())
    })?;
    Ok(Some(limit.min(MAX_PAGE_SIZE)))
}

/// [`collection`] for the listings Keystone 30 pages: at most `?limit=`
/// items and, when more were left, `"truncated": true` and a `next` link
/// that repeats the query with the last item's id as `marker`. (Keystone
/// also says so when a page of projects or domains, or of filtered users
/// or groups, is exactly full; here only when something is left.) Which
/// items come after a marker is the use case's: only the listings that
/// take one read it.
pub fn paged_collection(
    key: &str,
    items: Vec<Value>,
    req: &HttpRequest,
    base: &str,
    path: &str,
) -> Result<Value, Error> {
    let limit = page_limit(req)?;
    let mut body = collection(key, items, req, base, path);
    let Some(limit) = limit else {
        return Ok(body);
    };
    let Some(items) = body[key].as_array_mut() else {
        return Ok(body);
    };
    if items.len() <= limit {
        return Ok(body);
    }
    items.truncate(limit);
    let last = items
        .last()
        .and_then(|item| item["id"].as_str())
        .map(str::to_string);
    body["truncated"] = Value::Bool(true);
    if let Some(last) = last {
        body["links"]["next"] = Value::String(format!(
            "{base}{path}?{}",
            next_page_query(req.query_string(), &last, limit)
        ));
    }
    Ok(body)
}

/// The query of the next page, as Keystone 30 writes it: the first value
/// of each parameter in order, with `marker` and `limit` replaced (or
/// added, in that order).
fn next_page_query(query: &str, marker: &str, limit: usize) -> String {
    let mut parameters: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if !parameters.iter().any(|(n, _)| *n == name) {
            parameters.push((name.into_owned(), value.into_owned()));
        }
    }
    for (name, value) in [("marker", marker.to_string()), ("limit", limit.to_string())] {
        match parameters.iter_mut().find(|(n, _)| n == name) {
            Some(parameter) => parameter.1 = value,
            None => parameters.push((name.to_string(), value)),
        }
    }
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(parameters)
        .finish()
}

/// Keystone's inexact filters (`attr__contains`, `__icontains`,
/// `__startswith`, `__istartswith`, `__endswith`, `__iendswith`,
/// `__equals`, `__iequals`) on any string attribute, and the project tag
/// filters (`tags`, `tags-any`, `not-tags`, `not-tags-any`, comma lists).
/// Exact filters are applied by each route; unknown filters are ignored.
pub fn matches_filters(item: &Value, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(key, wanted)| {
        if let Some((attr, op)) = key.rsplit_once("__") {
            // An item without the attribute does not match an inexact filter.
            let Some(actual) = item.get(attr).and_then(Value::as_str) else {
                return false;
            };
            let (a, w) = if op.starts_with('i') {
                (actual.to_lowercase(), wanted.to_lowercase())
            } else {
                (actual.to_string(), wanted.clone())
            };
            return match op.trim_start_matches('i') {
                "contains" => a.contains(&w),
                "startswith" => a.starts_with(&w),
                "endswith" => a.ends_with(&w),
                "equals" => a == w,
                _ => true,
            };
        }
        let tags: Vec<&str> = item
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut wanted_tags = wanted.split(',').map(str::trim).filter(|t| !t.is_empty());
        match key.as_str() {
            "tags" => wanted_tags.all(|t| tags.contains(&t)),
            "tags-any" => wanted_tags.any(|t| tags.contains(&t)),
            "not-tags" => !wanted_tags.all(|t| tags.contains(&t)),
            "not-tags-any" => !wanted_tags.any(|t| tags.contains(&t)),
            _ => true,
        }
    })
}

/// What the caller presented with this request: its `X-Auth-Token` (or
/// the console's session cookie with its CSRF header), and the method and
/// path its access rules (if any) are matched against.
pub fn presented(req: &HttpRequest) -> crate::auth::Presented<'_> {
    use crate::auth::browser;
    crate::auth::Presented {
        token: header(req, "X-Auth-Token").or_else(|| {
            browser::session_token(header(req, "cookie"), header(req, browser::CSRF_HEADER))
        }),
        service_token: header(req, "X-Service-Token"),
        method: req.method().as_str(),
        path: req.path(),
    }
}

/// The caller's own token, validated for this request (a 401 when
/// missing, invalid, or not allowed by its access rules).
pub async fn token_context(
    state: &AppState,
    req: &HttpRequest,
) -> Result<crate::auth::TokenContext, Error> {
    crate::auth::authenticate_caller(&state.auth, presented(req)).await
}

/// [`token_context`], as the token cache holds it (no copy).
pub async fn shared_token_context(
    state: &AppState,
    req: &HttpRequest,
) -> Result<std::sync::Arc<crate::auth::ValidToken>, Error> {
    crate::auth::authenticate_caller_shared(&state.auth, presented(req)).await
}

/// The content type of an answer rendered to JSON text beforehand.
pub const JSON: &str = "application/json";

/// Who is calling, as the policy rules see it (see [`token_context`]).
/// The caller also becomes the request's initiator in notifications.
pub async fn caller(state: &AppState, req: &HttpRequest) -> Result<crate::policy::Caller, Error> {
    let valid = shared_token_context(state, req).await?;
    let context = &valid.context;
    let caller = valid.caller().clone();
    let (project, domain) = match &caller.scope {
        crate::policy::CallerScope::Project { id, .. } => (Some(id.as_str()), None),
        crate::policy::CallerScope::Domain(id) => (None, Some(id.as_str())),
        _ => (None, None),
    };
    crate::notify::set_initiator(&caller.user_id, &context.live.user.name, project, domain);
    Ok(caller)
}

/// What a handler answers.
pub type Resp = Result<actix_web::HttpResponse, Error>;

/// The path's id, checked (a 400 names `what`); handed to a use case as
/// its input, so the error counts only after the policy check.
pub fn id_of(path: web::Path<String>, what: &str) -> Result<String, Error> {
    let id = path.into_inner();
    super::input::path_id(&id, what)?;
    Ok(id)
}

/// A `/users/{user_id}/…/{id}` path: the user id checked (a 400), the
/// second id as given (its own lookup answers for it).
pub fn user_and(path: web::Path<(String, String)>) -> Result<(String, String), Error> {
    let (user_id, id) = path.into_inner();
    super::input::path_id(&user_id, "user id")?;
    Ok((user_id, id))
}

/// `{key: item}` with 201 (`created`) or 200.
pub fn one(created: bool, key: &str, item: Value) -> actix_web::HttpResponse {
    let body = serde_json::json!({ key: item });
    if created {
        actix_web::HttpResponse::Created().json(body)
    } else {
        actix_web::HttpResponse::Ok().json(body)
    }
}

/// 204 after a delete or a grant.
pub fn gone(_: ()) -> actix_web::HttpResponse {
    actix_web::HttpResponse::NoContent().finish()
}

/// A header's value as text, if present and valid.
pub fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The query parameters, in order.
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// True when the parameter is present at all (Keystone's `nocatalog`).
pub fn query_flag_present(req: &HttpRequest, name: &str) -> bool {
    query_pairs(req).iter().any(|(k, _)| k == name)
}

/// oslo's `bool_from_string` in strict mode: `None` for anything that
/// is not one of its words. The one boolean parser of the API.
pub fn oslo_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "y" | "yes" | "on" => Some(true),
        "0" | "f" | "false" | "n" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Keystone's `query_filter_is_true`: present, with any value but `0`
/// (`?p`, `?p=false` and `?p=no` are all true). Keystone reads the
/// switches of `GET /v3/role_assignments` this way.
pub fn query_filter_is_true(req: &HttpRequest, name: &str) -> bool {
    query(req, name).is_some_and(|v| v != "0")
}

/// A query parameter that is present and true (oslo's lenient reading:
/// anything else is false).
pub fn query_bool(req: &HttpRequest, name: &str) -> bool {
    query_pairs(req)
        .iter()
        .any(|(k, v)| k == name && oslo_bool(v) == Some(true))
}

/// A boolean list filter; anything oslo does not read is a 400.
pub fn bool_filter(value: &str) -> Result<bool, Error> {
    oslo_bool(value)
        .ok_or_else(|| Error::BadRequest(format!("Invalid boolean filter value {value:?}.")))
}

/// The first value of a query parameter.
pub fn query(req: &HttpRequest, name: &str) -> Option<String> {
    query_pairs(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A request body under Keystone's rules (`json_body.py`): empty is
/// allowed (as `Null`); otherwise the Content-Type must be JSON or absent
/// and the body a JSON object. Bodies over the configured size are a 413.
pub struct JsonBody(pub Value);

impl FromRequest for JsonBody {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        extract(req, payload, |raw| raw.value().map(JsonBody))
    }
}

/// A Keystone schema of the route and method, if it has one.
type Schema = Option<&'static jsonschema::Validator>;

/// A body read whole under the size limit, with its content type and the
/// route's schema.
struct RawBody {
    body: web::BytesMut,
    content_type: Option<String>,
    schema: Schema,
}

impl RawBody {
    /// The body under [`JsonBody`]'s rules.
    fn value(&self) -> Result<Value, Error> {
        let body = parse_json_body(self.content_type.as_deref(), &self.body)?;
        if let Some(schema) = self.schema {
            super::keystone_schemas::check_with(schema, &body)?;
        }
        Ok(body)
    }
}

/// Reads the body whole, then makes the extractor's value of it.
fn extract<T: 'static>(
    req: &HttpRequest,
    payload: &mut actix_web::dev::Payload,
    finish: fn(RawBody) -> Result<T, Error>,
) -> LocalBoxFuture<'static, Result<T, Error>> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.server.max_request_body_size)
        .unwrap_or(114_688);
    let content_type = header(req, "content-type").map(str::to_ascii_lowercase);
    let schema = req
        .app_data::<super::keystone_schemas::RouteSchemas>()
        .and_then(|schemas| schemas.get(req.method().as_str()));
    let mut payload = payload.take();
    Box::pin(async move {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| {
                Error::BadRequest(format!(
                    "The request body could not be read.{BAD_REQUEST_SUFFIX}"
                ))
            })?;
            if body.len() + chunk.len() > limit {
                return Err(Error::PayloadTooLarge(format!(
                    "Request is too large. The request body exceeds the limit of {limit} bytes."
                )));
            }
            body.extend_from_slice(&chunk);
        }
        finish(RawBody {
            body,
            content_type,
            schema,
        })
    })
}

/// A hot route's body read straight into `T` when it fits `T`: a typed
/// read costs a fraction of building a [`Value`] tree first. A body `T`
/// does not fit (another shape, a wrong type, a duplicate key, a route
/// with a Keystone schema) leaves `typed` empty, and [`TypedJson::value`]
/// reads it under [`JsonBody`]'s rules, whose errors callers see.
pub struct TypedJson<T> {
    pub typed: Option<T>,
    raw: RawBody,
}

impl<T> TypedJson<T> {
    /// The body as [`JsonBody`] reads it.
    pub fn value(&self) -> Result<Value, Error> {
        self.raw.value()
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for TypedJson<T> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        extract(req, payload, |raw| {
            let typed = (raw.schema.is_none() && json_content_type(raw.content_type.as_deref()))
                .then(|| serde_json::from_slice::<Object<T>>(&raw.body).ok())
                .flatten()
                .map(|o| o.0);
            Ok(TypedJson { typed, raw })
        })
    }
}

/// A `T` read only from a JSON object. Serde's derived structs also
/// accept an array of their fields in order, which Keystone's rules (and
/// the `Value` walk) refuse; wrapping every struct in this closes that.
pub struct Object<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Object<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(Fields(std::marker::PhantomData))
    }
}

/// Whether a Content-Type (or its absence) allows a JSON body.
fn json_content_type(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|ct| {
        let mime = ct.split(';').next().unwrap_or("").trim();
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    })
}

/// The pure part of [`JsonBody`].
pub fn parse_json_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    if !json_content_type(content_type) {
        return Err(Error::BadRequest(format!(
            "Expecting to find application/json in Content-Type header.{BAD_REQUEST_SUFFIX}"
        )));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) | Err(_) => Err(Error::BadRequest(format!(
            "Expecting to find valid JSON in request body.{BAD_REQUEST_SUFFIX}"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn body_rules_follow_keystone() {
        assert_eq!(parse_json_body(None, b"").unwrap(), Value::Null);
        assert_eq!(
            parse_json_body(Some("text/plain"), b"  ").unwrap(),
            Value::Null
        );
        assert!(parse_json_body(None, b"{\"a\":1}").is_ok());
        assert!(parse_json_body(Some("application/json; charset=utf-8"), b"{}").is_ok());
        assert!(parse_json_body(Some("application/vnd.api+json"), b"{}").is_ok());
        let e = parse_json_body(Some("text/plain"), b"{}").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Expecting to find application/json in Content-Type header."));
        let e = parse_json_body(None, b"{nope").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Expecting to find valid JSON in request body."));
        assert!(parse_json_body(None, b"[1,2]").is_err());
        assert!(parse_json_body(None, b"\"str\"").is_err());
    }

    #[test]
    fn inexact_and_tag_filters() {
        let item = serde_json::json!({"name": "WebFront", "tags": ["prod", "eu"]});
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(matches_filters(&item, &f(&[("name__contains", "Front")])));
        assert!(!matches_filters(&item, &f(&[("name__contains", "front")])));
        assert!(matches_filters(&item, &f(&[("name__icontains", "front")])));
        assert!(matches_filters(
            &item,
            &f(&[("name__startswith", "Web"), ("name__iendswith", "FRONT")])
        ));
        assert!(matches_filters(&item, &f(&[("name__iequals", "webfront")])));
        assert!(!matches_filters(
            &item,
            &f(&[("description__contains", "x")])
        ));
        assert!(matches_filters(&item, &f(&[("tags", "prod,eu")])));
        assert!(!matches_filters(&item, &f(&[("tags", "prod,us")])));
        assert!(matches_filters(&item, &f(&[("tags-any", "us,eu")])));
        assert!(matches_filters(&item, &f(&[("not-tags", "prod,us")])));
        assert!(!matches_filters(&item, &f(&[("not-tags-any", "us,eu")])));
        assert!(matches_filters(&item, &f(&[("unknown", "ignored")])));
    }

    #[test]
    fn oslo_booleans() {
        for word in ["1", "t", "TRUE", "y", "yes", "On"] {
            assert_eq!(oslo_bool(word), Some(true), "{word}");
        }
        for word in ["0", "f", "False", "n", "no", "off"] {
            assert_eq!(oslo_bool(word), Some(false), "{word}");
        }
        assert_eq!(oslo_bool("maybe"), None);
        assert!(bool_filter("maybe").is_err());
    }
}
