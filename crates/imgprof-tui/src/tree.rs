//! The file tree model, built once per image and cheap to look at from any layer.
//!
//! [`FileTree`] holds every path any layer names as one node (parents before children,
//! so a node's id is larger than its parent's), children sorted by name, and each node's
//! history: the layers that wrote or deleted it. [`LayerView`] is the tree as of one
//! layer in one [`TreeMode`]: each node's [`Status`] and size, directories aggregated,
//! computed in two linear passes over the node arrays (no recursion, no per-path
//! allocation) and kept while that layer is selected. [`Rows`] is the flattened list of
//! rows the tree pane scrolls through; collapsing or expanding a directory splices it
//! instead of rebuilding it.

use std::collections::HashMap;

use imgprof_layers::extract::ExtractItem;
use imgprof_layers::{EntryKind, Inode, LayerIndex};
use imgprof_waste::FileClass;

pub type NodeId = u32;
pub const ROOT: NodeId = 0;

/// What a layer did at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    File,
    Dir,
    /// Symlinks, hard links, devices, FIFOs: no content bytes of their own.
    Other,
    /// `.wh.NAME`: deletes the path and everything below it in lower layers.
    Whiteout,
    /// `.wh..wh..opq`: hides the directory's lower contents.
    Opaque,
}

impl EventKind {
    fn writes(self) -> bool {
        matches!(self, EventKind::File | EventKind::Dir | EventKind::Other)
    }
}

/// One layer's entry at a node.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub layer: u32,
    /// The entry's index in its layer.
    pub entry: u32,
    pub kind: EventKind,
    pub size: u64,
    /// Index into [`FileTree::categories`], or [`NO_CATEGORY`].
    pub category: u8,
    /// Permission bits and owner as the tar header gives them (dive's Ctrl+B).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

pub const NO_CATEGORY: u8 = u8::MAX;

/// Every path of every layer, with its history.
pub struct FileTree {
    names: Names,
    parent: Vec<NodeId>,
    /// Children of node `n` are `children[child_range[n]]`, sorted by name.
    children: Vec<NodeId>,
    child_range: Vec<(u32, u32)>,
    /// Events of node `n` are `events[event_range[n]]`, bottom layer first, tar order
    /// within a layer.
    events: Vec<Event>,
    event_range: Vec<(u32, u32)>,
    layer_count: u32,
    /// Category ids (the waste crate's rule ids) that `Event::category` indexes.
    pub categories: Vec<&'static str>,
    /// The owning package (index into the report's package list) of a shipped copy.
    packages: HashMap<Inode, u32>,
    /// Symlink targets as written, hard links' targets as paths: shown `name → target`.
    links: HashMap<Inode, Box<str>>,
    /// A hard link's file: the entry of the same layer it names (the last one of that
    /// path before it, as a runtime applies the tar).
    hard_link_sources: HashMap<Inode, u32>,
}

/// Which part of the tree a layer shows, as dive's two modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TreeMode {
    /// What this layer changed: added, modified and removed paths only.
    LayerChanges,
    /// The filesystem as of this layer, everything below it included.
    Aggregated,
}

/// A path's state in a view, compared with the layer below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Absent,
    Added,
    Modified,
    Removed,
    Unmodified,
}

