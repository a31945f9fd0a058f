//! `cargo xtask e2e [--fixture NAME]... [--builder NAME]...`: the end-to-end check of
//! `imgprof suggest` on real builders. For each fixture app of `xtask/e2e/apps` and each
//! builder (BuildKit, the classic builder, buildah) it builds the app's naive Dockerfile in
//! the builder world (`builders.rs`), exports the image, runs `imgprof report --json`,
//! `suggest` and `suggest --dockerignore` on it, writes the suggested Dockerfile and
//! .dockerignore exactly as printed into a copy of the context, builds that with BuildKit
//! and with buildah, runs the result as its own USER (`docker run` / `podman run`, host
//! network), checks that its imports work and that it answers HTTP, and measures it with
//! `imgprof report --json` against the projection the naive image's report promised.
//! On the BuildKit-built naive image it also applies each finding's fix alone
//! (`snippets`). Writes docs/e2e.md (only for a full run) and fails if any check failed.

mod snippets;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::builders::{World, remove_tree_without_mounts};
use crate::project_root;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builder {
    BuildKit,
    Classic,
    Buildah,
}

const BUILDERS: [Builder; 3] = [Builder::BuildKit, Builder::Classic, Builder::Buildah];
/// The builders the suggested Dockerfiles are built with.
const REBUILDERS: [Builder; 2] = [Builder::BuildKit, Builder::Buildah];

impl Builder {
    fn name(self) -> &'static str {
        match self {
            Builder::BuildKit => "buildkit",
            Builder::Classic => "classic",
            Builder::Buildah => "buildah",
        }
    }
    /// The engine that runs what this builder built.
    fn engine(self) -> &'static str {
        match self {
            Builder::BuildKit | Builder::Classic => "docker",
            Builder::Buildah => "podman",
        }
    }
}

struct Fixture {
    name: &'static str,
    port: u16,
    /// A command (run in place of the image's entrypoint) that imports what the app needs.
    imports: &'static [&'static str],
    /// Already built well: must get no size advice and pass `imgprof check`.
    good: bool,
}

const FIXTURES: [Fixture; 6] = [
    Fixture {
        name: "fastapi-pip",
        port: 8000,
        imports: &["python3", "-c", "import main, fastapi, uvicorn; print('imports ok')"],
        good: false,
    },
    Fixture {
        name: "psycopg2-source",
        port: 8000,
        imports: &[
            "python3",
            "-c",
            "import main, fastapi, uvicorn, psycopg2; print('imports ok', psycopg2.__version__)",
        ],
        good: false,
    },
    Fixture {
        name: "good",
        port: 8000,
        imports: &["python3", "-c", "import main, fastapi, uvicorn; print('imports ok')"],
        good: true,
    },
    Fixture {
        name: "node-express",
        port: 3000,
        imports: &["node", "-e", "require('express'); console.log('imports ok')"],
        good: false,
    },
    // Written after the advice, not for it: another shape of the same kinds of app.
    // Flask on gunicorn with Pillow's compiled modules, a curl install without cleanup,
    // requirements copied first, a shell-form CMD, another WORKDIR and port.
    Fixture {
        name: "flask-gunicorn",
        port: 5000,
        imports: &[
            "python3",
            "-c",
            "import app, flask, gunicorn, PIL.Image; print('imports ok')",
        ],
        good: false,
    },
    // TypeScript compiled by a build step that needs the dev dependencies, started with
    // `npm start`.
    Fixture {
        name: "node-typescript",
        port: 8080,
        imports: &[
            "node",
            "-e",
            "require('express'); require('fs').accessSync('dist/server.js'); console.log('imports ok')",
        ],
        good: false,
    },
];

/// Findings that mean "build it differently" (multi-stage: toolchain, -dev packages; a
/// package cache; a -slim base), which a well-built image must not get.
const SIZE_ADVICE: [&str; 4] = ["IMG001", "IMG002", "IMG003", "IMG014"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Pass,
    Fail,
    NotRun,
}

impl Check {
    fn of(ok: bool) -> Check {
        if ok { Check::Pass } else { Check::Fail }
    }
    fn cell(self) -> &'static str {
        match self {
            Check::Pass => "yes",
            Check::Fail => "**NO**",
            Check::NotRun => "–",
        }
    }
}

