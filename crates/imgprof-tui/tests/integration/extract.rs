//! Ctrl+E: the selected path written to disk as the selected layer shows it, each entry
//! from the layer that holds it, driven through the keys and served as the binary serves
//! it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common;
use crate::frames::{press, screen};
use imgprof_tui::state::PromptTarget;
use imgprof_tui::{App, Feed, Request};

/// The view of `path` (under testdata) on its last layer, the tree focused, and the
/// image still open as the binary keeps it.
fn on_last_layer(path: &str) -> (App, imgprof_source::Image) {
    let full = format!("{}/../../testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    let mut app = App::ready(path.into(), common::inspected(path), false);
    app.resize(120, 40);
    press(&mut app, &["G", "<tab>"]);
    (app, imgprof_source::open(&full, None).expect("the image opens"))
}

fn select(app: &mut App, path: &str) {
    for _ in 0..200 {
        let browse = app.browse().expect("ready");
        if browse.selected_node().map(|n| browse.data.tree.path(n)).as_deref() == Some(path) {
            return;
        }
        press(app, &["<down>"]);
    }
    panic!("{path} is not a row of the tree:\n{}", screen(app));
}

/// Ctrl+E on the selection, the prompt's text replaced by `dest`, Enter; the request
/// served on `image` and its answer fed back. Returns the status line's note.
fn extract_to(app: &mut App, image: &imgprof_source::Image, dest: &Path) -> String {
    press(app, &["^e"]);
    let prompt = app.prompt.clone().expect("Ctrl+E asks where to");
    assert_eq!(prompt.target, PromptTarget::ExtractTo);
    for _ in 0..prompt.text.chars().count() {
        press(app, &["<backspace>"]);
    }
    press(app, &[dest.to_str().expect("a UTF-8 path"), "<enter>"]);
    let Some(Request::Extract { path, plan }) = app.request.take() else {
        panic!("no extraction asked: {:?}", app.message);
    };
    let outcome = imgprof_layers::extract::extract(image, &plan, Default::default()).map_err(|e| e.to_string());
    app.feed(Feed::Extracted {
        path,
        dest: plan.dest,
        outcome,
    });
    app.message.clone().unwrap_or_default()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).expect("written").permissions().mode() & 0o7777
}

#[test]
fn a_directory_comes_out_as_the_layer_shows_it() {
    let (mut app, image) = on_last_layer("fixtures/layers-classic.tar");
    let out = tempfile::tempdir().expect("a temporary directory");
    select(&mut app, "usr/bin");
    assert_eq!(
        app.action_for_key(ratatui::crossterm::event::KeyEvent::new(
            ratatui::crossterm::event::KeyCode::Char('e'),
            ratatui::crossterm::event::KeyModifiers::CONTROL,
        )),
        Some(imgprof_tui::keys::Action::Extract)
    );
    let dest = out.path().join("bin");
    let note = extract_to(&mut app, &image, &dest);
    assert!(note.starts_with("extracted /usr/bin to "), "{note}");
    assert!(note.contains("2 files, 1 directory, 1 symlink"), "{note}");
    // The top layer's tool, the hard link still the bottom layer's file, the symlink as written.
    assert_eq!(fs::read(dest.join("tool")).expect("tool"), vec![b'T'; 1100]);
    assert_eq!(mode(&dest.join("tool")), 0o755);
    assert_eq!(fs::read(dest.join("tool-link")).expect("tool-link"), vec![b't'; 1000]);
    assert_eq!(fs::read_link(dest.join("sh")).expect("sh").to_str(), Some("tool"));
    assert_eq!(fs::read_dir(&dest).expect("a directory").count(), 3);
    // Nothing is overwritten: the same destination again is refused and left alone.
    let again = extract_to(&mut app, &image, &dest);
    assert!(again.contains("already exists"), "{again}");
    assert_eq!(fs::read(dest.join("tool")).expect("tool"), vec![b'T'; 1100]);
    // Nothing but the destination was written beside it.
    assert_eq!(fs::read_dir(out.path()).expect("listed").count(), 1);
}

