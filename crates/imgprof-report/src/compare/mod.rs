//! Two images side by side: the comparison model, built from the two single-image
//! [`Report`]s and the two final filesystems ([`FinalFiles`]). Every figure is a pair
//! (`a`, `b`) and their difference `b − a`, so each delta equals the difference of the two
//! reports' figures. Renderers (`text`, `markdown`, a TUI later) read only this model; it
//! is serialised as the `imgprof compare --json` document (docs/report-schema.md).

mod files;
mod markdown;
mod text;

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{LayerReport, Report, Source};
use crate::rules::Growth;
use imgprof_waste::{FindingId, Manager, Severity};

pub use files::{FileChange, FileChangeKind, FileChanges, FileKindTotals, FinalFiles, OtherFileChanges};
pub use markdown::render_compare_markdown;
pub use text::render_compare;

/// Bumped on any change of the compare document that is not a pure addition of fields.
pub const COMPARE_SCHEMA_VERSION: u32 = 1;

/// How much detail the lists of a comparison carry.
#[derive(Debug, Clone, Copy)]
pub struct CompareOptions {
    /// Lines of the file list (directories aggregated) and of the package list.
    pub top: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { top: 20 }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Comparison {
    pub schema_version: u32,
    /// Always `compare`, so a consumer can tell this document from a report.
    pub kind: &'static str,
    pub a: Source,
    pub b: Source,
    pub totals: Totals,
    pub layers: Vec<LayerPair>,
    /// Every category either image has, most changed final bytes first.
    pub categories: Vec<CategoryDelta>,
    pub packages: PackageDeltas,
    pub files: FileChanges,
    pub findings: FindingDeltas,
    /// The `--fail-if-grows` verdict, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth: Option<GrowthCheck>,
}

/// A figure of both images and `b − a`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Delta {
    pub a: u64,
    pub b: u64,
    pub delta: i64,
}

impl Delta {
    pub fn new(a: u64, b: u64) -> Delta {
        Delta {
            a,
            b,
            delta: signed_difference(a, b),
        }
    }
}

/// A ratio of both images and `b − a`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct RatioDelta {
    pub a: f64,
    pub b: f64,
    pub delta: f64,
}

impl RatioDelta {
    fn new(a: f64, b: f64) -> RatioDelta {
        RatioDelta { a, b, delta: b - a }
    }
}

