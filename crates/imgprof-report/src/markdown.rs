//! The report as Markdown, fit for a pull-request comment: the sizes, the rules when the
//! image was checked, and the findings ranked by bytes, each fix folded in a details block.

use std::fmt::Write;

use crate::human;
use crate::model::Report;

const TOP_FINDINGS: usize = 10;

pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.source;
    let name = s
        .tag
        .as_deref()
        .map_or_else(|| s.location.clone(), |t| format!("{} ({t})", s.location));
    let _ = writeln!(out, "### imgprof: `{name}`\n");
    let i = &report.image;
    let p = &report.projection;
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| compressed | {} |", human(i.compressed_bytes));
    let _ = writeln!(out, "| shipped (uncompressed) | {} |", human(i.shipped_bytes));
    let _ = writeln!(out, "| final filesystem | {} |", human(i.final_bytes));
    let _ = writeln!(
        out,
        "| redundant | {} ({:.1}%) |",
        human(i.redundant_bytes),
        i.redundant_ratio * 100.0
    );
    let _ = writeln!(
        out,
        "| with every fix applied | {} (saves {}) |",
        human(p.projected_bytes),
        human(p.saves_bytes)
    );
    let _ = writeln!(out, "| dive efficiency | {:.1}% |", report.dive.efficiency * 100.0);

    if let Some(rules) = &report.rules {
        let verdict = if rules.passed { "passed" } else { "**failed**" };
        let _ = writeln!(out, "\n#### Rules ({}): {verdict}\n", rules.source);
        let _ = writeln!(out, "| | rule | value | limit |\n|---|---|---|---|");
        for r in &rules.results {
            let mark = if r.passed { "✅" } else { "❌" };
            let _ = writeln!(
                out,
                "| {mark} | `{}` | {} | {} |",
                r.rule,
                cell(&r.value),
                cell(&r.limit)
            );
        }
        for w in &rules.warnings {
            let _ = writeln!(out, "\n> warning: {}", cell(w));
        }
    }

    if !report.findings.is_empty() {
        let _ = writeln!(out, "\n#### Findings\n");
        for f in report.findings.iter().take(TOP_FINDINGS) {
            let saves = if f.saves_bytes > 0 {
                format!(" — saves {}", human(f.saves_bytes))
            } else {
                String::new()
            };
            let layer = f
                .layer
                .map(|l| {
                    format!(
                        " (layer {l}{})",
                        f.instruction
                            .as_deref()
                            .map(|i| format!(": `{}`", cell(i)))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<details><summary><b>{}</b> {:?}: {}{saves}{layer}</summary>\n",
                f.id,
                f.severity,
                cell(&f.title)
            );
            let _ = writeln!(out, "{}\n\n```dockerfile\n{}\n```\n</details>", f.why, f.fix);
        }
        if report.findings.len() > TOP_FINDINGS {
            let _ = writeln!(
                out,
                "\n_{} more findings in the full report._",
                report.findings.len() - TOP_FINDINGS
            );
        }
    }
    out
}

/// Text safe inside a table cell or summary line.
fn cell(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.replace('|', "\\|").replace('<', "&lt;")
}
