//! Keys and mouse to actions: a pure function of the event and where the user is.
//! dive's bindings wherever the same action exists; [`HELP`] lists them all and is
//! what the help overlay shows.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

/// Something the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextPane,
    PreviousPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Collapse the selected directory, or go to its parent (h, Left).
    Left,
    /// Expand the selected directory (l, Right).
    Right,
    /// Enter: open a finding, toggle a directory.
    Select,
    ToggleCollapse,
    ToggleCollapseAll,
    ShowLayerChanges,
    ShowAggregated,
    ToggleAdded,
    ToggleRemoved,
    ToggleModified,
    ToggleUnmodified,
    /// Ctrl+B: permissions and owner beside each file, as dive's.
    ToggleAttributes,
    /// `y`: the selected path to the clipboard (OSC 52).
    CopyPath,
    /// Ctrl+E: write the selected path to disk, as the layer shows it (dive's key).
    Extract,
    ToggleSort,
    StartFilter,
    ToggleHelp,
    TogglePackages,
    ToggleBaseLayers,
    /// Esc: close the overlay or view on top, or clear the filter.
    Back,
    Type(char),
    Erase,
    Submit,
    /// Mouse wheel over the screen cell (column, row).
    Scroll {
        column: u16,
        row: u16,
        down: bool,
    },
    /// Left click on a cell: focus the pane there.
    Click {
        column: u16,
        row: u16,
    },
}

/// The panes of the main screen, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Tree,
    Findings,
}

/// Where the user is, as far as keys care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyContext {
    pub focus: Pane,
    /// A text prompt (a filter) takes the keys.
    pub typing: bool,
}

pub fn action_for_key(key: KeyEvent, context: KeyContext) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if context.typing {
        return match key.code {
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Backspace => Some(Action::Erase),
            KeyCode::Char(c) if !ctrl => Some(Action::Type(c)),
            _ => None,
        };
    }
    let tree = context.focus == Pane::Tree;
    let action = match (key.code, ctrl) {
        (KeyCode::Char('q'), false) => Action::Quit,
        (KeyCode::Tab, _) => Action::NextPane,
        (KeyCode::BackTab, _) => Action::PreviousPane,
        (KeyCode::Up | KeyCode::Char('k'), false) => Action::Up,
        (KeyCode::Down | KeyCode::Char('j'), false) => Action::Down,
        (KeyCode::PageUp, _) => Action::PageUp,
        (KeyCode::PageDown, _) => Action::PageDown,
        (KeyCode::Home | KeyCode::Char('g'), false) => Action::Top,
        (KeyCode::End | KeyCode::Char('G'), false) => Action::Bottom,
        (KeyCode::Left | KeyCode::Char('h'), false) => Action::Left,
        (KeyCode::Right | KeyCode::Char('l'), false) => Action::Right,
        (KeyCode::Enter, _) => Action::Select,
        (KeyCode::Char(' '), true) => Action::ToggleCollapseAll,
        (KeyCode::Char(' '), false) => Action::ToggleCollapse,
        (KeyCode::Char('f'), true) | (KeyCode::Char('/'), false) => Action::StartFilter,
        (KeyCode::Char('o'), true) => Action::ToggleSort,
        // Ctrl+A means "aggregated" in the layers pane and "added" in the tree, as in dive.
        (KeyCode::Char('a'), true) if tree => Action::ToggleAdded,
        (KeyCode::Char('a'), true) => Action::ShowAggregated,
        (KeyCode::Char('l'), true) => Action::ShowLayerChanges,
        (KeyCode::Char('r'), true) => Action::ToggleRemoved,
        (KeyCode::Char('m'), true) => Action::ToggleModified,
        (KeyCode::Char('u'), true) => Action::ToggleUnmodified,
        (KeyCode::Char('b'), true) => Action::ToggleAttributes,
        (KeyCode::Char('e'), true) => Action::Extract,
        // Terminals send Ctrl+M as Enter: capitals are the portable toggles.
        (KeyCode::Char('A'), false) => Action::ToggleAdded,
        (KeyCode::Char('R'), false) => Action::ToggleRemoved,
        (KeyCode::Char('M'), false) => Action::ToggleModified,
        (KeyCode::Char('U'), false) => Action::ToggleUnmodified,
        (KeyCode::Char('?'), false) | (KeyCode::F(1), _) => Action::ToggleHelp,
        (KeyCode::Char('p'), false) => Action::TogglePackages,
        (KeyCode::Char('b'), false) => Action::ToggleBaseLayers,
        (KeyCode::Char('y'), false) if tree => Action::CopyPath,
        (KeyCode::Esc, _) => Action::Back,
        _ => return None,
    };
    Some(action)
}

