//! `imgprof inspect` and `imgprof compare`'s side-by-side view as a user runs them: the
//! real binary in a real terminal (tmux), on the sample image. Skipped without tmux, required under IMGPROF_REQUIRE_TOOLS=1.

use crate::common;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of this test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// `name` keeps the servers of tests running at once apart.
    fn start(name: &str, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("imgprof-{name}-{}", std::process::id()),
        };
        let started = tmux.run(&["new-session", "-d", "-x", "120", "-y", "40", "-s", "main", command]);
        assert!(started.status.success(), "tmux starts: {started:?}");
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let sent = self.run(&["send-keys", "-t", "main", key]);
            assert!(sent.status.success(), "send-keys {key}: {sent:?}");
        }
    }

    fn typed(&self, text: &str) {
        let sent = self.run(&["send-keys", "-t", "main", "-l", text]);
        assert!(sent.status.success(), "send-keys -l {text}: {sent:?}");
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "main"]).stdout).into_owned()
    }

    /// Waits until the screen shows `text`; panics with the screen after 30 s.
    fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |screen| screen.contains(text))
    }

    /// Waits until the screen passes `check` (`what` says what it looks for); panics with
    /// the screen after 30 s. A check on several parts of the screen is one condition,
    /// not a wait for one part and asserts on the rest: a capture can catch a frame half
    /// written, its top rows new and its lower rows not yet.
    fn wait_until(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the screen never showed {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs a tmux command until its output passes `check`; the last output after 30 s.
    fn wait_until_output(&self, args: &[&str], check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let out = String::from_utf8_lossy(&self.run(args).stdout).into_owned();
            if check(&out) || start.elapsed() > Duration::from_secs(30) {
                return out;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn alternate_screen_on(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", "main", "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // kill-server leaves the socket file behind.
        let socket = String::from_utf8_lossy(&self.run(&["display-message", "-p", "#{socket_path}"]).stdout)
            .trim()
            .to_owned();
        let _ = self.run(&["kill-server"]);
        if !socket.is_empty() {
            let _ = std::fs::remove_file(socket);
        }
    }
}

#[test]
fn browse_the_sample_image_in_a_terminal() {
    if !common::has_tool("tmux") {
        return;
    }
    let cache = tempfile::tempdir().expect("temp dir");
    let command = format!(
        "IMGPROF_CACHE_DIR={} {} inspect {}; echo IMGPROF_EXIT=$?; stty -a; echo STTY_DONE; sleep 600",
        cache.path().display(),
        env!("CARGO_BIN_EXE_imgprof"),
        common::testdata("sample/sample-app.tar"),
    );
    let tmux = Tmux::start("inspect", &command);

    // Opens on the top layer, the filesystem up to it, sorted by size.
    tmux.wait_until("the top layer's tree and the layers pane's instructions", |screen| {
        screen.contains("Files: layer 4, everything up to it") && screen.contains("RUN pip install")
    });
    assert!(tmux.alternate_screen_on(), "the view uses the alternate screen");

    // Down through the layers: the tree follows.
    tmux.keys(&["Up"]);
    tmux.wait_for("Files: layer 3");
    tmux.keys(&["C-l"]);
    tmux.wait_until("layer 3's changes, site-packages among them", |screen| {
        screen.contains("Files: layer 3, changes of this layer") && screen.contains("site-packages/")
    });

    // Filter the tree.
    tmux.keys(&["/"]);
    tmux.typed("cache/pip");
    tmux.keys(&["Enter"]);
    // Matched on the tree's worker: "(matching…)" until its layout is drawn.
    tmux.wait_until("the filtered tree: the pip cache, and no other paths", |screen| {
        screen.contains("filter /cache/pip/")
            && !screen.contains("(matching…)")
            && screen.contains("http-v2/")
            && !screen.contains("pydantic")
    });

    // Open the pip-cache finding (the third): the layer pane and the tree jump to it.
    // The filter left the focus on the tree; the findings pane is next.
    tmux.keys(&["Tab", "Down", "Down"]);
    tmux.wait_for("Package-manager download cache");
    tmux.keys(&["Enter"]);
    // The tree's title changes once the worker's layout for the jump is drawn.
    tmux.wait_until("the jump to layer 3 and its note", |screen| {
        screen.contains("Files: layer 3, everything up to it")
            && screen.contains("IMG003: layer 3, /root/.cache/pip/http-v2/a")
    });

    // Help, then quit: the shell gets its terminal back as it was.
    tmux.keys(&["?"]);
    tmux.wait_for("Keys (? or Esc closes)");
    tmux.keys(&["Escape", "q"]);
    tmux.wait_for("IMGPROF_EXIT=0");
    let screen = tmux.wait_for("STTY_DONE");
    assert!(!tmux.alternate_screen_on(), "the alternate screen is left");
    let stty = screen.split("IMGPROF_EXIT=0").nth(1).unwrap_or_default();
    assert!(
        stty.contains(" icanon") && stty.contains(" echo "),
        "raw mode is off again (canonical input, echo):\n{screen}"
    );
}

#[test]
fn without_a_terminal_it_says_to_use_report() {
    let out = common::imgprof(&["inspect", &common::testdata("sample/sample-app.tar")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs a terminal") && stderr.contains("imgprof report"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn compare_side_by_side_in_a_terminal() {
    if !common::has_tool("tmux") {
        return;
    }
    let cache = tempfile::tempdir().expect("temp dir");
    let command = format!(
        "IMGPROF_CACHE_DIR={} {} compare {} {}:gzip; echo IMGPROF_EXIT=$?; sleep 600",
        cache.path().display(),
        env!("CARGO_BIN_EXE_imgprof"),
        common::testdata("sample/sample-app.tar"),
        common::testdata("fixtures/layers-gzip.oci"),
    );
    let tmux = Tmux::start("compare", &command);
    // On a terminal, without --format, the view opens on the layers side by side.
    let screen = tmux.wait_for("Layers (9 rows)");
    assert!(screen.contains("only A") && screen.contains("only B"), "{screen}");
    assert!(screen.contains("pull at 100 Mbit/s"), "{screen}");
    assert!(tmux.alternate_screen_on());
    tmux.keys(&["Tab"]);
    tmux.wait_for("Categories (");
    tmux.keys(&["Tab", "Tab"]);
    let screen = tmux.wait_for("Files (");
    assert!(screen.contains("/usr/lib/gcc/"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("IMGPROF_EXIT=0");
    assert!(!tmux.alternate_screen_on(), "the alternate screen is left");
}

/// `exclude_paths` of `.imgprof.toml` reaches every command through the one pipeline:
/// the excluded `.env` and `.git` of the sample are not judged by `report`, `suggest
/// --dockerignore` no longer cites them, and the inspect view lists neither finding.
/// Each command runs twice, in a directory without the rules file and with it, so every
/// check is one that fails when the setting is dropped.
#[test]
fn exclude_paths_reach_report_suggest_and_the_view() {
    let sample = common::testdata("sample/sample-app.tar");
    let plain = tempfile::tempdir().expect("temp dir");
    let ruled = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        ruled.path().join(".imgprof.toml"),
        "exclude_paths = [\"/app/.git/**\", \"/app/.env\"]\n",
    )
    .expect("the rules file is written");
    let run_in = |dir: &std::path::Path, args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_imgprof"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("IMGPROF_CACHE_DIR", dir.join("cache"))
            .output()
            .expect("imgprof runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    };
    let finding_ids = |dir: &std::path::Path| -> Vec<String> {
        let report: serde_json::Value =
            serde_json::from_str(&run_in(dir, &["report", "--json", &sample])).expect("report is JSON");
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (before, after) = (finding_ids(plain.path()), finding_ids(ruled.path()));
    for id in ["IMG006", "IMG008"] {
        assert!(
            before.contains(&id.to_owned()),
            "{id} without the rules file: {before:?}"
        );
        assert!(
            !after.contains(&id.to_owned()),
            "{id} with .git and .env excluded: {after:?}"
        );
    }

    let ignore_before = run_in(plain.path(), &["suggest", "--dockerignore", &sample]);
    let ignore_after = run_in(ruled.path(), &["suggest", "--dockerignore", &sample]);
    assert!(ignore_before.lines().any(|l| l == ".env"), "{ignore_before}");
    assert!(!ignore_after.lines().any(|l| l == ".env"), "{ignore_after}");
    assert!(ignore_before.contains("IMG006") && !ignore_after.contains("IMG006"));
    let dockerfile_after = run_in(ruled.path(), &["suggest", &sample]);
    assert!(!dockerfile_after.contains("IMG008"), "{dockerfile_after}");

    if !common::has_tool("tmux") {
        return;
    }
    let findings_pane = |dir: &std::path::Path, name: &str| -> String {
        let command = format!(
            "cd {} && IMGPROF_CACHE_DIR=cache {} inspect {sample}; sleep 600",
            dir.display(),
            env!("CARGO_BIN_EXE_imgprof"),
        );
        let tmux = Tmux::start(name, &command);
        tmux.wait_until("the findings of the analysed image", |screen| {
            screen.contains("Findings ") && screen.contains("No USER")
        })
    };
    let view_before = findings_pane(plain.path(), "exclude-plain");
    let view_after = findings_pane(ruled.path(), "exclude-ruled");
    for title in ["Secrets in the image", "Version-control data"] {
        assert!(
            view_before.contains(title),
            "{title} without the rules file:\n{view_before}"
        );
        assert!(
            !view_after.contains(title),
            "{title} with .git and .env excluded:\n{view_after}"
        );
    }
}

/// dive's config file in `$HOME` is read by the real binary in a real terminal: its
/// binding moves an action to another key, and the tree starts as it says; a broken file
/// is refused naming its line.
#[test]
fn dives_config_file_in_a_real_terminal() {
    if !common::has_tool("tmux") {
        return;
    }
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        home.path().join(".dive.yaml"),
        "keybinding:\n  toggle-filetree-attributes: ctrl+t\nfiletree:\n  collapse-dir: true\n",
    )
    .expect("config");
    let command = format!(
        "HOME={} XDG_CONFIG_HOME={}/none IMGPROF_CACHE_DIR={}/cache {} inspect {}; sleep 600",
        home.path().display(),
        home.path().display(),
        home.path().display(),
        env!("CARGO_BIN_EXE_imgprof"),
        common::testdata("sample/sample-app.tar"),
    );
    let tmux = Tmux::start("dive-config", &command);
    tmux.wait_until("the tree, collapsed as the file says", |screen| {
        screen.contains("Files: layer 4") && screen.contains("usr/ …")
    });
    tmux.keys(&["Tab", "C-t"]);
    tmux.wait_until("permissions beside the rows after Ctrl+T", |screen| {
        screen.lines().any(|l| l.contains("usr/ …") && l.contains("drwx"))
    });

    drop(tmux);

    std::fs::write(home.path().join(".dive.yaml"), "filetree:\n  collapse-dir: perhaps\n").expect("config");
    let tmux = Tmux::start(
        "dive-config-bad",
        &command.replace("; sleep 600", "; echo EXIT=$?; sleep 600"),
    );
    let screen = tmux.wait_for("EXIT=").replace('\n', "");
    assert!(
        screen.contains(".dive.yaml:2: filetree.collapse-dir: true or false") && screen.contains("EXIT=2"),
        "{screen}"
    );
}

/// In a real terminal `y` reaches the clipboard through OSC 52: tmux, told to take it,
/// keeps the path in its paste buffer.
#[test]
fn y_copies_a_path_through_osc_52() {
    if !common::has_tool("tmux") {
        return;
    }
    let cache = tempfile::tempdir().expect("temp dir");
    let command = format!(
        "IMGPROF_CACHE_DIR={} {} inspect {}; sleep 600",
        cache.path().display(),
        env!("CARGO_BIN_EXE_imgprof"),
        common::testdata("sample/sample-app.tar"),
    );
    let tmux = Tmux::start("osc52", &command);
    let set = tmux.run(&["set-option", "-g", "set-clipboard", "on"]);
    assert!(set.status.success(), "{set:?}");
    tmux.wait_for("Files: layer 4");
    tmux.keys(&["Tab", "y"]);
    let screen = tmux.wait_for("copied /");
    let copied = screen
        .split("copied /")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|rest| format!("/{rest}"))
        .unwrap_or_default();
    let buffer = tmux.wait_until_output(&["show-buffer"], |out| out.trim() == copied);
    assert_eq!(buffer.trim(), copied);
}

/// In a real terminal Ctrl+E asks where to, and the image still open after the analysis
/// writes the selected directory there, each file from its layer, with its mode.
#[test]
fn ctrl_e_extracts_the_selected_directory() {
    if !common::has_tool("tmux") {
        return;
    }
    let cache = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let dest = out.path().join("usr-bin");
    let command = format!(
        "IMGPROF_CACHE_DIR={} {} inspect {}; sleep 600",
        cache.path().display(),
        env!("CARGO_BIN_EXE_imgprof"),
        common::testdata("fixtures/layers-gzip.oci"),
    );
    let tmux = Tmux::start("extract", &command);
    tmux.wait_for("Files: layer 3");
    // The top layer's files, filtered down to usr/bin/tool: rows usr/, bin/, tool.
    tmux.keys(&["Tab", "/"]);
    tmux.typed("usr/bin/tool$");
    tmux.keys(&["Enter", "Down", "C-e"]);
    tmux.wait_for("extract to");
    for _ in 0.."./bin".len() {
        tmux.keys(&["BSpace"]);
    }
    tmux.typed(dest.to_str().expect("UTF-8"));
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("extracted /usr/bin");
    assert!(screen.contains("extracted /usr/bin"), "{screen}");
    assert_eq!(std::fs::read(dest.join("tool")).expect("tool"), vec![b'T'; 1100]);
    assert_eq!(
        std::fs::read(dest.join("tool-link")).expect("tool-link"),
        vec![b't'; 1000]
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dest.join("tool")).expect("tool").permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
}
