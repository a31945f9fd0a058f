//! A real containerd for tests: Debian's containerd as root with its own root, state
//! directory and socket in a temporary directory (a minimal config.toml, CRI off), images
//! imported with `ctr images import`. Stopped when dropped. The machine's own containerd
//! (if any) is never used.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::engine::{Service, mounts_under, spawn_logged, stop_pid};

pub struct TestContainerd {
    daemon: Option<Child>,
    dir: tempfile::TempDir,
    pub socket: PathBuf,
}

impl TestContainerd {
    /// Starts containerd; `None` (with a note) when containerd or ctr is missing, unless
    /// tools are required.
    pub fn start() -> Option<TestContainerd> {
        if !(super::has_tool("containerd") && super::has_tool("ctr")) {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("imgprof-containerd-")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("containerd.sock");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{1}\"\n[ttrpc]\n  address = \"{1}.ttrpc\"\n\
                 [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
                dir.path().display(),
                socket.display()
            ),
        )
        .expect("config.toml");
        let log = dir.path().join("containerd.log");
        let daemon = spawn_logged(Command::new("containerd").arg("--config").arg(&config), &log);
        let mut containerd = TestContainerd {
            daemon: Some(daemon),
            dir,
            socket,
        };
        let service = Service {
            name: "containerd",
            log: &log,
        };
        let socket = containerd.socket.clone();
        let ready = service.wait(
            containerd.daemon.as_mut().expect("just started"),
            Duration::from_secs(30),
            || UnixStream::connect(&socket).is_ok(),
        );
        if let Err(message) = ready {
            panic!("{message}");
        }
        Some(containerd)
    }

    /// containerd's root: its metadata database and content store.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// `ctr` on this containerd's socket, in `namespace`.
    pub fn ctr(&self, namespace: &str, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--namespace", namespace])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("ctr runs")
    }

    /// `ctr images import` of `archive`, which must succeed.
    pub fn import(&self, namespace: &str, archive: &Path, extra: &[&str]) {
        let path = archive.to_str().expect("a UTF-8 path");
        let mut args = vec!["images", "import", "--no-unpack"];
        args.extend_from_slice(extra);
        args.push(path);
        let out = self.ctr(namespace, &args);
        assert!(
            out.status.success(),
            "ctr images import {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// imgprof reading this containerd's store in `namespace`, its temporary files going to
    /// `tmp` and its layer cache below it.
    pub fn imgprof(&self, namespace: &str, args: &[&str], tmp: &Path) -> Output {
        imgprof_on(&self.root(), namespace, args, tmp)
    }
}

/// imgprof reading the containerd store at `root` in `namespace`.
pub fn imgprof_on(root: &Path, namespace: &str, args: &[&str], tmp: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgprof"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("IMGPROF_CACHE_DIR", tmp.join("cache"))
        .env("CONTAINERD_ROOT", root)
        .env("CONTAINERD_NAMESPACE", namespace)
        .env("TMPDIR", tmp)
        .output()
        .expect("the imgprof binary runs")
}

impl Drop for TestContainerd {
    fn drop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            stop_pid(daemon.id());
            let _ = daemon.wait();
        }
        for target in mounts_under(self.dir.path()).into_iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(&target).status();
        }
    }
}
