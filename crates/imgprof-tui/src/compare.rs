//! `imgprof compare` on a terminal: two images side by side. The state is the
//! [`Comparison`] (built by `imgprof-report::compare`, which the table and Markdown
//! renderings read too) plus which section is shown and how far it is scrolled; keys map
//! to [`CompareAction`]s purely; [`draw`] is a pure function of the state, drawn with the
//! inspect view's panes, sizes and theme.

use ratatui::Frame;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use imgprof_report::compare::{Alignment, Comparison, Delta, FileChangeKind, PackageStatus};

use crate::TuiError;
use crate::draw::{Theme, pane, scrub_controls, size};

/// The sections of the lower pane, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Layers,
    Categories,
    Packages,
    Files,
    Findings,
}

const SECTIONS: [Section; 5] = [
    Section::Layers,
    Section::Categories,
    Section::Packages,
    Section::Files,
    Section::Findings,
];

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Layers => "Layers",
            Section::Categories => "Categories",
            Section::Packages => "Packages",
            Section::Files => "Files",
            Section::Findings => "Findings",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareAction {
    NextSection,
    PreviousSection,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    /// `?`: the keys, over the view; any key closes it.
    Help,
    Quit,
}

/// What the help overlay lists: every key of the compare view.
pub const COMPARE_HELP: &[(&str, &str)] = &[
    ("Tab / Shift+Tab, → ←, l h", "next / previous section"),
    ("↓ ↑ or j k, mouse wheel", "scroll the section"),
    ("PgDn PgUp, Space", "scroll by a page"),
    ("Home End, g G", "to the top or the bottom"),
    ("?", "this help (any key closes it)"),
    ("q, Esc, Ctrl+C", "quit"),
];

/// Keys as in the inspect view: Tab between sections, arrows or j/k, PgUp/PgDn,
/// Home/End (g/G), q or Ctrl+C to quit; the mouse wheel scrolls.
pub fn action_for_event(event: &Event) -> Option<CompareAction> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => action_for_key(*key),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollDown => Some(CompareAction::Down),
            MouseEventKind::ScrollUp => Some(CompareAction::Up),
            _ => None,
        },
        _ => None,
    }
}

fn action_for_key(key: KeyEvent) -> Option<CompareAction> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => CompareAction::Quit,
        KeyCode::Char('q') | KeyCode::Esc => CompareAction::Quit,
        KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => CompareAction::NextSection,
        KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => CompareAction::PreviousSection,
        KeyCode::Down | KeyCode::Char('j') => CompareAction::Down,
        KeyCode::Up | KeyCode::Char('k') => CompareAction::Up,
        KeyCode::PageDown | KeyCode::Char(' ') => CompareAction::PageDown,
        KeyCode::PageUp => CompareAction::PageUp,
        KeyCode::Home | KeyCode::Char('g') => CompareAction::Top,
        KeyCode::End | KeyCode::Char('G') => CompareAction::Bottom,
        KeyCode::Char('?') => CompareAction::Help,
        _ => return None,
    })
}

/// What the compare view shows.
pub struct CompareView {
    pub comparison: Comparison,
    pub section: Section,
    /// First row shown, per section.
    scroll: [usize; SECTIONS.len()],
    /// Rows the lower pane shows (from the last resize).
    page: usize,
    pub color: bool,
    pub quit: bool,
    pub help: bool,
}

impl CompareView {
    pub fn new(comparison: Comparison, color: bool) -> CompareView {
        CompareView {
            comparison,
            section: Section::Layers,
            scroll: [0; SECTIONS.len()],
            page: 10,
            color,
            quit: false,
            help: false,
        }
    }

    fn index(&self) -> usize {
        SECTIONS.iter().position(|s| *s == self.section).unwrap_or(0)
    }

    /// Rows of the current section.
    fn rows(&self) -> usize {
        let c = &self.comparison;
        match self.section {
            Section::Layers => c.layers.len(),
            Section::Categories => c.categories.len(),
            Section::Packages => c.packages.list.len(),
            Section::Files => c.files.lines.len(),
            Section::Findings => c.findings.fixed.len() + c.findings.introduced.len() + c.findings.remaining.len(),
        }
    }

    pub fn first_row(&self) -> usize {
        self.scroll[self.index()]
    }

    /// The screen is `height` rows: the lower pane keeps what the header leaves.
    pub fn resize(&mut self, height: u16) {
        self.page = usize::from(height.saturating_sub(HEADER_ROWS + 3)).max(1);
    }