#[test]
fn a_file_comes_from_the_layer_selected_and_a_removed_one_from_below() {
    let (mut app, image) = on_last_layer("fixtures/layers-classic.tar");
    let out = tempfile::tempdir().expect("a temporary directory");
    select(&mut app, "app/main.py");
    let dest = out.path().join("main.py");
    let note = extract_to(&mut app, &image, &dest);
    assert!(note.contains("(1 file, "), "{note}");
    assert_eq!(fs::read(&dest).expect("main.py"), vec![b'M'; 520]);
    // Layer 2 removed /tmp/build.log: extracted as layer 1 held it.
    press(&mut app, &["<tab>", "<tab>", "<up>", "<tab>"]);
    select(&mut app, "tmp");
    press(&mut app, &["l"]);
    select(&mut app, "tmp/build.log");
    let dest = out.path().join("build.log");
    let note = extract_to(&mut app, &image, &dest);
    assert!(note.contains("(1 file, "), "{note}");
    assert_eq!(fs::read(&dest).expect("build.log"), vec![b'l'; 700]);
}

#[test]
fn the_root_of_a_compressed_layout_keeps_whiteouts_and_skips_devices() {
    let (mut app, image) = on_last_layer("fixtures/layers-gzip.oci");
    let out = tempfile::tempdir().expect("a temporary directory");
    let browse = app.browse().expect("ready");
    let root_plan = browse
        .tree
        .view
        .extract_items(&browse.data.tree, imgprof_tui::tree::ROOT);
    assert!(!root_plan.is_empty());
    let dest = out.path().join("root");
    let plan = imgprof_layers::extract::ExtractPlan {
        dest: dest.clone(),
        items: root_plan,
    };
    let summary = imgprof_layers::extract::extract(&image, &plan, Default::default()).expect("extracted");
    assert_eq!(summary.skipped, 2, "dev/null and run/fifo: {summary:?}");
    assert_eq!(
        fs::read(dest.join("var/cache/new.txt")).expect("new.txt"),
        vec![b'n'; 5]
    );
    assert!(!dest.join("var/cache/pkg.bin").exists(), "hidden by the opaque marker");
    assert!(!dest.join("opt/data").exists(), "whited out");
    assert!(!dest.join("tmp/build.log").exists(), "whited out");
    assert_eq!(
        fs::read(dest.join("etc/os-release")).expect("os-release"),
        vec![b'O'; 120]
    );
    assert_eq!(mode(&dest.join("usr/bin")), 0o755);
    let _ = &mut app;
}

#[test]
fn a_layer_that_no_longer_matches_leaves_nothing_behind() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let layout = work.path().join("layout");
    let source = format!("{}/../../testdata/fixtures/layers-gzip.oci", env!("CARGO_MANIFEST_DIR"));
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&source)
        .arg(&layout)
        .status();
    assert!(copied.expect("cp runs").success());
    let image = imgprof_source::open(layout.to_str().expect("UTF-8"), None).expect("the copy opens");
    let inspected = common::inspected("fixtures/layers-gzip.oci");
    let tree = &inspected.tree;
    let view = imgprof_tui::tree::LayerView::compute(tree, 3, imgprof_tui::tree::TreeMode::Aggregated);
    let items = view.extract_items(tree, tree.find("app").expect("app"));
    // The top layer's blob (app/main.py's), changed after the analysis read it.
    assert!(items.iter().any(|i| i.layer == 3));
    let blob = &image.layers[3];
    let digest = blob.digest.as_ref().expect("a digest").to_string();
    let path = layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    let mut bytes = fs::read(&path).expect("the blob");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&path, bytes).expect("rewritten");
    let dest = work.path().join("app");
    let plan = imgprof_layers::extract::ExtractPlan {
        dest: dest.clone(),
        items,
    };
    let error = imgprof_layers::extract::extract(&image, &plan, Default::default()).expect_err("a changed blob");
    assert!(error.to_string().contains("blobs/sha256"), "names the blob: {error}");
    assert!(!dest.exists());
    let left: Vec<_> = fs::read_dir(work.path())
        .expect("listed")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("layout")]);
}
