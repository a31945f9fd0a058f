//! The application state and how actions and feed events change it. Nothing here draws
//! or touches a terminal; `draw` reads this state, `keys` produces the actions.

use ratatui::crossterm::event::KeyEvent;

use imgprof_layers::extract::{ExtractPlan, ExtractSummary};

use crate::config::ViewConfig;
use crate::filter::PathFilter;
use crate::keys::{Action, KeyContext, Pane};
use crate::layout::{self, Areas};
use crate::model::{Feed, Inspected, PendingLayer, ReadState};
use crate::tree::{LayerView, NodeId, Status, TreeMode};
use crate::tree_pane::{Reveal, TreePane};
use crate::worker::Layout;

/// Rows one mouse wheel notch moves.
const WHEEL_ROWS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Main,
    Packages,
}

pub struct App {
    /// What is being inspected, as the user named it.
    pub title: String,
    /// Colours on (off with NO_COLOR or off a colour terminal).
    pub color: bool,
    /// The terminal's size (columns, rows).
    pub size: (u16, u16),
    pub phase: Phase,
    pub focus: Pane,
    pub screen: Screen,
    pub help: bool,
    /// dive's config file and imgprof's: key bindings and how the tree starts.
    pub config: ViewConfig,
    /// Text for the terminal's clipboard (OSC 52), taken by the event loop.
    pub clipboard: Option<String>,
    /// Work for the thread that holds the image (extracting a path), taken by the event
    /// loop; the answer comes back as a [`Feed`].
    pub request: Option<Request>,
    /// The first key the help overlay lists (it scrolls when the screen is short).
    pub help_scroll: usize,
    pub prompt: Option<Prompt>,
    /// A one-line note on the status bar (what a jump did, a bad regex).
    pub message: Option<String>,
    pub quit: bool,
    /// Why the analysis failed, if it did.
    pub failure: Option<String>,
}

pub enum Phase {
    /// The manifest is known; layers are being read.
    Loading(Vec<(PendingLayer, ReadState)>),
    Ready(Box<Browse>),
}

/// A text prompt on the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub target: PromptTarget,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptTarget {
    TreeFilter,
    PackageFilter,
    /// Where to write the selected path (Ctrl+E).
    ExtractTo,
}

/// What the view asks of the thread that holds the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Write these entries to disk; the thread answers [`Feed::Extracted`].
    Extract { path: String, plan: ExtractPlan },
}

/// A selection in a list and the first row shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    /// Moves by `delta` rows within `len`, keeping the selection in a page of `page` rows.
    pub fn move_by(&mut self, delta: isize, len: usize, page: usize) {
        let last = len.saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.scroll_into_view(page);
    }

    pub fn select(&mut self, index: usize, page: usize) {
        self.selected = index;
        self.scroll_into_view(page);
    }

    pub fn scroll_into_view(&mut self, page: usize) {
        let page = page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
    }

    /// The first row to draw in a page of `page` rows: the offset, moved only as far as
    /// the selection needs (the state's page may predate a resize).
    pub fn first_shown(&self, page: usize) -> usize {
        let page = page.max(1);
        if self.selected < self.offset {
            self.selected
        } else if self.selected >= self.offset + page {
            self.selected + 1 - page
        } else {
            self.offset
        }
    }
}

/// Browsing an analysed image.
pub struct Browse {
    pub data: Inspected,
    /// The selected layer (an index into the report's layers).
    pub layer: usize,
    pub layers_offset: usize,
    pub hide_base: bool,
    pub tree: TreePane,
    pub findings: Cursor,
    /// The finding last opened and which of its paths the tree went to: opening it again
    /// goes to the next one.
    opened: Option<(usize, usize)>,
    pub packages: PackagesPane,
}

pub struct PackagesPane {
    pub filter: String,
    /// Indexes into the report's package list that match the filter, largest first.
    pub matching: Vec<usize>,
    pub cursor: Cursor,
}