    pub fn apply(&mut self, action: CompareAction) {
        if self.help {
            // Any key closes the help, Esc and q included: they do not quit from it.
            self.help = false;
            return;
        }
        let last = self.rows().saturating_sub(self.page);
        let i = self.index();
        let scroll = &mut self.scroll[i];
        match action {
            CompareAction::Quit => self.quit = true,
            CompareAction::NextSection => self.section = SECTIONS[(i + 1) % SECTIONS.len()],
            CompareAction::PreviousSection => self.section = SECTIONS[(i + SECTIONS.len() - 1) % SECTIONS.len()],
            CompareAction::Down => *scroll = (*scroll + 1).min(last),
            CompareAction::Up => *scroll = scroll.saturating_sub(1),
            CompareAction::PageDown => *scroll = (*scroll + self.page).min(last),
            CompareAction::PageUp => *scroll = scroll.saturating_sub(self.page),
            CompareAction::Top => *scroll = 0,
            CompareAction::Bottom => *scroll = last,
            CompareAction::Help => self.help = true,
        }
    }
}

/// Rows of the totals pane (borders included).
const HEADER_ROWS: u16 = 12;

fn signed(delta: i64) -> String {
    let magnitude = size(delta.unsigned_abs());
    match delta.signum() {
        1 => format!("+{magnitude}"),
        -1 => format!("-{magnitude}"),
        _ => "0 B".to_owned(),
    }
}

