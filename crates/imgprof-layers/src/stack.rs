//! Stacking layer indexes into the final filesystem, as a container runtime would, and
//! measuring what each layer changed and which shipped bytes the final filesystem no
//! longer shows (redundancy).
//!
//! Model: every regular-file entry is an inode carrying bytes; a hard link shares its
//! target's inode. Redundancy is the bytes of inodes that are not visible at the end, each
//! counted once: `redundant = Σ shipped file bytes − Σ distinct visible inode bytes`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use crate::index::{EntryKind, LayerIndex};

/// A shipped copy of file content: entry `entry` of layer `layer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Inode {
    pub layer: u32,
    pub entry: u32,
}

/// What the final filesystem (or the stack so far) shows at a path.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub layer: u32,
    pub entry: u32,
    /// The content shown here: `None` for directories, symlinks, devices and dangling
    /// hard links.
    pub inode: Option<Inode>,
}

/// Why a copy of a file is not visible in the final filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossCause {
    /// A later layer wrote the same path.
    Overwritten { by_layer: u32 },
    /// A `.wh.` whiteout deleted the path or a directory above it.
    Deleted { by_layer: u32 },
    /// A `.wh..wh..opq` opaque whiteout hid the directory's old contents.
    HiddenByOpaque { by_layer: u32 },
    /// A non-directory replaced a directory above the path.
    ParentReplaced { by_layer: u32 },
}

/// What one layer did to the filesystem below it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerChanges {
    /// Non-directory entries at paths no lower layer showed.
    pub added_files: u64,
    pub added_bytes: u64,
    /// Non-directory entries replacing what a lower layer showed at the same path.
    pub modified_files: u64,
    pub modified_bytes: u64,
    /// Bytes of the lower copies that the modified entries replace.
    pub replaced_bytes: u64,
    /// Lower paths (files, links and directories) hidden by this layer's whiteouts.
    pub removed_paths: u64,
    /// Bytes of the distinct lower file contents those whiteouts hide.
    pub removed_bytes: u64,
    /// Whiteouts that name a path no lower layer has.
    pub whiteouts_without_target: u64,
    /// Paths written more than once in this very layer (the last one wins).
    pub duplicate_paths: u64,
    /// Hard links whose target neither a lower layer nor an earlier entry of this layer
    /// shows: they carry no bytes here, and Docker and containerd refuse to apply them.
    pub dangling_hard_links: u64,
    /// Bytes this layer shipped that the final filesystem does not show.
    pub redundant_bytes: u64,
}

/// One whiteout of a layer and what it hid below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal<'a> {
    /// The deleted path (for an opaque whiteout, the directory whose contents it hid).
    pub path: &'a str,
    pub opaque: bool,
    /// Lower paths hidden (the path itself and everything below it).
    pub paths: u64,
    /// Distinct lower file bytes hidden.
    pub bytes: u64,
}

/// A copy of file content that shipped but is not visible in the final filesystem.
#[derive(Debug, Clone, Copy)]
pub struct LostCopy<'a> {
    pub path: &'a str,
    pub layer: u32,
    /// The entry of `layer` that shipped the copy.
    pub entry: u32,
    pub bytes: u64,
    pub cause: LossCause,
}

impl LostCopy<'_> {
    /// The shipped content this copy is.
    pub fn inode(&self) -> Inode {
        Inode {
            layer: self.layer,
            entry: self.entry,
        }
    }
}

/// Counts of the final filesystem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinalCounts {
    pub files: u64,
    pub hardlinks: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub special: u64,
}

/// The stacked image: the final filesystem and the per-layer changes.
pub struct Stack<'a> {
    layers: &'a [LayerIndex],
    visible: BTreeMap<&'a str, Slot>,
    changes: Vec<LayerChanges>,
    removals: Vec<Vec<Removal<'a>>>,
    lost: Vec<LostCopy<'a>>,
    final_bytes: u64,
}