impl App {
    /// A view that opens while `layers` are read; [`Feed`] events bring progress and data.
    pub fn loading(title: String, layers: Vec<PendingLayer>, color: bool) -> App {
        App {
            title,
            color,
            size: (80, 24),
            phase: Phase::Loading(layers.into_iter().map(|l| (l, ReadState::Waiting)).collect()),
            focus: Pane::Layers,
            screen: Screen::Main,
            help: false,
            config: ViewConfig::default(),
            clipboard: None,
            request: None,
            help_scroll: 0,
            prompt: None,
            message: None,
            quit: false,
            failure: None,
        }
    }

    /// A view of an image already analysed.
    pub fn ready(title: String, data: Inspected, color: bool) -> App {
        let mut app = App::loading(title, Vec::new(), color);
        app.phase = Phase::Ready(Box::new(Browse::new(data)));
        app
    }

    /// With the settings of the config files: the key bindings at once, the tree's
    /// settings on the tree now and on the one the analysis brings.
    pub fn with_config(mut self, config: ViewConfig) -> App {
        self.config = config;
        if let Phase::Ready(b) = &mut self.phase {
            b.configure(&self.config);
        }
        self
    }

    /// The action a key asks for: the config file's binding, else the default one
    /// (unless the file moved that action to other keys).
    pub fn action_for_key(&self, key: KeyEvent) -> Option<Action> {
        let context = self.key_context();
        let default = crate::keys::action_for_key(key, context);
        if context.typing {
            return default;
        }
        self.config.rebind(key, default).unwrap_or(default)
    }

    /// Where the user is, as the key bindings need it.
    pub fn key_context(&self) -> KeyContext {
        KeyContext {
            focus: self.focus,
            typing: self.prompt.is_some(),
        }
    }

    pub fn browse(&self) -> Option<&Browse> {
        match &self.phase {
            Phase::Ready(b) => Some(b),
            Phase::Loading(_) => None,
        }
    }

    pub fn layer_rows(&self) -> usize {
        match &self.phase {
            Phase::Loading(layers) => layers.len(),
            Phase::Ready(b) => b.visible_layers().len(),
        }
    }

    pub fn areas(&self) -> Areas {
        let (width, height) = self.size;
        layout::main_areas(
            ratatui::layout::Rect::new(0, 0, width, height),
            self.layer_rows(),
            self.tree_percent(),
        )
    }

    /// The files column's share of the width, in percent.
    pub fn tree_percent(&self) -> u16 {
        self.config.pane_width.unwrap_or(layout::TREE_PERCENT)
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        let areas = self.areas();
        if let Phase::Ready(b) = &mut self.phase {
            b.tree.cursor.scroll_into_view(layout::list_rows(areas.tree, true));
            b.findings.scroll_into_view(layout::list_rows(areas.findings, false));
        }
    }

    pub fn feed(&mut self, feed: Feed) {
        match (feed, &mut self.phase) {
            (Feed::Ready(data), _) => {
                let mut browse = Browse::new(*data);
                browse.configure(&self.config);
                self.phase = Phase::Ready(Box::new(browse));
            }
            (Feed::Failed(message), _) => self.failure = Some(message),
            (Feed::Extracted { path, dest, outcome }, _) => self.message = Some(extracted_note(&path, &dest, outcome)),
            (Feed::Started { layer, .. }, Phase::Loading(layers)) => {
                if let Some((_, state)) = layers.get_mut(layer) {
                    *state = ReadState::Reading { read: 0 };
                }
            }
            (Feed::Advanced { layer, bytes }, Phase::Loading(layers)) => {
                if let Some((_, ReadState::Reading { read })) = layers.get_mut(layer) {
                    *read += bytes;
                }
            }
            (Feed::Finished { layer, outcome }, Phase::Loading(layers)) => {
                if let Some((_, state)) = layers.get_mut(layer) {
                    *state = ReadState::Done(outcome);
                }
            }
            _ => {}
        }
    }

