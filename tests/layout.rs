//! The shape of the tree, checked: `src/api` translates HTTP and nothing
//! else. It reaches no storage (no database handle, no `store::`, no
//! Diesel) and writes no policy rule of its own (no role checks); use cases
//! live in their subsystems, rules in `policy.rs`.

#![allow(clippy::expect_used)]

use std::path::Path;

/// Handlers still to move behind their subsystem's use cases. This list
/// only shrinks (it is empty: keep it so).
const NOT_YET_MOVED: &[&str] = &[];

const STORAGE: &[&str] = &[".db.", ".db\n", "store::", "diesel", "Conn", "state.db"];
const RULES: &[&str] = &["has_role(", "is_system_scoped(", "sees_every_domain("];

fn api_sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/api is readable") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let text = std::fs::read_to_string(&path).expect("source is readable");
            // Unit tests may build whatever they need.
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            out.push((name, code));
        }
    }
    out
}

#[test]
fn api_reaches_no_storage_and_writes_no_rule() {
    let mut offences = Vec::new();
    for (name, code) in api_sources() {
        if NOT_YET_MOVED.contains(&name.as_str()) {
            continue;
        }
        // rustfmt may split `state.db` over two lines.
        let joined: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
        let joined = joined.replace(" .", ".");
        for needle in STORAGE.iter().chain(RULES) {
            if joined.contains(needle.trim_end_matches('\n')) {
                offences.push(format!("src/api/{name}: {needle:?}"));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "api/ must only translate HTTP:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_list_of_unmoved_handlers_only_shrinks() {
    let names: Vec<String> = api_sources().into_iter().map(|(n, _)| n).collect();
    for pending in NOT_YET_MOVED {
        assert!(
            names.iter().any(|n| n == pending),
            "{pending} is gone: take it off NOT_YET_MOVED"
        );
    }
}
