//! HTTP only. This file is the URL map; `http` holds the request helpers,
//! `error` the mapping of domain errors to Keystone's answers, `render`
//! the response shapes. Handlers are thin: parse, call one subsystem
//! function, render.

pub mod admin;
pub mod aksk;
pub mod appcreds;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod console;
pub mod credentials;
pub mod crud;
pub mod discovery;
pub mod domain_config;
pub mod endpoint_filter;
pub mod error;
pub mod grants;
pub mod health;
pub mod http;
pub mod input;
pub mod json_home;
pub mod keystone_schemas;
pub mod leaks;
pub mod legacy;
pub mod limits;
pub mod metrics;
pub mod oauth1;
pub mod oauth2;
pub mod policies;
pub mod render;
pub mod roles;
pub mod signed;
pub mod slashes;
pub mod trusts;

use actix_web::http::Method;
use actix_web::web;

use error::method_not_allowed;

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
                let methods = [ $( stringify!($method) ),+ ];
                // Flask answers HEAD wherever it answers GET (the same
                // status, no body); actix does not, so GET lends its
                // handler to HEAD where a route has no HEAD of its own.
                let head_from_get = methods.contains(&"GET") && !methods.contains(&"HEAD");
                let allow = if head_from_get {
                    format!("{}, HEAD", methods.join(", "))
                } else {
                    methods.join(", ")
                };
                // SODA's multicloud API and the operational routes are not part of Keystone's tree.
                if prefix.is_empty() || !($path.starts_with("/v1/") || matches!($path, "/metrics" | "/healthz" | "/readyz")) {
                let mut resource = web::resource(full_path(prefix, $path));
                if let Some(schemas) = keystone_schemas::RouteSchemas::of($path) {
                    resource = resource.app_data(schemas);
                }
                $(
                    resource = resource.route(web::method(Method::$method).to($handler));
                    if head_from_get && stringify!($method) == "GET" {
                        resource = resource.route(web::method(Method::HEAD).to($handler));
                    }
                )+
                cfg.service(resource.default_service(web::to(move || {
                    let allow = allow.clone();
                    async move { method_not_allowed(&allow) }
                })));
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
    "/v3/auth/tokens/OS-PKI/revoked" => { GET: legacy::pki_revoked, HEAD: legacy::pki_revoked },
    "/v3/OS-REVOKE/events" => { GET: auth::revoke_events },
    "/v3/OS-SIMPLE-CERT/ca" => { GET: legacy::simple_cert, HEAD: legacy::simple_cert },
    "/v3/OS-SIMPLE-CERT/certificates" => { GET: legacy::simple_cert, HEAD: legacy::simple_cert },
    "/v3/OS-OAUTH1/consumers" => {
        POST: oauth1::create_consumer,
        GET: crud::list::<oauth1::Consumers>,
    },
    "/v3/OS-OAUTH1/consumers/{consumer_id}" => {
        GET: crud::get::<oauth1::Consumers>,
        PATCH: crud::update::<oauth1::Consumers>,
        DELETE: crud::delete::<oauth1::Consumers>,
    },
    "/v3/OS-OAUTH1/request_token" => { POST: oauth1::request_token, GET: oauth1::only_post },
    "/v3/OS-OAUTH1/access_token" => { POST: oauth1::access_token, GET: oauth1::only_post },
    "/v3/OS-OAUTH1/authorize/{request_token_id}" => { PUT: oauth1::authorize },
    "/v3/users/{user_id}/OS-OAUTH1/access_tokens" => { GET: oauth1::list_access_tokens },
    "/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}" => {
        GET: oauth1::get_access_token,
        DELETE: oauth1::delete_access_token,
    },
    "/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}/roles" => {
        GET: oauth1::access_token_roles,
    },
    "/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}/roles/{role_id}" => {
        GET: oauth1::access_token_role,
    },
    "/v3/OS-OAUTH2/token" => {
        POST: oauth2::token,
        GET: oauth2::method_not_allowed,
        HEAD: oauth2::method_not_allowed,
        PUT: oauth2::method_not_allowed,
        PATCH: oauth2::method_not_allowed,
        DELETE: oauth2::method_not_allowed,
    },
    "/v3/domains/config/default" => { GET: domain_config::defaults },
    "/v3/domains/config/{group}/default" => { GET: domain_config::defaults },
    "/v3/domains/config/{group}/{option}/default" => { GET: domain_config::defaults },
    "/v3/domains/{domain_id}/config" => {
        GET: domain_config::domain_config,
        PUT: domain_config::domain_config,
        PATCH: domain_config::domain_config,
        DELETE: domain_config::domain_config,
    },
    "/v3/domains/{domain_id}/config/{group}" => {
        GET: domain_config::domain_config,
        PATCH: domain_config::domain_config,
        DELETE: domain_config::domain_config,
    },
    "/v3/domains/{domain_id}/config/{group}/{option}" => {
        GET: domain_config::domain_config,
        PATCH: domain_config::domain_config,
        DELETE: domain_config::domain_config,
    },
    "/v3/domains" => { POST: crud::create::<admin::Domains>, GET: crud::list::<admin::Domains> },
    "/v3/domains/{domain_id}" => {
        GET: crud::get::<admin::Domains>,
        PATCH: crud::update::<admin::Domains>,
        DELETE: crud::delete::<admin::Domains>,
    },
    "/v3/projects" => { POST: crud::create::<admin::Projects>, GET: crud::list::<admin::Projects> },
    "/v3/projects/{project_id}" => {
        GET: admin::get_project,
        PATCH: crud::update::<admin::Projects>,
        DELETE: crud::delete::<admin::Projects>,
    },
    "/v3/projects/{project_id}/tags" => {
        GET: admin::list_project_tags,
        PUT: admin::replace_project_tags,
        DELETE: admin::delete_project_tags,
    },
    "/v3/projects/{project_id}/tags/{tag}" => {
        GET: admin::project_tag,
        PUT: admin::project_tag,
        DELETE: admin::project_tag,
    },
    "/v3/users" => { POST: crud::create::<admin::Users>, GET: crud::list::<admin::Users> },
    "/v3/users/{user_id}" => {
        GET: crud::get::<admin::Users>,
        PATCH: crud::update::<admin::Users>,
        DELETE: crud::delete::<admin::Users>,
    },
    "/v3/users/{user_id}/password" => { POST: admin::change_password },
    "/v3/users/{user_id}/tokens" => { DELETE: admin::revoke_user_tokens },
    "/v3/users/{user_id}/projects" => { GET: admin::list_user_projects },
    "/v3/users/{user_id}/groups" => { GET: roles::list_user_groups },
    "/v3/roles" => { POST: crud::create::<roles::Roles>, GET: crud::list::<roles::Roles> },
    "/v3/roles/{role_id}" => { GET: crud::get::<roles::Roles>, PATCH: crud::update::<roles::Roles>, DELETE: crud::delete::<roles::Roles> },
    "/v3/roles/{prior_role_id}/implies" => { GET: roles::list_implied },
    "/v3/roles/{prior_role_id}/implies/{implied_role_id}" => {
        PUT: roles::create_implied,
        GET: roles::get_implied,
        HEAD: roles::check_implied,
        DELETE: roles::delete_implied,
    },
    "/v3/role_inferences" => { GET: roles::role_inferences },
    "/v3/groups" => { POST: crud::create::<roles::Groups>, GET: crud::list::<roles::Groups> },
    "/v3/groups/{group_id}" => { GET: crud::get::<roles::Groups>, PATCH: crud::update::<roles::Groups>, DELETE: crud::delete::<roles::Groups> },
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
    "/v3/users/{user_id}/application_credentials/{application_credential_id}/rotate" => {
        POST: appcreds::rotate,
    },
    "/v3/users/{user_id}/access_rules" => { GET: appcreds::list_access_rules },
    "/v3/users/{user_id}/access_rules/{access_rule_id}" => {
        GET: appcreds::get_access_rule,
        DELETE: appcreds::delete_access_rule,
    },
    "/v3/regions" => { POST: crud::create::<catalog::Regions>, GET: crud::list::<catalog::Regions> },
    "/v3/regions/{region_id}" => {
        GET: crud::get::<catalog::Regions>,
        PUT: crud::create_at::<catalog::Regions>,
        PATCH: crud::update::<catalog::Regions>,
        DELETE: crud::delete::<catalog::Regions>,
    },
    "/v3/services" => { POST: crud::create::<catalog::Services>, GET: crud::list::<catalog::Services> },
    "/v3/services/{service_id}" => {
        GET: crud::get::<catalog::Services>,
        PATCH: crud::update::<catalog::Services>,
        DELETE: crud::delete::<catalog::Services>,
    },
    "/v3/endpoints" => { POST: crud::create::<catalog::Endpoints>, GET: crud::list::<catalog::Endpoints> },
    "/v3/endpoints/{endpoint_id}" => {
        GET: crud::get::<catalog::Endpoints>,
        PATCH: crud::update::<catalog::Endpoints>,
        DELETE: crud::delete::<catalog::Endpoints>,
    },
    "/v3/OS-EP-FILTER/endpoint_groups" => {
        POST: crud::create::<endpoint_filter::EndpointGroups>,
        GET: crud::list::<endpoint_filter::EndpointGroups>,
    },
    "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}" => {
        GET: crud::get::<endpoint_filter::EndpointGroups>,
        PATCH: crud::update::<endpoint_filter::EndpointGroups>,
        DELETE: crud::delete::<endpoint_filter::EndpointGroups>,
    },
    "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints" => { GET: endpoint_filter::group_endpoints },
    "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects" => { GET: endpoint_filter::group_projects },
    "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}" => {
        GET: endpoint_filter::group_project,
        PUT: endpoint_filter::group_project,
        DELETE: endpoint_filter::group_project,
    },
    "/v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects" => { GET: endpoint_filter::endpoint_projects },
    "/v3/OS-EP-FILTER/projects/{project_id}/endpoints" => { GET: endpoint_filter::project_endpoints },
    "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}" => {
        GET: endpoint_filter::project_endpoint,
        PUT: endpoint_filter::project_endpoint,
        DELETE: endpoint_filter::project_endpoint,
    },
    "/v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups" => { GET: endpoint_filter::project_groups },
    "/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy" => { GET: policies::endpoint_policy },
    "/v3/policies" => { POST: crud::create::<policies::Policies>, GET: crud::list::<policies::Policies> },
    "/v3/policies/{policy_id}" => {
        GET: crud::get::<policies::Policies>,
        PATCH: crud::update::<policies::Policies>,
        DELETE: crud::delete::<policies::Policies>,
    },
    "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints" => { GET: policies::policy_endpoints },
    "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}" => {
        GET: policies::endpoint_association,
        PUT: policies::endpoint_association,
        DELETE: policies::endpoint_association,
    },
    "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}" => {
        GET: policies::service_association,
        PUT: policies::service_association,
        DELETE: policies::service_association,
    },
    "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}" => {
        GET: policies::service_region_association,
        PUT: policies::service_region_association,
        DELETE: policies::service_region_association,
    },
    "/v3/OS-TRUST/trusts" => { POST: trusts::create, GET: trusts::list },
    "/v3/OS-TRUST/trusts/{trust_id}" => { GET: trusts::get, DELETE: trusts::delete },
    "/v3/OS-TRUST/trusts/{trust_id}/roles" => { GET: trusts::roles },
    "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}" => { GET: trusts::role, HEAD: trusts::role },
    "/v3/registered_limits" => {
        POST: crud::create_many::<limits::RegisteredLimits>,
        GET: crud::list::<limits::RegisteredLimits>,
    },
    "/v3/registered_limits/{registered_limit_id}" => {
        GET: crud::get::<limits::RegisteredLimits>,
        PATCH: crud::update::<limits::RegisteredLimits>,
        DELETE: crud::delete::<limits::RegisteredLimits>,
    },
    // Before `/v3/limits/{limit_id}`, which would take "model" for an id.
    "/v3/limits/model" => { GET: limits::model },
    "/v3/limits" => { POST: crud::create_many::<limits::Limits>, GET: crud::list::<limits::Limits> },
    "/v3/limits/{limit_id}" => {
        GET: crud::get::<limits::Limits>,
        PATCH: crud::update::<limits::Limits>,
        DELETE: crud::delete::<limits::Limits>,
    },
    "/v3/credentials" => { POST: crud::create::<credentials::Credentials>, GET: crud::list::<credentials::Credentials> },
    "/v3/credentials/{credential_id}" => {
        GET: crud::get::<credentials::Credentials>,
        PATCH: crud::update::<credentials::Credentials>,
        DELETE: crud::delete::<credentials::Credentials>,
    },
    "/v3/users/{user_id}/credentials/OS-EC2" => { POST: credentials::ec2_create, GET: credentials::ec2_list },
    "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}" => {
        GET: credentials::ec2_get,
        DELETE: credentials::ec2_delete,
    },
    "/v1/{project_id}/aksks" => { POST: aksk::create },
    "/v1/leaked-keys" => { POST: leaks::report },
    "/v1/audit-events" => { GET: audit::list },
    "/v1/{project_id}/aksks/{user_id}" => { GET: aksk::get, DELETE: aksk::delete_all },
    "/v1/{project_id}/aksks/{user_id}/download" => { GET: aksk::download },
    "/v1/{project_id}/aksks/{user_id}/keys" => { GET: aksk::list_keys },
    "/v1/{project_id}/aksks/{user_id}/keys/{access_key}" => {
        PATCH: aksk::update_key,
        DELETE: aksk::delete_key,
    },
    "/v1/{project_id}/aksks/{user_id}/keys/{access_key}/rotate" => { POST: aksk::rotate_key },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(seen.insert(*r), "duplicate route {r:?}");
        }
    }

    #[test]
    fn prefix_paths() {
        assert_eq!(full_path("", "/"), "/");
        assert_eq!(full_path("/identity", "/"), "/identity");
        assert_eq!(full_path("/identity", "/v3"), "/identity/v3");
    }
}