impl FileTree {
    /// The tree of `layers`, with categories and packages from the waste analysis.
    pub fn build(layers: &[LayerIndex], classes: &[FileClass]) -> FileTree {
        let mut builder = Builder::default();
        builder.node_of("");
        let mut categories: Vec<&'static str> = Vec::new();
        let mut category_of: HashMap<Inode, u8> = HashMap::with_capacity(classes.len());
        let mut packages = HashMap::new();
        for class in classes {
            let index = match categories.iter().position(|c| *c == class.category) {
                Some(i) => i,
                None => {
                    categories.push(class.category);
                    categories.len() - 1
                }
            };
            category_of.insert(class.inode, u8::try_from(index).unwrap_or(NO_CATEGORY));
            if let Some(package) = class.package.and_then(|p| u32::try_from(p).ok()) {
                packages.insert(class.inode, package);
            }
        }
        let mut raw_events: Vec<(NodeId, Event)> = Vec::new();
        let mut links = HashMap::new();
        let mut hard_link_sources = HashMap::new();
        for (l, layer) in layers.iter().enumerate() {
            hard_link_sources.extend(hard_links_of(layer, l as u32));
            for (e, entry) in layer.entries.iter().enumerate() {
                let kind = match entry.kind {
                    EntryKind::File => EventKind::File,
                    EntryKind::Dir => EventKind::Dir,
                    EntryKind::Whiteout => EventKind::Whiteout,
                    EntryKind::OpaqueWhiteout => EventKind::Opaque,
                    _ => EventKind::Other,
                };
                let inode = Inode {
                    layer: l as u32,
                    entry: e as u32,
                };
                if let Some(target) = entry.link.clone() {
                    links.insert(inode, target);
                }
                let node = builder.node_of(&entry.path);
                raw_events.push((
                    node,
                    Event {
                        layer: l as u32,
                        entry: e as u32,
                        kind,
                        size: entry.content_size(),
                        category: category_of.get(&inode).copied().unwrap_or(NO_CATEGORY),
                        mode: entry.mode,
                        uid: entry.uid,
                        gid: entry.gid,
                    },
                ));
            }
        }
        let node_count = builder.parent.len();
        // Stable: keeps layer order and tar order within a layer.
        raw_events.sort_by_key(|(node, _)| *node);
        let mut event_range = vec![(0u32, 0u32); node_count];
        let mut events = Vec::with_capacity(raw_events.len());
        for (node, event) in raw_events {
            let range = &mut event_range[node as usize];
            if range.1 == 0 {
                range.0 = events.len() as u32;
            }
            range.1 += 1;
            events.push(event);
        }

        let mut child_count = vec![0u32; node_count];
        for &p in &builder.parent[1..] {
            child_count[p as usize] += 1;
        }
        let mut child_range = Vec::with_capacity(node_count);
        let mut start = 0u32;
        for &count in &child_count {
            child_range.push((start, 0u32));
            start += count;
        }
        let mut children = vec![0; node_count.saturating_sub(1)];
        for n in 1..node_count {
            let p = builder.parent[n] as usize;
            let (first, len) = &mut child_range[p];
            children[(*first + *len) as usize] = n as NodeId;
            *len += 1;
        }
        for &(first, len) in &child_range {
            children[first as usize..(first + len) as usize]
                .sort_unstable_by(|&a, &b| builder.names.get(a).cmp(builder.names.get(b)));
        }
        FileTree {
            names: builder.names,
            parent: builder.parent,
            children,
            child_range,
            events,
            event_range,
            layer_count: layers.len() as u32,
            categories,
            packages,
            links,
            hard_link_sources,
        }
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.len() <= 1
    }

    pub fn layer_count(&self) -> u32 {
        self.layer_count
    }

    pub fn name(&self, node: NodeId) -> &str {
        self.names.get(node)
    }

    pub fn parent(&self, node: NodeId) -> Option<NodeId> {
        (node != ROOT).then(|| self.parent[node as usize])
    }

    /// The parent of any node, the root's being itself: for passes over the nodes in
    /// order, which need no `Option`.
    pub(crate) fn parent_of(&self, node: NodeId) -> NodeId {
        self.parent[node as usize]
    }

    /// Children sorted by name.
    pub fn children(&self, node: NodeId) -> &[NodeId] {
        let (first, len) = self.child_range[node as usize];
        &self.children[first as usize..(first + len) as usize]
    }

    /// The layers' entries at this path, bottom layer first.
    pub fn events(&self, node: NodeId) -> &[Event] {
        let (first, len) = self.event_range[node as usize];
        &self.events[first as usize..(first + len) as usize]
    }

    /// The full path of a node, without a leading `/`.
    pub fn path(&self, node: NodeId) -> String {
        let mut parts = Vec::new();
        let mut at = node;
        while at != ROOT {
            parts.push(self.name(at));
            at = self.parent[at as usize];
        }
        parts.reverse();
        parts.join("/")
    }

