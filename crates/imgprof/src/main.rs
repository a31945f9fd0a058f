//! `imgprof`: where did the bytes of a container image go?

mod cli;
mod progress;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{
    CacheArgs, CacheCommand, CacheDirArg, Cli, Command, CompareArgs, CompareFormat, Format, InspectArgs, PlatformsArgs,
    ReportArgs, SourceArgs, SuggestArgs,
};

/// Exit codes: 0 success, 2 error (bad input, unreadable image). 1 is kept for rule
/// failures in CI mode.
const EXIT_ERROR: u8 = 2;

/// A rule of `imgprof check` broke.
const EXIT_RULE_BROKEN: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "imgprof: error: {}{}",
                imgprof_report::terminal_safe(&format!("{error:#}")),
                hint(&error)
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Report(args) => report(args, false),
        Command::Check(args) => report(args, true),
        Command::Inspect(args) => inspect(args).map(|()| ExitCode::SUCCESS),
        Command::Suggest(args) => suggest(args).map(|()| ExitCode::SUCCESS),
        Command::Compare(args) => compare(args),
        Command::Platforms(args) => platforms(args).map(|()| ExitCode::SUCCESS),
        Command::Cache(command) => cache_command(command).map(|()| ExitCode::SUCCESS),
    }
}

/// `report`, and `check` (`rules_only`): the rules print alone unless `--json`.
fn report(args: ReportArgs, rules_only: bool) -> Result<ExitCode> {
    let timer = PhaseTimer::from_env();
    let rules = if args.check || rules_only {
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        Some(imgprof_report::rules::RuleSet::load(args.config.as_deref(), &cwd)?)
    } else {
        None
    };
    let cache = open_cache(&args.reading.cache, args.quiet);
    let cache = cache.as_ref();
    let image = open_image(&args.source)?;
    timer.lap("open");
    let jobs = args.reading.jobs();
    let options = imgprof_report::ReportOptions { top: args.top };
    let base_diff_ids = base_diff_ids(args.base.as_deref(), &args.source)?;
    let exclude = rules.as_ref().map(|r| r.exclude().to_vec()).unwrap_or_default();
    let analysis = imgprof_waste::Options {
        base_diff_ids: base_diff_ids.as_deref(),
        exclude: &exclude,
    };
    let reading = Reading {
        jobs,
        limits: args.reading.limits()?,
        cache: cache.map(|c| c as &dyn imgprof_layers::IndexCache),
        quiet: args.quiet,
    };
    let (layers, mut report) = analyse_source(&image, &args.source.source, &reading, &timer, |layers| {
        analyse(&image, layers, &analysis, options)
    })?;
    if let Some(rules) = &rules {
        let baseline = match &args.baseline {
            Some(baseline) => {
                let base_image = open_image(&SourceArgs {
                    source: baseline.clone(),
                    ..args.source.clone()
                })
                .with_context(|| format!("cannot read the baseline image {baseline}"))?;
                let plain = imgprof_waste::Options {
                    base_diff_ids: None,
                    exclude: &exclude,
                };
                let timer = PhaseTimer::from_env();
                let analysed = analyse_source(&base_image, baseline, &reading, &timer, |layers| {
                    analyse(&base_image, layers, &plain, options)
                })?;
                Some(analysed.1)
            }
            None => None,
        };
        rules.adjust(&mut report);
        report.rules = Some(rules.evaluate(&report, baseline.as_ref()));
    }
    if let Some(cache) = cache
        && !args.quiet
    {
        warn_cache_problems(cache);
    }
    warn_layer_anomalies(&image, &layers, &report, args.quiet);
    let style = imgprof_report::Style::new(use_color());
    let format = if args.json { Format::Json } else { args.format };
    let text = match (format, &report.rules) {
        (Format::Json, _) => imgprof_report::to_json(&report).context("cannot write the report as JSON")?,
        (Format::Markdown, _) => imgprof_report::render_markdown(&report),
        (Format::Sarif, _) => sarif(&report, args.dockerfile.as_deref())?,
        (Format::Table, Some(rules)) if args.quiet => {
            let mut broken = rules.clone();
            broken.results.retain(|r| !r.passed);
            if broken.results.is_empty() {
                String::new()
            } else {
                imgprof_report::render_rules(&broken, &style)
            }
        }
        (Format::Table, Some(rules)) if rules_only => imgprof_report::render_rules(rules, &style),
        (Format::Table, Some(rules)) => format!(
            "{}\n{}",
            imgprof_report::render(&report, &style),
            imgprof_report::render_rules(rules, &style)
        ),
        (Format::Table, None) => imgprof_report::render(&report, &style),
    };
    if matches!(format, Format::Json | Format::Sarif) {
        write_document(&text)?;
    } else {
        write_stdout(&text)?;
    }
    let broken = report.rules.as_ref().is_some_and(|r| !r.passed);
    Ok(if broken {
        ExitCode::from(EXIT_RULE_BROKEN)
    } else {
        ExitCode::SUCCESS
    })
}

