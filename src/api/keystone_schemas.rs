//! Keystone 30's own request-body schemas, checked before a handler runs,
//! as Keystone's `request_body_schema` decorator checks them: before the
//! policy check (a caller who may not act still gets the 400 for a bad
//! body), with JSON Schema 2020-12 and Keystone's `uuid` format.
//!
//! `openapi/keystone-requests.json` is generated from the installed
//! Keystone by `tests/interop/keystone_schemas.py` and compared
//! with it by the contract test, so what Ironstone refuses is what Keystone
//! refuses. The schemas Keystone checks inside a method (`x-keystone-lazy`:
//! tokens, password changes, OAuth1, policies) stay with their handlers,
//! which follow Keystone's order (some after the policy check) and messages.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::error::Error;

const SCHEMAS: &str = include_str!("../../openapi/keystone-requests.json");
const QUERIES: &str = include_str!("../../openapi/keystone-queries.json");

/// Route pattern (`/v3/users`) to method (`POST`) to its compiled
/// validator: looked up by `&str`, nothing allocated per request.
type Validators = HashMap<String, HashMap<String, jsonschema::Validator>>;

fn validators() -> &'static Validators {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    VALIDATORS.get_or_init(|| load(SCHEMAS))
}

/// Those of the query strings, from `openapi/keystone-queries.json`.
fn query_validators() -> &'static Validators {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    VALIDATORS.get_or_init(|| load(QUERIES))
}

fn load(source: &str) -> Validators {
    // The files are part of the source and the contract test loads every
    // schema, so a schema that does not parse cannot ship; it would be
    // skipped here rather than take the server down.
    let Ok(Value::Object(all)) = serde_json::from_str::<Value>(source) else {
        return HashMap::new();
    };
    let mut validators: Validators = HashMap::new();
    for schema in all.into_values() {
        if schema["x-keystone-lazy"] == Value::Bool(true) {
            continue;
        }
        let Some((method, pattern)) = schema["x-keystone-route"]
            .as_str()
            .and_then(|route| route.split_once(' '))
            .map(|(m, p)| (m.to_string(), p.to_string()))
        else {
            continue;
        };
        if let Ok(validator) = compile(&json_schema(schema)) {
            validators
                .entry(pattern)
                .or_default()
                .insert(method, validator);
        }
    }
    validators
}

/// Checks a query string as Keystone's `request_query_schema` does, before
/// anything else of the request is read (a bad token still gets the 400):
/// the first value of each parameter, as a string, against the schema of
/// `pattern` (the URL map's, with or without the `/identity` prefix). HEAD
/// is Flask's GET. Nothing is parsed for an empty query string, which no
/// schema refuses (none requires a parameter).
pub fn check_query(method: &str, pattern: &str, query: &str) -> Result<(), Error> {
    if query.is_empty() {
        return Ok(());
    }
    let pattern = pattern
        .strip_prefix(super::IDENTITY_PREFIX)
        .unwrap_or(pattern);
    let method = if method == "HEAD" { "GET" } else { method };
    let Some(validator) = query_validators()
        .get(pattern)
        .and_then(|methods| methods.get(method))
    else {
        return Ok(());
    };
    let mut parameters = serde_json::Map::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        parameters
            .entry(name.into_owned())
            .or_insert_with(|| Value::String(value.into_owned()));
    }
    check_with(validator, &Value::Object(parameters))
}

/// Compiles one schema as Keystone's validator reads it. The schemas
/// repeat a handful of patterns (`[\S]+` 19 times), which one cache
/// compiles once each, with the linear-time `regex` engine (no
/// backtracking on what a caller sends). All of it costs about 4.3 MB of
/// RSS, 3.8 MB of which is the crate's own draft 2020-12 machinery; a
/// check takes about 90 ns.
fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    static PATTERNS: OnceLock<jsonschema::PatternCache> = OnceLock::new();
    jsonschema::options()
        .with_pattern_cache(PATTERNS.get_or_init(jsonschema::PatternCache::new).clone())
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("uuid", is_uuid_like)
        .build(schema)
        .map_err(|e| e.to_string())
}

/// oslo's `is_uuid_like`: a UUID with or without hyphens (or braces).
fn is_uuid_like(value: &str) -> bool {
    uuid::Uuid::parse_str(value).is_ok()
}

