//! The JSON forms of the analysis types other crates own. The report and the comparison
//! are serialized here and only here: a report field holding another crate's type says
//! `#[serde(serialize_with = "wire::ser")]` and `#[schemars(with = "wire::X")]`, and
//! [`ToWire`] turns the value into its form below. Renaming a field in imgprof-waste or
//! imgprof-layers therefore cannot change the JSON; changing a form here is a change of
//! `SCHEMA_VERSION` (docs/report-schema.md) unless it only adds a field. The JSON Schemas
//! in docs/ are generated from these types (the tests `generated_docs_*`).

use schemars::JsonSchema;
use serde::{Serialize, Serializer};

use imgprof_layers as layers;
use imgprof_source::history;
use imgprof_waste as waste;

/// A value of another crate with a JSON form of this crate's.
pub trait ToWire {
    type Wire: Serialize + JsonSchema;
    fn to_wire(&self) -> Self::Wire;
}

/// For `#[serde(serialize_with = "wire::ser")]`.
pub fn ser<T: ToWire, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    value.to_wire().serialize(serializer)
}

impl<T: ToWire> ToWire for Vec<T> {
    type Wire = Vec<T::Wire>;
    fn to_wire(&self) -> Self::Wire {
        self.iter().map(ToWire::to_wire).collect()
    }
}

impl<T: ToWire> ToWire for Option<T> {
    type Wire = Option<T::Wire>;
    fn to_wire(&self) -> Self::Wire {
        self.as_ref().map(ToWire::to_wire)
    }
}

/// Enums whose JSON form is a string of the same name, in another case.
macro_rules! wire_enum {
    ($domain:ty => $wire:ident, $case:literal, $doc:literal { $($variant:ident),+ $(,)? }) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
        #[serde(rename_all = $case)]
        pub enum $wire {
            $($variant),+
        }

        impl ToWire for $domain {
            type Wire = $wire;
            fn to_wire(&self) -> $wire {
                match self {
                    $(<$domain>::$variant => $wire::$variant),+
                }
            }
        }
    };
}

wire_enum!(waste::Severity => Severity, "lowercase", "`error` for secrets and glibc wheels on musl, `warning` from a megabyte of waste and for security and layer-order findings, else `info` (docs/rules.md)." { Info, Warning, Error });
wire_enum!(waste::Manager => Manager, "lowercase", "The package database a package is recorded in." { Dpkg, Apk, Pip });
wire_enum!(layers::Compression => Compression, "lowercase", "The layer's compression, from its bytes." { None, Gzip, Zstd });
wire_enum!(waste::BaseVariant => BaseVariant, "lowercase", "What kind of base: `slim` when dpkg excludes docs (debuerreotype's slimify), `alpine` for musl, `distroless` without a shell and a package manager." { Full, Slim, Alpine, Distroless, Unknown });
wire_enum!(waste::Ecosystem => Ecosystem, "lowercase", "The language whose dependencies a builder stage installs." { Python, Node });

/// A finding's id: `IMG001` ... (docs/rules.md).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct FindingId(&'static str);

impl JsonSchema for FindingId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FindingId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = waste::FindingId::ALL.iter().map(|id| id.code()).collect();
        schemars::json_schema!({
            "description": "A finding's id (docs/rules.md).",
            "type": "string",
            "enum": codes,
        })
    }
}

impl ToWire for waste::FindingId {
    type Wire = FindingId;
    fn to_wire(&self) -> FindingId {
        FindingId(self.code())
    }
}

/// A history entry's instruction as a Dockerfile line (`RUN pip install ...`); an empty
/// string when history has no `created_by`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Instruction(String);

impl ToWire for history::Instruction {
    type Wire = Instruction;
    fn to_wire(&self) -> Instruction {
        Instruction(self.to_string())
    }
}

/// Tar entries of a layer, by kind.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EntryCounts {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Devices and FIFOs.
    pub special: u64,
    pub whiteouts: u64,
    pub opaque_whiteouts: u64,
}

impl ToWire for layers::EntryCounts {
    type Wire = EntryCounts;
    fn to_wire(&self) -> EntryCounts {
        let layers::EntryCounts {
            files,
            dirs,
            symlinks,
            hardlinks,
            special,
            whiteouts,
            opaque_whiteouts,
        } = *self;
        EntryCounts {
            files,
            dirs,
            symlinks,
            hardlinks,
            special,
            whiteouts,
            opaque_whiteouts,
        }
    }
}

