//! Parsing of `POST /v3/auth/tokens` bodies into typed requests, with
//! Keystone's validation order and messages (`keystone/auth/core.py`,
//! `keystone/auth/schema.py`). Pure: no I/O.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::secret::Secret;

/// A user named by id, or by name within a domain named by id or name.
#[derive(Debug, Clone, PartialEq)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Debug, Clone, PartialEq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// What the caller asked the token to be scoped to.
#[derive(Debug, Clone, PartialEq)]
pub enum ScopeRequest {
    /// No `scope`: Keystone falls back to the user's default project.
    Default,
    Unscoped,
    Project(ProjectRef),
    Domain(DomainRef),
    System,
    Trust(String),
}

#[derive(Debug)]
pub struct PasswordCredentials {
    pub user: UserRef,
    pub password: Option<Secret>,
}

#[derive(Debug)]
pub struct AppCredCredentials {
    pub id: Option<String>,
    pub name: Option<String>,
    pub user: Option<UserRef>,
    pub secret: Secret,
}

/// A parsed authentication request.
#[derive(Debug)]
pub struct AuthRequest {
    /// De-duplicated, in request order.
    pub methods: Vec<String>,
    pub password: Option<PasswordCredentials>,
    pub token: Option<Secret>,
    pub application_credential: Option<AppCredCredentials>,
    /// The signed request, for the `oauth1` method (the body says nothing
    /// of it: the handler fills it from the HTTP request).
    pub oauth1: Option<crate::oauth1::SignedRequest>,
    pub scope: ScopeRequest,
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, Error> {
    value
        .as_object()
        .ok_or_else(|| Error::invalid(field, &format!("{value} is not of type 'object'")))
}

fn string_field(obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, Error> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => Ok(Some(s.clone())),
        Some(Value::String(s)) if s.is_empty() => {
            Err(Error::invalid(&format!("{field}/{key}"), "'' is too short"))
        }
        Some(Value::String(_)) => Err(Error::invalid(
            &format!("{field}/{key}"),
            "the value is too long (at most 255 characters)",
        )),
        Some(other) => Err(Error::invalid(
            &format!("{field}/{key}"),
            &format!("{other} is not of type 'string'"),
        )),
    }
}

fn domain_ref(value: &Value, field: &str) -> Result<DomainRef, Error> {
    let obj = object(value, field)?;
    if let Some(id) = string_field(obj, "id", field)? {
        return Ok(DomainRef::Id(id));
    }
    if let Some(name) = string_field(obj, "name", field)? {
        return Ok(DomainRef::Name(name));
    }
    Err(Error::expecting("id or name", "domain"))
}

fn user_ref(obj: &Map<String, Value>, field: &str) -> Result<UserRef, Error> {
    if let Some(id) = string_field(obj, "id", field)? {
        return Ok(UserRef::Id(id));
    }
    let Some(name) = string_field(obj, "name", field)? else {
        return Err(Error::expecting("id or name", "user"));
    };
    let Some(domain) = obj.get("domain") else {
        return Err(Error::expecting("domain", "user"));
    };
    Ok(UserRef::Name {
        name,
        domain: domain_ref(domain, &format!("{field}/domain"))?,
    })
}

fn parse_scope(scope: Option<&Value>) -> Result<ScopeRequest, Error> {
    let scope = match scope {
        None | Some(Value::Null) => return Ok(ScopeRequest::Default),
        Some(Value::String(s)) if s == "unscoped" => return Ok(ScopeRequest::Unscoped),
        Some(v) => v,
    };
    let Some(obj) = scope.as_object() else {
        return Err(Error::invalid(
            "scope",
            &format!("{scope} is not valid under any of the given schemas"),
        ));
    };
    const KINDS: [&str; 5] = ["project", "domain", "system", "unscoped", "OS-TRUST:trust"];
    let present: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if present.len() != 1 {
        return Err(Error::expecting(
            "system, project, domain, OS-TRUST:trust or unscoped",
            "scope",
        ));
    }
    let value = &obj[present[0]];
    match present[0] {
        "project" => {
            let p = object(value, "scope/project")?;
            if let Some(id) = string_field(p, "id", "scope/project")? {
                return Ok(ScopeRequest::Project(ProjectRef::Id(id)));
            }
            let Some(name) = string_field(p, "name", "scope/project")? else {
                return Err(Error::expecting("id or name", "project"));
            };
            let Some(domain) = p.get("domain") else {
                return Err(Error::expecting("domain", "project"));
            };
            Ok(ScopeRequest::Project(ProjectRef::Name {
                name,
                domain: domain_ref(domain, "scope/project/domain")?,
            }))
        }
        "domain" => Ok(ScopeRequest::Domain(domain_ref(value, "scope/domain")?)),
        "system" => {
            let s = object(value, "scope/system")?;
            match s.get("all") {
                Some(Value::Bool(true)) => Ok(ScopeRequest::System),
                _ => Err(Error::expecting("all", "system")),
            }
        }
        "unscoped" => Ok(ScopeRequest::Unscoped),
        _ => {
            let t = object(value, "scope/OS-TRUST:trust")?;
            let Some(id) = string_field(t, "id", "scope/OS-TRUST:trust")? else {
                return Err(Error::expecting("id", "trust"));
            };
            Ok(ScopeRequest::Trust(id))
        }
    }
}