impl<'a> Stack<'a> {
    pub fn build(layers: &'a [LayerIndex]) -> Self {
        let mut builder = Builder {
            layers,
            visible: BTreeMap::new(),
            hidden_by: HashMap::new(),
            range_start: String::new(),
            range_end: String::new(),
        };
        let (mut changes, removals): (Vec<LayerChanges>, Vec<Vec<Removal<'a>>>) =
            (0..layers.len()).map(|i| builder.apply(i as u32)).unzip();

        // Which contents the final filesystem shows, per layer and entry (a flag each:
        // a million files cost a megabyte, not a hash set).
        let mut shown: Vec<Vec<bool>> = layers.iter().map(|l| vec![false; l.entries.len()]).collect();
        let mut final_bytes = 0;
        for inode in builder.visible.values().filter_map(|s| s.inode) {
            let flag = &mut shown[inode.layer as usize][inode.entry as usize];
            if !*flag {
                *flag = true;
                final_bytes += size_of(layers, inode);
            }
        }
        let mut lost = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            for (e, entry) in layer.entries.iter().enumerate() {
                let inode = Inode {
                    layer: l as u32,
                    entry: e as u32,
                };
                if entry.kind != EntryKind::File || shown[l][e] {
                    continue;
                }
                changes[l].redundant_bytes += entry.size;
                let cause = builder
                    .hidden_by
                    .get(&inode)
                    .copied()
                    .unwrap_or(LossCause::Overwritten { by_layer: l as u32 });
                lost.push(LostCopy {
                    path: &entry.path,
                    layer: l as u32,
                    entry: e as u32,
                    bytes: entry.size,
                    cause,
                });
            }
        }
        Stack {
            layers,
            visible: builder.visible,
            changes,
            removals,
            lost,
            final_bytes,
        }
    }

    pub fn layers(&self) -> &'a [LayerIndex] {
        self.layers
    }

    pub fn changes(&self) -> &[LayerChanges] {
        &self.changes
    }

    /// Each layer's whiteouts with what they hid, in tar order.
    pub fn removals(&self, layer: usize) -> &[Removal<'a>] {
        &self.removals[layer]
    }

    /// Σ of regular-file bytes over all layers: what the image ships uncompressed.
    pub fn shipped_bytes(&self) -> u64 {
        self.layers.iter().map(LayerIndex::content_bytes).sum()
    }

    /// Σ of distinct visible file contents: what `du` would show in a running container.
    pub fn final_bytes(&self) -> u64 {
        self.final_bytes
    }

    /// Bytes shipped but not visible in the final filesystem, each lost copy once.
    pub fn redundant_bytes(&self) -> u64 {
        self.lost.iter().map(|l| l.bytes).sum()
    }

    pub fn lost_copies(&self) -> &[LostCopy<'a>] {
        &self.lost
    }

    /// The final filesystem, in path order.
    pub fn visible(&self) -> impl Iterator<Item = (&'a str, Slot)> + '_ {
        self.visible.iter().map(|(p, s)| (*p, *s))
    }

    /// What the final filesystem shows at `path` (normalised, no leading `/`).
    pub fn get(&self, path: &str) -> Option<Slot> {
        self.visible.get(path).copied()
    }

    /// The tar entry a slot shows.
    pub fn entry(&self, slot: Slot) -> &'a crate::index::Entry {
        &self.layers[slot.layer as usize].entries[slot.entry as usize]
    }

    pub fn final_counts(&self) -> FinalCounts {
        let mut c = FinalCounts::default();
        for slot in self.visible.values() {
            let entry = &self.layers[slot.layer as usize].entries[slot.entry as usize];
            match entry.kind {
                EntryKind::File => c.files += 1,
                EntryKind::HardLink => c.hardlinks += 1,
                EntryKind::Dir => c.dirs += 1,
                EntryKind::Symlink => c.symlinks += 1,
                _ => c.special += 1,
            }
        }
        c
    }
}

fn size_of(layers: &[LayerIndex], inode: Inode) -> u64 {
    layers[inode.layer as usize].entries[inode.entry as usize].size
}

struct Builder<'a> {
    layers: &'a [LayerIndex],
    visible: BTreeMap<&'a str, Slot>,
    hidden_by: HashMap<Inode, LossCause>,
    /// The bounds of `hide_below`'s range, kept between calls: it runs for every file.
    range_start: String,
    range_end: String,
}