/// Entries of the final filesystem, by kind.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FinalCounts {
    pub files: u64,
    pub hardlinks: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Devices and FIFOs.
    pub special: u64,
}

impl ToWire for layers::FinalCounts {
    type Wire = FinalCounts;
    fn to_wire(&self) -> FinalCounts {
        let layers::FinalCounts {
            files,
            hardlinks,
            dirs,
            symlinks,
            special,
        } = *self;
        FinalCounts {
            files,
            hardlinks,
            dirs,
            symlinks,
            special,
        }
    }
}

/// What a layer changes in the filesystem below it (docs/metrics.md).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LayerChanges {
    /// Non-directories at paths no lower layer showed.
    pub added_files: u64,
    pub added_bytes: u64,
    /// Non-directories replacing a lower layer's entry.
    pub modified_files: u64,
    pub modified_bytes: u64,
    /// Bytes of the lower copies those replace.
    pub replaced_bytes: u64,
    /// Lower paths hidden by this layer's whiteouts.
    pub removed_paths: u64,
    /// Distinct bytes those whiteouts hide.
    pub removed_bytes: u64,
    /// Whiteouts naming nothing below.
    pub whiteouts_without_target: u64,
    /// Paths written twice within this layer.
    pub duplicate_paths: u64,
    /// Hard links whose target neither a lower layer nor an earlier entry shows.
    pub dangling_hard_links: u64,
    /// Bytes this layer shipped that the final filesystem does not show.
    pub redundant_bytes: u64,
}

impl ToWire for layers::LayerChanges {
    type Wire = LayerChanges;
    fn to_wire(&self) -> LayerChanges {
        let layers::LayerChanges {
            added_files,
            added_bytes,
            modified_files,
            modified_bytes,
            replaced_bytes,
            removed_paths,
            removed_bytes,
            whiteouts_without_target,
            duplicate_paths,
            dangling_hard_links,
            redundant_bytes,
        } = *self;
        LayerChanges {
            added_files,
            added_bytes,
            modified_files,
            modified_bytes,
            replaced_bytes,
            removed_paths,
            removed_bytes,
            whiteouts_without_target,
            duplicate_paths,
            dangling_hard_links,
            redundant_bytes,
        }
    }
}

/// Why the last lost copy at a path is gone, and which layer hid it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LossCause {
    Overwritten { by_layer: u32 },
    Deleted { by_layer: u32 },
    HiddenByOpaque { by_layer: u32 },
    ParentReplaced { by_layer: u32 },
}

impl ToWire for layers::LossCause {
    type Wire = LossCause;
    fn to_wire(&self) -> LossCause {
        match *self {
            layers::LossCause::Overwritten { by_layer } => LossCause::Overwritten { by_layer },
            layers::LossCause::Deleted { by_layer } => LossCause::Deleted { by_layer },
            layers::LossCause::HiddenByOpaque { by_layer } => LossCause::HiddenByOpaque { by_layer },
            layers::LossCause::ParentReplaced { by_layer } => LossCause::ParentReplaced { by_layer },
        }
    }
}

/// What the bottom layers are: the base image.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BaseImage {
    /// Layers `0..layers` are the base image.
    pub layers: usize,
    /// `history` (up to the base's closing CMD/ENTRYPOINT), `--base` (the given image's
    /// diff_ids) or `unknown`.
    pub how: &'static str,
    /// `PRETTY_NAME` of the final `/etc/os-release`.
    pub os: Option<String>,
    pub identity: BaseIdentity,
}

impl ToWire for waste::BaseImage {
    type Wire = BaseImage;
    fn to_wire(&self) -> BaseImage {
        BaseImage {
            layers: self.layers,
            how: self.how,
            os: self.os.clone(),
            identity: self.identity.to_wire(),
        }
    }
}

