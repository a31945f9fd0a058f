//! `SourceFiles`: the files of an image source, either a directory or an uncompressed tar
//! archive (`docker save`, oci-archive) read in place by seeking to each member.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::blob_file::BlobFile;
use crate::error::SourceError;

/// Largest JSON document (manifest, index, config) imgprof will read into memory.
pub const MAX_JSON_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug)]
pub(crate) enum SourceFiles {
    Dir(PathBuf),
    Tar {
        path: PathBuf,
        members: HashMap<String, Member>,
        /// Set when imgprof wrote the archive itself (a daemon's export).
        spool: Option<Spool>,
    },
}

/// A temporary archive: deleted when dropped, named in messages after where it came from.
#[derive(Debug)]
pub(crate) struct Spool {
    _file: tempfile::TempPath,
    name: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Member {
    Data { offset: u64, size: u64 },
    Link(String),
}

impl SourceFiles {
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let meta = std::fs::metadata(path).map_err(|e| SourceError::io(path, e))?;
        if meta.is_dir() {
            return Ok(SourceFiles::Dir(path.to_owned()));
        }
        let mut file = File::open(path).map_err(|e| SourceError::io(path, e))?;
        let mut magic = [0u8; 4];
        let n = read_up_to(&mut file, &mut magic).map_err(|e| SourceError::io(path, e))?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] {
            return Err(SourceError::not_an_image(
                path,
                "the archive is gzip-compressed; decompress it first (e.g. `gunzip -k`)",
            ));
        }
        if n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            return Err(SourceError::not_an_image(
                path,
                "the archive is zstd-compressed; decompress it first (e.g. `zstd -d`)",
            ));
        }
        file.seek(SeekFrom::Start(0)).map_err(|e| SourceError::io(path, e))?;
        let members = index_tar(file)
            .map_err(|e| SourceError::not_an_image(path, format!("not a readable tar archive ({e})")))?;
        Ok(SourceFiles::Tar {
            path: path.to_owned(),
            members,
            spool: None,
        })
    }

    /// Opens a tar imgprof spooled to `file`, keeping it until this is dropped; messages
    /// name its members `name:member`.
    pub fn open_spooled(file: tempfile::TempPath, name: String) -> Result<Self, SourceError> {
        let mut files = SourceFiles::open(&file)?;
        if let SourceFiles::Tar { spool, .. } = &mut files {
            *spool = Some(Spool { _file: file, name });
        }
        Ok(files)
    }

    pub fn is_archive(&self) -> bool {
        matches!(self, SourceFiles::Tar { .. })
    }

    /// How to name `name` in a message: `dir/name` or `archive.tar:name`.
    pub fn describe(&self, name: &str) -> String {
        match self {
            SourceFiles::Dir(p) => p.join(name).display().to_string(),
            SourceFiles::Tar { spool: Some(spool), .. } => format!("{}:{name}", spool.name),
            SourceFiles::Tar { path, .. } => format!("{}:{name}", path.display()),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        match self {
            SourceFiles::Dir(p) => p.join(name).is_file(),
            SourceFiles::Tar { .. } => self.resolve(name).is_some(),
        }
    }

    /// The size of `name`, if it exists.
    pub fn size(&self, name: &str) -> Option<u64> {
        match self {
            SourceFiles::Dir(p) => std::fs::metadata(p.join(name))
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
            SourceFiles::Tar { .. } => self.resolve(name).map(|(_, size)| size),
        }
    }

    /// Opens `name` for streaming. Each call opens its own file handle, so layers can be
    /// read in parallel.
    pub fn open_file(&self, name: &str) -> Result<Box<dyn Read + Send>, SourceError> {
        let missing = || SourceError::MissingFile {
            location: self.describe(name),
        };
        match self {
            SourceFiles::Dir(p) => {
                let full = p.join(name);
                if !full.is_file() {
                    return Err(missing());
                }
                let file = File::open(&full).map_err(|e| SourceError::io(&full, e))?;
                Ok(Box::new(file))
            }
            SourceFiles::Tar { path, .. } => {
                let (offset, size) = self.resolve(name).ok_or_else(missing)?;
                let mut file = File::open(path).map_err(|e| SourceError::io(path, e))?;
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| SourceError::io(path, e))?;
                Ok(Box::new(file.take(size)))
            }
        }
    }

    /// `name` as a `BlobFile` for positional reads.
    pub fn blob_file(&self, name: &str) -> Result<BlobFile, SourceError> {
        let missing = || SourceError::MissingFile {
            location: self.describe(name),
        };
        let (path, start, len) = match self {
            SourceFiles::Dir(p) => {
                let full = p.join(name);
                let len = std::fs::metadata(&full)
                    .ok()
                    .filter(|m| m.is_file())
                    .ok_or_else(missing)?
                    .len();
                (full, 0, len)
            }
            SourceFiles::Tar { path, .. } => {
                let (offset, size) = self.resolve(name).ok_or_else(missing)?;
                (path.clone(), offset, size)
            }
        };
        let file = File::open(&path).map_err(|e| SourceError::io(&path, e))?;
        Ok(BlobFile::new(file, start, len))
    }

    /// Reads a small file (JSON documents) whole, refusing anything over `MAX_JSON_BYTES`.
    pub fn read_small(&self, name: &str) -> Result<Vec<u8>, SourceError> {
        let location = self.describe(name);
        if let Some(size) = self.size(name)
            && size > MAX_JSON_BYTES
        {
            return Err(SourceError::Invalid {
                what: location,
                reason: format!("{size} bytes is too large for a JSON document (limit {MAX_JSON_BYTES})"),
            });
        }
        let mut bytes = Vec::new();
        self.open_file(name)?
            .take(MAX_JSON_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| SourceError::Io {
                location: location.clone(),
                source: e,
            })?;
        Ok(bytes)
    }

    /// Follows symlink and hard-link members (Docker 25+ archives link `<id>/layer.tar` to
    /// `blobs/sha256/...`) to the member holding the data.
    fn resolve(&self, name: &str) -> Option<(u64, u64)> {
        let SourceFiles::Tar { members, .. } = self else {
            return None;
        };
        let mut current = normalize_member(name)?;
        for _ in 0..16 {
            match members.get(&current)? {
                Member::Data { offset, size } => return Some((*offset, *size)),
                Member::Link(target) => current = target.clone(),
            }
        }
        None
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Reads the tar headers only (seeking over the data) and records where each member is.
fn index_tar(file: File) -> io::Result<HashMap<String, Member>> {
    let mut archive = tar::Archive::new(file);
    let mut members = HashMap::new();
    let mut saw_any = false;
    for entry in archive.entries_with_seek()? {
        let entry = entry?;
        saw_any = true;
        let raw_path = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw_path).into_owned();
        let Some(name) = normalize_member(&name) else { continue };
        let header = entry.header();
        let member = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Member::Data {
                offset: entry.raw_file_position(),
                size: entry.size(),
            },
            tar::EntryType::Symlink => {
                let Some(target) = entry.link_name_bytes() else {
                    continue;
                };
                let target = String::from_utf8_lossy(&target).into_owned();
                let joined = match name.rsplit_once('/') {
                    Some((dir, _)) if !target.starts_with('/') => format!("{dir}/{target}"),
                    _ => target,
                };
                match normalize_member(&joined) {
                    Some(t) => Member::Link(t),
                    None => continue,
                }
            }
            tar::EntryType::Link => {
                let Some(target) = entry.link_name_bytes() else {
                    continue;
                };
                match normalize_member(&String::from_utf8_lossy(&target)) {
                    Some(t) => Member::Link(t),
                    None => continue,
                }
            }
            _ => continue,
        };
        members.insert(name, member);
    }
    if !saw_any {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "no tar entries"));
    }
    Ok(members)
}

/// Lexically normalises a member name (`./a/../b` -> `b`); `None` if it leaves the root.
fn normalize_member(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::normalize_member;

    #[test]
    fn member_names() {
        assert_eq!(normalize_member("./manifest.json").as_deref(), Some("manifest.json"));
        assert_eq!(
            normalize_member("abc/../blobs/sha256/x").as_deref(),
            Some("blobs/sha256/x")
        );
        assert_eq!(normalize_member("../x"), None);
    }
}
