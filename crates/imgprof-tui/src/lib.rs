//! `imgprof inspect`: the interactive terminal view of an image.
//!
//! State, events and drawing are kept apart: [`state::App`] holds everything the view
//! knows and changes only through [`state::App::apply`] (an [`keys::Action`]) and
//! [`state::App::feed`] (progress and data from the analysis thread); [`keys`] maps key
//! and mouse events to actions, purely; [`draw::draw`] is a pure function of the state
//! onto a ratatui frame, so tests render into a `TestBackend` without a terminal.
//! [`tree`] is the file tree model that keeps a million entries responsive;
//! [`terminal::run`] owns the real terminal and always restores it.

pub mod compare;
pub mod config;
pub mod draw;
pub mod filter;
pub mod keys;
pub mod layout;
pub mod model;
pub mod state;
pub mod terminal;
pub mod tree;
pub mod tree_pane;
pub mod worker;

pub use model::{ChannelProgress, Feed, Inspected, PendingLayer};
pub use state::{App, Request};
pub use terminal::run;
pub use tree::FileTree;

/// Why the view could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("cannot use the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}
