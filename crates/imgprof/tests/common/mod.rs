//! Shared helpers for the binary's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn testdata(rel: &str) -> String {
    root().join("testdata").join(rel).display().to_string()
}

pub fn imgprof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgprof"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the imgprof binary runs")
}

/// `imgprof report --json SOURCE`, which must succeed.
pub fn report_json(source: &str) -> Value {
    let out = imgprof(&["report", "--json", "--top", "1000", source]);
    assert!(
        out.status.success(),
        "report of {source} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report is JSON")
}

/// Whether an external tool is on PATH. Under `IMGPROF_REQUIRE_TOOLS=1` (set by
/// `cargo xtask ci`) a missing tool fails the test instead of skipping it.
pub fn has_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var("IMGPROF_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{name} is required (IMGPROF_REQUIRE_TOOLS=1) but not installed");
    }
    if !found {
        eprintln!("skipping: {name} is not installed");
    }
    found
}
