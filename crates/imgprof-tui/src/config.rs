//! The view's settings from dive's config file (`~/.dive.yaml`,
//! `$XDG_CONFIG_HOME/dive/*.yaml`) and imgprof's own beside it, with the same keys:
//! `keybinding.*`, `diff.hide`, `filetree.collapse-dir`, `filetree.pane-width`,
//! `filetree.show-attributes` and `layer.show-aggregated-changes`. Parsed here from text;
//! the binary finds the files.
//!
//! A key imgprof does not read (dive's other settings) is ignored with a warning; a value of the wrong kind or a key spec that names no key is an error
//! naming the file and the line.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::keys::Action;
use crate::tree::StatusToggles;

/// One key a config file binds.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
    pub action: Action,
    /// As the file writes them, for the help overlay: `ctrl+t`, `toggle-filetree-attributes`.
    pub spec: String,
    pub name: &'static str,
}

/// What a config file says. Later files win, key by key ([`ViewConfig::merge`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewConfig {
    /// Keys bound by the file, each replacing the default keys of its action.
    pub bindings: Vec<Binding>,
    /// `diff.hide`: the statuses the tree starts without.
    pub hide: Option<StatusToggles>,
    pub collapse_dir: Option<bool>,
    pub show_attributes: Option<bool>,
    /// `filetree.pane-width` (dive: a fraction between 0 and 1) as a percentage of the
    /// width for the files column.
    pub pane_width: Option<u16>,
    /// `layer.show-aggregated-changes`: the tree starts aggregated (else this layer's
    /// changes only).
    pub aggregated: Option<bool>,
    /// `path:line: ...` for what was read differently from dive, or not at all.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: not YAML: {reason}")]
    Yaml { path: String, reason: String },
    #[error("{path}:{line}: {what}")]
    Value { path: String, line: usize, what: String },
}

/// dive's action names and the actions they stand for.
const ACTIONS: &[(&str, Action)] = &[
    ("quit", Action::Quit),
    ("toggle-view", Action::NextPane),
    ("filter-files", Action::StartFilter),
    ("compare-all", Action::ShowAggregated),
    ("compare-layer", Action::ShowLayerChanges),
    ("toggle-collapse-dir", Action::ToggleCollapse),
    ("toggle-collapse-all-dir", Action::ToggleCollapseAll),
    ("toggle-added-files", Action::ToggleAdded),
    ("toggle-removed-files", Action::ToggleRemoved),
    ("toggle-modified-files", Action::ToggleModified),
    ("toggle-unmodified-files", Action::ToggleUnmodified),
    ("toggle-filetree-attributes", Action::ToggleAttributes),
    ("toggle-sort-order", Action::ToggleSort),
    ("extract-file", Action::Extract),
    ("page-up", Action::PageUp),
    ("page-down", Action::PageDown),
];

impl ViewConfig {
    /// Reads one file's text; `path` names it in messages.
    pub fn parse(text: &str, path: &str) -> Result<ViewConfig, ConfigError> {
        let docs = MarkedYaml::load_from_str(text).map_err(|e| ConfigError::Yaml {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut config = ViewConfig::default();
        let Some(root) = docs.first() else {
            return Ok(config);
        };
        let fail = |node: &MarkedYaml<'_>, what: String| ConfigError::Value {
            path: path.to_owned(),
            line: node.span.start.line(),
            what,
        };
        for (section, key, node) in entries(root) {
            let line = node.span.start.line();
            match (section.as_str(), key.as_str()) {
                ("keybinding", name) => {
                    let Some(&(action_name, action)) = ACTIONS.iter().find(|(n, _)| *n == name) else {
                        config.warnings.push(format!(
                            "{path}:{line}: keybinding.{name}: imgprof has no such action, ignored"
                        ));
                        continue;
                    };
                    let spec = text_of(node)
                        .ok_or_else(|| fail(node, format!("keybinding.{name}: a key spec such as ctrl+f")))?;
                    for one in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let (code, modifiers) = key_spec(one)
                            .ok_or_else(|| fail(node, format!("keybinding.{name}: {one:?} names no key")))?;
                        config.bindings.push(Binding {
                            code,
                            modifiers,
                            action,
                            spec: one.to_owned(),
                            name: action_name,
                        });
                    }
                }
                ("diff", "hide") => {
                    let mut shown = StatusToggles::default();
                    for item in list_of(node)
                        .ok_or_else(|| fail(node, "diff.hide: a list of added, removed, modified, unmodified".into()))?
                    {
                        match item.as_str() {
                            "added" => shown.added = false,
                            "removed" => shown.removed = false,
                            "modified" => shown.modified = false,
                            "unmodified" => shown.unmodified = false,
                            other => {
                                return Err(fail(
                                    node,
                                    format!("diff.hide: {other:?} is not added, removed, modified or unmodified"),
                                ));
                            }
                        }
                    }
                    config.hide = Some(shown);
                }
                ("filetree", "collapse-dir") => {
                    config.collapse_dir =
                        Some(flag(node).ok_or_else(|| fail(node, "filetree.collapse-dir: true or false".into()))?)
                }
                ("filetree", "show-attributes") => {
                    config.show_attributes =
                        Some(flag(node).ok_or_else(|| fail(node, "filetree.show-attributes: true or false".into()))?)
                }
                ("filetree", "pane-width") => match fraction(node).filter(|f| *f > 0.0 && *f < 1.0) {
                    Some(f) => config.pane_width = Some(((f * 100.0).round() as u16).clamp(1, 99)),
                    // dive warns and keeps its default for a width out of range.
                    None => config.warnings.push(format!(
                        "{path}:{line}: filetree.pane-width: must be a fraction between 0 and 1 (such as 0.5), ignored"
                    )),
                },
                ("layer", "show-aggregated-changes") => {
                    config.aggregated = Some(
                        flag(node).ok_or_else(|| fail(node, "layer.show-aggregated-changes: true or false".into()))?,
                    )
                }
                (section, key) => config
                    .warnings
                    .push(format!("{path}:{line}: {section}.{key}: not read by imgprof, ignored")),
            }
        }
        Ok(config)
    }

