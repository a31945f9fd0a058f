//! Layer compression: detected from the stream's magic bytes, which win over the media
//! type (registries and tools mislabel layers), with the media type as a cross-check.

use std::io::{self, BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Skippable zstd frames (`0x184D2A5?`), which zstd:chunked layers may start with.
fn is_zstd_skippable(magic: &[u8]) -> bool {
    magic.len() >= 4 && magic[0] & 0xf0 == 0x50 && magic[1..4] == [0x2a, 0x4d, 0x18]
}

impl Compression {
    pub fn from_magic(magic: &[u8]) -> Compression {
        if magic.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if magic.starts_with(&ZSTD_MAGIC) || is_zstd_skippable(magic) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// What a media type claims, for Docker and OCI names alike; `None` when the media
    /// type says nothing about compression (or is unknown).
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        let mt = media_type.trim();
        if mt.ends_with("+gzip")
            || mt.ends_with(".tar.gzip")
            || mt == "application/vnd.docker.image.rootfs.diff.tar.gzip"
        {
            Some(Compression::Gzip)
        } else if mt.ends_with("+zstd") || mt.ends_with(".tar.zstd") {
            Some(Compression::Zstd)
        } else if mt.ends_with(".tar") || mt == "application/vnd.docker.image.rootfs.diff.tar" {
            Some(Compression::None)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// A decompressing reader over a buffered stream.
pub(crate) enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    pub fn new(compression: Compression, inner: R) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Decoder::Plain(inner),
            // Multi-member: `GzDecoder` would silently stop after the first member.
            Compression::Gzip => Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(inner))),
            Compression::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::with_buffer(inner)?),
        })
    }

    pub fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// Peeks at the first bytes of a buffered stream without consuming them.
pub(crate) fn sniff<R: Read>(reader: &mut BufReader<R>) -> io::Result<Compression> {
    let head = reader.fill_buf()?;
    Ok(Compression::from_magic(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_and_media_types() {
        assert_eq!(Compression::from_magic(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(Compression::from_magic(&ZSTD_MAGIC), Compression::Zstd);
        assert_eq!(Compression::from_magic(&[0x50, 0x2a, 0x4d, 0x18]), Compression::Zstd);
        assert_eq!(Compression::from_magic(b"usr/"), Compression::None);
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+zstd"),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar"),
            Some(Compression::None)
        );
        assert_eq!(Compression::from_media_type("application/octet-stream"), None);
    }
}