impl<'a> Builder<'a> {
    fn apply(&mut self, layer: u32) -> (LayerChanges, Vec<Removal<'a>>) {
        let entries = &self.layers[layer as usize].entries;
        let mut changes = LayerChanges::default();
        let mut removals = Vec::new();

        // Whiteouts act on the layers below only, whatever their position in the tar.
        for entry in entries.iter().filter(|e| e.kind.is_whiteout()) {
            let (paths, bytes) = match entry.kind {
                EntryKind::OpaqueWhiteout => {
                    self.hide_below(&entry.path, LossCause::HiddenByOpaque { by_layer: layer })
                }
                _ => {
                    let cause = LossCause::Deleted { by_layer: layer };
                    let (mut paths, mut bytes) = self.hide_below(&entry.path, cause);
                    if let Some(slot) = self.visible.remove(&*entry.path) {
                        paths += 1;
                        bytes += self.record_hidden([slot], cause);
                    }
                    (paths, bytes)
                }
            };
            if paths == 0 && entry.kind == EntryKind::Whiteout {
                changes.whiteouts_without_target += 1;
            }
            changes.removed_paths += paths;
            changes.removed_bytes += bytes;
            // dockerd's overlay2 marks every directory a layer creates again as opaque;
            // with nothing below it, that marker deletes nothing and is no removal.
            if paths == 0 && entry.kind == EntryKind::OpaqueWhiteout {
                continue;
            }
            removals.push(Removal {
                path: &entry.path,
                opaque: entry.kind == EntryKind::OpaqueWhiteout,
                paths,
                bytes,
            });
        }

        for (index, entry) in entries.iter().enumerate() {
            if entry.kind.is_whiteout() || entry.path.is_empty() {
                continue;
            }
            let is_dir = entry.kind == EntryKind::Dir;
            let inode = match entry.kind {
                EntryKind::File => Some(Inode {
                    layer,
                    entry: index as u32,
                }),
                EntryKind::HardLink => {
                    let target = entry.link.as_deref().and_then(|target| self.visible.get(target));
                    if target.is_none() {
                        changes.dangling_hard_links += 1;
                    }
                    target.and_then(|slot| slot.inode)
                }
                _ => None,
            };
            let slot = Slot {
                layer,
                entry: index as u32,
                inode,
            };
            if !is_dir {
                // A non-directory over a directory hides everything below it.
                self.hide_below(&entry.path, LossCause::ParentReplaced { by_layer: layer });
            }
            let prior = self.visible.insert(&entry.path, slot);
            let Some(prior) = prior else {
                if !is_dir {
                    changes.added_files += 1;
                    changes.added_bytes += entry.content_size();
                }
                continue;
            };
            if prior.layer == layer {
                changes.duplicate_paths += 1;
            } else if !is_dir {
                changes.modified_files += 1;
                changes.modified_bytes += entry.content_size();
            }
            let prior_is_dir = self.kind(prior) == EntryKind::Dir;
            if prior.inode.is_some() && prior.inode != inode {
                let replaced = self.record_hidden([prior], LossCause::Overwritten { by_layer: layer });
                if prior.layer != layer && !prior_is_dir {
                    changes.replaced_bytes += replaced;
                }
            }
        }
        (changes, removals)
    }

    fn kind(&self, slot: Slot) -> EntryKind {
        self.layers[slot.layer as usize].entries[slot.entry as usize].kind
    }