    /// `later` over `self`: its settings win, its bindings replace those of the same
    /// actions.
    pub fn merge(mut self, later: ViewConfig) -> ViewConfig {
        let rebound: Vec<Action> = later.bindings.iter().map(|b| b.action).collect();
        self.bindings.retain(|b| !rebound.contains(&b.action));
        self.bindings.extend(later.bindings);
        self.hide = later.hide.or(self.hide);
        self.collapse_dir = later.collapse_dir.or(self.collapse_dir);
        self.show_attributes = later.show_attributes.or(self.show_attributes);
        self.pane_width = later.pane_width.or(self.pane_width);
        self.aggregated = later.aggregated.or(self.aggregated);
        self.warnings.extend(later.warnings);
        self
    }

    /// The action `key` is bound to by the file, if any; `Some(None)` when the file
    /// moved `default`'s action to other keys (the default key no longer does it).
    pub fn rebind(&self, key: KeyEvent, default: Option<Action>) -> Option<Option<Action>> {
        let modifiers = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if let Some(b) = self
            .bindings
            .iter()
            .find(|b| b.code == key.code && b.modifiers == modifiers)
        {
            return Some(Some(b.action));
        }
        let default = default?;
        self.bindings.iter().any(|b| b.action == default).then_some(None)
    }
}

/// `(section, key, value)` of a two-level mapping, keys lower-cased as viper does.
fn entries<'a>(root: &'a MarkedYaml<'a>) -> Vec<(String, String, &'a MarkedYaml<'a>)> {
    let mut out = Vec::new();
    let YamlData::Mapping(sections) = &root.data else {
        return out;
    };
    for (section, body) in sections {
        let Some(section) = text_of(section) else { continue };
        let YamlData::Mapping(keys) = &body.data else { continue };
        for (key, value) in keys {
            if let Some(key) = text_of(key) {
                out.push((section.to_lowercase(), key.to_lowercase(), value));
            }
        }
    }
    out
}

fn text_of<'a>(node: &'a MarkedYaml<'a>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        _ => None,
    }
}

fn flag(node: &MarkedYaml<'_>) -> Option<bool> {
    match &node.data {
        YamlData::Value(Scalar::Boolean(b)) => Some(*b),
        YamlData::Value(Scalar::String(s)) => s.parse().ok(),
        _ => None,
    }
}

fn fraction(node: &MarkedYaml<'_>) -> Option<f64> {
    match &node.data {
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.into_inner()),
        YamlData::Value(Scalar::Integer(i)) => Some(*i as f64),
        YamlData::Value(Scalar::String(s)) => s.parse().ok(),
        _ => None,
    }
}

fn list_of(node: &MarkedYaml<'_>) -> Option<Vec<String>> {
    match &node.data {
        YamlData::Sequence(items) => items.iter().map(text_of).map(|t| t.map(|t| t.to_lowercase())).collect(),
        YamlData::Value(Scalar::Null) => Some(Vec::new()),
        _ => None,
    }
}

