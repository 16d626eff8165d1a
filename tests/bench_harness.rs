//! The benchmark harness is not run by the suite (it takes minutes and
//! measures, it does not test), but it must stay runnable: its scripts
//! parse, and the Lua scripts wrk loads exist.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;
use std::process::Command;

#[test]
fn bench_scripts_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("bash")
        .arg("-n")
        .arg(root.join("bench/run"))
        .status()
        .unwrap();
    assert!(status.success(), "bench/run does not parse");
    for lua in ["validate.lua", "post.lua", "bodies.lua"] {
        let text = std::fs::read_to_string(root.join("bench/lua").join(lua)).unwrap();
        assert!(text.contains("wrk"), "{lua} is not a wrk script");
        assert!(
            std::fs::read_to_string(root.join("bench/run"))
                .unwrap()
                .contains(lua),
            "bench/run does not use {lua}"
        );
    }
    let Some(python) = common::interop_python() else {
        return;
    };
    let status = Command::new(python)
        .args(["-m", "py_compile"])
        .arg(root.join("bench/fixtures.py"))
        .status()
        .unwrap();
    assert!(status.success(), "bench/fixtures.py does not compile");
}