    /// The node at `path` (normalised, no leading `/`), by binary search per level.
    pub fn find(&self, path: &str) -> Option<NodeId> {
        let mut at = ROOT;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let children = self.children(at);
            let i = children.binary_search_by(|&c| self.name(c).cmp(part)).ok()?;
            at = children[i];
        }
        Some(at)
    }

    /// How many directories lie between the root and `node`; 0 for the root.
    pub fn depth(&self, node: NodeId) -> usize {
        let mut depth = 0;
        let mut at = node;
        while at != ROOT {
            depth += 1;
            at = self.parent[at as usize];
        }
        depth
    }

    /// The owning package of a layer's entry, as an index into the report's packages.
    pub fn package(&self, layer: u32, entry: u32) -> Option<usize> {
        self.packages.get(&Inode { layer, entry }).map(|&p| p as usize)
    }

    /// Where a link event points, if it is a symlink or a hard link.
    pub fn link(&self, event: &Event) -> Option<&str> {
        self.links
            .get(&Inode {
                layer: event.layer,
                entry: event.entry,
            })
            .map(|t| &**t)
    }

    /// The entry a hard link event shares its file with, in the same layer.
    pub fn hard_link_source(&self, event: &Event) -> Option<u32> {
        self.hard_link_sources
            .get(&Inode {
                layer: event.layer,
                entry: event.entry,
            })
            .copied()
    }

    /// The category id of an event, if the analysis classified it.
    pub fn category(&self, event: &Event) -> Option<&'static str> {
        self.categories.get(event.category as usize).copied()
    }
}

/// Each hard link of `layer` and the regular file it names there. Only layers that hold
/// hard links pay for the map of their paths.
fn hard_links_of(layer: &LayerIndex, l: u32) -> Vec<(Inode, u32)> {
    if !layer.entries.iter().any(|e| e.kind == EntryKind::HardLink) {
        return Vec::new();
    }
    let mut files: HashMap<&str, u32> = HashMap::new();
    let mut sources = Vec::new();
    for (e, entry) in layer.entries.iter().enumerate() {
        match entry.kind {
            EntryKind::File => {
                files.insert(&entry.path, e as u32);
            }
            EntryKind::HardLink => {
                if let Some(&source) = entry.link.as_deref().and_then(|t| files.get(t)) {
                    sources.push((
                        Inode {
                            layer: l,
                            entry: e as u32,
                        },
                        source,
                    ));
                }
            }
            _ => {
                files.remove(&*entry.path);
            }
        }
    }
    sources
}

/// Every node's name in one buffer, in node order: looking at the names of a million
/// nodes one after another reads memory in order instead of chasing a pointer each.
struct Names {
    bytes: String,
    /// Node `n`'s name is `bytes[start[n]..start[n + 1]]`.
    start: Vec<usize>,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            bytes: String::new(),
            start: vec![0],
        }
    }
}

impl Names {
    fn push(&mut self, name: &str) {
        self.bytes.push_str(name);
        self.start.push(self.bytes.len());
    }

    fn get(&self, node: NodeId) -> &str {
        let n = node as usize;
        &self.bytes[self.start[n]..self.start[n + 1]]
    }
}

#[derive(Default)]
struct Builder {
    names: Names,
    parent: Vec<NodeId>,
    by_path: HashMap<Box<str>, NodeId>,
}

impl Builder {
    /// The node of `path`, created with its missing ancestors.
    fn node_of(&mut self, path: &str) -> NodeId {
        if let Some(&node) = self.by_path.get(path) {
            return node;
        }
        let (parent, name) = match path.rsplit_once('/') {
            Some((dir, name)) => (self.node_of(dir), name),
            None if path.is_empty() => (ROOT, ""),
            None => (ROOT, path),
        };
        let node = self.parent.len() as NodeId;
        self.names.push(name);
        self.parent.push(parent);
        self.by_path.insert(path.into(), node);
        node
    }
}

/// The tree as one layer shows it in one mode.
pub struct LayerView {
    pub layer: u32,
    pub mode: TreeMode,
    pub status: Vec<Status>,
    /// File bytes; for a directory, the sum of what it shows below it.
    pub size: Vec<u64>,
    /// Whether the mode shows the node at all (before the user's toggles and filter).
    pub included: Vec<bool>,
    /// Whether the node is a directory in this view (explicit, or implied by children).
    pub is_dir: Vec<bool>,
    /// Each node's children, largest first, laid out like `FileTree::children`.
    by_size: Vec<NodeId>,
}

/// Per-node visibility as of one layer, computed top-down.
struct Visibility {
    visible: Vec<bool>,
    /// Index into the node's events of the write shown, if explicit.
    shown: Vec<u32>,
    /// Descendants written below this layer are hidden (whiteouts, opaque markers,
    /// a non-directory written over a directory).
    cutoff: Vec<u32>,
}

const NONE: u32 = u32::MAX;

/// What the events of one node up to a layer amount to.
#[derive(Clone, Copy, Default)]
struct Scan {
    cutoff: u32,
    write: Option<(u32, u32)>,
    deleted_at: Option<u32>,
}

