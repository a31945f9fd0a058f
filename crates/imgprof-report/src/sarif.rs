//! The report as SARIF 2.1.0, for code-scanning UIs: one rule per finding id, one result
//! per finding (and per broken CI rule). With a Dockerfile, results point at the line of
//! the instruction that made the layer; otherwise at the image as a logical location.

use std::collections::BTreeMap;

use imgprof_waste::Severity;
use serde_json::{Value, json};

use crate::human;
use crate::model::Report;

/// Where findings point: a Dockerfile (path as the user gave it, and the line of each
/// layer's instruction), if one was given.
pub struct SarifTarget<'a> {
    pub dockerfile: Option<&'a str>,
    pub layer_lines: Vec<Option<usize>>,
    /// Where findings of layers no instruction matches point: the final stage's `FROM`
    /// (base-image layers come from it).
    pub from_line: usize,
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
        let saves = if f.saves_bytes > 0 {
            format!(" Saves {}.", human(f.saves_bytes))
        } else {
            String::new()
        };
        let mut result = json!({
            "ruleId": f.id.code(),
            "level": level(f.severity),
            "message": {"text": format!("{}.{saves} Fix: {}", f.title, f.fix.lines().find(|l| !l.starts_with('#')).unwrap_or(""))},
            "properties": {
                "bytes": f.bytes,
                "savesBytes": f.saves_bytes,
                "paths": f.paths.iter().map(|p| p.path.clone()).collect::<Vec<_>>(),
            },
        });
        result["locations"] = json!([location(report, target, f.layer, f.instruction.as_deref())]);
        results.push(result);
    }
    if let Some(checked) = &report.rules {
        for r in checked.results.iter().filter(|r| !r.passed) {
            let id = format!("rules/{}", r.rule);
            rules.entry(id.clone()).or_insert_with(|| {
                json!({
                    "id": id,
                    "shortDescription": {"text": format!("CI rule {} ({})", r.rule, checked.source)},
                    "defaultConfiguration": {"level": "error"},
                })
            });
            results.push(json!({
                "ruleId": id,
                "level": "error",
                "message": {"text": format!("{} is {}; the limit is {}.", r.rule, r.value, r.limit)},
                "locations": [location(report, target, None, None)],
            }));
        }
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
