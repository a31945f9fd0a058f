//! Per-keystroke cost of the inspect view on a tree of a million entries: each key's
//! handling plus a full render into a 120x40 `TestBackend`. `cargo xtask bench` runs it
//! (release build) and records the figures; it is a measurement, not a test.
//!
//! The layers are generated (1,000,000 entries over five layers: a base, packages, an
//! app, overwrites and deletions); the image metadata (config, history) is the sample
//! image's, which has five layers too.
//!
//! Output: one line per key, tab-separated: key, presses, median ms, max ms; then
//! `setup` lines (tree build, analysis) and `entries`.

use std::time::Instant;

use imgprof_layers::{Entry, EntryKind, LayerIndex};
use imgprof_tui::keys::action_for_key;
use imgprof_tui::{App, Inspected};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn main() {
    let target: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sample/sample-app.tar");
    let image = match imgprof_source::open(sample, None) {
        Ok(image) => image,
        Err(error) => {
            eprintln!("keystrokes: cannot open {sample}: {error}");
            std::process::exit(2);
        }
    };
    let layers = generate(target, image.layers.len());
    let entries: usize = layers.iter().map(|l| l.entries.len()).sum();

    // The tree alone, as the analysis builds it (without categories).
    let start = Instant::now();
    drop(imgprof_tui::FileTree::build(&layers, &[]));
    let tree_build = start.elapsed();
    let start = Instant::now();
    let inspected = Inspected::of(imgprof_report::analyse(&image, &layers, &Default::default()), &layers);
    let analysis = start.elapsed();
    let start = Instant::now();
    let mut app = App::ready("generated".into(), inspected, true);
    let open = start.elapsed();
    app.resize(120, 40);
    let mut terminal = match Terminal::new(TestBackend::new(120, 40)) {
        Ok(t) => t,
        Err(error) => {
            eprintln!("keystrokes: {error}");
            std::process::exit(2);
        }
    };

    let mut timings: Vec<Timing> = Vec::new();
    // One key as the event loop takes it: handled, the tree settled, a frame drawn. With
    // `wait`, then each answer of the worker it asked for: taken in and drawn.
    let mut press = |app: &mut App, name: &str, key: KeyEvent, times: usize, wait: bool| {
        for _ in 0..times {
            let start = Instant::now();
            if let Some(action) = action_for_key(key, app.key_context()) {
                app.apply_deferred(action);
            }
            app.settle();
            let _ = terminal.draw(|frame| imgprof_tui::draw::draw(frame, app));
            let key_ms = ms(start);
            let mut answers = Vec::new();
            while wait && app.pending() {
                let Some(done) = app.next_done() else { break };
                let taken = Instant::now();
                app.take(done);
                let _ = terminal.draw(|frame| imgprof_tui::draw::draw(frame, app));
                answers.push(ms(taken));
            }
            let at = match timings.iter().position(|t| t.name == name) {
                Some(i) => i,
                None => {
                    timings.push(Timing::new(name));
                    timings.len() - 1
                }
            };
            let timing = &mut timings[at];
            timing.key.push(key_ms);
            if !answers.is_empty() {
                timing.answer.extend(answers);
                timing.result.push(ms(start));
            }
        }
    };
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    let typed = |text: &str| text.chars().map(|c| key(KeyCode::Char(c))).collect::<Vec<_>>();
    // (what is measured, the keys, how often each, whether each waits for the layout it
    // asked for: a key that does not leaves it computing while the next is pressed)
    let script: Vec<(&str, Vec<KeyEvent>, usize, bool)> = vec![
        ("Tab (to the tree)", vec![key(KeyCode::Tab)], 1, true),
        ("Down", vec![key(KeyCode::Down)], 300, true),
        ("PageDown", vec![key(KeyCode::PageDown)], 100, true),
        ("PageUp", vec![key(KeyCode::PageUp)], 50, true),
        ("End", vec![key(KeyCode::End)], 1, true),
        ("Home", vec![key(KeyCode::Home)], 1, true),
        ("Down", vec![key(KeyCode::Down)], 2, true),
        // A top-level directory with a quarter of the tree below it.
        ("Space (collapse, expand)", vec![key(KeyCode::Char(' '))], 10, true),
        ("Ctrl+Space (collapse all, expand all)", vec![ctrl(' ')], 4, true),
        ("Ctrl+O (sort by name, by size)", vec![ctrl('o')], 4, true),
        ("U (unmodified off, on)", vec![key(KeyCode::Char('U'))], 4, true),
        ("Ctrl+A (added off, on)", vec![ctrl('a')], 4, true),
        ("/ (open the filter)", vec![key(KeyCode::Char('/'))], 1, true),
        // Each character filters the tree as it is typed.
        ("typing the filter (matched as typed)", typed("site-packages"), 1, true),
        ("Enter (close the filter prompt)", vec![key(KeyCode::Enter)], 1, true),
        ("Down (filtered)", vec![key(KeyCode::Down)], 50, true),
        (
            "U (unmodified off, on; filtered)",
            vec![key(KeyCode::Char('U'))],
            2,
            true,
        ),
        ("Esc (clear the filter)", vec![key(KeyCode::Esc)], 1, true),
        ("/ (open the filter)", vec![key(KeyCode::Char('/'))], 1, true),
        ("typing a second filter, not waiting", typed(r"\.so$"), 1, false),
        ("Enter (apply the second filter)", vec![key(KeyCode::Enter)], 1, true),
        ("Esc (clear the filter)", vec![key(KeyCode::Esc)], 1, true),
        ("Shift+Tab (to the layers)", vec![key(KeyCode::BackTab)], 1, true),
        ("Up (lower layers, views prefetched)", vec![key(KeyCode::Up)], 4, true),
        ("Down (back up)", vec![key(KeyCode::Down)], 4, true),
        ("Ctrl+L (changes of this layer: a new view)", vec![ctrl('l')], 1, false),
        // Keys answered on the layout drawn while the worker computes the next one.
        ("Tab while a view is computed", vec![key(KeyCode::Tab)], 1, false),
        (
            "U while a view is computed (off, then on)",
            vec![key(KeyCode::Char('U'))],
            2,
            true,
        ),
        ("Shift+Tab (to the layers)", vec![key(KeyCode::BackTab)], 1, true),
        ("Up (new views of lower layers)", vec![key(KeyCode::Up)], 4, true),
        ("Down (back up: kept views)", vec![key(KeyCode::Down)], 4, true),
        ("Ctrl+A (everything up to it: kept view)", vec![ctrl('a')], 1, true),
    ];
    for (name, keys, times, wait) in script {
        for key in keys {
            press(&mut app, name, key, times, wait);
        }
    }

    println!("entries\t{entries}\t{}", app.browse().map_or(0, |b| b.data.tree.len()));
    println!("setup\ttree build\t{:.1}", tree_build.as_secs_f64() * 1000.0);
    println!(
        "setup\tanalysis, tree build, prefetched layer views\t{:.1}",
        analysis.as_secs_f64() * 1000.0
    );
    println!("setup\tfirst view\t{:.1}", open.as_secs_f64() * 1000.0);
    for timing in timings {
        let presses = timing.key.len();
        let (Some(key_median), Some(key_max)) = median_max(timing.key) else {
            continue;
        };
        let (_, answer_max) = median_max(timing.answer);
        let (result_median, _) = median_max(timing.result);
        println!(
            "key\t{}\t{}\t{key_median:.2}\t{key_max:.2}\t{}\t{}",
            timing.name,
            presses,
            answer_max.map_or("-".into(), |m| format!("{m:.2}")),
            result_median.map_or("-".into(), |m| format!("{m:.2}")),
        );
    }
}

