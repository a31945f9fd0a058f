//! Drawing: a pure function of the [`App`] state onto a ratatui frame. Only the rows a
//! pane can show are looked at, so a tree of a million nodes draws as fast as a small one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use imgprof_layers::{Compression, LayerOutcome};
use imgprof_waste::PackageReason;

use crate::keys::{HELP, Pane};
use crate::layout::{self, list_rows};
use crate::model::{PendingLayer, ReadState};
use crate::state::{App, Browse, Phase, PromptTarget, Screen};
use crate::tree::{Event, EventKind, SortOrder, Status, TreeMode};

pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let theme = Theme { color: app.color };
    let area = frame.area();
    match (app.screen, &app.phase) {
        (Screen::Packages, Phase::Ready(browse)) => draw_packages(frame, app, browse, &theme, area),
        _ => draw_main(frame, app, &theme, area),
    }
    if app.help {
        // The config file's bindings first, as bound now; then the defaults.
        let bound: Vec<(String, String)> = app
            .config
            .bindings
            .iter()
            .map(|b| (b.spec.clone(), format!("{} (your config file)", b.name)))
            .chain(HELP.iter().map(|(k, w)| ((*k).to_owned(), (*w).to_owned())))
            .collect();
        let rows: Vec<(&str, &str)> = bound.iter().map(|(k, w)| (k.as_str(), w.as_str())).collect();
        draw_key_help(frame, &rows, app.help_scroll, " Keys (? or Esc closes) ", &theme, area);
    }
    scrub_controls(frame.buffer_mut());
}

/// Names from the image may hold terminal control characters; ratatui gives them no width
/// and would write them to the terminal as they are. They are dropped from the frame.
pub(crate) fn scrub_controls(buffer: &mut ratatui::buffer::Buffer) {
    for cell in &mut buffer.content {
        if cell.symbol().chars().any(char::is_control) {
            let visible: String = cell.symbol().chars().filter(|c| !c.is_control()).collect();
            cell.set_symbol(if visible.is_empty() { " " } else { &visible });
        }
    }
}

/// Colours, or none (NO_COLOR): modifiers (bold, reverse) stay either way.
pub(crate) struct Theme {
    pub(crate) color: bool,
}

impl Theme {
    pub(crate) fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    fn status(&self, status: Status) -> (&'static str, Style) {
        match status {
            Status::Added => ("+", self.fg(Color::Green)),
            Status::Modified => ("~", self.fg(Color::Yellow)),
            Status::Removed => ("-", self.fg(Color::Red)),
            Status::Unmodified | Status::Absent => (" ", Style::new()),
        }
    }

    fn category(&self, category: Option<&str>) -> Style {
        let color = match category {
            Some("secrets") => Color::LightRed,
            Some("vcs" | "build-context") => Color::Magenta,
            Some("package-cache" | "apt-lists" | "os-package-cache") => Color::Yellow,
            Some("models") => Color::Blue,
            Some("bytecode") => Color::Cyan,
            Some("headers" | "static-libs" | "toolchain") => Color::LightMagenta,
            Some("docs") => Color::DarkGray,
            Some("python-packages") => Color::Green,
            _ => return Style::new(),
        };
        self.fg(color)
    }

    fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    }

    pub(crate) fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    fn selected(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }
}

pub(crate) fn pane<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme.border(focused))
}

