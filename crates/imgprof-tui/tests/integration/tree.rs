//! The tree model against the stacking that the report uses: as of every layer, the
//! aggregated view shows exactly the paths `Stack` shows for the layers up to it, and a
//! layer's changes are what `Stack` counts for it.

use crate::common;
use std::collections::BTreeSet;

use imgprof_layers::{Entry, EntryKind, LayerIndex, Stack};
use imgprof_tui::filter::PathFilter;
use imgprof_tui::tree::{FileTree, LayerView, ROOT, Rows, SortOrder, Status, StatusToggles, TreeMode, shown_nodes};

fn entry(path: &str, kind: EntryKind, size: u64) -> Entry {
    Entry::plain(path, kind, size)
}

fn layer(entries: Vec<Entry>) -> LayerIndex {
    LayerIndex::of_entries(entries)
}

use EntryKind::{Dir, File, OpaqueWhiteout, Whiteout};

/// Layers that exercise every way a path disappears: overwrite, file whiteout, directory
/// whiteout, opaque directory, a file over a directory, and re-creation.
fn tricky_layers() -> Vec<LayerIndex> {
    vec![
        layer(vec![
            entry("etc", Dir, 0),
            entry("etc/a", File, 10),
            entry("etc/b", File, 20),
            entry("opt/x/1", File, 5),
            entry("opt/x/2", File, 6),
            entry("var/cache/c", File, 7),
            entry("d/f", File, 3),
        ]),
        layer(vec![
            entry("etc/a", File, 11),
            entry("opt/x", Whiteout, 0),
            entry("var/cache", OpaqueWhiteout, 0),
            entry("var/cache/new", File, 2),
            entry("d", File, 1),
        ]),
        layer(vec![
            entry("etc/b", Whiteout, 0),
            entry("opt/x/3", File, 4),
            entry("d", Whiteout, 0),
            entry("d/g", File, 9),
        ]),
    ]
}

/// Non-directory paths `Stack` shows for `layers`, and their content bytes.
fn stacked(layers: &[LayerIndex]) -> (BTreeSet<String>, u64) {
    let stack = Stack::build(layers);
    let paths = stack
        .visible()
        .filter(|(_, slot)| stack.entry(*slot).kind != Dir)
        .map(|(path, _)| path.to_owned())
        .collect();
    let bytes = stack.visible().map(|(_, slot)| stack.entry(slot).content_size()).sum();
    (paths, bytes)
}

/// Non-directory paths the aggregated view of `layer` shows as present, and the root's size.
fn viewed(tree: &FileTree, layer: u32) -> (BTreeSet<String>, u64) {
    let view = LayerView::compute(tree, layer, TreeMode::Aggregated);
    let paths = (1..tree.len() as u32)
        .filter(|&n| !view.is_dir[n as usize] && !matches!(view.status[n as usize], Status::Absent | Status::Removed))
        .map(|n| tree.path(n))
        .collect();
    (paths, view.size[ROOT as usize])
}

fn assert_matches_stack(layers: &[LayerIndex]) {
    let tree = FileTree::build(layers, &[]);
    for top in 0..layers.len() {
        let (stack_paths, stack_bytes) = stacked(&layers[..=top]);
        let (view_paths, view_bytes) = viewed(&tree, top as u32);
        assert_eq!(view_paths, stack_paths, "paths as of layer {top}");
        assert_eq!(view_bytes, stack_bytes, "bytes as of layer {top}");
    }
}

#[test]
fn aggregated_views_match_the_stack_on_whiteouts_and_overwrites() {
    assert_matches_stack(&tricky_layers());
}

#[test]
fn aggregated_views_match_the_stack_on_the_sample_image() {
    let (layers, ()) = common::indexed("sample/sample-app.tar", |_, _| ());
    assert_matches_stack(&layers);
}

#[test]
fn layer_changes_show_what_the_layer_did() {
    let layers = tricky_layers();
    let tree = FileTree::build(&layers, &[]);
    let view = LayerView::compute(&tree, 1, TreeMode::LayerChanges);
    let status = |path: &str| view.status[tree.find(path).expect("a node") as usize];
    assert_eq!(status("etc/a"), Status::Modified);
    assert_eq!(status("opt/x/1"), Status::Removed, "below a deleted directory");
    assert_eq!(status("var/cache/c"), Status::Removed, "hidden by the opaque marker");
    assert_eq!(status("var/cache/new"), Status::Added);
    assert_eq!(status("d"), Status::Added, "a file over a directory is new");
    assert_eq!(status("d/f"), Status::Removed);
    assert!(
        !view.included[tree.find("etc/b").expect("a node") as usize],
        "untouched"
    );
    // The changes of layer 1 hold 11 + 2 + 1 bytes of new content.
    assert_eq!(view.size[ROOT as usize], 14);

    let changes = Stack::build(&layers).changes()[1];
    let added = (1..tree.len() as u32)
        .filter(|&n| !view.is_dir[n as usize] && view.status[n as usize] == Status::Added)
        .count() as u64;
    assert_eq!(added, changes.added_files);
}

#[test]
fn toggles_and_filter_hide_rows_and_keep_their_directories() {
    let layers = tricky_layers();
    let tree = FileTree::build(&layers, &[]);
    let view = LayerView::compute(&tree, 2, TreeMode::Aggregated);
    let names = |toggles: StatusToggles, filter: Option<&PathFilter>| {
        let matches = filter.map(|f| f.matches(&tree));
        let shown = shown_nodes(&tree, &view, toggles, matches.as_deref());
        let collapsed = vec![false; tree.len()];
        Rows::build(&tree, &view, &shown, &collapsed, SortOrder::Name)
            .rows
            .iter()
            .map(|r| tree.path(r.node))
            .collect::<Vec<_>>()
    };
    let only_added = StatusToggles {
        added: true,
        removed: false,
        modified: false,
        unmodified: false,
    };
    assert_eq!(names(only_added, None), ["d", "d/g", "opt", "opt/x", "opt/x/3"]);
    let filter = PathFilter::new("cache").expect("a regex");
    assert_eq!(
        names(StatusToggles::default(), Some(&filter)),
        ["var", "var/cache", "var/cache/new"]
    );
}

#[test]
fn collapse_and_expand_splice_the_rows() {
    let layers = tricky_layers();
    let tree = FileTree::build(&layers, &[]);
    let view = LayerView::compute(&tree, 0, TreeMode::Aggregated);
    let shown = shown_nodes(&tree, &view, StatusToggles::default(), None);
    let mut collapsed = vec![false; tree.len()];
    let mut rows = Rows::build(&tree, &view, &shown, &collapsed, SortOrder::Name);
    let full = rows.rows.clone();
    let opt = rows.position(tree.find("opt").expect("opt")).expect("a row");
    rows.collapse(opt);
    collapsed[tree.find("opt").expect("opt") as usize] = true;
    assert_eq!(rows.rows.len(), full.len() - 3, "opt/x, opt/x/1, opt/x/2 hidden");
    collapsed[tree.find("opt").expect("opt") as usize] = false;
    rows.expand(&tree, &view, &shown, &collapsed, SortOrder::Name, opt);
    assert_eq!(rows.rows, full);
}