fn delta_style(theme: &Theme, delta: i64) -> Style {
    match delta.signum() {
        1 => theme.fg(Color::Red),
        -1 => theme.fg(Color::Green),
        _ => theme.dim(),
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

pub fn draw(frame: &mut Frame<'_>, view: &CompareView) {
    let theme = Theme { color: view.color };
    let [header, body, status] = Layout::vertical([
        Constraint::Length(HEADER_ROWS),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_totals(frame, view, &theme, header);
    draw_section(frame, view, &theme, body);
    let tabs: Vec<Span<'_>> = SECTIONS
        .iter()
        .flat_map(|s| {
            let style = if *s == view.section {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                theme.dim()
            };
            [Span::styled(format!(" {} ", s.title()), style), Span::raw("")]
        })
        .chain([Span::styled(" Tab ↑↓ ? keys q quit", theme.dim())])
        .collect();
    frame.render_widget(Paragraph::new(Line::from(tabs)), status);
    if view.help {
        crate::draw::draw_key_help(frame, COMPARE_HELP, 0, " Keys (any key closes) ", &theme, frame.area());
    }
    scrub_controls(frame.buffer_mut());
}

fn draw_totals(frame: &mut Frame<'_>, view: &CompareView, theme: &Theme, area: Rect) {
    let c = &view.comparison;
    let t = &c.totals;
    let width = usize::from(area.width.saturating_sub(4));
    let name_width = width.saturating_sub(3 * 12).clamp(10, 26);
    let row = |name: &str, d: &Delta| {
        Line::from(vec![
            Span::raw(format!("{name:<name_width$}")),
            Span::raw(format!("{:>12}{:>12}", size(d.a), size(d.b))),
            Span::styled(format!("{:>12}", signed(d.delta)), delta_style(theme, d.delta)),
        ])
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("A ", theme.fg(Color::Cyan).add_modifier(Modifier::BOLD)),
            Span::raw(truncate(&c.a.location, width.saturating_sub(2))),
        ]),
        Line::from(vec![
            Span::styled("B ", theme.fg(Color::Cyan).add_modifier(Modifier::BOLD)),
            Span::raw(truncate(&c.b.location, width.saturating_sub(2))),
        ]),
        Line::from(Span::styled(
            format!("{:<name_width$}{:>12}{:>12}{:>12}", "", "A", "B", "change"),
            theme.dim(),
        )),
        row("compressed", &t.compressed_bytes),
        row("shipped", &t.shipped_bytes),
        row("final filesystem", &t.final_bytes),
        row("redundant", &t.redundant_bytes),
        row("with every fix", &t.projected_bytes),
    ];
    if let Some(pull) = t.pull.iter().find(|p| p.link == "100 Mbit/s").or(t.pull.first()) {
        let delta = pull.delta_seconds;
        lines.push(Line::from(vec![
            Span::raw(format!("{:<name_width$}", format!("pull at {}", pull.link))),
            Span::raw(format!("{:>10.1} s{:>10.1} s", pull.a_seconds, pull.b_seconds)),
            Span::styled(
                format!("{:>+10.1} s", delta),
                delta_style(theme, (delta * 1000.0) as i64),
            ),
        ]));
    }
    let f = &c.findings;
    lines.push(Line::from(format!(
        "findings: {} fixed, {} introduced, {} remaining",
        f.fixed.len(),
        f.introduced.len(),
        f.remaining.len()
    )));
    frame.render_widget(Paragraph::new(lines).block(pane("Compare", false, theme)), area);
}

fn draw_section(frame: &mut Frame<'_>, view: &CompareView, theme: &Theme, area: Rect) {
    let c = &view.comparison;
    let inner_width = usize::from(area.width.saturating_sub(2));
    let first = view.first_row();
    let shown = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line<'_>> = match view.section {
        Section::Layers => {
            // Two columns, A left and B right, the alignment between.
            let column = inner_width.saturating_sub(12) / 2;
            let side = |s: Option<&imgprof_report::compare::LayerSide>| match s {
                Some(l) => truncate(
                    &format!(
                        "{:>2} {:>9} {}",
                        l.index,
                        size(l.content_bytes),
                        l.instruction.as_deref().unwrap_or("(no history)")
                    ),
                    column,
                ),
                None => String::new(),
            };
            c.layers
                .iter()
                .skip(first)
                .take(shown)
                .map(|pair| {
                    let (badge, style) = match pair.alignment {
                        Alignment::Shared => ("shared", theme.dim()),
                        Alignment::Changed => ("changed", theme.fg(Color::Yellow)),
                        Alignment::OnlyA => ("only A", theme.fg(Color::Green)),
                        Alignment::OnlyB => ("only B", theme.fg(Color::Red)),
                    };
                    Line::from(vec![
                        Span::raw(format!("{:<column$}", side(pair.a.as_ref()))),
                        Span::styled(format!(" {badge:^9} "), style),
                        Span::raw(side(pair.b.as_ref())),
                    ])
                })
                .collect()
        }
        Section::Categories => c
            .categories
            .iter()
            .skip(first)
            .take(shown)
            .map(|cat| delta_line(theme, cat.title, &cat.final_bytes, inner_width))
            .collect(),
        Section::Packages => c
            .packages
            .list
            .iter()
            .skip(first)
            .take(shown)
            .map(|p| {
                let status = match p.status {
                    PackageStatus::Added => "added".to_owned(),
                    PackageStatus::Removed => "removed".to_owned(),
                    PackageStatus::VersionChanged => format!(
                        "{} -> {}",
                        p.version_a.as_deref().unwrap_or("?"),
                        p.version_b.as_deref().unwrap_or("?")
                    ),
                    PackageStatus::SizeChanged => "same version".to_owned(),
                };
                delta_line(theme, &format!("{} ({status})", p.name), &p.bytes, inner_width)
            })
            .collect(),
        Section::Files => c
            .files
            .lines
            .iter()
            .skip(first)
            .take(shown)
            .map(|f| {
                let kind = match f.kind {
                    FileChangeKind::Added => "+",
                    FileChangeKind::Removed => "-",
                    FileChangeKind::Grown => ">",
                    FileChangeKind::Shrunk => "<",
                };
                let d = Delta {
                    a: f.a_bytes,
                    b: f.b_bytes,
                    delta: f.delta,
                };
                let files = if f.files > 1 {
                    format!(" ({} files)", f.files)
                } else {
                    String::new()
                };
                delta_line(theme, &format!("{kind} {}{files}", f.path), &d, inner_width)
            })
            .collect(),
        Section::Findings => {
            let f = &c.findings;
            let fixed = f
                .fixed
                .iter()
                .map(|s| (theme.fg(Color::Green), format!("fixed       {} {}", s.id, s.title)));
            let introduced = f
                .introduced
                .iter()
                .map(|s| (theme.fg(Color::Red), format!("introduced  {} {}", s.id, s.title)));
            let remaining = f
                .remaining
                .iter()
                .map(|s| (Style::new(), format!("remaining   {} {}", s.id, s.title)));
            fixed
                .chain(introduced)
                .chain(remaining)
                .skip(first)
                .take(shown)
                .map(|(style, text)| Line::from(Span::styled(truncate(&text, inner_width), style)))
                .collect()
        }
    };
    // Where the page is, and how much the list holds beyond it.
    let rows = view.rows();
    let last_shown = (first + shown).min(rows);
    let title = if rows > shown {
        let below = rows - last_shown;
        let more = if below > 0 {
            format!(", {below} more below")
        } else {
            String::new()
        };
        format!("{}: {}-{last_shown} of {rows}{more}", view.section.title(), first + 1)
    } else {
        format!("{} ({rows} rows)", view.section.title())
    };
    frame.render_widget(Paragraph::new(lines).block(pane(title, true, theme)), area);
}

/// `name … A B change` fitted to `width`.
fn delta_line<'a>(theme: &Theme, name: &str, d: &Delta, width: usize) -> Line<'a> {
    let name_width = width.saturating_sub(36).max(8);
    Line::from(vec![
        Span::raw(format!("{:<name_width$}", truncate(name, name_width))),
        Span::raw(format!("{:>12}{:>12}", size(d.a), size(d.b))),
        Span::styled(format!("{:>12}", signed(d.delta)), delta_style(theme, d.delta)),
    ])
}

/// Runs the compare view on the terminal until the user quits.
pub fn run(mut view: CompareView) -> Result<(), TuiError> {
    use ratatui::crossterm::event;
    let mut terminal = crate::terminal::enter()?;
    let _restore = crate::terminal::Restore;
    view.resize(terminal.size()?.height);
    while !view.quit {
        terminal.draw(|frame| draw(frame, &view))?;
        let event = event::read()?;
        if let Event::Resize(_, height) = event {
            view.resize(height);
        }
        if let Some(action) = action_for_event(&event) {
            view.apply(action);
        }
    }
    Ok(())
}
