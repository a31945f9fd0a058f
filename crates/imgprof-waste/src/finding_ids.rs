//! Every finding imgprof reports, in one table: its id, title, severity, category, when it
//! is reported, why it costs, the kind of fix and what the fix saves. Findings, `suggest`,
//! the CI rules, SARIF and `docs/rules.md` (generated from [`FINDING_RULES`] by `cargo
//! xtask docs`; imgprof-report's test `generated_docs_rules_md` fails when the two drift) all read it here.

use crate::Severity;

/// A finding's identity. Its code (`IMG001`) is what reports, SARIF and `.imgprof.toml`
/// name; declaration order is code order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingId {
    /// IMG001
    Toolchain,
    /// IMG002
    DevPackages,
    /// IMG003
    PackageCache,
    /// IMG004
    AptLists,
    /// IMG005
    OsPackageCache,
    /// IMG006
    VersionControl,
    /// IMG007
    BuildContext,
    /// IMG008
    Secrets,
    /// IMG009
    DeletedLater,
    /// IMG010
    OverwrittenLater,
    /// IMG011
    MetadataRewrite,
    /// IMG012
    Models,
    /// IMG013
    RunsAsRoot,
    /// IMG014
    FullBase,
    /// IMG015
    Docs,
    /// IMG016
    Bytecode,
    /// IMG017
    DuplicateContent,
    /// IMG018
    LayerOrder,
    /// IMG019
    MuslWheels,
    /// IMG020
    ShellFormCommand,
    /// IMG021
    Recommends,
}

/// How a finding's severity is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grading {
    /// Always this severity.
    Fixed(Severity),
    /// `warning` from a megabyte of waste, `info` below.
    BySize,
    /// `error` when a wheel is a glibc (`manylinux`) build, `info` when all were built
    /// from source (IMG019).
    ByWheelKind,
}

/// What the fix is, as the user would apply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    /// The step that made the layer, rewritten (`--no-cache-dir`, a cleanup in the same RUN).
    StepRewrite,
    /// Entries in `.dockerignore`.
    Dockerignore,
    /// A builder stage and a runtime stage.
    MultiStage,
    /// Another `FROM`.
    BaseImage,
    /// The same steps in another order.
    Reorder,
    /// Steps added (a user, `USER`).
    AddSteps,
    /// Advice in comments: the change depends on what the image is for.
    Guidance,
}

