//! What a command was told, resolved once from its flags, the environment and the rules
//! file (`--config`, else `.imgprof.toml`, else `.dive-ci` in the working directory).
//! Every command that reads an image builds one [`Settings`] and hands it to the
//! [`crate::pipeline`], so a setting added here reaches all of them.

use anyhow::{Context, Result};
use imgprof_report::rules::RuleSet;

use crate::cli::{AnalysisArgs, ReadingArgs, SourceArgs};

/// Everything that decides how images are read and analysed.
pub struct Settings {
    /// Layers analysed at once (`-j`, default the core count).
    pub jobs: usize,
    /// What a hostile layer may cost (`--max-expansion`, `IMGPROF_MAX_EXPANSION`).
    pub limits: imgprof_layers::Limits,
    /// The layer cache, unless `--no-cache` or no cache directory could be found.
    pub cache: Option<imgprof_cache::LayerCache>,
    /// No warnings or progress bars on stderr (`--quiet`).
    pub quiet: bool,
    /// The rules file in force: its `exclude_paths` and `severity` reach every command's
    /// analysis; its limits are evaluated only when checking.
    pub rules: RuleSet,
    /// Entries in the report's largest-file and redundant-path lists (`--top`).
    pub top: usize,
}

impl Settings {
    /// The settings of a command from its shared argument groups; a command that does
    /// not analyse (`analysis` none) reads no rules file.
    pub fn resolve(reading: &ReadingArgs, analysis: Option<&AnalysisArgs>, quiet: bool) -> Result<Settings> {
        let rules = match analysis {
            Some(analysis) => {
                let cwd = std::env::current_dir().context("cannot read the working directory")?;
                RuleSet::load(analysis.config.as_deref(), &cwd)?
            }
            None => RuleSet::defaults(),
        };
        Ok(Settings {
            jobs: reading.jobs(),
            limits: reading.limits()?,
            cache: open_cache(&reading.cache, quiet),
            quiet,
            rules,
            top: imgprof_report::ReportOptions::default().top,
        })
    }

    pub fn with_top(mut self, top: usize) -> Settings {
        self.top = top;
        self
    }

    /// Without the layer cache (a command that reads manifests only).
    pub fn without_cache(mut self) -> Settings {
        self.cache = None;
        self
    }
}

/// One image to read: the reference and how to reach it.
#[derive(Debug, Clone)]
pub struct ImageSource {
    pub reference: String,
    pub platform: Option<imgprof_source::Platform>,
    pub registry: imgprof_source::RegistryOptions,
    /// The image this one was built FROM (`--base`): its layers are the base.
    pub base: Option<String>,
}

impl ImageSource {
    pub fn of(args: &SourceArgs, base: Option<&str>) -> Result<ImageSource> {
        let platform = args
            .platform
            .as_deref()
            .map(str::parse::<imgprof_source::Platform>)
            .transpose()?;
        Ok(ImageSource {
            reference: args.source.clone(),
            platform,
            registry: args.registry_options(),
            base: base.map(str::to_owned),
        })
    }

    /// Another image reached the same way, taken as it is (the baseline, the base).
    pub fn sibling(&self, reference: &str) -> ImageSource {
        ImageSource {
            reference: reference.to_owned(),
            platform: self.platform.clone(),
            registry: self.registry.clone(),
            base: None,
        }
    }
}

/// The generation of cache entries this build reads and writes.
pub fn cache_generation() -> String {
    imgprof_cache::generation(&imgprof_waste::capture_policy_description())
}

pub fn cache_dir(arg: &crate::cli::CacheDirArg) -> Result<std::path::PathBuf, imgprof_cache::CacheError> {
    arg.cache_dir.clone().map_or_else(imgprof_cache::default_dir, Ok)
}

/// The layer cache, unless `--no-cache`. Without a directory the run goes on uncached:
/// the cache saves time, it is never needed for an answer.
fn open_cache(args: &crate::cli::CacheArgs, quiet: bool) -> Option<imgprof_cache::LayerCache> {
    if args.no_cache {
        return None;
    }
    match cache_dir(&args.dir) {
        Ok(dir) => Some(imgprof_cache::LayerCache::new(dir, cache_generation())),
        Err(error) => {
            if !quiet {
                eprintln!("imgprof: warning: the layer cache is off: {error}");
            }
            None
        }
    }
}