/// dive's key specs: `ctrl+f`, `ctrl+space`, `ctrl+slash`, `tab`, `pgup`, `q`.
fn key_spec(spec: &str) -> Option<(KeyCode, KeyModifiers)> {
    let spec = spec.to_lowercase();
    let (modifiers, name) = match spec.strip_prefix("ctrl+") {
        Some(rest) => (KeyModifiers::CONTROL, rest.to_owned()),
        None => match spec.strip_prefix("alt+") {
            Some(rest) => (KeyModifiers::ALT, rest.to_owned()),
            None => (KeyModifiers::NONE, spec.clone()),
        },
    };
    let code = match name.as_str() {
        "space" => KeyCode::Char(' '),
        "slash" => KeyCode::Char('/'),
        "tab" => KeyCode::Tab,
        "enter" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "backspace" => KeyCode::Backspace,
        f if f.len() >= 2 && f.starts_with('f') => KeyCode::F(f[1..].parse().ok()?),
        one if one.chars().count() == 1 => KeyCode::Char(one.chars().next()?),
        _ => return None,
    };
    Some((code, modifiers))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIVE_SAMPLE: &str = "\
keybinding:
  quit: ctrl+c
  filter-files: ctrl+f, ctrl+slash
  toggle-filetree-attributes: ctrl+t
  toggle-wrap-tree: ctrl+p
diff:
  hide: [unmodified]
filetree:
  collapse-dir: true
  pane-width: 0.5
  show-attributes: false
layer:
  show-aggregated-changes: false
";

    #[test]
    fn dives_sample_config_is_read() {
        let c = ViewConfig::parse(DIVE_SAMPLE, ".dive.yaml").unwrap();
        let bound = |code, action| {
            c.bindings
                .iter()
                .any(|b| b.code == code && b.modifiers == KeyModifiers::CONTROL && b.action == action)
        };
        assert!(bound(KeyCode::Char('/'), Action::StartFilter));
        assert!(bound(KeyCode::Char('t'), Action::ToggleAttributes));
        assert_eq!(c.hide.map(|h| h.unmodified), Some(false));
        assert_eq!(c.hide.map(|h| h.added), Some(true));
        assert_eq!(c.collapse_dir, Some(true));
        assert_eq!(c.show_attributes, Some(false));
        assert_eq!(c.aggregated, Some(false));
        assert_eq!(c.pane_width, Some(50));
        let warned = c.warnings.join("\n");
        assert!(warned.contains(".dive.yaml:5: keybinding.toggle-wrap-tree"), "{warned}");
        assert!(!warned.contains("pane-width"), "{warned}");
        for out_of_range in ["0", "1.5", "wide"] {
            let c = ViewConfig::parse(&format!("filetree:\n  pane-width: {out_of_range}\n"), "d.yaml").unwrap();
            assert_eq!(c.pane_width, None);
            assert!(
                c.warnings
                    .join("")
                    .contains("d.yaml:2: filetree.pane-width: must be a fraction")
            );
        }
    }

    #[test]
    fn a_rebound_action_leaves_its_default_key() {
        let c = ViewConfig::parse(DIVE_SAMPLE, "x").unwrap();
        let ctrl = |ch| KeyEvent::new(KeyCode::Char(ch), KeyModifiers::CONTROL);
        assert_eq!(c.rebind(ctrl('t'), None), Some(Some(Action::ToggleAttributes)));
        assert_eq!(c.rebind(ctrl('b'), Some(Action::ToggleAttributes)), Some(None));
        assert_eq!(c.rebind(ctrl('o'), Some(Action::ToggleSort)), None);
    }

    #[test]
    fn bad_values_name_the_file_and_line() {
        for (text, needle) in [
            ("keybinding:\n  quit: ctrl+nokey\n", "x.yaml:2: keybinding.quit"),
            ("diff:\n  hide: [sideways]\n", "x.yaml:2: diff.hide"),
            ("filetree:\n  collapse-dir: maybe\n", "x.yaml:2: filetree.collapse-dir"),
            ("a: [\n", "x.yaml: not YAML"),
        ] {
            let error = ViewConfig::parse(text, "x.yaml").unwrap_err().to_string();
            assert!(error.contains(needle), "{needle:?} in {error}");
        }
    }

    #[test]
    fn a_later_file_wins_key_by_key() {
        let dive = ViewConfig::parse("keybinding:\n  quit: x\nfiletree:\n  collapse-dir: true\n", "d").unwrap();
        let ours = ViewConfig::parse("keybinding:\n  quit: ctrl+q\n", "i").unwrap();
        let merged = dive.merge(ours);
        let bound: Vec<_> = merged
            .bindings
            .iter()
            .map(|b| (b.code, b.modifiers, b.action))
            .collect();
        assert_eq!(bound, vec![(KeyCode::Char('q'), KeyModifiers::CONTROL, Action::Quit)]);
        assert_eq!(merged.collapse_dir, Some(true));
    }
}