/// `inspect`: the view opens as soon as the manifest is read; the layers are indexed and
/// analysed on another thread that feeds progress, then the data, to the view.
fn inspect(args: InspectArgs) -> Result<()> {
    if !io::stdout().is_terminal() {
        anyhow::bail!(
            "imgprof inspect needs a terminal on stdout; use `imgprof report {}` to print the analysis (or `--json` to save it)",
            args.source.source
        );
    }
    let cache = open_cache(&args.reading.cache, false).map(std::sync::Arc::new);
    let image = open_image(&args.source)?;
    let base_diff_ids = base_diff_ids(args.base.as_deref(), &args.source)?;
    let jobs = args.reading.jobs();
    let limits = args.reading.limits()?;
    let app = imgprof_tui::App::loading(
        args.source.source.clone(),
        imgprof_tui::PendingLayer::of(&image),
        use_color(),
    );
    let (sender, receiver) = std::sync::mpsc::channel();
    let name = args.source.source.clone();
    let reader_cache = cache.clone();
    // Not joined: quitting while layers are still read ends the process, and the reader.
    std::thread::spawn(move || {
        let progress = imgprof_tui::ChannelProgress::new(sender.clone());
        let options = imgprof_layers::IndexOptions {
            jobs,
            capture: imgprof_waste::capture_policy,
            cache: reader_cache.as_deref().map(|c| c as &dyn imgprof_layers::IndexCache),
            progress: Some(&progress),
            limits,
        };
        let analysis = imgprof_waste::Options {
            base_diff_ids: base_diff_ids.as_deref(),
            exclude: &[],
        };
        let feed = match imgprof_layers::index_image_then(&image, options, |layers| {
            imgprof_tui::Inspected::analyse(&image, layers, &analysis)
        }) {
            Ok((_, inspected)) => imgprof_tui::Feed::Ready(Box::new(inspected)),
            Err(error) => imgprof_tui::Feed::Failed(format!("cannot analyse {name}: {:#}", anyhow::Error::from(error))),
        };
        let _ = sender.send(feed);
    });
    let app = imgprof_tui::run(app, receiver)?;
    if let Some(cache) = &cache {
        warn_cache_problems(cache);
    }
    match app.failure {
        Some(failure) => Err(anyhow::anyhow!(failure)),
        None => Ok(()),
    }
}

/// The diff_ids of the `--base` image, when given.
fn base_diff_ids(base: Option<&str>, source: &SourceArgs) -> Result<Option<Vec<imgprof_source::Digest>>> {
    let Some(base) = base else { return Ok(None) };
    let image = imgprof_source::open_with(base, None, &source.registry_options())
        .with_context(|| format!("cannot read the base image {base}"))?;
    Ok(Some(image.config.rootfs.diff_ids))
}

