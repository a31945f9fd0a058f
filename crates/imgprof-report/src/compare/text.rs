//! The comparison as a readable table: the totals of A and B and the change, the layers
//! in two columns, then where the bytes went (categories, packages, files) and the
//! findings fixed and introduced.

use std::fmt::Write;

use super::{Alignment, Comparison, Delta, FileChangeKind, LayerSide, PackageStatus, RatioDelta};
use crate::model::Source;
use crate::text::{Style, truncate};
use imgprof_waste::human;

/// The widest instruction in a layer column.
const INSTRUCTION_WIDTH: usize = 34;

pub fn render_compare(comparison: &Comparison, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", style.heading("A"), source_line(&comparison.a));
    let _ = writeln!(out, "{} {}", style.heading("B"), source_line(&comparison.b));
    render_totals(&mut out, comparison, style);
    render_layers(&mut out, comparison, style);
    render_categories(&mut out, comparison, style);
    render_packages(&mut out, comparison, style);
    render_files(&mut out, comparison, style);
    render_findings(&mut out, comparison, style);
    if let Some(growth) = &comparison.growth {
        let verdict = if growth.passed {
            style.dim("passed")
        } else {
            style.error("failed")
        };
        let _ = writeln!(
            out,
            "\n--fail-if-grows {}: {} {} ({verdict})",
            growth.limit,
            growth.measure,
            signed(growth.delta)
        );
    }
    out
}

pub(super) fn source_line(source: &Source) -> String {
    let name = match &source.tag {
        Some(tag) if !source.location.ends_with(tag.as_str()) => format!("{} ({tag})", source.location),
        _ => source.location.clone(),
    };
    format!("{name}, {}, {}", source.kind, source.platform)
}

/// `+1.2 MB`, `-300 kB`, `0 B`.
pub(super) fn signed(delta: i64) -> String {
    match delta {
        0 => "0 B".to_owned(),
        d if d > 0 => format!("+{}", human(d.unsigned_abs())),
        d => format!("-{}", human(d.unsigned_abs())),
    }
}

/// `signed` with the change as a share of A's figure, when A has one.
pub(super) fn signed_share(delta: &Delta) -> String {
    if delta.a == 0 || delta.delta == 0 {
        return signed(delta.delta);
    }
    format!(
        "{} ({:+.1}%)",
        signed(delta.delta),
        delta.delta as f64 * 100.0 / delta.a as f64
    )
}

pub(super) fn percent_points(ratio: &RatioDelta) -> String {
    format!("{:+.1} pt", ratio.delta * 100.0)
}

fn render_totals(out: &mut String, c: &Comparison, style: &Style) {
    let t = &c.totals;
    let _ = writeln!(
        out,
        "\n  {:<24}{:>12}{:>12}  {}",
        "",
        style.heading("A"),
        style.heading("B"),
        style.heading("change")
    );
    let sizes = [
        ("compressed", &t.compressed_bytes),
        ("shipped (uncompressed)", &t.shipped_bytes),
        ("final filesystem", &t.final_bytes),
        ("redundant", &t.redundant_bytes),
        ("with every fix applied", &t.projected_bytes),
    ];
    for (name, d) in sizes {
        let _ = writeln!(
            out,
            "  {name:<24}{:>12}{:>12}  {}",
            human(d.a),
            human(d.b),
            signed_share(d)
        );
    }
    let counts = [("layers", &t.layer_count), ("final files", &t.final_files)];
    for (name, d) in counts {
        let _ = writeln!(out, "  {name:<24}{:>12}{:>12}  {:+}", d.a, d.b, d.delta);
    }
    let ratios = [
        ("redundant share", &t.redundant_ratio),
        ("dive efficiency", &t.dive_efficiency),
    ];
    for (name, r) in ratios {
        let _ = writeln!(
            out,
            "  {name:<24}{:>11.1}%{:>11.1}%  {}",
            r.a * 100.0,
            r.b * 100.0,
            percent_points(r)
        );
    }
    for p in &t.pull {
        let name = format!("pull at {}", p.link);
        let _ = writeln!(
            out,
            "  {name:<24}{:>10.1} s{:>10.1} s  {:+.1} s",
            p.a_seconds, p.b_seconds, p.delta_seconds
        );
    }
}

fn layer_cell(side: Option<&LayerSide>) -> String {
    match side {
        Some(l) => format!(
            "{:>2} {:>9}  {:<w$}",
            l.index,
            human(l.content_bytes),
            truncate(l.instruction.as_deref().unwrap_or("-"), INSTRUCTION_WIDTH),
            w = INSTRUCTION_WIDTH
        ),
        None => " ".repeat(2 + 1 + 9 + 2 + INSTRUCTION_WIDTH),
    }
}

fn render_layers(out: &mut String, c: &Comparison, style: &Style) {
    let _ = writeln!(
        out,
        "\n{}",
        style.heading("Layers (A | B; file bytes, instruction; change of file bytes)")
    );
    for row in &c.layers {
        let label = match row.alignment {
            Alignment::Shared => "shared",
            Alignment::Changed => "changed",
            Alignment::OnlyA => "only A",
            Alignment::OnlyB => "only B",
        };
        let change = match (row.alignment, row.compressed_delta) {
            (Alignment::Shared, 0) => style.dim("same"),
            (Alignment::Shared, blob) => style.dim(&format!("same files, blob {}", signed(blob))),
            _ => signed(row.content_delta),
        };
        let _ = writeln!(
            out,
            "  {label:<8}{} │ {}  {change}",
            layer_cell(row.a.as_ref()),
            layer_cell(row.b.as_ref())
        );
    }
}

