//! The imgprof report: a versioned model built from an image's analysis, rendered as
//! text for people or JSON for machines.

mod analysis;
mod build;
pub mod compare;
mod dive_ci;
pub mod dockerfile;
mod markdown;
mod model;
pub mod rules;
mod sarif;
pub mod suggest;
mod terminal;
mod text;

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