/// `suggest`: the report's findings turned into a Dockerfile (or a diff of the user's).
fn suggest(args: SuggestArgs) -> Result<()> {
    let dockerfile = match &args.dockerfile {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => None,
    };
    let cache = open_cache(&args.reading.cache, false);
    let image = open_image(&args.source)?;
    let base_diff_ids = base_diff_ids(args.base.as_deref(), &args.source)?;
    let analysis = imgprof_waste::Options {
        base_diff_ids: base_diff_ids.as_deref(),
        exclude: &[],
    };
    let reading = Reading {
        jobs: args.reading.jobs(),
        limits: args.reading.limits()?,
        cache: cache.as_ref().map(|c| c as &dyn imgprof_layers::IndexCache),
        quiet: false,
    };
    let options = imgprof_report::ReportOptions::default();
    let (_, report) = analyse_source(
        &image,
        &args.source.source,
        &reading,
        &PhaseTimer::from_env(),
        |layers| analyse(&image, layers, &analysis, options),
    )?;
    let suggestion = imgprof_report::suggest::suggest(&report, dockerfile.as_deref());
    let text = match (&suggestion.diff, args.dockerignore, args.full) {
        (_, true, _) => suggestion.dockerignore,
        (Some(diff), false, false) => diff.clone(),
        _ => suggestion.dockerfile,
    };
    write_stdout(&text)
}

/// How layers are read: threads, the layer cache, whether progress may be drawn.
struct Reading<'a> {
    jobs: usize,
    limits: imgprof_layers::Limits,
    cache: Option<&'a dyn imgprof_layers::IndexCache>,
    quiet: bool,
}

/// Indexes one image and runs `analyze` on its layers. The analysis runs while the last
/// digests are still being checked; its result is used only if they all match.
fn analyse_source<T>(
    image: &imgprof_source::Image,
    name: &str,
    reading: &Reading<'_>,
    timer: &PhaseTimer,
    analyze: impl FnOnce(&[imgprof_layers::LayerIndex]) -> T,
) -> Result<(Vec<imgprof_layers::LayerIndex>, T)> {
    let bars = progress::LayerBars::for_image(image, reading.quiet);
    let index_options = imgprof_layers::IndexOptions {
        jobs: reading.jobs,
        capture: imgprof_waste::capture_policy,
        cache: reading.cache,
        progress: bars.as_ref().map(|b| b as &dyn imgprof_layers::LayerProgress),
        limits: reading.limits,
    };
    let indexed = imgprof_layers::index_image_then(image, index_options, |layers| {
        timer.lap("walk layers");
        let analysed = analyze(layers);
        timer.lap("analyse");
        analysed
    })
    .with_context(|| format!("cannot analyse {name}"))?;
    timer.lap("verify digests");
    Ok(indexed)
}

