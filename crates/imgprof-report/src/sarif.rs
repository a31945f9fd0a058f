//! The report as SARIF 2.1.0, for code-scanning UIs: one rule per finding id, one result
//! per finding (and per broken CI rule). With a Dockerfile, results point at the line of
//! the instruction that made the layer; otherwise at the image as a logical location.

use std::collections::BTreeMap;

use imgprof_waste::Severity;
use serde_json::{Value, json};

use crate::human;
use crate::model::Report;
use crate::rules::RuleResult;

/// Where findings point: a Dockerfile (path as the user gave it, and the line of each
/// layer's instruction), if one was given.
pub struct SarifTarget<'a> {
    pub dockerfile: Option<&'a str>,
    pub layer_lines: Vec<Option<usize>>,
    /// Where findings of layers no instruction matches point: the final stage's `FROM`
    /// (base-image layers come from it).
    pub from_line: usize,
}

/// A finding or a broken CI rule, as every CI encoding reports it.
pub(crate) struct Item {
    pub code: String,
    pub title: String,
    /// The title, what the fix saves, and the fix's first line.
    pub message: String,
    /// The whole fix, as it would stand in a Dockerfile (empty for a CI rule).
    pub fix: String,
    pub severity: Severity,
    pub layer: Option<usize>,
    /// The Dockerfile line it points at (its layer's instruction, else the final `FROM`),
    /// when a Dockerfile was given.
    pub line: Option<usize>,
    pub first_path: String,
}

/// The report's findings, then its broken CI rules.
pub(crate) fn items(report: &Report, target: &SarifTarget<'_>) -> Vec<Item> {
    let line = |layer: Option<usize>| {
        target.dockerfile.map(|_| {
            layer
                .and_then(|l| target.layer_lines.get(l).copied().flatten())
                .unwrap_or(target.from_line)
        })
    };
    let mut items: Vec<Item> = report
        .findings
        .iter()
        .map(|f| {
            let saves = if f.saves_bytes > 0 {
                format!(" Saves {}.", human(f.saves_bytes))
            } else {
                String::new()
            };
            Item {
                code: f.id.code().to_owned(),
                title: f.title.clone(),
                message: format!("{}.{saves} Fix: {}", f.title, fix_summary(&f.fix)),
                fix: f.fix.clone(),
                severity: f.severity,
                layer: f.layer,
                line: line(f.layer),
                first_path: f.paths.first().map(|p| p.path.clone()).unwrap_or_default(),
            }
        })
        .collect();
    if let Some(checked) = &report.rules {
        items.extend(checked.results.iter().filter(|r| !r.passed).map(|r| Item {
            code: format!("rules/{}", r.rule),
            title: format!("CI rule {} ({})", r.rule, checked.source),
            message: rule_message(r),
            fix: String::new(),
            severity: Severity::Error,
            layer: None,
            line: line(None),
            first_path: String::new(),
        }));
    }
    items
}

/// A fix in one line: its first line without the comment marker, and the line after it
/// when the first introduces it ("the same step, cleaning up in the same RUN: RUN ...").
fn fix_summary(fix: &str) -> String {
    // Without the comment marker, and without a continuation backslash.
    let uncomment = |line: &str| {
        line.trim_start_matches('#')
            .trim()
            .trim_end_matches('\\')
            .trim_end()
            .to_owned()
    };
    let mut lines = fix.lines().map(uncomment).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    match lines.next() {
        Some(next) if first.ends_with(':') => format!("{first} {next}"),
        _ => first,
    }
}

/// What a broken CI rule's result says: its value against its limit.
pub(crate) fn rule_message(result: &RuleResult) -> String {
    format!("{} is {}; the limit is {}.", result.rule, result.value, result.limit)
}

pub fn render_sarif(report: &Report, target: &SarifTarget<'_>) -> Value {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &report.findings {
        rules.entry(f.id.code().to_owned()).or_insert_with(|| {
            let rule = f.id.rule();
            json!({
                "id": f.id.code(),
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.why},
                "help": {"text": f.fix},
                "helpUri": format!("https://example.invalid/imgprof/docs/{}", f.id.docs_anchor()),
                "defaultConfiguration": {"level": level(f.severity)},
            })
        });
    }
    let findings = report.findings.iter().map(Some).chain(std::iter::repeat(None));
    for (item, finding) in items(report, target).into_iter().zip(findings) {
        if finding.is_none() {
            // A broken CI rule: its rule descriptor is the item's own.
            rules.entry(item.code.clone()).or_insert_with(|| {
                json!({
                    "id": item.code,
                    "shortDescription": {"text": item.title},
                    "defaultConfiguration": {"level": "error"},
                })
            });
        }
        let mut result = json!({
            "ruleId": item.code,
            "level": level(item.severity),
            "message": {"text": item.message},
        });
        if let Some(f) = finding {
            result["properties"] = json!({
                "bytes": f.bytes,
                "savesBytes": f.saves_bytes,
                "paths": f.paths.iter().map(|p| p.path.clone()).collect::<Vec<_>>(),
            });
        }
        let instruction = finding.and_then(|f| f.instruction.as_deref());
        result["locations"] = json!([location(report, target, item.layer, instruction)]);
        results.push(result);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "imgprof",
                "version": report.tool.version,
                "informationUri": "https://example.invalid/imgprof",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn location(report: &Report, target: &SarifTarget<'_>, layer: Option<usize>, instruction: Option<&str>) -> Value {
    let line = layer.and_then(|l| target.layer_lines.get(l).copied().flatten());
    match (target.dockerfile, line) {
        (Some(path), Some(line)) => json!({
            "physicalLocation": {
                "artifactLocation": {"uri": path},
                "region": {"startLine": line},
            }
        }),
        (Some(path), None) => json!({
            "physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": target.from_line}}
        }),
        (None, _) => {
            let image = &report.source.location;
            let name = match (layer, instruction) {
                (Some(l), Some(i)) => format!("{image} layer {l}: {i}"),
                (Some(l), None) => format!("{image} layer {l}"),
                _ => image.clone(),
            };
            json!({"logicalLocations": [{"fullyQualifiedName": name, "kind": "module"}]})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fix_summary;

    #[test]
    fn a_fix_in_one_line_keeps_what_its_first_line_introduces() {
        // IMG005's shape: a comment that introduces the code line after it.
        assert_eq!(
            fix_summary("# the same step, cleaning up in the same RUN:\nRUN apt-get update && apt-get clean"),
            "the same step, cleaning up in the same RUN: RUN apt-get update && apt-get clean"
        );
        // IMG001's shape: comments only; the first says what to do.
        assert_eq!(
            fix_summary("# a multi-stage build: install compilers in a builder stage\n# (FROM x AS builder)"),
            "a multi-stage build: install compilers in a builder stage"
        );
        // Code first (IMG021): the code.
        assert_eq!(
            fix_summary("RUN apt-get install -y --no-install-recommends curl \\\n    && rm -rf /var/lib/apt/lists/*"),
            "RUN apt-get install -y --no-install-recommends curl"
        );
        assert_eq!(fix_summary(""), "");
    }
}
