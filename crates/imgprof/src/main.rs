//! `imgprof`: where did the bytes of a container image go?

mod cli;
mod pipeline;
mod progress;
mod settings;
mod view_config;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{
    CacheCommand, Cli, Command, CompareArgs, CompareFormat, FilesArgs, FilesFormat, Format, InspectArgs, ManArgs,
    PlatformsArgs, ReportArgs, SuggestArgs,
};
use pipeline::{Pipeline, Progress};
use settings::{ImageSource, Settings, cache_dir, cache_generation};

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
        Command::Files(args) => files(args).map(|()| ExitCode::SUCCESS),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut command, "imgprof", &mut out);
            write_stdout(&String::from_utf8_lossy(&out)).map(|()| ExitCode::SUCCESS)
        }
        Command::Man(args) => man(args).map(|()| ExitCode::SUCCESS),
    }
}

/// `files`: the entries of the final filesystem, a layer, or every layer's changes.
fn files(args: FilesArgs) -> Result<()> {
    use imgprof_report::files::{Selection, rows, to_csv, to_json_lines};
    let settings = Settings::resolve(&args.reading, Some(&args.analysis), false)?;
    let pipeline = Pipeline::new(&settings);
    let source = ImageSource::of(&args.source, None)?;
    let analysed = pipeline.analyse(&source, false)?;
    pipeline.warn_cache_problems();
    let selection = match (args.layer, args.changes) {
        (Some(layer), _) => Selection::Layer(layer),
        (None, true) => Selection::Changes,
        (None, false) => Selection::Final,
    };
    let analysis = &analysed.analysis;
    let Some(listed) = rows(&analysed.layers, &analysis.files, &analysis.report, selection) else {
        anyhow::bail!(
            "{} has no layer {} (its layers are 0 to {}; `imgprof report` lists them)",
            args.source.source,
            args.layer.unwrap_or_default(),
            analysed.layers.len().saturating_sub(1)
        );
    };
    let text = match args.format {
        FilesFormat::Csv => to_csv(&listed).context("writing CSV")?,
        FilesFormat::Jsonl => to_json_lines(&listed),
    };
    write_stdout(&text)
}