/// `compare`: both images analysed as `report` analyses one, A first, through one memory
/// cache in front of the layer cache, so a blob both images share is fetched and indexed
/// once (with `--no-cache` too). Exit 1 when `--fail-if-grows` breaks.
fn compare(args: CompareArgs) -> Result<ExitCode> {
    let timer = PhaseTimer::from_env();
    let disk = open_cache(&args.reading.cache, args.quiet);
    let shared = imgprof_layers::MemoryCache::new(disk.as_ref().map(|c| c as &dyn imgprof_layers::IndexCache));
    let reading = Reading {
        jobs: args.reading.jobs(),
        limits: args.reading.limits()?,
        cache: Some(&shared),
        quiet: args.quiet,
    };
    let analysis = imgprof_waste::Options {
        base_diff_ids: None,
        exclude: &[],
    };
    let mut sides = Vec::with_capacity(2);
    for (label, first) in [("A", true), ("B", false)] {
        let side = args.side(first);
        let image = open_image(&side).with_context(|| format!("cannot read image {label} ({})", side.source))?;
        timer.lap("open");
        let (layers, analysed) = analyse_source(&image, &side.source, &reading, &timer, |layers| {
            analyse_with_files(&image, layers, &analysis)
        })
        .with_context(|| format!("image {label}"))?;
        warn_layer_anomalies(&image, &layers, &analysed.0, args.quiet);
        sides.push(analysed);
    }
    if let Some(cache) = &disk
        && !args.quiet
    {
        warn_cache_problems(cache);
    }
    let [(a, files_a), (b, files_b)]: [(imgprof_report::Report, imgprof_report::compare::FinalFiles); 2] = sides
        .try_into()
        .map_err(|_| anyhow::anyhow!("two images were not analysed"))?;
    let options = imgprof_report::compare::CompareOptions { top: args.top };
    let mut comparison = imgprof_report::compare::compare(&a, &files_a, &b, &files_b, options);
    let passed = match &args.fail_if_grows {
        Some(limit) => comparison.check_growth(limit),
        None => true,
    };
    let interactive = args.tui || (args.format.is_none() && !args.json && io::stdout().is_terminal());
    if interactive {
        if !io::stdout().is_terminal() {
            anyhow::bail!("--tui needs a terminal on stdout; leave it out to print the table");
        }
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        imgprof_tui::compare::run(imgprof_tui::compare::CompareView::new(comparison, color))?;
    } else {
        let text = render_comparison(&comparison, &args)?;
        if args.json || args.format == Some(CompareFormat::Json) {
            write_document(&text)?;
        } else {
            write_stdout(&text)?;
        }
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_RULE_BROKEN)
    })
}

/// The comparison in the format asked for (the table by default).
fn render_comparison(comparison: &imgprof_report::compare::Comparison, args: &CompareArgs) -> Result<String> {
    let format = if args.json {
        CompareFormat::Json
    } else {
        args.format.unwrap_or(CompareFormat::Table)
    };
    Ok(match format {
        CompareFormat::Json => {
            imgprof_report::compare::compare_to_json(comparison).context("cannot write the comparison as JSON")?
        }
        CompareFormat::Markdown => imgprof_report::compare::render_compare_markdown(comparison),
        CompareFormat::Table => {
            imgprof_report::compare::render_compare(comparison, &imgprof_report::Style::new(use_color()))
        }
    })
}

