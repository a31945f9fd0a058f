//! `report --format dive-json`: the document `dive --json` writes (dive 0.13.1), so that
//! scripts written for dive's export keep working. Its figures are dive's, computed by
//! `imgprof_layers::dive` exactly as dive does; its layer `id` is what dive takes from a
//! docker-archive (the first component of the layer's member name), and for an image dive
//! cannot read (a layout, a registry) the blob's digest without `sha256:`.

use imgprof_layers::LayerIndex;
use imgprof_layers::dive::{DiveMetrics, FileInfo, file_lists};
use imgprof_source::{Image, SourceKind};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Report;

/// The document, indented as dive indents it (two spaces), keys in dive's order.
pub fn render(image: &Image, layers: &[LayerIndex], report: &Report, dive: &DiveMetrics) -> String {
    let lists = file_lists(layers);
    let layer: Vec<Layer<'_>> = image
        .layers
        .iter()
        .zip(&report.layers)
        .zip(lists)
        .zip(&dive.layer_bytes)
        .map(|(((blob, layer), files), &size_bytes)| {
            let id = match image.source.kind {
                SourceKind::DockerArchive => blob.member().split('/').next().unwrap_or_default().to_owned(),
                _ => blob
                    .digest
                    .as_ref()
                    .unwrap_or(&blob.diff_id)
                    .to_string()
                    .trim_start_matches("sha256:")
                    .to_owned(),
            };
            let command = layer.created_by.as_deref().unwrap_or_default();
            Layer {
                index: layer.index,
                id,
                digest_id: blob.diff_id.to_string(),
                size_bytes,
                command: command.strip_prefix("/bin/sh -c ").unwrap_or(command),
                file_list: files.into_iter().map(File::of).collect(),
            }
        })
        .collect();
    let document = Export {
        layer,
        image: ImageFigures {
            size_bytes: dive.image_bytes,
            inefficient_bytes: dive.wasted_bytes,
            efficiency_score: go_float(dive.efficiency),
            file_reference: dive
                .inefficient_paths
                .iter()
                .map(|p| FileReference {
                    count: p.count,
                    size_bytes: p.bytes,
                    file: &p.path,
                })
                .collect(),
        },
    };
    // Strings, numbers and booleans always serialize.
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

#[derive(Serialize)]
struct Export<'a> {
    layer: Vec<Layer<'a>>,
    image: ImageFigures<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Layer<'a> {
    index: usize,
    id: String,
    digest_id: String,
    size_bytes: u64,
    command: &'a str,
    file_list: Vec<File>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File {
    path: String,
    type_flag: u8,
    link_name: String,
    size: u64,
    file_mode: u32,
    uid: u32,
    gid: u32,
    is_dir: bool,
}

impl File {
    fn of(info: FileInfo) -> File {
        File {
            path: info.path,
            type_flag: info.type_flag,
            link_name: info.link_name,
            size: info.size,
            file_mode: info.file_mode,
            uid: info.uid,
            gid: info.gid,
            is_dir: info.is_dir,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageFigures<'a> {
    size_bytes: u64,
    inefficient_bytes: u64,
    efficiency_score: Value,
    file_reference: Vec<FileReference<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileReference<'a> {
    count: u32,
    size_bytes: u64,
    file: &'a str,
}

/// A float as Go's encoding/json writes it: the shortest form, and no `.0` on a whole
/// number (dive writes a perfect score as `1`).
fn go_float(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}
