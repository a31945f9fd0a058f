//! What the engine helpers (`dockerd`, `containerd`) share: waiting for a daemon to
//! answer while watching that it did not exit, stopping a pid, finding mounts it left.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A daemon being started, named with its log in messages.
pub struct Service<'a> {
    pub name: &'a str,
    pub log: &'a Path,
}

impl Service<'_> {
    /// Polls `ready` until it holds; an error with the log's tail if the daemon exits or
    /// `timeout` passes first.
    pub fn wait(&self, child: &mut Child, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if ready() {
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{} exited ({status}); its log:\n{}", self.name, self.tail()));
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "{} did not answer within {} s; its log:\n{}",
                    self.name,
                    timeout.as_secs(),
                    self.tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn tail(&self) -> String {
        let log = std::fs::read_to_string(self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// Spawns `command` with no input and its output in a new file `log`.
pub fn spawn_logged(command: &mut Command, log: &Path) -> Child {
    let log_file = std::fs::File::create(log).expect("log file");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file.try_clone().expect("log handle")))
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap_or_else(|e| panic!("{:?} does not start: {e}", command.get_program()))
}

/// The pid written in `pidfile`, if there is one.
pub fn read_pid(pidfile: &Path) -> Option<u32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live process (gone or a zombie is not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// SIGTERM, and SIGKILL if `pid` still runs 20 s later.
pub fn stop_pid(pid: u32) {
    let Ok(raw) = libc::pid_t::try_from(pid) else { return };
    // SAFETY: kill(2) with a pid this test started (or its daemon's child) and a signal.
    unsafe { libc::kill(raw, libc::SIGTERM) };
    let started = Instant::now();
    while running(pid) {
        if started.elapsed() > Duration::from_secs(20) {
            // SAFETY: as above.
            unsafe { libc::kill(raw, libc::SIGKILL) };
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Mount points at or under `dir`, outermost first.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|target| *target == prefix || target.starts_with(&format!("{prefix}/")))
        .map(str::to_owned)
        .collect()
}
