//! Typed reads of JSON request bodies, each failure a Keystone 400 that
//! names the field.

use serde_json::{Map, Value};

use crate::error::Error;

/// The object under `key` of a body (Keystone's `{"credential": {...}}`).
pub fn member<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, Error> {
    match body.get(key) {
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(Error::invalid(
            key,
            &format!("{other} is not of type 'object'"),
        )),
        None => Err(Error::expecting(key, "request body")),
    }
}

/// Refuses keys outside `allowed` (`additionalProperties: false`).
pub fn only_keys(map: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), Error> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::invalid(
            field,
            &format!("Additional properties are not allowed ('{k}' was unexpected)"),
        )),
        None => Ok(()),
    }
}

pub fn opt_string(
    map: &Map<String, Value>,
    key: &str,
    max_len: usize,
) -> Result<Option<String>, Error> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max_len => Err(Error::invalid(
            key,
            &format!("the value is longer than {max_len} characters"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::invalid(
            key,
            &format!("{other} is not of type 'string'"),
        )),
    }
}

/// A PATCH field that may be cleared: absent is "leave as is"
/// (`None`), `null` is "clear" (`Some(None)`).
pub fn change_string(
    map: &Map<String, Value>,
    key: &str,
    max_len: usize,
) -> Result<Option<Option<String>>, Error> {
    map.contains_key(key)
        .then(|| opt_string(map, key, max_len))
        .transpose()
}

/// A path id that passed [`path_id`], or its 400.
pub fn checked_id(id: String, what: &str) -> Result<String, Error> {
    path_id(&id, what).map(|_| id)
}

/// Keystone's `_require_matching_id`: a PATCH body may repeat the id in
/// the URL, not name another.
pub fn matching_id(map: &Map<String, Value>, path_id: &str) -> Result<(), Error> {
    match map.get("id") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(id)) if id == path_id => Ok(()),
        Some(_) => Err(Error::BadRequest("Cannot change ID".into())),
    }
}

pub fn req_string(map: &Map<String, Value>, key: &str, max_len: usize) -> Result<String, Error> {
    match opt_string(map, key, max_len)? {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(Error::invalid(key, "'' is too short")),
        None => Err(Error::invalid(
            key,
            &format!("'{key}' is a required property"),
        )),
    }
}

/// A required string that may hold a secret (a credential blob): a value
/// of the wrong type is refused without being echoed back.
pub fn req_secret_string(
    map: &Map<String, Value>,
    key: &str,
    max_len: usize,
) -> Result<String, Error> {
    match map.get(key) {
        None | Some(Value::Null | Value::String(_)) => req_string(map, key, max_len),
        Some(other) => {
            let kind = match other {
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::Array(_) => "array",
                _ => "object",
            };
            Err(Error::invalid(
                key,
                &format!("a value of type '{kind}' is not of type 'string'"),
            ))
        }
    }
}

pub fn opt_bool(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, Error> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(Error::invalid(
            key,
            &format!("{other} is not of type 'boolean'"),
        )),
    }
}

/// An ISO 8601 time in the future, as microseconds. Keystone appends `Z`
/// to a time without a zone. `Some(None)` means an explicit `null`.
pub fn opt_future_time(map: &Map<String, Value>, key: &str) -> Result<Option<Option<i64>>, Error> {
    let text = match map.get(key) {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(None)),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(Error::invalid(
                key,
                &format!("{other} is not of type 'string'"),
            ))
        }
    };
    let micros = parse_time(&text).ok_or_else(|| {
        Error::invalid(
            key,
            &format!("'{text}' is not an ISO 8601 date and time, e.g. 2030-01-31T12:00:00Z"),
        )
    })?;
    if micros <= chrono::Utc::now().timestamp_micros() {
        return Err(Error::BadRequest(format!(
            "The '{key}' must not be before now."
        )));
    }
    Ok(Some(Some(micros)))
}

pub fn parse_time(text: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    None
}