/// One warning per layer whose entries had absolute names.
/// Warns about layers that engines would treat differently from how imgprof shows them.
fn warn_layer_anomalies(
    image: &imgprof_source::Image,
    layers: &[imgprof_layers::LayerIndex],
    report: &imgprof_report::Report,
    quiet: bool,
) {
    if quiet {
        return;
    }
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

/// [`analyse`], keeping the final filesystem's paths as well, for a comparison.
fn analyse_with_files(
    image: &imgprof_source::Image,
    layers: &[imgprof_layers::LayerIndex],
    analysis: &imgprof_waste::Options<'_>,
) -> (imgprof_report::Report, imgprof_report::compare::FinalFiles) {
    let dive = imgprof_layers::dive::metrics(layers);
    let stack = imgprof_layers::Stack::build(layers);
    let files = imgprof_report::compare::FinalFiles::of(&stack);
    let waste = imgprof_waste::analyze(image, &stack, analysis);
    let report = imgprof_report::build(image, &stack, &dive, waste, imgprof_report::ReportOptions::default());
    (report, files)
}

/// Everything after the layer walk: dive's metric, stacking, imgprof's analyses, then the
/// report. For a local image it runs while the hash pool is still busy, so it stays on
/// one thread, dive's metric first so its trees are freed before the rest is built. A
/// registry image has no hash pool (its layers were verified as they streamed), so there
/// dive's metric runs on a second thread beside the rest.
fn analyse(
    image: &imgprof_source::Image,
    layers: &[imgprof_layers::LayerIndex],
    analysis: &imgprof_waste::Options<'_>,
    options: imgprof_report::ReportOptions,
) -> imgprof_report::Report {
    let timer = PhaseTimer::from_env();
    let stack_and_waste = || {
        let stack = imgprof_layers::Stack::build(layers);
        let waste = imgprof_waste::analyze(image, &stack, analysis);
        (stack, waste)
    };
    let (dive, (stack, waste)) = if image.source.kind == imgprof_source::SourceKind::Registry {
        std::thread::scope(|scope| {
            let dive = scope.spawn(|| imgprof_layers::dive::metrics(layers));
            let rest = stack_and_waste();
            let dive = dive.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (dive, rest)
        })
    } else {
        let dive = imgprof_layers::dive::metrics(layers);
        timer.lap("analyse: dive metrics");
        (dive, stack_and_waste())
    };
    timer.lap("analyse: stack and waste");
    let report = imgprof_report::build(image, &stack, &dive, waste, options);
    timer.lap("analyse: report");
    report
}

/// The report as SARIF, pointing at `dockerfile`'s lines when given.
fn sarif(report: &imgprof_report::Report, dockerfile: Option<&std::path::Path>) -> Result<String> {
    let (path, layer_lines, from_line) = match dockerfile {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let stage = imgprof_report::dockerfile::final_stage(&text);
            let instructions: Vec<Option<String>> = report.layers.iter().map(|l| l.instruction.clone()).collect();
            (
                Some(path.display().to_string()),
                imgprof_report::dockerfile::match_layers(&stage, &instructions),
                stage.first().map_or(1, |from| from.line),
            )
        }
        None => (None, Vec::new(), 1),
    };
    let target = imgprof_report::SarifTarget {
        dockerfile: path.as_deref(),
        layer_lines,
        from_line,
    };
    let mut text = serde_json::to_string_pretty(&imgprof_report::render_sarif(report, &target))?;
    text.push('\n');
    Ok(text)
}

/// The generation of cache entries this build reads and writes.
fn cache_generation() -> String {
    imgprof_cache::generation(&imgprof_waste::capture_policy_description())
}

fn cache_dir(arg: &CacheDirArg) -> Result<std::path::PathBuf, imgprof_cache::CacheError> {
    arg.cache_dir.clone().map_or_else(imgprof_cache::default_dir, Ok)
}

