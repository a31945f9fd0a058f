//! Rendered frames of the view on the sample image (testdata/sample/sample-app.tar),
//! driven through the real key bindings, drawn into a `TestBackend`, kept as insta
//! snapshots.

use crate::common;
use imgprof_tui::{App, Inspected};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

fn sample() -> Inspected {
    common::inspected("sample/sample-app.tar")
}

fn app(width: u16, height: u16) -> App {
    let mut app = App::ready("sample-app.tar".into(), sample(), false);
    app.resize(width, height);
    app
}

/// Keys as a terminal would report them: `^x` is Ctrl+x, names in `<>`, other text one
/// key per character.
pub(crate) fn events(keys: &[&str]) -> Vec<KeyEvent> {
    let mut events = Vec::new();
    for key in keys {
        let event = match *key {
            "<tab>" => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
            "<enter>" => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            "<esc>" => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            "<backspace>" => KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
            "<up>" => KeyEvent::new(KeyCode::Up, KeyModifiers::NONE),
            "<down>" => KeyEvent::new(KeyCode::Down, KeyModifiers::NONE),
            "<space>" => KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE),
            "^<space>" => KeyEvent::new(KeyCode::Char(' '), KeyModifiers::CONTROL),
            ctrl if ctrl.starts_with('^') => {
                KeyEvent::new(KeyCode::Char(ctrl.chars().nth(1).unwrap_or('?')), KeyModifiers::CONTROL)
            }
            text => {
                events.extend(
                    text.chars()
                        .map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
                );
                continue;
            }
        };
        events.push(event);
    }
    events
}

/// Presses keys, each waiting until the tree shows what it asked for.
pub(crate) fn press(app: &mut App, keys: &[&str]) {
    for key in events(keys) {
        if let Some(action) = action_for(app, key) {
            app.apply(action);
        }
    }
}

/// Presses keys as the event loop takes them: no key waits for a layout; answers that
/// are in by then are drawn between keys.
fn press_without_waiting(app: &mut App, keys: &[&str]) {
    for key in events(keys) {
        if let Some(action) = action_for(app, key) {
            app.apply_deferred(action);
        }
        app.settle();
        app.receive();
    }
}

fn action_for(app: &App, key: KeyEvent) -> Option<imgprof_tui::keys::Action> {
    app.action_for_key(key)
}

fn terminal(app: &App) -> Terminal<TestBackend> {
    let (width, height) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| imgprof_tui::draw::draw(frame, app))
        .expect("the frame draws");
    terminal
}

/// The frame as text, one line per row, trailing blanks cut.
pub(crate) fn screen(app: &App) -> String {
    common::text_of(terminal(app).backend().buffer())
}

