//! The side-by-side compare view: the sample image against the reference fixture, drawn
//! into a `TestBackend` and kept as insta snapshots, driven through the real key map.

use crate::common;
use imgprof_report::compare::{CompareOptions, Comparison, FinalFiles, compare};
use imgprof_tui::compare::{CompareView, Section, action_for_event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

fn analysed(path: &str) -> (imgprof_report::Report, FinalFiles) {
    let options = imgprof_report::AnalysisOptions {
        keep_final_files: true,
        ..Default::default()
    };
    let analysis = common::indexed(path, |image, layers| imgprof_report::analyse(image, layers, &options)).1;
    (analysis.report, analysis.final_files.unwrap_or_default())
}

fn comparison() -> Comparison {
    let (a, files_a) = analysed("sample/sample-app.tar");
    let (b, files_b) = analysed("fixtures/layers-gzip.oci");
    let mut c = compare(&a, &files_a, &b, &files_b, CompareOptions { top: 20 });
    // Where the checkout lives is not part of the frame.
    c.a.location = "testdata/sample/sample-app.tar".into();
    c.b.location = "testdata/fixtures/layers-gzip.oci".into();
    c
}

fn screen(view: &mut CompareView, width: u16, height: u16) -> String {
    view.resize(height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| imgprof_tui::compare::draw(frame, view))
        .expect("the view draws");
    common::text_of(terminal.backend().buffer())
}

fn press(view: &mut CompareView, code: KeyCode) {
    let event = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    if let Some(action) = action_for_event(&event) {
        view.apply(action);
    }
}

#[test]
fn layers_side_by_side() {
    let mut view = CompareView::new(comparison(), false);
    let text = screen(&mut view, 120, 32);
    assert!(text.contains("only A") || text.contains("changed"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn sections_by_tab_and_scrolling() {
    let c = comparison();
    let categories = c.categories.len();
    let mut view = CompareView::new(c, false);
    press(&mut view, KeyCode::Tab);
    assert_eq!(view.section, Section::Categories);
    insta::assert_snapshot!("categories", screen(&mut view, 100, 30));
    press(&mut view, KeyCode::Down);
    assert_eq!(
        view.first_row(),
        1.min(categories.saturating_sub(15)),
        "scrolls only while rows are hidden"
    );
    press(&mut view, KeyCode::Tab);
    press(&mut view, KeyCode::Tab);
    assert_eq!(view.section, Section::Files);
    insta::assert_snapshot!("files", screen(&mut view, 100, 30));
    press(&mut view, KeyCode::BackTab);
    assert_eq!(view.section, Section::Packages);
    press(&mut view, KeyCode::Char('q'));
    assert!(view.quit);
}

#[test]
fn fits_80x24() {
    let mut view = CompareView::new(comparison(), false);
    let text = screen(&mut view, 80, 24);
    assert!(text.lines().all(|l| l.chars().count() <= 80));
    assert!(text.contains("q quit"), "the key line stays visible: {text}");
    insta::assert_snapshot!(text);
}

/// A list cut by the screen says where the page is and how many rows are below it; `?`
/// lists every key, and any key closes the help without quitting.
#[test]
fn cut_lists_say_what_is_below_and_help_lists_the_keys() {
    let mut view = CompareView::new(comparison(), false);
    // Small enough that the files section does not fit.
    press(&mut view, KeyCode::Tab);
    press(&mut view, KeyCode::Tab);
    press(&mut view, KeyCode::Tab);
    assert_eq!(view.section, Section::Files);
    let rows = view.comparison.files.lines.len();
    let text = screen(&mut view, 100, 24);
    let shown = text.lines().skip(13).filter(|l| l.starts_with('│')).count();
    assert!(
        rows > shown,
        "the fixture's file list ({rows}) is longer than a page ({shown})"
    );
    let expected = format!("Files: 1-{shown} of {rows}, {} more below", rows - shown);
    assert!(text.contains(&expected), "{expected:?} in\n{text}");

    press(&mut view, KeyCode::Char('?'));
    let help = screen(&mut view, 100, 24);
    for (keys, what) in imgprof_tui::compare::COMPARE_HELP {
        assert!(help.contains(keys) && help.contains(what), "{keys}: {what} in\n{help}");
    }
    press(&mut view, KeyCode::Esc);
    assert!(!view.quit && !view.help, "Esc closes the help, it does not quit");
    press(&mut view, KeyCode::Char('q'));
    assert!(view.quit);
}
