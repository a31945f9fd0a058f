//! dive's `efficiency` and `wasted bytes`, computed by dive 0.13.1's own algorithm so
//! users can set imgprof's figures beside the ones they know. `docs/metrics.md` explains
//! the formulas and why imgprof's redundancy differs.
//!
//! dive builds one tree per layer (implicit parent directories get an empty record),
//! visits the leaves of each layer's tree in post-order with byte-sorted children, and
//! keeps per path `cum` (Σ sizes) and `min` (smallest size). A file whiteout counts 0 and
//! a directory whiteout counts the size of the directory's subtree in the stack of lower
//! layers; a whiteout whose target the lower stack lacks ends that layer's walk (and, on a
//! new path, leaves `min = -1`). Opaque whiteouts are ignored. Then
//! `efficiency = Σ min / Σ cum` and `wasted = Σ cum over paths seen in two or more layers`.
//! Sizes are tar header sizes of every entry, as dive reads them.

use std::borrow::Cow;

use crate::index::{Entry, EntryKind, LayerIndex};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_PREFIX: &str = ".wh..wh..";

/// dive's figures for an image.
#[derive(Debug, Clone, PartialEq)]
pub struct DiveMetrics {
    /// Σ min / Σ cum over every path dive visits (1.0 for an empty image).
    pub efficiency: f64,
    /// Σ cum over paths seen in two or more layers (dive's "wasted bytes").
    pub wasted_bytes: u64,
    /// Σ of the layers' sizes as dive counts them (tar header sizes of every entry).
    pub image_bytes: u64,
    /// The same without the first layer, the base of dive's `userWastedPercent`.
    pub user_bytes: u64,
    /// dive's per-layer sizes.
    pub layer_bytes: Vec<u64>,
    /// Paths seen in two or more layers, largest first (ties by path).
    pub inefficient_paths: Vec<DivePath>,
}

