//! HTTP only: the URL map, request parsing helpers and response shapes.
//! Handlers are thin: parse, call one subsystem function, render.

pub mod admin;
pub mod aksk;
pub mod appcreds;
pub mod auth;
pub mod catalog;
pub mod credentials;
pub mod discovery;
pub mod grants;
pub mod health;
pub mod identity;
pub mod input;
pub mod metrics;
pub mod roles;
pub mod signed;

use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::Value;

use crate::error::{Error, BAD_REQUEST_SUFFIX};
use crate::AppState;

/// Declares the whole URL map once. It yields [`ROUTES`] (for the OpenAPI
/// check and docs) and [`register`] (for the server), so the two cannot
/// drift apart.
macro_rules! routes {
    ($( $path:literal => { $( $method:ident : $handler:path ),+ $(,)? } ),+ $(,)?) => {
        /// Every `(method, path)` the service answers, without the
        /// `/identity` prefix under which Keystone's (not SODA's `/v1`)
        /// routes are also served.
        pub const ROUTES: &[(&str, &str)] = &[ $( $( (stringify!($method), $path), )+ )+ ];

        /// Registers every route at `prefix` + path.
        fn register_at(cfg: &mut web::ServiceConfig, prefix: &str) {
            $(
                let allow = [ $( stringify!($method) ),+ ].join(", ");
                // SODA's multicloud API and the operational routes are not part of Keystone's tree.
                if prefix.is_empty() || !($path.starts_with("/v1/") || matches!($path, "/metrics" | "/healthz" | "/readyz")) {
                cfg.service(
                    web::resource(full_path(prefix, $path))
                        $( .route(web::method(Method::$method).to($handler)) )+
                        .default_service(web::to(move || {
                            let allow = allow.clone();
                            async move { method_not_allowed(&allow) }
                        })),
                );
                }
            )+
        }
    };
}

