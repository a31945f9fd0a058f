//! A minimal read-only reader of bbolt databases (go.etcd.io/bbolt, file format version 2),
//! enough to walk containerd's `meta.db`: the meta pages, branch and leaf pages (with their
//! overflow pages), nested buckets and inline buckets.
//!
//! The file is read whole with plain reads: no lock is taken (containerd holds an exclusive
//! `flock` on it while it runs, and a shared one would block its writers), nothing is
//! written. bbolt never overwrites a page the current meta page reaches; a commit writes
//! its pages first and the meta page last, so a copy whose meta pages read the same before
//! and after it is consistent. [`Db::open`] retries a copy taken while a commit landed.
//!
//! Every offset and length read from the file is bounds-checked; a damaged file is a
//! [`BoltError`], never a panic. Integers are little-endian, as bbolt writes them on the
//! platforms containerd runs on (amd64, arm64, ...).

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

/// bbolt's magic number (`common.Magic`).
const MAGIC: u32 = 0xED0C_DAED;
/// The data file format version this reader knows (`common.Version`).
const VERSION: u32 = 2;
/// `id u64, flags u16, count u16, overflow u32`.
const PAGE_HEADER: usize = 16;
/// Branch element: `pos u32, ksize u32, pgid u64`; leaf element: `flags, pos, ksize, vsize u32`.
const ELEMENT: usize = 16;
/// A bucket value starts with `root pgid u64, sequence u64`; an inline page follows when
/// `root` is 0.
const BUCKET_HEADER: usize = 16;
/// The meta fields before `checksum`, which is FNV-1a 64 of them.
const META_CHECKED: usize = 56;

const BRANCH_PAGE: u16 = 0x01;
const LEAF_PAGE: u16 = 0x02;
const META_PAGE: u16 = 0x04;
/// A leaf element whose value is a bucket.
const BUCKET_LEAF: u32 = 0x01;

/// Deepest B+tree imgprof follows (bbolt's trees are a few levels deep).
const MAX_TREE_DEPTH: usize = 32;
/// Largest database read into memory.
pub const MAX_FILE_BYTES: u64 = 2 << 30;
/// Copies taken before giving up on a database being written to all the time.
const READ_ATTEMPTS: usize = 5;

/// What is wrong with a bbolt file.
#[derive(Debug, thiserror::Error)]
pub enum BoltError {
    #[error("cannot read the file")]
    Io(#[from] std::io::Error),
    #[error("{0} bytes is too short for a bbolt database")]
    TooShort(u64),
    #[error("{0} bytes is larger than imgprof reads ({MAX_FILE_BYTES})")]
    TooLarge(u64),
    #[error("not a bbolt database (bad magic number {0:#010x})")]
    BadMagic(u32),
    #[error("bbolt file format version {0} is not supported (expected {VERSION})")]
    UnsupportedVersion(u32),
    #[error("neither meta page is valid (checksum mismatch)")]
    NoValidMeta,
    #[error("page size {0} is not supported")]
    BadPageSize(u32),
    #[error("page {page} lies outside the file")]
    PageOutOfBounds { page: u64 },
    #[error("page {page}: {reason}")]
    Corrupt { page: u64, reason: &'static str },
    #[error("the database kept changing while it was read ({READ_ATTEMPTS} attempts)")]
    Unstable,
}

type Result<T> = std::result::Result<T, BoltError>;

/// A consistent copy of a bbolt database.
#[derive(Debug)]
pub struct Db {
    data: Vec<u8>,
    page_size: usize,
    /// The root bucket's page.
    root: u64,
    /// The first page id past the end of the data (`meta.pgid`).
    high_water: u64,
}

/// The entries of one bucket, in key order.
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    db: &'a Db,
    root: Root<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Root<'a> {
    Page(u64),
    /// An inline bucket: its one leaf page lives inside the parent's value.
    Inline(&'a [u8]),
}

/// A value in a bucket: plain bytes or a nested bucket.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Data(&'a [u8]),
    Bucket(Bucket<'a>),
}

/// A parsed meta page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Meta {
    page_size: u32,
    root: u64,
    high_water: u64,
    txid: u64,
}

impl Db {
    /// Reads the database at `path` without locking or writing it.
    pub fn open(path: &Path) -> Result<Db> {
        for _ in 0..READ_ATTEMPTS {
            let data = read_file(path)?;
            let db = Db::from_bytes(data)?;
            // A commit that landed while the copy was taken rewrote a meta page.
            let mut again = vec![0; 2 * db.page_size];
            let mut file = std::fs::File::open(path)?;
            file.read_exact(&mut again)?;
            if db.data.get(..again.len()) == Some(&again[..]) {
                return Ok(db);
            }
        }
        Err(BoltError::Unstable)
    }

