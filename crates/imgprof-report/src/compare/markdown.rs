//! The comparison as Markdown for a pull-request comment: the totals table, where the
//! bytes went, and the layer, package and file lists folded in details blocks.

use std::fmt::Write;

use super::text::{kind_name, manager_name, percent_points, signed, signed_share, source_line};
use super::{Alignment, Comparison, PackageStatus};
use crate::text::truncate;
use imgprof_waste::human;

/// The widest instruction in the layer table; JSON has the full text.
const INSTRUCTION_WIDTH: usize = 72;

pub fn render_compare_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### imgprof compare\n");
    let _ = writeln!(out, "- **A**: `{}`", cell(&source_line(&c.a)));
    let _ = writeln!(out, "- **B**: `{}`\n", cell(&source_line(&c.b)));
    if let Some(growth) = &c.growth {
        let mark = if growth.passed { "✅" } else { "❌" };
        let _ = writeln!(
            out,
            "{mark} `--fail-if-grows {}`: {} {}\n",
            growth.limit,
            growth.measure,
            signed(growth.delta)
        );
    }

    let t = &c.totals;
    let _ = writeln!(out, "| | A | B | change |\n|---|---:|---:|---:|");
    for (name, d) in [
        ("compressed", &t.compressed_bytes),
        ("shipped (uncompressed)", &t.shipped_bytes),
        ("final filesystem", &t.final_bytes),
        ("redundant", &t.redundant_bytes),
        ("with every fix applied", &t.projected_bytes),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            human(d.a),
            human(d.b),
            signed_share(d)
        );
    }
    for (name, d) in [("layers", &t.layer_count), ("final files", &t.final_files)] {
        let _ = writeln!(out, "| {name} | {} | {} | {:+} |", d.a, d.b, d.delta);
    }
    let r = &t.dive_efficiency;
    let _ = writeln!(
        out,
        "| dive efficiency | {:.1}% | {:.1}% | {} |",
        r.a * 100.0,
        r.b * 100.0,
        percent_points(r)
    );
    for p in &t.pull {
        let _ = writeln!(
            out,
            "| pull at {} | {:.1} s | {:.1} s | {:+.1} s |",
            p.link, p.a_seconds, p.b_seconds, p.delta_seconds
        );
    }

    let changed: Vec<_> = c
        .categories
        .iter()
        .filter(|d| d.final_bytes.delta != 0 || d.redundant_bytes.delta != 0)
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "\n#### Where the bytes went\n");
        let _ = writeln!(
            out,
            "| category | A | B | change | redundant change |\n|---|---:|---:|---:|---:|"
        );
        for d in changed {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                d.title,
                human(d.final_bytes.a),
                human(d.final_bytes.b),
                signed(d.final_bytes.delta),
                signed(d.redundant_bytes.delta)
            );
        }
    }

    let f = &c.findings;
    if !f.fixed.is_empty() || !f.introduced.is_empty() {
        let _ = writeln!(out, "\n#### Findings\n");
        for x in &f.fixed {
            let _ = writeln!(out, "- ✅ fixed **{}** {}", x.id, cell(&x.title));
        }
        for x in &f.introduced {
            let _ = writeln!(out, "- ⚠️ introduced **{}** {}", x.id, cell(&x.title));
        }
    }

    let _ = writeln!(out, "\n<details><summary>Layers</summary>\n");
    let _ = writeln!(out, "| | A | B | change |\n|---|---|---|---:|");
    for row in &c.layers {
        let side = |l: Option<&super::LayerSide>| {
            l.map_or_else(String::new, |l| {
                format!(
                    "{} · {} · `{}`",
                    l.index,
                    human(l.content_bytes),
                    cell(&truncate(l.instruction.as_deref().unwrap_or("-"), INSTRUCTION_WIDTH))
                )
            })
        };
        let (label, change) = match row.alignment {
            Alignment::Shared if row.compressed_delta == 0 => ("shared", "same".to_owned()),
            Alignment::Shared => ("shared", format!("same files, blob {}", signed(row.compressed_delta))),
            Alignment::Changed => ("changed", signed(row.content_delta)),
            Alignment::OnlyA => ("only A", signed(row.content_delta)),
            Alignment::OnlyB => ("only B", signed(row.content_delta)),
        };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {change} |",
            side(row.a.as_ref()),
            side(row.b.as_ref())
        );
    }
    let _ = writeln!(out, "\n</details>");

    let p = &c.packages;
    if !p.list.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Packages: {} added, {} removed, {} version changed, {} size changed</summary>\n",
            p.added, p.removed, p.version_changed, p.size_changed
        );
        let _ = writeln!(out, "| package | status | A | B | change |\n|---|---|---|---|---:|");
        for d in &p.list {
            let status = match d.status {
                PackageStatus::Added => "added",
                PackageStatus::Removed => "removed",
                PackageStatus::VersionChanged => "version changed",
                PackageStatus::SizeChanged => "size changed",
            };
            let _ = writeln!(
                out,
                "| {} `{}` | {status} | {} | {} | {} |",
                manager_name(d.manager),
                cell(&d.name),
                cell(d.version_a.as_deref().unwrap_or("")),
                cell(d.version_b.as_deref().unwrap_or("")),
                signed(d.bytes.delta)
            );
        }
        if p.omitted > 0 {
            let _ = writeln!(out, "| {} more | | | | {} |", p.omitted, signed(p.omitted_delta));
        }
        let _ = writeln!(out, "\n</details>");
    }

    let files = &c.files;
    if !files.lines.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Files: {} added, {} removed, {} grown, {} shrunk</summary>\n",
            files.added.files, files.removed.files, files.grown.files, files.shrunk.files
        );
        let _ = writeln!(out, "| path | change | files | bytes |\n|---|---|---:|---:|");
        for line in &files.lines {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                cell(&line.path),
                kind_name(line.kind),
                line.files,
                signed(line.delta)
            );
        }
        if files.other.lines > 0 {
            let _ = writeln!(
                out,
                "| {} more lines | | {} | {} |",
                files.other.lines,
                files.other.files,
                signed(files.other.delta)
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}

/// Text safe inside a table cell.
fn cell(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.replace('|', "\\|").replace('<', "&lt;").replace('`', "'")
}
