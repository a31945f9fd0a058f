//! `cargo xtask fuzz [TARGET] [--minutes N]`: runs the cargo-fuzz targets in `fuzz/` one
//! after another (libFuzzer, one job, one worker each: the fuzzers never share the
//! machine), then reports the executions and crashes of each.
//!
//! Each target reads its committed seeds from `fuzz/corpus/TARGET` and adds what it finds
//! to `fuzz/generated/TARGET/corpus` (git-ignored), where its log (`fuzz-0.log`) is kept
//! too; crashing inputs are written to `fuzz/artifacts/TARGET/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Every target in `fuzz/Cargo.toml`, in the order they run.
const TARGETS: &[&str] = &[
    "fuzz_reference",
    "fuzz_spec_json",
    "fuzz_tar_walker",
    "fuzz_docker_archive",
    "fuzz_oci_layout",
    "fuzz_www_authenticate",
    "fuzz_rules",
];

const DEFAULT_MINUTES: u64 = 10;
const RSS_LIMIT_MB: u64 = 2048;
/// One input taking longer than this is reported as a hang.
const TIMEOUT_SECONDS: u64 = 60;

const USAGE: &str = "usage: cargo xtask fuzz [TARGET] [--minutes N]";

/// What one target's run produced.
struct Outcome {
    target: &'static str,
    elapsed: Duration,
    executions: Option<u64>,
    /// The inputs libFuzzer wrote for crashes, leaks, out-of-memory and timeouts.
    crashes: Vec<String>,
}

pub fn fuzz(root: &Path, args: impl Iterator<Item = String>) -> Result<()> {
    let (targets, minutes) = parse_args(args)?;
    let fuzz_dir = root.join("fuzz");
    build(&fuzz_dir)?;
    let mut outcomes = Vec::new();
    for target in targets {
        outcomes.push(run_target(&fuzz_dir, target, minutes)?);
    }
    println!("\n{:<24} {:>8} {:>14}  crashes", "target", "minutes", "executions");
    for outcome in &outcomes {
        println!(
            "{:<24} {:>8.1} {:>14}  {}",
            outcome.target,
            outcome.elapsed.as_secs_f64() / 60.0,
            count(outcome.executions),
            if outcome.crashes.is_empty() {
                "none".to_owned()
            } else {
                outcome.crashes.join(", ")
            }
        );
    }
    let crashed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.crashes.is_empty())
        .map(|o| o.target)
        .collect();
    if !crashed.is_empty() {
        bail!(
            "crashes in {}; reproduce with `cargo +nightly fuzz run TARGET ARTIFACT` in fuzz/",
            crashed.join(", ")
        );
    }
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(Vec<&'static str>, u64)> {
    let mut targets = Vec::new();
    let mut minutes = DEFAULT_MINUTES;
    let parse_minutes = |value: &str| -> Result<u64> {
        value
            .parse()
            .with_context(|| format!("--minutes {value:?} is not a whole number\n{USAGE}"))
    };
    while let Some(arg) = args.next() {
        if arg == "--minutes" {
            minutes = parse_minutes(&args.next().context(USAGE)?)?;
        } else if let Some(value) = arg.strip_prefix("--minutes=") {
            minutes = parse_minutes(value)?;
        } else if let Some(&target) = TARGETS.iter().find(|t| **t == arg) {
            targets.push(target);
        } else {
            bail!("unknown fuzz target {arg:?}; targets: {}\n{USAGE}", TARGETS.join(", "));
        }
    }
    if minutes == 0 {
        bail!("--minutes must be at least 1\n{USAGE}");
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    Ok((targets, minutes))
}

/// Builds every target once (cargo-fuzz's default: optimised, debug assertions and
/// overflow checks on, AddressSanitizer), so the runs' time is spent fuzzing.
fn build(fuzz_dir: &Path) -> Result<()> {
    crate::run(
        Command::new("cargo")
            .args(["+nightly", "fuzz", "build", "--fuzz-dir"])
            .arg(fuzz_dir)
            .current_dir(fuzz_dir),
    )
    .context("building the fuzz targets needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`)")
}

fn run_target(fuzz_dir: &Path, target: &'static str, minutes: u64) -> Result<Outcome> {
    let work = fuzz_dir.join("generated").join(target);
    let corpus = work.join("corpus");
    let seeds = fuzz_dir.join("corpus").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let log = work.join("fuzz-0.log");
    let _ = std::fs::remove_file(&log);
    let before = list(&artifacts);

    println!("fuzzing {target} for {minutes} minutes (log: {})", log.display());
    let started = Instant::now();
    // libFuzzer with -jobs writes the job's output to fuzz-0.log in its working directory.
    let mut command = Command::new("cargo");
    command
        .args(["+nightly", "fuzz", "run", "--fuzz-dir"])
        .arg(fuzz_dir)
        .arg(target)
        .arg(&corpus);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command
        .arg("--")
        .args([
            "-jobs=1".to_owned(),
            "-workers=1".to_owned(),
            format!("-max_total_time={}", minutes * 60),
            format!("-rss_limit_mb={RSS_LIMIT_MB}"),
            format!("-timeout={TIMEOUT_SECONDS}"),
            "-print_final_stats=1".to_owned(),
        ])
        .current_dir(&work);
    let status = command
        .status()
        .with_context(|| format!("cannot start cargo fuzz run {target}"))?;
    let elapsed = started.elapsed();

    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let executions = executions(&text);
    let mut crashes: Vec<String> = list(&artifacts)
        .into_iter()
        .filter(|p| !before.contains(p))
        .map(|p| p.display().to_string())
        .collect();
    if crashes.is_empty() && (!status.success() || text.contains("==ERROR:") || text.contains("SUMMARY: libFuzzer")) {
        crashes.push(format!("(exit {status}; see {})", log.display()));
    }
    println!(
        "{target}: {:.1} minutes, {} executions, {} crashes",
        elapsed.as_secs_f64() / 60.0,
        count(executions),
        crashes.len()
    );
    Ok(Outcome {
        target,
        elapsed,
        executions,
        crashes,
    })
}

/// The executions from libFuzzer's final stats (`stat::number_of_executed_units: N`),
/// else from its last status line (`#N ...`).
fn executions(log: &str) -> Option<u64> {
    let from_stats = log
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok());
    from_stats.or_else(|| {
        log.lines().rev().find_map(|l| {
            let number = l.strip_prefix('#')?.split_whitespace().next()?;
            number.parse().ok()
        })
    })
}

/// An execution count as printed: `?` when libFuzzer's log gave none.
fn count(executions: Option<u64>) -> String {
    executions.map_or_else(|| "?".to_owned(), |n| n.to_string())
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stats_win_over_status_lines() {
        let log = "#1024\tpulse  cov: 10\n#2048\tDONE   cov: 12\nstat::number_of_executed_units: 2051\n";
        assert_eq!(executions(log), Some(2051));
        assert_eq!(executions("#77\tNEW cov: 3\n"), Some(77));
        assert_eq!(executions("nothing"), None);
    }

    #[test]
    fn arguments() {
        let args = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        assert_eq!(args(&[]).unwrap(), (TARGETS.to_vec(), 10));
        assert_eq!(
            args(&["fuzz_rules", "--minutes", "3"]).unwrap(),
            (vec!["fuzz_rules"], 3)
        );
        assert!(args(&["nope"]).is_err());
        assert!(args(&["--minutes", "0"]).is_err());
    }
}