/// One naive image: its build and what imgprof said about it.
struct Naive {
    fixture: &'static str,
    builder: Builder,
    built: Check,
    shipped: Option<u64>,
    projected: Option<u64>,
    findings: Vec<String>,
    suggestion_clean: Check,
    good_checks: Check,
    /// `suggest` printed no instruction: "no change".
    no_change: bool,
    suggestion: Option<(String, String)>,
}

/// One suggested image: the Dockerfile imgprof wrote for a naive image, built again.
struct Rebuilt {
    fixture: &'static str,
    naive_builder: Builder,
    builder: Builder,
    naive_shipped: Option<u64>,
    projected: Option<u64>,
    achieved: Option<u64>,
    built: Check,
    runs: Check,
    serves: Check,
    within: Check,
}

struct Failure {
    case: String,
    what: String,
    detail: String,
}

#[derive(Default)]
struct Run {
    timings: Vec<(String, Duration)>,
    failures: Vec<Failure>,
    naives: Vec<Naive>,
    rebuilt: Vec<Rebuilt>,
    applied: Vec<snippets::Applied>,
    containers: Vec<(&'static str, String)>,
}

impl Run {
    fn timed<T>(&mut self, label: impl Into<String>, f: impl FnOnce(&mut Run) -> T) -> T {
        let label = label.into();
        eprintln!("e2e: {label}");
        let t0 = Instant::now();
        let out = f(self);
        let took = t0.elapsed();
        eprintln!("e2e: {label}: {:.1} s", took.as_secs_f64());
        self.timings.push((label, took));
        out
    }
    fn fail(&mut self, case: &str, what: &str, detail: impl Into<String>) {
        let detail = redact(&detail.into());
        eprintln!("e2e: FAILED {case}: {what}\n{}", indent(&detail));
        self.failures.push(Failure {
            case: case.to_owned(),
            what: what.to_owned(),
            detail,
        });
    }
}

pub fn e2e(mut args: impl Iterator<Item = String>) -> Result<()> {
    let (mut only_fixtures, mut only_builders) = (Vec::new(), Vec::new());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fixture" => only_fixtures.push(args.next().context("--fixture NAME")?),
            "--builder" => only_builders.push(args.next().context("--builder NAME")?),
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask e2e [--fixture NAME]... [--builder buildkit|classic|buildah]..."
            ),
        }
    }
    let full = only_fixtures.is_empty() && only_builders.is_empty();
    run_e2e(&only_fixtures, &only_builders, full)
}

/// The whole e2e run, as CI runs it: every fixture with every builder, the document
/// written to the scratch directory (docs/e2e.md is what `cargo xtask e2e` writes), the
/// builder world stopped after.
pub fn ci() -> Result<()> {
    let result = run_e2e(&[], &[], false);
    let down = World::from_env().down();
    result.and(down)
}

/// Runs the selected cases; `write_docs`: the document goes to docs/e2e.md.
fn run_e2e(only_fixtures: &[String], only_builders: &[String], write_docs: bool) -> Result<()> {
    let started = Instant::now();
    let mut run = Run::default();
    let world = World::from_env();
    run.timed("builders up", |_| world.up())?;
    let bases_cached = base_images_cached();
    run.timed(
        if bases_cached {
            "base images (warm: from the cache, loaded if missing)"
        } else {
            "base images (cold: built, loaded)"
        },
        |_| crate::base_images::load(&world),
    )?;
    let imgprof = run.timed("imgprof release binary", |_| imgprof_binary())?;
    let work = world.scratch().join("e2e");
    if work.exists() {
        remove_tree_without_mounts(&work)?;
    }
    fs::create_dir_all(&work)?;
    // Said up front: a full disk shows as a failed export half an hour in.
    crate::run(Command::new("df").arg("-h").arg(&work))?;

    let result = (|| -> Result<()> {
        for fixture in &FIXTURES {
            if !only_fixtures.is_empty() && !only_fixtures.iter().any(|f| f == fixture.name) {
                continue;
            }
            for builder in BUILDERS {
                if !only_builders.is_empty() && !only_builders.iter().any(|b| b == builder.name()) {
                    continue;
                }
                case(&mut run, &world, &imgprof, &work, fixture, builder)?;
            }
        }
        Ok(())
    })();
    remove_containers(&mut run, &world);
    result?;
    if write_docs || only_fixtures.is_empty() {
        match crate::install_paths::check(&world, &work) {
            Ok(timings) => run.timings.extend(timings),
            Err(e) => run.fail("install paths", "an install path failed", format!("{e:#}")),
        }
    }

    let total = started.elapsed();
    let doc = markdown(&run, total, bases_cached);
    if write_docs {
        let path = project_root().join("docs/e2e.md");
        fs::write(&path, &doc).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("e2e: wrote {}", path.display());
    } else {
        let path = work.join("e2e.md");
        fs::write(&path, &doc)?;
        eprintln!(
            "e2e: wrote {} (docs/e2e.md only for a full run of cargo xtask e2e)",
            path.display()
        );
    }
    println!("{}", summary_table(&run));
    if run.failures.is_empty() {
        println!("e2e: every check passed ({:.0} s)", total.as_secs_f64());
        Ok(())
    } else {
        println!("e2e: {} check(s) failed:", run.failures.len());
        for f in &run.failures {
            println!("  {}: {}", f.case, f.what);
        }
        bail!("e2e: {} check(s) failed", run.failures.len())
    }
}

