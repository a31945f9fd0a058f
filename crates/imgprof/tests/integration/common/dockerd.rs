//! A real Docker Engine for tests: Debian's dockerd (20.10, Engine API 1.41) as root with
//! its own data root, exec root, pidfile and API socket in a temporary directory, and the
//! containerd it starts itself there (the flags of `cargo xtask builders`' world). overlay2
//! first, vfs when overlay2 cannot mount there. dockerd, then its containerd, are stopped
//! when dropped, and whatever they left mounted is unmounted.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::engine::{Service, mounts_under, read_pid, spawn_logged, stop_pid};

const DOCKERD: &str = "/usr/sbin/dockerd";
/// Debian's client; `/usr/local/bin/docker` may be another one.
const DOCKER: &str = "/usr/bin/docker";

pub struct TestDockerd {
    daemon: Option<Child>,
    dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub driver: &'static str,
}

impl TestDockerd {
    /// Starts dockerd and `docker load`s `archives` into it; `None` (with a note) when
    /// dockerd, containerd or runc is missing, unless tools are required.
    pub fn start(archives: &[&str]) -> Option<TestDockerd> {
        if !(super::has_tool(DOCKERD)
            && super::has_tool(DOCKER)
            && super::has_tool("containerd")
            && super::has_tool("runc"))
        {
            return None;
        }
        // No system containerd may answer at the default address: dockerd would use it
        // instead of starting its own.
        assert!(
            !Path::new("/run/containerd/containerd.sock").exists(),
            "a system containerd listens on /run/containerd/containerd.sock; dockerd would use it"
        );
        let mut failures = Vec::new();
        for driver in ["overlay2", "vfs"] {
            match TestDockerd::start_with(driver) {
                Ok(dockerd) => {
                    for archive in archives {
                        let out = dockerd.docker(&["load", "-i", archive]);
                        assert!(
                            out.status.success(),
                            "docker load {archive}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                    return Some(dockerd);
                }
                Err(log) => failures.push(format!("{driver}: {log}")),
            }
        }
        panic!("dockerd did not start:\n{}", failures.join("\n"));
    }

    fn start_with(driver: &'static str) -> Result<TestDockerd, String> {
        let dir = tempfile::Builder::new()
            .prefix("imgprof-dockerd-")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("docker.sock");
        let log = dir.path().join("dockerd.log");
        let mut command = Command::new(DOCKERD);
        command
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--storage-driver", driver]);
        let daemon = spawn_logged(&mut command, &log);
        let mut dockerd = TestDockerd {
            daemon: Some(daemon),
            dir,
            socket,
            driver,
        };
        let service = Service {
            name: "dockerd",
            log: &log,
        };
        let socket = dockerd.socket.clone();
        let host = dockerd.host();
        let ready = service.wait(
            dockerd.daemon.as_mut().expect("just started"),
            Duration::from_secs(60),
            || {
                UnixStream::connect(&socket).is_ok()
                    && Command::new(DOCKER)
                        .args(["info", "--format", "{{.Driver}}"])
                        .env("DOCKER_HOST", &host)
                        .output()
                        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == driver)
            },
        );
        match ready {
            Ok(()) => Ok(dockerd),
            Err(message) => {
                dockerd.stop();
                Err(message)
            }
        }
    }

    /// `unix://<socket>`, for DOCKER_HOST.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Debian's docker client talking to this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new(DOCKER)
            .args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir.path().join("client"))
            .stdin(Stdio::null())
            .output()
            .expect("docker runs")
    }

    /// imgprof with DOCKER_HOST pointing at this daemon and its temporary files going to
    /// `tmp`, so a test can see that none is left behind.
    pub fn imgprof(&self, args: &[&str], tmp: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_imgprof"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("DOCKER_HOST", self.host())
            .env("TMPDIR", tmp)
            .output()
            .expect("the imgprof binary runs")
    }

    /// SIGTERM (then SIGKILL) to dockerd, then to the containerd it started, whose pid it
    /// writes under its exec root; then unmounts what is left under the directory.
    fn stop(&mut self) {
        let containerd = read_pid(&self.dir.path().join("exec/containerd/containerd.pid"));
        if let Some(mut daemon) = self.daemon.take() {
            stop_pid(daemon.id());
            let _ = daemon.wait();
        }
        if let Some(pid) = containerd {
            stop_pid(pid);
        }
        for target in mounts_under(self.dir.path()).into_iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(&target).status();
        }
    }
}

impl Drop for TestDockerd {
    fn drop(&mut self) {
        self.stop();
    }
}
