//! `FinalFs`: the final filesystem as the analyses see it: look-ups through symlinked
//! directories (merged /usr), captured contents, and one owner path per content.

use std::collections::HashMap;

use imgprof_layers::{EntryKind, Inode, LayerIndex, Slot, Stack};

/// The captured content of the file visible at `path` (needs no [`FinalFs`], whose
/// construction walks every visible path).
pub(crate) fn captured_at<'a>(stack: &Stack<'a>, path: &str) -> Option<&'a [u8]> {
    let inode = stack.get(path)?.inode?;
    stack.layers()[inode.layer as usize].captured(inode.entry)
}

/// The size of the content visible at `path`.
pub(crate) fn size_at(stack: &Stack<'_>, path: &str) -> Option<u64> {
    let inode = stack.get(path)?.inode?;
    Some(stack.layers()[inode.layer as usize].entries[inode.entry as usize].size)
}

pub struct FinalFs<'s, 'a> {
    pub stack: &'s Stack<'a>,
    /// The path that carries each visible content whose regular-file entry is hidden: its
    /// first visible hard link (in path order). A content whose own entry is visible is
    /// carried there, so nothing is kept for it (a million files cost nothing here).
    owner_of_hidden_inode: HashMap<Inode, &'a str>,
}

/// A visible file with content.
#[derive(Debug, Clone, Copy)]
pub struct FinalFile<'a> {
    pub path: &'a str,
    pub slot: Slot,
    pub inode: Inode,
    pub bytes: u64,
}

impl<'s, 'a> FinalFs<'s, 'a> {
    pub fn new(stack: &'s Stack<'a>) -> Self {
        let mut owner_of_hidden_inode: HashMap<Inode, &'a str> = HashMap::new();
        for (path, slot) in stack.visible() {
            let Some(inode) = slot.inode else { continue };
            if !is_data_entry(slot, inode) && !data_entry_visible(stack, inode) {
                owner_of_hidden_inode.entry(inode).or_insert(path);
            }
        }
        FinalFs {
            stack,
            owner_of_hidden_inode,
        }
    }

    pub fn layers(&self) -> &'a [LayerIndex] {
        self.stack.layers()
    }

    /// Every visible content once, at its owner path.
    pub fn files(&self) -> impl Iterator<Item = FinalFile<'a>> + '_ {
        self.stack.visible().filter_map(move |(path, slot)| {
            let inode = slot.inode?;
            let owns = is_data_entry(slot, inode) || self.owner_of_hidden_inode.get(&inode) == Some(&path);
            owns.then(|| FinalFile {
                path,
                slot,
                inode,
                bytes: self.size(inode),
            })
        })
    }

    pub fn size(&self, inode: Inode) -> u64 {
        self.layers()[inode.layer as usize].entries[inode.entry as usize].size
    }

    /// The captured content of the file visible at `path`.
    pub fn content(&self, path: &str) -> Option<&'a [u8]> {
        captured_at(self.stack, path)
    }

    /// Captured contents of visible files whose paths satisfy `wanted`.
    pub fn contents(&self, wanted: impl Fn(&str) -> bool) -> Vec<(&'a str, &'a [u8])> {
        self.stack
            .visible()
            .filter(|(path, _)| wanted(path))
            .filter_map(|(path, slot)| {
                let inode = slot.inode?;
                Some((path, self.layers()[inode.layer as usize].captured(inode.entry)?))
            })
            .collect()
    }

    /// The visible slot at `path`, following symlinked directories on the way (so
    /// `bin/bash` finds `usr/bin/bash` when `bin -> usr/bin`); the last component is not
    /// followed.
    fn get(&self, path: &str) -> Option<Slot> {
        self.stack.get(path)
    }

    pub fn lookup(&self, path: &str) -> Option<(String, Slot)> {
        if let Some(slot) = self.get(path) {
            return Some((path.to_owned(), slot));
        }
        let mut pending: Vec<String> = path
            .split('/')
            .rev()
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => resolved.push(part),
            }
            if pending.is_empty() {
                break;
            }
            let current = resolved.join("/");
            let slot = self.get(&current)?;
            let entry = self.stack.entry(slot);
            if entry.kind == EntryKind::Symlink {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = entry.link.as_deref().unwrap_or("");
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(target.split('/').rev().filter(|p| !p.is_empty()).map(str::to_owned));
            }
        }
        let joined = resolved.join("/");
        let slot = self.get(&joined)?;
        Some((joined, slot))
    }
}

/// Whether `slot` shows the regular-file entry that holds `inode`'s bytes (not a link to it).
fn is_data_entry(slot: Slot, inode: Inode) -> bool {
    inode.layer == slot.layer && inode.entry == slot.entry
}

/// Whether the regular-file entry holding `inode`'s bytes is itself visible.
fn data_entry_visible(stack: &Stack<'_>, inode: Inode) -> bool {
    let entry = &stack.layers()[inode.layer as usize].entries[inode.entry as usize];
    stack.get(&entry.path).is_some_and(|slot| is_data_entry(slot, inode))
}
