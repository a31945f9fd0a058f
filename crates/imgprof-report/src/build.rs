//! Building a [`Report`] from an opened image and its analysis.

use std::collections::HashMap;

use imgprof_layers::Stack;
use imgprof_layers::dive::DiveMetrics;
use imgprof_source::Image;
use imgprof_source::history::{instruction, layer_history};
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
    let history = layer_history(&image.config.history, layers.len());

    let layer_reports = layers
        .iter()
        .zip(stack.changes())
        .enumerate()
        .map(|(i, (index, changes))| {
            let blob = &image.layers[i];
            let entry = history[i];
            let created_by = entry.and_then(|h| h.created_by.clone());
            LayerReport {
                index: i,
                digest: blob.digest.as_ref().unwrap_or(&index.digest).to_string(),
                diff_id: index.diff_id.to_string(),
                media_type: blob.media_type.clone(),
                compression: index.compression,
                compressed_bytes: index.compressed_bytes,
                tar_bytes: index.tar_bytes,
                content_bytes: index.content_bytes(),
                counts: index.counts(),
                changes: *changes,
                removed: removed_paths(stack, i, options.top),
                instruction: created_by.as_deref().map(instruction),
                created_by,
                created: entry.and_then(|h| h.created.clone()),
                comment: entry.and_then(|h| h.comment.clone()),
            }
        })
        .collect();

    let shipped = stack.shipped_bytes();
    let redundant = stack.redundant_bytes();
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
        findings: waste.findings,
        projection: waste.projection,
        rules: None,
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
    let mut files: Vec<FileSize> = stack
        .visible()
        .filter_map(|(path, slot)| {
            let entry = &layers[slot.layer as usize].entries[slot.entry as usize];
            (entry.content_size() > 0).then(|| FileSize {
                path: display_path(path),
                bytes: entry.size,
                layer: slot.layer,
            })
        })
        .collect();
    files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    files.truncate(top);
    files
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