    /// Applies `action` and waits until the tree shows what it asked for: for tests and
    /// scripted use. The event loop uses [`App::apply_deferred`] and [`App::receive`].
    pub fn apply(&mut self, action: Action) {
        self.apply_deferred(action);
        self.settle();
        self.wait();
    }

    /// Whether the tree waits on the worker (the loop looks for its answers often).
    pub fn pending(&self) -> bool {
        self.browse().is_some_and(|b| b.tree.pending())
    }

    /// Takes in what the worker finished; true when the screen must be drawn again.
    pub fn receive(&mut self) -> bool {
        // Asked before draining: a worker that stopped has sent all it ever will.
        let stopped = self.browse().is_some_and(|b| b.tree.worker_stopped());
        let mut changed = false;
        while let Some(done) = self.browse().and_then(|b| b.tree.try_done()) {
            self.take(done);
            changed = true;
        }
        if stopped && self.pending() {
            self.give_up_on_the_worker();
            changed = true;
        }
        changed
    }

    fn give_up_on_the_worker(&mut self) {
        if let Phase::Ready(b) = &mut self.phase {
            b.tree.abandon();
        }
        self.message = Some("the tree's worker stopped; showing the last layout".into());
    }

    /// The next thing the worker finishes, waiting for it; `None` when nothing is
    /// pending or the worker is gone.
    pub fn next_done(&self) -> Option<Layout> {
        let b = self.browse().filter(|b| b.tree.pending())?;
        b.tree.wait_done()
    }

    /// Draws the layout the worker finished, if the tree still wants it.
    pub fn take(&mut self, done: Layout) {
        let typing = self.prompt.is_some();
        let Phase::Ready(b) = &mut self.phase else { return };
        if let Some(note) = b.tree.take(&b.data.tree, done)
            && !typing
        {
            self.message = Some(note);
        }
    }

    /// Waits until the tree shows everything asked of it.
    pub fn wait(&mut self) {
        while self.pending() {
            match self.next_done() {
                Some(done) => self.take(done),
                None => self.give_up_on_the_worker(),
            }
        }
    }

    /// Applies `action`, leaving the tree of a newly selected layer to [`App::settle`]:
    /// the event loop applies every key already waiting, then settles once, so holding
    /// ↑ over the layers computes one view, not one per layer passed.
    pub fn apply_deferred(&mut self, action: Action) {
        let moves_layers = self.focus == Pane::Layers
            && self.prompt.is_none()
            && !self.help
            && self.screen == Screen::Main
            && matches!(
                action,
                Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom
            );
        if !moves_layers {
            self.settle();
        }
        self.apply_now(action);
    }

    /// Shows the selected layer's tree if a layer move left it behind.
    pub fn settle(&mut self) {
        if let Phase::Ready(b) = &mut self.phase {
            let (layer, mode) = b.tree.wanted();
            if layer as usize != b.layer {
                b.tree.show(b.layer as u32, mode);
            }
        }
    }