impl FixKind {
    pub fn describe(self) -> &'static str {
        match self {
            FixKind::StepRewrite => "the step, rewritten",
            FixKind::Dockerignore => "`.dockerignore` entries",
            FixKind::MultiStage => "a multi-stage build",
            FixKind::BaseImage => "another `FROM`",
            FixKind::Reorder => "the steps reordered",
            FixKind::AddSteps => "steps added",
            FixKind::Guidance => "guidance (comments)",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct FindingRule {
    pub id: FindingId,
    /// The rule's name; a finding's own title adds its figures.
    pub title: &'static str,
    pub grading: Grading,
    /// The categories whose bytes it counts (docs/rules.md, "Categories"); none when it
    /// counts by another measure (packages, lost copies, the config).
    pub categories: &'static [&'static str],
    /// When it is reported (markdown).
    pub when: &'static str,
    pub why: &'static str,
    pub fix_kind: FixKind,
    /// What the fix saves (markdown).
    pub saves: &'static str,
    /// Whether it calls for a change to the image's own Dockerfile (then `suggest` does
    /// not say "no change"); bytecode and duplicate contents are facts to know.
    pub calls_for_a_change: bool,
    /// It concerns the whole image rather than the layer it names (a base layer's finding
    /// is otherwise the base's, not the user's Dockerfile's).
    pub whole_image: bool,
}

use FindingId::*;
use FixKind::*;
use Grading::*;

const fn row(id: FindingId, title: &'static str, grading: Grading, categories: &'static [&'static str]) -> FindingRule {
    FindingRule {
        id,
        title,
        grading,
        categories,
        when: "",
        why: "",
        fix_kind: Guidance,
        saves: "",
        calls_for_a_change: true,
        whole_image: false,
    }
}

/// Every finding, in code order.
pub const FINDING_RULES: [FindingRule; 21] = [
    FindingRule {
        when: "`toolchain`, `headers`, `static-libs` in layers above the base",
        why: "The build toolchain is needed to compile wheels and C extensions, not to run them.",
        fix_kind: MultiStage,
        saves: "those files",
        ..row(
            Toolchain,
            "Compilers, headers and static libraries in the final image",
            BySize,
            &["toolchain", "headers", "static-libs"],
        )
    },
    FindingRule {
        when: "`-dev` Debian packages above the base; names the runtime libraries they depend on (`libpq-dev` -> `libpq5`)",
        why: "`-dev` packages carry headers, static libraries and linker symlinks for building; at run time only the shared libraries they depend on are needed.",
        fix_kind: MultiStage,
        saves: "the packages' files",
        ..row(DevPackages, "Development packages installed", BySize, &[])
    },
    FindingRule {
        when: "`package-cache` (any layer)",
        why: "Nothing installs again inside the image, so every pull carries the download cache for nothing.",
        fix_kind: StepRewrite,
        saves: "the cache",
        ..row(
            PackageCache,
            "Package-manager download cache left in the image",
            BySize,
            &["package-cache"],
        )
    },
    FindingRule {
        when: "`apt-lists` above the base",
        why: "The lists are only needed to install, and are stale by the next build.",
        fix_kind: StepRewrite,
        saves: "the lists",
        ..row(AptLists, "apt package lists left in the image", BySize, &["apt-lists"])
    },
    FindingRule {
        when: "`os-package-cache` above the base",
        why: "The packages are installed already; caches rebuild on demand.",
        fix_kind: StepRewrite,
        saves: "the caches",
        ..row(
            OsPackageCache,
            "Downloaded packages and package caches left in the image",
            BySize,
            &["os-package-cache"],
        )
    },
    FindingRule {
        when: "`vcs` above the base",
        why: "The repository's history ships; the service never reads it.",
        fix_kind: Dockerignore,
        saves: "the repository data",
        ..row(
            VersionControl,
            "Version-control data copied into the image",
            BySize,
            &["vcs"],
        )
    },
    FindingRule {
        when: "`build-context` leftovers; the fix is a `.dockerignore` built from what is there",
        why: "`COPY . .` copies the whole build context: tests, caches, editor and CI files.",
        fix_kind: Dockerignore,
        saves: "the files",
        ..row(
            BuildContext,
            "Build-context leftovers copied into the image",
            BySize,
            &["build-context"],
        )
    },
    FindingRule {
        when: "`secrets` in the final filesystem, or deleted in a later layer (still shipped)",
        why: "Anyone who can pull the image can read them, in every layer that ever held them.",
        fix_kind: Dockerignore,
        saves: "0 (security)",
        ..row(Secrets, "Secrets in the image", Fixed(Severity::Error), &["secrets"])
    },
    FindingRule {
        when: "files a layer ships and a later layer deletes (file, directory or opaque whiteouts): one finding per shipping layer",
        why: "A deletion hides files from the container, but the layer that added them still carries them on every pull.",
        fix_kind: StepRewrite,
        saves: "the deleted copies",
        ..row(
            DeletedLater,
            "Files shipped by one layer and deleted by a later one",
            BySize,
            &[],
        )
    },
    FindingRule {
        when: "files a layer ships and a later layer overwrites: one finding per shipping layer",
        why: "Both copies ship and only the last is seen.",
        fix_kind: Guidance,
        saves: "the overwritten copies",
        ..row(
            OverwrittenLater,
            "Files shipped by one layer and overwritten by a later one",
            BySize,
            &[],
        )
    },
    FindingRule {
        when: "a later layer ships files again with the same content (same size and xxh3 hash), only owner or mode changed: the `RUN chown -R` / `chmod -R` pattern; fix `COPY --chown` / `COPY --chmod`. One finding per (shipping layer, rewriting layer); these copies are not repeated under IMG010",
        why: "Changing a file's owner or mode in a later layer ships the whole file again.",
        fix_kind: StepRewrite,
        saves: "the re-shipped copies",
        ..row(
            MetadataRewrite,
            "Files shipped again only to change owner or mode",
            BySize,
            &[],
        )
    },
    FindingRule {
        when: "`models` above the base",
        why: "Every image version re-ships them; they change on another schedule than the code.",
        fix_kind: Guidance,
        saves: "the files",
        ..row(
            Models,
            "Large model or data files inside the image",
            BySize,
            &["models"],
        )
    },
    FindingRule {
        when: "no `USER`, or `USER root`/`0`",
        why: "A process running as root inside the container is root on any volume it can reach and one kernel bug away from the host.",
        fix_kind: AddSteps,
        saves: "0 (security)",
        whole_image: true,
        ..row(RunsAsRoot, "The container runs as root", Fixed(Severity::Warning), &[])
    },
    FindingRule {
        when: "the base layers hold 10 MB or more of `toolchain`, `headers`, `static-libs` and `docs` together: a -slim base",
        why: "A full base ships compilers, headers and documentation a service does not need; its -slim variant leaves them out.",
        fix_kind: BaseImage,
        saves: "those files",
        whole_image: true,
        ..row(
            FullBase,
            "The base image is a full image; its -slim variant leaves these out",
            BySize,
            &["toolchain", "headers", "static-libs", "docs"],
        )
    },
    FindingRule {
        when: "`docs` above the base",
        why: "Nobody reads them in a container; package test suites never run there.",
        fix_kind: Guidance,
        saves: "the files",
        ..row(
            Docs,
            "Documentation, man pages, locales and package test suites",
            BySize,
            &["docs"],
        )
    },
    FindingRule {
        when: "`bytecode`: stdlib / packages / application split; only `.pyc` whose source is gone, or an `.opt-N.pyc` beside the plain one, counts as removable",
        why: "Bytecode is usually worth keeping (faster start-up); stale or duplicated bytecode is waste.",
        fix_kind: Guidance,
        saves: "the removable bytecode",
        calls_for_a_change: false,
        ..row(Bytecode, "Python bytecode", Fixed(Severity::Info), &["bytecode"])
    },
    FindingRule {
        when: "the same content (size and xxh3 hash) at several paths of the final filesystem, among files in `other` or `python-packages` that no Debian/Alpine package owns",
        why: "Identical files at several paths each take their full size in the layers.",
        fix_kind: Guidance,
        saves: "every copy but the first (by path)",
        calls_for_a_change: false,
        ..row(DuplicateContent, "The same content at several paths", BySize, &[])
    },
    FindingRule {
        when: "layer order: a broad `COPY . .` / `ADD . /src` (above the base) before a dependency install that reads a manifest (`pip`/`uv pip install -r FILE`, `uv sync`, `poetry install`, `pipenv install`, `npm ci`/`npm install`, `yarn`, `pnpm install`, `bundle install`, `go mod download`, `composer install`) or an OS install (`apt-get install`, `apk add`): every code change re-runs them. `bytes` is what those layers hold (rebuilt, pushed and pulled on every release); the fix copies the manifest first",
        why: "Any change to the copied code invalidates the cache of every step after it, so the dependency layers are rebuilt, pushed and pulled on every release.",
        fix_kind: Reorder,
        saves: "0 (not a size fix)",
        ..row(
            LayerOrder,
            "Dependencies installed after the whole build context is copied",
            Fixed(Severity::Warning),
            &[],
        )
    },
    FindingRule {
        when: "in a musl (Alpine) image: pip packages whose `WHEEL` tags are `manylinux` (glibc builds: `error`), or `linux_*` (compiled from source there: `info`)",
        why: "manylinux wheels are built against glibc and fail or misbehave on musl; wheels compiled from source need a toolchain and a slow build.",
        fix_kind: BaseImage,
        saves: "0",
        ..row(
            MuslWheels,
            "Python wheels that do not suit a musl (Alpine) image",
            ByWheelKind,
            &[],
        )
    },
    FindingRule {
        when: "a shell-form `CMD`/`ENTRYPOINT` (`/bin/sh -c ...`) without tini, dumb-init or catatonit: the shell is PID 1 and does not forward SIGTERM",
        why: "`docker stop` sends SIGTERM to PID 1; a shell does not pass it on, so the service is killed after the grace period instead of shutting down.",
        fix_kind: StepRewrite,
        saves: "0",
        ..row(
            ShellFormCommand,
            "Shell-form CMD or ENTRYPOINT: the shell is PID 1",
            Fixed(Severity::Warning),
            &[],
        )
    },
    FindingRule {
        when: "an `apt-get install` above the base without `--no-install-recommends`: the dpkg packages that are neither in the base's own status file nor reachable from the requested packages and the base's through `Pre-Depends`/`Depends` (every alternative, through `Provides`), so only a recommendation brought them",
        why: "apt installs recommended packages by default; a service rarely needs them.",
        fix_kind: StepRewrite,
        saves: "their files",
        ..row(Recommends, "Packages installed only as recommendations", BySize, &[])
    },
];

impl FindingId {
    pub const ALL: [FindingId; 21] = {
        let mut all = [Toolchain; 21];
        let mut i = 0;
        while i < 21 {
            all[i] = FINDING_RULES[i].id;
            i += 1;
        }
        all
    };

    /// Its row of [`FINDING_RULES`].
    pub fn rule(self) -> &'static FindingRule {
        &FINDING_RULES[self as usize]
    }

    /// `IMG001`, ...
    pub fn code(self) -> &'static str {
        const CODES: [&str; 21] = [
            "IMG001", "IMG002", "IMG003", "IMG004", "IMG005", "IMG006", "IMG007", "IMG008", "IMG009", "IMG010",
            "IMG011", "IMG012", "IMG013", "IMG014", "IMG015", "IMG016", "IMG017", "IMG018", "IMG019", "IMG020",
            "IMG021",
        ];
        CODES[self as usize]
    }

