//! The file tree pane: what the user asked for (layer, mode, toggles, order, filter,
//! folds), the layout drawn, and the [`LayoutWorker`] between them.
//!
//! Keys that move the selection or fold one directory work on the drawn rows at once.
//! Keys that change what shows (a layer, a mode, a toggle, the order, the filter, folding
//! everything) ask the worker for a new layout and return; the pane keeps drawing the
//! last one, saying what it waits for, until the answer comes. So no key waits on a pass
//! over a million nodes.

use std::sync::Arc;

use crate::filter::PathFilter;
use crate::state::Cursor;
use crate::tree::{FileTree, LayerView, NodeId, ROOT, Rows, SortOrder, StatusToggles, TreeMode};
use crate::worker::{FilterSource, Layout, LayoutWorker, Recent, ViewSource, Wanted, lay_out};

/// Views of other layers kept for going back (each is ~15 bytes per tree node), unless
/// the analysis prefetched more.
const CACHED_VIEWS: usize = 4;

pub struct TreePane {
    pub sort: SortOrder,
    pub toggles: StatusToggles,
    /// Permissions and owner shown beside each row (Ctrl+B).
    pub show_attributes: bool,
    wanted_view: (u32, TreeMode),
    wanted_filter: Option<Arc<PathFilter>>,
    collapsed: Vec<bool>,
    all_collapsed: bool,
    pub cursor: Cursor,

    /// The layout drawn: the view and filter it shows, which nodes pass, the rows.
    pub view: Arc<LayerView>,
    pub filter: Option<Arc<PathFilter>>,
    pub shown: Vec<bool>,
    pub rows: Rows,

    /// Views of recently shown layers and modes, least recent first.
    cache: Vec<Arc<LayerView>>,
    cache_capacity: usize,
    /// The last filter matched, with its matches per node.
    matches: Option<(Arc<PathFilter>, Arc<Vec<bool>>)>,

    /// The last layout asked for, and the one drawn.
    asked: u64,
    drawn: u64,
    /// A finding's path to select once the layout that shows it is drawn.
    reveal: Option<Reveal>,
    worker: LayoutWorker,
}

/// A path to select, and what to say when it is (or is not) there.
#[derive(Debug)]
pub struct Reveal {
    pub node: NodeId,
    pub found: String,
    pub missing: String,
    /// The pane's rows when it was asked.
    pub page: usize,
}

impl TreePane {
    /// The pane on `layer`'s aggregated view, laid out at once; `prefetched` views
    /// (computed by the analysis thread) are kept as long as the pane lives.
    pub fn new(tree: &Arc<FileTree>, layer: u32, prefetched: Vec<LayerView>) -> TreePane {
        let mode = TreeMode::Aggregated;
        let cache: Vec<Arc<LayerView>> = prefetched.into_iter().map(Arc::new).collect();
        let cache_capacity = CACHED_VIEWS.max(cache.len()) + 1;
        let view = match cache.iter().find(|v| (v.layer, v.mode) == (layer, mode)) {
            Some(view) => ViewSource::Ready(view.clone()),
            None => ViewSource::Compute(layer, mode),
        };
        let collapsed = vec![false; tree.len()];
        let (toggles, sort) = (StatusToggles::default(), SortOrder::Size);
        let layout = lay_out(
            tree,
            Wanted {
                generation: 0,
                view,
                filter: None,
                toggles,
                sort,
                collapsed: collapsed.clone(),
            },
            &mut Recent::default(),
        );
        let mut pane = TreePane {
            sort,
            toggles,
            wanted_view: (layer, mode),
            wanted_filter: None,
            collapsed,
            all_collapsed: false,
            show_attributes: false,
            cursor: Cursor::default(),
            view: layout.view.clone(),
            filter: None,
            shown: layout.shown,
            rows: layout.rows,
            cache,
            cache_capacity,
            matches: None,
            asked: 0,
            drawn: 0,
            reveal: None,
            worker: LayoutWorker::start(tree.clone()),
        };
        pane.keep(layout.view);
        pane
    }

    /// Whether a layout is asked for and not drawn yet.
    pub fn pending(&self) -> bool {
        self.asked != self.drawn
    }

    /// The layer and mode the pane shows or waits for.
    pub fn wanted(&self) -> (u32, TreeMode) {
        self.wanted_view
    }

    /// The filter the pane shows or waits for.
    pub fn wanted_filter(&self) -> Option<&Arc<PathFilter>> {
        self.wanted_filter.as_ref()
    }

    /// The layer and mode waited for, when the drawn view is another.
    pub fn waiting_view(&self) -> Option<(u32, TreeMode)> {
        (self.pending() && self.wanted_view != (self.view.layer, self.view.mode)).then_some(self.wanted_view)
    }

