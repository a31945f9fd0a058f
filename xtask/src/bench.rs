//! `cargo xtask bench`: imgprof against the peer tool on the same input, side by side.
//! Runs alternate (imgprof, peer, imgprof, peer, ...) so drift hits both alike; the
//! medians of wall time and peak memory (max RSS, from GNU time) and their ratios are
//! printed and written to `docs/benchmarks.md`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{project_root, run};

const RUNS: usize = 5;

struct Case {
    name: &'static str,
    input: PathBuf,
    ours: Vec<String>,
    /// Environment of imgprof's runs (the layer cache directory).
    ours_env: Vec<(&'static str, String)>,
    peer_name: &'static str,
    peer: Vec<String>,
}

#[derive(Clone, Copy)]
struct Sample {
    seconds: f64,
    max_rss_kib: u64,
}

pub fn bench() -> Result<()> {
    let root = project_root();
    crate::ci::install_tools()?;
    run(Command::new("cargo")
        .args(["build", "--release", "--quiet", "-p", "imgprof", "-p", "xtask"])
        .current_dir(&root))?;
    let imgprof = root.join("target/release/imgprof").display().to_string();
    let floor = root.join("target/release/xtask").display().to_string();
    let images = crate::real_images::real_images()?;
    let million = crate::synthetic::million_files_archive()?;
    let large = crate::large_image::large_image()?;

    let mut cases = Vec::new();
    for (name, input) in [
        (
            "sample docker-archive (3.7 MB)",
            root.join("testdata/sample/sample-app.tar"),
        ),
        ("naive realistic docker-archive", images.join("naive.tar")),
        ("slim realistic docker-archive", images.join("slim.tar")),
        (
            "1,000,000-file layer, docker-archive (memory per file)",
            million.clone(),
        ),
        (
            "large ML image (torch with its CUDA wheels), docker-archive",
            large.join("large.tar"),
        ),
    ] {
        let path = input.display().to_string();
        cases.push(Case {
            name,
            ours: vec![imgprof.clone(), "report".into(), path.clone()],
            ours_env: Vec::new(),
            peer_name: "dive --ci",
            peer: vec![
                "dive".into(),
                "--ci".into(),
                "--source".into(),
                "docker-archive".into(),
                path,
            ],
            input,
        });
    }

    // The floor of a docker-archive: its layer members only hashed, in parallel. The
    // largest layer's sha256, which cannot be split, bounds any verifying reader.
    let naive_archive = images.join("naive.tar");
    cases.push(Case {
        name: "naive realistic docker-archive against the floor",
        ours: vec![imgprof.clone(), "report".into(), naive_archive.display().to_string()],
        ours_env: Vec::new(),
        peer_name: "floor: sha256 of each layer",
        peer: vec![floor.clone(), "floor".into(), naive_archive.display().to_string()],
        input: naive_archive,
    });

    // The floor: the naive layout's gzip layers only hashed, decompressed and hashed
    // again, in parallel. The registry gets the same blobs, so its cold run has the same
    // floor.
    let layout = images.join("naive.oci");
    let floor_of = |mode: &[&str]| {
        let mut command = vec![floor.clone(), "floor".into()];
        command.extend(mode.iter().map(|m| m.to_string()));
        command.push(layout.display().to_string());
        command
    };
    let floor_case = |name: &'static str, ours: Vec<String>, ours_env: Vec<(&'static str, String)>| Case {
        name,
        input: layout.join("index.json"),
        ours,
        ours_env,
        peer_name: "floor: hash, gunzip, hash",
        peer: floor_of(&[]),
    };
    let layout_report = vec![imgprof.clone(), "report".into(), format!("{}:naive", layout.display())];
    cases.push(floor_case(
        "naive OCI layout (gzip) against the floor",
        layout_report.clone(),
        Vec::new(),
    ));
    // The same work as one thread per layer does it at best (the largest layer alone,
    // its steps one after another), and spread over the cores at best (every layer's
    // steps on three threads).
    cases.push(Case {
        peer_name: "single-stream floor: the largest layer on one thread",
        peer: floor_of(&["--single-stream"]),
        ..floor_case(
            "naive OCI layout (gzip) against the single-stream floor",
            layout_report.clone(),
            Vec::new(),
        )
    });
    cases.push(Case {
        peer_name: "parallel floor: every layer's steps on three threads",
        peer: floor_of(&["--parallel"]),
        ..floor_case(
            "naive OCI layout (gzip) against the parallel floor",
            layout_report,
            Vec::new(),
        )
    });
    let registry = crate::registry::LoopbackRegistry::start()?;
    let reference = registry.push(&format!("oci:{}:naive", layout.display()), "bench/naive:1")?;
    let scratch = std::env::temp_dir().join(format!("imgprof-bench-{}", std::process::id()));
    fs::create_dir_all(&scratch)?;
    let registry_cases = registry_cases(&imgprof, &layout.join("index.json"), &reference, &scratch);
    let cold = registry_cases[0].ours.clone();
    let cold_env = registry_cases[0].ours_env.clone();
    cases.extend(registry_cases);
    cases.push(floor_case(
        "naive image from a loopback registry, empty cache, against the floor",
        cold,
        cold_env,
    ));

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| case | input size | imgprof wall | {peer} wall | wall ratio | imgprof peak RSS | {peer} peak RSS | memory ratio |",
        peer = "peer"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|---|");
    for case in &cases {
        let (ours, peer) = measure_pair(case)?;
        push_row(&mut table, case.name, &case.input, case.peer_name, ours, peer)?;
    }
    // The views: from the command to the full analysis on screen, in a real terminal.
    let large_archive = large.join("large.tar").display().to_string();
    let view = ViewCase {
        name: "large ML image in the terminal view: command to the full analysis on screen",
        input: large.join("large.tar"),
        ours: (
            vec![imgprof.clone(), "inspect".into(), large_archive.clone()],
            "Files: layer",
        ),
        peer_name: "dive's UI",
        peer: (
            vec!["dive".into(), "--source".into(), "docker-archive".into(), large_archive],
            "Current Layer Contents",
        ),
    };
    let (ours, peer) = measure_view_pair(&view)?;
    push_row(&mut table, view.name, &view.input, view.peer_name, ours, peer)?;
    let _ = fs::remove_dir_all(&scratch);
    write_report(&root, &table)?;
    keystrokes(&root)
}

