//! `LayerIndex`: everything imgprof keeps of one layer after streaming it once. It is a
//! pure function of the layer's bytes, so it can be cached by digest.

use imgprof_source::Digest;
use serde::{Deserialize, Serialize};

use crate::compression::Compression;

/// The version of what a [`LayerIndex`] holds for given layer bytes. Stored indexes (the
/// layer cache) are keyed by it: bump it whenever `LayerIndex` or a type inside it changes
/// shape, or the walk records something different for the same bytes (a new field, another
/// hash, another path rule). The cache's tests pin a sample encoding so that a shape
/// change fails them until this is bumped.
pub const INDEX_VERSION: u32 = 2;

/// What a tar entry is, with whiteouts already recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    HardLink,
    CharDevice,
    BlockDevice,
    Fifo,
    /// `.wh.NAME`: deletes `path` (and, for a directory, everything below it) from lower
    /// layers. `path` is the deleted path, not the marker's name.
    Whiteout,
    /// `.wh..wh..opq`: hides everything below `path` in lower layers (`path` is the
    /// directory; empty for the root).
    OpaqueWhiteout,
}

impl EntryKind {
    pub fn is_whiteout(self) -> bool {
        matches!(self, EntryKind::Whiteout | EntryKind::OpaqueWhiteout)
    }
}

/// One entry of a layer's tar stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Normalised: no leading `/` or `./`, no trailing `/`, `..` resolved.
    pub path: Box<str>,
    pub kind: EntryKind,
    /// The size the tar header records: the apparent size for regular files (sparse files
    /// included), normally 0 for everything else. See [`Entry::content_size`].
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// xxh3 of a regular file's content; 0 when not computed (empty files, and files of
    /// an uncompressed layer whose size no other file shares: they cannot have a twin).
    pub hash: u64,
    /// Symlink target as written, or the normalised path a hard link points to.
    pub link: Option<Box<str>>,
}

impl Entry {
    /// An entry owned by root, mode 0644, without a content hash or a link: for tests and
    /// generated trees.
    pub fn plain(path: &str, kind: EntryKind, size: u64) -> Entry {
        Entry {
            path: path.into(),
            kind,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            hash: 0,
            link: None,
        }
    }

    /// Bytes of content this entry brings: its size for a regular file, 0 otherwise (a
    /// hard link shares its target's bytes; a link's header size is not content).
    pub fn content_size(&self) -> u64 {
        if self.kind == EntryKind::File { self.size } else { 0 }
    }
}

/// Entry counts of one layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryCounts {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Devices and FIFOs.
    pub special: u64,
    pub whiteouts: u64,
    pub opaque_whiteouts: u64,
}

/// The analysis of one layer blob, verified against its digests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerIndex {
    pub compression: Compression,
    /// Bytes of the blob as stored.
    pub compressed_bytes: u64,
    /// Bytes of the uncompressed tar stream (headers and padding included).
    pub tar_bytes: u64,
    /// sha256 of the stored blob.
    pub digest: Digest,
    /// sha256 of the uncompressed tar stream.
    pub diff_id: Digest,
    pub entries: Vec<Entry>,
    /// Leading content of the files the capture policy asked for, by entry index.
    pub captured: Vec<CapturedFile>,
    /// Entries whose names were absolute (`/etc/x`), shown relative to the root.
    pub absolute_paths: u64,
}

/// The leading bytes of one regular file, kept for later analyses (package databases,
/// configs, file headers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedFile {
    /// Index into the layer's `entries`.
    pub entry: u32,
    pub content: Vec<u8>,
}

impl LayerIndex {
    /// An index of `entries` with no blob behind it (uncompressed, no bytes, the digests
    /// of nothing, no captures): for tests and generated trees.
    pub fn of_entries(entries: Vec<Entry>) -> LayerIndex {
        LayerIndex {
            compression: Compression::None,
            compressed_bytes: 0,
            tar_bytes: 0,
            digest: Digest::of(b""),
            diff_id: Digest::of(b""),
            entries,
            captured: Vec::new(),
            absolute_paths: 0,
        }
    }

    /// The captured content of entry `entry`, if the capture policy kept it.
    pub fn captured(&self, entry: u32) -> Option<&[u8]> {
        self.captured
            .binary_search_by_key(&entry, |c| c.entry)
            .ok()
            .map(|i| self.captured[i].content.as_slice())
    }

    /// Σ of the content sizes of regular files: what the layer adds to a filesystem.
    pub fn content_bytes(&self) -> u64 {
        self.entries.iter().map(Entry::content_size).sum()
    }

    pub fn counts(&self) -> EntryCounts {
        let mut c = EntryCounts::default();
        for e in &self.entries {
            let slot = match e.kind {
                EntryKind::File => &mut c.files,
                EntryKind::Dir => &mut c.dirs,
                EntryKind::Symlink => &mut c.symlinks,
                EntryKind::HardLink => &mut c.hardlinks,
                EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo => &mut c.special,
                EntryKind::Whiteout => &mut c.whiteouts,
                EntryKind::OpaqueWhiteout => &mut c.opaque_whiteouts,
            };
            *slot += 1;
        }
        c
    }
}