    /// The filter waited for, when the drawn one is another.
    pub fn waiting_filter(&self) -> Option<&PathFilter> {
        let drawn = self.filter.as_ref().map(|f| f.as_str());
        self.wanted_filter
            .as_deref()
            .filter(|f| self.pending() && Some(f.as_str()) != drawn)
    }

    pub fn is_collapsed(&self, node: NodeId) -> bool {
        self.collapsed.get(node as usize).copied().unwrap_or(false)
    }

    /// Shows `layer` in `mode`.
    pub fn show(&mut self, layer: u32, mode: TreeMode) {
        if self.wanted_view != (layer, mode) {
            self.wanted_view = (layer, mode);
            self.reveal = None;
            self.ask();
        }
    }

    /// Filters the rows by `filter` (none: every path).
    pub fn set_filter(&mut self, filter: Option<PathFilter>) {
        if filter.as_ref().map(PathFilter::as_str) != self.wanted_filter.as_deref().map(PathFilter::as_str) {
            self.wanted_filter = filter.map(Arc::new);
            self.ask();
        }
    }

    pub fn toggle_sort(&mut self) {
        self.sort = match self.sort {
            SortOrder::Size => SortOrder::Name,
            SortOrder::Name => SortOrder::Size,
        };
        self.ask();
    }

    pub fn toggle(&mut self, change: impl FnOnce(&mut StatusToggles)) {
        change(&mut self.toggles);
        self.ask();
    }

    pub fn toggle_collapse_all(&mut self) {
        self.all_collapsed = !self.all_collapsed;
        self.collapsed.fill(self.all_collapsed);
        self.ask();
    }

    /// Folds or unfolds the directory under the selection: in the drawn rows at once,
    /// unless a layout is coming, which then has to include it.
    pub fn toggle_collapse(&mut self, tree: &FileTree) {
        let Some((index, node)) = self.selected_dir() else {
            return;
        };
        if self.collapsed[node as usize] {
            self.expand(tree);
            return;
        }
        self.collapsed[node as usize] = true;
        if self.pending() {
            self.ask();
        } else {
            self.rows.collapse(index);
        }
    }

    pub fn expand(&mut self, tree: &FileTree) {
        let Some((index, node)) = self.selected_dir() else {
            return;
        };
        if !self.collapsed[node as usize] {
            return;
        }
        self.collapsed[node as usize] = false;
        if self.pending() {
            self.ask();
        } else {
            self.rows
                .expand(tree, &self.view, &self.shown, &self.collapsed, self.sort, index);
        }
    }

    /// h / Left: fold an open directory, else go to the parent.
    pub fn collapse_or_parent(&mut self, tree: &FileTree, page: usize) {
        if let Some((_, node)) = self.selected_dir()
            && !self.collapsed[node as usize]
        {
            self.toggle_collapse(tree);
            return;
        }
        let Some(row) = self.rows.rows.get(self.cursor.selected) else {
            return;
        };
        if let Some(parent) = tree.parent(row.node).filter(|p| *p != ROOT)
            && let Some(index) = self.rows.rows[..self.cursor.selected]
                .iter()
                .rposition(|r| r.node == parent)
        {
            self.cursor.select(index, page);
        }
    }

    /// Goes to a finding's path in `layer`'s aggregated view: unfolds its directories,
    /// and selects it once that layout is drawn.
    pub fn reveal(&mut self, tree: &FileTree, layer: u32, reveal: Reveal) {
        let mut at = tree.parent(reveal.node);
        while let Some(dir) = at {
            self.collapsed[dir as usize] = false;
            at = tree.parent(dir);
        }
        self.wanted_view = (layer, TreeMode::Aggregated);
        self.reveal = Some(reveal);
        self.ask();
    }

    /// The next layout the worker finished, without waiting.
    pub fn try_done(&self) -> Option<Layout> {
        self.worker.try_done()
    }

    /// The next layout the worker finishes, waiting for it; `None` if the worker is gone.
    pub fn wait_done(&self) -> Option<Layout> {
        self.worker.wait_done()
    }

    /// Whether the worker stopped: what it has not sent by now will not come.
    pub fn worker_stopped(&self) -> bool {
        self.worker.stopped()
    }

    /// Gives up on what was asked (the worker is gone): the drawn layout stays.
    pub fn abandon(&mut self) {
        self.asked = self.drawn;
        self.reveal = None;
    }