fn base_images_cached() -> bool {
    // The same key build() computes; asking is cheap.
    crate::real_images::recipe_output("base-images")
        .map(|dir| crate::base_images::BASES.iter().all(|(f, _)| dir.join(f).exists()))
        .unwrap_or(false)
}

/// `$IMGPROF_BIN`, else `cargo build --release -p imgprof` of this checkout.
fn imgprof_binary() -> Result<PathBuf> {
    match std::env::var_os("IMGPROF_BIN") {
        Some(bin) => Ok(bin.into()),
        None => crate::release_binary(),
    }
}

/// One fixture built naively by one builder, then its suggestion rebuilt.
fn case(
    run: &mut Run,
    world: &World,
    imgprof: &Path,
    work: &Path,
    fixture: &'static Fixture,
    builder: Builder,
) -> Result<()> {
    let id = format!("{}/{}", fixture.name, builder.name());
    let dir = work.join(format!("{}-{}", fixture.name, builder.name()));
    let naive_ctx = dir.join("naive");
    make_context(fixture, &naive_ctx)?;
    let tag = format!("localhost/imgprof-e2e/{}:naive-{}", fixture.name, builder.name());
    let mut naive = Naive {
        fixture: fixture.name,
        builder,
        built: Check::NotRun,
        shipped: None,
        projected: None,
        findings: Vec::new(),
        suggestion_clean: Check::NotRun,
        good_checks: Check::NotRun,
        no_change: false,
        suggestion: None,
    };
    let out = run.timed(format!("{id}: naive build"), |_| {
        build(world, builder, &naive_ctx, &tag)
    });
    naive.built = Check::of(out.status.success());
    if !out.status.success() {
        run.fail(&id, "the naive Dockerfile does not build", tail_output(&out, 30));
        run.naives.push(naive);
        return Ok(());
    }
    let archive = ArchiveFile(dir.join("naive.tar"));
    run.timed(format!("{id}: naive export"), |_| {
        export(world, builder, &tag, &archive)
    })?;

    let report = run.timed(format!("{id}: imgprof report, suggest"), |_| {
        imgprof_json(imgprof, &["report", "--json"], &archive)
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            run.fail(&id, "imgprof report --json failed", format!("{e:#}"));
            run.naives.push(naive);
            return Ok(());
        }
    };
    naive.shipped = report["image"]["shipped_bytes"].as_u64();
    naive.projected = report["projection"]["projected_bytes"].as_u64();
    naive.findings = report["findings"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|f| f["id"].as_str().map(str::to_owned))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .unwrap_or_default();
    if naive.projected.is_none() {
        run.fail(&id, "the report has no projection.projected_bytes", "");
    }
    fs::write(dir.join("naive.report.json"), serde_json::to_string_pretty(&report)?)?;

    let dockerfile = imgprof_text(imgprof, &["suggest"], &archive);
    let dockerignore = imgprof_text(imgprof, &["suggest", "--dockerignore"], &archive);
    let (dockerfile, dockerignore) = match (dockerfile, dockerignore) {
        (Ok(d), Ok(i)) => (d, i),
        (d, i) => {
            for (what, r) in [
                ("imgprof suggest failed", d),
                ("imgprof suggest --dockerignore failed", i),
            ] {
                if let Err(e) = r {
                    run.fail(&id, what, format!("{e:#}"));
                }
            }
            run.naives.push(naive);
            return Ok(());
        }
    };
    fs::write(dir.join("suggested.Dockerfile"), &dockerfile)?;
    fs::write(dir.join("suggested.dockerignore"), &dockerignore)?;
    let problems: Vec<String> = [("Dockerfile", &dockerfile), (".dockerignore", &dockerignore)]
        .into_iter()
        .flat_map(|(name, text)| raw_text_problems(text).into_iter().map(move |p| format!("{name}: {p}")))
        .collect();
    naive.suggestion_clean = Check::of(problems.is_empty());
    if !problems.is_empty() {
        run.fail(
            &id,
            "the suggestion holds raw history text or a placeholder",
            problems.join("\n"),
        );
    }
    if fixture.good {
        let advice: Vec<&String> = naive
            .findings
            .iter()
            .filter(|f| SIZE_ADVICE.contains(&f.as_str()))
            .collect();
        let check = Command::new(imgprof).arg("check").arg(&*archive).output()?;
        naive.good_checks = Check::of(advice.is_empty() && check.status.success());
        if !advice.is_empty() {
            run.fail(
                &id,
                "the well-built image gets size advice",
                format!("findings {advice:?} (of {:?})", naive.findings),
            );
        }
        if !check.status.success() {
            run.fail(
                &id,
                "imgprof check does not pass the well-built image",
                tail_output(&check, 30),
            );
        }
    }
    // A suggestion without a single instruction says "no change": right for the
    // well-built fixture (whose own Dockerfile is then rebuilt and run), a failure for
    // the others.
    let no_change = !dockerfile.lines().any(|l| !l.trim().is_empty() && !l.starts_with('#'));
    naive.no_change = no_change;
    if no_change != fixture.good {
        let what = if no_change {
            "imgprof suggest has no change for a naive image"
        } else {
            "imgprof suggest rewrites the well-built image"
        };
        run.fail(&id, what, dockerfile.clone());
    }
    if builder == Builder::BuildKit
        && let Err(e) = snippets::check(run, world, imgprof, &dir, fixture, &report)
    {
        run.fail(&id, "applying the findings' fixes alone failed", format!("{e:#}"));
    }
    naive.suggestion = Some((dockerfile.clone(), dockerignore.clone()));
    let (naive_shipped, projected) = (naive.shipped, naive.projected);
    run.naives.push(naive);
    drop(archive);

    // The suggestion (or, where it is "no change", the Dockerfile as it is), built and run.
    let ctx = dir.join("suggested");
    make_context(fixture, &ctx)?;
    if !no_change {
        fs::write(ctx.join("Dockerfile"), &dockerfile)?;
        fs::write(ctx.join(".dockerignore"), &dockerignore)?;
    }
    for rebuilder in REBUILDERS {
        let rid = format!("{id} -> suggested/{}", rebuilder.name());
        let tag = format!(
            "localhost/imgprof-e2e/{}:suggested-{}-{}",
            fixture.name,
            builder.name(),
            rebuilder.name()
        );
        let mut row = Rebuilt {
            fixture: fixture.name,
            naive_builder: builder,
            builder: rebuilder,
            naive_shipped,
            projected,
            achieved: None,
            built: Check::NotRun,
            runs: Check::NotRun,
            serves: Check::NotRun,
            within: Check::NotRun,
        };
        let out = run.timed(format!("{rid}: build"), |_| build(world, rebuilder, &ctx, &tag));
        row.built = Check::of(out.status.success());
        if !out.status.success() {
            run.fail(&rid, "the suggested Dockerfile does not build", tail_output(&out, 30));
            run.rebuilt.push(row);
            continue;
        }
        let archive = ArchiveFile(dir.join(format!("suggested-{}.tar", rebuilder.name())));
        run.timed(format!("{rid}: export, report"), |_| {
            export(world, rebuilder, &tag, &archive)
        })?;
        let report = imgprof_json(imgprof, &["report", "--json"], &archive);
        drop(archive);
        match report {
            Ok(report) => {
                row.achieved = report["image"]["shipped_bytes"].as_u64();
                if let (Some(achieved), Some(projected)) = (row.achieved, projected) {
                    let off = achieved.abs_diff(projected) as f64 / projected.max(1) as f64;
                    row.within = Check::of(off <= 0.10);
                    if off > 0.10 {
                        run.fail(
                            &rid,
                            "the built suggestion is not within 10% of the projection",
                            format!(
                                "projected {} ({projected} B), achieved {} ({achieved} B): {:+.1}%",
                                mb(projected),
                                mb(achieved),
                                (achieved as f64 / projected as f64 - 1.0) * 100.0
                            ),
                        );
                    }
                }
            }
            Err(e) => run.fail(
                &rid,
                "imgprof report --json of the built suggestion failed",
                format!("{e:#}"),
            ),
        }
        let (runs, serves) = run.timed(format!("{rid}: run"), |run| {
            run_checks(run, world, fixture, rebuilder, &tag, &rid)
        });
        row.runs = runs;
        row.serves = serves;
        run.rebuilt.push(row);
    }
    Ok(())
}

