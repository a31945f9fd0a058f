//! `cargo xtask builders up|down|status|env`: the builder test world. Real image builders
//! from Debian's packages, each with all of its storage under one directory
//! (`$IMGPROF_BUILDERS_DIR`, default `builders` under the testdata cache) and its run state
//! (sockets, pid files, the runtime's state) under `run/` there:
//!
//! - `dockerd` with its own data root (overlay2, `--iptables=false --bridge=none`) and the
//!   containerd it starts itself; BuildKit through `/usr/bin/docker` with
//!   `DOCKER_BUILDKIT=1`, the classic builder with `DOCKER_BUILDKIT=0`;
//! - `buildah` (`--isolation chroot`) and `podman`, sharing one containers-storage (overlay)
//!   whose `storage.conf`, `containers.conf` (runtime `runc`, lowered ulimits: crun fails on
//!   cgroup v1 here) and `registries.conf` live in `conf/` and reach them through
//!   `CONTAINERS_STORAGE_CONF`, `CONTAINERS_CONF` and `CONTAINERS_REGISTRIES_CONF`.
//!
//! A builder that cannot start is an error, never a skip. Storage is kept between runs
//! (layers stay cached); `down` stops the daemon this world started (by its pid file) and
//! unmounts what it left mounted under the world.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The client that talks to this dockerd (`/usr/local/bin/docker` may be another one).
pub const DOCKER: &str = "/usr/bin/docker";
const DOCKERD: &str = "/usr/sbin/dockerd";

/// Debian packages the world needs, by the command that shows each is installed.
pub const TOOLS: [(&str, &str); 6] = [
    ("/usr/sbin/dockerd", "docker.io"),
    ("containerd", "containerd"),
    ("runc", "runc"),
    ("buildah", "buildah"),
    ("podman", "podman"),
    ("skopeo", "skopeo"),
];

/// The directories of the builder world.
#[derive(Debug, Clone)]
pub struct World {
    /// Everything: the engines' storage, their configuration, the run state.
    pub dir: PathBuf,
}