    fn apply_now(&mut self, action: Action) {
        self.message = None;
        if let Some(prompt) = &mut self.prompt {
            match action {
                Action::Type(c) => prompt.text.push(c),
                Action::Erase => {
                    prompt.text.pop();
                }
                Action::Back => {
                    let target = prompt.target;
                    self.prompt = None;
                    self.clear_filter(target);
                    return;
                }
                Action::Submit => {
                    self.submit_prompt();
                    return;
                }
                Action::Quit => self.quit = true,
                _ => {}
            }
            let Some(Prompt { target, text }) = self.prompt.clone() else {
                return;
            };
            let Phase::Ready(b) = &mut self.phase else { return };
            match target {
                PromptTarget::ExtractTo => {}
                PromptTarget::PackageFilter => b.filter_packages(&text),
                // The tree filters as the user types (on the worker: only the latest text
                // is matched); a pattern that does not parse yet keeps the last one.
                PromptTarget::TreeFilter => {
                    if text.is_empty() {
                        b.tree.set_filter(None);
                    } else {
                        match PathFilter::new(&text) {
                            Ok(filter) => b.tree.set_filter(Some(filter)),
                            // Said beside the prompt while the user types.
                            Err(error) => self.message = Some(not_a_regex(&error)),
                        }
                    }
                }
            }
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::Back if self.help => self.help = false,
            Action::Down | Action::PageDown if self.help => self.help_scroll += 1,
            Action::Up | Action::PageUp if self.help => self.help_scroll = self.help_scroll.saturating_sub(1),
            _ if self.help => {}
            Action::Back if self.screen == Screen::Packages => self.screen = Screen::Main,
            Action::Back => self.clear_filter(PromptTarget::TreeFilter),
            Action::TogglePackages => {
                self.screen = match self.screen {
                    Screen::Main => Screen::Packages,
                    Screen::Packages => Screen::Main,
                }
            }
            _ if self.screen == Screen::Packages => self.apply_packages(action),
            Action::NextPane => self.focus = next_pane(self.focus, 1),
            Action::PreviousPane => self.focus = next_pane(self.focus, -1),
            Action::Scroll { column, row, down } => self.scroll(column, row, down),
            Action::Click { column, row } => {
                if let Some(pane) = self.pane_at(column, row) {
                    self.focus = pane;
                }
            }
            _ => self.apply_main(action),
        }
    }

    fn apply_packages(&mut self, action: Action) {
        let (width, height) = self.size;
        let (list, _, _) = layout::packages_areas(ratatui::layout::Rect::new(0, 0, width, height));
        let page = layout::list_rows(list, true);
        let Phase::Ready(b) = &mut self.phase else { return };
        let len = b.packages.matching.len();
        let cursor = &mut b.packages.cursor;
        match action {
            Action::Scroll { down, .. } => cursor.move_by(if down { 3 } else { -3 }, len, page),
            Action::StartFilter => {
                self.prompt = Some(Prompt {
                    target: PromptTarget::PackageFilter,
                    text: b.packages.filter.clone(),
                })
            }
            movement => move_cursor(cursor, movement, len, page),
        }
    }

    fn apply_main(&mut self, action: Action) {
        let areas = self.areas();
        let focus = self.focus;
        let Phase::Ready(b) = &mut self.phase else { return };
        match (focus, action) {
            (_, Action::StartFilter) => {
                self.focus = Pane::Tree;
                self.prompt = Some(Prompt {
                    target: PromptTarget::TreeFilter,
                    text: b
                        .tree
                        .wanted_filter()
                        .map(|f| f.as_str().to_owned())
                        .unwrap_or_default(),
                });
            }
            (_, Action::ShowLayerChanges) => b.set_mode(TreeMode::LayerChanges),
            (Pane::Layers | Pane::Findings, Action::ShowAggregated) => b.set_mode(TreeMode::Aggregated),
            (_, Action::ToggleBaseLayers) => b.toggle_base(),
            (_, Action::ToggleSort) => b.tree.toggle_sort(),
            (_, Action::ToggleAttributes) => b.tree.show_attributes = !b.tree.show_attributes,
            (Pane::Tree, Action::CopyPath) => {
                if let Some(node) = b.selected_node() {
                    let path = format!("/{}", b.data.tree.path(node));
                    self.message = Some(format!(
                        "copied {path} (to the clipboard of terminals that take OSC 52)"
                    ));
                    self.clipboard = Some(path);
                }
            }
            (Pane::Tree, Action::Extract) => {
                if let Some(node) = b.selected_node() {
                    let name = match b.data.tree.name(node) {
                        "" => "image-root",
                        name => name,
                    };
                    self.prompt = Some(Prompt {
                        target: PromptTarget::ExtractTo,
                        text: format!("./{name}"),
                    });
                }
            }
            (Pane::Tree, _) => b.tree_action(action, layout::list_rows(areas.tree, true)),
            (Pane::Layers, _) => b.layers_action(action, layout::list_rows(areas.layers, true)),
            (Pane::Findings, Action::Select) => {
                if let Some(note) = b.open_finding(layout::list_rows(areas.tree, true)) {
                    self.message = Some(note);
                    self.focus = Pane::Tree;
                }
            }
            (Pane::Findings, _) => {
                let len = b.data.report.findings.len();
                move_cursor(&mut b.findings, action, len, layout::list_rows(areas.findings, false));
            }
        }
    }