/// `man`: imgprof(1) on stdout, or it and a page per command in a directory.
fn man(args: ManArgs) -> Result<()> {
    let command = <Cli as clap::CommandFactory>::command();
    let render = |man: clap_mangen::Man| -> Result<Vec<u8>> {
        let mut page = Vec::new();
        man.render(&mut page)?;
        Ok(page)
    };
    let Some(dir) = args.dir else {
        return write_stdout(&String::from_utf8_lossy(&render(clap_mangen::Man::new(command))?));
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot make {}", dir.display()))?;
    let mut pages = vec![("imgprof.1".to_owned(), clap_mangen::Man::new(command.clone()))];
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        // Each page named as man looks it up, `imgprof-report`, with the full usage.
        let name = sub.get_name();
        let page =
            clap_mangen::Man::new(sub.clone().bin_name(format!("imgprof {name}"))).title(format!("imgprof-{name}"));
        pages.push((format!("imgprof-{name}.1"), page));
    }
    for (file, page) in pages {
        let path = dir.join(&file);
        std::fs::write(&path, render(page)?).with_context(|| format!("cannot write {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// `report`, and `check` (`rules_only`): the rules print alone unless `--json`.
fn report(args: ReportArgs, rules_only: bool) -> Result<ExitCode> {
    let settings = Settings::resolve(&args.reading, Some(&args.analysis), args.quiet)?.with_top(args.top);
    let pipeline = Pipeline::new(&settings);
    let source = ImageSource::of(&args.source, args.base.as_deref())?;
    let analysed = pipeline.analyse(&source, false)?;
    let format = if args.json { Format::Json } else { args.format };
    let mut report = analysed.analysis.report;
    if args.check || rules_only {
        let baseline = match &args.baseline {
            Some(baseline) => {
                let analysed = pipeline
                    .analyse(&source.sibling(baseline), false)
                    .with_context(|| format!("cannot read the baseline image {baseline}"))?;
                Some(analysed.analysis.report)
            }
            None => None,
        };
        report.rules = Some(settings.rules.evaluate(&report, baseline.as_ref()));
    }
    pipeline.warn_cache_problems();
    let style = imgprof_report::Style::new(use_color());
    let text = match (format, &report.rules) {
        (Format::Json, _) => imgprof_report::to_json(&report).context("cannot write the report as JSON")?,
        (Format::Markdown, _) => imgprof_report::render_markdown(&report),
        (Format::Sarif | Format::Github | Format::Gitlab | Format::Junit, _) => {
            ci_document(&report, args.dockerfile.as_deref(), format)?
        }
        (Format::DiveJson, _) => {
            imgprof_report::dive_json::render(&analysed.image, &analysed.layers, &report, &analysed.analysis.dive)
        }
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
    if matches!(
        format,
        Format::Json | Format::Sarif | Format::DiveJson | Format::Gitlab | Format::Junit
    ) {
        write_document(&text)?;
    } else {
        write_stdout(&text)?;
    }
    if format == Format::Github {
        append_job_summary(&report)?;
    }
    let broken = report.rules.as_ref().is_some_and(|r| !r.passed);
    Ok(if broken {
        ExitCode::from(EXIT_RULE_BROKEN)
    } else {
        ExitCode::SUCCESS
    })
}

/// `inspect`: the view opens as soon as the manifest is read; the layers are read and
/// analysed on another thread that feeds progress, then the data, to the view.
fn inspect(args: InspectArgs) -> Result<()> {
    if !io::stdout().is_terminal() {
        anyhow::bail!(
            "imgprof inspect needs a terminal on stdout; use `imgprof report {}` to print the analysis (or `--json` to save it)",
            args.source.source
        );
    }
    // Quiet: the view draws its own progress, and nothing may write over it.
    let settings = std::sync::Arc::new(Settings::resolve(&args.reading, Some(&args.analysis), true)?);
    let config = view_config::load()?;
    let source = ImageSource::of(&args.source, args.base.as_deref())?;
    let image = Pipeline::new(&settings).open(&source)?;
    let app = imgprof_tui::App::loading(
        args.source.source.clone(),
        imgprof_tui::PendingLayer::of(&image),
        use_color(),
    )
    .with_config(config);
    let (sender, receiver) = std::sync::mpsc::channel();
    let (requests, asked) = std::sync::mpsc::channel();
    let reader_settings = settings.clone();
    // Not joined: quitting while layers are still read ends the process, and the reader.
    std::thread::spawn(move || {
        let progress = imgprof_tui::ChannelProgress::new(sender.clone());
        let pipeline = Pipeline::new(&reader_settings);
        let image = match pipeline.analyse_image(image, &source, false, Progress::To(&progress)) {
            Ok(analysed) => {
                let inspected = imgprof_tui::Inspected::of(analysed.analysis, &analysed.layers);
                let _ = sender.send(imgprof_tui::Feed::Ready(Box::new(inspected)));
                analysed.image
            }
            Err(error) => {
                let _ = sender.send(imgprof_tui::Feed::Failed(format!("{error:#}")));
                return;
            }
        };
        // Then the view's requests, on the image still open, until the view closes.
        for request in asked {
            let _ = sender.send(serve(&image, request, reader_settings.limits));
        }
    });
    let app = imgprof_tui::run(app, receiver, requests)?;
    if let Some(cache) = &settings.cache {
        pipeline::warn_cache_problems(cache);
    }
    match app.failure {
        Some(failure) => Err(anyhow::anyhow!(failure)),
        None => Ok(()),
    }
}

/// What the view asked of the image, answered.
fn serve(
    image: &imgprof_source::Image,
    request: imgprof_tui::Request,
    limits: imgprof_layers::Limits,
) -> imgprof_tui::Feed {
    match request {
        imgprof_tui::Request::Extract { path, plan } => {
            let outcome = imgprof_layers::extract::extract(image, &plan, limits)
                .map_err(|error| format!("{:#}", anyhow::Error::from(error)));
            imgprof_tui::Feed::Extracted {
                path,
                dest: plan.dest,
                outcome,
            }
        }
    }
}

/// `suggest`: the report's findings turned into a Dockerfile (or a diff of the user's).
fn suggest(args: SuggestArgs) -> Result<()> {
    let dockerfile = match &args.dockerfile {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => None,
    };
    let settings = Settings::resolve(&args.reading, Some(&args.analysis), false)?;
    let pipeline = Pipeline::new(&settings);
    let source = ImageSource::of(&args.source, args.base.as_deref())?;
    let report = pipeline.analyse(&source, false)?.analysis.report;
    pipeline.warn_cache_problems();
    let suggestion = imgprof_report::suggest::suggest(&report, dockerfile.as_deref());
    let text = match (&suggestion.diff, args.dockerignore, args.full) {
        (_, true, _) => suggestion.dockerignore,
        (Some(diff), false, false) => diff.clone(),
        _ => suggestion.dockerfile,
    };
    write_stdout(&text)
}

/// `compare`: both images analysed as `report` analyses one, A first, through one memory
/// cache in front of the layer cache, so a blob both images share is fetched and indexed
/// once (with `--no-cache` too). Exit 1 when `--fail-if-grows` breaks.
fn compare(args: CompareArgs) -> Result<ExitCode> {
    let settings = Settings::resolve(&args.reading, Some(&args.analysis), args.quiet)?;
    let shared =
        imgprof_layers::MemoryCache::new(settings.cache.as_ref().map(|c| c as &dyn imgprof_layers::IndexCache));
    let pipeline = Pipeline::with_cache(&settings, &shared);
    let mut sides = Vec::with_capacity(2);
    // Both sides reach registries through one set of clients (a token, connections).
    let sessions = imgprof_source::registry::Sessions::default();
    for (label, first) in [("A", true), ("B", false)] {
        let side = args.side(first);
        let mut source = ImageSource::of(&side, None)?;
        source.registry.sessions = sessions.clone();
        // Reading both sides takes a while before anything is shown: say which is read.
        let tell = !args.quiet && io::stderr().is_terminal();
        if tell {
            eprintln!("reading image {label} of 2: {}", side.source);
        }
        let analysed = pipeline
            .analyse(&source, true)
            .with_context(|| format!("cannot read image {label} ({})", side.source))?;
        let files = analysed.analysis.final_files.unwrap_or_default();
        sides.push((analysed.analysis.report, files));
    }
    pipeline.warn_cache_problems();
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

/// In a GitHub Actions job (`GITHUB_STEP_SUMMARY` names the job summary's file), the
/// markdown report (as `--format markdown`) appended to the job summary beside the
/// annotations.
fn append_job_summary(report: &imgprof_report::Report) -> Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = std::path::PathBuf::from(path);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .with_context(|| format!("cannot open the job summary {} (GITHUB_STEP_SUMMARY)", path.display()))?;
    file.write_all(imgprof_report::render_markdown(report).as_bytes())
        .with_context(|| format!("cannot write the job summary {}", path.display()))
}

/// The findings for a CI platform: SARIF, GitHub workflow commands, GitLab Code
/// Quality or JUnit XML, pointing at the lines of `dockerfile` when one is given.
fn ci_document(
    report: &imgprof_report::Report,
    dockerfile: Option<&std::path::Path>,
    format: Format,
) -> Result<String> {
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
    let mut text = match format {
        Format::Github => return Ok(imgprof_report::ci_formats::render_github(report, &target)),
        Format::Junit => return Ok(imgprof_report::ci_formats::render_junit(report, &target)),
        Format::Gitlab => serde_json::to_string_pretty(&imgprof_report::ci_formats::render_gitlab(report, &target))?,
        _ => serde_json::to_string_pretty(&imgprof_report::render_sarif(report, &target))?,
    };
    text.push('\n');
    Ok(text)
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
    let source = ImageSource::of(&args.source, None)?;
    let entries = imgprof_source::platforms(&source.reference, &source.registry)?;
    let settings = Settings::resolve(&args.reading, None, false)?;
    let settings = if args.compressed_only {
        settings.without_cache()
    } else {
        settings
    };
    let pipeline = Pipeline::new(&settings);
    let mut text = format!(
        "{:<16} {:>12} {:>12}  {:<71} {}\n",
        "PLATFORM", "COMPRESSED", "SHIPPED", "DIGEST", "NAME"
    );
    for entry in entries {
        let platform = entry.platform.to_string();
        let digest = entry.digest.as_ref().map(|d| d.to_string()).unwrap_or_default();
        let name = entry.ref_name.clone().unwrap_or_default();
        if let imgprof_source::EntryKind::Attestation { of } = &entry.kind {
            // Provenance or an SBOM: no filesystem to measure.
            let of = of.as_ref().map_or_else(|| "an image".to_owned(), |d| d.to_string());
            text.push_str(&format!(
                "{platform:<16} {:>12} {:>12}  {digest:<71} {name} (attestation of {of})\n",
                "-", "-"
            ));
            continue;
        }
        if entry.kind == imgprof_source::EntryKind::Absent {
            text.push_str(&format!(
                "{platform:<16} {:>12} {:>12}  {digest:<71} {name} (not in the store)\n",
                "-", "-"
            ));
            continue;
        }
        let what = format!("the {platform} image of {}", source.reference);
        let open = || {
            pipeline
                .open(&ImageSource {
                    platform: Some(entry.platform.clone()),
                    ..source.clone()
                })
                .with_context(|| format!("cannot read {what}"))
        };
        let (compressed, shipped) = if args.compressed_only {
            let compressed = match entry.compressed {
                Some(bytes) => bytes,
                None => open()?.layers.iter().map(|l| l.size).sum(),
            };
            (compressed, "-".to_owned())
        } else {
            let image = open()?;
            let (layers, ()) = pipeline.read_then(&image, &what, Progress::Bars, |_| ())?;
            (
                image.layers.iter().map(|l| l.size).sum(),
                imgprof_report::human(layers.iter().map(|l| l.content_bytes()).sum()),
            )
        };
        text.push_str(&format!(
            "{platform:<16} {:>12} {shipped:>12}  {digest:<71} {name}\n",
            imgprof_report::human(compressed)
        ));
    }
    pipeline.warn_cache_problems();
    write_stdout(&text)
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