/// An exported image, deleted once read: a full run exports about 20 GB of archives,
/// more than a CI machine's disk holds beside the builders' stores. The reports and
/// Dockerfiles stay in the case's directory.
struct ArchiveFile(PathBuf);

impl std::ops::Deref for ArchiveFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ArchiveFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A copy of the fixture's context, with a small git history (the `.git` a checkout has).
fn make_context(fixture: &Fixture, ctx: &Path) -> Result<()> {
    let src = project_root().join("xtask/e2e/apps").join(fixture.name);
    fs::create_dir_all(ctx)?;
    crate::run(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", src.display()))
            .arg(ctx),
    )?;
    let git = |args: &[&str]| {
        crate::run(
            Command::new("git")
                .args(args)
                .current_dir(ctx)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_AUTHOR_NAME", "Dev Eloper")
                .env("GIT_AUTHOR_EMAIL", "dev@example.com")
                .env("GIT_COMMITTER_NAME", "Dev Eloper")
                .env("GIT_COMMITTER_EMAIL", "dev@example.com")
                .env("GIT_AUTHOR_DATE", "2025-03-01T10:00:00Z")
                .env("GIT_COMMITTER_DATE", "2025-03-01T10:00:00Z")
                .stdout(Stdio::null()),
        )
    };
    git(&["-c", "init.defaultBranch=main", "init", "-q", "."])?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "Initial version"])?;
    // The index records each file's inode and times, which differ in every copy: rewritten
    // without them, the context is the same bytes on every run, so the builders' layer
    // caches (and the pip and npm downloads in them) are reused.
    fs::remove_file(ctx.join(".git/index"))?;
    git(&["read-tree", "HEAD"])
}