/// The layer cache of a report, unless `--no-cache`. Without a directory the run goes
/// on uncached: the cache saves time, it is never needed for an answer.
fn open_cache(args: &CacheArgs, quiet: bool) -> Option<imgprof_cache::LayerCache> {
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

/// One warning for what went wrong with the cache (the first problem names the path).
fn warn_cache_problems(cache: &imgprof_cache::LayerCache) {
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

fn cache_command(command: CacheCommand) -> Result<()> {
    let generation = cache_generation();
    match command {
        CacheCommand::Info(arg) => {
            let dir = cache_dir(&arg)?;
            let info = imgprof_cache::info(&dir, &generation)?;
            let size = |bytes: u64| humansize::format_size(bytes, humansize::DECIMAL);
            let mut text = format!(
                "directory  {}\nentries    {}\nsize       {} ({} bytes)\n",
                dir.display(),
                info.entries(),
                size(info.bytes()),
                info.bytes()
            );
            for g in &info.generations {
                let state = if g.current { "current" } else { "stale" };
                text.push_str(&format!(
                    "  {:<24} {state:<8} {:>6} entries {:>10}{}\n",
                    g.name,
                    g.entries,
                    size(g.bytes),
                    if g.temporary > 0 {
                        format!(", {} temporary", g.temporary)
                    } else {
                        String::new()
                    }
                ));
            }
            write_stdout(&text)
        }
        CacheCommand::Prune(args) => {
            let dir = cache_dir(&args.dir)?;
            let selection = imgprof_cache::PruneSelection {
                stale: args.stale,
                unused_for: args
                    .older_than
                    .map(|days| std::time::Duration::from_secs(u64::from(days) * 86_400)),
            };
            let outcome = imgprof_cache::prune(&dir, &generation, selection)?;
            write_stdout(&format!(
                "removed {} entries ({}) from {}, kept {}\n",
                outcome.removed,
                humansize::format_size(outcome.bytes, humansize::DECIMAL),
                dir.display(),
                outcome.kept
            ))
        }
    }
}

/// `platforms`: each platform of an index with its compressed size (from the manifest)
/// and, unless `--compressed-only`, the file bytes its layers ship (the layers are read,
/// through the layer cache).
fn platforms(args: PlatformsArgs) -> Result<()> {
    let source = &args.source;
    let entries = imgprof_source::platforms(&source.source, &source.registry_options())?;
    let cache = if args.compressed_only {
        None
    } else {
        open_cache(&args.reading.cache, false)
    };
    let reading = Reading {
        jobs: args.reading.jobs(),
        limits: args.reading.limits()?,
        cache: cache.as_ref().map(|c| c as &dyn imgprof_layers::IndexCache),
        quiet: false,
    };
    let mut text = format!(
        "{:<16} {:>12} {:>12}  {:<71} {}\n",
        "PLATFORM", "COMPRESSED", "SHIPPED", "DIGEST", "NAME"
    );
    for entry in entries {
        let platform = entry.platform.to_string();
        let digest = entry.digest.map(|d| d.to_string()).unwrap_or_default();
        let name = entry.ref_name.unwrap_or_default();
        if platform == "unknown/unknown" {
            // An attestation manifest (provenance, SBOM): no filesystem to measure.
            text.push_str(&format!(
                "{platform:<16} {:>12} {:>12}  {digest:<71} {name}\n",
                "-", "-"
            ));
            continue;
        }
        let image = imgprof_source::open_with(&source.source, Some(&entry.platform), &source.registry_options())
            .with_context(|| format!("cannot read the {platform} image of {}", source.source))?;
        let compressed: u64 = image.layers.iter().map(|l| l.size).sum();
        let shipped = if args.compressed_only {
            "-".to_owned()
        } else {
            let what = format!("the {platform} image of {}", source.source);
            let (layers, ()) = analyse_source(&image, &what, &reading, &PhaseTimer::from_env(), |_| ())?;
            imgprof_report::human(layers.iter().map(|l| l.content_bytes()).sum())
        };
        text.push_str(&format!(
            "{platform:<16} {:>12} {shipped:>12}  {digest:<71} {name}\n",
            imgprof_report::human(compressed)
        ));
    }
    write_stdout(&text)
}

fn open_image(args: &SourceArgs) -> Result<imgprof_source::Image> {
    let platform = args
        .platform
        .as_deref()
        .map(str::parse::<imgprof_source::Platform>)
        .transpose()?;
    Ok(imgprof_source::open_with(
        &args.source,
        platform.as_ref(),
        &args.registry_options(),
    )?)
}

fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
}

/// Writes text for people: names from the image (tar entries, history, labels) may carry
/// terminal control sequences, shown escaped. JSON and SARIF go out through
/// [`write_document`], whose own string escaping already covers them.
fn write_stdout(text: &str) -> Result<()> {
    write_document(&imgprof_report::terminal_safe(text))
}

fn write_document(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// What to do about an error, when there is something to say beyond its message.
fn hint(error: &anyhow::Error) -> &'static str {
    use imgprof_layers::{IndexError, LayerError};
    let bomb = error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<IndexError>(),
            Some(IndexError::Layer(LayerError::ExpansionLimit { .. }))
        ) || matches!(
            cause.downcast_ref::<LayerError>(),
            Some(LayerError::ExpansionLimit { .. })
        )
    });
    if bomb {
        "; if the layer is genuine, raise the limit with --max-expansion RATIO or IMGPROF_MAX_EXPANSION (0 turns it off)"
    } else {
        ""
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
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