/// Sizes for narrow columns: decimal units with one decimal, like `docker images`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1.2 s -> 400 ms at 100 Mbit/s, ...` (now, then with every fix), the common link
/// first: the pane is narrow.
fn pull_times(pull: &imgprof_report::PullCost) -> String {
    let mut links: Vec<&imgprof_report::PullTime> = pull.links.iter().collect();
    links.sort_by_key(|l| (l.link != "100 Mbit/s", std::cmp::Reverse(l.bits_per_second)));
    links
        .into_iter()
        .map(imgprof_report::pull_time)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `drwxr-xr-x    0:0    `: an entry's type and permission bits and its owner.
fn attributes(event: &Event, link: bool) -> String {
    let kind = match event.kind {
        EventKind::Dir => 'd',
        EventKind::Other if link => 'l',
        EventKind::Other => 's',
        _ => '-',
    };
    let bits: String = (0..9)
        .map(|i| {
            let on = event.mode & (0o400 >> i) != 0;
            match (on, i % 3) {
                (false, _) => '-',
                (true, 0) => 'r',
                (true, 1) => 'w',
                (true, _) => 'x',
            }
        })
        .collect();
    format!("{kind}{bits} {:>4}:{:<4} ", event.uid, event.gid)
}

/// The first of `forms` (longest first) that fits in `room` columns, else the last.
fn longest_fitting(forms: &[String], room: usize) -> String {
    forms
        .iter()
        .find(|text| text.chars().count() <= room)
        .or(forms.last())
        .cloned()
        .unwrap_or_default()
}

/// `a, b, c`, then `a, b`, then `a`: a list's shorter forms, longest first.
fn leading_parts(list: &str) -> Vec<String> {
    let parts: Vec<&str> = list.split(", ").collect();
    (1..=parts.len()).rev().map(|n| parts[..n].join(", ")).collect()
}

fn percent(ratio: f64) -> String {
    format!("{:.1} %", ratio * 100.0)
}

fn draw_main(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    let areas = layout::main_areas(area, app.layer_rows(), app.tree_percent());
    match &app.phase {
        Phase::Loading(layers) => {
            draw_loading_layers(frame, layers, theme, areas.layers);
            let done = layers.iter().filter(|(_, s)| matches!(s, ReadState::Done(_))).count();
            let text = match &app.failure {
                Some(failure) => vec![
                    Line::styled("The analysis failed:", theme.fg(Color::Red)),
                    Line::raw(failure.clone()),
                    Line::raw(""),
                    Line::raw("Press q to quit."),
                ],
                None => {
                    let (read, total) = read_of(layers);
                    vec![Line::raw(format!(
                        "Reading layers: {done} of {} done, {} of {} stored bytes read…",
                        layers.len(),
                        size(read),
                        size(total)
                    ))]
                }
            };
            frame.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: false })
                    .block(pane(" Files ", false, theme)),
                areas.tree,
            );
            for (area, title) in [
                (areas.findings, " Findings "),
                (areas.image, " Image "),
                (areas.selection, " Details "),
            ] {
                frame.render_widget(pane(title, false, theme), area);
            }
        }
        Phase::Ready(browse) => {
            draw_layers(frame, app, browse, theme, areas.layers);
            draw_findings(frame, app, browse, theme, areas.findings);
            draw_image(frame, app, browse, theme, areas.image);
            draw_tree(frame, app, browse, theme, areas.tree);
            draw_selection(frame, app, browse, theme, areas.selection);
        }
    }
    draw_status(frame, app, theme, areas.status);
}

/// Stored bytes read so far and in all, over every layer.
fn read_of(layers: &[(PendingLayer, ReadState)]) -> (u64, u64) {
    layers.iter().fold((0, 0), |(read, total), (layer, state)| {
        let done = match *state {
            ReadState::Waiting => 0,
            ReadState::Reading { read } => read.min(layer.bytes),
            ReadState::Done(_) => layer.bytes,
        };
        (read + done, total + layer.bytes)
    })
}

fn draw_loading_layers(frame: &mut Frame<'_>, layers: &[(PendingLayer, ReadState)], theme: &Theme, area: Rect) {
    let mut lines = vec![Line::styled(" #  Stored   Read     Command", theme.dim())];
    // In layer order always; when they do not all fit, the window follows the first
    // layer still being read, and says what it leaves out.
    let rows = usize::from(area.height.saturating_sub(3)).max(1);
    let unfinished = layers
        .iter()
        .position(|(_, s)| !matches!(s, ReadState::Done(_)))
        .unwrap_or(layers.len());
    let (start, end) = if layers.len() <= rows {
        (0, layers.len())
    } else {
        let room = rows.saturating_sub(2).max(1);
        let start = unfinished.saturating_sub(1).min(layers.len() - room);
        (start, start + room)
    };
    if start > 0 {
        lines.push(Line::styled(format!("    … {start} layers above"), theme.dim()));
    }
    for (i, (layer, state)) in layers.iter().enumerate().take(end).skip(start) {
        let progress = match *state {
            ReadState::Waiting => "waiting".to_owned(),
            ReadState::Reading { read } if layer.bytes > 0 => {
                format!("{:>5.1} %", (read as f64 / layer.bytes as f64 * 100.0).min(100.0))
            }
            ReadState::Reading { .. } => "reading".to_owned(),
            ReadState::Done(LayerOutcome::Read) => "read".to_owned(),
            ReadState::Done(LayerOutcome::Cached) => "cached".to_owned(),
            ReadState::Done(LayerOutcome::Failed) => "failed".to_owned(),
        };
        lines.push(Line::raw(format!(
            "{i:>2}  {:>8} {progress:<8} {}",
            size(layer.bytes),
            layer.instruction.as_deref().unwrap_or("")
        )));
    }
    if end < layers.len() {
        lines.push(Line::styled(
            format!("    … {} more layers", layers.len() - end),
            theme.dim(),
        ));
    }
    frame.render_widget(
        Paragraph::new(lines).block(pane(" Layers (reading) ", true, theme)),
        area,
    );
}