/// What the image is built on, read from its final filesystem (docs/rules.md).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BaseIdentity {
    /// `ID` of os-release: `debian`, `ubuntu`, `alpine`, ...
    pub distro: Option<String>,
    /// `VERSION_ID`, else `VERSION_CODENAME`.
    pub version: Option<String>,
    pub codename: Option<String>,
    pub variant: BaseVariant,
    /// `glibc` or `musl`.
    pub libc: Option<&'static str>,
    /// `/bin/sh` exists.
    pub shell: bool,
    /// `apt` or `apk`.
    pub package_manager: Option<&'static str>,
    /// The Python interpreter the image runs (`/usr/local/bin/python3.12`).
    pub python: Option<String>,
    /// The Node.js the image runs (`/usr/local/bin/node`).
    pub node: Option<String>,
    /// The major version of a Node.js built into /usr/local.
    pub node_major: Option<u32>,
    pub compilers: Vec<Compiler>,
    /// pip packages with compiled modules.
    pub compiled_wheels: Vec<String>,
    /// In a musl image: pip packages built for glibc.
    pub glibc_wheels: Vec<String>,
    /// In a musl image: pip packages compiled from source there.
    pub source_built_wheels: Vec<String>,
    /// One line for people.
    pub summary: String,
}

impl ToWire for waste::BaseIdentity {
    type Wire = BaseIdentity;
    fn to_wire(&self) -> BaseIdentity {
        BaseIdentity {
            distro: self.distro.clone(),
            version: self.version.clone(),
            codename: self.codename.clone(),
            variant: self.variant.to_wire(),
            libc: self.libc,
            shell: self.shell,
            package_manager: self.package_manager,
            python: self.python.clone(),
            node: self.node.clone(),
            node_major: self.node_major,
            compilers: self.compilers.to_wire(),
            compiled_wheels: self.compiled_wheels.clone(),
            glibc_wheels: self.glibc_wheels.clone(),
            source_built_wheels: self.source_built_wheels.clone(),
            summary: self.summary.clone(),
        }
    }
}

/// A compiler command on the PATH.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Compiler {
    pub name: String,
    pub path: String,
    /// The base layers brought it.
    pub in_base: bool,
}

impl ToWire for waste::Compiler {
    type Wire = Compiler;
    fn to_wire(&self) -> Compiler {
        Compiler {
            name: self.name.clone(),
            path: self.path.clone(),
            in_base: self.in_base,
        }
    }
}

/// One category's bytes (docs/rules.md).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CategoryBytes {
    pub id: &'static str,
    pub title: &'static str,
    /// Distinct contents of the final filesystem in this category.
    pub final_bytes: u64,
    pub final_files: u64,
    /// Lost copies whose path falls in this category.
    pub redundant_bytes: u64,
}

impl ToWire for waste::CategoryBytes {
    type Wire = CategoryBytes;
    fn to_wire(&self) -> CategoryBytes {
        CategoryBytes {
            id: self.id,
            title: self.title,
            final_bytes: self.final_bytes,
            final_files: self.final_files,
            redundant_bytes: self.redundant_bytes,
        }
    }
}

/// An installed package and what it costs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Package {
    pub manager: Manager,
    /// As the database records it (pip names normalised: lower case, `-`).
    pub name: String,
    pub version: String,
    /// dpkg/apk: the architecture; pip: the site directory.
    pub location: String,
    /// Runtime dependencies as the database lists them (dpkg `Depends`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends: Vec<String>,
    /// Why it is in the image, as far as the image tells.
    pub reason: PackageReason,
    /// Σ distinct contents of its files in the final filesystem.
    pub bytes: u64,
    pub files: u64,
}

/// `kind`: `requested` (an install step of `layer` names it), `required_by` or
/// `recommended_by` (the installed `packages` that depend on it or recommend it),
/// `base_system` (Essential or Priority required), `unexplained`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PackageReason {
    Requested { layer: usize },
    RequiredBy { packages: Vec<String> },
    RecommendedBy { packages: Vec<String> },
    BaseSystem,
    Unexplained,
}

impl ToWire for waste::PackageReason {
    type Wire = PackageReason;
    fn to_wire(&self) -> PackageReason {
        match self {
            waste::PackageReason::Requested { layer } => PackageReason::Requested { layer: *layer },
            waste::PackageReason::RequiredBy(packages) => PackageReason::RequiredBy {
                packages: packages.clone(),
            },
            waste::PackageReason::RecommendedBy(packages) => PackageReason::RecommendedBy {
                packages: packages.clone(),
            },
            waste::PackageReason::BaseSystem => PackageReason::BaseSystem,
            waste::PackageReason::Unexplained => PackageReason::Unexplained,
        }
    }
}

impl ToWire for waste::Package {
    type Wire = Package;
    fn to_wire(&self) -> Package {
        Package {
            manager: self.manager.to_wire(),
            name: self.name.clone(),
            version: self.version.clone(),
            location: self.location.clone(),
            depends: self.depends.clone(),
            reason: self.reason.to_wire(),
            bytes: self.bytes,
            files: self.files,
        }
    }
}

