//! Where each pane goes on a screen of a given size. Drawing uses it to place panes;
//! the state uses it for page sizes and to find the pane under the mouse.

use ratatui::layout::{Constraint, Layout, Rect};

/// The main screen's panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub layers: Rect,
    pub findings: Rect,
    pub image: Rect,
    pub tree: Rect,
    /// What is selected in the focused pane, in full (a layer, a file, a finding's fix).
    pub selection: Rect,
    pub status: Rect,
}

/// Lines of the image details pane, borders included.
const IMAGE_HEIGHT: u16 = 10;

/// The files column's share of the width unless dive's `filetree.pane-width` says.
pub const TREE_PERCENT: u16 = 55;

/// `tree_percent`: the files column's share of the width, in percent.
pub fn main_areas(area: Rect, layer_rows: usize, tree_percent: u16) -> Areas {
    let [main, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let tree_percent = tree_percent.clamp(1, 99);
    let [left, right] = Layout::horizontal([
        Constraint::Percentage(100 - tree_percent),
        Constraint::Percentage(tree_percent),
    ])
    .areas(main);
    // Borders and the column header around the layer rows, at most 40% of the height.
    let wanted = (layer_rows as u16).saturating_add(3);
    let layers_height = wanted.min(main.height.saturating_mul(2) / 5).max(4);
    let [layers, findings, image] = Layout::vertical([
        Constraint::Length(layers_height),
        Constraint::Fill(1),
        Constraint::Length(IMAGE_HEIGHT),
    ])
    .areas(left);
    let [tree, selection] = Layout::vertical([Constraint::Fill(1), Constraint::Percentage(33)]).areas(right);
    Areas {
        layers,
        findings,
        image,
        tree,
        selection,
        status,
    }
}

/// The packages screen: the list and the selected package's details.
pub fn packages_areas(area: Rect) -> (Rect, Rect, Rect) {
    let [main, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let [list, details] = Layout::vertical([Constraint::Fill(1), Constraint::Length(6)]).areas(main);
    (list, details, status)
}

/// Rows of list content inside a bordered pane with a one-line header.
pub fn list_rows(area: Rect, header: bool) -> usize {
    usize::from(area.height.saturating_sub(2 + u16::from(header)))
}

/// Whether the cell (column, row) lies in `area`.
pub fn contains(area: Rect, column: u16, row: u16) -> bool {
    column >= area.x && column < area.x + area.width && row >= area.y && row < area.y + area.height
}
