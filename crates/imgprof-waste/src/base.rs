//! Which lower layers are the base image, and what that base is.

use imgprof_source::Digest;
use imgprof_source::history::Instruction;
use imgprof_source::spec::History;

use crate::fs::FinalFs;
use crate::identity::{BaseIdentity, identify};

#[derive(Debug, Clone)]
pub struct BaseImage {
    /// Layers `0..layers` are the base image.
    pub layers: usize,
    /// How that was decided: `history` (up to the base's closing CMD/ENTRYPOINT),
    /// `--base` (the given image's diff_ids), or `unknown`.
    pub how: &'static str,
    /// `PRETTY_NAME` from the final /etc/os-release.
    pub os: Option<String>,
    /// What the image is built on, read from its final filesystem.
    pub identity: BaseIdentity,
}

/// The base layers from `--base` diff_ids when given (the longest common prefix), else
/// from history: a base image's history ends with its CMD or ENTRYPOINT, so the layers
/// before the last such entry that is followed by another layer belong to the base.
pub fn detect(
    history: &[History],
    diff_ids: &[Digest],
    base_diff_ids: Option<&[Digest]>,
    fs: &FinalFs<'_, '_>,
    python_wheels: &[(String, String)],
) -> BaseImage {
    let os = fs
        .content("etc/os-release")
        .or_else(|| fs.content("usr/lib/os-release"))
        .and_then(|c| {
            String::from_utf8_lossy(c)
                .lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned()))
        });
    if let Some(base) = base_diff_ids {
        let layers = diff_ids.iter().zip(base).take_while(|(a, b)| a == b).count();
        return BaseImage {
            layers,
            how: "--base",
            os,
            identity: identify(fs, layers, python_wheels),
        };
    }
    let mut layers_seen = 0;
    let mut closing = None;
    let mut base_layers = None;
    for entry in history {
        if entry.empty_layer() == Some(true) {
            let instruction = entry.created_by().as_deref().map(Instruction::from_created_by);
            if matches!(instruction, Some(Instruction::Cmd(_) | Instruction::Entrypoint(_))) {
                closing = Some(layers_seen);
            }
        } else {
            // A closing CMD followed by another layer ends a base image.
            if let Some(n) = closing.take() {
                base_layers = Some(n);
            }
            layers_seen += 1;
        }
    }
    let (layers, how) = match base_layers.filter(|&n| n > 0) {
        Some(layers) => (layers, "history"),
        None => (0, "unknown"),
    };
    BaseImage {
        layers,
        how,
        os,
        identity: identify(fs, layers, python_wheels),
    }
}
