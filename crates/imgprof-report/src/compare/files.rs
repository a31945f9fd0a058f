//! The file side of a comparison: every non-directory path of the two final filesystems,
//! matched by path, then aggregated under directories so that a change of 40,000 files
//! reads as a few lines.
//!
//! A path's bytes are its content's, counted once per content as `final_bytes` counts
//! them: a hard-linked content belongs to the first of its paths (path order), its other
//! paths hold 0 bytes. So the file deltas add up to the `final_bytes` delta exactly.

use std::collections::{BTreeMap, HashMap, HashSet};

use schemars::JsonSchema;
use serde::Serialize;

use imgprof_layers::{EntryKind, Stack};

/// The non-directory paths of a final filesystem and their bytes.
#[derive(Debug, Clone, Default)]
pub struct FinalFiles {
    /// Normalised path (no leading `/`) → bytes.
    bytes: BTreeMap<String, u64>,
}

impl FinalFiles {
    pub fn of(stack: &Stack<'_>) -> FinalFiles {
        let layers = stack.layers();
        let mut seen = HashSet::new();
        let bytes = stack
            .visible()
            .filter(|&(_, slot)| stack.entry(slot).kind != EntryKind::Dir)
            .map(|(path, slot)| {
                let bytes = slot
                    .inode
                    .filter(|inode| seen.insert(*inode))
                    .and_then(|inode| layers.get(inode.layer as usize)?.entries.get(inode.entry as usize))
                    .map_or(0, |entry| entry.size);
                (path.to_owned(), bytes)
            })
            .collect();
        FinalFiles { bytes }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeKind {
    Added,
    Removed,
    Grown,
    Shrunk,
}

impl FileChangeKind {
    const ALL: [FileChangeKind; 4] = [
        FileChangeKind::Added,
        FileChangeKind::Removed,
        FileChangeKind::Grown,
        FileChangeKind::Shrunk,
    ];

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// One line of the file list: a path, or a directory (`/usr/lib/gcc/`) whose changed
/// paths are all of one kind.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileChange {
    /// Absolute; a directory ends with `/`.
    pub path: String,
    pub kind: FileChangeKind,
    /// Changed paths this line stands for.
    pub files: u64,
    pub a_bytes: u64,
    pub b_bytes: u64,
    pub delta: i64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, JsonSchema)]
pub struct FileKindTotals {
    pub files: u64,
    pub delta: i64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, JsonSchema)]
pub struct OtherFileChanges {
    pub lines: usize,
    pub files: u64,
    pub delta: i64,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct FileChanges {
    pub added: FileKindTotals,
    pub removed: FileKindTotals,
    pub grown: FileKindTotals,
    pub shrunk: FileKindTotals,
    /// Paths in both with the same bytes.
    pub unchanged_files: u64,
    /// Most bytes changed first (`--top`); Σ delta over `lines` and `other` is the
    /// `final_bytes` delta.
    pub lines: Vec<FileChange>,
    /// The lines `--top` left out.
    pub other: OtherFileChanges,
}

/// One changed path.
struct PathChange<'a> {
    path: &'a str,
    kind: FileChangeKind,
    a_bytes: u64,
    b_bytes: u64,
}

/// What changed under a directory.
#[derive(Default)]
struct Under {
    kinds: u8,
    files: u64,
}

pub(super) fn changes(a: &FinalFiles, b: &FinalFiles, top: usize) -> FileChanges {
    let (changed, unchanged_files) = path_changes(a, b);
    let mut result = FileChanges {
        unchanged_files,
        ..FileChanges::default()
    };
    for kind in FileChangeKind::ALL {
        let totals = match kind {
            FileChangeKind::Added => &mut result.added,
            FileChangeKind::Removed => &mut result.removed,
            FileChangeKind::Grown => &mut result.grown,
            FileChangeKind::Shrunk => &mut result.shrunk,
        };
        for c in changed.iter().filter(|c| c.kind == kind) {
            totals.files += 1;
            totals.delta += super::signed_difference(c.a_bytes, c.b_bytes);
        }
    }
    let mut lines = aggregate(&changed, top);
    lines.sort_by(|x, y| {
        y.delta
            .unsigned_abs()
            .cmp(&x.delta.unsigned_abs())
            .then_with(|| x.path.cmp(&y.path))
    });
    let rest = lines.split_off(top.min(lines.len()));
    result.other = OtherFileChanges {
        lines: rest.len(),
        files: rest.iter().map(|l| l.files).sum(),
        delta: rest.iter().map(|l| l.delta).sum(),
    };
    result.lines = lines;
    result
}