    fn submit_prompt(&mut self) {
        let Some(prompt) = self.prompt.take() else { return };
        let Phase::Ready(b) = &mut self.phase else { return };
        match prompt.target {
            PromptTarget::ExtractTo if prompt.text.trim().is_empty() => {}
            PromptTarget::ExtractTo => match b.extract_request(prompt.text.trim()) {
                Ok((note, request)) => {
                    self.message = Some(note);
                    self.request = Some(request);
                }
                Err(note) => self.message = Some(note),
            },
            PromptTarget::PackageFilter => b.filter_packages(&prompt.text),
            PromptTarget::TreeFilter if prompt.text.is_empty() => b.tree.set_filter(None),
            PromptTarget::TreeFilter => match PathFilter::new(&prompt.text) {
                Ok(filter) => {
                    b.tree.set_filter(Some(filter));
                    // Matched as it was typed: the note waited for the prompt to close.
                    self.message = b.tree.empty_filter_note();
                }
                Err(error) => {
                    self.message = Some(not_a_regex(&error));
                    self.prompt = Some(prompt);
                }
            },
        }
    }

    fn clear_filter(&mut self, target: PromptTarget) {
        let Phase::Ready(b) = &mut self.phase else { return };
        match target {
            PromptTarget::TreeFilter if b.tree.wanted_filter().is_some() => b.tree.set_filter(None),
            PromptTarget::TreeFilter | PromptTarget::ExtractTo => {}
            PromptTarget::PackageFilter => b.filter_packages(""),
        }
    }

    fn pane_at(&self, column: u16, row: u16) -> Option<Pane> {
        let areas = self.areas();
        [
            (areas.layers, Pane::Layers),
            (areas.tree, Pane::Tree),
            (areas.findings, Pane::Findings),
        ]
        .into_iter()
        .find(|(area, _)| layout::contains(*area, column, row))
        .map(|(_, pane)| pane)
    }

    /// The wheel moves the selection of the pane under the pointer.
    fn scroll(&mut self, column: u16, row: u16, down: bool) {
        let Some(pane) = self.pane_at(column, row) else { return };
        let step = if down { Action::Down } else { Action::Up };
        let focus = std::mem::replace(&mut self.focus, pane);
        for _ in 0..WHEEL_ROWS {
            self.apply_main(step);
        }
        self.focus = focus;
    }
}

fn next_pane(pane: Pane, step: isize) -> Pane {
    const ORDER: [Pane; 3] = [Pane::Layers, Pane::Tree, Pane::Findings];
    let at = ORDER.iter().position(|p| *p == pane).unwrap_or(0) as isize;
    ORDER[(at + step).rem_euclid(ORDER.len() as isize) as usize]
}

fn move_cursor(cursor: &mut Cursor, action: Action, len: usize, page: usize) {
    match action {
        Action::Up => cursor.move_by(-1, len, page),
        Action::Down => cursor.move_by(1, len, page),
        Action::PageUp => cursor.move_by(-(page as isize), len, page),
        Action::PageDown => cursor.move_by(page as isize, len, page),
        Action::Top => cursor.select(0, page),
        Action::Bottom => cursor.select(len.saturating_sub(1), page),
        _ => {}
    }
}

impl Browse {
    /// How the config files say the tree starts.
    fn configure(&mut self, config: &ViewConfig) {
        if let Some(shown) = config.hide {
            self.tree.toggle(|t| *t = shown);
        }
        if config.collapse_dir == Some(true) {
            self.tree.toggle_collapse_all();
        }
        if let Some(show) = config.show_attributes {
            self.tree.show_attributes = show;
        }
        if config.aggregated == Some(false) {
            self.set_mode(TreeMode::LayerChanges);
        }
    }

