//! The command line, as clap parses it.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "imgprof",
    version,
    about = "Where did the bytes of a container image go, which are waste, and what to write instead."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the size report of an image: totals, layers, largest files, redundancy.
    Report(ReportArgs),
    /// Browse an image in the terminal: layers, the file tree as of each layer, findings
    /// with their fixes, packages (keys: `?` in the view).
    Inspect(InspectArgs),
    /// Check an image against CI rules (.imgprof.toml, else .dive-ci, else defaults):
    /// exit 0 when every rule passes, 1 when one breaks, 2 on error.
    Check(ReportArgs),
    /// Write a Dockerfile that answers the findings: a builder stage, a slim runtime
    /// stage with a venv, runtime libraries instead of -dev packages, a non-root user;
    /// each instruction commented with the finding and the bytes it saves.
    Suggest(SuggestArgs),
    /// List the platforms a multi-platform image offers, with each one's compressed size
    /// and the file bytes its layers ship.
    Platforms(PlatformsArgs),
    /// Compare two images (any sources, mixed): totals, layers side by side, and the
    /// bytes by category, package and file that B adds or drops; findings fixed and
    /// introduced. Layers the two share are read once. With `--fail-if-grows`, exit 1
    /// when B grew over A by more than the limit.
    Compare(CompareArgs),
    /// Show or empty the layer cache: the analysis of registry layers, kept by digest so
    /// a second run downloads only the layers it has not seen (docs/cache.md).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// List the entries of the final filesystem (or of one layer, or every layer's
    /// changes), one row each: path, layer, kind, bytes, mode, uid, gid, link, category,
    /// package, whiteout. CSV with a header, or JSON Lines.
    Files(FilesArgs),
    /// Print a completion script for SHELL, generated from this command line:
    /// `imgprof completions bash > /etc/bash_completion.d/imgprof`, or for zsh into a
    /// directory of `$fpath` as `_imgprof`.
    Completions(CompletionsArgs),
    /// Print imgprof's man page (roff), generated from this command line; with `--dir`,
    /// write it and one page per command (`imgprof-report.1`, ...) there instead.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only this layer's entries (its changeset, whiteouts included), by the report's
    /// layer index.
    #[arg(long, value_name = "N", conflicts_with = "changes")]
    pub layer: Option<usize>,
    /// Every layer's entries, bottom layer first, instead of the final filesystem.
    #[arg(long)]
    pub changes: bool,
    #[arg(long, value_enum, default_value_t = FilesFormat::Csv)]
    pub format: FilesFormat,
    #[command(flatten)]
    pub reading: ReadingArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilesFormat {
    Csv,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A directory (made if missing) for `imgprof.1` and a page per command.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Where the cache is, how many entries it holds and their bytes, per generation
    /// (the current one, and stale ones of other imgprof versions).
    Info(CacheDirArg),
    /// Remove cache entries: all of them, or only those `--stale` or `--older-than`
    /// select (either condition removes an entry).
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct CacheDirArg {
    /// The cache directory (default: $IMGPROF_CACHE_DIR, else $XDG_CACHE_HOME/imgprof,
    /// else ~/.cache/imgprof).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub dir: CacheDirArg,
    /// Remove entries that this imgprof does not read (written by another version, or
    /// for another capture policy).
    #[arg(long)]
    pub stale: bool,
    /// Remove entries not used for more than DAYS days.
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<u32>,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Neither read nor write the layer cache: download and analyse every layer.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub dir: CacheDirArg,
}

/// How layers are read, for every command that reads them.
#[derive(Debug, Args)]
pub struct ReadingArgs {
    /// Layers analysed at once (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Stop reading a compressed layer that expands past RATIO times its stored size
    /// (and past 1 GiB): a decompression bomb. 0 turns the check off [default: 250, or
    /// IMGPROF_MAX_EXPANSION].
    #[arg(long, value_name = "RATIO")]
    pub max_expansion: Option<u64>,
    #[command(flatten)]
    pub cache: CacheArgs,
}

impl ReadingArgs {
    pub fn jobs(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The limits from `--max-expansion`, else `IMGPROF_MAX_EXPANSION`, else the default.
    pub fn limits(&self) -> anyhow::Result<imgprof_layers::Limits> {
        let ratio = match (self.max_expansion, std::env::var("IMGPROF_MAX_EXPANSION")) {
            (Some(ratio), _) => ratio,
            (None, Ok(value)) => value.trim().parse().map_err(|_| {
                anyhow::anyhow!("IMGPROF_MAX_EXPANSION={value:?}: expected a whole number (0 turns the check off)")
            })?,
            (None, Err(_)) => imgprof_layers::DEFAULT_MAX_EXPANSION,
        };
        Ok(imgprof_layers::Limits {
            max_expansion: (ratio > 0).then_some(ratio),
        })
    }
}

/// What the analysis is told, for every command that analyses an image.
#[derive(Debug, Args)]
pub struct AnalysisArgs {
    /// The rules file (default: .imgprof.toml, else .dive-ci, in the working directory):
    /// its `exclude_paths` and `severity` apply to every command; its limits to `check`
    /// and `report --check`.
    #[arg(long, value_name = "PATH")]
    pub config: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The image: a `docker save` tarball, an OCI layout directory (`DIR` or `DIR:TAG`),
    /// an oci-archive, or a reference to a registry on this machine. Transport prefixes
    /// `docker-archive:`, `oci:` and `oci-archive:` are accepted too; `docker-daemon:NAME`
    /// and `podman:NAME` read an image a local engine holds (DOCKER_HOST, CONTAINER_HOST),
    /// `containerd:NAME` one in containerd's store (CONTAINERD_ROOT, CONTAINERD_NAMESPACE).
    pub source: String,
    /// The platform to pick from a multi-platform image, as `os/arch[/variant]`
    /// (default: this machine's).
    #[arg(long)]
    pub platform: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// How to reach registries; the same flags on every command that reads an image.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// A registry (`host[:port]`) to reach over plain HTTP, as loopback registries are;
    /// repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure: Vec<String>,
    /// Seconds a registry connection may stall before imgprof gives up on the read (a
    /// layer download then resumes where it broke off).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// A PEM file of CA certificates to trust besides the system's (a registry with a
    /// private CA); repeatable. `SSL_CERT_FILE` replaces the system's roots instead.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<std::path::PathBuf>,
    /// Connect to HOST:PORT at ADDR instead, as curl's `--resolve HOST:PORT:ADDR`;
    /// `HOST:PORT:ADDR:PORT2` also changes the port (curl's `--connect-to`). TLS still
    /// checks HOST's certificate. Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR[:PORT]")]
    pub resolve: Vec<imgprof_source::registry::ConnectTo>,
}

impl SourceArgs {
    /// How to talk to registries, as these arguments say.
    pub fn registry_options(&self) -> imgprof_source::RegistryOptions {
        self.registry.options()
    }
}

impl RegistryArgs {
    pub fn options(&self) -> imgprof_source::RegistryOptions {
        imgprof_source::RegistryOptions {
            insecure: self.insecure.clone(),
            stall_timeout: std::time::Duration::from_secs(self.timeout.max(1)),
            ca_certs: self.ca_cert.clone(),
            connect_to: self.resolve.clone(),
            ..imgprof_source::RegistryOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Print one JSON document (see docs/report-schema.md); the same as `--format json`.
    #[arg(long)]
    pub json: bool,
    /// Output format: a readable table, JSON (docs/report-schema.md), or Markdown for a
    /// pull-request comment.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The Dockerfile that built the image: SARIF results point at the line of the
    /// instruction that made each finding's layer.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<std::path::PathBuf>,
    /// No warnings on stderr; `check` prints only the rules that broke.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How many entries the largest-file and redundant-path lists keep.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// The image this one was built FROM (any source imgprof reads): its layers are
    /// marked as the base instead of guessing from history.
    #[arg(long, value_name = "SOURCE")]
    pub base: Option<String>,
    /// The image to compare against for the `max_growth` rule (e.g. the last release).
    #[arg(long, value_name = "SOURCE")]
    pub baseline: Option<String>,
    /// Also check the CI rules (as `imgprof check`) and exit 1 when one breaks.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

#[derive(Debug, Args)]
pub struct PlatformsArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only the compressed sizes, from the manifests: no layer is read.
    #[arg(long)]
    pub compressed_only: bool,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Image A, the one before (e.g. the last release): any source `report` reads.
    pub a: String,
    /// Image B, the one after (e.g. the candidate).
    pub b: String,
    /// The platform, as `os/arch[/variant]` (default: this machine's): given once, of
    /// both images; given twice, of A then B (`compare REF --platform linux/amd64 REF
    /// --platform linux/arm64`).
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Vec<String>,
    /// The platform of image A, overriding `--platform`.
    #[arg(long, value_name = "PLATFORM")]
    pub platform_a: Option<String>,
    /// The platform of image B, overriding `--platform`.
    #[arg(long, value_name = "PLATFORM")]
    pub platform_b: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print one JSON document (docs/report-schema.md, "compare"); as `--format json`.
    #[arg(long)]
    pub json: bool,
    /// Output format: a readable table, JSON, or Markdown for a pull-request comment
    /// (default: the side-by-side view on a terminal, else the table).
    #[arg(long, value_enum)]
    pub format: Option<CompareFormat>,
    /// The side-by-side terminal view, as on a terminal without `--format`.
    #[arg(long, conflicts_with_all = ["json", "format"])]
    pub tui: bool,
    /// Exit 1 when B's shipped (uncompressed) bytes exceed A's by more than this: a size
    /// (`50MB`, `1GiB`) or a share of A's (`10%`).
    #[arg(long, value_name = "BYTES|PERCENT")]
    pub fail_if_grows: Option<imgprof_report::rules::Growth>,
    /// How many lines the package and file lists keep (the rest is summed in one line).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// No warnings or progress on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

#[derive(Debug, Args)]
pub struct SuggestArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The Dockerfile that built the image: keep its instructions and change only what
    /// the findings require; prints a unified diff (with `--full`, the whole file).
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<std::path::PathBuf>,
    /// With `--dockerfile`: print the whole suggested Dockerfile instead of the diff.
    #[arg(long, requires = "dockerfile")]
    pub full: bool,
    /// Print the suggested .dockerignore instead of the Dockerfile.
    #[arg(long)]
    pub dockerignore: bool,
    /// The image this one was built FROM (as for `report --base`).
    #[arg(long, value_name = "SOURCE")]
    pub base: Option<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

impl CompareArgs {
    /// The source arguments of image A (`first`) or B.
    pub fn side(&self, first: bool) -> SourceArgs {
        let (source, platform) = if first {
            (&self.a, &self.platform_a)
        } else {
            (&self.b, &self.platform_b)
        };
        SourceArgs {
            source: source.clone(),
            platform: platform.clone().or_else(|| match self.platform.as_slice() {
                [both] => Some(both.clone()),
                [a, b, ..] => Some(if first { a.clone() } else { b.clone() }),
                [] => None,
            }),
            registry: self.registry.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The image this one was built FROM (any source imgprof reads): its layers are
    /// marked as the base instead of guessing from history.
    #[arg(long, value_name = "SOURCE")]
    pub base: Option<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
    /// SARIF 2.1.0 for code-scanning UIs (with `--dockerfile`, results point at its lines).
    Sarif,
    /// GitHub workflow commands: an annotation per finding and broken rule (with
    /// `--dockerfile`, on its lines).
    Github,
    /// GitLab's Code Quality report (`artifacts: reports: codequality`).
    Gitlab,
    /// JUnit XML: a test case per CI rule and per finding rule (`reports: junit`,
    /// Jenkins' `junit` step, GitHub test-report actions).
    Junit,
    /// The document `dive --json` writes (dive 0.13.1): layers with their file lists,
    /// efficiency, inefficient files; for scripts written for dive.
    DiveJson,
}