fn secret_field(obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<Secret>, Error> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Secret::new(s.clone()))),
        Some(_) => Err(Error::invalid(
            &format!("{field}/{key}"),
            "the value is not of type 'string'",
        )),
    }
}

impl AuthRequest {
    /// Parses and validates a request body. `enabled` is the configured
    /// `[auth] methods`: a method outside it is a 401 listing them.
    pub fn parse(body: &Value, enabled: &[String]) -> Result<AuthRequest, Error> {
        let auth = match body.as_object().and_then(|b| b.get("auth")) {
            Some(a) => object(a, "auth")?,
            None => return Err(Error::expecting("auth", "request body")),
        };
        let identity = match auth.get("identity") {
            Some(i) => object(i, "identity")?,
            None => return Err(Error::invalid("auth", "'identity' is a required property")),
        };
        let methods_value = identity
            .get("methods")
            .ok_or_else(|| Error::invalid("identity", "'methods' is a required property"))?;
        let Value::Array(items) = methods_value else {
            return Err(Error::invalid(
                "identity/methods",
                "the value is not of type 'array'",
            ));
        };
        let mut methods: Vec<String> = Vec::new();
        for item in items {
            let Value::String(m) = item else {
                return Err(Error::invalid(
                    "identity/methods",
                    &format!("{item} is not of type 'string'"),
                ));
            };
            if !methods.contains(m) {
                methods.push(m.clone());
            }
        }
        if methods.is_empty() {
            return Err(Error::invalid("identity/methods", "[] is too short"));
        }
        for m in &methods {
            if !identity.contains_key(m) {
                return Err(Error::expecting(m, "identity"));
            }
        }
        if methods.iter().any(|m| !enabled.contains(m)) {
            return Err(Error::Unauthorized {
                message: Some("Attempted to authenticate with an unsupported method.".into()),
                identity: Some(serde_json::json!({ "methods": enabled })),
            });
        }
        let password = if methods.iter().any(|m| m == "password") {
            let p = object(&identity["password"], "identity/password")?;
            let user = p.get("user").ok_or_else(|| {
                Error::invalid("identity/password", "'user' is a required property")
            })?;
            let user_obj = object(user, "identity/password/user")?;
            Some(PasswordCredentials {
                user: user_ref(user_obj, "identity/password/user")?,
                password: secret_field(user_obj, "password", "identity/password/user")?,
            })
        } else {
            None
        };
        let token = if methods.iter().any(|m| m == "token") {
            let t = object(&identity["token"], "identity/token")?;
            match t.get("id") {
                Some(Value::String(id)) => Some(Secret::new(id.clone())),
                Some(_) => {
                    return Err(Error::invalid(
                        "identity/token/id",
                        "the value is not of type 'string'",
                    ))
                }
                None => {
                    return Err(Error::invalid(
                        "identity/token",
                        "'id' is a required property",
                    ))
                }
            }
        } else {
            None
        };
        let application_credential = if methods.iter().any(|m| m == "application_credential") {
            let field = "identity/application_credential";
            let a = object(&identity["application_credential"], field)?;
            let secret = secret_field(a, "secret", field)?
                .ok_or_else(|| Error::invalid(field, "'secret' is a required property"))?;
            let id = string_field(a, "id", field)?;
            let name = string_field(a, "name", field)?;
            let user = match a.get("user") {
                Some(u) => Some(user_ref(
                    object(u, &format!("{field}/user"))?,
                    &format!("{field}/user"),
                )?),
                None => None,
            };
            if id.is_none() && name.is_none() {
                return Err(Error::expecting("id or name", "application credential"));
            }
            if id.is_none() && user.is_none() {
                return Err(Error::expecting("user", "application credential"));
            }
            Some(AppCredCredentials {
                id,
                name,
                user,
                secret,
            })
        } else {
            None
        };
        Ok(AuthRequest {
            methods,
            password,
            token,
            application_credential,
            oauth1: None,
            scope: parse_scope(auth.get("scope"))?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enabled() -> Vec<String> {
        crate::config::DEFAULT_AUTH_METHODS
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn message(e: Error) -> String {
        e.public_message()
    }

    #[test]
    fn soda_step_one_parses() {
        let body = json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "password"}}}}});
        let r = AuthRequest::parse(&body, &enabled()).unwrap();
        assert_eq!(r.methods, vec!["password"]);
        let p = r.password.unwrap();
        assert_eq!(
            p.user,
            UserRef::Name {
                name: "admin".into(),
                domain: DomainRef::Name("Default".into())
            }
        );
        assert_eq!(p.password.unwrap().expose(), "password");
        assert_eq!(r.scope, ScopeRequest::Default);
    }

    #[test]
    fn soda_step_two_parses() {
        let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "abc"}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
        let r = AuthRequest::parse(&body, &enabled()).unwrap();
        assert_eq!(r.token.unwrap().expose(), "abc");
        assert_eq!(
            r.scope,
            ScopeRequest::Project(ProjectRef::Name {
                name: "admin".into(),
                domain: DomainRef::Id("default".into())
            })
        );
    }

    #[test]
    fn keystone_messages_for_malformed_bodies() {
        let cases = [
            (json!({}), "Expecting to find auth in request body."),
            (json!([]), "Expecting to find auth in request body."),
            (
                json!({"auth": {"identity": {"methods": ["password"]}}}),
                "Expecting to find password in identity.",
            ),
            (
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "a", "password": "p"}}}}}),
                "Expecting to find domain in user.",
            ),
            (
                json!({"auth": {"identity": {"methods": ["token"], "token": {}}}}),
                "'id' is a required property",
            ),
            (
                json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}}, "scope": {"project": {"name": "p"}}}}),
                "Expecting to find domain in project.",
            ),
            (
                json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}}, "scope": {"project": {"id": "p"}, "domain": {"id": "d"}}}}),
                "Expecting to find system, project, domain, OS-TRUST:trust or unscoped in scope.",
            ),
            (
                json!({"auth": {"identity": {"methods": "password"}}}),
                "not of type 'array'",
            ),
            (
                json!({"auth": {"identity": {"methods": [1]}}}),
                "not of type 'string'",
            ),
        ];
        for (body, expected) in cases {
            let err = AuthRequest::parse(&body, &enabled()).unwrap_err();
            assert_eq!(err.code(), 400, "{body}");
            assert!(message(err).contains(expected), "{body} -> {expected}");
        }
    }

    #[test]
    fn unsupported_method_is_401_listing_enabled_methods() {
        let body = json!({"auth": {"identity": {"methods": ["kerberos"], "kerberos": {}}}});
        let err = AuthRequest::parse(&body, &enabled()).unwrap_err();
        assert_eq!(err.code(), 401);
        assert_eq!(err.identity().unwrap()["methods"][1], "password");
    }

    #[test]
    fn scope_forms() {
        let base = |scope: Value| json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}}, "scope": scope}});
        let parse = |scope: Value| AuthRequest::parse(&base(scope), &enabled()).unwrap().scope;
        assert_eq!(parse(json!("unscoped")), ScopeRequest::Unscoped);
        assert_eq!(parse(json!({"unscoped": {}})), ScopeRequest::Unscoped);
        assert_eq!(
            parse(json!({"system": {"all": true}})),
            ScopeRequest::System
        );
        assert_eq!(
            parse(json!({"domain": {"name": "D"}})),
            ScopeRequest::Domain(DomainRef::Name("D".into()))
        );
        assert_eq!(
            parse(json!({"project": {"id": "p"}})),
            ScopeRequest::Project(ProjectRef::Id("p".into()))
        );
        assert!(AuthRequest::parse(&base(json!("everything")), &enabled()).is_err());
        assert!(AuthRequest::parse(&base(json!({"system": {"all": false}})), &enabled()).is_err());
    }

    #[test]
    fn duplicate_methods_collapse() {
        let body =
            json!({"auth": {"identity": {"methods": ["token", "token"], "token": {"id": "x"}}}});
        assert_eq!(
            AuthRequest::parse(&body, &enabled()).unwrap().methods,
            vec!["token"]
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let body = json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": "u", "password": "hunter2"}}}}});
        let r = AuthRequest::parse(&body, &enabled()).unwrap();
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}