/// OpenAPI 3.0's `nullable` back to JSON Schema's `"null"` type, which is
/// how Keystone wrote it.
fn json_schema(mut schema: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.remove("nullable") == Some(Value::Bool(true)) {
                    if let Some(kind) = map.get("type").cloned() {
                        map.insert("type".into(), serde_json::json!([kind, "null"]));
                    } else if let Some(Value::Array(any)) = map.get_mut("anyOf") {
                        any.push(serde_json::json!({"type": "null"}));
                    }
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

/// The schemas of one route, by method: attached to the route's resource
/// when the URL map is registered, so a request finds its schema without
/// matching its path again (a regex run per route, on the hot paths too).
#[derive(Clone, Copy)]
pub struct RouteSchemas(&'static HashMap<String, jsonschema::Validator>);

impl RouteSchemas {
    /// Those of `path` (as in the URL map), if Keystone has any.
    pub fn of(path: &str) -> Option<RouteSchemas> {
        validators().get(path).map(RouteSchemas)
    }

    pub fn get(&self, method: &str) -> Option<&'static jsonschema::Validator> {
        self.0.get(method)
    }
}

/// Checks `body` against `validator`. A missing body is checked as `{}`, as
/// Keystone does. The message names the field and the rule, never the
/// value (it may be a password).
pub fn check_with(validator: &jsonschema::Validator, body: &Value) -> Result<(), Error> {
    let empty = Value::Object(serde_json::Map::new());
    let body = if body.is_null() { &empty } else { body };
    validator.validate(body).map_err(|e| {
        let field = e
            .instance_path()
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        let rule = describe(&e);
        Error::BadRequest(if field.is_empty() {
            rule
        } else {
            format!("Invalid input for field/attribute {field}. {rule}")
        })
    })
}

/// What the rule says, without the offending value.
fn describe(e: &jsonschema::ValidationError) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    match e.kind() {
        Kind::AdditionalProperties { unexpected } => format!(
            "Additional properties are not allowed ({} {} unexpected)",
            unexpected
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", "),
            if unexpected.len() == 1 { "was" } else { "were" }
        ),
        Kind::Required { property } => format!(
            "{} is a required property",
            property.as_str().unwrap_or_default()
        ),
        Kind::Type { .. } => "The value is not of the expected type.".into(),
        Kind::Pattern { pattern } => format!("The value does not match '{pattern}'."),
        Kind::MinLength { limit } => format!("The value is shorter than {limit} characters."),
        Kind::MaxLength { limit } => format!("The value is longer than {limit} characters."),
        Kind::Enum { .. } => "The value is not one of those allowed.".into(),
        Kind::MinProperties { limit } => format!("At least {limit} properties are required."),
        Kind::UniqueItems => "The items are not unique.".into(),
        Kind::Format { format } => format!("The value is not a valid '{format}'."),
        _ => "The value is not valid here.".into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `body` checked as a request to `method path` (as in the URL map).
    fn check(method: &str, path: &str, body: &Value) -> Result<(), Error> {
        RouteSchemas::of(path)
            .and_then(|schemas| schemas.get(method))
            .map_or(Ok(()), |schema| check_with(schema, body))
    }

    #[test]
    fn every_schema_compiles() {
        for source in [SCHEMAS, QUERIES] {
            let Value::Object(all) = serde_json::from_str::<Value>(source).unwrap() else {
                panic!("an object of schemas");
            };
            for (operation, schema) in all {
                compile(&json_schema(schema)).unwrap_or_else(|e| panic!("{operation}: {e}"));
            }
        }
    }

    #[test]
    fn queries_are_checked_as_keystone_checks_them() {
        let refused = |method, pattern, query| check_query(method, pattern, query).is_err();
        // Closed schemas, enums, formats and non-empty names, as Keystone 30 answers them.
        assert!(refused("GET", "/v3/regions", "parent_region_id=x&limit=1"));
        assert!(refused("GET", "/identity/v3/regions", "foo"));
        assert!(refused("HEAD", "/v3/users", "enabled=maybe"));
        assert!(refused("GET", "/v3/users", "name=&name=a"));
        assert!(refused("GET", "/v3/users", "domain_id=%ZZ"));
        assert!(refused("GET", "/v3/groups", "name=%20"));
        assert!(refused("GET", "/v3/registered_limits", "service_id=xyz"));
        assert!(refused("GET", "/v3/endpoints", "interface=bogus"));
        // Only the first value counts; open schemas take anything else.
        assert!(!refused("GET", "/v3/users", "name=a&name="));
        assert!(!refused("GET", "/v3/users", "bogus=1&enabled="));
        assert!(!refused(
            "GET",
            "/v3/role_assignments",
            "effective&include_names=x"
        ));
        assert!(!refused("GET", "/v3/regions", ""));
        assert!(!refused("POST", "/v3/regions", "foo=1"));
        assert!(!refused("GET", "/v3/auth/tokens", "nocatalog"));
        let message = check_query("GET", "/v3/users", "sort_dir=secret-ish")
            .unwrap_err()
            .to_string();
        assert!(message.contains("sort_dir") && !message.contains("secret-ish"));
    }

    #[test]
    fn refuses_what_keystone_refuses() {
        let bad = |method, path, body: Value| check(method, path, &body).unwrap_err().to_string();
        assert!(bad("POST", "/v3/groups", json!({"group": {"name": "\u{c}"}})).contains("name"));
        assert!(bad(
            "POST",
            "/v3/projects",
            json!({"project": {"name": "p"}, "x": 1})
        )
        .contains("'x' was unexpected"));
        assert!(
            bad("PATCH", "/v3/regions/{region_id}", json!({"region": {}})).contains("At least")
        );
        assert!(bad("POST", "/v3/users", json!({})).contains("user is a required"));
        // No value in the message: it may be a password.
        assert!(!bad(
            "POST",
            "/v3/users",
            json!({"user": {"name": "u", "password": 7, "options": 8}})
        )
        .contains('8'));
    }

    #[test]
    fn accepts_what_keystone_accepts() {
        check(
            "POST",
            "/v3/groups",
            &json!({"group": {"name": "g", "x": 1}}),
        )
        .unwrap();
        check(
            "POST",
            "/v3/users",
            &json!({"user": {"name": "u", "email": "e"}}),
        )
        .unwrap();
        check("GET", "/v3/users", &Value::Null).unwrap();
        check("POST", "/v1/{project_id}/aksks", &json!([1])).unwrap();
    }
}