impl Scan {
    fn apply(&mut self, i: usize, e: &Event) {
        match e.kind {
            EventKind::Whiteout => {
                self.deleted_at = Some(e.layer);
                self.cutoff = self.cutoff.max(e.layer);
            }
            EventKind::Opaque => self.cutoff = self.cutoff.max(e.layer),
            EventKind::File | EventKind::Other => {
                self.write = Some((i as u32, e.layer));
                self.cutoff = self.cutoff.max(e.layer);
            }
            EventKind::Dir => self.write = Some((i as u32, e.layer)),
        }
    }

    /// Records the node in `v`: explicitly visible when its last write is not hidden by
    /// an ancestor (`inherited`) or by its own later whiteout.
    fn record(self, v: &mut Visibility, node: usize, inherited: u32) {
        if let Some((i, layer)) = self.write
            && layer >= inherited
            && self.deleted_at.is_none_or(|d| d <= layer)
        {
            v.visible[node] = true;
            v.shown[node] = i;
        }
        v.cutoff[node] = self.cutoff;
    }
}

impl Visibility {
    fn new(n: usize) -> Visibility {
        Visibility {
            visible: vec![false; n],
            shown: vec![NONE; n],
            cutoff: vec![0; n],
        }
    }

    /// Visibility as of `layer` and as of the layer below it (nothing, below layer 0), in
    /// one top-down pass over the nodes (parents have smaller ids than their children).
    fn as_of_and_below(tree: &FileTree, layer: u32) -> (Visibility, Visibility) {
        let n = tree.len();
        let (mut current, mut below) = (Visibility::new(n), Visibility::new(n));
        for node in 0..n {
            let parent = tree.parent[node] as usize;
            let (inherited_now, inherited_below) = if node == 0 {
                (0, 0)
            } else {
                (current.cutoff[parent], below.cutoff[parent])
            };
            let mut now = Scan {
                cutoff: inherited_now,
                ..Scan::default()
            };
            let mut before = Scan {
                cutoff: inherited_below,
                ..Scan::default()
            };
            for (i, e) in tree.events(node as NodeId).iter().enumerate() {
                if e.layer > layer {
                    break;
                }
                now.apply(i, e);
                if e.layer < layer {
                    before.apply(i, e);
                }
            }
            now.record(&mut current, node, inherited_now);
            if layer > 0 {
                before.record(&mut below, node, inherited_below);
            }
        }
        (current, below)
    }
}

impl LayerView {
    /// The view of `layer` in `mode`: two passes over the nodes for the layer below and
    /// this one, then one bottom-up pass for statuses and directory sizes.
    pub fn compute(tree: &FileTree, layer: u32, mode: TreeMode) -> LayerView {
        let n = tree.len();
        let (mut current, mut below) = Visibility::as_of_and_below(tree, layer);
        let mut status = vec![Status::Absent; n];
        let mut size = vec![0u64; n];
        // Directory sizes: what their shown children still hold, and what they lost here.
        let mut live_below = vec![0u64; n];
        let mut removed_below = vec![0u64; n];
        let mut included = vec![false; n];
        let mut is_dir = vec![false; n];
        // Children have larger ids than their parents: reverse order is bottom-up.
        for node in (0..n).rev() {
            let events = tree.events(node as NodeId);
            let shown_event = |shown: u32| events.get(shown as usize);
            let now = current.visible[node];
            let before = below.visible[node];
            let event = if now {
                shown_event(current.shown[node])
            } else {
                shown_event(below.shown[node])
            };
            // The shown entry decides; a path no layer wrote is implied by its contents.
            let dir = event.is_none_or(|e| e.kind == EventKind::Dir);
            let written_here = now && shown_event(current.shown[node]).is_some_and(|e| e.layer == layer);
            let was_dir = shown_event(below.shown[node]).is_none_or(|e| e.kind == EventKind::Dir);
            status[node] = match (before, now) {
                (false, true) => Status::Added,
                // A file where a directory was is a new file; the directory's contents
                // show as removed.
                (true, true) if written_here && !dir && was_dir => Status::Added,
                (true, true) if written_here && !dir => Status::Modified,
                (true, true) => Status::Unmodified,
                (true, false) => Status::Removed,
                (false, false) => Status::Absent,
            };
            size[node] = match (dir, status[node]) {
                (false, _) => event.map_or(0, |e| e.size),
                (true, Status::Removed) => live_below[node] + removed_below[node],
                (true, _) => live_below[node],
            };
            is_dir[node] = dir;
            let changed = matches!(status[node], Status::Added | Status::Modified | Status::Removed);
            included[node] |= match mode {
                TreeMode::Aggregated => status[node] != Status::Absent,
                TreeMode::LayerChanges if dir => matches!(status[node], Status::Added | Status::Removed),
                TreeMode::LayerChanges => changed,
            };
            if node == 0 {
                included[node] = true;
                break;
            }
            let parent = tree.parent[node] as usize;
            // A visible descendant implies its directory, written or not.
            current.visible[parent] |= now;
            below.visible[parent] |= before;
            if included[node] {
                included[parent] = true;
                match status[node] {
                    Status::Removed => removed_below[parent] += size[node],
                    _ => live_below[parent] += size[node],
                }
            }
        }
        // Children are in name order: a stable sort by size keeps equal sizes by name.
        let mut by_size = tree.children.clone();
        for &(first, len) in tree.child_range.iter().filter(|(_, len)| *len > 1) {
            by_size[first as usize..(first + len) as usize].sort_by_key(|&c| std::cmp::Reverse(size[c as usize]));
        }
        LayerView {
            layer,
            mode,
            status,
            size,
            included,
            is_dir,
            by_size,
        }
    }

