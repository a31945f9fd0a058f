//! Runs of the binary bounded in time, with their peak memory.
//!
//! The peak comes from GNU time (`/usr/bin/time -f %M`), not from our own `wait4`: Linux
//! keeps the high-water mark of the address space a process `exec`s from, and Rust spawns
//! children sharing the test process's (`CLONE_VM`), so `ru_maxrss` of a direct child is
//! at least the test binary's own peak, which grows with every test running beside it.
//! time forks from its own small address space, so its figure is imgprof's.

use std::ffi::OsStr;
use std::io::Read as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const GNU_TIME: &str = "/usr/bin/time";

/// How a run ended.
pub struct Measured {
    /// `None` when killed: by a signal, or at the deadline.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// Killed because it still ran at the deadline.
    pub timed_out: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
    pub peak_rss_kib: u64,
}

impl Measured {
    /// As `std::process` reports it: the exit code, or the signal.
    pub fn status(&self) -> ExitStatus {
        match (self.code, self.signal) {
            (Some(code), _) => ExitStatus::from_raw(code << 8),
            (None, signal) => ExitStatus::from_raw(signal.unwrap_or(libc::SIGKILL)),
        }
    }
}

/// Runs imgprof with `args` and `env` and a layer cache of its own; after `within` it is
/// killed (with GNU time, as one process group).
pub fn run_measured(args: &[&str], env: &[(&str, &OsStr)], within: Duration) -> Measured {
    assert!(
        super::has_tool(GNU_TIME),
        "GNU time ({GNU_TIME}, Debian's `time`) measures peak memory"
    );
    let cache = tempfile::tempdir().expect("temp dir");
    let figures = tempfile::NamedTempFile::new().expect("temp file");
    let mut command = Command::new(GNU_TIME);
    command
        .arg("--format=%M")
        .arg("--output")
        .arg(figures.path())
        .arg(env!("CARGO_BIN_EXE_imgprof"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("IMGPROF_CACHE_DIR", cache.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (key, value) in env {
        command.env(key, value);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("GNU time starts");
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for GNU time") {
            break status;
        }
        if !timed_out && started.elapsed() > within {
            // SAFETY: signalling the process group the child leads; no memory is involved.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            timed_out = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    // `Command terminated by signal N` before the figure when imgprof was killed.
    let written = std::fs::read_to_string(figures.path()).unwrap_or_default();
    let signal = written
        .lines()
        .find_map(|l| l.strip_prefix("Command terminated by signal "))
        .and_then(|n| n.trim().parse().ok());
    let peak_rss_kib = written.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    assert!(timed_out || peak_rss_kib > 0, "GNU time gave no figure: {written:?}");
    Measured {
        code: if timed_out || signal.is_some() {
            None
        } else {
            status.code()
        },
        signal,
        timed_out,
        stdout: stdout.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned(),
        elapsed,
        peak_rss_kib,
    }
}