/// The changed paths in path order, and how many paths are unchanged.
fn path_changes<'a>(a: &'a FinalFiles, b: &'a FinalFiles) -> (Vec<PathChange<'a>>, u64) {
    let mut changed = Vec::new();
    let mut unchanged = 0;
    let mut paths: Vec<&str> = a.bytes.keys().chain(b.bytes.keys()).map(String::as_str).collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let (x, y) = (a.bytes.get(path).copied(), b.bytes.get(path).copied());
        let (kind, a_bytes, b_bytes) = match (x, y) {
            (None, Some(y)) => (FileChangeKind::Added, 0, y),
            (Some(x), None) => (FileChangeKind::Removed, x, 0),
            (Some(x), Some(y)) if y > x => (FileChangeKind::Grown, x, y),
            (Some(x), Some(y)) if y < x => (FileChangeKind::Shrunk, x, y),
            _ => {
                unchanged += 1;
                continue;
            }
        };
        changed.push(PathChange {
            path,
            kind,
            a_bytes,
            b_bytes,
        });
    }
    (changed, unchanged)
}

/// The directories above `path`, shortest first (`usr/`, `usr/lib/`), never the root.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(at, _)| &path[..=at])
}

/// Changed paths shown as one line: indexes into the changes (in path order), all of
/// one kind.
struct Group {
    kind: FileChangeKind,
    members: Vec<usize>,
}

