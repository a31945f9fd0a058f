//! Building a [`Report`] from an opened image and its analysis.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use imgprof_layers::Stack;
use imgprof_layers::dive::DiveMetrics;
use imgprof_source::Image;
use imgprof_source::history::{Instruction, instruction, layer_history};
use imgprof_waste::WasteReport;

use crate::model::*;

/// How much detail lists carry.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions {
    /// Entries in `largest_files` and `redundant_paths`.
    pub top: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { top: 20 }
    }
}

pub fn build(
    image: &Image,
    stack: &Stack<'_>,
    dive: &DiveMetrics,
    waste: WasteReport,
    options: ReportOptions,
) -> Report {
    let layers = stack.layers();
    let history = layer_history(image.config.history(), layers.len());

    let layer_reports = layers
        .iter()
        .zip(stack.changes())
        .enumerate()
        .map(|(i, (index, changes))| {
            let blob = &image.layers[i];
            let entry = history[i];
            let created_by = entry.and_then(|h| h.created_by().clone());
            LayerReport {
                index: i,
                digest: blob.digest.as_ref().unwrap_or(&index.digest).to_string(),
                diff_id: index.diff_id.to_string(),
                media_type: blob.media_type.clone(),
                compression: index.compression,
                compressed_bytes: index.compressed_bytes,
                tar_bytes: index.tar_bytes,
                content_bytes: index.content_bytes(),
                removable_bytes: waste.removable_by_layer.get(i).copied().unwrap_or(0),
                counts: index.counts(),
                changes: *changes,
                removed: removed_paths(stack, i, options.top),
                instruction: created_by.as_deref().map(instruction),
                created_by,
                created: entry.and_then(|h| h.created().clone()),
                comment: entry.and_then(|h| h.comment().clone()),
            }
        })
        .collect();

    let shipped = stack.shipped_bytes();
    let redundant = stack.redundant_bytes();
    let history = history_steps(image.config.history(), waste.base.layers, stack);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "imgprof",
            version: env!("CARGO_PKG_VERSION"),
        },
        source: Source {
            kind: image.source.kind.to_string(),
            location: image.source.location.clone(),
            tag: image.source.tag.clone(),
            platform: image.source.platform.to_string(),
            manifest_digest: image.manifest_digest.as_ref().map(ToString::to_string),
            config_digest: image.config_digest.as_ref().map(ToString::to_string),
        },
        image: ImageTotals {
            layer_count: layers.len(),
            compressed_bytes: layers.iter().map(|l| l.compressed_bytes).sum(),
            tar_bytes: layers.iter().map(|l| l.tar_bytes).sum(),
            shipped_bytes: shipped,
            final_bytes: stack.final_bytes(),
            redundant_bytes: redundant,
            redundant_ratio: if shipped == 0 {
                0.0
            } else {
                redundant as f64 / shipped as f64
            },
            final_counts: stack.final_counts(),
        },
        dive: DiveSummary {
            efficiency: dive.efficiency,
            wasted_bytes: dive.wasted_bytes,
            image_bytes: dive.image_bytes,
            user_bytes: dive.user_bytes,
            user_wasted_ratio: Some(dive.user_wasted_ratio()).filter(|r| !r.is_nan()),
        },
        layers: layer_reports,
        largest_files: largest_files(stack, options.top),
        redundant_paths: redundant_paths(stack, options.top),
        base_image: waste.base,
        categories: waste.categories,
        packages: Packages {
            list: waste.packages,
            unowned_bytes: waste.unowned_bytes,
        },
        pull: pull_cost(layers.iter().map(|l| l.compressed_bytes).sum(), &waste.projection),
        runtime: runtime(image.config.runtime()),
        history,
        findings: waste.findings,
        projection: waste.projection,
        rules: None,
    }
}

/// The links users pull over, slowest first.
const LINKS: [(&str, u64); 3] = [
    ("20 Mbit/s", 20_000_000),
    ("100 Mbit/s", 100_000_000),
    ("1 Gbit/s", 1_000_000_000),
];