fn draw_layers(frame: &mut Frame<'_>, app: &App, browse: &Browse, theme: &Theme, area: Rect) {
    let focused = app.focus == Pane::Layers;
    let report = &browse.data.report;
    let base = browse.data.base_layers();
    let visible = browse.visible_layers();
    let page = list_rows(area, true);
    let cursor = crate::state::Cursor {
        selected: browse.layer.saturating_sub(visible.start),
        offset: browse.layers_offset.saturating_sub(visible.start),
    };
    let first = visible.start + cursor.first_shown(page);
    // Narrow panes (80 columns) drop the stored size and the badges' padding so the
    // instruction keeps some room.
    let wide = area.width >= 60;
    // The badges of every layer in two columns of their own (redundant `r`, removable
    // `w`), each as wide as its widest, so that rows line up.
    let badge = |letter: &str, bytes: u64| {
        if bytes > 0 {
            format!("{letter}{} ", compact(bytes))
        } else {
            String::new()
        }
    };
    let column = |of: &dyn Fn(&imgprof_report::LayerReport) -> String| {
        report.layers.iter().map(|l| of(l).len()).max().unwrap_or(0)
    };
    let redundant_of = |l: &imgprof_report::LayerReport| badge("r", l.changes.redundant_bytes);
    let removable_of = |l: &imgprof_report::LayerReport| badge("w", l.removable_bytes);
    let (redundant_width, removable_width) = (column(&redundant_of), column(&removable_of));
    let waste_width = (redundant_width + removable_width).max(if wide { 6 } else { 0 });
    let header = if wide {
        format!("  #     Size   Stored  {:<waste_width$}Command", "Waste")
    } else {
        format!(
            "  #     Size  {:<waste_width$}Command",
            if waste_width >= 6 { "Waste" } else { "" }
        )
    };
    let mut lines = vec![Line::styled(header, theme.dim())];
    for i in visible.clone().skip(first - visible.start).take(page) {
        let layer = &report.layers[i];
        let sizes = if wide {
            format!(
                "{i:>2} {:>8} {:>8}  ",
                size(layer.content_bytes),
                size(layer.compressed_bytes)
            )
        } else {
            format!("{i:>2} {:>8} ", size(layer.content_bytes))
        };
        let mut spans = vec![
            Span::styled(if i < base { "B" } else { " " }, theme.dim()),
            Span::raw(sizes),
            Span::styled(
                format!("{:<redundant_width$}", redundant_of(layer)),
                theme.fg(Color::Red).add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!("{:<removable_width$}", removable_of(layer)),
                theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw(" ".repeat(waste_width - redundant_width - removable_width)),
        ];
        spans.push(Span::raw(layer.instruction.clone().unwrap_or_default()));
        let mut line = Line::from(spans);
        if i < base {
            line = line.patch_style(theme.dim());
        }
        if i == browse.layer {
            line = line.patch_style(theme.selected(focused));
        }
        lines.push(line);
    }
    let hidden = if browse.hide_base && visible.start > 0 {
        format!(" ({} base layers hidden)", visible.start)
    } else {
        String::new()
    };
    let title = format!(" Layers {}/{}{hidden} ", browse.layer, report.layers.len());
    frame.render_widget(Paragraph::new(lines).block(pane(title, focused, theme)), area);
}

/// Very short sizes for badges: `1.2M`, `340k`, `12B`.
fn compact(bytes: u64) -> String {
    let text = size(bytes);
    let (number, unit) = text.split_once(' ').unwrap_or((&text, ""));
    let number = number.strip_suffix(".0").unwrap_or(number);
    let letter = match unit {
        "kB" => "k",
        other => other.get(..1).unwrap_or(""),
    };
    format!("{number}{letter}")
}

fn draw_findings(frame: &mut Frame<'_>, app: &App, browse: &Browse, theme: &Theme, area: Rect) {
    let focused = app.focus == Pane::Findings;
    let findings = &browse.data.report.findings;
    let page = list_rows(area, false);
    let first = browse.findings.first_shown(page);
    let lines: Vec<Line<'_>> = findings
        .iter()
        .enumerate()
        .skip(first)
        .take(page)
        .map(|(i, f)| {
            let severity = match f.severity {
                imgprof_waste::Severity::Error => theme.fg(Color::Red),
                imgprof_waste::Severity::Warning => theme.fg(Color::Yellow),
                imgprof_waste::Severity::Info => theme.dim(),
            };
            let layer = f.layer.map(|l| format!("L{l}")).unwrap_or_default();
            // The severity's initial reads without colour (NO_COLOR); `?` explains it.
            let initial = f.severity.name()[..1].to_ascii_uppercase();
            let mut line = Line::from(vec![
                Span::styled(format!("{initial} {:>8} ", size(f.saves_bytes)), severity),
                Span::raw(format!("{layer:<4}")),
                Span::raw(f.title.clone()),
            ]);
            if i == browse.findings.selected {
                line = line.patch_style(theme.selected(focused));
            }
            line
        })
        .collect();
    let lines = if findings.is_empty() {
        vec![Line::styled("no findings", theme.dim())]
    } else {
        lines
    };
    let title = format!(" Findings {} (Enter jumps) ", findings.len());
    frame.render_widget(Paragraph::new(lines).block(pane(title, focused, theme)), area);
}

fn draw_image(frame: &mut Frame<'_>, app: &App, browse: &Browse, theme: &Theme, area: Rect) {
    let report = &browse.data.report;
    let image = &report.image;
    let source = &report.source;
    let digest = source
        .manifest_digest
        .as_deref()
        .or(source.config_digest.as_deref())
        .unwrap_or("none");
    let base = &report.base_image;
    let (final_, shipped, stored) = (
        size(image.final_bytes),
        size(image.shipped_bytes),
        size(image.compressed_bytes),
    );
    let redundant = format!("{} ({})", size(image.redundant_bytes), percent(image.redundant_ratio));
    let efficiency = percent(report.dive.efficiency);
    let (projected, saves) = (
        size(report.projection.projected_bytes),
        size(report.projection.saves_bytes),
    );
    let common_link = report.pull.links.iter().find(|l| l.link == "100 Mbit/s");
    // Each row in its longest form that fits the pane, so that 80 columns keep the figures.
    let rows: [(&str, Vec<String>); 8] = [
        (
            "image",
            vec![format!("{}  {}", app.title, source.platform), app.title.clone()],
        ),
        // As docker shows an image ID when it is short of room: 12 hex digits.
        (
            "digest",
            vec![digest.to_owned(), digest.chars().take("sha256:".len() + 12).collect()],
        ),
        (
            "size",
            vec![
                format!("{final_} final, {shipped} shipped, {stored} stored"),
                format!("{final_} final, {shipped} shipped"),
                format!("{final_} final"),
            ],
        ),
        (
            "redundant",
            vec![
                format!("{redundant}  dive efficiency {efficiency}"),
                format!("{redundant}, dive {efficiency}"),
                redundant.clone(),
            ],
        ),
        (
            "projected",
            vec![
                format!("{projected} with every fix (saves {saves})"),
                format!("{projected} (saves {saves})"),
                projected.clone(),
            ],
        ),
        (
            "base",
            vec![
                format!(
                    "{} of {} layers ({}){}",
                    base.layers,
                    report.layers.len(),
                    base.how,
                    base.os.as_deref().map(|os| format!(", {os}")).unwrap_or_default()
                ),
                format!("{} of {} layers", base.layers, report.layers.len()),
            ],
        ),
        ("built on", leading_parts(&base.identity.summary)),
        (
            "pull",
            std::iter::once(pull_times(&report.pull))
                .chain(common_link.map(imgprof_report::pull_time))
                .chain(common_link.map(|l| {
                    imgprof_report::pull_time(l)
                        .replace(" Mbit/s", "M")
                        .replace(" Gbit/s", "G")
                }))
                .collect(),
        ),
    ];
    let room = usize::from(area.width.saturating_sub(2));
    let label_width = if room >= 50 { 11 } else { 10 };
    let lines: Vec<Line<'_>> = rows
        .into_iter()
        .map(|(label, forms)| {
            let text = longest_fitting(&forms, room.saturating_sub(label_width));
            Line::from(vec![
                Span::styled(format!("{label:<label_width$}"), theme.dim()),
                Span::raw(text),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(pane(" Image ", false, theme)), area);
}

fn draw_tree(frame: &mut Frame<'_>, app: &App, browse: &Browse, theme: &Theme, area: Rect) {
    let focused = app.focus == Pane::Tree;
    let tree = &browse.data.tree;
    let pane_state = &browse.tree;
    let view = &pane_state.view;
    let rows = &pane_state.rows.rows;
    let page = list_rows(area, true);
    let first = pane_state.cursor.first_shown(page);
    let toggles = pane_state.toggles;
    let flag = |on: bool, letter: &'static str| if on { letter } else { "·" };
    let header = Line::from(vec![
        Span::styled("    Size  ", theme.dim()),
        Span::styled(
            format!(
                "[{}{}{}{}] by {}",
                flag(toggles.added, "A"),
                flag(toggles.removed, "R"),
                flag(toggles.modified, "M"),
                flag(toggles.unmodified, "U"),
                match pane_state.sort {
                    SortOrder::Size => "size",
                    SortOrder::Name => "name",
                }
            ),
            theme.dim(),
        ),
        Span::styled(
            match (pane_state.waiting_filter(), &pane_state.filter) {
                (Some(f), _) => format!("  filter /{}/ (matching…)", f.as_str()),
                (None, Some(f)) => format!("  filter /{}/", f.as_str()),
                (None, None) => String::new(),
            } + &match pane_state.waiting_view() {
                Some((layer, TreeMode::LayerChanges)) => format!("  computing layer {layer}, changes only…"),
                Some((layer, TreeMode::Aggregated)) => format!("  computing layer {layer}, all up to it…"),
                None if pane_state.pending() && pane_state.waiting_filter().is_none() => "  updating…".into(),
                None => String::new(),
            },
            theme.fg(Color::Yellow),
        ),
    ]);
    let mut lines = vec![header];
    let mut guides = String::new();
    for (i, row) in rows.iter().enumerate().skip(first).take(page) {
        let node = row.node;
        let status = view.status[node as usize];
        let (marker, marker_style) = theme.status(status);
        guides.clear();
        // Ancestors' guides, innermost last.
        let mut levels = Vec::with_capacity(row.depth as usize);
        let mut at = tree.parent(node);
        for _ in 0..row.depth {
            let Some(dir) = at else { break };
            levels.push(if pane_state.rows.is_last_child(dir) {
                "    "
            } else {
                "│   "
            });
            at = tree.parent(dir);
        }
        for level in levels.iter().rev() {
            guides.push_str(level);
        }
        guides.push_str(if pane_state.rows.is_last_child(node) {
            "└── "
        } else {
            "├── "
        });
        let dir = view.is_dir[node as usize];
        let event = view.shown_event(tree, node);
        let category = event.and_then(|e| tree.category(e));
        let name_style = if dir {
            theme.fg(Color::Blue).add_modifier(Modifier::BOLD)
        } else {
            theme.category(category)
        };
        let mut name = tree.name(node).to_owned();
        if dir {
            name.push('/');
            if pane_state.is_collapsed(node) && !tree.children(node).is_empty() {
                name.push_str(" …");
            }
        } else if let Some(event) = event.filter(|e| e.kind == EventKind::Other) {
            match tree.link(event) {
                // As dive shows links.
                Some(target) => {
                    name.push_str(" → ");
                    name.push_str(target);
                }
                None => name.push('@'),
            }
        }
        let mut spans = vec![
            Span::styled(marker, marker_style),
            Span::raw(format!("{:>8}  ", size(view.size[node as usize]))),
        ];
        if pane_state.show_attributes {
            // As dive's: permissions, then uid:gid.
            spans.push(Span::styled(
                event.map_or_else(|| format!("{:<20}", ""), |e| attributes(e, tree.link(e).is_some())),
                theme.dim(),
            ));
        }
        spans.push(Span::styled(guides.clone(), theme.dim()));
        spans.push(Span::styled(name, name_style));
        let mut line = Line::from(spans);
        if status == Status::Removed {
            line = line.patch_style(theme.fg(Color::Red).add_modifier(Modifier::CROSSED_OUT));
        }
        if i == pane_state.cursor.selected {
            line = line.patch_style(theme.selected(focused));
        }
        lines.push(line);
    }
    if rows.is_empty() {
        lines.push(Line::styled(
            "(nothing to show: check the toggles and the filter)",
            theme.dim(),
        ));
    }
    // The final filesystem is the report's: its counts under the report's names.
    let top = browse.data.report.layers.len().saturating_sub(1) as u32;
    let plain = format!(" Files: layer {}, {} ", view.layer, mode_name(view.mode));
    let mut titles = Vec::new();
    if view.mode == TreeMode::Aggregated && view.layer == top {
        let c = &browse.data.report.image.final_counts;
        titles.push(format!(
            "{}: {} files, {} hard links, {} symlinks, {} dirs ",
            plain.trim_end(),
            c.files,
            c.hardlinks,
            c.symlinks,
            c.dirs
        ));
        titles.push(format!("{}: {} files ", plain.trim_end(), c.files));
    }
    titles.push(plain);
    let title = longest_fitting(&titles, usize::from(area.width.saturating_sub(2)));
    frame.render_widget(Paragraph::new(lines).block(pane(title, focused, theme)), area);
}

fn mode_name(mode: TreeMode) -> &'static str {
    match mode {
        TreeMode::LayerChanges => "changes of this layer",
        TreeMode::Aggregated => "everything up to it",
    }
}

fn draw_selection(frame: &mut Frame<'_>, app: &App, browse: &Browse, theme: &Theme, area: Rect) {
    let (title, lines) = match app.focus {
        Pane::Layers => (" Layer ", layer_details(browse, theme)),
        Pane::Tree => (" File ", file_details(browse, theme)),
        Pane::Findings => (" Finding ", finding_details(browse, theme)),
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane(title, false, theme)),
        area,
    );
}

fn layer_details<'a>(browse: &'a Browse, theme: &Theme) -> Vec<Line<'a>> {
    let Some(layer) = browse.data.report.layers.get(browse.layer) else {
        return Vec::new();
    };
    let c = &layer.changes;
    let base = if browse.layer < browse.data.base_layers() {
        " (base image)"
    } else {
        ""
    };
    vec![
        Line::from(vec![
            Span::styled(
                format!("layer {}{base} ", layer.index),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(layer.digest.clone(), theme.dim()),
        ]),
        Line::raw(format!(
            "{} of files, {} as a tar, {} stored {}",
            size(layer.content_bytes),
            size(layer.tar_bytes),
            size(layer.compressed_bytes),
            match layer.compression {
                Compression::None => "uncompressed".to_owned(),
                other => format!("({})", other.name()),
            }
        )),
        Line::raw(format!(
            "added {} files ({}), modified {} ({}), removed {} paths ({})",
            c.added_files,
            size(c.added_bytes),
            c.modified_files,
            size(c.modified_bytes),
            c.removed_paths,
            size(c.removed_bytes)
        )),
        Line::raw(format!(
            "redundant {} (overwritten or deleted later), removable {} (findings)",
            size(c.redundant_bytes),
            size(layer.removable_bytes)
        )),
        Line::raw(layer.instruction.clone().unwrap_or_else(|| "(no history)".to_owned())),
    ]
}

fn file_details<'a>(browse: &'a Browse, theme: &Theme) -> Vec<Line<'a>> {
    let tree = &browse.data.tree;
    let Some(node) = browse.selected_node() else {
        return vec![Line::styled("no file selected", theme.dim())];
    };
    let view = &browse.tree.view;
    let status = view.status[node as usize];
    let event = view.shown_event(tree, node);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("/{}", tree.path(node)),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("  {}  {status:?}", size(view.size[node as usize]))),
    ])];
    if let Some(event) = event {
        lines.push(Line::from(vec![
            Span::styled("mode     ", theme.dim()),
            Span::raw(attributes(event, tree.link(event).is_some()).trim_end().to_owned()),
        ]));
    }
    if let Some(event) = event.filter(|e| e.kind == EventKind::File) {
        let category = tree.category(event);
        let title = category
            .and_then(imgprof_waste::categories::rule)
            .map_or(category.unwrap_or("unclassified"), |r| r.title);
        lines.push(Line::from(vec![
            Span::styled("category ", theme.dim()),
            Span::styled(title, theme.category(category)),
        ]));
        let package = tree
            .package(event.layer, event.entry)
            .and_then(|p| browse.data.report.packages.list.get(p));
        lines.push(Line::from(vec![
            Span::styled("package  ", theme.dim()),
            Span::raw(match package {
                Some(p) => format!("{} {} ({:?})", p.name, p.version, p.manager).to_lowercase(),
                None => "none".to_owned(),
            }),
        ]));
    }
    let history: Vec<String> = tree
        .events(node)
        .iter()
        .map(|e| match e.kind {
            EventKind::File => format!("L{} wrote {}", e.layer, size(e.size)),
            EventKind::Dir => format!("L{} dir", e.layer),
            EventKind::Other => match tree.link(e) {
                Some(target) => format!("L{} link to {target}", e.layer),
                None => format!("L{} special file", e.layer),
            },
            EventKind::Whiteout => format!("L{} deleted", e.layer),
            EventKind::Opaque => format!("L{} made opaque", e.layer),
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled("history  ", theme.dim()),
        Span::raw(if history.is_empty() {
            "implied by its contents".to_owned()
        } else {
            history.join(", ")
        }),
    ]));
    lines
}