    /// The id a code names (`IMG008`), if any.
    pub fn from_code(code: &str) -> Option<FindingId> {
        FindingId::ALL.into_iter().find(|id| id.code() == code)
    }

    /// Its section of docs/rules.md.
    pub fn docs_anchor(self) -> String {
        format!("rules.md#{}", self.code().to_ascii_lowercase())
    }
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Grading {
    /// The severity of a finding concerning `bytes`. For [`Grading::ByWheelKind`], `info`:
    /// IMG019 raises it when it finds a glibc wheel.
    pub fn of_bytes(self, bytes: u64) -> Severity {
        match self {
            Fixed(severity) => severity,
            BySize if bytes >= crate::findings::WARN_BYTES => Severity::Warning,
            BySize | ByWheelKind => Severity::Info,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Fixed(Severity::Error) => "error",
            Fixed(Severity::Warning) => "warning",
            Fixed(Severity::Info) => "info",
            BySize => "warning from 1 MB, else info",
            ByWheelKind => "error for glibc wheels, else info",
        }
    }
}

/// The findings section of docs/rules.md: a summary table, then one anchored entry per
/// finding. Between [`DOCS_BEGIN`] and [`DOCS_END`] in that file.
pub fn docs_findings_section() -> String {
    let mut out = String::from("| id | title | severity | category | fix | bytes saved |\n|---|---|---|---|---|---|\n");
    for rule in &FINDING_RULES {
        out += &format!(
            "| [{code}](#{anchor}) | {title} | {severity} | {category} | {fix} | {saves} |\n",
            code = rule.id.code(),
            anchor = rule.id.code().to_ascii_lowercase(),
            title = rule.title,
            severity = rule.grading.describe(),
            category = if rule.categories.is_empty() {
                "–".to_owned()
            } else {
                rule.categories
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            fix = rule.fix_kind.describe(),
            saves = rule.saves,
        );
    }
    for rule in &FINDING_RULES {
        out += &format!(
            "\n<a id=\"{anchor}\"></a>\n### {code}: {title}\n\n**When:** {when}.\n\n**Why:** {why}\n\n**Fix:** {fix}{scope}.\n",
            anchor = rule.id.code().to_ascii_lowercase(),
            code = rule.id.code(),
            title = rule.title,
            when = rule.when,
            why = rule.why,
            fix = rule.fix_kind.describe(),
            scope = match (rule.calls_for_a_change, rule.whole_image) {
                (false, _) => "; informational: `suggest` does not rewrite the Dockerfile for it alone",
                (true, true) => "; concerns the whole image, base layers included",
                (true, false) => "",
            },
        );
    }
    out
}

pub const DOCS_BEGIN: &str =
    "<!-- findings: generated from crates/imgprof-waste/src/finding_ids.rs by `cargo xtask docs`; do not edit -->";
pub const DOCS_END: &str = "<!-- end of findings -->";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_code_order() {
        for (i, rule) in FINDING_RULES.iter().enumerate() {
            assert_eq!(rule.id as usize, i, "{:?} is row {i}", rule.id);
            assert_eq!(rule.id.code(), format!("IMG{:03}", i + 1));
            assert!(
                !rule.when.is_empty() && !rule.why.is_empty() && !rule.saves.is_empty(),
                "{:?}",
                rule.id
            );
            assert_eq!(FindingId::from_code(rule.id.code()), Some(rule.id));
        }
        assert_eq!(FindingId::from_code("IMG099"), None);
    }

    #[test]
    fn every_category_named_exists() {
        for category in FINDING_RULES.iter().flat_map(|r| r.categories) {
            assert!(crate::categories::rule(category).is_some(), "{category}");
        }
    }
}