routes! {
    "/" => { GET: discovery::versions },
    "/v3" => { GET: discovery::version_v3 },
    "/metrics" => { GET: metrics::metrics },
    "/healthz" => { GET: health::healthz },
    "/readyz" => { GET: health::readyz },
    "/v3/auth/tokens" => {
        POST: auth::issue_token,
        GET: auth::validate_token,
        HEAD: auth::check_token,
        DELETE: auth::revoke_token,
    },
    // The hot paths next: actix tries routes in order, and every dynamic
    // route before a match costs a regex run (7 % of /v3/ec2tokens when
    // these stood last).
    "/v3/ec2tokens" => { POST: signed::ec2tokens },
    "/v3/s3tokens" => { POST: signed::s3tokens },
    "/v3/auth/projects" => { GET: auth::auth_projects },
    "/v3/auth/domains" => { GET: auth::auth_domains },
    "/v3/auth/system" => { GET: auth::auth_system },
    "/v3/auth/catalog" => { GET: auth::auth_catalog },
    "/v3/domains" => { POST: admin::create_domain, GET: admin::list_domains },
    "/v3/domains/{domain_id}" => {
        GET: admin::get_domain,
        PATCH: admin::update_domain,
        DELETE: admin::delete_domain,
    },
    "/v3/projects" => { POST: admin::create_project, GET: admin::list_projects },
    "/v3/projects/{project_id}" => {
        GET: identity::get_project,
        PATCH: admin::update_project,
        DELETE: admin::delete_project,
    },
    "/v3/users" => { POST: admin::create_user, GET: admin::list_users },
    "/v3/users/{user_id}" => {
        GET: identity::get_user,
        PATCH: admin::update_user,
        DELETE: admin::delete_user,
    },
    "/v3/users/{user_id}/password" => { POST: admin::change_password },
    "/v3/users/{user_id}/projects" => { GET: admin::list_user_projects },
    "/v3/users/{user_id}/groups" => { GET: roles::list_user_groups },
    "/v3/roles" => { POST: roles::create_role, GET: roles::list_roles },
    "/v3/roles/{role_id}" => { GET: roles::get_role, PATCH: roles::update_role, DELETE: roles::delete_role },
    "/v3/roles/{prior_role_id}/implies" => { GET: roles::list_implied },
    "/v3/roles/{prior_role_id}/implies/{implied_role_id}" => {
        PUT: roles::create_implied,
        GET: roles::get_implied,
        HEAD: roles::check_implied,
        DELETE: roles::delete_implied,
    },
    "/v3/role_inferences" => { GET: roles::role_inferences },
    "/v3/groups" => { POST: roles::create_group, GET: roles::list_groups },
    "/v3/groups/{group_id}" => { GET: roles::get_group, PATCH: roles::update_group, DELETE: roles::delete_group },
    "/v3/groups/{group_id}/users" => { GET: roles::list_group_users },
    "/v3/groups/{group_id}/users/{user_id}" => {
        PUT: roles::add_to_group,
        HEAD: roles::check_in_group,
        GET: roles::check_in_group,
        DELETE: roles::remove_from_group,
    },
    "/v3/projects/{project_id}/users/{user_id}/roles" => { GET: grants::list_project_user },
    "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}" => {
        PUT: grants::grant_project_user, GET: grants::check_project_user, HEAD: grants::check_project_user, DELETE: grants::revoke_project_user,
    },
    "/v3/projects/{project_id}/groups/{group_id}/roles" => { GET: grants::list_project_group },
    "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}" => {
        PUT: grants::grant_project_group, GET: grants::check_project_group, HEAD: grants::check_project_group, DELETE: grants::revoke_project_group,
    },
    "/v3/domains/{domain_id}/users/{user_id}/roles" => { GET: grants::list_domain_user },
    "/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}" => {
        PUT: grants::grant_domain_user, GET: grants::check_domain_user, HEAD: grants::check_domain_user, DELETE: grants::revoke_domain_user,
    },
    "/v3/domains/{domain_id}/groups/{group_id}/roles" => { GET: grants::list_domain_group },
    "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}" => {
        PUT: grants::grant_domain_group, GET: grants::check_domain_group, HEAD: grants::check_domain_group, DELETE: grants::revoke_domain_group,
    },
    "/v3/system/users/{user_id}/roles" => { GET: grants::list_system_user },
    "/v3/system/users/{user_id}/roles/{role_id}" => {
        PUT: grants::grant_system_user, GET: grants::check_system_user, HEAD: grants::check_system_user, DELETE: grants::revoke_system_user,
    },
    "/v3/system/groups/{group_id}/roles" => { GET: grants::list_system_group },
    "/v3/system/groups/{group_id}/roles/{role_id}" => {
        PUT: grants::grant_system_group, GET: grants::check_system_group, HEAD: grants::check_system_group, DELETE: grants::revoke_system_group,
    },
    "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects" => { GET: grants::list_inherited_domain_user },
    "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects" => {
        PUT: grants::grant_inherited_domain_user, GET: grants::check_inherited_domain_user, HEAD: grants::check_inherited_domain_user, DELETE: grants::revoke_inherited_domain_user,
    },
    "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects" => { GET: grants::list_inherited_domain_group },
    "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects" => {
        PUT: grants::grant_inherited_domain_group, GET: grants::check_inherited_domain_group, HEAD: grants::check_inherited_domain_group, DELETE: grants::revoke_inherited_domain_group,
    },
    "/v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects" => {
        PUT: grants::grant_inherited_project_user, GET: grants::check_inherited_project_user, HEAD: grants::check_inherited_project_user, DELETE: grants::revoke_inherited_project_user,
    },
    "/v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects" => {
        PUT: grants::grant_inherited_project_group, GET: grants::check_inherited_project_group, HEAD: grants::check_inherited_project_group, DELETE: grants::revoke_inherited_project_group,
    },
    "/v3/role_assignments" => { GET: grants::list_role_assignments },
    "/v3/users/{user_id}/application_credentials" => { POST: appcreds::create, GET: appcreds::list },
    "/v3/users/{user_id}/application_credentials/{application_credential_id}" => {
        GET: appcreds::get,
        DELETE: appcreds::delete,
    },
    "/v3/users/{user_id}/access_rules" => { GET: appcreds::list_access_rules },
    "/v3/users/{user_id}/access_rules/{access_rule_id}" => {
        GET: appcreds::get_access_rule,
        DELETE: appcreds::delete_access_rule,
    },
    "/v3/regions" => { POST: catalog::create_region, GET: catalog::list_regions },
    "/v3/regions/{region_id}" => {
        GET: catalog::get_region,
        PATCH: catalog::update_region,
        DELETE: catalog::delete_region,
    },
    "/v3/services" => { POST: catalog::create_service, GET: catalog::list_services },
    "/v3/services/{service_id}" => {
        GET: catalog::get_service,
        PATCH: catalog::update_service,
        DELETE: catalog::delete_service,
    },
    "/v3/endpoints" => { POST: catalog::create_endpoint, GET: catalog::list_endpoints },
    "/v3/endpoints/{endpoint_id}" => {
        GET: catalog::get_endpoint,
        PATCH: catalog::update_endpoint,
        DELETE: catalog::delete_endpoint,
    },
    "/v3/credentials" => { POST: credentials::create, GET: credentials::list },
    "/v3/credentials/{credential_id}" => {
        GET: credentials::get,
        PATCH: credentials::update,
        DELETE: credentials::delete,
    },
    "/v3/users/{user_id}/credentials/OS-EC2" => { POST: credentials::ec2_create, GET: credentials::ec2_list },
    "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}" => {
        GET: credentials::ec2_get,
        DELETE: credentials::ec2_delete,
    },
    "/v1/{project_id}/aksks" => { POST: aksk::create },
    "/v1/{project_id}/aksks/{user_id}" => { GET: aksk::get, DELETE: aksk::delete_all },
    "/v1/{project_id}/aksks/{user_id}/download" => { GET: aksk::download },
    "/v1/{project_id}/aksks/{user_id}/keys" => { GET: aksk::list_keys },
    "/v1/{project_id}/aksks/{user_id}/keys/{access_key}" => {
        PATCH: aksk::update_key,
        DELETE: aksk::delete_key,
    },
}

