//! The human-readable report: a summary, the layer table, the largest files and the
//! paths behind the redundancy. Colour only when asked (the CLI asks on a TTY without
//! NO_COLOR).

use std::fmt::Write;

use imgprof_layers::LossCause;

use crate::model::{RedundantPath, Report};
use imgprof_waste::human;

/// The widest instruction shown in the layer table; JSON has the full text.
const INSTRUCTION_WIDTH: usize = 72;

pub struct Style {
    color: bool,
}

impl Style {
    pub fn new(color: bool) -> Self {
        Style { color }
    }

    pub(crate) fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn heading(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub(crate) fn warn(&self, text: &str) -> String {
        self.paint("33", text)
    }

    pub(crate) fn error(&self, text: &str) -> String {
        self.paint("31;1", text)
    }

    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

pub fn render(report: &Report, style: &Style) -> String {
    let mut out = String::new();
    render_header(&mut out, report, style);
    render_totals(&mut out, report, style);
    render_layers(&mut out, report, style);
    render_removed(&mut out, report, style);
    render_categories(&mut out, report, style);
    render_packages(&mut out, report, style);
    render_largest(&mut out, report, style);
    render_redundant(&mut out, report, style);
    render_findings(&mut out, report, style);
    out
}

fn render_categories(out: &mut String, report: &Report, style: &Style) {
    let _ = writeln!(
        out,
        "\n{}",
        style.heading("Where the bytes are (final filesystem / redundant)")
    );
    let final_total = report.image.final_bytes.max(1);
    for c in report
        .categories
        .iter()
        .filter(|c| c.final_bytes + c.redundant_bytes > 0)
    {
        let share = c.final_bytes as f64 * 100.0 / final_total as f64;
        let redundant = if c.redundant_bytes == 0 {
            String::new()
        } else {
            format!("  + {} redundant", human(c.redundant_bytes))
        };
        let _ = writeln!(
            out,
            "  {:>10} {:>5.1}%  {:<42}{}",
            human(c.final_bytes),
            share,
            c.title,
            style.dim(&format!("{} files{redundant}", c.final_files))
        );
    }
}

fn render_packages(out: &mut String, report: &Report, style: &Style) {
    const SHOWN: usize = 10;
    let packages = &report.packages;
    if packages.list.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", style.heading("Largest packages"));
    for manager in [
        imgprof_waste::Manager::Dpkg,
        imgprof_waste::Manager::Apk,
        imgprof_waste::Manager::Pip,
    ] {
        let of_manager: Vec<_> = packages.list.iter().filter(|p| p.manager == manager).collect();
        if of_manager.is_empty() {
            continue;
        }
        let total: u64 = of_manager.iter().map(|p| p.bytes).sum();
        let name = match manager {
            imgprof_waste::Manager::Dpkg => "dpkg",
            imgprof_waste::Manager::Apk => "apk",
            imgprof_waste::Manager::Pip => "pip",
        };
        let _ = writeln!(
            out,
            "  {} {}",
            style.dim(&format!("{name}: {} packages,", of_manager.len())),
            style.dim(&human(total))
        );
        for p in of_manager.iter().take(SHOWN) {
            let _ = writeln!(out, "  {:>10}  {} {}", human(p.bytes), p.name, style.dim(&p.version));
        }
    }
    let _ = writeln!(
        out,
        "  {:>10}  {}",
        human(packages.unowned_bytes),
        style.dim("not owned by any package")
    );
}

fn render_findings(out: &mut String, report: &Report, style: &Style) {
    if report.findings.is_empty() {
        return;
    }
    let p = &report.projection;
    let _ = writeln!(
        out,
        "\n{}",
        style.heading(&format!(
            "Findings: {} -> {} with every fix applied (saves {})",
            human(p.shipped_bytes),
            human(p.projected_bytes),
            human(p.saves_bytes)
        ))
    );
    for f in &report.findings {
        let name = f.severity.name();
        let severity = match f.severity {
            imgprof_waste::Severity::Error => style.error(name),
            imgprof_waste::Severity::Warning => style.warn(name),
            imgprof_waste::Severity::Info => style.dim(name),
        };
        let saves = if f.saves_bytes > 0 {
            format!(", saves {}", human(f.saves_bytes))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\n  {} {} {}{}",
            severity,
            style.heading(f.id.code()),
            f.title,
            saves
        );
        if let Some(layer) = f.layer {
            let instruction = f
                .instruction
                .as_deref()
                .map(|i| truncate(i, INSTRUCTION_WIDTH))
                .unwrap_or_default();
            let _ = writeln!(out, "    layer {layer}: {instruction}");
        }
        for path in &f.paths {
            let _ = writeln!(out, "    {:>10}  {}", human(path.bytes), path.path);
        }
        let _ = writeln!(out, "    {}", style.dim(&f.why));
        for line in f.fix.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
}

fn render_header(out: &mut String, report: &Report, style: &Style) {
    let s = &report.source;
    let name = match &s.tag {
        Some(tag) if !s.location.ends_with(tag.as_str()) => format!("{} ({tag})", s.location),
        _ => s.location.clone(),
    };
    let _ = writeln!(out, "{} {}, {}", style.heading(&name), s.kind, s.platform);
    if let Some(d) = &s.manifest_digest {
        let _ = writeln!(out, "  manifest {d}");
    }
    if let Some(d) = &s.config_digest {
        let _ = writeln!(out, "  config   {d}");
    }
    let base = &report.base_image;
    let os = base.os.as_deref().map(|os| format!(", {os}")).unwrap_or_default();
    let base_text = match base.how {
        "unknown" => format!("  base     not recognised{os}"),
        how if base.layers == 1 => format!("  base     layer 0 ({how}){os}"),
        how => format!("  base     layers 0-{} ({how}){os}", base.layers.saturating_sub(1)),
    };
    let _ = writeln!(out, "{base_text}");
    let _ = writeln!(out, "  built on {}", base.identity.summary);
    let r = &report.runtime;
    let command = |c: &Option<Vec<String>>| c.as_ref().map(|c| format!("{c:?}"));
    let mut run = vec![format!("user {}", r.user.as_deref().unwrap_or("root (no USER)"))];
    run.extend(command(&r.entrypoint).map(|e| format!("entrypoint {e}")));
    run.extend(command(&r.cmd).map(|c| format!("cmd {c}")));
    if !r.exposed_ports.is_empty() {
        run.push(format!("ports {}", r.exposed_ports.join(" ")));
    }
    let _ = writeln!(out, "  runs     {}", run.join(", "));
    for note in &r.notes {
        let _ = writeln!(out, "           {}", style.dim(note));
    }
}

fn render_totals(out: &mut String, report: &Report, style: &Style) {
    let i = &report.image;
    let percent = |r: f64| format!("{:.1}%", r * 100.0);
    let redundant = format!(
        "{:>10}  {} of shipped",
        human(i.redundant_bytes),
        percent(i.redundant_ratio)
    );
    let rows = [
        ("layers", format!("{:>10}", i.layer_count), String::new()),
        (
            "compressed",
            format!("{:>10}", human(i.compressed_bytes)),
            "blobs as stored".to_owned(),
        ),
        (
            "shipped",
            format!("{:>10}", human(i.shipped_bytes)),
            "file bytes over all layers".to_owned(),
        ),
        (
            "final filesystem",
            format!("{:>10}", human(i.final_bytes)),
            format!(
                "{} files, what a container sees",
                i.final_counts.files + i.final_counts.hardlinks
            ),
        ),
        (
            "redundant",
            if i.redundant_bytes > 0 {
                style.warn(&redundant)
            } else {
                redundant
            },
            "overwritten or deleted by later layers".to_owned(),
        ),
        (
            "dive efficiency",
            format!("{:>10}", percent(report.dive.efficiency)),
            format!(
                "dive's wasted bytes {} (docs/metrics.md)",
                human(report.dive.wasted_bytes)
            ),
        ),
        (
            "pull time",
            pull_times(&report.pull),
            if report
                .layers
                .iter()
                .any(|l| l.compression == imgprof_layers::Compression::None)
            {
                "now -> with every fix; layers stored uncompressed here, a registry's gzip pulls faster".to_owned()
            } else {
                "now -> with every fix (compressed bytes, link-bound)".to_owned()
            },
        ),
    ];
    let _ = writeln!(out, "\n{}", style.heading("Image"));
    for (label, value, note) in rows {
        let note = if note.is_empty() {
            note
        } else {
            style.dim(&format!("  {note}"))
        };
        let _ = writeln!(out, "  {label:<17}{value}{note}");
    }
}

/// Seconds for people: `350 ms`, `4.2 s`, `97 s`.
fn human_seconds(seconds: f64) -> String {
    match seconds {
        s if s < 1.0 => format!("{:.0} ms", s * 1000.0),
        s if s < 10.0 => format!("{s:.1} s"),
        s => format!("{s:.0} s"),
    }
}

/// One link's pull time, now and with every fix: `12.3 s -> 4.1 s at 100 Mbit/s`.
pub fn pull_time(link: &crate::model::PullTime) -> String {
    format!(
        "{} -> {} at {}",
        human_seconds(link.seconds),
        human_seconds(link.projected_seconds),
        link.link
    )
}

/// `12.3 s -> 4.1 s at 100 Mbit/s, ...`, fastest link last.
fn pull_times(pull: &crate::model::PullCost) -> String {
    let times: Vec<String> = pull.links.iter().map(pull_time).collect();
    format!("{:>10}", times.join(", "))
}

fn render_layers(out: &mut String, report: &Report, style: &Style) {
    let header = [
        "#",
        "Compressed",
        "Size",
        "Files",
        "Added",
        "Modified",
        "Removed",
        "Redundant",
        "Instruction",
    ];
    let dash = |n: u64| if n == 0 { "-".to_owned() } else { human(n) };
    let rows: Vec<[String; 9]> = report
        .layers
        .iter()
        .map(|l| {
            let c = &l.changes;
            [
                l.index.to_string(),
                human(l.compressed_bytes),
                human(l.content_bytes),
                (l.counts.files + l.counts.hardlinks + l.counts.symlinks + l.counts.special).to_string(),
                dash(c.added_bytes),
                dash(c.modified_bytes),
                dash(c.removed_bytes),
                dash(c.redundant_bytes),
                truncate(l.instruction.as_deref().unwrap_or("(no history)"), INSTRUCTION_WIDTH),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let _ = writeln!(out, "\n{}", style.heading("Layers"));
    let line = |cells: &[String]| {
        let mut s = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i == cells.len() - 1 {
                s.push_str(&format!(" {cell}"));
            } else {
                s.push_str(&format!(" {}{cell}", " ".repeat(pad)));
            }
        }
        s
    };
    let _ = writeln!(out, "{}", style.dim(&line(&header.map(str::to_owned))));
    for row in rows {
        let redundant = row[7] != "-";
        let text = line(&row);
        let _ = writeln!(out, "{}", if redundant { style.warn(&text) } else { text });
    }
}

fn render_removed(out: &mut String, report: &Report, style: &Style) {
    let layers: Vec<_> = report.layers.iter().filter(|l| !l.removed.is_empty()).collect();
    if layers.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.heading("Deleted in later layers (the lower layers still ship these bytes)")
    );
    for layer in layers {
        for r in &layer.removed {
            let path = if r.opaque {
                format!("contents of {}", r.path)
            } else {
                r.path.clone()
            };
            let detail = format!("layer {}, {} paths", layer.index, r.paths);
            let _ = writeln!(out, "  {:>10}  {path}  {}", human(r.bytes), style.dim(&detail));
        }
    }
}

fn render_largest(out: &mut String, report: &Report, style: &Style) {
    if report.largest_files.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", style.heading("Largest files"));
    for f in &report.largest_files {
        let _ = writeln!(
            out,
            "  {:>10}  {}  {}",
            human(f.bytes),
            f.path,
            style.dim(&format!("layer {}", f.layer))
        );
    }
}

fn render_redundant(out: &mut String, report: &Report, style: &Style) {
    if report.redundant_paths.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.heading("Redundant bytes (shipped, not in the final filesystem)")
    );
    for p in &report.redundant_paths {
        let _ = writeln!(
            out,
            "  {:>10}  {}  {}",
            human(p.bytes),
            p.path,
            style.dim(&describe_loss(p))
        );
    }
}

fn describe_loss(p: &RedundantPath) -> String {
    let layers: Vec<String> = p.layers.iter().map(u32::to_string).collect();
    let shipped = format!(
        "{} in layer{} {}",
        if p.copies == 1 {
            "1 copy".to_owned()
        } else {
            format!("{} copies", p.copies)
        },
        if layers.len() == 1 { "" } else { "s" },
        layers.join(", ")
    );
    let why = match p.cause {
        LossCause::Overwritten { by_layer } => format!("overwritten by layer {by_layer}"),
        LossCause::Deleted { by_layer } => format!("deleted by layer {by_layer}"),
        LossCause::HiddenByOpaque { by_layer } => format!("hidden by an opaque directory in layer {by_layer}"),
        LossCause::ParentReplaced { by_layer } => format!("a parent replaced by a file in layer {by_layer}"),
    };
    format!("{shipped}, {why}")
}

pub(crate) fn truncate(text: &str, width: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= width {
        return one_line;
    }
    let cut: String = one_line.chars().take(width - 1).collect();
    format!("{cut}…")
}

/// The rule results as a table: outcome, rule, value, limit; then the verdict.
pub fn render_rules(rules: &crate::rules::RuleReport, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.heading(&format!("Rules ({})", rules.source)));
    for w in &rules.warnings {
        let _ = writeln!(
            out,
            "  {}",
            style.warn(&format!("warning: {}", crate::terminal_safe(w)))
        );
    }
    let width = rules.results.iter().map(|r| r.rule.len()).max().unwrap_or(0);
    for r in &rules.results {
        let outcome = if r.passed {
            style.dim("PASS")
        } else {
            style.error("FAIL")
        };
        let _ = writeln!(
            out,
            "  {outcome}  {:<width$}  {}  {}",
            r.rule,
            r.value,
            style.dim(&format!("(limit: {})", r.limit))
        );
    }
    let broken = rules.results.iter().filter(|r| !r.passed).count();
    let verdict = if rules.passed {
        style.heading(&format!("Result: PASS ({} rules)", rules.results.len()))
    } else {
        style.error(&format!(
            "Result: FAIL ({broken} of {} rules broken)",
            rules.results.len()
        ))
    };
    let _ = writeln!(out, "{verdict}");
    out
}