/// One case's row of the table, also printed as it is measured.
fn push_row(table: &mut String, name: &str, input: &Path, peer_name: &str, ours: Sample, peer: Sample) -> Result<()> {
    let row = format!(
        "| {name} | {:.1} MB | {:.3} s | {:.3} s ({peer_name}) | **{:.2}** | {:.1} MB | {:.1} MB | **{:.2}** |",
        input_bytes(input)? as f64 / 1e6,
        ours.seconds,
        peer.seconds,
        ours.seconds / peer.seconds,
        ours.max_rss_kib as f64 * 1.024 / 1000.0,
        peer.max_rss_kib as f64 * 1.024 / 1000.0,
        ours.max_rss_kib as f64 / peer.max_rss_kib as f64,
    );
    println!("{row}");
    table.push_str(&row);
    table.push('\n');
    Ok(())
}

/// The heading of the keystroke section in docs/benchmarks.md; everything from it on is
/// rewritten by [`keystrokes`].
const KEYSTROKES_HEADING: &str = "## The inspect view: keystrokes on a million entries";

/// Runs the inspect view's keystroke measurement (`crates/imgprof-tui/examples/keystrokes.rs`,
/// release build): every key's handling plus a render into a 120x40 test backend, and the
/// frame that draws the worker's answer, on a generated tree of 1,000,000 entries. The
/// goal is 16 ms (one frame at 60 Hz) for every frame.
pub fn keystrokes(root: &Path) -> Result<()> {
    let output = Command::new("cargo")
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "imgprof-tui",
            "--example",
            "keystrokes",
            "--",
            "1000000",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("running the keystrokes example")?;
    if !output.status.success() {
        bail!("the keystrokes example failed with {}", output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut section = format!(
        "{KEYSTROKES_HEADING}\n\n\
         `crates/imgprof-tui/examples/keystrokes.rs`, release build: a generated tree (five layers: \
         base, site-packages, app, overwrites, deletions) with the sample image's metadata. Each key \
         is taken as the event loop takes it: handled, then a full render into a 120x40 \
         `TestBackend`. Goal: every frame under 16 ms. Moving, scrolling and folding one directory \
         work on the drawn rows; keys that change what shows (a layer, a mode, a toggle, the order, \
         the filter, folding everything) ask the tree's worker thread for a new layout (a view, \
         filter matches, rows: passes over every node) and return at once, and the pane draws the \
         last layout, saying what it waits for, until the answer comes; then that answer is taken \
         in and drawn (a frame of its own). Only the latest request waits, so holding a key or \
         typing a filter lays out what is wanted, not one layout per key.\n\n"
    );
    let mut keys = String::from(
        "| key | presses | frame after the key, median | max | frame drawing the answer, max | key to answer drawn, median | every frame under 16 ms |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["entries", entries, nodes] => {
                let _ = writeln!(section, "- {entries} entries, {nodes} tree nodes");
            }
            ["setup", what, ms] => {
                let _ = writeln!(section, "- {what}: {ms} ms");
            }
            ["key", name, presses, median, max, answer, result] => {
                let under = |ms: &str| ms == "-" || ms.parse::<f64>().is_ok_and(|m| m < 16.0);
                let with_unit = |ms: &str| if ms == "-" { "-".to_owned() } else { format!("{ms} ms") };
                let _ = writeln!(
                    keys,
                    "| {name} | {presses} | {median} ms | {max} ms | {} | {} | {} |",
                    with_unit(answer),
                    with_unit(result),
                    if under(max) && under(answer) { "yes" } else { "**no**" }
                );
            }
            _ => {}
        }
    }
    section.push('\n');
    section.push_str(&keys);
    print!("{section}");
    let path = root.join("docs/benchmarks.md");
    let existing = fs::read_to_string(&path).unwrap_or_default();
    let kept = existing
        .split_once(KEYSTROKES_HEADING)
        .map_or(existing.as_str(), |(before, _)| before)
        .trim_end();
    fs::write(&path, format!("{kept}\n\n{section}"))?;
    eprintln!("xtask: wrote the keystroke section of docs/benchmarks.md");
    Ok(())
}