fn render_categories(out: &mut String, c: &Comparison, style: &Style) {
    let changed: Vec<_> = c
        .categories
        .iter()
        .filter(|d| d.final_bytes.delta != 0 || d.redundant_bytes.delta != 0)
        .collect();
    if changed.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.heading("Where the bytes went (final filesystem by category; redundant)")
    );
    for d in changed {
        let redundant = if d.redundant_bytes.delta == 0 {
            String::new()
        } else {
            format!(", redundant {}", signed(d.redundant_bytes.delta))
        };
        let _ = writeln!(
            out,
            "  {:>11}  {:<42}{}",
            signed(d.final_bytes.delta),
            d.title,
            style.dim(&format!(
                "{} -> {}{redundant}",
                human(d.final_bytes.a),
                human(d.final_bytes.b)
            ))
        );
    }
}

fn render_packages(out: &mut String, c: &Comparison, style: &Style) {
    let p = &c.packages;
    if p.list.is_empty() && p.omitted == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.heading(&format!(
            "Packages: {} added, {} removed, {} version changed, {} size changed, {} unchanged",
            p.added, p.removed, p.version_changed, p.size_changed, p.unchanged
        ))
    );
    for d in &p.list {
        let (status, versions) = match d.status {
            PackageStatus::Added => ("added", d.version_b.clone().unwrap_or_default()),
            PackageStatus::Removed => ("removed", d.version_a.clone().unwrap_or_default()),
            PackageStatus::VersionChanged => (
                "version",
                format!(
                    "{} -> {}",
                    d.version_a.as_deref().unwrap_or_default(),
                    d.version_b.as_deref().unwrap_or_default()
                ),
            ),
            PackageStatus::SizeChanged => ("size", d.version_b.clone().unwrap_or_default()),
        };
        let manager = manager_name(d.manager);
        let _ = writeln!(
            out,
            "  {:>11}  {status:<8} {manager:<5} {} {}",
            signed(d.bytes.delta),
            d.name,
            style.dim(&versions)
        );
    }
    if p.omitted > 0 {
        let _ = writeln!(
            out,
            "  {:>11}  {}",
            signed(p.omitted_delta),
            style.dim(&format!("{} more packages", p.omitted))
        );
    }
    let _ = writeln!(
        out,
        "  {:>11}  {}",
        signed(p.unowned_bytes.delta),
        style.dim("not owned by any package")
    );
}

pub(super) fn manager_name(manager: imgprof_waste::Manager) -> &'static str {
    match manager {
        imgprof_waste::Manager::Dpkg => "dpkg",
        imgprof_waste::Manager::Apk => "apk",
        imgprof_waste::Manager::Pip => "pip",
    }
}

pub(super) fn kind_name(kind: FileChangeKind) -> &'static str {
    match kind {
        FileChangeKind::Added => "added",
        FileChangeKind::Removed => "removed",
        FileChangeKind::Grown => "grown",
        FileChangeKind::Shrunk => "shrunk",
    }
}

fn render_files(out: &mut String, c: &Comparison, style: &Style) {
    let f = &c.files;
    if f.lines.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.heading(&format!(
            "Files: {} added ({}), {} removed ({}), {} grown ({}), {} shrunk ({})",
            f.added.files,
            signed(f.added.delta),
            f.removed.files,
            signed(f.removed.delta),
            f.grown.files,
            signed(f.grown.delta),
            f.shrunk.files,
            signed(f.shrunk.delta)
        ))
    );
    for line in &f.lines {
        let count = if line.path.ends_with('/') {
            style.dim(&format!(" ({} files)", line.files))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:>11}  {:<8} {}{count}",
            signed(line.delta),
            kind_name(line.kind),
            line.path
        );
    }
    if f.other.lines > 0 {
        let _ = writeln!(
            out,
            "  {:>11}  {}",
            signed(f.other.delta),
            style.dim(&format!("{} more lines ({} files)", f.other.lines, f.other.files))
        );
    }
}

fn render_findings(out: &mut String, c: &Comparison, style: &Style) {
    let f = &c.findings;
    if f.fixed.is_empty() && f.introduced.is_empty() && f.remaining.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.heading(&format!(
            "Findings: {} fixed, {} introduced, {} remaining",
            f.fixed.len(),
            f.introduced.len(),
            f.remaining.len()
        ))
    );
    for x in &f.fixed {
        let _ = writeln!(out, "  {:<11} {} {}", "fixed", x.id, truncate(&x.title, 72));
    }
    for x in &f.introduced {
        let _ = writeln!(
            out,
            "  {} {} {}",
            style.warn(&format!("{:<11}", "introduced")),
            x.id,
            truncate(&x.title, 72)
        );
    }
    for x in &f.remaining {
        let _ = writeln!(
            out,
            "  {:<11} {} {} {}",
            "remaining",
            x.id,
            truncate(&x.title, 60),
            style.dim(&format!("({})", signed(x.bytes.delta)))
        );
    }
}