    /// Removes everything strictly below `dir` (everything, for the root) and returns
    /// how many paths that hid and the bytes of the distinct contents among them.
    fn hide_below(&mut self, dir: &str, cause: LossCause) -> (u64, u64) {
        let keys: Vec<&'a str> = if dir.is_empty() {
            self.visible.keys().copied().collect()
        } else {
            self.range_start.clear();
            self.range_start.push_str(dir);
            self.range_start.push('/');
            self.range_end.clear();
            self.range_end.push_str(dir);
            self.range_end.push('0'); // '0' is the byte after '/'
            self.visible
                .range::<str, _>((
                    Bound::Included(self.range_start.as_str()),
                    Bound::Excluded(self.range_end.as_str()),
                ))
                .map(|(k, _)| *k)
                .collect()
        };
        if keys.is_empty() {
            return (0, 0);
        }
        let slots: Vec<Slot> = keys.iter().filter_map(|k| self.visible.remove(k)).collect();
        let count = slots.len() as u64;
        (count, self.record_hidden(slots, cause))
    }

    /// Notes why these slots' contents were hidden; returns their distinct bytes.
    fn record_hidden(&mut self, slots: impl IntoIterator<Item = Slot>, cause: LossCause) -> u64 {
        let mut seen = HashSet::new();
        let mut bytes = 0;
        for inode in slots.into_iter().filter_map(|s| s.inode) {
            self.hidden_by.insert(inode, cause);
            if seen.insert(inode) {
                bytes += size_of(self.layers, inode);
            }
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Entry;

    fn entry(path: &str, kind: EntryKind, size: u64, link: Option<&str>) -> Entry {
        Entry {
            link: link.map(Into::into),
            ..Entry::plain(path, kind, size)
        }
    }

    fn file(path: &str, size: u64) -> Entry {
        entry(path, EntryKind::File, size, None)
    }

    fn layer(entries: Vec<Entry>) -> LayerIndex {
        LayerIndex::of_entries(entries)
    }

    #[test]
    fn an_opaque_marker_over_nothing_is_no_removal() {
        let layers = vec![
            layer(vec![file("a", 5)]),
            layer(vec![entry("new", EntryKind::OpaqueWhiteout, 0, None), file("new/x", 3)]),
        ];
        let stack = Stack::build(&layers);
        assert!(stack.removals(1).is_empty(), "{:?}", stack.removals(1));
        assert_eq!(stack.changes()[1].removed_paths, 0);
        let layers = vec![
            layer(vec![file("d/old", 5)]),
            layer(vec![entry("d", EntryKind::OpaqueWhiteout, 0, None)]),
        ];
        let stack = Stack::build(&layers);
        assert_eq!(
            stack.removals(1).len(),
            1,
            "an opaque marker that hides something is listed"
        );
    }

    #[test]
    fn opaque_whiteout_at_the_root_hides_everything_below() {
        let layers = [
            layer(vec![file("a", 10), file("d/b", 20)]),
            layer(vec![entry("", EntryKind::OpaqueWhiteout, 0, None), file("c", 5)]),
        ];
        let stack = Stack::build(&layers);
        assert_eq!(stack.final_bytes(), 5);
        assert_eq!(stack.redundant_bytes(), 30);
        assert_eq!(stack.changes()[1].removed_paths, 2);
    }

    #[test]
    fn a_file_over_a_directory_hides_its_contents() {
        let layers = [layer(vec![file("d/x", 7), file("d/y", 3)]), layer(vec![file("d", 1)])];
        let stack = Stack::build(&layers);
        assert_eq!(stack.final_bytes(), 1);
        assert_eq!(stack.redundant_bytes(), 10);
        assert!(
            stack
                .lost_copies()
                .iter()
                .all(|l| l.cause == LossCause::ParentReplaced { by_layer: 1 })
        );
    }

    #[test]
    fn the_same_path_twice_in_one_layer_loses_the_first_copy() {
        let layers = [layer(vec![file("x", 4), file("x", 6)])];
        let stack = Stack::build(&layers);
        assert_eq!(stack.final_bytes(), 6);
        assert_eq!(stack.redundant_bytes(), 4);
        assert_eq!(stack.changes()[0].duplicate_paths, 1);
    }

    #[test]
    fn a_whiteout_acts_on_lower_layers_only_whatever_its_position() {
        // The new file comes before the whiteout in the tar; it must survive.
        let layers = [
            layer(vec![file("f", 3)]),
            layer(vec![file("f", 8), entry("f", EntryKind::Whiteout, 0, None)]),
        ];
        let stack = Stack::build(&layers);
        assert_eq!(stack.final_bytes(), 8);
        assert_eq!(stack.redundant_bytes(), 3);
    }

    #[test]
    fn hard_links_count_once_and_keep_bytes_alive() {
        let layers = [
            layer(vec![file("a", 100), entry("b", EntryKind::HardLink, 0, Some("a"))]),
            layer(vec![entry("a", EntryKind::Whiteout, 0, None)]),
        ];
        let stack = Stack::build(&layers);
        assert_eq!(stack.final_bytes(), 100, "b still shows the content");
        assert_eq!(stack.redundant_bytes(), 0);
        assert_eq!(stack.final_counts().hardlinks, 1);
    }

    #[test]
    fn a_dangling_hard_link_carries_no_bytes() {
        let layers = [layer(vec![entry("b", EntryKind::HardLink, 0, Some("missing"))])];
        let stack = Stack::build(&layers);
        assert_eq!(stack.final_bytes(), 0);
        assert_eq!(stack.shipped_bytes(), 0);
        assert_eq!(stack.changes()[0].dangling_hard_links, 1);
    }

    #[test]
    fn deleting_then_recreating_counts_the_old_copy_once() {
        let layers = [
            layer(vec![file("x", 10)]),
            layer(vec![file("x", 12)]),
            layer(vec![entry("x", EntryKind::Whiteout, 0, None)]),
        ];
        let stack = Stack::build(&layers);
        assert_eq!(stack.redundant_bytes(), 22);
        assert_eq!(stack.final_bytes(), 0);
    }
}