    /// Children of `node` in the order `sort` asks for.
    pub fn children<'t>(&'t self, tree: &'t FileTree, node: NodeId, sort: SortOrder) -> &'t [NodeId] {
        match sort {
            SortOrder::Name => tree.children(node),
            SortOrder::Size => {
                let (first, len) = tree.child_range[node as usize];
                &self.by_size[first as usize..(first + len) as usize]
            }
        }
    }

    /// The event that this view shows at `node` (the one below for a removed path).
    pub fn shown_event<'t>(&self, tree: &'t FileTree, node: NodeId) -> Option<&'t Event> {
        let events = tree.events(node);
        let visible_up_to = match self.status[node as usize] {
            Status::Removed => self.layer.checked_sub(1)?,
            Status::Absent => return None,
            _ => self.layer,
        };
        events
            .iter()
            .rev()
            .find(|e| e.layer <= visible_up_to && e.kind.writes())
    }
}

impl LayerView {
    /// What extracting `node` as this view shows it writes: the node and everything shown
    /// below it, each from the layer whose version the view shows (a directory that only
    /// its contents imply is made for them). Paths this layer removed are not written:
    /// to extract a removed path, ask the view of the layer below.
    pub fn extract_items(&self, tree: &FileTree, node: NodeId) -> Vec<ExtractItem> {
        let mut items = Vec::new();
        let mut stack = vec![(node, String::new())];
        while let Some((at, relative)) = stack.pop() {
            if matches!(self.status[at as usize], Status::Removed | Status::Absent) {
                continue;
            }
            let event = self.shown_event(tree, at);
            if let Some(event) = event {
                items.push(ExtractItem {
                    layer: event.layer as usize,
                    entry: event.entry,
                    relative: relative.clone(),
                    content_from: tree.hard_link_source(event),
                });
            }
            let descend = match event {
                Some(event) => event.kind == EventKind::Dir,
                None => self.is_dir[at as usize],
            };
            if descend {
                for &child in tree.children(at) {
                    let name = tree.name(child);
                    let below = if relative.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{relative}/{name}")
                    };
                    stack.push((child, below));
                }
            }
        }
        items
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortOrder {
    Size,
    Name,
}

/// Which statuses the tree shows (dive's Ctrl+A/R/M/U).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusToggles {
    pub added: bool,
    pub removed: bool,
    pub modified: bool,
    pub unmodified: bool,
}

impl Default for StatusToggles {
    fn default() -> Self {
        StatusToggles {
            added: true,
            removed: true,
            modified: true,
            unmodified: true,
        }
    }
}

impl StatusToggles {
    pub fn shows(&self, status: Status) -> bool {
        match status {
            Status::Absent => false,
            Status::Added => self.added,
            Status::Removed => self.removed,
            Status::Modified => self.modified,
            Status::Unmodified => self.unmodified,
        }
    }
}