pub fn action_for_mouse(mouse: MouseEvent) -> Option<Action> {
    let (column, row) = (mouse.column, mouse.row);
    match mouse.kind {
        MouseEventKind::ScrollDown => Some(Action::Scroll {
            column,
            row,
            down: true,
        }),
        MouseEventKind::ScrollUp => Some(Action::Scroll {
            column,
            row,
            down: false,
        }),
        MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left) => Some(Action::Click { column, row }),
        _ => None,
    }
}

/// Every binding, as the help overlay lists them: (keys, what they do).
pub const HELP: &[(&str, &str)] = &[
    ("Tab / Shift+Tab", "next / previous pane (layers, files, findings)"),
    ("↑↓ or k j", "move the selection"),
    ("PgUp PgDn, Home End", "move by a page, to the top or bottom"),
    ("← → or h l", "collapse / expand a directory (← goes up)"),
    ("Space / Enter", "collapse or expand the directory"),
    ("Ctrl+Space", "collapse or expand every directory"),
    ("Ctrl+L", "files: changes of the selected layer only"),
    ("Ctrl+A (layers pane)", "files: everything up to the selected layer"),
    ("Ctrl+A or A (files)", "show / hide added files"),
    ("Ctrl+R or R", "show / hide removed files"),
    ("Ctrl+M or M", "show / hide modified files"),
    ("Ctrl+U or U", "show / hide unmodified files"),
    ("Ctrl+O", "sort files by size / by name"),
    ("Ctrl+B", "show / hide permissions and owner"),
    ("Ctrl+F or /", "filter paths by a regex as you type (Esc clears)"),
    (
        "Enter (findings)",
        "jump to the finding's layer and path (again: next path)",
    ),
    ("b", "hide / show the base image's layers"),
    ("y (files)", "copy the selected path to the clipboard (OSC 52)"),
    ("Ctrl+E (files)", "extract the selection to disk, as the layer has it"),
    ("p", "packages view (pip, dpkg, apk by size; / filters)"),
    ("mouse wheel", "scroll the pane under the pointer"),
    ("(findings) E W I", "severity: error, warning, info"),
    ("(layers) B r… w…", "base layer; redundant bytes; removable by fixes"),
    ("?", "this help"),
    ("Esc", "close help or packages, clear the filter"),
    ("q or Ctrl+C", "quit"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers, focus: Pane, typing: bool) -> Option<Action> {
        action_for_key(KeyEvent::new(code, modifiers), KeyContext { focus, typing })
    }

    #[test]
    fn ctrl_a_depends_on_the_pane_as_in_dive() {
        let ctrl = KeyModifiers::CONTROL;
        assert_eq!(
            key(KeyCode::Char('a'), ctrl, Pane::Layers, false),
            Some(Action::ShowAggregated)
        );
        assert_eq!(
            key(KeyCode::Char('a'), ctrl, Pane::Tree, false),
            Some(Action::ToggleAdded)
        );
        assert_eq!(
            key(KeyCode::Char('l'), ctrl, Pane::Tree, false),
            Some(Action::ShowLayerChanges)
        );
    }

    #[test]
    fn a_prompt_takes_letters_but_not_ctrl_c() {
        let none = KeyModifiers::NONE;
        assert_eq!(key(KeyCode::Char('q'), none, Pane::Tree, true), Some(Action::Type('q')));
        assert_eq!(key(KeyCode::Char('q'), none, Pane::Tree, false), Some(Action::Quit));
        assert_eq!(
            key(KeyCode::Char('c'), KeyModifiers::CONTROL, Pane::Tree, true),
            Some(Action::Quit)
        );
    }

    #[test]
    fn ctrl_space_collapses_all_and_space_one() {
        assert_eq!(
            key(KeyCode::Char(' '), KeyModifiers::CONTROL, Pane::Tree, false),
            Some(Action::ToggleCollapseAll)
        );
        assert_eq!(
            key(KeyCode::Char(' '), KeyModifiers::NONE, Pane::Tree, false),
            Some(Action::ToggleCollapse)
        );
    }
}
