//! Download progress on a terminal: one bar per layer being read from a registry (bytes,
//! rate), drawn on stderr and cleared when the layer is done, so the report printed
//! afterwards stands alone. Not shown when stderr is not a terminal or with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;

use imgprof_layers::{LayerOutcome, LayerProgress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct LayerBars {
    multi: MultiProgress,
    bars: Mutex<Vec<Option<ProgressBar>>>,
    names: Vec<String>,
    style: ProgressStyle,
}

impl LayerBars {
    /// Bars for `image`'s layers when they download and stderr is a terminal.
    pub fn for_image(image: &imgprof_source::Image, quiet: bool) -> Option<LayerBars> {
        let streams = image.source.kind == imgprof_source::SourceKind::Registry;
        if quiet || !streams || !std::io::stderr().is_terminal() {
            return None;
        }
        let names = image
            .layers
            .iter()
            .enumerate()
            .map(|(i, layer)| {
                let digest = layer.digest.as_ref().map(|d| d.to_string()).unwrap_or_default();
                // `sha256:` and the first 12 hex digits, as docker pull shows a layer.
                let short = digest.split_once(':').map_or("", |(_, hex)| &hex[..hex.len().min(12)]);
                format!("layer {:>2} {short}", i + 1)
            })
            .collect();
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {binary_bytes:>10}/{binary_total_bytes:<10} {binary_bytes_per_sec:>12}",
        )
        .ok()?
        .progress_chars("=> ");
        Some(LayerBars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(vec![None; image.layers.len()]),
            names,
            style,
        })
    }

    fn with_bar(&self, layer: usize, act: impl FnOnce(&mut Option<ProgressBar>)) {
        let mut bars = self.bars.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(slot) = bars.get_mut(layer) {
            act(slot);
        }
    }
}

impl LayerProgress for LayerBars {
    fn started(&self, layer: usize, bytes: u64) {
        let bar = self.multi.add(ProgressBar::new(bytes).with_style(self.style.clone()));
        bar.set_prefix(self.names.get(layer).cloned().unwrap_or_default());
        self.with_bar(layer, |slot| *slot = Some(bar));
    }

    fn advanced(&self, layer: usize, bytes: u64) {
        self.with_bar(layer, |slot| {
            if let Some(bar) = slot {
                bar.inc(bytes);
            }
        });
    }

    fn finished(&self, layer: usize, _outcome: LayerOutcome) {
        self.with_bar(layer, |slot| {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        });
    }
}
