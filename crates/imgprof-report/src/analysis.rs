//! Everything after the layer walk, in one place for every command: dive's metric, the
//! stacked filesystem, imgprof's analyses, the report, and the rules file's adjustments.
//! The binary's pipeline calls it for `report`, `check`, `suggest`, `compare` and
//! `inspect` alike, and the view's tests call it too, so no front end assembles its own.

use imgprof_layers::LayerIndex;
use imgprof_source::{Digest, Image};
use imgprof_waste::FileClass;

use crate::compare::FinalFiles;
use crate::rules::RuleSet;
use crate::{Report, ReportOptions};

/// What the user asked of the analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalysisOptions<'o> {
    /// The rules file in force: its `exclude_paths` keep paths from being judged, its
    /// `severity` table overrides findings' severities. Its limits are not evaluated here.
    pub rules: Option<&'o RuleSet>,
    /// The layers of a known base image (`--base`).
    pub base_diff_ids: Option<&'o [Digest]>,
    pub report: ReportOptions,
    /// Keep every path of the final filesystem ([`FinalFiles`], for a comparison).
    pub keep_final_files: bool,
}

/// The analysis of one image.
pub struct Analysis {
    pub report: Report,
    /// The category and package of every shipped copy of file content, for views that
    /// show single files.
    pub files: Vec<FileClass>,
    /// The final filesystem's paths, when [`AnalysisOptions::keep_final_files`].
    pub final_files: Option<FinalFiles>,
    /// dive's figures in full (the report keeps their totals): for `--format dive-json`.
    pub dive: imgprof_layers::dive::DiveMetrics,
}

/// Analyses the verified layer indexes of `image`, dive's metric on a second thread. For
/// a local image it may run while the hash pool is still busy: measured on 2 cores, the
/// naive docker-archive takes the same wall either way, and a million-file layer 0.4 s
/// less, for 10% more peak memory (dive's trees live beside the stack).
pub fn analyse(image: &Image, layers: &[LayerIndex], options: &AnalysisOptions<'_>) -> Analysis {
    let exclude = options.rules.map(RuleSet::exclude).unwrap_or_default();
    let waste_options = imgprof_waste::Options {
        base_diff_ids: options.base_diff_ids,
        exclude,
    };
    let stack_and_waste = || {
        let stack = imgprof_layers::Stack::build(layers);
        let waste = imgprof_waste::analyze(image, &stack, &waste_options);
        (stack, waste)
    };
    // dive's figures need their own tree of every layer: built beside the stack on a
    // second core (a million-file layer: 0.4 s of 3.3 s off the wall).
    let (dive, (stack, mut waste)) = std::thread::scope(|scope| {
        let dive = scope.spawn(|| imgprof_layers::dive::metrics(layers));
        let rest = stack_and_waste();
        let dive = dive.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (dive, rest)
    });
    let final_files = options.keep_final_files.then(|| FinalFiles::of(&stack));
    let files = std::mem::take(&mut waste.files);
    let mut report = crate::build(image, &stack, &dive, waste, options.report);
    if let Some(rules) = options.rules {
        rules.adjust(&mut report);
    }
    Analysis {
        report,
        files,
        final_files,
        dive,
    }
}
