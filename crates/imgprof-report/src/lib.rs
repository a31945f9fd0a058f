//! The imgprof report: a versioned model built from an image's analysis, rendered as
//! text for people or JSON for machines.

mod analysis;
mod build;
pub mod ci_formats;
pub mod compare;
mod dive_ci;
pub mod dive_json;
pub mod dockerfile;
pub mod files;
#[cfg(test)]
mod generated_docs;
mod markdown;
mod model;
pub mod rules;
mod sarif;
pub mod suggest;
mod terminal;
mod text;
mod wire;

pub use analysis::{Analysis, AnalysisOptions, analyse};
pub use build::{ReportOptions, build};
pub use imgprof_waste::human;
pub use markdown::render_markdown;
pub use model::*;
pub use sarif::{SarifTarget, render_sarif};
pub use terminal::terminal_safe;
pub use text::{Style, pull_time, render, render_rules};

/// The report as one JSON document (pretty-printed, newline-terminated).
pub fn to_json(report: &Report) -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(report)?;
    json.push('\n');
    Ok(json)
}

/// The JSON Schema of [`to_json`]'s document (docs/report.schema.json), generated from the
/// types: what `--json` writes, version [`SCHEMA_VERSION`].
pub fn report_schema() -> serde_json::Value {
    titled(output_schema::<Report>(), "imgprof report", SCHEMA_VERSION)
}

/// The JSON Schema of `imgprof compare --json` (docs/compare.schema.json).
pub fn compare_schema() -> serde_json::Value {
    titled(
        output_schema::<compare::Comparison>(),
        "imgprof comparison",
        compare::COMPARE_SCHEMA_VERSION,
    )
}

/// The schema of what serializing `T` writes (a field skipped when empty is optional).
fn output_schema<T: schemars::JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

fn titled(schema: schemars::Schema, title: &str, version: u32) -> serde_json::Value {
    let mut value = schema.to_value();
    value["title"] = format!("{title}, schema_version {version}").into();
    value
}