/// The samples of one key: the frame after the key, the frames that showed the worker's
/// answers, and the time from the key to the last of those.
struct Timing {
    name: String,
    key: Vec<f64>,
    answer: Vec<f64>,
    result: Vec<f64>,
}

impl Timing {
    fn new(name: &str) -> Timing {
        Timing {
            name: name.to_owned(),
            key: Vec::new(),
            answer: Vec::new(),
            result: Vec::new(),
        }
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The median and the maximum, as text-ready figures (`None` for no samples).
fn median_max(mut samples: Vec<f64>) -> (Option<f64>, Option<f64>) {
    samples.sort_by(f64::total_cmp);
    (samples.get(samples.len() / 2).copied(), samples.last().copied())
}

fn entry(path: String, kind: EntryKind, size: u64) -> Entry {
    Entry::plain(&path, kind, size)
}

fn index(entries: Vec<Entry>) -> LayerIndex {
    let tar_bytes = entries.iter().map(|e| 512 + e.size.div_ceil(512) * 512).sum();
    LayerIndex {
        tar_bytes,
        ..LayerIndex::of_entries(entries)
    }
}

/// About `target` entries over `count` layers: half a base of system files, a quarter
/// site-packages, an app, then overwrites and deletions of base files.
fn generate(target: usize, count: usize) -> Vec<LayerIndex> {
    let size = |i: usize| ((i * 7919) % 200_000) as u64 + 100;
    let mut layers: Vec<Vec<Entry>> = vec![Vec::new(); count.max(1)];
    let shares = [50, 25, 15, 6, 4];
    for (l, layer) in layers.iter_mut().enumerate() {
        let share = shares.get(l).copied().unwrap_or(1);
        let wanted = target * share / 100;
        let mut i = 0;
        while layer.len() < wanted {
            let (dir, file) = match l {
                0 => (
                    format!("usr/lib/pkg{:03}/sub{:02}", i / 2000, (i / 100) % 20),
                    format!("file{i}.so"),
                ),
                1 => (
                    format!(
                        "usr/local/lib/python3.11/site-packages/dist{:03}/mod{:02}",
                        i / 1500,
                        (i / 100) % 15
                    ),
                    format!("m{i}.py"),
                ),
                2 => (
                    format!("app/src/part{:03}/unit{:02}", i / 1000, (i / 100) % 10),
                    format!("f{i}.txt"),
                ),
                // Overwrites files of the base layer.
                3 => (
                    format!("usr/lib/pkg{:03}/sub{:02}", i / 2000, (i / 100) % 20),
                    format!("file{i}.so"),
                ),
                _ => (format!("var/log/run{:03}", i / 1000), format!("log{i}.log")),
            };
            if i % 100 == 0 {
                layer.push(entry(dir.clone(), EntryKind::Dir, 0));
            }
            layer.push(entry(format!("{dir}/{file}"), EntryKind::File, size(i + l)));
            i += 1;
        }
        if l == count - 1 {
            // The last layer deletes a tenth of the base's packages.
            for p in (0..250).step_by(10) {
                layer.push(entry(format!("usr/lib/pkg{p:03}"), EntryKind::Whiteout, 0));
            }
        }
    }
    layers.into_iter().map(index).collect()
}