    /// Parses a database held in memory.
    pub fn from_bytes(data: Vec<u8>) -> Result<Db> {
        let len = data.len() as u64;
        if data.len() < PAGE_HEADER + META_CHECKED + 8 {
            return Err(BoltError::TooShort(len));
        }
        // Page 0's meta says the page size; if it is damaged, page 1 is looked for at
        // each page size bbolt allows, as bbolt itself does.
        let first = parse_meta(&data, 0);
        let page_size = match &first {
            Ok(meta) => meta.page_size,
            Err(_) => (0..=14)
                .map(|shift| 1024usize << shift)
                .find_map(|offset| parse_meta(&data, offset).ok().map(|m| m.page_size))
                .ok_or(match &first {
                    Err(BoltError::BadMagic(m)) => BoltError::BadMagic(*m),
                    Err(BoltError::UnsupportedVersion(v)) => BoltError::UnsupportedVersion(*v),
                    _ => BoltError::NoValidMeta,
                })?,
        };
        if !(1024..=(1 << 24)).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(BoltError::BadPageSize(page_size));
        }
        let page_size = page_size as usize;
        let second = parse_meta(&data, page_size);
        let meta = match (first, second) {
            (Ok(a), Ok(b)) => {
                if b.txid > a.txid {
                    b
                } else {
                    a
                }
            }
            (Ok(m), Err(_)) | (Err(_), Ok(m)) => m,
            (Err(e), Err(_)) => return Err(e),
        };
        if meta.page_size as usize != page_size {
            return Err(BoltError::BadPageSize(meta.page_size));
        }
        let db = Db {
            data,
            page_size,
            root: meta.root,
            high_water: meta.high_water,
        };
        // The root page must at least be there.
        db.page(meta.root)?;
        Ok(db)
    }

    /// The root bucket, whose entries are the top-level buckets.
    pub fn root(&self) -> Bucket<'_> {
        Bucket {
            db: self,
            root: Root::Page(self.root),
        }
    }

    /// The bytes of page `id` with its overflow pages.
    fn page(&self, id: u64) -> Result<&[u8]> {
        let out = || BoltError::PageOutOfBounds { page: id };
        if id >= self.high_water {
            return Err(out());
        }
        let start = usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_mul(self.page_size))
            .ok_or_else(out)?;
        let header = self.data.get(start..start + PAGE_HEADER).ok_or_else(out)?;
        if u64_at(header, 0) != Some(id) {
            return Err(BoltError::Corrupt {
                page: id,
                reason: "the page does not carry its own id",
            });
        }
        let overflow = u32_at(header, 12).ok_or_else(out)? as usize;
        let len = overflow
            .checked_add(1)
            .and_then(|n| n.checked_mul(self.page_size))
            .ok_or_else(out)?;
        let end = start.checked_add(len).ok_or_else(out)?;
        self.data.get(start..end).ok_or_else(out)
    }
}

