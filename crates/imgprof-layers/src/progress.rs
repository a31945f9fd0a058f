//! How layer reading is reported while it happens: a [`LayerProgress`] hears when each
//! layer starts, how many of its stored bytes have been read, and how it ended. Front
//! ends draw it (progress bars on a terminal, the inspect view's layer pane); the walk
//! does not know how.

use std::io::Read;

/// Hears the reading of an image's layers. Called from the walk threads, several layers
/// at once; `layer` is the index in `Image::layers` (bottom first).
pub trait LayerProgress: Sync {
    /// Reading of layer `layer`, a blob of `bytes` stored bytes, begins.
    fn started(&self, layer: usize, bytes: u64);
    /// `bytes` more stored bytes of layer `layer` were read (downloaded, for a registry).
    fn advanced(&self, layer: usize, bytes: u64);
    /// Layer `layer` is done (or failed: the error is reported by the walk's result).
    fn finished(&self, layer: usize, outcome: LayerOutcome);
}

/// How one layer's reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerOutcome {
    /// Read and indexed.
    Read,
    /// Taken from the layer cache without opening the blob.
    Cached,
    Failed,
}

/// A reader that tells `progress` of every read.
struct Counted<'a, R> {
    inner: R,
    layer: usize,
    progress: &'a dyn LayerProgress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.progress.advanced(self.layer, n as u64);
        }
        Ok(n)
    }
}

/// `reader`, counted when there is someone to tell.
pub(crate) fn counted<'a>(
    reader: Box<dyn Read + Send + 'a>,
    layer: usize,
    progress: Option<&'a dyn LayerProgress>,
) -> Box<dyn Read + Send + 'a> {
    match progress {
        Some(progress) => Box::new(Counted {
            inner: reader,
            layer,
            progress,
        }),
        None => reader,
    }
}