    /// Draws `layout` if it is the last one asked for (its view and matches are kept
    /// either way); returns a note for the status bar.
    pub fn take(&mut self, tree: &FileTree, layout: Layout) -> Option<String> {
        self.keep(layout.view.clone());
        if let Some(matched) = &layout.filter {
            self.matches = Some(matched.clone());
        }
        if layout.generation != self.asked {
            return None;
        }
        let selected = match &self.reveal {
            Some(reveal) => Some(reveal.node),
            None => self.rows.rows.get(self.cursor.selected).map(|r| r.node),
        };
        self.drawn = layout.generation;
        self.view = layout.view;
        self.filter = layout.filter.map(|(filter, _)| filter);
        self.shown = layout.shown;
        self.rows = layout.rows;
        self.select_closest(tree, selected);
        match self.reveal.take() {
            Some(reveal) => self.finish_reveal(reveal),
            None => self.empty_filter_note(),
        }
    }

    /// The note for a drawn filter that shows nothing.
    pub fn empty_filter_note(&self) -> Option<String> {
        match &self.filter {
            Some(filter) if !self.pending() && self.rows.rows.is_empty() => {
                Some(format!("no path matches /{}/", filter.as_str()))
            }
            _ => None,
        }
    }

    fn finish_reveal(&mut self, reveal: Reveal) -> Option<String> {
        let node = reveal.node as usize;
        if !self.view.included[node] {
            return Some(reveal.missing);
        }
        if !self.shown[node] {
            // The toggles or the filter hide it: drop them and lay out again.
            self.toggles = StatusToggles::default();
            self.wanted_filter = None;
            self.reveal = Some(reveal);
            self.ask();
            return None;
        }
        match self.rows.position(reveal.node) {
            Some(index) => {
                self.cursor.select(index, reveal.page);
                Some(reveal.found)
            }
            None => Some(reveal.missing),
        }
    }

    /// Selects `node`'s row, or its closest shown ancestor's, or the first row.
    fn select_closest(&mut self, tree: &FileTree, node: Option<NodeId>) {
        let mut at = node;
        while let Some(node) = at {
            if self.shown[node as usize]
                && let Some(index) = self.rows.position(node)
            {
                self.cursor.selected = index;
                return;
            }
            at = tree.parent(node).filter(|p| *p != ROOT);
        }
        self.cursor = Cursor::default();
    }

    /// Asks the worker for the layout of what is wanted now, with whatever of it is at
    /// hand (a drawn or kept view, a filter's matches).
    fn ask(&mut self) {
        self.asked += 1;
        let view = match self.cache.iter().find(|v| (v.layer, v.mode) == self.wanted_view) {
            Some(view) => ViewSource::Ready(view.clone()),
            None => ViewSource::Compute(self.wanted_view.0, self.wanted_view.1),
        };
        let filter = self.wanted_filter.as_ref().map(|filter| FilterSource {
            filter: filter.clone(),
            matches: self
                .matches
                .as_ref()
                .filter(|(f, _)| f.as_str() == filter.as_str())
                .map(|(_, m)| m.clone()),
        });
        self.worker.want(Wanted {
            generation: self.asked,
            view,
            filter,
            toggles: self.toggles,
            sort: self.sort,
            collapsed: self.collapsed.clone(),
        });
    }

    /// Keeps a view for going back, the least recent dropped beyond the capacity.
    fn keep(&mut self, view: Arc<LayerView>) {
        self.cache.retain(|v| (v.layer, v.mode) != (view.layer, view.mode));
        self.cache.push(view);
        if self.cache.len() > self.cache_capacity {
            self.cache.remove(0);
        }
    }

    fn selected_dir(&self) -> Option<(usize, NodeId)> {
        let index = self.cursor.selected;
        let row = self.rows.rows.get(index)?;
        self.view.is_dir[row.node as usize].then_some((index, row.node))
    }
}

#[cfg(test)]
mod tests {
    use imgprof_layers::{Entry, EntryKind, LayerIndex};

    use super::*;

    /// A worker that dies (a bug would have to panic it) is noticed: waiting returns
    /// instead of hanging, and the pane can give up on what it asked.
    #[test]
    fn a_stopped_worker_ends_the_wait() {
        let entries = vec![Entry::plain("a/b", EntryKind::File, 1)];
        let tree = Arc::new(FileTree::build(&[LayerIndex::of_entries(entries)], &[]));
        let mut pane = TreePane::new(&tree, 0, Vec::new());
        pane.asked += 1;
        // Folds for no node: laying this out indexes past them and panics the thread.
        pane.worker.want(Wanted {
            generation: pane.asked,
            view: ViewSource::Compute(0, TreeMode::Aggregated),
            filter: None,
            toggles: StatusToggles::default(),
            sort: SortOrder::Name,
            collapsed: Vec::new(),
        });
        assert!(pane.wait_done().is_none());
        assert!(pane.worker_stopped());
        pane.abandon();
        assert!(!pane.pending());
        assert_eq!(pane.rows.rows.len(), 2, "the drawn layout stays");
    }
}