/// A list of IPv4/IPv6 CIDRs (or bare addresses), at most 64.
pub fn opt_cidrs(map: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, Error> {
    let items = match map.get(key) {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(Vec::new())),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(Error::invalid(
                key,
                &format!("{other} is not of type 'array'"),
            ))
        }
    };
    if items.len() > 64 {
        return Err(Error::invalid(key, "at most 64 entries are allowed"));
    }
    items
        .iter()
        .map(
            |item| match item.as_str().and_then(crate::credential::parse_cidr) {
                Some((addr, prefix)) => Ok(format!("{addr}/{prefix}")),
                None => Err(Error::invalid(
                    key,
                    &format!("{item} is not an IPv4 or IPv6 address or CIDR"),
                )),
            },
        )
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Ids in paths: Keystone's are hex, but imported ones may be any short
/// text; refuse what cannot be an id at all.
pub fn path_id(value: &str, what: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "Invalid {what} in the path: {} is not a valid id.",
            serde_json::Value::String(value.chars().take(64).collect())
        )))
    }
}

/// A time for API output: ISO 8601 with `Z`.
pub fn format_time(micros: Option<i64>) -> Value {
    match micros.and_then(chrono::DateTime::from_timestamp_micros) {
        Some(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
        None => Value::Null,
    }
}

/// The grace period of a rotation: `{"grace_period": seconds}`, 24 hours
/// when absent (or when the body is empty).
pub fn grace_period(body: &Value) -> Result<i64, Error> {
    let fields = match body {
        Value::Null => return Ok(DEFAULT_GRACE_SECONDS),
        Value::Object(top) => top,
        _ => return Err(Error::expecting("grace_period", "request body")),
    };
    if let Some(unknown) = fields.keys().find(|k| k.as_str() != "grace_period") {
        return Err(Error::invalid(
            "rotation",
            &format!("Additional properties are not allowed ('{unknown}' was unexpected)"),
        ));
    }
    match fields.get("grace_period") {
        None | Some(Value::Null) => Ok(DEFAULT_GRACE_SECONDS),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            Error::invalid(
                "grace_period",
                &format!("{n} is not a whole number of seconds"),
            )
        }),
        Some(other) => Err(Error::invalid(
            "grace_period",
            &format!("{other} is not of type 'integer'"),
        )),
    }
}

/// How long a rotated key keeps working by default, as AWS and IBM
/// suggest for moving clients over.
const DEFAULT_GRACE_SECONDS: i64 = 24 * 3600;

/// `action_when_leaked`: `none`, `disable`, `delete`, or null for the
/// deployment's default.
/// `rate_limit`: absent leaves it, `null` removes it, else
/// `{"per_second", "burst"}`.
pub fn opt_rate_limit(
    fields: &Map<String, Value>,
) -> Result<Option<Option<crate::lifecycle::RateLimit>>, Error> {
    match fields.get("rate_limit") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => crate::lifecycle::RateLimit::parse(value)
            .map(|limit| Some(Some(limit)))
            .map_err(|message| Error::invalid("rate_limit", &message)),
    }
}

pub fn opt_leak_action(
    fields: &Map<String, Value>,
) -> Result<Option<Option<crate::lifecycle::LeakAction>>, Error> {
    match fields.get("action_when_leaked") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) => crate::lifecycle::LeakAction::parse(text)
            .map(|a| Some(Some(a)))
            .ok_or_else(|| {
                Error::invalid(
                    "action_when_leaked",
                    &format!(
                        "must be {} (or null for the default)",
                        crate::lifecycle::LeakAction::NAMES
                    ),
                )
            }),
        Some(other) => Err(Error::invalid(
            "action_when_leaked",
            &format!("{other} is not of type 'string'"),
        )),
    }
}

/// The attributes of a body outside `known`: what Keystone keeps in a
/// resource's `extra`. Its creates (not its updates) turn `:` and `-` in
/// attribute names into `_` (`_normalize_dict`).
pub fn extra_attributes(
    map: &Map<String, Value>,
    known: &[&str],
    normalize: bool,
) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let key = if normalize {
                k.replace([':', '-'], "_")
            } else {
                k.clone()
            };
            (key, v.clone())
        })
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .collect()
}
