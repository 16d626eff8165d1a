//! Keystone's `extra` column: the attributes a resource keeps beside its
//! columns (`openstack group set --property k=v`), stored as JSON text.

use serde_json::{Map, Value};

/// The stored attributes (none when the text is not a JSON object).
pub fn parse(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The attributes as stored.
pub fn text(extra: &Map<String, Value>) -> String {
    Value::Object(extra.clone()).to_string()
}

/// Keystone's update of `extra`: the given attributes over the stored
/// ones, as stored text; `None` when none are given.
pub fn merged(current: &Map<String, Value>, given: &Map<String, Value>) -> Option<String> {
    (!given.is_empty()).then(|| {
        let mut extra = current.clone();
        extra.extend(given.clone());
        text(&extra)
    })
}
