//! What docs/ holds that is generated from the code: the findings section of
//! docs/rules.md and the JSON Schemas. Each test fails when the file differs from what
//! the code generates; `cargo xtask docs` (UPDATE_DOCS=1) writes it instead, as
//! rust-analyzer's sourcegen does.

use std::path::PathBuf;

fn docs(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs").join(name)
}

/// Fails unless `path` holds `contents`; writes it when UPDATE_DOCS is set.
fn ensure_generated(path: PathBuf, contents: &str) {
    let now = std::fs::read_to_string(&path).unwrap_or_default();
    if now == contents {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, contents).unwrap();
        return;
    }
    panic!(
        "{} differs from what the code generates: run `cargo xtask docs`",
        path.display()
    );
}

#[test]
fn generated_docs_rules_md() {
    use imgprof_waste::{DOCS_BEGIN, DOCS_END, docs_findings_section};
    let path = docs("rules.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = doc
        .split_once(DOCS_BEGIN)
        .expect("docs/rules.md has the findings begin marker");
    let (_, after) = rest
        .split_once(DOCS_END)
        .expect("docs/rules.md has the findings end marker");
    let section = docs_findings_section();
    ensure_generated(
        path,
        &format!("{before}{DOCS_BEGIN}\n{}\n{DOCS_END}{after}", section.trim()),
    );
}

#[test]
fn generated_docs_report_schema() {
    let schema = serde_json::to_string_pretty(&crate::report_schema()).unwrap() + "\n";
    ensure_generated(docs("report.schema.json"), &schema);
}

#[test]
fn generated_docs_compare_schema() {
    let schema = serde_json::to_string_pretty(&crate::compare_schema()).unwrap() + "\n";
    ensure_generated(docs("compare.schema.json"), &schema);
}