fn finding_details<'a>(browse: &'a Browse, theme: &Theme) -> Vec<Line<'a>> {
    let Some(f) = browse.data.report.findings.get(browse.findings.selected) else {
        return vec![Line::styled("no findings", theme.dim())];
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} {}: {}", f.id, f.severity.name(), f.title),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("  {} concerned, saves {}", size(f.bytes), size(f.saves_bytes))),
    ])];
    if let Some(layer) = f.layer {
        lines.push(Line::raw(format!(
            "layer {layer}: {}",
            f.instruction.as_deref().unwrap_or("(no history)")
        )));
    }
    let paths: Vec<String> = f
        .paths
        .iter()
        .map(|p| format!("{} ({})", p.path, size(p.bytes)))
        .collect();
    if !paths.is_empty() {
        lines.push(Line::raw(format!("paths: {}", paths.join(", "))));
    }
    lines.extend(f.why.lines().map(|l| Line::raw(l.to_owned())));
    // The fix as it stands in a Dockerfile: its own lines, kept.
    lines.push(Line::styled(
        "fix:",
        theme.fg(Color::Green).add_modifier(Modifier::BOLD),
    ));
    lines.extend(f.fix.lines().map(|l| Line::raw(format!("  {l}"))));
    lines
}

fn draw_status(frame: &mut Frame<'_>, app: &App, theme: &Theme, area: Rect) {
    let line = match (&app.prompt, &app.message) {
        (Some(prompt), message) => {
            let label = match prompt.target {
                PromptTarget::TreeFilter => "filter paths (regex): ",
                PromptTarget::PackageFilter => "filter packages: ",
                PromptTarget::ExtractTo => "extract to (a path that does not exist): ",
            };
            let mut spans = vec![
                Span::styled(label, theme.fg(Color::Yellow).add_modifier(Modifier::BOLD)),
                Span::raw(prompt.text.clone()),
                Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
            ];
            if let Some(message) = message {
                spans.push(Span::styled(format!("  {message}"), theme.fg(Color::Red)));
            }
            Line::from(spans)
        }
        (None, Some(message)) => Line::styled(message.clone(), theme.fg(Color::Yellow)),
        (None, None) => {
            let hints = match app.screen {
                Screen::Main => {
                    "Tab pane  ↑↓ move  Space fold  / filter  ^L/^A mode  ^O sort  b base  p packages  ? help  q quit"
                }
                Screen::Packages => "↑↓ move  / filter  p or Esc back  ? help  q quit",
            };
            Line::styled(hints, theme.dim())
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_packages(frame: &mut Frame<'_>, app: &App, browse: &Browse, theme: &Theme, area: Rect) {
    let (list_area, details_area, status_area) = layout::packages_areas(area);
    let packages = &browse.data.report.packages;
    let pane_state = &browse.packages;
    let page = list_rows(list_area, true);
    let first = pane_state.cursor.first_shown(page);
    let mut lines = vec![Line::styled(
        format!(
            "{:<6} {:>9} {:>7}  {:<32} {:<24} {}",
            "kind", "size", "files", "name", "version", "why"
        ),
        theme.dim(),
    )];
    for (row, &index) in pane_state.matching.iter().enumerate().skip(first).take(page) {
        let p = &packages.list[index];
        let mut line = Line::raw(format!(
            "{:<6} {:>9} {:>7}  {:<32} {:<24} {}",
            format!("{:?}", p.manager).to_lowercase(),
            size(p.bytes),
            p.files,
            p.name,
            p.version,
            reason_brief(&p.reason)
        ));
        if row == pane_state.cursor.selected {
            line = line.patch_style(theme.selected(true));
        }
        lines.push(line);
    }
    if pane_state.matching.is_empty() {
        lines.push(Line::styled("no package matches", theme.dim()));
    }
    let filter = if pane_state.filter.is_empty() {
        String::new()
    } else {
        format!(", filter \"{}\"", pane_state.filter)
    };
    let title = format!(
        " Packages: {} of {}{filter}; {} owned by none ",
        pane_state.matching.len(),
        packages.list.len(),
        size(packages.unowned_bytes)
    );
    frame.render_widget(Paragraph::new(lines).block(pane(title, true, theme)), list_area);
    let details = match pane_state
        .matching
        .get(pane_state.cursor.selected)
        .and_then(|&i| packages.list.get(i))
    {
        Some(p) => vec![
            Line::styled(
                format!("{} {}", p.name, p.version),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Line::raw(format!("{} files, {}; {}", p.files, size(p.bytes), p.location)),
            Line::raw(format!("why: {}", reason_text(&p.reason, &browse.data.report))),
            Line::raw(if p.depends.is_empty() {
                "depends on nothing listed".to_owned()
            } else {
                format!("depends: {}", p.depends.join(", "))
            }),
        ],
        None => Vec::new(),
    };
    frame.render_widget(
        Paragraph::new(details)
            .wrap(Wrap { trim: false })
            .block(pane(" Package ", false, theme)),
        details_area,
    );
    draw_status(frame, app, theme, status_area);
}

/// The packages list's `why` column: `asked in L3`, `for libpq-dev +2`, `base system`.
fn reason_brief(reason: &PackageReason) -> String {
    let first = |by: &[String]| match by {
        [] => String::new(),
        [one] => one.clone(),
        [one, rest @ ..] => format!("{one} +{}", rest.len()),
    };
    match reason {
        PackageReason::Requested { layer } => format!("asked in L{layer}"),
        PackageReason::RequiredBy(by) => format!("for {}", first(by)),
        PackageReason::RecommendedBy(by) => format!("recommended by {}", first(by)),
        PackageReason::BaseSystem => "base system".to_owned(),
        PackageReason::Unexplained => String::new(),
    }
}

/// The package pane's `why`, in full.
fn reason_text(reason: &PackageReason, report: &imgprof_report::Report) -> String {
    match reason {
        PackageReason::Requested { layer } => format!(
            "requested by layer {layer}: {}",
            report
                .layers
                .get(*layer)
                .and_then(|l| l.instruction.as_deref())
                .unwrap_or("(no history)")
        ),
        PackageReason::RequiredBy(by) => format!("a dependency (Depends) of {}", by.join(", ")),
        PackageReason::RecommendedBy(by) => {
            format!(
                "recommended (Recommends) by {}; --no-install-recommends leaves it out",
                by.join(", ")
            )
        }
        PackageReason::BaseSystem => "part of every Debian system (Essential or Priority: required)".to_owned(),
        PackageReason::Unexplained => {
            "nothing in the image says (no install step names it, no package depends on it)".to_owned()
        }
    }
}

/// A centred overlay listing `keys` (the inspect and the compare views' help), from
/// `scroll` on when the screen is too short for all of them.
pub(crate) fn draw_key_help(
    frame: &mut Frame<'_>,
    keys: &[(&str, &str)],
    scroll: usize,
    title: &str,
    theme: &Theme,
    area: Rect,
) {
    let width = area.width.min(76);
    let height = (keys.len() as u16 + 2).min(area.height);
    let visible = usize::from(height.saturating_sub(2));
    let first = scroll.min(keys.len().saturating_sub(visible));
    let title = if visible < keys.len() {
        format!(
            "{} {}-{} of {}, ↑↓ scroll ",
            title.trim_end(),
            first + 1,
            first + visible,
            keys.len()
        )
    } else {
        title.to_owned()
    };
    let [column] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(column);
    let key_width = (keys.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 1).max(22);
    let lines: Vec<Line<'_>> = keys
        .iter()
        .skip(first)
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(
                    format!("{keys:<key_width$}"),
                    theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(pane(title.to_owned(), true, theme)), popup);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_columns_and_badges() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(602_000), "602.0 kB");
        assert_eq!(size(1_960_000_000), "2.0 GB");
        assert_eq!(compact(602_000), "602k");
        assert_eq!(compact(1_250_000), "1.2M");
        assert_eq!(compact(12), "12B");
    }
}
