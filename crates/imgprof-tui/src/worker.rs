//! The thread that lays out the tree pane: a layer's [`LayerView`], a filter's matches,
//! which nodes show and the rows. Each is a pass over every node, tens of milliseconds
//! on a million, so the pane asks for a layout here and keeps answering keys on the one
//! it draws until the new one comes back.
//!
//! A request ([`Wanted`]) says everything the rows depend on, so only the latest one
//! waits: holding ↑ over the layers, or typing a filter, lays out what is wanted when
//! the worker gets to it, not one layout per key.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::filter::PathFilter;
use crate::tree::{FileTree, LayerView, Rows, SortOrder, StatusToggles, TreeMode, shown_nodes};

/// A view the pane has, or one to compute.
pub enum ViewSource {
    Ready(Arc<LayerView>),
    Compute(u32, TreeMode),
}

/// A filter, with its matches if the pane has them.
pub struct FilterSource {
    pub filter: Arc<PathFilter>,
    pub matches: Option<Arc<Vec<bool>>>,
}

/// Everything the tree pane's rows depend on.
pub struct Wanted {
    /// Which request this is: answers to older ones are not drawn.
    pub generation: u64,
    pub view: ViewSource,
    pub filter: Option<FilterSource>,
    pub toggles: StatusToggles,
    pub sort: SortOrder,
    pub collapsed: Vec<bool>,
}

/// A layout: the view and filter it used, which nodes show, and the rows.
pub struct Layout {
    pub generation: u64,
    pub view: Arc<LayerView>,
    pub filter: Option<(Arc<PathFilter>, Arc<Vec<bool>>)>,
    pub shown: Vec<bool>,
    pub rows: Rows,
}

/// What the worker computed last: a request sent while it was being computed asks for
/// it again (the pane had no answer yet to bring), and gets it without a second pass.
#[derive(Default)]
pub struct Recent {
    view: Option<Arc<LayerView>>,
    matches: Option<(Arc<PathFilter>, Arc<Vec<bool>>)>,
}

/// Lays out `wanted`, computing what neither it nor `recent` brings.
pub fn lay_out(tree: &FileTree, wanted: Wanted, recent: &mut Recent) -> Layout {
    let view = match wanted.view {
        ViewSource::Ready(view) => view,
        ViewSource::Compute(layer, mode) => match &recent.view {
            Some(view) if (view.layer, view.mode) == (layer, mode) => view.clone(),
            _ => Arc::new(LayerView::compute(tree, layer, mode)),
        },
    };
    recent.view = Some(view.clone());
    let filter = wanted.filter.map(|source| {
        let matches = match (source.matches, &recent.matches) {
            (Some(matches), _) => matches,
            (None, Some((filter, matches))) if filter.as_str() == source.filter.as_str() => matches.clone(),
            (None, _) => Arc::new(source.filter.matches(tree)),
        };
        (source.filter, matches)
    });
    if let Some(matched) = &filter {
        recent.matches = Some(matched.clone());
    }
    let matches = filter.as_ref().map(|(_, m)| m.as_slice());
    let shown = shown_nodes(tree, &view, wanted.toggles, matches);
    let rows = Rows::build(tree, &view, &shown, &wanted.collapsed, wanted.sort);
    Layout {
        generation: wanted.generation,
        view,
        filter,
        shown,
        rows,
    }
}

#[derive(Default)]
struct Slot {
    wanted: Option<Wanted>,
    stop: bool,
}

type Shared = Arc<(Mutex<Slot>, Condvar)>;

pub struct LayoutWorker {
    tree: Arc<FileTree>,
    slot: Shared,
    done: Receiver<Layout>,
    /// Kept for laying out in place when the thread could not start.
    sender: Sender<Layout>,
    thread: Option<JoinHandle<()>>,
}

impl LayoutWorker {
    pub fn start(tree: Arc<FileTree>) -> LayoutWorker {
        let slot: Shared = Arc::default();
        let (sender, done) = mpsc::channel();
        let thread = {
            let (tree, slot, sender) = (tree.clone(), slot.clone(), sender.clone());
            std::thread::Builder::new()
                .name("imgprof-tree".into())
                .spawn(move || serve(&tree, &slot, &sender))
                .ok()
        };
        LayoutWorker {
            tree,
            slot,
            done,
            sender,
            thread,
        }
    }

    /// Asks for a layout, replacing one asked for and not yet begun.
    pub fn want(&self, wanted: Wanted) {
        if self.thread.is_none() {
            let _ = self.sender.send(lay_out(&self.tree, wanted, &mut Recent::default()));
            return;
        }
        self.update(|slot| slot.wanted = Some(wanted));
    }

    /// Whether the thread stopped (it can only by panicking) or never started and laid
    /// out in place: either way, nothing more is coming that is not already waiting.
    pub fn stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// A finished layout, if one is waiting.
    pub fn try_done(&self) -> Option<Layout> {
        self.done.try_recv().ok()
    }

    /// The next finished layout, waiting for it; `None` if the thread is gone (it
    /// panicked) with nothing left to give.
    pub fn wait_done(&self) -> Option<Layout> {
        loop {
            match self.done.recv_timeout(Duration::from_millis(50)) {
                Ok(done) => return Some(done),
                Err(RecvTimeoutError::Timeout) if !self.stopped() => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return self.try_done(),
            }
        }
    }

    fn update(&self, change: impl FnOnce(&mut Slot)) {
        let (lock, signal) = &*self.slot;
        change(&mut lock.lock().unwrap_or_else(PoisonError::into_inner));
        signal.notify_one();
    }
}

impl Drop for LayoutWorker {
    fn drop(&mut self) {
        self.update(|slot| slot.stop = true);
        if let Some(thread) = self.thread.take() {
            // A layout under way finishes first: a few passes over the tree at most.
            let _ = thread.join();
        }
    }
}

fn serve(tree: &FileTree, slot: &Shared, sender: &Sender<Layout>) {
    let (lock, signal) = &**slot;
    let mut recent = Recent::default();
    loop {
        let wanted = {
            let mut slot = lock.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if slot.stop {
                    return;
                }
                if let Some(wanted) = slot.wanted.take() {
                    break wanted;
                }
                slot = signal.wait(slot).unwrap_or_else(PoisonError::into_inner);
            }
        };
        if sender.send(lay_out(tree, wanted, &mut recent)).is_err() {
            return;
        }
    }
}