#[test]
fn first_screen() {
    let app = app(120, 40);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn first_screen_at_80x24() {
    let app = app(80, 24);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn tree_of_layer_changes_only() {
    let mut app = app(120, 40);
    // Down to layer 3 (the pip install), changes of that layer only.
    press(&mut app, &["<up>", "^l", "<tab>"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn tree_aggregated_up_to_a_layer() {
    let mut app = app(120, 40);
    press(&mut app, &["<up>", "<up>", "^a", "<tab>"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn tree_with_unmodified_files_hidden_and_sorted_by_name() {
    let mut app = app(120, 40);
    press(&mut app, &["<up>", "<tab>", "U", "^o"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn tree_collapsed() {
    let mut app = app(120, 40);
    press(&mut app, &["<tab>", "^<space>"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn filter_active() {
    let mut app = app(120, 40);
    press(&mut app, &["/", "pip", "<enter>"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn filter_being_typed() {
    let mut app = app(120, 40);
    press(&mut app, &["^f", "\\.py$"]);
    insta::assert_snapshot!(screen(&app));
}

/// A key that needs a new view returns before it is computed: the pane draws the last
/// layout and says what it waits for, then draws the answer once it is taken in.
#[test]
fn a_view_being_computed_is_announced_then_drawn() {
    let mut app = app(120, 40);
    // The analysis prefetches aggregated views only: changes of a layer are computed.
    // Nothing is taken in before `wait`, so the frame is the one drawn while waiting.
    let ctrl_l = events(&["^l"])[0];
    if let Some(action) = action_for(&app, ctrl_l) {
        app.apply_deferred(action);
    }
    assert!(app.pending());
    insta::assert_snapshot!("tree_while_a_view_is_computed", screen(&app));
    app.wait();
    assert!(!app.pending());
    let mut waited = self::app(120, 40);
    press(&mut waited, &["^l"]);
    assert_eq!(screen(&app), screen(&waited));
    assert!(screen(&app).contains("Files: layer 4, changes of this layer"));
}

/// Keys pressed while layouts are computed all count, whatever the worker's timing:
/// the end is the same as pressing each and waiting.
#[test]
fn keys_pressed_while_layouts_are_computed_all_count() {
    let keys: &[&str] = &[
        "^l", "<up>", "<up>", "<tab>", "U", "^o", "<down>", "<space>", "^a", "/", "py", "<esc>", "/", "pip", "<enter>",
        "<down>", "^r", "^<space>", "^<space>",
    ];
    let mut waited = app(120, 40);
    press(&mut waited, keys);
    for _ in 0..20 {
        let mut unwaited = app(120, 40);
        press_without_waiting(&mut unwaited, keys);
        unwaited.wait();
        assert_eq!(screen(&unwaited), screen(&waited));
    }
}

#[test]
fn findings_pane_with_a_selection() {
    let mut app = app(120, 40);
    press(&mut app, &["<tab>", "<tab>", "<down>", "<down>"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn opening_a_finding_jumps_to_its_layer_and_path() {
    let mut app = app(120, 40);
    press(&mut app, &["<tab>", "<tab>", "<down>", "<down>", "<enter>"]);
    let browse = app.browse().expect("ready");
    let finding = &browse.data.report.findings[2];
    assert_eq!(Some(browse.layer), finding.layer);
    let node = browse.selected_node().expect("a selected file");
    assert_eq!(
        format!("/{}", browse.data.tree.path(node)),
        finding.paths[0].path,
        "the tree selects the finding's first path"
    );
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn opening_the_same_finding_again_goes_to_its_next_path() {
    let mut app = app(120, 40);
    press(
        &mut app,
        &["<tab>", "<tab>", "<down>", "<down>", "<enter>", "<tab>", "<enter>"],
    );
    let browse = app.browse().expect("ready");
    let finding = &browse.data.report.findings[2];
    let node = browse.selected_node().expect("a selected file");
    assert_eq!(format!("/{}", browse.data.tree.path(node)), finding.paths[1].path);
    assert!(app.message.as_deref().is_some_and(|m| m.contains("2 of 2 paths")));
}

/// The sample has no package database, so its report gets packages of each manager,
/// largest first as the analysis lists them.
fn app_with_packages() -> App {
    use imgprof_waste::{Manager, Package, PackageReason};
    let mut data = sample();
    let package = |manager, name: &str, version: &str, bytes, files, depends: &[&str]| Package {
        manager,
        name: name.into(),
        version: version.into(),
        location: match manager {
            Manager::Pip => "/usr/local/lib/python3.11/site-packages".into(),
            _ => "amd64".into(),
        },
        depends: depends.iter().map(|d| (*d).to_owned()).collect(),
        requires: Vec::new(),
        provides: Vec::new(),
        recommends: Vec::new(),
        essential: false,
        reason: match name {
            "gcc-12" => PackageReason::Requested { layer: 1 },
            "musl" => PackageReason::BaseSystem,
            _ => PackageReason::Unexplained,
        },
        bytes,
        files,
    };
    data.report.packages.list = vec![
        package(
            Manager::Dpkg,
            "gcc-12",
            "12.2.0-14",
            80_000_000,
            120,
            &["cpp-12", "binutils"],
        ),
        package(Manager::Pip, "pydantic-core", "2.14.1", 5_400_000, 12, &[]),
        package(Manager::Apk, "musl", "1.2.4-r2", 600_000, 3, &[]),
        package(Manager::Pip, "fastapi", "0.110.0", 240_000, 40, &[]),
    ];
    let mut app = App::ready("sample-app.tar".into(), data, false);
    app.resize(120, 40);
    app
}

#[test]
fn packages_view() {
    let mut app = app_with_packages();
    press(&mut app, &["p"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn packages_view_filtered() {
    let mut app = app_with_packages();
    press(&mut app, &["p", "/", "py", "<enter>"]);
    let browse = app.browse().expect("ready");
    assert_eq!(browse.packages.matching, [1], "only pydantic-core has py in its name");
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn help_overlay() {
    let mut app = app(120, 40);
    press(&mut app, &["?"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn base_layers_hidden() {
    let mut app = app(120, 40);
    press(&mut app, &["b"]);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn resize_keeps_the_selection_visible() {
    let mut app = app(120, 40);
    press(&mut app, &["<tab>", "G"]);
    app.resize(80, 24);
    let browse = app.browse().expect("ready");
    let selected = browse.selected_node().expect("a selected file");
    let name = browse.data.tree.name(selected).to_owned();
    assert!(
        screen(&app).contains(&name),
        "the last row ({name}) is on the small screen"
    );
}

#[test]
fn no_color_draws_without_colours_and_colour_draws_categories() {
    let colours = |color: bool| {
        let mut app = app(120, 40);
        app.color = color;
        let terminal = terminal(&app);
        let buffer = terminal.backend().buffer();
        buffer
            .content()
            .iter()
            .filter(|cell| cell.fg != Color::Reset || cell.bg != Color::Reset)
            .count()
    };
    assert_eq!(colours(false), 0, "NO_COLOR: no cell has a colour");
    assert!(colours(true) > 0, "with colour, categories and statuses are coloured");
}

#[test]
fn loading_screen_shows_progress_per_layer() {
    use imgprof_layers::LayerOutcome;
    use imgprof_tui::{Feed, PendingLayer};
    let layers = (0..3)
        .map(|i| PendingLayer {
            bytes: 1_000_000 * (i + 1),
            instruction: Some(format!("RUN step {i}")),
        })
        .collect();
    let mut app = App::loading("registry.local/app:1".into(), layers, false);
    app.resize(100, 20);
    app.feed(Feed::Started {
        layer: 0,
        bytes: 1_000_000,
    });
    app.feed(Feed::Finished {
        layer: 0,
        outcome: LayerOutcome::Cached,
    });
    app.feed(Feed::Started {
        layer: 2,
        bytes: 3_000_000,
    });
    app.feed(Feed::Advanced {
        layer: 2,
        bytes: 1_500_000,
    });
    insta::assert_snapshot!(screen(&app));
    app.feed(Feed::Ready(Box::new(sample())));
    assert!(
        screen(&app).contains("Files: layer 4, everything up to it"),
        "the data replaces the progress"
    );
}

#[test]
fn a_failed_analysis_is_shown_and_kept() {
    let mut app = App::loading("x.tar".into(), Vec::new(), false);
    app.feed(imgprof_tui::Feed::Failed(
        "cannot analyse x.tar: digest mismatch".into(),
    ));
    assert!(screen(&app).contains("digest mismatch"));
    assert_eq!(app.failure.as_deref(), Some("cannot analyse x.tar: digest mismatch"));
}

#[test]
fn the_mouse_wheel_scrolls_the_pane_under_the_pointer() {
    use imgprof_tui::keys::Action;
    let mut app = app(120, 40);
    let tree = app.areas().tree;
    app.apply(Action::Scroll {
        column: tree.x + 5,
        row: tree.y + 5,
        down: true,
    });
    let browse = app.browse().expect("ready");
    assert_eq!(browse.tree.cursor.selected, 3, "three rows per notch");
    assert_eq!(app.focus, imgprof_tui::keys::Pane::Layers, "the focus stays");
    let layers = app.areas().layers;
    app.apply(Action::Scroll {
        column: layers.x + 2,
        row: layers.y + 2,
        down: false,
    });
    assert_eq!(
        app.browse().expect("ready").layer,
        1,
        "three layers up from the top one"
    );
}

#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let inspected = common::inspected("bad/tar-control-chars-in-name.oci");
    let mut app = App::ready("tar-control-chars-in-name.oci".into(), inspected, false);
    app.resize(100, 30);
    let terminal = terminal(&app);
    let buffer = terminal.backend().buffer();
    let controls: Vec<&str> = buffer
        .content
        .iter()
        .map(|c| c.symbol())
        .filter(|s| s.chars().any(char::is_control))
        .collect();
    assert!(controls.is_empty(), "cells with control characters: {controls:?}");
    assert!(
        common::text_of(buffer).contains("not-what-it-seems"),
        "{}",
        common::text_of(buffer)
    );
}

#[test]
fn a_filter_that_matches_nothing_says_so_and_a_bad_one_stays_open() {
    let mut app = app(120, 40);
    press(&mut app, &["/", "zzqq", "<enter>"]);
    assert_eq!(app.message.as_deref(), Some("no path matches /zzqq/"));
    assert!(screen(&app).contains("(nothing to show: check the toggles and the filter)"));
    // Said where the user types, as soon as the pattern stops parsing.
    press(&mut app, &["/", "<esc>", "/", "a(b"]);
    let text = screen(&app);
    let prompt_line = text.lines().last().unwrap_or_default();
    assert!(
        prompt_line.contains("a(b") && prompt_line.contains("not a regex") && prompt_line.contains("unclosed group"),
        "{prompt_line}"
    );
    press(&mut app, &["<enter>"]);
    assert!(app.prompt.is_some(), "the prompt stays open on a bad regex");
    assert!(
        app.message.as_deref().is_some_and(|m| m.starts_with("not a regex")),
        "{:?}",
        app.message
    );
}

#[test]
fn hiding_the_base_layers_and_showing_them_again_lists_layer_0() {
    let mut app = app(120, 40);
    let before = screen(&app);
    press(&mut app, &["b"]);
    assert!(!screen(&app).contains("B 0 "), "hidden");
    press(&mut app, &["b"]);
    assert!(screen(&app).contains("B 0 "), "layer 0 is listed again");
    assert_eq!(screen(&app), before, "the same screen as before hiding");
}

#[test]
fn enter_collapses_an_expanded_directory_and_expands_it_again() {
    let mut app = app(120, 40);
    press(&mut app, &["<tab>"]);
    let rows = |app: &App| app.browse().expect("ready").tree.rows.rows.len();
    let expanded = rows(&app);
    press(&mut app, &["<enter>"]);
    let collapsed = rows(&app);
    assert!(collapsed < expanded, "{collapsed} rows after Enter, {expanded} before");
    press(&mut app, &["<enter>"]);
    assert_eq!(rows(&app), expanded);
}

/// Each layer row shows the report's figures under the report's names: Size is the
/// layer's file bytes, `w` what its findings remove (never more than the layer holds).
#[test]
fn layer_rows_show_the_reports_figures() {
    let app = app(200, 50);
    let text = screen(&app);
    let report = &app.browse().expect("ready").data.report;
    for layer in &report.layers {
        assert!(layer.removable_bytes <= layer.content_bytes, "layer {}", layer.index);
        let size = imgprof_tui::draw::size(layer.content_bytes);
        let row = text
            .lines()
            .find(|l| l.contains(&format!("{:>2} {size:>8} ", layer.index)))
            .unwrap_or_else(|| panic!("layer {} with Size {size} in\n{text}", layer.index));
        if layer.removable_bytes > 0 {
            assert!(row.contains(" w"), "{row}");
        }
    }
}

/// Without colour, a finding's severity reads as its initial, and its fix keeps the
/// line breaks a Dockerfile needs.
#[test]
fn severity_and_fix_text_read_without_colour() {
    let mut app = app(200, 50);
    app.color = false;
    press(&mut app, &["<tab>", "<tab>"]);
    let findings = app.browse().expect("ready").data.report.findings.clone();
    for (i, finding) in findings.iter().enumerate() {
        let text = screen(&app);
        let initial = finding.severity.name()[..1].to_ascii_uppercase();
        let size = imgprof_tui::draw::size(finding.saves_bytes);
        assert!(
            text.contains(&format!("{initial} {size:>8} ")),
            "finding {i} ({}) shows {initial}: {text}",
            finding.id
        );
        assert!(text.contains(&format!("{} {}:", finding.id, finding.severity.name())));
        for line in finding.fix.lines().filter(|l| !l.trim().is_empty()).take(3) {
            let start: String = line.chars().take(40).collect();
            assert!(
                text.contains(&format!("  {}", start.trim_end())),
                "fix line {line:?} of {} on its own line:\n{text}",
                finding.id
            );
        }
        press(&mut app, &["<down>"]);
    }
}

/// The reference fixture (links, modes, owners) at 120x40 with the tree focused.
fn classic_tree() -> App {
    let mut app = App::ready(
        "layers-classic.tar".into(),
        common::inspected("fixtures/layers-classic.tar"),
        false,
    );
    app.resize(120, 40);
    press(&mut app, &["<tab>"]);
    app
}

/// Links read as dive shows them: `name → target`, and the file pane says where.
#[test]
fn symlinks_show_their_targets() {
    let app = classic_tree();
    let text = screen(&app);
    assert!(text.contains("sh → tool"), "{text}");
    assert!(text.contains("tool-link → usr/bin/tool"), "{text}");
}

/// At 80x24 the image pane keeps whole figures (shorter forms, not cut ones).
#[test]
fn the_image_pane_keeps_whole_figures_at_80x24() {
    let app = app(80, 24);
    let text = screen(&app);
    let report = &app.browse().expect("ready").data.report;
    let size = imgprof_tui::draw::size;
    for figure in [
        format!("{} final", size(report.image.final_bytes)),
        format!(
            "{} (saves {})",
            size(report.projection.projected_bytes),
            size(report.projection.saves_bytes)
        ),
        format!("{} of {} layers", report.base_image.layers, report.layers.len()),
    ] {
        assert!(text.contains(&figure), "{figure:?} in\n{text}");
    }
    for row in text
        .lines()
        .filter(|l| l.starts_with("│size") || l.starts_with("│pull") || l.starts_with("│built on"))
    {
        let inside = row.split('│').nth(1).unwrap_or_default();
        assert!(inside.ends_with(' ') || !inside.contains(','), "cut: {row}");
    }
}

/// Thirty layers in a pane of a few rows: in order, the window on the first layer still
/// being read, and what it leaves out counted.
#[test]
fn loading_many_layers_keeps_their_order_and_counts_what_is_hidden() {
    use imgprof_layers::LayerOutcome;
    use imgprof_tui::{Feed, PendingLayer};
    let layers = (0..30)
        .map(|i| PendingLayer {
            bytes: 1_000_000,
            instruction: Some(format!("RUN step {i}")),
        })
        .collect();
    let mut app = App::loading("registry.local/app:1".into(), layers, false);
    app.resize(80, 24);
    for layer in 0..20 {
        app.feed(Feed::Started {
            layer,
            bytes: 1_000_000,
        });
        app.feed(Feed::Finished {
            layer,
            outcome: LayerOutcome::Read,
        });
    }
    app.feed(Feed::Started {
        layer: 20,
        bytes: 1_000_000,
    });
    app.feed(Feed::Advanced {
        layer: 20,
        bytes: 500_000,
    });
    let text = screen(&app);
    let shown: Vec<usize> = text
        .lines()
        .filter_map(|l| l.split("RUN step ").nth(1))
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    assert!(shown.contains(&20), "the layer being read is shown: {text}");
    assert!(shown.windows(2).all(|w| w[1] == w[0] + 1), "in layer order: {shown:?}");
    let above = shown[0];
    let below = 29 - shown[shown.len() - 1];
    assert!(text.contains(&format!("… {above} layers above")), "{text}");
    assert!(text.contains(&format!("… {below} more layers")), "{text}");
    // 20 layers done and half of the 21st, of 30 MB (the line wraps at 80 columns).
    assert!(text.contains("20 of 30 done, 20.5 MB of"), "{text}");
    assert!(text.contains("30.0 MB stored bytes read"), "{text}");
}

/// Ctrl+B shows each row's permissions and owner, as dive's; again hides them.
#[test]
fn ctrl_b_shows_permissions_and_owners() {
    let mut app = classic_tree();
    let plain = screen(&app);
    press(&mut app, &["^b"]);
    let text = screen(&app);
    let row = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
            .to_owned()
    };
    // usr/bin/tool is 0755 in the fixture, its directory a directory.
    assert!(row(&text, "── tool").contains("-rwxr-xr-x"), "{text}");
    assert!(row(&text, "── bin/").contains("drwx"), "{text}");
    assert!(row(&text, "sh → tool").contains("lrwx"), "{text}");
    assert!(!plain.contains("-rwxr-xr-x"), "hidden until asked for");
    press(&mut app, &["^b"]);
    assert_eq!(screen(&app), plain);
}

/// At 80x24 the help holds more keys than rows: it says so and scrolls to the last.
#[test]
fn help_scrolls_through_every_key_on_a_small_screen() {
    let mut app = app(80, 24);
    press(&mut app, &["?"]);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..imgprof_tui::keys::HELP.len() {
        let text = screen(&app);
        for (keys, _) in imgprof_tui::keys::HELP {
            if text.contains(keys) {
                seen.insert(*keys);
            }
        }
        press(&mut app, &["<down>"]);
    }
    assert!(screen(&app).contains("↑↓ scroll"), "{}", screen(&app));
    assert_eq!(seen.len(), imgprof_tui::keys::HELP.len(), "every key was on screen");
    press(&mut app, &["<esc>"]);
    assert!(!app.help);
}

/// The tree of the top layer is the report's final filesystem: the title gives the
/// report's counts, and the tree itself holds exactly that many entries.
#[test]
fn the_final_tree_counts_what_the_report_counts() {
    let app = app(200, 50);
    let text = screen(&app);
    let browse = app.browse().expect("ready");
    let c = &browse.data.report.image.final_counts;
    let title = format!(
        "{} files, {} hard links, {} symlinks, {} dirs",
        c.files, c.hardlinks, c.symlinks, c.dirs
    );
    assert!(text.contains(&title), "{title:?} in\n{text}");
    let tree = &browse.data.tree;
    let top = browse.data.report.layers.len() as u32 - 1;
    let view = imgprof_tui::tree::LayerView::compute(tree, top, imgprof_tui::tree::TreeMode::Aggregated);
    let present = |n: u32| {
        !matches!(
            view.status[n as usize],
            imgprof_tui::tree::Status::Absent | imgprof_tui::tree::Status::Removed
        )
    };
    let entries = (1..tree.len() as u32)
        .filter(|&n| present(n) && !view.is_dir[n as usize])
        .count() as u64;
    assert_eq!(entries, c.files + c.hardlinks + c.symlinks + c.special);
}

/// dive's config file: its bindings replace the default keys of their actions, and the
/// tree starts as it says (statuses hidden, directories collapsed, attributes shown).
#[test]
fn dives_config_file_is_honoured() {
    let text = "keybinding:\n  toggle-filetree-attributes: ctrl+t\ndiff:\n  hide: [unmodified]\nfiletree:\n  collapse-dir: true\n  show-attributes: true\n";
    let config = imgprof_tui::config::ViewConfig::parse(text, "/home/u/.dive.yaml").expect("a valid file");
    let mut app = App::ready("sample-app.tar".into(), sample(), false).with_config(config);
    app.resize(120, 40);
    press(&mut app, &["<tab>"]);
    let text = screen(&app);
    assert!(text.contains("[ARM·]"), "unmodified hidden: {text}");
    assert!(text.contains("app/ …"), "collapsed: {text}");
    // The file pane gives the mode always; the tree row only with attributes on.
    let attributes_in_tree = |app: &App| {
        screen(app)
            .lines()
            .find(|l| l.contains("app/ …"))
            .is_some_and(|row| row.contains("drwx"))
    };
    assert!(attributes_in_tree(&app), "attributes shown: {text}");
    press(&mut app, &["^b"]);
    assert!(attributes_in_tree(&app), "Ctrl+B no longer toggles them");
    press(&mut app, &["^t"]);
    assert!(!attributes_in_tree(&app), "Ctrl+T does");
    press(&mut app, &["?"]);
    assert!(
        screen(&app).contains("ctrl+t                toggle-filetree-attributes (your config file)"),
        "{}",
        screen(&app)
    );
}

/// `y` in the tree hands the selected path to the terminal's clipboard and says so.
#[test]
fn y_copies_the_selected_path() {
    let mut app = classic_tree();
    press(&mut app, &["y"]);
    let browse = app.browse().expect("ready");
    let node = browse.selected_node().expect("a selected row");
    let path = format!("/{}", browse.data.tree.path(node));
    assert_eq!(app.clipboard.as_deref(), Some(path.as_str()));
    assert!(
        app.message.as_deref().is_some_and(|m| m.contains(&path)),
        "{:?}",
        app.message
    );
}

/// dive's `filetree.pane-width` sets the files column's share of the width, as drawn.
#[test]
fn dives_pane_width_sizes_the_files_column() {
    let config = imgprof_tui::config::ViewConfig::parse("filetree:\n  pane-width: 0.7\n", "d.yaml").expect("valid");
    let mut app = App::ready("sample-app.tar".into(), sample(), false).with_config(config);
    app.resize(120, 40);
    let areas = app.areas();
    assert_eq!((areas.tree.x, areas.tree.width), (36, 84));
    // The frame puts the files pane's border where the layout says.
    let text = screen(&app);
    let tree_title = text
        .lines()
        .find(|l| l.contains("Files"))
        .expect("the files pane's title");
    let column = tree_title.chars().take_while(|&c| c != '┌').count();
    let second = tree_title
        .chars()
        .skip(column + 1)
        .position(|c| c == '┌')
        .map(|p| p + column + 1);
    assert_eq!(second, Some(36), "{text}");
}