    pub fn new(mut data: Inspected) -> Browse {
        let layer = data.report.layers.len().saturating_sub(1);
        let tree = TreePane::new(&data.tree, layer as u32, std::mem::take(&mut data.views));
        Browse {
            layer,
            layers_offset: 0,
            hide_base: false,
            tree,
            findings: Cursor::default(),
            opened: None,
            packages: PackagesPane {
                filter: String::new(),
                matching: (0..data.report.packages.list.len()).collect(),
                cursor: Cursor::default(),
            },
            data,
        }
    }

    /// The layers the pane lists: all, or those above the base image.
    pub fn visible_layers(&self) -> std::ops::Range<usize> {
        let count = self.data.report.layers.len();
        let base = self.data.base_layers();
        if self.hide_base && base < count {
            base..count
        } else {
            0..count
        }
    }

    fn toggle_base(&mut self) {
        self.hide_base = !self.hide_base;
        let visible = self.visible_layers();
        if !visible.contains(&self.layer) {
            self.select_layer(visible.start);
        }
        // Shown again, the list starts from layer 0; the selection scrolls into view.
        self.layers_offset = if self.hide_base {
            self.layers_offset.max(visible.start)
        } else {
            0
        };
    }

    fn layers_action(&mut self, action: Action, page: usize) {
        let visible = self.visible_layers();
        let mut cursor = Cursor {
            selected: self.layer.saturating_sub(visible.start),
            offset: self.layers_offset.saturating_sub(visible.start),
        };
        move_cursor(&mut cursor, action, visible.len(), page);
        self.layers_offset = visible.start + cursor.offset;
        let layer = visible.start + cursor.selected;
        if layer != self.layer {
            self.select_layer(layer);
        }
    }

    /// Selects a layer; its tree is shown by [`App::settle`].
    pub fn select_layer(&mut self, layer: usize) {
        self.layer = layer;
    }

    fn set_mode(&mut self, mode: TreeMode) {
        self.tree.show(self.layer as u32, mode);
    }

    fn tree_action(&mut self, action: Action, page: usize) {
        let tree = &self.data.tree;
        let pane = &mut self.tree;
        let len = pane.rows.rows.len();
        match action {
            Action::ToggleCollapse | Action::Select => pane.toggle_collapse(tree),
            Action::ToggleCollapseAll => pane.toggle_collapse_all(),
            Action::Left => pane.collapse_or_parent(tree, page),
            Action::Right => pane.expand(tree),
            Action::ToggleAdded => pane.toggle(|t| t.added = !t.added),
            Action::ToggleRemoved => pane.toggle(|t| t.removed = !t.removed),
            Action::ToggleModified => pane.toggle(|t| t.modified = !t.modified),
            Action::ToggleUnmodified => pane.toggle(|t| t.unmodified = !t.unmodified),
            _ => move_cursor(&mut pane.cursor, action, len, page),
        }
        pane.cursor.scroll_into_view(page);
    }

    /// Jumps the layer pane and the tree to the selected finding; returns a note saying
    /// where it went.
    fn open_finding(&mut self, page: usize) -> Option<String> {
        let selected = self.findings.selected;
        let finding = self.data.report.findings.get(selected)?;
        let id = finding.id;
        let layer = finding.layer;
        let count = finding.paths.len();
        let which = match self.opened {
            Some((opened, path)) if opened == selected && count > 0 => (path + 1) % count,
            _ => 0,
        };
        self.opened = Some((selected, which));
        let path = finding.paths.get(which).map(|p| p.path.trim_matches('/').to_owned());
        if let Some(layer) = layer.filter(|l| *l < self.data.report.layers.len()) {
            if !self.visible_layers().contains(&layer) {
                self.hide_base = false;
            }
            self.layer = layer;
            self.layers_offset = self.layers_offset.min(layer);
        }
        let Some(path) = path else {
            self.tree.show(self.layer as u32, TreeMode::Aggregated);
            return Some(format!("{id}: layer {}", self.layer));
        };
        let missing = format!("{id}: /{path} is not in layer {}'s tree", self.layer);
        let Some(node) = self.data.tree.find(&path) else {
            self.tree.show(self.layer as u32, TreeMode::Aggregated);
            return Some(missing);
        };
        let reveal = Reveal {
            node,
            found: format!(
                "{id}: layer {}, /{path}{}",
                self.layer,
                if count > 1 {
                    format!(" ({} of {count} paths; Enter again: the next)", which + 1)
                } else {
                    String::new()
                }
            ),
            missing,
            page,
        };
        let note = reveal.found.clone();
        self.tree.reveal(&self.data.tree, self.layer as u32, reveal);
        Some(note)
    }

