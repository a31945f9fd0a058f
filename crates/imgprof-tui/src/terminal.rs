//! The terminal side: raw mode and the alternate screen, restored on every way out
//! (return, error, panic), and the loop that turns terminal events and feed events into
//! state changes and frames.

use std::io::{self, Stdout};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};

use crate::keys::action_for_mouse;
use crate::model::Feed;
use crate::state::{App, Request};
use crate::{TuiError, draw};

/// How often the loop looks at the feed while no key comes.
const FEED_POLL: Duration = Duration::from_millis(50);
/// How often it looks while the tree waits on its worker: an answer shows within this.
const WORKER_POLL: Duration = Duration::from_millis(2);

/// Runs the view until the user quits. `feed` brings layer progress and, once the
/// analysis is done, the data, then the answers to what the view asks through
/// `requests` (extracting a path). Returns the app as it ended (its `failure`, if any).
pub fn run(mut app: App, feed: Receiver<Feed>, requests: Sender<Request>) -> Result<App, TuiError> {
    let mut terminal = enter()?;
    let guard = Restore;
    let result = event_loop(&mut terminal, &mut app, feed, &requests);
    drop(guard);
    result.map(|()| app)
}

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    feed: Receiver<Feed>,
    requests: &Sender<Request>,
) -> Result<(), TuiError> {
    let size = terminal.size()?;
    app.resize(size.width, size.height);
    let mut feed = Some(feed);
    let mut dirty = true;
    while !app.quit {
        if let Some(receiver) = &feed {
            loop {
                match receiver.try_recv() {
                    Ok(event) => {
                        app.feed(event);
                        dirty = true;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        feed = None;
                        break;
                    }
                }
            }
        }
        dirty |= app.receive();
        if dirty {
            terminal.draw(|frame| draw::draw(frame, app))?;
            dirty = false;
        }
        let poll = if app.pending() { WORKER_POLL } else { FEED_POLL };
        if !event::poll(poll)? {
            continue;
        }
        // Every event already waiting is applied before the next frame.
        loop {
            dirty |= handle(app, event::read()?);
            if !event::poll(Duration::ZERO)? {
                break;
            }
        }
        app.settle();
        if let Some(text) = app.clipboard.take() {
            copy_to_clipboard(&text)?;
        }
        if let Some(request) = app.request.take()
            && requests.send(request).is_err()
        {
            app.message = Some("the image is no longer open: nothing can be extracted".to_owned());
        }
    }
    Ok(())
}

/// OSC 52: terminals that take it (xterm, kitty, iTerm2, tmux with `set-clipboard`) put
/// `text` on the system clipboard; others ignore it.
fn copy_to_clipboard(text: &str) -> io::Result<()> {
    use base64::Engine as _;
    use std::io::Write as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = io::stdout();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

/// Applies one terminal event; true when the screen must be drawn again.
fn handle(app: &mut App, event: Event) -> bool {
    let action = match event {
        Event::Key(key) => app.action_for_key(key),
        Event::Mouse(mouse) => action_for_mouse(mouse),
        Event::Resize(width, height) => {
            app.resize(width, height);
            return true;
        }
        _ => None,
    };
    match action {
        Some(action) => {
            app.apply_deferred(action);
            true
        }
        None => false,
    }
}

pub(crate) fn enter() -> Result<Terminal<CrosstermBackend<Stdout>>, TuiError> {
    install_panic_hook();
    enable_raw_mode()?;
    // From here on the terminal is restored however this ends.
    let guard = Restore;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    std::mem::forget(guard);
    Ok(terminal)
}

/// Leaves raw mode and the alternate screen when dropped.
pub(crate) struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

fn restore() {
    // Best effort: there is nothing better to do with an error while restoring.
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen);
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), ratatui::crossterm::cursor::Show);
}

/// A panic restores the terminal before the message is printed, so it is readable.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