impl<'a> Bucket<'a> {
    /// The value stored under `key`, if any.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value<'a>>> {
        Ok(self.entries()?.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v))
    }

    /// The nested bucket under `key`; `None` when there is none (or it holds plain bytes).
    pub fn bucket(&self, key: &[u8]) -> Result<Option<Bucket<'a>>> {
        Ok(match self.get(key)? {
            Some(Value::Bucket(bucket)) => Some(bucket),
            _ => None,
        })
    }

    /// The plain value under `key`; `None` when there is none (or it is a bucket).
    pub fn data(&self, key: &[u8]) -> Result<Option<&'a [u8]>> {
        Ok(match self.get(key)? {
            Some(Value::Data(data)) => Some(data),
            _ => None,
        })
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> Result<Vec<(&'a [u8], Value<'a>)>> {
        let mut out = Vec::new();
        match self.root {
            Root::Inline(page) => self.leaf(page, 0, &mut out)?,
            Root::Page(id) => {
                let mut seen = HashSet::new();
                self.walk(id, 0, &mut seen, &mut out)?;
            }
        }
        Ok(out)
    }

    fn walk(&self, id: u64, depth: usize, seen: &mut HashSet<u64>, out: &mut Vec<(&'a [u8], Value<'a>)>) -> Result<()> {
        let corrupt = |reason| BoltError::Corrupt { page: id, reason };
        if depth > MAX_TREE_DEPTH {
            return Err(corrupt("the tree is deeper than any bbolt writes"));
        }
        if !seen.insert(id) {
            return Err(corrupt("the page is reached twice in one tree"));
        }
        let page = self.db.page(id)?;
        let flags = u16_at(page, 8).ok_or_else(|| corrupt("short header"))?;
        match flags {
            LEAF_PAGE => self.leaf(page, id, out),
            BRANCH_PAGE => {
                for i in 0..count(page, id)? {
                    let element = element(page, i, id)?;
                    let child = u64_at(element, 8).ok_or_else(|| corrupt("short branch element"))?;
                    self.walk(child, depth + 1, seen, out)?;
                }
                Ok(())
            }
            _ => Err(corrupt("expected a branch or leaf page")),
        }
    }

    /// The entries of one leaf page (`id` 0 for an inline one).
    fn leaf(&self, page: &'a [u8], id: u64, out: &mut Vec<(&'a [u8], Value<'a>)>) -> Result<()> {
        let corrupt = |reason| BoltError::Corrupt { page: id, reason };
        if u16_at(page, 8) != Some(LEAF_PAGE) {
            return Err(corrupt("expected a leaf page"));
        }
        for i in 0..count(page, id)? {
            let at = PAGE_HEADER + i * ELEMENT;
            let element = element(page, i, id)?;
            let field = |offset| u32_at(element, offset).map(|v| v as usize);
            let (Some(flags), Some(pos), Some(ksize), Some(vsize)) = (field(0), field(4), field(8), field(12)) else {
                return Err(corrupt("short leaf element"));
            };
            // Positions count from the element itself.
            let key_start = at.checked_add(pos).ok_or_else(|| corrupt("key offset overflows"))?;
            let key_end = key_start.checked_add(ksize).ok_or_else(|| corrupt("key overflows"))?;
            let value_end = key_end.checked_add(vsize).ok_or_else(|| corrupt("value overflows"))?;
            let key = page
                .get(key_start..key_end)
                .ok_or_else(|| corrupt("a key lies outside its page"))?;
            let value = page
                .get(key_end..value_end)
                .ok_or_else(|| corrupt("a value lies outside its page"))?;
            let value = if flags as u32 & BUCKET_LEAF != 0 {
                Value::Bucket(self.nested(value, id)?)
            } else {
                Value::Data(value)
            };
            out.push((key, value));
        }
        Ok(())
    }

    fn nested(&self, value: &'a [u8], id: u64) -> Result<Bucket<'a>> {
        let root = u64_at(value, 0).ok_or(BoltError::Corrupt {
            page: id,
            reason: "a bucket value is shorter than its header",
        })?;
        let root = if root == 0 {
            Root::Inline(value.get(BUCKET_HEADER..).unwrap_or_default())
        } else {
            Root::Page(root)
        };
        Ok(Bucket { db: self.db, root })
    }
}

fn count(page: &[u8], id: u64) -> Result<usize> {
    let count = u16_at(page, 10).ok_or(BoltError::Corrupt {
        page: id,
        reason: "short header",
    })? as usize;
    if PAGE_HEADER + count * ELEMENT > page.len() {
        return Err(BoltError::Corrupt {
            page: id,
            reason: "more elements than the page holds",
        });
    }
    Ok(count)
}

fn element(page: &[u8], i: usize, id: u64) -> Result<&[u8]> {
    let at = PAGE_HEADER + i * ELEMENT;
    page.get(at..at + ELEMENT).ok_or(BoltError::Corrupt {
        page: id,
        reason: "an element lies outside its page",
    })
}

fn parse_meta(data: &[u8], offset: usize) -> Result<Meta> {
    let short = || BoltError::TooShort(data.len() as u64);
    let page = data.get(offset..).ok_or_else(short)?;
    let meta = page
        .get(PAGE_HEADER..PAGE_HEADER + META_CHECKED + 8)
        .ok_or_else(short)?;
    let field32 = |at| u32_at(meta, at).ok_or_else(short);
    let field64 = |at| u64_at(meta, at).ok_or_else(short);
    let magic = field32(0)?;
    if magic != MAGIC {
        return Err(BoltError::BadMagic(magic));
    }
    let version = field32(4)?;
    if version != VERSION {
        return Err(BoltError::UnsupportedVersion(version));
    }
    if u16_at(page, 8) != Some(META_PAGE) {
        return Err(BoltError::NoValidMeta);
    }
    if fnv1a64(&meta[..META_CHECKED]) != field64(META_CHECKED)? {
        return Err(BoltError::NoValidMeta);
    }
    // magic, version, pageSize, flags (u32 each); root bucket {root, sequence};
    // freelist, pgid, txid (u64 each).
    Ok(Meta {
        page_size: field32(8)?,
        root: field64(16)?,
        high_water: field64(40)?,
        txid: field64(48)?,
    })
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > MAX_FILE_BYTES {
        return Err(BoltError::TooLarge(len));
    }
    let mut data = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(BoltError::TooLarge(data.len() as u64));
    }
    Ok(data)
}