impl DiveMetrics {
    /// dive's `userWastedPercent`: wasted / user bytes (a ratio, not a percent).
    pub fn user_wasted_ratio(&self) -> f64 {
        self.wasted_bytes as f64 / self.user_bytes as f64
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivePath {
    pub path: String,
    pub count: u32,
    pub bytes: u64,
}

pub fn metrics(layers: &[LayerIndex]) -> DiveMetrics {
    let trees: Vec<Tree> = layers.iter().map(Tree::from_layer).collect();
    let layer_bytes: Vec<u64> = layers
        .iter()
        .map(|l| {
            l.entries
                .iter()
                .filter(|e| !e.path.is_empty() || e.kind == EntryKind::OpaqueWhiteout)
                .map(|e| e.size)
                .sum()
        })
        .collect();

    // Every leaf visit, to be grouped by path afterwards: a sorted list of 32-byte records
    // instead of a map keyed by path strings (which cost ~170 bytes a path).
    let mut visits: Vec<Visit> = Vec::with_capacity(trees.iter().map(|t| t.nodes.len()).sum());
    let mut lower: Option<Tree<'_>> = None;
    for (i, tree) in trees.iter().enumerate() {
        if i == 1 {
            // dive stacks layer 0 onto its own copy before stacking the rest.
            let mut copy = trees[0].clone();
            copy.stack(&trees[0]);
            lower = Some(copy);
        }
        let below = lower.as_ref().unwrap_or(&trees[0]);
        let keys = tree.path_keys();
        tree.visit_leaves(|node| {
            let mut visit = Visit {
                key: keys[node],
                layer: i as u32,
                node: node as u32,
                size: TOUCHED,
            };
            visit.size = if tree.nodes[node].name.starts_with(WHITEOUT_PREFIX) {
                // dive records the path before it looks the target up.
                let Some(previous) = below.get(&tree.path(node)) else {
                    visits.push(visit);
                    return None;
                };
                if below.nodes[previous].is_dir {
                    below.subtree_size(previous)
                } else {
                    0
                }
            } else {
                tree.nodes[node].size
            };
            visits.push(visit);
            Some(())
        });
        if let Some(lower) = lower.as_mut() {
            lower.stack(tree);
        }
    }
    drop(lower);

    visits.sort_unstable_by_key(|v| v.key);
    let mut min_sum: i64 = 0;
    let mut cum_sum: i64 = 0;
    let mut inefficient_paths: Vec<DivePath> = Vec::new();
    for same_key in visits.chunk_by(|a, b| a.key == b.key) {
        let mut add = |path: Option<String>, visits: &[&Visit]| {
            let data = PathData::of(visits.iter().map(|v| v.size));
            min_sum += data.min;
            cum_sum += data.cum;
            if data.count >= 2 {
                inefficient_paths.push(DivePath {
                    path: path.unwrap_or_else(|| trees[visits[0].layer as usize].path(visits[0].node as usize)),
                    count: data.count,
                    bytes: data.cum.max(0) as u64,
                });
            }
        };
        if let [only] = same_key {
            add(None, &[only]);
            continue;
        }
        // Equal keys are equal paths but for a hash collision: group by the paths themselves.
        let mut named: Vec<(String, &Visit)> = same_key
            .iter()
            .map(|v| (trees[v.layer as usize].path(v.node as usize), v))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        for same_path in named.chunk_by(|a, b| a.0 == b.0) {
            let visits: Vec<&Visit> = same_path.iter().map(|(_, v)| *v).collect();
            add(Some(same_path[0].0.clone()), &visits);
        }
    }
    let efficiency = if cum_sum == 0 {
        1.0
    } else {
        min_sum as f64 / cum_sum as f64
    };
    inefficient_paths.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    DiveMetrics {
        efficiency,
        wasted_bytes: inefficient_paths.iter().map(|p| p.bytes).sum(),
        image_bytes: layer_bytes.iter().sum(),
        user_bytes: layer_bytes.iter().skip(1).sum(),
        layer_bytes,
        inefficient_paths,
    }
}

/// One entry of `dive --json`'s `fileList`: the tar header's fields as dive 0.13.1 keeps
/// them. A directory no entry names but its contents imply is all zeros and an empty
/// path, as in dive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileInfo {
    /// The tar name as dive keeps it (a whiteout: `dir/.wh.name`).
    pub path: String,
    /// The tar type byte (`'0'` = 48 for files and whiteouts, `'5'` = 53 for directories).
    pub type_flag: u8,
    pub link_name: String,
    pub size: u64,
    /// Go's `os.FileMode` of the header: permissions and setuid/setgid/sticky, and the
    /// type bits (directory 1<<31, symlink 1<<27, device 1<<26, char device 1<<21,
    /// named pipe 1<<25).
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub is_dir: bool,
}

const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_DEVICE: u32 = 1 << 26;
const MODE_NAMED_PIPE: u32 = 1 << 25;
const MODE_SOCKET: u32 = 1 << 24;
const MODE_SETUID: u32 = 1 << 23;
const MODE_SETGID: u32 = 1 << 22;
const MODE_CHAR_DEVICE: u32 = 1 << 21;
const MODE_STICKY: u32 = 1 << 20;

impl FileInfo {
    fn of(entry: &Entry) -> FileInfo {
        let type_flag = match entry.kind {
            EntryKind::File | EntryKind::Whiteout | EntryKind::OpaqueWhiteout => b'0',
            EntryKind::HardLink => b'1',
            EntryKind::Symlink => b'2',
            EntryKind::CharDevice => b'3',
            EntryKind::BlockDevice => b'4',
            EntryKind::Dir => b'5',
            EntryKind::Fifo => b'6',
        };
        // As Go's archive/tar `FileInfo().Mode()` computes it.
        let raw = entry.mode;
        let mut mode = raw & 0o777;
        for (bit, flag) in [(0o4000, MODE_SETUID), (0o2000, MODE_SETGID), (0o1000, MODE_STICKY)] {
            if raw & bit != 0 {
                mode |= flag;
            }
        }
        mode |= match raw & !0o7777 {
            0o040000 => MODE_DIR,
            0o010000 => MODE_NAMED_PIPE,
            0o120000 => MODE_SYMLINK,
            0o060000 => MODE_DEVICE,
            0o020000 => MODE_DEVICE | MODE_CHAR_DEVICE,
            0o140000 => MODE_SOCKET,
            _ => 0,
        };
        mode |= match entry.kind {
            EntryKind::Symlink => MODE_SYMLINK,
            EntryKind::CharDevice => MODE_DEVICE | MODE_CHAR_DEVICE,
            EntryKind::BlockDevice => MODE_DEVICE,
            EntryKind::Dir => MODE_DIR,
            EntryKind::Fifo => MODE_NAMED_PIPE,
            _ => 0,
        };
        let path = match entry.kind {
            EntryKind::Whiteout => with_last_prefixed(&entry.path, WHITEOUT_PREFIX),
            _ => entry.path.to_string(),
        };
        FileInfo {
            path,
            type_flag,
            link_name: entry.link.as_deref().unwrap_or_default().to_owned(),
            size: entry.size,
            file_mode: mode,
            uid: entry.uid,
            gid: entry.gid,
            is_dir: mode & MODE_DIR != 0,
        }
    }
}

/// Each layer's `fileList` as `dive --json` writes it: the layer's own tree, children
/// before their directory, siblings by name, the root left out.
pub fn file_lists(layers: &[LayerIndex]) -> Vec<Vec<FileInfo>> {
    layers
        .iter()
        .map(|layer| {
            let mut entry_of: Vec<Option<usize>> = Vec::new();
            let tree = Tree::from_layer_then(layer, |entry, node| {
                if entry_of.len() <= node {
                    entry_of.resize(node + 1, None);
                }
                entry_of[node] = Some(entry);
            });
            tree.post_order(0)
                .into_iter()
                .map(|node| match entry_of.get(node).copied().flatten() {
                    Some(entry) => FileInfo::of(&layer.entries[entry]),
                    None => FileInfo::default(),
                })
                .collect()
        })
        .collect()
}

/// A leaf dive visited: the path's key, where it is, and the size it counted.
struct Visit {
    key: u128,
    layer: u32,
    node: u32,
    /// [`TOUCHED`] when dive recorded the path but counted nothing (a whiteout whose
    /// target the lower layers lack).
    size: i64,
}

const TOUCHED: i64 = i64::MIN;

/// dive's record of one path over all layers.
struct PathData {
    cum: i64,
    /// -1 while nothing was counted.
    min: i64,
    count: u32,
}

impl PathData {
    /// The record dive ends with for a path visited with `sizes` (in any order: Σ, min and
    /// count do not depend on it).
    fn of(sizes: impl Iterator<Item = i64>) -> PathData {
        let mut data = PathData {
            cum: 0,
            min: -1,
            count: 0,
        };
        for size in sizes.filter(|&s| s != TOUCHED) {
            data.cum += size;
            if data.min < 0 || size < data.min {
                data.min = size;
            }
            data.count += 1;
        }
        data
    }
}

#[derive(Clone)]
struct Node<'a> {
    /// Borrowed from the layer's entry paths; owned only for the `.wh.` names of whiteouts.
    name: Cow<'a, str>,
    parent: u32,
    /// Child ids, kept sorted by name (byte order, as dive visits them).
    children: Vec<u32>,
    size: i64,
    is_dir: bool,
}

