//! Where the inspect view's config files are: dive's first (`~/.dive.yaml`, then
//! `$XDG_CONFIG_HOME/dive/*.yaml`), then imgprof's own (`$XDG_CONFIG_HOME/imgprof/config.yaml`),
//! later files winning key by key. `$XDG_CONFIG_HOME` defaults to `~/.config`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use imgprof_tui::config::ViewConfig;

/// The config files that exist, in the order they apply.
pub fn files() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut files = Vec::new();
    if let Some(home) = &home {
        files.push(home.join(".dive.yaml"));
    }
    if let Some(config_home) = &config_home {
        let mut dive: Vec<PathBuf> = std::fs::read_dir(config_home.join("dive"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        dive.sort();
        files.extend(dive);
        files.push(config_home.join("imgprof/config.yaml"));
    }
    files.retain(|p| p.is_file());
    files
}

/// The settings of every config file, merged; warnings go to stderr before the view opens.
pub fn load() -> Result<ViewConfig> {
    let mut config = ViewConfig::default();
    for path in files() {
        config = config.merge(read(&path)?);
    }
    for warning in &config.warnings {
        eprintln!("imgprof: warning: {warning}");
    }
    Ok(config)
}

fn read(path: &Path) -> Result<ViewConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
    ViewConfig::parse(&text, &path.display().to_string())
        .context("a config file of the inspect view cannot be used (fix it, or move it away)")
}