/// The naive image pulled from a loopback registry: imgprof with an empty layer cache
/// (emptied before every run) and with a warm one, against pulling it with skopeo into a
/// docker-archive and running dive on that, which is what dive users do without a daemon.
fn registry_cases(imgprof: &str, input: &Path, reference: &str, scratch: &Path) -> Vec<Case> {
    let pulled = scratch.join("pulled.tar").display().to_string();
    let peer = vec![
        "sh".into(),
        "-c".into(),
        format!(
            "rm -f {pulled} && skopeo copy --quiet --src-tls-verify=false docker://{reference} docker-archive:{pulled} \
             && dive --ci --source docker-archive {pulled}"
        ),
    ];
    let cold = scratch.join("cold-cache").display().to_string();
    let warm = scratch.join("warm-cache").display().to_string();
    vec![
        Case {
            name: "naive image from a loopback registry, empty layer cache",
            input: input.to_owned(),
            ours: vec![
                "sh".into(),
                "-c".into(),
                format!("rm -rf {cold} && exec {imgprof} report {reference}"),
            ],
            ours_env: vec![("IMGPROF_CACHE_DIR", cold.clone())],
            peer_name: "skopeo copy + dive --ci",
            peer: peer.clone(),
        },
        Case {
            name: "naive image from a loopback registry, warm layer cache",
            input: input.to_owned(),
            ours: vec![imgprof.to_owned(), "report".into(), reference.to_owned()],
            // The warm-up run fills it.
            ours_env: vec![("IMGPROF_CACHE_DIR", warm)],
            peer_name: "skopeo copy + dive --ci",
            peer,
        },
    ]
}