/// `b − a`, saturating at the ends of `i64` (no image is 9 EB).
fn signed_difference(a: u64, b: u64) -> i64 {
    if b >= a {
        i64::try_from(b - a).unwrap_or(i64::MAX)
    } else {
        i64::try_from(a - b).map_or(i64::MIN, |d| -d)
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Totals {
    pub layer_count: Delta,
    pub compressed_bytes: Delta,
    pub tar_bytes: Delta,
    pub shipped_bytes: Delta,
    pub final_bytes: Delta,
    pub redundant_bytes: Delta,
    pub redundant_ratio: RatioDelta,
    pub final_files: Delta,
    pub dive_efficiency: RatioDelta,
    /// What each image would ship with every fix applied.
    pub projected_bytes: Delta,
    /// Pull time of each image per link (`pull.links` of the reports).
    pub pull: Vec<PullDelta>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PullDelta {
    pub link: &'static str,
    pub a_seconds: f64,
    pub b_seconds: f64,
    pub delta_seconds: f64,
}

/// How a layer of one image lines up with the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Alignment {
    /// The same content (diff_id) in both: analysed once.
    Shared,
    /// The same instruction, different content.
    Changed,
    OnlyA,
    OnlyB,
}

/// One row of the two-column layer view, in stacking order.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LayerPair {
    pub alignment: Alignment,
    pub a: Option<LayerSide>,
    pub b: Option<LayerSide>,
    /// `b − a` of the stored blob sizes (a missing side counts 0).
    pub compressed_delta: i64,
    /// `b − a` of the file bytes the layers ship.
    pub content_delta: i64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LayerSide {
    pub index: usize,
    pub digest: String,
    pub diff_id: String,
    pub instruction: Option<String>,
    pub compressed_bytes: u64,
    pub content_bytes: u64,
}

impl LayerSide {
    fn of(layer: &LayerReport) -> LayerSide {
        LayerSide {
            index: layer.index,
            digest: layer.digest.clone(),
            diff_id: layer.diff_id.clone(),
            instruction: layer.instruction.clone(),
            compressed_bytes: layer.compressed_bytes,
            content_bytes: layer.content_bytes,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CategoryDelta {
    pub id: &'static str,
    pub title: &'static str,
    pub final_bytes: Delta,
    pub final_files: Delta,
    pub redundant_bytes: Delta,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PackageStatus {
    Added,
    Removed,
    /// Installed in both, another version.
    VersionChanged,
    /// The same version, other bytes (files deleted or added around it).
    SizeChanged,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PackageDelta {
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::Manager")]
    pub manager: Manager,
    pub name: String,
    pub status: PackageStatus,
    pub version_a: Option<String>,
    pub version_b: Option<String>,
    pub bytes: Delta,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PackageDeltas {
    /// Changed packages, most bytes changed first (`--top`).
    pub list: Vec<PackageDelta>,
    /// Changed packages by status, over the whole list before `--top`.
    pub added: usize,
    pub removed: usize,
    pub version_changed: usize,
    pub size_changed: usize,
    /// Changed packages `--top` left out, and the bytes they changed.
    pub omitted: usize,
    pub omitted_delta: i64,
    /// Packages installed in both at the same version and size.
    pub unchanged: usize,
    /// Σ package bytes per image (each package as its report counts it).
    pub package_bytes: Delta,
    pub unowned_bytes: Delta,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingDeltas {
    /// Finding ids A has and B does not.
    pub fixed: Vec<FindingSummary>,
    /// Finding ids B has and A does not.
    pub introduced: Vec<FindingSummary>,
    /// Finding ids both have, with the bytes concerned in each.
    pub remaining: Vec<FindingPair>,
    /// What the fixes of each image would save.
    pub saves_bytes: Delta,
}

/// The findings of one id in one image (an id may be reported once per layer).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingSummary {
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::FindingId")]
    pub id: FindingId,
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::Severity")]
    pub severity: Severity,
    pub title: String,
    pub count: usize,
    pub bytes: u64,
    pub saves_bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingPair {
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::FindingId")]
    pub id: FindingId,
    pub title: String,
    pub count: Delta,
    pub bytes: Delta,
    pub saves_bytes: Delta,
}

/// `--fail-if-grows`: did B's shipped bytes grow over A's by more than the limit?
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GrowthCheck {
    /// The figure compared: `shipped_bytes`, as the `max_growth` rule.
    pub measure: &'static str,
    /// The limit as given (`50MB`, `10%`).
    pub limit: String,
    pub delta: i64,
    pub passed: bool,
}

impl Comparison {
    /// Checks B's growth over A against `limit`; the verdict is kept in the comparison.
    pub fn check_growth(&mut self, limit: &Growth) -> bool {
        let shipped = self.totals.shipped_bytes;
        let passed = limit.allows(shipped.a, shipped.b);
        self.growth = Some(GrowthCheck {
            measure: "shipped_bytes",
            limit: limit.to_string(),
            delta: shipped.delta,
            passed,
        });
        passed
    }
}

/// The comparison of image A (`a`, with its final filesystem `files_a`) with image B.
pub fn compare(
    a: &Report,
    files_a: &FinalFiles,
    b: &Report,
    files_b: &FinalFiles,
    options: CompareOptions,
) -> Comparison {
    Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        kind: "compare",
        a: a.source.clone(),
        b: b.source.clone(),
        totals: totals(a, b),
        layers: align_layers(&a.layers, &b.layers),
        categories: category_deltas(a, b),
        packages: package_deltas(a, b, options.top),
        files: files::changes(files_a, files_b, options.top),
        findings: finding_deltas(a, b),
        growth: None,
    }
}

fn totals(a: &Report, b: &Report) -> Totals {
    let (x, y) = (&a.image, &b.image);
    Totals {
        layer_count: Delta::new(x.layer_count as u64, y.layer_count as u64),
        compressed_bytes: Delta::new(x.compressed_bytes, y.compressed_bytes),
        tar_bytes: Delta::new(x.tar_bytes, y.tar_bytes),
        shipped_bytes: Delta::new(x.shipped_bytes, y.shipped_bytes),
        final_bytes: Delta::new(x.final_bytes, y.final_bytes),
        redundant_bytes: Delta::new(x.redundant_bytes, y.redundant_bytes),
        redundant_ratio: RatioDelta::new(x.redundant_ratio, y.redundant_ratio),
        final_files: Delta::new(x.final_counts.files, y.final_counts.files),
        dive_efficiency: RatioDelta::new(a.dive.efficiency, b.dive.efficiency),
        projected_bytes: Delta::new(a.projection.projected_bytes, b.projection.projected_bytes),
        pull: a
            .pull
            .links
            .iter()
            .zip(&b.pull.links)
            .map(|(x, y)| PullDelta {
                link: x.link,
                a_seconds: x.seconds,
                b_seconds: y.seconds,
                delta_seconds: y.seconds - x.seconds,
            })
            .collect(),
    }
}

/// Lines the layers up: the longest common run of shared content (same diff_id, in
/// order), then, between two shared layers, the same instructions in order as `Changed`,
/// and whatever is left as only in A or only in B.
fn align_layers(a: &[LayerReport], b: &[LayerReport]) -> Vec<LayerPair> {
    let shared = longest_common(a, b, |x, y| x.diff_id == y.diff_id);
    let mut rows = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    for (si, sj) in shared.into_iter().chain([(a.len(), b.len())]) {
        align_gap(&a[i..si], &b[j..sj], &mut rows);
        if si < a.len() && sj < b.len() {
            rows.push(pair(Alignment::Shared, Some(&a[si]), Some(&b[sj])));
        }
        (i, j) = (si + 1, sj + 1);
    }
    rows
}

/// The layers between two shared ones: equal instructions pair up as `Changed`.
fn align_gap(a: &[LayerReport], b: &[LayerReport], rows: &mut Vec<LayerPair>) {
    let same_instruction = longest_common(a, b, |x, y| x.instruction.is_some() && x.instruction == y.instruction);
    let (mut i, mut j) = (0, 0);
    for (si, sj) in same_instruction.into_iter().chain([(a.len(), b.len())]) {
        rows.extend(a[i..si].iter().map(|l| pair(Alignment::OnlyA, Some(l), None)));
        rows.extend(b[j..sj].iter().map(|l| pair(Alignment::OnlyB, None, Some(l))));
        if si < a.len() && sj < b.len() {
            rows.push(pair(Alignment::Changed, Some(&a[si]), Some(&b[sj])));
        }
        (i, j) = (si + 1, sj + 1);
    }
}

fn pair(alignment: Alignment, a: Option<&LayerReport>, b: Option<&LayerReport>) -> LayerPair {
    let figure = |l: Option<&LayerReport>, f: fn(&LayerReport) -> u64| l.map_or(0, f);
    LayerPair {
        alignment,
        compressed_delta: signed_difference(figure(a, |l| l.compressed_bytes), figure(b, |l| l.compressed_bytes)),
        content_delta: signed_difference(figure(a, |l| l.content_bytes), figure(b, |l| l.content_bytes)),
        a: a.map(LayerSide::of),
        b: b.map(LayerSide::of),
    }
}

/// Index pairs of a longest common subsequence under `same` (layer lists are short).
fn longest_common<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<(usize, usize)> {
    let width = b.len() + 1;
    // lengths[i * width + j]: the longest common subsequence of a[i..] and b[j..].
    let mut lengths = vec![0usize; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lengths[i * width + j] = if same(&a[i], &b[j]) {
                lengths[(i + 1) * width + j + 1] + 1
            } else {
                lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut pairs = Vec::new();
    while i < a.len() && j < b.len() {
        if same(&a[i], &b[j]) {
            pairs.push((i, j));
            (i, j) = (i + 1, j + 1);
        } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

fn category_deltas(a: &Report, b: &Report) -> Vec<CategoryDelta> {
    let mut ids: Vec<(&'static str, &'static str)> = Vec::new();
    for c in a.categories.iter().chain(&b.categories) {
        if !ids.iter().any(|(id, _)| *id == c.id) {
            ids.push((c.id, c.title));
        }
    }
    let find = |report: &Report, id: &str| report.categories.iter().find(|c| c.id == id).cloned();
    let mut deltas: Vec<CategoryDelta> = ids
        .into_iter()
        .map(|(id, title)| {
            let (x, y) = (find(a, id), find(b, id));
            let figure = |c: &Option<imgprof_waste::CategoryBytes>, f: fn(&imgprof_waste::CategoryBytes) -> u64| {
                c.as_ref().map_or(0, f)
            };
            CategoryDelta {
                id,
                title,
                final_bytes: Delta::new(figure(&x, |c| c.final_bytes), figure(&y, |c| c.final_bytes)),
                final_files: Delta::new(figure(&x, |c| c.final_files), figure(&y, |c| c.final_files)),
                redundant_bytes: Delta::new(figure(&x, |c| c.redundant_bytes), figure(&y, |c| c.redundant_bytes)),
            }
        })
        .collect();
    // Stable: equal changes keep the rule order.
    deltas.sort_by_key(|c| std::cmp::Reverse(c.final_bytes.delta.unsigned_abs()));
    deltas
}

/// One image's packages by (manager, name); a name installed twice (pip in two site
/// directories) adds up, with its versions joined.
fn packages_by_name(report: &Report) -> BTreeMap<(Manager, &str), (String, u64)> {
    let mut by_name: BTreeMap<(Manager, &str), (Vec<&str>, u64)> = BTreeMap::new();
    for p in &report.packages.list {
        let entry = by_name.entry((p.manager, p.name.as_str())).or_default();
        if !entry.0.contains(&p.version.as_str()) {
            entry.0.push(&p.version);
        }
        entry.1 += p.bytes;
    }
    by_name
        .into_iter()
        .map(|(key, (mut versions, bytes))| {
            versions.sort_unstable();
            (key, (versions.join(", "), bytes))
        })
        .collect()
}

fn package_deltas(a: &Report, b: &Report, top: usize) -> PackageDeltas {
    let (in_a, in_b) = (packages_by_name(a), packages_by_name(b));
    let mut keys: Vec<(Manager, &str)> = in_a.keys().chain(in_b.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut list = Vec::new();
    let mut unchanged = 0;
    for key in keys {
        let (x, y) = (in_a.get(&key), in_b.get(&key));
        let status = match (x, y) {
            (None, Some(_)) => PackageStatus::Added,
            (Some(_), None) => PackageStatus::Removed,
            (Some((va, _)), Some((vb, _))) if va != vb => PackageStatus::VersionChanged,
            (Some((_, ba)), Some((_, bb))) if ba != bb => PackageStatus::SizeChanged,
            _ => {
                unchanged += 1;
                continue;
            }
        };
        list.push(PackageDelta {
            manager: key.0,
            name: key.1.to_owned(),
            status,
            version_a: x.map(|(v, _)| v.clone()),
            version_b: y.map(|(v, _)| v.clone()),
            bytes: Delta::new(x.map_or(0, |p| p.1), y.map_or(0, |p| p.1)),
        });
    }
    list.sort_by(|p, q| {
        q.bytes
            .delta
            .unsigned_abs()
            .cmp(&p.bytes.delta.unsigned_abs())
            .then_with(|| p.name.cmp(&q.name))
    });
    let count = |status| list.iter().filter(|p| p.status == status).count();
    let (added, removed) = (count(PackageStatus::Added), count(PackageStatus::Removed));
    let (version_changed, size_changed) = (count(PackageStatus::VersionChanged), count(PackageStatus::SizeChanged));
    let omitted_list = list.split_off(top.min(list.len()));
    let total = |r: &Report| r.packages.list.iter().map(|p| p.bytes).sum();
    PackageDeltas {
        list,
        added,
        removed,
        version_changed,
        size_changed,
        omitted: omitted_list.len(),
        omitted_delta: omitted_list.iter().map(|p| p.bytes.delta).sum(),
        unchanged,
        package_bytes: Delta::new(total(a), total(b)),
        unowned_bytes: Delta::new(a.packages.unowned_bytes, b.packages.unowned_bytes),
    }
}

/// One image's findings by id, in ranking order of their first appearance.
fn findings_by_id(report: &Report) -> Vec<FindingSummary> {
    let mut by_id: Vec<FindingSummary> = Vec::new();
    let mut position: HashMap<FindingId, usize> = HashMap::new();
    for f in &report.findings {
        match position.get(&f.id) {
            Some(&at) => {
                let summary = &mut by_id[at];
                summary.count += 1;
                summary.bytes += f.bytes;
                summary.saves_bytes += f.saves_bytes;
                summary.severity = summary.severity.max(f.severity);
            }
            None => {
                position.insert(f.id, by_id.len());
                by_id.push(FindingSummary {
                    id: f.id,
                    severity: f.severity,
                    title: f.title.clone(),
                    count: 1,
                    bytes: f.bytes,
                    saves_bytes: f.saves_bytes,
                });
            }
        }
    }
    by_id
}

fn finding_deltas(a: &Report, b: &Report) -> FindingDeltas {
    let (in_a, in_b) = (findings_by_id(a), findings_by_id(b));
    let has = |list: &[FindingSummary], id: FindingId| list.iter().any(|f| f.id == id);
    let remaining = in_a
        .iter()
        .filter_map(|x| {
            let y = in_b.iter().find(|y| y.id == x.id)?;
            Some(FindingPair {
                id: x.id,
                title: y.title.clone(),
                count: Delta::new(x.count as u64, y.count as u64),
                bytes: Delta::new(x.bytes, y.bytes),
                saves_bytes: Delta::new(x.saves_bytes, y.saves_bytes),
            })
        })
        .collect();
    FindingDeltas {
        fixed: in_a.iter().filter(|f| !has(&in_b, f.id)).cloned().collect(),
        introduced: in_b.iter().filter(|f| !has(&in_a, f.id)).cloned().collect(),
        remaining,
        saves_bytes: Delta::new(a.projection.saves_bytes, b.projection.saves_bytes),
    }
}

/// The comparison as one JSON document (pretty-printed, newline-terminated).
pub fn compare_to_json(comparison: &Comparison) -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(comparison)?;
    json.push('\n');
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_are_signed_differences() {
        assert_eq!(Delta::new(10, 4).delta, -6);
        assert_eq!(Delta::new(4, 10).delta, 6);
        assert_eq!(Delta::new(u64::MAX, 0).delta, i64::MIN);
    }

    fn layer(index: usize, diff_id: &str, instruction: &str, content_bytes: u64) -> LayerReport {
        LayerReport {
            index,
            digest: format!("sha256:{diff_id}"),
            diff_id: diff_id.to_owned(),
            media_type: None,
            compression: imgprof_layers::Compression::Gzip,
            compressed_bytes: content_bytes / 2,
            tar_bytes: content_bytes + 512,
            content_bytes,
            removable_bytes: 0,
            counts: Default::default(),
            changes: Default::default(),
            removed: Vec::new(),
            instruction: Some(instruction.to_owned()),
            created_by: None,
            created: None,
            comment: None,
        }
    }

    #[test]
    fn layers_align_shared_changed_and_one_sided() {
        let a = [
            layer(0, "base", "ADD rootfs", 100),
            layer(1, "apt1", "RUN apt-get install gcc", 80),
            layer(2, "pip1", "RUN pip install -r requirements.txt", 50),
            layer(3, "app1", "COPY . /app", 10),
        ];
        let b = [
            layer(0, "base", "ADD rootfs", 100),
            layer(1, "pip2", "RUN pip install -r requirements.txt", 40),
            layer(2, "user", "RUN useradd app", 1),
            layer(3, "app2", "COPY . /app", 12),
        ];
        let rows = align_layers(&a, &b);
        let shape: Vec<(Alignment, Option<usize>, Option<usize>, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.alignment,
                    r.a.as_ref().map(|l| l.index),
                    r.b.as_ref().map(|l| l.index),
                    r.content_delta,
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (Alignment::Shared, Some(0), Some(0), 0),
                (Alignment::OnlyA, Some(1), None, -80),
                (Alignment::Changed, Some(2), Some(1), -10),
                (Alignment::OnlyB, None, Some(2), 1),
                (Alignment::Changed, Some(3), Some(3), 2),
            ]
        );
        let total: i64 = rows.iter().map(|r| r.content_delta).sum();
        assert_eq!(total, (100 + 40 + 1 + 12) - (100 + 80 + 50 + 10));
    }

    #[test]
    fn common_subsequence_keeps_order() {
        let a = ["base", "apt", "pip", "app"];
        let b = ["base", "pip", "venv", "app"];
        assert_eq!(longest_common(&a, &b, |x, y| x == y), vec![(0, 0), (2, 1), (3, 3)]);
        assert!(longest_common(&a, &[], |x: &&str, y| x == y).is_empty());
    }
}
