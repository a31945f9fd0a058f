//! The findings and broken CI rules as CI platforms take them: GitHub workflow commands
//! (annotations on the Dockerfile's lines) and GitLab's Code Quality report. The same
//! items and lines as SARIF (`sarif::items`); only the encoding differs.

use imgprof_source::Digest;
use imgprof_waste::Severity;
use serde_json::{Value, json};

use crate::model::Report;
use crate::sarif::{Item, SarifTarget, items};

/// One `::error file=...,line=N,title=...::message` line per item (`::warning`,
/// `::notice` by severity); without a Dockerfile, annotations of the run itself.
pub fn render_github(report: &Report, target: &SarifTarget<'_>) -> String {
    let mut out = String::new();
    for item in items(report, target) {
        let command = match item.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut properties = Vec::new();
        if let (Some(path), Some(line)) = (target.dockerfile, item.line) {
            properties.push(format!("file={}", property(path)));
            properties.push(format!("line={line}"));
        }
        properties.push(format!("title={}", property(&format!("{} {}", item.code, item.title))));
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            data(&item.message)
        ));
    }
    out
}

/// GitLab's Code Quality report: an array of issues with a description, check name,
/// fingerprint (stable across runs: the code, layer and first path), severity and a
/// location in the Dockerfile (`Dockerfile` when none was given: where GitLab shows it).
pub fn render_gitlab(report: &Report, target: &SarifTarget<'_>) -> Value {
    let path = target.dockerfile.unwrap_or("Dockerfile");
    let issues: Vec<Value> = items(report, target)
        .into_iter()
        .map(|item: Item| {
            let severity = match item.severity {
                Severity::Error => "critical",
                Severity::Warning => "major",
                Severity::Info => "info",
            };
            let key = format!(
                "{}|{}|{}",
                item.code,
                item.layer.map_or(-1, |l| l as i64),
                item.first_path
            );
            json!({
                "description": item.message,
                "check_name": item.code,
                "fingerprint": Digest::of(key.as_bytes()).to_string().trim_start_matches("sha256:"),
                "severity": severity,
                "location": {"path": path, "lines": {"begin": item.line.unwrap_or(target.from_line)}},
            })
        })
        .collect();
    Value::Array(issues)
}

/// A workflow command's message: `%`, CR and LF escaped.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped_as_github_reads_them() {
        assert_eq!(data("50% of it\nthen"), "50%25 of it%0Athen");
        assert_eq!(property("IMG001 a: b, c"), "IMG001 a%3A b%2C c");
    }
}