fn build(world: &World, builder: Builder, ctx: &Path, tag: &str) -> Output {
    let mut command = match builder {
        Builder::BuildKit | Builder::Classic => {
            let mut c = world.docker(builder == Builder::BuildKit);
            c.args(["build", "--network", "host", "-t", tag]);
            c
        }
        Builder::Buildah => {
            let mut c = world.buildah();
            c.args([
                "bud",
                "--isolation",
                "chroot",
                "--network",
                "host",
                "--layers",
                "--pull=never",
                "-t",
                tag,
            ]);
            c
        }
    };
    command.arg(ctx).stdin(Stdio::null());
    match command.output() {
        Ok(out) => out,
        Err(e) => failed_output(&format!("cannot start {command:?}: {e}")),
    }
}

fn failed_output(message: &str) -> Output {
    let status = Command::new("false").status().expect("false runs");
    Output {
        status,
        stdout: Vec::new(),
        stderr: message.as_bytes().to_vec(),
    }
}

fn export(world: &World, builder: Builder, tag: &str, archive: &Path) -> Result<()> {
    if archive.exists() {
        fs::remove_file(archive)?;
    }
    let mut command = match builder {
        Builder::BuildKit | Builder::Classic => {
            let mut c = world.docker(true);
            c.args(["save", "-o"]).arg(archive).arg(tag);
            c
        }
        Builder::Buildah => {
            let mut c = world.buildah();
            c.args(["push", "--quiet", tag])
                .arg(format!("docker-archive:{}:{tag}", archive.display()));
            c
        }
    };
    crate::builders::checked_output(&mut command).map(drop)
}