/// The prefix under which Keystone routes are served a second time, as in
/// devstack's `http://HOST/identity/v3`.
pub const IDENTITY_PREFIX: &str = "/identity";

fn full_path(prefix: &str, path: &str) -> String {
    match (prefix, path) {
        ("", p) => p.to_string(),
        (pre, "/") => pre.to_string(),
        (pre, p) => format!("{pre}{p}"),
    }
}

/// The whole URL map: every route at the root and under `/identity`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    register_at(cfg, "");
    register_at(cfg, IDENTITY_PREFIX);
}

fn method_not_allowed(allow: &str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", allow.to_string()))
        .json(serde_json::json!({
            "error": {
                "code": 405,
                "title": "Method Not Allowed",
                "message": "The method is not allowed for the requested URL."
            }
        }))
}

/// Unknown paths: Keystone's 404 as JSON.
pub async fn not_found() -> HttpResponse {
    let err = Error::NotFound("The resource could not be found.".into());
    HttpResponse::NotFound().json(err.body())
}

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

/// What the caller presented with this request: its `X-Auth-Token`, and
/// the method and path its access rules (if any) are matched against.
pub fn presented(req: &HttpRequest) -> crate::auth::Presented<'_> {
    crate::auth::Presented {
        token: header(req, "X-Auth-Token"),
        service_token: header(req, "X-Service-Token"),
        method: req.method().as_str(),
        path: req.path(),
    }
}

/// The caller's own token, validated for this request (a 401 when
/// missing, invalid, or not allowed by its access rules).
pub async fn caller(
    state: &AppState,
    req: &HttpRequest,
) -> Result<crate::auth::TokenContext, Error> {
    crate::auth::authenticate_caller(state, presented(req)).await
}

/// A policy target that lives in a domain.
pub fn in_domain(domain_id: &str) -> crate::policy::Target<'_> {
    crate::policy::Target {
        domain_id: Some(domain_id),
        ..Default::default()
    }
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

/// oslo's `bool_from_string`.
pub fn query_bool(req: &HttpRequest, name: &str) -> bool {
    query_pairs(req).iter().any(|(k, v)| {
        k == name
            && matches!(
                v.to_ascii_lowercase().as_str(),
                "1" | "t" | "true" | "on" | "y" | "yes"
            )
    })
}

/// A request body under Keystone's rules (`json_body.py`): empty is
/// allowed (as `Null`); otherwise the Content-Type must be JSON or absent
/// and the body a JSON object. Bodies over the configured size are a 413.
pub struct JsonBody(pub Value);

impl FromRequest for JsonBody {
    type Error = Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.server.max_request_body_size)
            .unwrap_or(114_688);
        let content_type = header(req, "content-type").map(str::to_ascii_lowercase);
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
            parse_json_body(content_type.as_deref(), &body).map(JsonBody)
        })
    }
}

/// The pure part of [`JsonBody`].
pub fn parse_json_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    if let Some(ct) = content_type {
        let mime = ct.split(';').next().unwrap_or("").trim();
        let is_json = mime == "application/json"
            || (mime.starts_with("application/") && mime.ends_with("+json"));
        if !is_json {
            return Err(Error::BadRequest(format!(
                "Expecting to find application/json in Content-Type header.{BAD_REQUEST_SUFFIX}"
            )));
        }
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
    fn routes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(seen.insert(*r), "duplicate route {r:?}");
        }
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
    fn prefix_paths() {
        assert_eq!(full_path("", "/"), "/");
        assert_eq!(full_path("/identity", "/"), "/identity");
        assert_eq!(full_path("/identity", "/v3"), "/identity/v3");
    }
}