/// Which nodes pass the toggles and the path filter (`matches`, per node, from
/// [`crate::filter::PathFilter::matches`]): a node shows when it passes itself or
/// something below it does.
pub fn shown_nodes(tree: &FileTree, view: &LayerView, toggles: StatusToggles, matches: Option<&[bool]>) -> Vec<bool> {
    let n = tree.len();
    let mut shown = vec![false; n];
    for node in (1..n).rev() {
        // A directory with children shows only through them; an empty one by itself.
        let passes = view.included[node]
            && toggles.shows(view.status[node])
            && matches.is_none_or(|m| m[node])
            && (!view.is_dir[node] || tree.child_range[node].1 == 0);
        if passes || shown[node] {
            shown[node] = true;
            shown[tree.parent[node] as usize] = true;
        }
    }
    shown[0] = true;
    shown
}

/// One line of the tree pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    pub depth: u16,
}

/// The rows of the tree pane: shown nodes in order, collapsed directories' contents left
/// out. Also knows which nodes are the last shown child of their parent, for the guides.
pub struct Rows {
    pub rows: Vec<Row>,
    last_child: Vec<bool>,
}

impl Rows {
    /// Every shown row below the root, collapsed directories not entered.
    pub fn build(tree: &FileTree, view: &LayerView, shown: &[bool], collapsed: &[bool], sort: SortOrder) -> Rows {
        let mut rows = Rows {
            rows: Vec::new(),
            last_child: vec![false; tree.len()],
        };
        rows.rows = rows.subtree(tree, view, shown, collapsed, sort, ROOT, 0);
        rows.rows.shrink_to_fit();
        rows
    }

    /// The rows below `top` (at `depth`), in order.
    #[allow(clippy::too_many_arguments)]
    fn subtree(
        &mut self,
        tree: &FileTree,
        view: &LayerView,
        shown: &[bool],
        collapsed: &[bool],
        sort: SortOrder,
        top: NodeId,
        depth: u16,
    ) -> Vec<Row> {
        let mut out = Vec::with_capacity(if top == ROOT { tree.len() } else { 0 });
        let mut stack: Vec<(NodeId, u16)> = Vec::new();
        let push_children = |stack: &mut Vec<(NodeId, u16)>, last_child: &mut Vec<bool>, node: NodeId, depth: u16| {
            let children = view.children(tree, node, sort);
            let mut last = None;
            for &c in children.iter().rev() {
                if shown[c as usize] {
                    if last.is_none() {
                        last = Some(c);
                    }
                    last_child[c as usize] = last == Some(c);
                    stack.push((c, depth));
                }
            }
        };
        push_children(&mut stack, &mut self.last_child, top, depth);
        while let Some((node, d)) = stack.pop() {
            out.push(Row { node, depth: d });
            if view.is_dir[node as usize] && !collapsed[node as usize] {
                push_children(&mut stack, &mut self.last_child, node, d + 1);
            }
        }
        out
    }

    /// Hides the rows below the directory at row `index`.
    pub fn collapse(&mut self, index: usize) {
        if index >= self.rows.len() {
            return;
        }
        let end = self.subtree_end(index);
        self.rows.drain(index + 1..end);
    }

    /// Shows the rows below the directory at row `index` (its collapsed subdirectories stay
    /// collapsed).
    #[allow(clippy::too_many_arguments)]
    pub fn expand(
        &mut self,
        tree: &FileTree,
        view: &LayerView,
        shown: &[bool],
        collapsed: &[bool],
        sort: SortOrder,
        index: usize,
    ) {
        let Some(row) = self.rows.get(index).copied() else {
            return;
        };
        let inserted = self.subtree(tree, view, shown, collapsed, sort, row.node, row.depth + 1);
        self.rows.splice(index + 1..index + 1, inserted);
    }

    /// The row after the last one below row `index`.
    pub fn subtree_end(&self, index: usize) -> usize {
        let Some(depth) = self.rows.get(index).map(|r| r.depth) else {
            return index;
        };
        self.rows[index + 1..]
            .iter()
            .position(|r| r.depth <= depth)
            .map_or(self.rows.len(), |p| index + 1 + p)
    }

    /// Whether `node` is the last shown child of its parent (draws `└──`).
    pub fn is_last_child(&self, node: NodeId) -> bool {
        self.last_child.get(node as usize).copied().unwrap_or(true)
    }

    /// The row showing `node`, if any.
    pub fn position(&self, node: NodeId) -> Option<usize> {
        self.rows.iter().position(|r| r.node == node)
    }
}
