//! `imgprof files`: one row per entry, as spreadsheets and jq pipelines want them, of the
//! final filesystem (what a container sees), of one layer, or of every layer's changes.
//! The rows come from the layer indexes and the analysis' per-copy classes; CSV and JSON
//! Lines only render them.

use std::collections::{BTreeMap, HashMap};

use imgprof_layers::{EntryKind, Inode, LayerIndex, Stack};
use imgprof_waste::FileClass;
use serde::Serialize;

use crate::Report;

/// Which entries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The final filesystem: every path a container sees, from the layer that wrote it
    /// (a directory no layer names but its contents imply: as a runtime makes it).
    Final,
    /// One layer's entries (its changeset: whiteouts included), in tar order.
    Layer(usize),
    /// Every layer's entries, bottom layer first.
    Changes,
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRow {
    /// From the image root, with a leading `/` (for a whiteout: the path it deletes).
    pub path: String,
    /// The layer whose entry this is.
    pub layer: usize,
    pub kind: &'static str,
    /// Content bytes (regular files; 0 for everything else), the report's `bytes`.
    pub bytes: u64,
    /// Permission bits in octal, as the tar header gives them (`0755`; a hard link: its
    /// file's).
    pub mode: String,
    /// Owner and group ids; none when the header's did not parse.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// A symlink's target as written, or the path a hard link names.
    pub link: Option<String>,
    /// The waste category of a file's content (docs/rules.md), as the report counts it.
    pub category: Option<&'static str>,
    /// The package that owns it (dpkg, apk or pip), as the report's package list names it.
    pub package: Option<String>,
    /// A whiteout: this layer deletes `path` (an opaque one: everything below it).
    pub whiteout: bool,
}

/// The rows of `selection`; `None` for a layer the image does not have.
pub fn rows(
    layers: &[LayerIndex],
    classes: &[FileClass],
    report: &Report,
    selection: Selection,
) -> Option<Vec<FileRow>> {
    let classes: HashMap<Inode, &FileClass> = classes.iter().map(|c| (c.inode, c)).collect();
    let row = |layer: usize, entry: usize, inode: Option<Inode>| {
        let e = &layers[layer].entries[entry];
        let class = inode.and_then(|i| classes.get(&i));
        // A hard link is its file: the mode and owner a container sees are the file's.
        let file = inode.map_or(e, |i| &layers[i.layer as usize].entries[i.entry as usize]);
        FileRow {
            path: format!("/{}", e.path),
            layer,
            kind: kind_name(e.kind),
            bytes: e.content_size(),
            mode: format!("{:04o}", file.mode & 0o7777),
            uid: (file.uid != u32::MAX).then_some(file.uid),
            gid: (file.gid != u32::MAX).then_some(file.gid),
            link: e.link.as_deref().map(str::to_owned),
            category: class.map(|c| c.category),
            package: class
                .and_then(|c| c.package)
                .and_then(|p| report.packages.list.get(p))
                .map(|p| p.name.clone()),
            whiteout: matches!(e.kind, EntryKind::Whiteout | EntryKind::OpaqueWhiteout),
        }
    };
    let own_inode = |layer: usize, entry: usize| {
        (layers[layer].entries[entry].kind == EntryKind::File).then_some(Inode {
            layer: layer as u32,
            entry: entry as u32,
        })
    };
    let of_layer = |layer: usize| (0..layers[layer].entries.len()).map(move |e| row(layer, e, own_inode(layer, e)));
    Some(match selection {
        Selection::Final => with_implied_directories(
            Stack::build(layers)
                .visible()
                .map(|(_, slot)| row(slot.layer as usize, slot.entry as usize, slot.inode))
                .collect(),
        ),
        Selection::Layer(layer) if layer < layers.len() => of_layer(layer).collect(),
        Selection::Layer(_) => return None,
        Selection::Changes => (0..layers.len()).flat_map(of_layer).collect(),
    })
}

/// `rows` (in path order) with the directories a runtime makes for entries whose parent
/// no layer names: mode 0755, owned by root, from the layer of the first entry below.
fn with_implied_directories(rows: Vec<FileRow>) -> Vec<FileRow> {
    let named: std::collections::HashSet<String> = rows.iter().map(|r| r.path.clone()).collect();
    let mut implied: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        let mut parent = row.path.as_str();
        while let Some((dir, _)) = parent.rsplit_once('/') {
            if dir.is_empty() || named.contains(dir) {
                break;
            }
            implied.entry(dir.to_owned()).or_insert(row.layer);
            parent = dir;
        }
    }
    if implied.is_empty() {
        return rows;
    }
    let mut all = rows;
    all.extend(implied.into_iter().map(|(path, layer)| FileRow {
        path,
        layer,
        kind: "dir",
        bytes: 0,
        mode: "0755".to_owned(),
        uid: Some(0),
        gid: Some(0),
        link: None,
        category: None,
        package: None,
        whiteout: false,
    }));
    all.sort_by(|a, b| a.path.cmp(&b.path));
    all
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Symlink => "symlink",
        EntryKind::HardLink => "hardlink",
        EntryKind::CharDevice => "char-device",
        EntryKind::BlockDevice => "block-device",
        EntryKind::Fifo => "fifo",
        EntryKind::Whiteout => "whiteout",
        EntryKind::OpaqueWhiteout => "opaque-whiteout",
    }
}

/// The rows as CSV with a header line (RFC 4180 quoting).
pub fn to_csv(rows: &[FileRow]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    let bytes = writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The rows as JSON Lines: one object per line.
pub fn to_json_lines(rows: &[FileRow]) -> String {
    let mut out = String::new();
    for row in rows {
        // A row of strings, numbers and booleans always serializes.
        if let Ok(line) = serde_json::to_string(row) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