/// Go's `binary.Varint` (zig-zag), as containerd stores sizes; `None` if malformed.
pub fn varint(bytes: &[u8]) -> Option<i64> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        let low = u64::from(byte & 0x7f);
        if i == 9 && *byte > 1 {
            return None;
        }
        value |= low << (7 * i);
        if byte & 0x80 == 0 {
            let signed = (value >> 1) as i64;
            return Some(if value & 1 != 0 { !signed } else { signed });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database of 4096-byte pages with valid meta pages 0 and 1 pointing at a root
    /// leaf on page 3 (page 2 is the freelist in bbolt; left empty here).
    fn database(entries: &[(&[u8], &[u8], bool)]) -> Vec<u8> {
        database_with_overflow(entries, 0)
    }

    /// The same, the root leaf spanning `overflow` pages more.
    fn database_with_overflow(entries: &[(&[u8], &[u8], bool)], overflow: u32) -> Vec<u8> {
        const PS: usize = 4096;
        let pages = 4 + overflow as usize;
        let mut data = vec![0u8; PS * pages];
        for (meta_page, txid) in [(0usize, 1u64), (1, 2)] {
            let page = &mut data[meta_page * PS..];
            page[..8].copy_from_slice(&(meta_page as u64).to_le_bytes());
            page[8..10].copy_from_slice(&META_PAGE.to_le_bytes());
            let meta = &mut page[PAGE_HEADER..];
            meta[0..4].copy_from_slice(&MAGIC.to_le_bytes());
            meta[4..8].copy_from_slice(&VERSION.to_le_bytes());
            meta[8..12].copy_from_slice(&(PS as u32).to_le_bytes());
            meta[16..24].copy_from_slice(&3u64.to_le_bytes());
            meta[32..40].copy_from_slice(&2u64.to_le_bytes());
            meta[40..48].copy_from_slice(&(pages as u64).to_le_bytes());
            meta[48..56].copy_from_slice(&txid.to_le_bytes());
            let sum = fnv1a64(&meta[..META_CHECKED]);
            meta[META_CHECKED..META_CHECKED + 8].copy_from_slice(&sum.to_le_bytes());
        }
        let leaf = &mut data[3 * PS..];
        leaf[..8].copy_from_slice(&3u64.to_le_bytes());
        leaf[12..16].copy_from_slice(&overflow.to_le_bytes());
        write_leaf(leaf, entries);
        data
    }

    /// A leaf page's header flags, count and elements (the id is the caller's).
    fn write_leaf(page: &mut [u8], entries: &[(&[u8], &[u8], bool)]) {
        page[8..10].copy_from_slice(&LEAF_PAGE.to_le_bytes());
        page[10..12].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        let mut data_at = PAGE_HEADER + entries.len() * ELEMENT;
        for (i, (key, value, bucket)) in entries.iter().enumerate() {
            let at = PAGE_HEADER + i * ELEMENT;
            let flags = if *bucket { BUCKET_LEAF } else { 0 };
            page[at..at + 4].copy_from_slice(&flags.to_le_bytes());
            page[at + 4..at + 8].copy_from_slice(&((data_at - at) as u32).to_le_bytes());
            page[at + 8..at + 12].copy_from_slice(&(key.len() as u32).to_le_bytes());
            page[at + 12..at + 16].copy_from_slice(&(value.len() as u32).to_le_bytes());
            page[data_at..data_at + key.len()].copy_from_slice(key);
            data_at += key.len();
            page[data_at..data_at + value.len()].copy_from_slice(value);
            data_at += value.len();
        }
    }

    fn inline_bucket(entries: &[(&[u8], &[u8], bool)]) -> Vec<u8> {
        let mut value = vec![0u8; BUCKET_HEADER + 512];
        write_leaf(&mut value[BUCKET_HEADER..], entries);
        value
    }

    #[test]
    fn reads_plain_and_inline_bucket_entries() {
        let inner = inline_bucket(&[(b"digest", b"sha256:abc", false), (b"size", &[0x04], false)]);
        let db = Db::from_bytes(database(&[(b"a", b"1", false), (b"target", &inner, true)])).expect("a database");
        let root = db.root();
        assert_eq!(root.data(b"a").expect("readable"), Some(&b"1"[..]));
        let target = root.bucket(b"target").expect("readable").expect("a bucket");
        assert_eq!(target.data(b"digest").expect("readable"), Some(&b"sha256:abc"[..]));
        assert_eq!(varint(target.data(b"size").expect("readable").expect("size")), Some(2));
        assert!(root.bucket(b"a").expect("readable").is_none());
        assert!(root.get(b"missing").expect("readable").is_none());
    }

    #[test]
    fn the_valid_meta_with_the_higher_txid_wins_and_a_damaged_one_is_skipped() {
        let mut data = database(&[(b"k", b"v", false)]);
        // Damage meta page 1 (txid 2): page 0 is used.
        data[4096 + PAGE_HEADER + 20] ^= 0xff;
        let db = Db::from_bytes(data.clone()).expect("page 0 is valid");
        assert_eq!(db.root().data(b"k").expect("readable"), Some(&b"v"[..]));
        // Both damaged: a typed error.
        data[PAGE_HEADER + 20] ^= 0xff;
        assert!(matches!(Db::from_bytes(data), Err(BoltError::NoValidMeta)));
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        assert!(matches!(Db::from_bytes(Vec::new()), Err(BoltError::TooShort(0))));
        assert!(matches!(
            Db::from_bytes(vec![0x5a; 8192]),
            Err(BoltError::BadMagic(0x5a5a_5a5a))
        ));
        let whole = database(&[(b"k", b"v", false)]);
        // Truncated anywhere: never a panic; short of the root page, an error.
        for len in (0..whole.len()).step_by(97) {
            let result = Db::from_bytes(whole[..len].to_vec()).and_then(|db| db.root().entries().map(|e| e.len()));
            assert!(result.is_err(), "truncated at {len} still read");
        }
        // Every single byte flipped in the root leaf: an error or entries, never a panic.
        for at in 3 * 4096..3 * 4096 + 80 {
            let mut data = whole.clone();
            data[at] ^= 0xff;
            if let Ok(db) = Db::from_bytes(data) {
                let _ = db.root().entries();
            }
        }
        // A leaf element pointing past its page.
        let mut data = whole.clone();
        let at = 3 * 4096 + PAGE_HEADER + 4;
        data[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let db = Db::from_bytes(data).expect("meta pages are intact");
        assert!(matches!(db.root().entries(), Err(BoltError::Corrupt { page: 3, .. })));
    }

    #[test]
    fn a_branch_that_points_at_itself_is_refused() {
        let mut data = database(&[]);
        let page = &mut data[3 * 4096..4 * 4096];
        page[8..10].copy_from_slice(&BRANCH_PAGE.to_le_bytes());
        page[10..12].copy_from_slice(&1u16.to_le_bytes());
        page[PAGE_HEADER + 8..PAGE_HEADER + 16].copy_from_slice(&3u64.to_le_bytes());
        let db = Db::from_bytes(data).expect("meta pages are intact");
        assert!(matches!(db.root().entries(), Err(BoltError::Corrupt { page: 3, .. })));
    }

    #[test]
    fn a_leaf_continues_on_its_overflow_pages() {
        let big = vec![0xab; 6000];
        let db = Db::from_bytes(database_with_overflow(&[(b"big", &big, false)], 1)).expect("a database");
        assert_eq!(db.root().data(b"big").expect("readable"), Some(&big[..]));
        // Without its overflow page the value lies outside the page.
        let mut data = database_with_overflow(&[(b"big", &big, false)], 1);
        data[3 * 4096 + 12..3 * 4096 + 16].copy_from_slice(&0u32.to_le_bytes());
        let db = Db::from_bytes(data).expect("meta pages are intact");
        assert!(matches!(db.root().entries(), Err(BoltError::Corrupt { page: 3, .. })));
        // An overflow count past the end of the file.
        let mut data = database_with_overflow(&[(b"big", &big, false)], 1);
        data[3 * 4096 + 12..3 * 4096 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Db::from_bytes(data),
            Err(BoltError::PageOutOfBounds { page: 3 })
        ));
    }

    #[test]
    fn go_varints() {
        assert_eq!(varint(&[0x00]), Some(0));
        assert_eq!(varint(&[0x01]), Some(-1));
        assert_eq!(varint(&[0xac, 0x02]), Some(150));
        assert_eq!(varint(&[0x80]), None);
        assert_eq!(varint(&[]), None);
    }
}