/// What to change, priced in bytes (docs/rules.md).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub title: String,
    /// The layer that put most of these bytes there.
    pub layer: Option<usize>,
    /// That layer's instruction as a Dockerfile line.
    pub instruction: Option<String>,
    /// The largest paths concerned, directories aggregated.
    pub paths: Vec<PathBytes>,
    /// Bytes concerned.
    pub bytes: u64,
    /// Bytes the fix saves (never counting bytes a rebuild would keep).
    pub saves_bytes: u64,
    pub why: String,
    /// The fix as it would stand in a Dockerfile (comments where it is guidance).
    pub fix: String,
}

impl ToWire for waste::Finding {
    type Wire = Finding;
    fn to_wire(&self) -> Finding {
        Finding {
            id: self.id.to_wire(),
            severity: self.severity.to_wire(),
            title: self.title.clone(),
            layer: self.layer,
            instruction: self.instruction.clone(),
            paths: self.paths.to_wire(),
            bytes: self.bytes,
            saves_bytes: self.saves_bytes,
            why: self.why.clone(),
            fix: self.fix.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PathBytes {
    pub path: String,
    pub bytes: u64,
}

impl ToWire for waste::PathBytes {
    type Wire = PathBytes;
    fn to_wire(&self) -> PathBytes {
        PathBytes {
            path: self.path.clone(),
            bytes: self.bytes,
        }
    }
}

/// The image with every fix applied, each byte counted once (docs/projection.md).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Projection {
    /// Σ file bytes the image ships now (all layers).
    pub shipped_bytes: u64,
    /// What it would ship with every fix applied.
    pub projected_bytes: u64,
    pub saves_bytes: u64,
    /// The image `imgprof suggest` writes, part by part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<Rebuild>,
    /// Already built as a suggestion would build it.
    pub no_change: bool,
}

impl ToWire for waste::Projection {
    type Wire = Projection;
    fn to_wire(&self) -> Projection {
        Projection {
            shipped_bytes: self.shipped_bytes,
            projected_bytes: self.projected_bytes,
            saves_bytes: self.saves_bytes,
            rebuild: self.rebuild.to_wire(),
            no_change: self.no_change,
        }
    }
}

/// What `imgprof suggest` rebuilds and what the result ships.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Rebuild {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Ecosystem>,
    /// Distribution packages the runtime stage installs.
    pub runtime_packages: Vec<String>,
    /// Distribution packages the builder stage installs.
    pub build_packages: Vec<String>,
    /// Shared libraries the native modules link against, and the package shipping each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linked_libraries: Vec<LinkedLibrary>,
    /// Node: whether the build context has a `package-lock.json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lockfile: Option<bool>,
    /// Node: the `start` script run directly instead of `npm start`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_command: Option<Vec<String>>,
    /// What the rebuilt image ships; the projection is their sum.
    pub parts: Vec<Part>,
}

impl ToWire for waste::Rebuild {
    type Wire = Rebuild;
    fn to_wire(&self) -> Rebuild {
        Rebuild {
            dependencies: self.dependencies.to_wire(),
            runtime_packages: self.runtime_packages.clone(),
            build_packages: self.build_packages.clone(),
            linked_libraries: self.linked_libraries.to_wire(),
            lockfile: self.lockfile,
            start_command: self.start_command.clone(),
            parts: self.parts.to_wire(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LinkedLibrary {
    pub soname: String,
    pub package: String,
    /// One module that needs it.
    pub module: String,
}

impl ToWire for waste::LinkedLibrary {
    type Wire = LinkedLibrary;
    fn to_wire(&self) -> LinkedLibrary {
        LinkedLibrary {
            soname: self.soname.clone(),
            package: self.package.clone(),
            module: self.module.clone(),
        }
    }
}

/// One part of the rebuilt image.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Part {
    /// `base`, `runtime-packages`, `dependencies`, `application`, `other-steps`, `user`.
    pub part: &'static str,
    pub title: String,
    pub bytes: u64,
}

impl ToWire for waste::Part {
    type Wire = Part;
    fn to_wire(&self) -> Part {
        Part {
            part: self.part,
            title: self.title.clone(),
            bytes: self.bytes,
        }
    }
}