impl World {
    /// The world at `$IMGPROF_BUILDERS_DIR`, else `builders` under the testdata cache.
    pub fn from_env() -> World {
        let dir = std::env::var_os("IMGPROF_BUILDERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::real_images::cache_root().join("builders"));
        World { dir }
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }
    fn conf_dir(&self) -> PathBuf {
        self.dir.join("conf")
    }
    pub fn docker_socket(&self) -> PathBuf {
        self.run_dir().join("docker.sock")
    }
    fn docker_pidfile(&self) -> PathBuf {
        self.run_dir().join("docker.pid")
    }
    pub fn docker_log(&self) -> PathBuf {
        self.dir.join("dockerd.log")
    }
    /// Scratch space for builds (copies of build contexts, exported archives).
    pub fn scratch(&self) -> PathBuf {
        self.dir.join("scratch")
    }

    /// The docker client for this world's dockerd; `buildkit` picks BuildKit
    /// (`DOCKER_BUILDKIT=1`) or the classic builder for `docker build`.
    pub fn docker(&self, buildkit: bool) -> Command {
        let mut command = Command::new(DOCKER);
        command
            .env("DOCKER_HOST", format!("unix://{}", self.docker_socket().display()))
            .env("DOCKER_BUILDKIT", if buildkit { "1" } else { "0" })
            .env("DOCKER_CONFIG", self.conf_dir().join("docker-client"))
            .env("BUILDKIT_PROGRESS", "plain");
        command
    }

    /// `buildah` on this world's containers-storage.
    pub fn buildah(&self) -> Command {
        let mut command = Command::new("buildah");
        self.containers_env(&mut command);
        command
    }

    /// `podman` on this world's containers-storage.
    pub fn podman(&self) -> Command {
        let mut command = Command::new("podman");
        self.containers_env(&mut command);
        command
    }

    /// The variables that point buildah, podman and skopeo at this world's configuration.
    pub fn containers_env(&self, command: &mut Command) {
        let conf = self.conf_dir();
        command
            .env("CONTAINERS_CONF", conf.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", conf.join("storage.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", conf.join("registries.conf"))
            .env("BUILDAH_ISOLATION", "chroot")
            .env("TMPDIR", self.scratch());
    }

    /// `export` lines for a shell that wants to use this world by hand.
    pub fn shell_env(&self) -> String {
        let conf = self.conf_dir();
        format!(
            "export DOCKER_HOST=unix://{}\nexport CONTAINERS_CONF={}\nexport \
             CONTAINERS_STORAGE_CONF={}\nexport CONTAINERS_REGISTRIES_CONF={}\nexport \
             BUILDAH_ISOLATION=chroot\n# the docker client to use: {DOCKER} (not \
             /usr/local/bin/docker)\n",
            self.docker_socket().display(),
            conf.join("containers.conf").display(),
            conf.join("storage.conf").display(),
            conf.join("registries.conf").display(),
        )
    }

    fn write_config(&self) -> Result<()> {
        let conf = self.conf_dir();
        let storage = self.dir.join("containers");
        let run = self.run_dir();
        for dir in [&conf, &storage, &run, &self.scratch(), &conf.join("docker-client")] {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let files = [
            (
                "storage.conf",
                format!(
                    "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n\n\
                     [storage.options.overlay]\nmountopt = \"nodev\"\n",
                    storage.join("storage").display(),
                    run.join("containers").display()
                ),
            ),
            (
                "containers.conf",
                format!(
                    "# crun fails on cgroup v1 here; the default nofile/nproc limits are \
                     above what runc may set\n[containers]\ndefault_ulimits = \
                     [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\n[engine]\nruntime \
                     = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                     tmp_dir = \"{}\"\nvolume_path = \"{}\"\n\n[network]\n\
                     network_config_dir = \"{}\"\n",
                    run.join("libpod").display(),
                    storage.join("volumes").display(),
                    conf.join("networks").display()
                ),
            ),
            (
                "registries.conf",
                // Local images answer short names first; nothing is pulled here.
                "unqualified-search-registries = [\"docker.io\"]\nshort-name-mode = \
                 \"permissive\"\n"
                    .to_owned(),
            ),
            ("daemon.json", "{\"features\": {\"buildkit\": true}}\n".to_owned()),
            ("docker-client/config.json", "{}\n".to_owned()),
        ];
        for (name, text) in files {
            let path = conf.join(name);
            if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// The pid of this world's running dockerd, if any.
    fn dockerd_pid(&self) -> Option<u32> {
        let pid: u32 = fs::read_to_string(self.docker_pidfile()).ok()?.trim().parse().ok()?;
        let cmdline = process_cmdline(pid);
        (cmdline.contains("dockerd") && cmdline.contains(&*self.docker_socket().to_string_lossy())).then_some(pid)
    }

    fn docker_answers(&self) -> bool {
        self.docker(true)
            .args(["version", "--format", "{{.Server.Version}}"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts what is not running and checks that every builder answers.
    pub fn up(&self) -> Result<()> {
        crate::ci::install_debian(&TOOLS)?;
        self.write_config()?;
        if self.dockerd_pid().is_none() {
            self.start_dockerd()?;
        }
        self.check()
    }

    fn start_dockerd(&self) -> Result<()> {
        if Path::new("/run/containerd/containerd.sock").exists() {
            bail!(
                "a system containerd runs (/run/containerd/containerd.sock): dockerd would use \
                 it instead of starting its own; stop it or run the world elsewhere"
            );
        }
        let run = self.run_dir();
        self.clear_stale_run_state()?;
        let log = fs::File::create(self.docker_log())?;
        let data = self.dir.join("docker");
        let mut command = Command::new(DOCKERD);
        command
            .arg("--data-root")
            .arg(&data)
            .arg("--exec-root")
            .arg(run.join("docker"))
            .arg("--pidfile")
            .arg(self.docker_pidfile())
            .arg("--config-file")
            .arg(self.conf_dir().join("daemon.json"))
            .arg("-H")
            .arg(format!("unix://{}", self.docker_socket().display()))
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--storage-driver", "overlay2"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // Its own process group, so that a Ctrl-C of the caller does not stop it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().context("cannot start dockerd")?;
        let started = Instant::now();
        while !self.docker_answers() {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "dockerd exited ({status}) before it answered; its log {}:\n{}",
                    self.docker_log().display(),
                    tail(&self.docker_log(), 20)
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "dockerd did not answer within 60 s; its log {}:\n{}",
                    self.docker_log().display(),
                    tail(&self.docker_log(), 20)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "builders: dockerd {} started in {:.1} s",
            child.id(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Run state of a dockerd of this world that is gone (a reboot, a kill): the
    /// containerd it started may still run, and a SIGKILLed dockerd leaves its network
    /// namespace bind-mounted under its exec root. Both are this world's own, and no
    /// dockerd of it runs, so they are stopped and unmounted before the state is deleted.
    fn clear_stale_run_state(&self) -> Result<()> {
        let run = self.run_dir();
        let exec_root = run.join("docker");
        let containerd_pidfile = exec_root.join("containerd/containerd.pid");
        if let Some(pid) = fs::read_to_string(&containerd_pidfile)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
            .filter(|pid| process_running(*pid) && process_cmdline(*pid).contains("containerd"))
        {
            eprintln!("builders: stopping containerd {pid} left by a dockerd that is gone");
            stop_process(pid, "containerd")?;
        }
        for target in mounts_under(&exec_root).into_iter().rev() {
            eprintln!("builders: unmounting {target}, left by a dockerd that is gone");
            let unmounted = Command::new("umount").arg(&target).status().is_ok_and(|s| s.success());
            if !unmounted {
                let _ = Command::new("umount").arg("-l").arg(&target).status();
            }
        }
        for stale in ["docker", "docker.sock", "docker.pid"] {
            let path = run.join(stale);
            if path.exists() {
                remove_tree_without_mounts(&path)?;
            }
        }
        Ok(())
    }

    /// Every builder answers: dockerd (with BuildKit), buildah and podman on this storage.
    pub fn check(&self) -> Result<()> {
        let out = checked_output(self.docker(true).args([
            "info",
            "--format",
            "{{.ServerVersion}} {{.Driver}} {{.DockerRootDir}}",
        ]))?;
        let data = self.dir.join("docker");
        if !out.contains("overlay2") || !out.contains(&*data.to_string_lossy()) {
            bail!("dockerd answers, but not on {} with overlay2: {out}", data.display());
        }
        checked_output(self.buildah().args(["info"])).context("buildah does not work")?;
        let store = checked_output(self.podman().args(["info", "--format", "{{.Store.GraphRoot}}"]))
            .context("podman does not work")?;
        if !store.contains(&*self.dir.to_string_lossy()) {
            bail!("podman does not use the world's storage: {store}");
        }
        Ok(())
    }

    /// Stops this world's dockerd (and with it its containerd) and unmounts what the
    /// engines left mounted under the world. Storage stays.
    pub fn down(&self) -> Result<()> {
        if let Some(pid) = self.dockerd_pid() {
            stop_process(pid, "dockerd")?;
        }
        // containers-storage keeps overlay mounts of running containers and of image
        // layers it mounted; podman unmounts them itself.
        if self.conf_dir().join("storage.conf").exists() {
            let _ = self.podman().args(["unmount", "--all"]).output();
        }
        for target in mounts_under(&self.dir).into_iter().rev() {
            let _ = Command::new("umount").arg(&target).status();
        }
        let left = mounts_under(&self.dir);
        if !left.is_empty() {
            bail!("still mounted under {}: {}", self.dir.display(), left.join(" "));
        }
        Ok(())
    }
}

/// Mount points below `dir`, in the order the kernel lists them.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|target| target.replace("\\040", " "))
        .filter(|target| target.starts_with(&prefix))
        .collect()
}

/// `rm -rf` of `path`, refused when anything is mounted below it.
pub fn remove_tree_without_mounts(path: &Path) -> Result<()> {
    let mounted = mounts_under(path);
    if !mounted.is_empty() {
        bail!(
            "refusing to delete {}: still mounted {}",
            path.display(),
            mounted.join(" ")
        );
    }
    crate::run(Command::new("rm").arg("-rf").arg("--one-file-system").arg(path))
}

/// Runs a command and returns its stdout; on failure the error carries its stderr.
pub fn checked_output(command: &mut Command) -> Result<String> {
    let line = format!("{command:?}");
    let output = command.output().with_context(|| format!("cannot start {line}"))?;
    if !output.status.success() {
        bail!(
            "{line} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `cargo xtask builders up|down|status|env`.
pub fn builders(mut args: impl Iterator<Item = String>) -> Result<()> {
    let world = World::from_env();
    match args.next().as_deref() {
        Some("up") => {
            world.up()?;
            crate::base_images::load(&world)?;
            println!("{}", world.dir.display());
            Ok(())
        }
        Some("down") => world.down(),
        Some("status") => world
            .check()
            .map(|()| println!("builders up in {}", world.dir.display())),
        Some("env") => {
            print!("{}", world.shell_env());
            Ok(())
        }
        _ => bail!("usage: cargo xtask builders up|down|status|env"),
    }
}

/// SIGTERM, then SIGKILL after 30 s; an error when `pid` still runs 15 s later.
fn stop_process(pid: u32, name: &str) -> Result<()> {
    crate::run(Command::new("kill").arg("-TERM").arg(pid.to_string()))?;
    let started = Instant::now();
    let mut killed = false;
    while process_running(pid) {
        if started.elapsed() > Duration::from_secs(30) && !killed {
            eprintln!("builders: {name} {pid} did not stop within 30 s of SIGTERM: SIGKILL");
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            killed = true;
        } else if started.elapsed() > Duration::from_secs(45) {
            bail!("{name} {pid} did not stop within 45 s, even after SIGKILL");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("builders: {name} {pid} stopped");
    Ok(())
}

fn process_cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// Whether `pid` is a live process: not gone, and not a zombie (a dockerd this very
/// process started stays one until reaped, yet it has stopped).
fn process_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}