fn imgprof_text(imgprof: &Path, args: &[&str], archive: &Path) -> Result<String> {
    let out = Command::new(imgprof).args(args).arg(archive).output()?;
    if !out.status.success() {
        bail!(
            "imgprof {} exited with {}:\n{}",
            args.join(" "),
            out.status,
            tail_output(&out, 20)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn imgprof_json(imgprof: &Path, args: &[&str], archive: &Path) -> Result<Value> {
    let text = imgprof_text(imgprof, args, archive)?;
    serde_json::from_str(&text).context("imgprof's JSON does not parse")
}

/// What a suggestion must not hold: the raw text builders write into history, or a
/// placeholder for the user to fill in.
fn raw_text_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut found = Vec::new();
        for needle in ["#(nop)", "/bin/sh -c", "# buildkit"] {
            if line.contains(needle) {
                found.push(format!("raw history text `{needle}`"));
            }
        }
        for prefix in ["file:", "dir:"] {
            let mut rest = line;
            while let Some(at) = rest.find(prefix) {
                let after = &rest[at + prefix.len()..];
                if after.chars().take_while(char::is_ascii_hexdigit).count() >= 8 {
                    found.push(format!("content hash `{prefix}<hex>`"));
                }
                rest = after;
            }
        }
        if let Some(p) = placeholder(line) {
            found.push(format!("placeholder `{p}`"));
        }
        for word in ["TODO", "FIXME", "CHANGEME", "XXX"] {
            if line.contains(word) {
                found.push(format!("placeholder `{word}`"));
            }
        }
        for f in found {
            problems.push(format!("line {}: {f}: {}", n + 1, line.trim()));
        }
    }
    problems
}

/// `<something>` (letters, digits, `-`, `_`, `.`, spaces) on a line: a placeholder.
fn placeholder(line: &str) -> Option<&str> {
    let mut rest = line;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        if let Some(close) = after.find('>') {
            let inner = &after[..close];
            if !inner.is_empty()
                && inner.starts_with(|c: char| c.is_ascii_alphabetic())
                && inner.chars().all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c))
            {
                return Some(&rest[open..open + close + 2]);
            }
        }
        rest = after;
    }
    None
}