fn pull_cost(compressed: u64, projection: &imgprof_waste::Projection) -> PullCost {
    let projected = if projection.shipped_bytes == 0 {
        compressed
    } else {
        (compressed as u128 * projection.projected_bytes as u128 / projection.shipped_bytes as u128) as u64
    };
    let seconds = |bytes: u64, bits: u64| bytes as f64 * 8.0 / bits as f64;
    PullCost {
        model: "seconds = compressed bytes x 8 / link bits per second: layers download several at a time (Docker: 3) \
                sharing the link, so the link is the limit; unpacking and registry latency are not counted",
        compressed_bytes: compressed,
        projected_compressed_bytes: projected,
        links: LINKS
            .iter()
            .map(|&(link, bits)| PullTime {
                link,
                bits_per_second: bits,
                seconds: seconds(compressed, bits),
                projected_seconds: seconds(projected, bits),
            })
            .collect(),
    }
}

fn runtime(config: &imgprof_source::spec::RuntimeConfig) -> Runtime {
    let env = config.env().clone().unwrap_or_default();
    let value = |name: &str| {
        env.iter()
            .find_map(|e| e.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .map(str::to_owned)
    };
    let python = env.iter().any(|e| e.starts_with("PYTHON")) || value("PATH").is_some_and(|p| p.contains("venv"));
    let mut notes = Vec::new();
    if python || value("PYTHONUNBUFFERED").is_some() {
        notes.push(match value("PYTHONUNBUFFERED") {
            Some(v) if !v.is_empty() && v != "0" => {
                "PYTHONUNBUFFERED is set: Python's output reaches the logs at once".to_owned()
            }
            _ => "PYTHONUNBUFFERED is not set: Python may hold log lines in its buffer until it flushes".to_owned(),
        });
        notes.push(match value("PYTHONDONTWRITEBYTECODE") {
            Some(_) => "PYTHONDONTWRITEBYTECODE is set: no .pyc is written at run time (start-up compiles again)".to_owned(),
            None => "PYTHONDONTWRITEBYTECODE is not set: Python may write .pyc files at run time (harmless; needs a writable tree)".to_owned(),
        });
    }
    Runtime {
        user: config.user().clone().filter(|u| !u.is_empty()),
        working_dir: config.working_dir().clone().filter(|w| !w.is_empty()),
        entrypoint: config.entrypoint().clone(),
        cmd: config.cmd().clone(),
        exposed_ports: config.exposed_ports().clone().unwrap_or_default(),
        env_names: env
            .iter()
            .map(|e| e.split('=').next().unwrap_or(e).to_owned())
            .collect(),
        notes,
    }
}

fn history_steps(history: &[imgprof_source::spec::History], base_layers: usize, stack: &Stack<'_>) -> Vec<HistoryStep> {
    let names = OwnerNames::read(stack);
    let mut layer = 0;
    let mut base_closed = false;
    history
        .iter()
        .map(|entry| {
            let made = (entry.empty_layer() != Some(true)).then_some(layer);
            if made.is_some() {
                layer += 1;
            }
            // Config steps after the base's last layer belong to it until the next layer
            // (its closing CMD); a step is in the base when the layer count says so.
            let in_base = match made {
                Some(l) => l < base_layers,
                None => !base_closed && layer <= base_layers && base_layers > 0,
            };
            if made.is_some_and(|l| l + 1 > base_layers) {
                base_closed = true;
            }
            let instruction = entry
                .created_by()
                .as_deref()
                .map_or_else(|| Instruction::Unknown(String::new()), Instruction::from_created_by);
            let copies = matches!(instruction, Instruction::Copy(_));
            let hashed_file = instruction.as_copy().is_some_and(|c| {
                c.hashed() && !c.sources.is_empty() && c.sources.iter().all(|s| s.starts_with("file:"))
            });
            HistoryStep {
                owner: made.filter(|_| copies).and_then(|l| names.owner_of_layer(stack, l)),
                copied_file: made.filter(|_| hashed_file).and_then(|l| only_file_name(stack, l)),
                instruction,
                layer: made,
                in_base,
            }
        })
        .collect()
}

/// The name of the one regular file `layer` holds, if it holds exactly one.
fn only_file_name(stack: &Stack<'_>, layer: usize) -> Option<String> {
    let mut files = stack.layers()[layer]
        .entries
        .iter()
        .filter(|e| e.kind == imgprof_layers::EntryKind::File);
    let only = files.next()?;
    files
        .next()
        .is_none()
        .then(|| only.path.rsplit('/').next().unwrap_or(&only.path).to_owned())
}

/// User and group names of the final `/etc/passwd` and `/etc/group`.
struct OwnerNames {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl OwnerNames {
    fn read(stack: &Stack<'_>) -> OwnerNames {
        let table = |path: &str| -> HashMap<u32, String> {
            let content = stack
                .visible()
                .find(|(p, _)| *p == path)
                .and_then(|(_, slot)| slot.inode)
                .and_then(|inode| stack.layers()[inode.layer as usize].captured(inode.entry));
            String::from_utf8_lossy(content.unwrap_or_default())
                .lines()
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    Some((fields.get(2)?.parse().ok()?, (*fields.first()?).to_owned()))
                })
                .collect()
        };
        OwnerNames {
            users: table("etc/passwd"),
            groups: table("etc/group"),
        }
    }

    /// `user:group` of most regular files of `layer`, when that is not root.
    fn owner_of_layer(&self, stack: &Stack<'_>, layer: usize) -> Option<String> {
        let mut counts: HashMap<(u32, u32), usize> = HashMap::new();
        for entry in &stack.layers()[layer].entries {
            if entry.kind == imgprof_layers::EntryKind::File {
                *counts.entry((entry.uid, entry.gid)).or_default() += 1;
            }
        }
        let ((uid, gid), _) = counts.into_iter().max_by_key(|&(ids, n)| (n, std::cmp::Reverse(ids)))?;
        if uid == 0 && gid == 0 {
            return None;
        }
        let user = self.users.get(&uid).cloned().unwrap_or_else(|| uid.to_string());
        let group = self.groups.get(&gid).cloned().unwrap_or_else(|| gid.to_string());
        Some(format!("{user}:{group}"))
    }
}