impl Group {
    /// The one path, or the deepest directory holding every member (`usr/lib/gcc/`).
    fn path<'a>(&self, changed: &[PathChange<'a>]) -> &'a str {
        let (Some(&first), Some(&last)) = (self.members.first(), self.members.last()) else {
            return "";
        };
        let (first, last) = (changed[first].path, changed[last].path);
        if self.members.len() == 1 {
            return first;
        }
        // Members are in path order: the first and the last share what all share.
        let common = first
            .char_indices()
            .zip(last.chars())
            .find(|((_, x), y)| x != y)
            .map_or(first.len().min(last.len()), |((at, _), _)| at);
        first[..common].rfind('/').map_or("", |slash| &first[..=slash])
    }

    fn delta(&self, changed: &[PathChange<'_>]) -> i64 {
        let (a, b) = self
            .members
            .iter()
            .fold((0, 0), |(a, b), &i| (a + changed[i].a_bytes, b + changed[i].b_bytes));
        super::signed_difference(a, b)
    }

    /// The groups one level below this one's directory.
    fn children(&self, changed: &[PathChange<'_>]) -> Vec<Group> {
        let dir = self.path(changed);
        let mut children: BTreeMap<&str, Group> = BTreeMap::new();
        for &i in &self.members {
            let path = changed[i].path;
            let rest = &path[dir.len()..];
            let child = rest.find('/').map_or(path, |slash| &path[..dir.len() + slash + 1]);
            children
                .entry(child)
                .or_insert_with(|| Group {
                    kind: self.kind,
                    members: Vec::new(),
                })
                .members
                .push(i);
        }
        children.into_values().collect()
    }

    fn line(&self, changed: &[PathChange<'_>]) -> FileChange {
        let (a_bytes, b_bytes) = self
            .members
            .iter()
            .fold((0, 0), |(a, b), &i| (a + changed[i].a_bytes, b + changed[i].b_bytes));
        FileChange {
            path: format!("/{}", self.path(changed)),
            kind: self.kind,
            files: self.members.len() as u64,
            a_bytes,
            b_bytes,
            delta: super::signed_difference(a_bytes, b_bytes),
        }
    }
}

/// The file list, largest first. First, a directory whose changed paths (two or more)
/// are all of one kind is one line: the shortest such directory above each path. Then
/// large directory lines among the `top` shown are split into their subdirectories while
/// that only pushes out lines a hundred times smaller, so 18,000 removed files under
/// `/usr/` read as `/usr/lib/gcc/`, `/usr/share/doc/`, ... and not as one line.
fn aggregate(changed: &[PathChange<'_>], top: usize) -> Vec<FileChange> {
    let mut under: HashMap<&str, Under> = HashMap::new();
    for c in changed {
        for dir in ancestors(c.path) {
            let entry = under.entry(dir).or_default();
            entry.kinds |= c.kind.bit();
            entry.files += 1;
        }
    }
    let mut by_line: BTreeMap<(&str, u8), Group> = BTreeMap::new();
    for (i, c) in changed.iter().enumerate() {
        let line_path = ancestors(c.path)
            .find(|dir| under.get(dir).is_some_and(|u| u.files > 1 && u.kinds == c.kind.bit()))
            .unwrap_or(c.path);
        by_line
            .entry((line_path, c.kind.bit()))
            .or_insert_with(|| Group {
                kind: c.kind,
                members: Vec::new(),
            })
            .members
            .push(i);
    }
    let mut groups: Vec<Group> = by_line.into_values().collect();
    // Each split shows more of the largest lines; bounded, as scattered changes could
    // otherwise split line after line.
    for _ in 0..top.saturating_mul(4) {
        groups.sort_by_key(|g| std::cmp::Reverse(g.delta(changed).unsigned_abs()));
        let Some((at, children)) = next_split(&groups, changed, top) else {
            break;
        };
        groups.splice(at..=at, children);
    }
    groups.iter().map(|g| g.line(changed)).collect()
}

/// The largest directory line among the first `top` (sorted) worth splitting, and its
/// parts: its subdirectories may only take empty places or those of lines a hundred
/// times smaller than it.
fn next_split(groups: &[Group], changed: &[PathChange<'_>], top: usize) -> Option<(usize, Vec<Group>)> {
    let shown = &groups[..top.min(groups.len())];
    let empty = top.saturating_sub(groups.len());
    shown.iter().enumerate().find_map(|(at, group)| {
        if group.members.len() < 2 {
            return None;
        }
        let size = group.delta(changed).unsigned_abs();
        let small = shown
            .iter()
            .filter(|g| g.delta(changed).unsigned_abs().saturating_mul(100) < size)
            .count();
        let children = group.children(changed);
        (children.len() > 1 && children.len() - 1 <= empty + small).then_some((at, children))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, u64)]) -> FinalFiles {
        FinalFiles {
            bytes: list.iter().map(|(p, b)| ((*p).to_owned(), *b)).collect(),
        }
    }

    #[test]
    fn a_directory_of_one_kind_is_one_line() {
        let mut before = vec![("usr/bin/python3", 100), ("usr/bin/gcc", 40), ("etc/os-release", 5)];
        let gcc: Vec<String> = (0..1000).map(|i| format!("usr/lib/gcc/12/f{i}")).collect();
        before.extend(gcc.iter().map(|p| (p.as_str(), 3)));
        let after = [("usr/bin/python3", 120), ("etc/os-release", 5), ("app/main.py", 7)];
        let changes = changes(&files(&before), &files(&after), 20);
        let lines: Vec<(&str, FileChangeKind, u64, i64)> = changes
            .lines
            .iter()
            .map(|l| (l.path.as_str(), l.kind, l.files, l.delta))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("/usr/lib/gcc/12/", FileChangeKind::Removed, 1000, -3000),
                ("/usr/bin/gcc", FileChangeKind::Removed, 1, -40),
                ("/usr/bin/python3", FileChangeKind::Grown, 1, 20),
                ("/app/main.py", FileChangeKind::Added, 1, 7),
            ]
        );
        assert_eq!(changes.unchanged_files, 1);
        assert_eq!(changes.removed.files, 1001);
        let total: i64 = changes.lines.iter().map(|l| l.delta).sum();
        assert_eq!(total, 120 + 5 + 7 - (100 + 40 + 5 + 3000) as i64);
    }

    #[test]
    fn top_keeps_the_largest_and_sums_the_rest() {
        let after: Vec<(String, u64)> = (1..=5).map(|i| (format!("d{i}/f"), i * 10)).collect();
        let after: Vec<(&str, u64)> = after.iter().map(|(p, b)| (p.as_str(), *b)).collect();
        let changes = changes(&files(&[]), &files(&after), 2);
        assert_eq!(changes.lines.len(), 2);
        assert_eq!(changes.lines[0].path, "/d5/f");
        assert_eq!(
            (changes.other.lines, changes.other.files, changes.other.delta),
            (3, 3, 60)
        );
    }
}