/// Runs the image as built (its USER, its CMD) on the host network, checks its imports
/// in a second container and that it answers `GET /` on its port.
fn run_checks(
    run: &mut Run,
    world: &World,
    fixture: &Fixture,
    builder: Builder,
    tag: &str,
    rid: &str,
) -> (Check, Check) {
    let engine = |run: &Run| -> Command {
        let _ = run;
        match builder.engine() {
            "docker" => world.docker(true),
            _ => world.podman(),
        }
    };
    // The imports, with the image's own user, workdir and environment.
    let out = engine(run)
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            fixture.imports[0],
            tag,
        ])
        .args(&fixture.imports[1..])
        .output();
    let imports_ok = match out {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            run.fail(
                rid,
                "the app's imports fail in the built suggestion",
                tail_output(&out, 20),
            );
            false
        }
        Err(e) => {
            run.fail(rid, "cannot run the built suggestion", e.to_string());
            false
        }
    };
    if let Err(e) = wait_for_free_port(fixture.port) {
        run.fail(rid, "the app's port is taken", format!("{e:#}"));
        return (Check::of(imports_ok), Check::NotRun);
    }
    let name = format!("imgprof-e2e-{}-{}", fixture.name, std::process::id());
    remove_container(world, builder.engine(), &name);
    let started = engine(run)
        .args(["run", "-d", "--network", "host", "--name", &name, tag])
        .output();
    match started {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            run.fail(rid, "the built suggestion does not start", tail_output(&out, 20));
            return (Check::Fail, Check::NotRun);
        }
        Err(e) => {
            run.fail(rid, "cannot start the container engine", e.to_string());
            return (Check::Fail, Check::NotRun);
        }
    }
    run.containers.push((builder.engine(), name.clone()));
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut last = String::new();
    let served = loop {
        match http_get(fixture.port) {
            Ok(body) if body.starts_with("HTTP/1.1 200") || body.starts_with("HTTP/1.0 200") => break true,
            Ok(body) => last = body,
            Err(e) => last = e.to_string(),
        }
        let state = engine(run)
            .args(["inspect", "--format", "{{.State.Running}}", &name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        if state != "true" || Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let logs = engine(run)
        .args(["logs", &name])
        .output()
        .map(|o| tail_output(&o, 20))
        .unwrap_or_default();
    let running = engine(run)
        .args(["inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", &name])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    remove_container(world, builder.engine(), &name);
    run.containers.retain(|(_, n)| *n != name);
    let runs = imports_ok && (served || running.starts_with("true"));
    if !served {
        run.fail(
            rid,
            &format!("the built suggestion does not answer GET / on port {}", fixture.port),
            format!("container state (running, exit code): {running}\nlast answer: {last}\ncontainer log:\n{logs}"),
        );
    }
    (Check::of(runs), Check::of(served))
}

fn wait_for_free_port(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if TcpListener::bind(("0.0.0.0", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("port {port} has been in use for 30 s (another service on the host network)");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn http_get(port: u16) -> Result<String> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

fn remove_containers(run: &mut Run, world: &World) {
    for (engine, name) in std::mem::take(&mut run.containers) {
        remove_container(world, engine, &name);
    }
}

/// Kills and removes a container at once. `docker rm -f` kills; podman's first sends
/// SIGTERM and waits 10 s, which a server as PID 1 ignores (10 s per podman run).
fn remove_container(world: &World, engine: &str, name: &str) {
    let _ = if engine == "docker" {
        world.docker(true).args(["rm", "-f", name]).output()
    } else {
        world.podman().args(["rm", "-f", "-t", "0", name]).output()
    };
}

fn tail_output(out: &Output, lines: usize) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Build output names the hosts packages came from; committed text must not.
fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let words: Vec<String> = line
            .split(' ')
            .map(|word| {
                if let Some(at) = word.find("://") {
                    format!("{}://<host>/…", &word[..at])
                } else if looks_like_host(word) {
                    "<host>".to_owned()
                } else {
                    word.to_owned()
                }
            })
            .collect();
        out.push_str(&words.join(" "));
    }
    out
}

fn looks_like_host(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-');
    let w = w.trim_start_matches("host=");
    let parts: Vec<&str> = w.split('.').collect();
    parts.len() >= 2
        && matches!(parts.last(), Some(&("org" | "com" | "net" | "io" | "dev")))
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn opt_mb(bytes: Option<u64>) -> String {
    bytes.map(mb).unwrap_or_else(|| "–".to_owned())
}

fn summary_table(run: &Run) -> String {
    let mut t = String::new();
    t.push_str(
        "| fixture | naive built by | suggestion built by | naive | projected | achieved | builds | runs | serves | within 10% |\n",
    );
    t.push_str("|---|---|---|---:|---:|---:|---|---|---|---|\n");
    for n in &run.naives {
        let rows: Vec<&Rebuilt> = run
            .rebuilt
            .iter()
            .filter(|r| r.fixture == n.fixture && r.naive_builder == n.builder)
            .collect();
        if rows.is_empty() {
            let _ = writeln!(
                t,
                "| {} | {} | – | {} | {} | – | {} | – | – | – |",
                n.fixture,
                n.builder.name(),
                opt_mb(n.shipped),
                opt_mb(n.projected),
                if n.built == Check::Pass {
                    "suggestion not written"
                } else {
                    "**naive build failed**"
                },
            );
        }
        for r in rows {
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.fixture,
                r.naive_builder.name(),
                r.builder.name(),
                opt_mb(r.naive_shipped),
                opt_mb(r.projected),
                opt_mb(r.achieved),
                r.built.cell(),
                r.runs.cell(),
                r.serves.cell(),
                r.within.cell()
            );
        }
    }
    t
}

fn markdown(run: &Run, total: Duration, bases_cached: bool) -> String {
    let mut d = String::new();
    d.push_str(
        "# End-to-end: `imgprof suggest` on real builders\n\n\
         Written by `cargo xtask e2e` (do not edit by hand). For each fixture app of\n\
         `xtask/e2e/apps` and each builder of the builder world (`cargo xtask builders up`:\n\
         dockerd 20.10 with BuildKit and with the classic builder, buildah 1.28 with\n\
         `--isolation chroot --layers`), the naive Dockerfile is built and exported, imgprof's\n\
         `report --json`, `suggest` and `suggest --dockerignore` run on the archive, and the\n\
         suggested Dockerfile and .dockerignore, written exactly as printed into a copy of the\n\
         context (with a `.git`), are built with BuildKit and with buildah and run as the image's\n\
         own USER with its CMD on the host network (`docker run` / `podman run`). Where `suggest`\n\
         says \"no change\" (right only for the well-built fixture), the fixture's own Dockerfile\n\
         is built and run in its place. *naive* is\n\
         `image.shipped_bytes` of the naive image, *projected* its report's\n\
         `projection.projected_bytes`, *achieved* `image.shipped_bytes` of the built suggestion;\n\
         *runs*: the app's imports work in the image (run as its USER, in its WORKDIR) and the\n\
         container keeps running; *serves*: it answers `GET /` with 200 on the app's port.\n\
         Base images (`debian`, `python:3.11`, `node:18` and their `-slim` variants) are built\n\
         locally from Debian packages by `xtask/base-images/build.sh` (see its header for how\n\
         faithful they are).\n\n",
    );
    let _ = writeln!(
        d,
        "Result: **{}** ({} check(s) failed); the whole run took {:.0} s, base images {}.\n",
        if run.failures.is_empty() {
            "every check passed"
        } else {
            "FAILED"
        },
        run.failures.len(),
        total.as_secs_f64(),
        if bases_cached {
            "warm (from the cache)"
        } else {
            "cold (built)"
        }
    );
    d.push_str("## Results\n\n");
    d.push_str(&summary_table(run));
    d.push_str("\n## The naive images and what imgprof said\n\n");
    d.push_str("| fixture | builder | builds | naive | projected | findings | suggestion | suggestion clean | good: no size advice, `check` passes |\n");
    d.push_str("|---|---|---|---:|---:|---|---|---|---|\n");
    for n in &run.naives {
        let _ = writeln!(
            d,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            n.fixture,
            n.builder.name(),
            n.built.cell(),
            opt_mb(n.shipped),
            opt_mb(n.projected),
            if n.findings.is_empty() {
                "–".to_owned()
            } else {
                n.findings.join(" ")
            },
            match (&n.suggestion, n.no_change) {
                (None, _) => "–",
                (Some(_), true) => "no change (own Dockerfile rebuilt)",
                (Some(_), false) => "rewrite",
            },
            n.suggestion_clean.cell(),
            n.good_checks.cell()
        );
    }
    d.push_str(
        "\n## Each finding's fix, applied alone\n\n\
         On the BuildKit-built naive image, each distinct fix of the report applied by itself to\n\
         the naive Dockerfile (`.dockerignore` entries added, or the one step it rewrites\n\
         replaced; see `xtask/src/e2e/snippets.rs`), built with BuildKit; *measured* is the\n\
         naive image's `shipped_bytes` less the fixed one's. Fixes written as guidance are not\n\
         built: they name a restructure (`imgprof suggest` writes it) or the base image's layers.\n\n",
    );
    d.push_str(&snippets::table(&run.applied));
    d.push_str("\n## Failures\n\n");
    if run.failures.is_empty() {
        d.push_str("None.\n");
    }
    for f in &run.failures {
        let _ = writeln!(d, "### {}: {}\n", f.case, f.what);
        if !f.detail.trim().is_empty() {
            let _ = writeln!(d, "```\n{}\n```\n", f.detail.trim_end().replace("```", "'''"));
        }
    }
    d.push_str("\n## The suggestions\n\nAs `imgprof suggest` and `imgprof suggest --dockerignore` printed them (identical ones shown once).\n\n");
    let mut seen: Vec<&(String, String)> = Vec::new();
    for n in &run.naives {
        let Some(s) = &n.suggestion else { continue };
        let same: Vec<String> = run
            .naives
            .iter()
            .filter(|m| m.fixture == n.fixture && m.suggestion.as_ref() == Some(s))
            .map(|m| m.builder.name().to_owned())
            .collect();
        if seen.contains(&s) {
            continue;
        }
        seen.push(s);
        let _ = writeln!(d, "### {} (naive built by {})\n", n.fixture, same.join(", "));
        let _ = writeln!(d, "```dockerfile\n{}\n```\n", redact(s.0.trim_end()));
        let _ = writeln!(d, ".dockerignore:\n\n```\n{}\n```\n", redact(s.1.trim_end()));
    }
    if let Some(cold) = crate::real_images::recipe_output("base-images")
        .ok()
        .and_then(|dir| fs::read_to_string(dir.join("timings.txt")).ok())
    {
        d.push_str(
            "## Timings\n\nThe base images, cold (`xtask/base-images/build.sh`, as it recorded them when it \
             built the cached ones; loading them into dockerd and containers-storage took about \
             80 s more the first time):\n\n```\n",
        );
        d.push_str(cold.trim_end());
        d.push_str("\n```\n\nThis run:\n\n");
    } else {
        d.push_str("## Timings\n\n");
    }
    d.push_str("| phase | seconds |\n|---|---:|\n");
    for (label, took) in &run.timings {
        let _ = writeln!(d, "| {label} | {:.1} |", took.as_secs_f64());
    }
    let _ = writeln!(d, "| **total** | {:.1} |", total.as_secs_f64());
    d
}
