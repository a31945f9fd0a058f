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

use std::collections::HashMap;

use serde::Serialize;

use crate::index::{EntryKind, LayerIndex};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_PREFIX: &str = ".wh..wh..";

/// dive's figures for an image.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

    let mut paths: HashMap<String, PathData> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut lower = trees.first().cloned().unwrap_or_default();
    for (i, tree) in trees.iter().enumerate() {
        if i == 1 {
            // dive stacks layer 0 onto its own copy before stacking the rest.
            lower.stack(&trees[0]);
        }
        tree.visit_leaves(|node| {
            let path = tree.path(node);
            let data = paths.entry(path.clone()).or_insert_with(|| PathData {
                cum: 0,
                min: -1,
                count: 0,
            });
            let size = if tree.nodes[node].name.starts_with(WHITEOUT_PREFIX) {
                let previous = lower.get(&path)?;
                if lower.nodes[previous].is_dir {
                    lower.subtree_size(previous)
                } else {
                    0
                }
            } else {
                tree.nodes[node].size
            };
            data.cum += size;
            if data.min < 0 || size < data.min {
                data.min = size;
            }
            data.count += 1;
            if data.count == 2 {
                order.push(path);
            }
            Some(())
        });
        if i >= 1 {
            lower.stack(tree);
        }
    }

    let min_sum: i64 = paths.values().map(|d| d.min).sum();
    let cum_sum: i64 = paths.values().map(|d| d.cum).sum();
    let efficiency = if cum_sum == 0 {
        1.0
    } else {
        min_sum as f64 / cum_sum as f64
    };
    let mut inefficient_paths: Vec<DivePath> = order
        .into_iter()
        .map(|path| {
            let d = &paths[&path];
            DivePath {
                count: d.count,
                bytes: d.cum.max(0) as u64,
                path,
            }
        })
        .collect();
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

struct PathData {
    cum: i64,
    min: i64,
    count: u32,
}

#[derive(Clone)]
struct Node {
    name: Box<str>,
    parent: u32,
    /// Child ids, kept sorted by name (byte order, as dive visits them).
    children: Vec<u32>,
    size: i64,
    is_dir: bool,
}

/// dive's file tree: node 0 is the root; removed nodes stay in the arena, detached.
#[derive(Clone)]
struct Tree {
    nodes: Vec<Node>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: vec![Node {
                name: "".into(),
                parent: 0,
                children: Vec::new(),
                size: 0,
                is_dir: false,
            }],
        }
    }
}

impl Tree {
    fn from_layer(layer: &LayerIndex) -> Tree {
        let mut tree = Tree::default();
        tree.nodes.reserve(layer.entries.len());
        for entry in &layer.entries {
            // dive keys nodes by the names in the tar: whiteouts keep their `.wh.` prefix.
            let name = match entry.kind {
                EntryKind::Whiteout => with_last_prefixed(&entry.path, WHITEOUT_PREFIX),
                EntryKind::OpaqueWhiteout => join(&entry.path, ".wh..wh..opq"),
                _ => entry.path.to_string(),
            };
            if name.is_empty() {
                continue;
            }
            tree.add_path(&name, entry.size as i64, entry.kind == EntryKind::Dir);
        }
        tree
    }

    fn child(&self, node: usize, name: &str) -> Result<usize, usize> {
        let children = &self.nodes[node].children;
        children
            .binary_search_by(|&c| (*self.nodes[c as usize].name).cmp(name))
            .map(|i| children[i] as usize)
    }

    fn add_path(&mut self, path: &str, size: i64, is_dir: bool) {
        let names: Vec<&str> = path.split('/').filter(|n| !n.is_empty()).collect();
        let mut node = 0;
        for (i, name) in names.iter().enumerate() {
            node = match self.child(node, name) {
                Ok(child) => child,
                Err(position) => {
                    if name.starts_with(OPAQUE_PREFIX) {
                        return;
                    }
                    let child = self.nodes.len();
                    self.nodes.push(Node {
                        name: (*name).into(),
                        parent: node as u32,
                        children: Vec::new(),
                        size: 0,
                        is_dir: false,
                    });
                    self.nodes[node].children.insert(position, child as u32);
                    child
                }
            };
            if i == names.len() - 1 {
                self.nodes[node].size = size;
                self.nodes[node].is_dir = is_dir;
            }
        }
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
    fn stack(&mut self, upper: &Tree) {
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
                                name: name.into(),
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