fn display_path(path: &str) -> String {
    format!("/{path}")
}

fn removed_paths(stack: &Stack<'_>, layer: usize, top: usize) -> Vec<RemovedPath> {
    let mut removed: Vec<RemovedPath> = stack
        .removals(layer)
        .iter()
        .map(|r| RemovedPath {
            path: display_path(r.path),
            opaque: r.opaque,
            paths: r.paths,
            bytes: r.bytes,
        })
        .collect();
    removed.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    removed.truncate(top);
    removed
}

fn largest_files(stack: &Stack<'_>, top: usize) -> Vec<FileSize> {
    let layers = stack.layers();
    let files = stack.visible().filter_map(|(path, slot)| {
        let entry = &layers[slot.layer as usize].entries[slot.entry as usize];
        (entry.content_size() > 0).then_some((Reverse(entry.size), path, slot.layer))
    });
    least(files, top)
        .into_iter()
        .map(|(Reverse(bytes), path, layer)| FileSize {
            path: display_path(path),
            bytes,
            layer,
        })
        .collect()
}

/// The `n` least of `items`, in order, holding `n` at a time rather than every file.
fn least<T: Ord>(items: impl Iterator<Item = T>, n: usize) -> Vec<T> {
    let mut kept = BinaryHeap::with_capacity(n + 1);
    for item in items {
        if kept.len() < n {
            kept.push(item);
        } else if kept.peek().is_some_and(|worst| item < *worst) {
            kept.pop();
            kept.push(item);
        }
    }
    kept.into_sorted_vec()
}

fn redundant_paths(stack: &Stack<'_>, top: usize) -> Vec<RedundantPath> {
    let mut by_path: HashMap<&str, RedundantPath> = HashMap::new();
    for copy in stack.lost_copies() {
        let entry = by_path.entry(copy.path).or_insert_with(|| RedundantPath {
            path: display_path(copy.path),
            bytes: 0,
            copies: 0,
            layers: Vec::new(),
            cause: copy.cause,
        });
        entry.bytes += copy.bytes;
        entry.copies += 1;
        entry.layers.push(copy.layer);
        entry.cause = copy.cause;
    }
    let mut paths: Vec<RedundantPath> = by_path.into_values().filter(|p| p.bytes > 0).collect();
    paths.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    paths.truncate(top);
    paths
}