/// dive's file tree: node 0 is the root; removed nodes stay in the arena, detached.
#[derive(Clone)]
struct Tree<'a> {
    nodes: Vec<Node<'a>>,
}

impl Default for Tree<'_> {
    fn default() -> Self {
        Tree {
            nodes: vec![Node {
                name: Cow::Borrowed(""),
                parent: 0,
                children: Vec::new(),
                size: 0,
                is_dir: false,
            }],
        }
    }
}

impl<'a> Tree<'a> {
    fn from_layer(layer: &'a LayerIndex) -> Tree<'a> {
        Tree::from_layer_then(layer, |_, _| {})
    }

    /// The tree of `layer`, telling `placed` each entry's index and the node it set (an
    /// opaque marker sets none).
    fn from_layer_then(layer: &'a LayerIndex, mut placed: impl FnMut(usize, usize)) -> Tree<'a> {
        let mut tree = Tree::default();
        tree.nodes.reserve(layer.entries.len());
        for (index, entry) in layer.entries.iter().enumerate() {
            // dive keys nodes by the names in the tar: whiteouts keep their `.wh.` prefix.
            let name = match entry.kind {
                EntryKind::Whiteout => Cow::Owned(with_last_prefixed(&entry.path, WHITEOUT_PREFIX)),
                EntryKind::OpaqueWhiteout => Cow::Owned(join(&entry.path, ".wh..wh..opq")),
                _ => Cow::Borrowed(&*entry.path),
            };
            if name.is_empty() {
                continue;
            }
            if let Some(node) = tree.add_path(name, entry.size as i64, entry.kind == EntryKind::Dir) {
                placed(index, node);
            }
        }
        // Implicit parent directories may have doubled the reservation.
        tree.nodes.shrink_to_fit();
        tree
    }

    /// A key per node that equal [`Tree::path`]s share: a hash of the parent's key and the
    /// name (the `.wh.` prefix dropped, as `path` does for the last name). Nodes come after
    /// their parents in the arena, so one pass in arena order computes them all.
    fn path_keys(&self) -> Vec<u128> {
        let mut keys = vec![0u128; self.nodes.len()];
        let mut buffer = Vec::new();
        for (id, node) in self.nodes.iter().enumerate().skip(1) {
            let name: &str = &node.name;
            let name = name.strip_prefix(WHITEOUT_PREFIX).unwrap_or(name);
            buffer.clear();
            buffer.extend_from_slice(&keys[node.parent as usize].to_le_bytes());
            buffer.extend_from_slice(name.as_bytes());
            keys[id] = xxhash_rust::xxh3::xxh3_128(&buffer);
        }
        keys
    }

    fn child(&self, node: usize, name: &str) -> Result<usize, usize> {
        let children = &self.nodes[node].children;
        children
            .binary_search_by(|&c| (*self.nodes[c as usize].name).cmp(name))
            .map(|i| children[i] as usize)
    }

    /// Adds `path`'s nodes; the last one's id, unless it is an opaque marker (not kept).
    fn add_path(&mut self, path: Cow<'a, str>, size: i64, is_dir: bool) -> Option<usize> {
        let names: Vec<Cow<'a, str>> = match path {
            Cow::Borrowed(path) => path.split('/').filter(|n| !n.is_empty()).map(Cow::Borrowed).collect(),
            Cow::Owned(path) => path
                .split('/')
                .filter(|n| !n.is_empty())
                .map(|n| Cow::Owned(n.to_owned()))
                .collect(),
        };
        let last = names.len().saturating_sub(1);
        let mut node = 0;
        for (i, name) in names.into_iter().enumerate() {
            node = match self.child(node, &name) {
                Ok(child) => child,
                Err(position) => {
                    if name.starts_with(OPAQUE_PREFIX) {
                        return None;
                    }
                    let child = self.nodes.len();
                    self.nodes.push(Node {
                        name,
                        parent: node as u32,
                        children: Vec::new(),
                        size: 0,
                        is_dir: false,
                    });
                    self.nodes[node].children.insert(position, child as u32);
                    child
                }
            };
            if i == last {
                self.nodes[node].size = size;
                self.nodes[node].is_dir = is_dir;
            }
        }
        Some(node)
    }

    fn get(&self, path: &str) -> Option<usize> {
        let mut node = 0;
        for name in path.split('/').filter(|n| !n.is_empty()) {
            node = self.child(node, name).ok()?;
        }
        Some(node)
    }

    /// dive's `Path()`: `/`-joined names, the last one without its `.wh.` prefix.
    fn path(&self, node: usize) -> String {
        let mut names = Vec::new();
        let mut current = node;
        while current != 0 {
            let name: &str = &self.nodes[current].name;
            let name = if current == node {
                name.strip_prefix(WHITEOUT_PREFIX).unwrap_or(name)
            } else {
                name
            };
            names.push(name);
            current = self.nodes[current].parent as usize;
        }
        names.reverse();
        format!("/{}", names.join("/")).replace("//", "/")
    }

    /// Post-order over all nodes below the root, children in byte order.
    fn post_order(&self, from: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![(from, false)];
        while let Some((node, expanded)) = stack.pop() {
            if expanded {
                out.push(node);
                continue;
            }
            stack.push((node, true));
            for &child in self.nodes[node].children.iter().rev() {
                stack.push((child as usize, false));
            }
        }
        if from == 0 {
            out.pop();
        }
        out
    }

    /// Visits leaves in dive's order; the visitor returning `None` ends the walk, as an
    /// error from dive's visitor does.
    fn visit_leaves(&self, mut visit: impl FnMut(usize) -> Option<()>) {
        for node in self.post_order(0) {
            if self.nodes[node].children.is_empty() && visit(node).is_none() {
                return;
            }
        }
    }

    fn subtree_size(&self, node: usize) -> i64 {
        let mut all = self.post_order(node);
        if node == 0 {
            all.push(0);
        }
        all.iter().map(|&n| self.nodes[n].size).sum()
    }

    /// dive's `Stack`: every node of `upper`, child first: whiteouts remove, others add.
    /// dive resolves each node's path from the root; walking both trees together gives
    /// the same result without building a path per node.
    fn stack(&mut self, upper: &Tree<'a>) {
        enum Step {
            /// Apply upper node `.0` under lower node `.1`: resolve (or create) it, then
            /// its children, then set its size.
            Enter(usize, usize),
            /// Upper node `.0`'s children are done: copy its size onto lower node `.1`.
            Leave(usize, usize),
        }
        let mut work: Vec<Step> = upper.nodes[0]
            .children
            .iter()
            .rev()
            .map(|&c| Step::Enter(c as usize, 0))
            .collect();
        while let Some(step) = work.pop() {
            match step {
                Step::Leave(u, l) => {
                    self.nodes[l].size = upper.nodes[u].size;
                    self.nodes[l].is_dir = upper.nodes[u].is_dir;
                }
                Step::Enter(u, parent) => {
                    let name: &str = &upper.nodes[u].name;
                    if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
                        if let Ok(node) = self.child(parent, target) {
                            self.nodes[parent].children.retain(|&c| c as usize != node);
                        }
                        continue;
                    }
                    let lower = match self.child(parent, name) {
                        Ok(node) => node,
                        Err(_) if name.starts_with(OPAQUE_PREFIX) => continue,
                        Err(position) => {
                            let node = self.nodes.len();
                            self.nodes.push(Node {
                                name: upper.nodes[u].name.clone(),
                                parent: parent as u32,
                                children: Vec::new(),
                                size: 0,
                                is_dir: false,
                            });
                            self.nodes[parent].children.insert(position, node as u32);
                            node
                        }
                    };
                    work.push(Step::Leave(u, lower));
                    work.extend(
                        upper.nodes[u]
                            .children
                            .iter()
                            .rev()
                            .map(|&c| Step::Enter(c as usize, lower)),
                    );
                }
            }
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn with_last_prefixed(path: &str, prefix: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/{prefix}{name}"),
        None => format!("{prefix}{path}"),
    }
}
