//! The report model: one serde document, versioned by [`SCHEMA_VERSION`] and documented
//! field by field in `docs/report-schema.md`. Renderers read only this model.

use imgprof_source::history::Instruction;
use schemars::JsonSchema;
use serde::Serialize;

use imgprof_layers::{Compression, EntryCounts, FinalCounts, LayerChanges, LossCause};
use imgprof_waste::{BaseImage, CategoryBytes, Finding, Package, Projection};

/// Bumped on any change that is not a pure addition of fields.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub source: Source,
    pub image: ImageTotals,
    pub dive: DiveSummary,
    pub layers: Vec<LayerReport>,
    pub largest_files: Vec<FileSize>,
    pub redundant_paths: Vec<RedundantPath>,
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::BaseImage")]
    pub base_image: BaseImage,
    /// Every category, in rule order, `other` last (see docs/rules.md).
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "Vec<crate::wire::CategoryBytes>")]
    pub categories: Vec<CategoryBytes>,
    pub packages: Packages,
    /// Ranked by the bytes their fix saves.
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "Vec<crate::wire::Finding>")]
    pub findings: Vec<Finding>,
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::Projection")]
    pub projection: Projection,
    /// What pulling the image costs, now and with every fix applied.
    pub pull: PullCost,
    /// How the container runs, from the image config.
    pub runtime: Runtime,
    /// Every history entry, bottom first: the Dockerfile as the image remembers it.
    pub history: Vec<HistoryStep>,
    /// CI rule results, when the report was checked (`imgprof check`, `report --check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<crate::rules::RuleReport>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Packages {
    /// Largest first.
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "Vec<crate::wire::Package>")]
    pub list: Vec<Package>,
    /// Final-filesystem bytes no package claims.
    pub unowned_bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Source {
    pub kind: String,
    pub location: String,
    pub tag: Option<String>,
    pub platform: String,
    pub manifest_digest: Option<String>,
    pub config_digest: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImageTotals {
    pub layer_count: usize,
    /// Σ stored blob sizes (what a registry transfers).
    pub compressed_bytes: u64,
    /// Σ uncompressed tar stream sizes (headers and padding included).
    pub tar_bytes: u64,
    /// Σ regular-file bytes over all layers: what the layers ship.
    pub shipped_bytes: u64,
    /// Σ distinct file contents visible in the final filesystem.
    pub final_bytes: u64,
    /// shipped − final: bytes shipped that the final filesystem no longer shows.
    pub redundant_bytes: u64,
    /// redundant / shipped (0 when nothing is shipped).
    pub redundant_ratio: f64,
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::FinalCounts")]
    pub final_counts: FinalCounts,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DiveSummary {
    /// dive's efficiency score (Σ min / Σ cum per path).
    pub efficiency: f64,
    /// dive's "wasted bytes" (Σ cum over paths seen in two or more layers).
    pub wasted_bytes: u64,
    /// dive's image size (Σ tar header sizes).
    pub image_bytes: u64,
    /// dive's image size without the first layer.
    pub user_bytes: u64,
    /// dive's `userWastedPercent` as a ratio; null when dive's value would be NaN (one layer).
    pub user_wasted_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LayerReport {
    pub index: usize,
    pub digest: String,
    pub diff_id: String,
    pub media_type: Option<String>,
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::Compression")]
    pub compression: Compression,
    pub compressed_bytes: u64,
    pub tar_bytes: u64,
    /// Σ regular-file bytes in this layer.
    pub content_bytes: u64,
    /// Of `content_bytes`, what the findings' fixes remove, each file once.
    pub removable_bytes: u64,
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::EntryCounts")]
    pub counts: EntryCounts,
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::LayerChanges")]
    pub changes: LayerChanges,
    /// This layer's whiteouts, most bytes hidden first (`--top`).
    pub removed: Vec<RemovedPath>,
    /// The instruction as written in a Dockerfile (`RUN pip install ...`), if history has it.
    pub instruction: Option<String>,
    pub created_by: Option<String>,
    pub created: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RemovedPath {
    pub path: String,
    /// An opaque whiteout (`.wh..wh..opq`): the directory's lower contents are hidden.
    pub opaque: bool,
    /// Lower paths hidden.
    pub paths: u64,
    /// Distinct lower file bytes hidden (still shipped by the lower layers).
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileSize {
    pub path: String,
    pub bytes: u64,
    pub layer: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RedundantPath {
    pub path: String,
    /// Σ bytes of the lost copies at this path.
    pub bytes: u64,
    pub copies: u32,
    /// The layers that shipped the lost copies.
    pub layers: Vec<u32>,
    /// Why the last lost copy is gone.
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::LossCause")]
    pub cause: LossCause,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PullCost {
    /// How the times are computed.
    pub model: &'static str,
    pub compressed_bytes: u64,
    /// `compressed_bytes × projected_bytes / shipped_bytes`: the fixes' bytes assumed to
    /// compress like the rest of the image.
    pub projected_compressed_bytes: u64,
    pub links: Vec<PullTime>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PullTime {
    pub link: &'static str,
    pub bits_per_second: u64,
    pub seconds: f64,
    pub projected_seconds: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Runtime {
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `8000/tcp`, ...
    pub exposed_ports: Vec<String>,
    /// Names only: values may hold secrets.
    pub env_names: Vec<String>,
    /// Settings worth knowing, noted rather than enforced (`PYTHONUNBUFFERED`, ...).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryStep {
    /// As written in a Dockerfile (`RUN pip install ...`, `ENV A=b`, `USER app`): the
    /// typed instruction, parsed once from `created_by`, so `suggest` matches on its
    /// variants; it serializes as its Dockerfile text (an empty string when history has
    /// no `created_by`).
    #[serde(serialize_with = "crate::wire::ser")]
    #[schemars(with = "crate::wire::Instruction")]
    pub instruction: Instruction,
    /// The layer it made; none for config-only steps.
    pub layer: Option<usize>,
    /// Part of the base image.
    pub in_base: bool,
    /// For a `COPY`/`ADD`: the `user:group` owning most of the files it copied, when not
    /// root (history drops `--chown`, the layer keeps the owners).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// For a `COPY` that history keeps as a content hash of one file (`COPY
    /// file:<hash> in .`, the classic builder's and buildah's record): the name of the one
    /// file its layer holds, which `suggest` writes as the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied_file: Option<String>,
}
