//! The one way every command reads and analyses an image: open the source, read each
//! layer into a verified index (through the layer cache), then
//! [`imgprof_report::analyse`] with the [`Settings`]. Commands only choose what to keep
//! and how to show it.

use anyhow::{Context, Result};
use imgprof_layers::{IndexCache, LayerIndex, LayerProgress};
use imgprof_source::Image;

use crate::progress::LayerBars;
use crate::settings::{ImageSource, Settings};

/// Where per-layer progress goes.
pub enum Progress<'p> {
    /// Download bars on a terminal's stderr (none with `--quiet` or off a terminal).
    Bars,
    /// A front end's own sink (the inspect view).
    To(&'p dyn LayerProgress),
}

/// An analysed image.
pub struct Analysed {
    pub layers: Vec<LayerIndex>,
    pub analysis: imgprof_report::Analysis,
    /// The image read, still open: `inspect` extracts paths from its layers.
    pub image: Image,
}

pub struct Pipeline<'s> {
    pub settings: &'s Settings,
    /// Where layer indexes are looked up and stored: the disk cache, or a run's memory
    /// cache in front of it (`compare`).
    cache: Option<&'s dyn IndexCache>,
    timer: PhaseTimer,
}

impl<'s> Pipeline<'s> {
    pub fn new(settings: &'s Settings) -> Pipeline<'s> {
        Pipeline {
            settings,
            cache: settings.cache.as_ref().map(|c| c as &dyn IndexCache),
            timer: PhaseTimer::from_env(),
        }
    }

    /// The same settings, with `cache` in front of everything layers are read through.
    pub fn with_cache(settings: &'s Settings, cache: &'s dyn IndexCache) -> Pipeline<'s> {
        Pipeline {
            cache: Some(cache),
            ..Pipeline::new(settings)
        }
    }

    pub fn open(&self, source: &ImageSource) -> Result<Image> {
        let image = imgprof_source::open_with(&source.reference, source.platform.as_ref(), &source.registry)?;
        if !self.settings.quiet {
            for note in image.notes() {
                eprintln!("imgprof: warning: {}", imgprof_report::terminal_safe(note));
            }
        }
        self.timer.lap("open");
        Ok(image)
    }

    /// Opens and analyses one image.
    pub fn analyse(&self, source: &ImageSource, keep_final_files: bool) -> Result<Analysed> {
        let image = self.open(source)?;
        self.analyse_image(image, source, keep_final_files, Progress::Bars)
    }

    /// Analyses an image already opened (the inspect view shows its manifest first).
    pub fn analyse_image(
        &self,
        image: Image,
        source: &ImageSource,
        keep_final_files: bool,
        progress: Progress<'_>,
    ) -> Result<Analysed> {
        let base_diff_ids = self.base_diff_ids(source)?;
        let options = imgprof_report::AnalysisOptions {
            rules: Some(&self.settings.rules),
            base_diff_ids: base_diff_ids.as_deref(),
            report: imgprof_report::ReportOptions { top: self.settings.top },
            keep_final_files,
        };
        let (layers, analysis) = self.read_then(&image, &source.reference, progress, |layers| {
            let analysis = imgprof_report::analyse(&image, layers, &options);
            self.timer.lap("analyse");
            analysis
        })?;
        if !self.settings.quiet {
            warn_layer_anomalies(&image, &layers, &analysis.report);
        }
        Ok(Analysed {
            layers,
            analysis,
            image,
        })
    }

    /// Reads every layer of `image` into its index (verified) and runs `then` on them.
    /// `then` runs while the last digests are still being checked; its result is used
    /// only if they all match.
    pub fn read_then<T>(
        &self,
        image: &Image,
        name: &str,
        progress: Progress<'_>,
        then: impl FnOnce(&[LayerIndex]) -> T,
    ) -> Result<(Vec<LayerIndex>, T)> {
        let bars = match progress {
            Progress::Bars => LayerBars::for_image(image, self.settings.quiet),
            Progress::To(_) => None,
        };
        let sink = match progress {
            Progress::To(sink) => Some(sink),
            Progress::Bars => bars.as_ref().map(|b| b as &dyn LayerProgress),
        };
        let options = imgprof_layers::IndexOptions {
            jobs: self.settings.jobs,
            capture: imgprof_waste::capture_policy,
            cache: self.cache,
            progress: sink,
            limits: self.settings.limits,
        };
        let indexed = imgprof_layers::index_image_then(image, options, |layers| {
            self.timer.lap("walk layers");
            then(layers)
        })
        .with_context(|| format!("cannot analyse {name}"))?;
        self.timer.lap("verify digests");
        Ok(indexed)
    }

    /// The diff_ids of the `--base` image, when given.
    fn base_diff_ids(&self, source: &ImageSource) -> Result<Option<Vec<imgprof_source::Digest>>> {
        let Some(base) = &source.base else {
            return Ok(None);
        };
        let base = source.sibling(base);
        let image = imgprof_source::open_with(&base.reference, None, &base.registry)
            .with_context(|| format!("cannot read the base image {}", base.reference))?;
        Ok(Some(image.config.diff_ids().to_vec()))
    }

    /// One warning for what went wrong with the layer cache, unless `--quiet`.
    pub fn warn_cache_problems(&self) {
        if let Some(cache) = &self.settings.cache
            && !self.settings.quiet
        {
            warn_cache_problems(cache);
        }
    }
}

/// One warning for what went wrong with the cache (the first problem names the path).
pub fn warn_cache_problems(cache: &imgprof_cache::LayerCache) {
    let problems = cache.take_problems();
    if let Some(first) = problems.first() {
        let more = match problems.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        eprintln!("imgprof: warning: layer cache: {}{more}", with_causes(first));
    }
}

/// `problem: cause: cause`, as the other errors are printed.
fn with_causes(problem: &imgprof_cache::CacheError) -> String {
    let mut text = problem.to_string();
    let mut source = std::error::Error::source(problem);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Warns about layers that engines would treat differently from how imgprof shows them.
fn warn_layer_anomalies(image: &Image, layers: &[LayerIndex], report: &imgprof_report::Report) {
    for ((blob, layer), shown) in image.layers.iter().zip(layers).zip(&report.layers) {
        if layer.absolute_paths > 0 {
            eprintln!(
                "imgprof: warning: {}: {} entries have absolute names; shown relative to the root",
                blob.location, layer.absolute_paths
            );
        }
        let dangling = shown.changes.dangling_hard_links;
        if dangling > 0 {
            eprintln!(
                "imgprof: warning: {}: {dangling} hard links point to paths no layer holds; \
                 counted without content (docker and containerd refuse to apply such a layer)",
                blob.location
            );
        }
    }
}

/// Phase durations (and the peak memory so far) on stderr when `IMGPROF_TIMINGS` is set,
/// for performance work.
struct PhaseTimer {
    last: Option<std::cell::Cell<std::time::Instant>>,
}

impl PhaseTimer {
    fn from_env() -> Self {
        PhaseTimer {
            last: std::env::var_os("IMGPROF_TIMINGS").map(|_| std::cell::Cell::new(std::time::Instant::now())),
        }
    }

    fn lap(&self, phase: &str) {
        if let Some(last) = &self.last {
            let now = std::time::Instant::now();
            eprintln!(
                "imgprof: timing: {phase}: {:.3} s{}",
                (now - last.get()).as_secs_f64(),
                peak_rss()
                    .map(|kb| format!(", peak RSS so far {} MB", kb / 1000))
                    .unwrap_or_default()
            );
            last.set(now);
        }
    }
}

/// The process's peak resident set so far in kB (Linux's `VmHWM`), where there is one.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}