/// The size of an input: a file's, or for an OCI layout's `index.json` the layout's blobs.
fn input_bytes(input: &Path) -> Result<u64> {
    if input.ends_with("index.json") {
        let blobs = input.with_file_name("blobs").join("sha256");
        return fs::read_dir(&blobs)?.map(|entry| Ok(entry?.metadata()?.len())).sum();
    }
    Ok(fs::metadata(input)?.len())
}

fn measure_pair(case: &Case) -> Result<(Sample, Sample)> {
    let path = crate::ci::tool_path();
    // One warm-up each so both read the input from the page cache.
    measure(&case.ours, &case.ours_env, true, &path)?;
    measure(&case.peer, &[], false, &path)?;
    let mut ours = Vec::new();
    let mut peer = Vec::new();
    for _ in 0..RUNS {
        ours.push(measure(&case.ours, &case.ours_env, true, &path)?);
        peer.push(measure(&case.peer, &[], false, &path)?);
    }
    Ok((median(&ours), median(&peer)))
}

/// A terminal view against a peer's: each command with the text its screen shows once
/// the analysis is complete.
struct ViewCase {
    name: &'static str,
    input: PathBuf,
    ours: (Vec<String>, &'static str),
    peer_name: &'static str,
    peer: (Vec<String>, &'static str),
}

/// Runs in a view take tens of seconds each: fewer of them.
const VIEW_RUNS: usize = 3;

fn measure_view_pair(case: &ViewCase) -> Result<(Sample, Sample)> {
    let path = crate::ci::tool_path();
    let run = |(argv, marker): &(Vec<String>, &str)| measure_view(argv, marker, &path);
    run(&case.ours)?;
    run(&case.peer)?;
    let mut ours = Vec::new();
    let mut peer = Vec::new();
    for _ in 0..VIEW_RUNS {
        ours.push(run(&case.ours)?);
        peer.push(run(&case.peer)?);
    }
    Ok((median(&ours), median(&peer)))
}

/// Starts `argv` under GNU time in a detached tmux session (160x45) and measures the wall
/// time until its screen shows `marker`, polled every 20 ms; then quits it (Ctrl+C) and
/// reads its peak RSS.
fn measure_view(argv: &[String], marker: &str, path: &str) -> Result<Sample> {
    let rss_file = tempfile_path("imgprof-bench-view-rss");
    let _ = fs::remove_file(&rss_file);
    let socket = format!("imgprof-bench-{}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").args(["-L", &socket]).args(args).output();
    let command = format!(
        "env PATH={path} /usr/bin/time -f %M -o {} {}",
        rss_file.display(),
        argv.join(" ")
    );
    let start = Instant::now();
    let started = tmux(&["new-session", "-d", "-x", "160", "-y", "45", "-s", "bench", &command])?;
    if !started.status.success() {
        bail!("tmux new-session: {}", String::from_utf8_lossy(&started.stderr));
    }
    let seconds = loop {
        let screen = tmux(&["capture-pane", "-p", "-t", "bench"])?;
        if String::from_utf8_lossy(&screen.stdout).contains(marker) {
            break start.elapsed().as_secs_f64();
        }
        if start.elapsed() > Duration::from_secs(600) || !screen.status.success() {
            let _ = tmux(&["kill-server"]);
            bail!("{argv:?} never showed {marker:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = tmux(&["send-keys", "-t", "bench", "C-c"]);
    let rss = loop {
        let text = fs::read_to_string(&rss_file).unwrap_or_default();
        if let Some(kib) = text.lines().last().and_then(|l| l.trim().parse::<u64>().ok()) {
            break kib;
        }
        if start.elapsed() > Duration::from_secs(660) {
            let _ = tmux(&["kill-server"]);
            bail!("{argv:?} did not quit on Ctrl+C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = tmux(&["kill-server"]);
    let _ = fs::remove_file(&rss_file);
    Ok(Sample {
        seconds,
        max_rss_kib: rss,
    })
}

/// Runs `argv` under GNU time; `must_succeed` is false for peers whose CI mode exits 1
/// when a rule fails (the analysis still ran in full).
fn measure(argv: &[String], env: &[(&str, String)], must_succeed: bool, path: &str) -> Result<Sample> {
    let rss_file = tempfile_path("imgprof-bench-rss");
    let mut command = Command::new("/usr/bin/time");
    command
        .args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .args(argv)
        .env("CI", "true")
        .env("PATH", path)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("running {argv:?} under /usr/bin/time"))?;
    let seconds = start.elapsed().as_secs_f64();
    let ok = status.success() || (!must_succeed && status.code() == Some(1));
    if !ok {
        bail!("{argv:?} failed with {status}");
    }
    let text = fs::read_to_string(&rss_file)?;
    let _ = fs::remove_file(&rss_file);
    let max_rss_kib = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .with_context(|| format!("GNU time printed no max RSS: {text:?}"))?;
    Ok(Sample { seconds, max_rss_kib })
}

fn median(samples: &[Sample]) -> Sample {
    let mut seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    let mut rss: Vec<u64> = samples.iter().map(|s| s.max_rss_kib).collect();
    seconds.sort_by(f64::total_cmp);
    rss.sort_unstable();
    Sample {
        seconds: seconds[seconds.len() / 2],
        max_rss_kib: rss[rss.len() / 2],
    }
}

fn tempfile_path(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()))
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or_else(String::new, |kib| format!(", {:.0} GiB", kib as f64 / 1024.0 / 1024.0));
    format!("{cpu}, {cores} cores{mem}")
}

fn write_report(root: &Path, table: &str) -> Result<()> {
    let dive_version = Command::new("dive")
        .arg("--version")
        .env("PATH", crate::ci::tool_path())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let text = format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench`; do not edit by hand.\n\n\
         - machine: {}\n\
         - peer: {dive_version}, `dive --ci --source docker-archive FILE` (CI=true); for a registry, \
           `skopeo copy docker://REF docker-archive:FILE` then that (dive cannot pull without a daemon)\n\
         - imgprof: release build, `imgprof report FILE` or `imgprof report REF` (every blob digest and diff_id \
           verified, text output); the registry is Debian's docker-registry on 127.0.0.1, and the layer cache \
           is emptied before every cold run\n\
         - method: one warm-up run each, then {RUNS} alternating runs; medians; wall time measured around \
           the process, peak memory is GNU time's max RSS (for a pipeline, its largest process). Ratios are imgprof / peer (lower is better). \
           The terminal views (`imgprof inspect`, dive's UI) run under GNU time in a detached 160x45 tmux session, timed from \
           the start to the first screen that shows the whole analysis (imgprof: the files pane's title; dive: its \
           layer contents pane), polled every 20 ms, then quit with Ctrl+C; one warm-up, then {VIEW_RUNS} runs each.\n\
         - inputs: `testdata/sample/sample-app.tar`, the realistic images of `cargo xtask real-images`, \
           `cargo xtask million-files` (one layer of 1,000,000 files of 24 bytes) and `cargo xtask large-image` \
           (Debian, python, numpy, scipy, pandas, scikit-learn and torch with its CUDA wheels from PyPI)\n\
         - floor: `xtask floor LAYOUT` (release): every layer blob read once, sha256, gunzip, sha256 of the \
           tar, layers in parallel (one per core), each layer's steps one after another, no tar walk and no \
           analysis; the registry is given the same blobs (`skopeo copy oci:...`), so its cold run has this floor. \
           `--single-stream`: the largest layer alone, its three steps on one thread (what one thread per layer \
           costs at best). `--parallel`: every layer's three steps on three threads handing 128 KiB buffers on, \
           layers one per core (the same work spread over the cores: the least a pipelined verifying read can do). \
           `xtask floor ARCHIVE`: every layer member of a docker-archive hashed in place, in parallel; \
           the sha256 of the largest layer is one sequential pass that no reader can split, so it bounds \
           every verifying tool's wall time on that archive\n\n\
         {table}",
        machine()
    );
    fs::write(root.join("docs/benchmarks.md"), text)?;
    eprintln!("xtask: wrote docs/benchmarks.md");
    Ok(())
}