    fn filter_packages(&mut self, text: &str) {
        let needle = text.to_lowercase();
        self.packages.filter = text.to_owned();
        self.packages.matching = self
            .data
            .report
            .packages
            .list
            .iter()
            .enumerate()
            .filter(|(_, p)| needle.is_empty() || p.name.to_lowercase().contains(&needle))
            .map(|(i, _)| i)
            .collect();
        self.packages.cursor = Cursor::default();
    }

    /// The tree node under the tree pane's selection.
    pub fn selected_node(&self) -> Option<NodeId> {
        self.tree.rows.rows.get(self.tree.cursor.selected).map(|r| r.node)
    }

    /// Extracting the selected path to `dest` as the drawn layer shows it (a path this
    /// layer removed: as the layer below held it), with the note that says so.
    fn extract_request(&self, dest: &str) -> Result<(String, Request), String> {
        let tree = &self.data.tree;
        let node = self.selected_node().ok_or("no path selected")?;
        let path = format!("/{}", tree.path(node));
        let view = &self.tree.view;
        let below;
        let (view, layer) = match view.status[node as usize] {
            Status::Removed if view.layer > 0 => {
                below = LayerView::compute(tree, view.layer - 1, TreeMode::Aggregated);
                (&below, view.layer - 1)
            }
            _ => (&**view, view.layer),
        };
        let items = view.extract_items(tree, node);
        if items.is_empty() {
            return Err(format!("{path}: nothing to extract as of layer {layer}"));
        }
        let note = format!("extracting {path} as of layer {layer} to {dest} ...");
        let plan = ExtractPlan {
            dest: dest.into(),
            items,
        };
        Ok((note, Request::Extract { path, plan }))
    }
}

/// What the status bar says when an extraction ends.
fn extracted_note(path: &str, dest: &std::path::Path, outcome: Result<ExtractSummary, String>) -> String {
    match outcome {
        Err(error) => format!("{path} not extracted: {error}"),
        Ok(summary) => {
            let counted = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
            let mut parts = vec![counted(summary.files, "file", "files")];
            if summary.dirs > 0 {
                parts.push(counted(summary.dirs, "directory", "directories"));
            }
            if summary.symlinks > 0 {
                parts.push(counted(summary.symlinks, "symlink", "symlinks"));
            }
            let mut note = format!(
                "extracted {path} to {} ({}, {}; modes kept, owners not)",
                dest.display(),
                parts.join(", "),
                crate::draw::size(summary.bytes)
            );
            if summary.skipped > 0 {
                note.push_str(&format!(
                    "; {} devices, FIFOs or dangling hard links skipped",
                    summary.skipped
                ));
            }
            if summary.special_bits_dropped > 0 {
                note.push_str(&format!(
                    "; setuid/setgid/sticky dropped from {}",
                    summary.special_bits_dropped
                ));
            }
            note
        }
    }
}

/// A bad pattern in one line for the status bar (regex's own message draws a caret
/// diagram over several lines): `not a regex (the filter in use stays): unclosed group`.
fn not_a_regex(error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid")
        .trim()
        .trim_start_matches("error: ");
    format!("not a regex (the filter in use stays): {reason}")
}
