//! What the view shows: the report of the analysis and the file tree, and, while layers
//! are still being read, their progress. Front ends build these; the view never reads
//! an image.

use std::sync::Arc;
use std::sync::mpsc::Sender;

use imgprof_layers::{LayerIndex, LayerOutcome, LayerProgress};
use imgprof_report::Report;
use imgprof_source::Image;

use crate::tree::{FileTree, LayerView, TreeMode};

/// An analysed image, ready to browse.
pub struct Inspected {
    pub report: Report,
    /// Shared with the tree pane's worker thread.
    pub tree: Arc<FileTree>,
    /// Aggregated views computed ahead (top layers first), so that moving through the
    /// layers finds them ready.
    pub views: Vec<LayerView>,
}

/// Node-views prefetched at most: ~15 bytes each, so about 120 MB; a million-node tree
/// gets eight layers ahead, a small image all of them.
const PREFETCH_NODE_VIEWS: usize = 8_000_000;

impl Inspected {
    pub fn new(report: Report, tree: FileTree) -> Inspected {
        Inspected {
            report,
            tree: Arc::new(tree),
            views: Vec::new(),
        }
    }

    /// Everything the view shows: the analysis every command makes
    /// ([`imgprof_report::analyse`]) and the file tree of the verified layer indexes,
    /// with each file's category and package.
    pub fn of(analysis: imgprof_report::Analysis, layers: &[LayerIndex]) -> Inspected {
        let tree = FileTree::build(layers, &analysis.files);
        let mut inspected = Inspected::new(analysis.report, tree);
        inspected.prefetch_views();
        inspected
    }

    /// Computes the aggregated views of the top layers, as many as the budget allows.
    pub fn prefetch_views(&mut self) {
        let layers = self.tree.layer_count() as usize;
        let count = (PREFETCH_NODE_VIEWS / self.tree.len().max(1)).clamp(1, layers.max(1));
        self.views = (layers.saturating_sub(count)..layers)
            .rev()
            .map(|layer| LayerView::compute(&self.tree, layer as u32, TreeMode::Aggregated))
            .collect();
    }

    /// Layers `0..base_layers()` belong to the base image.
    pub fn base_layers(&self) -> usize {
        self.report.base_image.layers.min(self.report.layers.len())
    }
}

impl PendingLayer {
    /// The layers of `image` as its manifest and history describe them.
    pub fn of(image: &Image) -> Vec<PendingLayer> {
        let history = imgprof_source::history::layer_history(image.config.history(), image.layers.len());
        image
            .layers
            .iter()
            .zip(history)
            .map(|(layer, history)| PendingLayer {
                bytes: layer.size,
                instruction: history
                    .and_then(|h| h.created_by().as_deref())
                    .map(imgprof_source::history::instruction),
            })
            .collect()
    }
}

/// A layer as the manifest describes it, before it is read.
#[derive(Debug, Clone)]
pub struct PendingLayer {
    /// Stored bytes of the blob.
    pub bytes: u64,
    pub instruction: Option<String>,
}

/// How far the reading of one layer got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadState {
    Waiting,
    Reading { read: u64 },
    Done(LayerOutcome),
}

/// What the view hears from the thread that reads and analyses the image.
pub enum Feed {
    Started {
        layer: usize,
        bytes: u64,
    },
    Advanced {
        layer: usize,
        bytes: u64,
    },
    Finished {
        layer: usize,
        outcome: LayerOutcome,
    },
    Ready(Box<Inspected>),
    /// The analysis failed; the message is shown and returned when the view closes.
    Failed(String),
    /// The answer to [`crate::state::Request::Extract`] for the image's `path`.
    Extracted {
        path: String,
        dest: std::path::PathBuf,
        outcome: Result<imgprof_layers::extract::ExtractSummary, String>,
    },
}

/// A [`LayerProgress`] that sends what it hears to the view.
pub struct ChannelProgress {
    sender: Sender<Feed>,
}

impl ChannelProgress {
    pub fn new(sender: Sender<Feed>) -> ChannelProgress {
        ChannelProgress { sender }
    }
}

impl LayerProgress for ChannelProgress {
    // A closed channel means the view is gone; the reading finishes unheard.
    fn started(&self, layer: usize, bytes: u64) {
        let _ = self.sender.send(Feed::Started { layer, bytes });
    }

    fn advanced(&self, layer: usize, bytes: u64) {
        let _ = self.sender.send(Feed::Advanced { layer, bytes });
    }

    fn finished(&self, layer: usize, outcome: LayerOutcome) {
        let _ = self.sender.send(Feed::Finished { layer, outcome });
    }
}
