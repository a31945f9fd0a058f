//! Findings: what to change, priced in bytes. Each has a stable id, a severity, the layer
//! and instruction responsible, the paths, the bytes concerned, why, a Dockerfile fix and
//! the bytes that fix saves. `docs/rules.md` lists them all.

use imgprof_source::history::{Instruction, Run};
use std::collections::{BTreeMap, HashMap, HashSet};

use imgprof_layers::{Inode, LossCause, LostCopy};

use crate::packages::Manager;
use crate::{Analysis, FindingId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// As the text report and the TUI print it.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PathBytes {
    pub path: String,
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub title: String,
    /// The layer that put most of these bytes there.
    pub layer: Option<usize>,
    pub instruction: Option<String>,
    /// The largest paths concerned, directories aggregated.
    pub paths: Vec<PathBytes>,
    /// Bytes concerned.
    pub bytes: u64,
    /// Bytes the fix saves (never counting bytes a rebuild would keep).
    pub saves_bytes: u64,
    pub why: String,
    pub fix: String,
    /// What applying the fix removes, for the projection (each byte once across fixes).
    pub removes: Removes,
}

/// What a fix takes out of the image: contents of the final filesystem and lost copies
/// (redundant bytes), each by the (layer, entry) that shipped it.
#[derive(Debug, Clone, Default)]
pub struct Removes {
    pub inodes: Vec<Inode>,
}

/// Below this, a waste finding is informational.
pub(crate) const WARN_BYTES: u64 = 1_000_000;
const TOP_PATHS: usize = 5;

/// A shipped copy of file content, in the final filesystem or lost (redundant), with
/// its category.
pub(crate) struct Classified<'a> {
    pub path: &'a str,
    pub inode: Inode,
    pub layer: u32,
    pub bytes: u64,
    pub category: &'static str,
}

/// Groups paths under their common directory plus one level, largest first.
pub fn aggregate_paths<'p>(paths: impl IntoIterator<Item = (&'p str, u64)>) -> Vec<PathBytes> {
    let paths: Vec<(&str, u64)> = paths.into_iter().collect();
    let Some((first, _)) = paths.first() else {
        return Vec::new();
    };
    let mut common: Vec<&str> = first.split('/').collect();
    common.pop();
    for (path, _) in &paths[1..] {
        let parts: Vec<&str> = path.split('/').collect();
        let same = common.iter().zip(&parts).take_while(|(a, b)| a == b).count();
        common.truncate(same.min(parts.len().saturating_sub(1)));
    }
    let depth = common.len() + 1;
    let mut groups: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for (path, bytes) in &paths {
        let key: Vec<&str> = path.split('/').take(depth).collect();
        let group = groups.entry(key.join("/")).or_default();
        group.0 += bytes;
        group.1 += 1;
    }
    let mut out: Vec<PathBytes> = groups
        .into_iter()
        .map(|(path, (bytes, _))| PathBytes {
            path: format!("/{path}"),
            bytes,
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    out.truncate(TOP_PATHS);
    out
}

/// The layer carrying most of `files`' bytes.
fn main_layer(files: &[&Classified<'_>]) -> Option<usize> {
    let mut by_layer: HashMap<u32, u64> = HashMap::new();
    for f in files {
        *by_layer.entry(f.layer).or_default() += f.bytes;
    }
    by_layer
        .into_iter()
        .max_by_key(|&(layer, bytes)| (bytes, std::cmp::Reverse(layer)))
        .map(|(l, _)| l as usize)
}

struct Draft<'f, 'a> {
    id: FindingId,
    title: String,
    files: Vec<&'f Classified<'a>>,
    why: String,
    fix: String,
}

impl Analysis<'_, '_> {
    fn instruction_of(&self, layer: Option<usize>) -> Option<String> {
        layer.and_then(|l| self.parsed(l)).map(ToString::to_string)
    }

    /// The instruction that made `layer`, if history has it.
    fn parsed(&self, layer: usize) -> Option<&Instruction> {
        self.instructions.get(layer).and_then(Option::as_ref)
    }

    /// The `RUN` that made `layer`, if one did.
    fn run_of(&self, layer: usize) -> Option<&Run> {
        self.parsed(layer).and_then(Instruction::as_run)
    }

    fn finish(&self, d: Draft<'_, '_>) -> Option<Finding> {
        if d.files.is_empty() {
            return None;
        }
        let bytes: u64 = d.files.iter().map(|f| f.bytes).sum();
        let layer = main_layer(&d.files);
        Some(Finding {
            id: d.id,
            severity: d.id.rule().grading.of_bytes(bytes),
            title: d.title,
            layer,
            instruction: self.instruction_of(layer),
            paths: aggregate_paths(d.files.iter().map(|f| (f.path, f.bytes))),
            bytes,
            saves_bytes: bytes,
            why: d.why,
            fix: d.fix,
            removes: Removes {
                inodes: d.files.iter().map(|f| f.inode).collect(),
            },
        })
    }

    /// Final-filesystem files of these categories, in the base layers or above them.
    fn category_files(&self, categories: &[&str], base: bool) -> Vec<&Classified<'_>> {
        self.classified
            .iter()
            .filter(|f| categories.contains(&f.category) && ((f.layer as usize) < self.base.layers) == base)
            .collect()
    }

    /// The same, plus lost copies of these categories: deleted later, they still ship.
    fn category_copies(&self, categories: &[&str], base: bool) -> Vec<&Classified<'_>> {
        let mut files = self.category_files(categories, base);
        files.extend(
            self.lost
                .iter()
                .filter(|f| categories.contains(&f.category) && ((f.layer as usize) < self.base.layers) == base),
        );
        files
    }

    pub(crate) fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        out.extend(self.toolchain_finding());
        out.extend(self.dev_packages_finding());
        out.extend(self.cache_finding());
        out.extend(self.simple_category_findings());
        out.extend(self.secret_findings());
        out.extend(self.lost_copy_findings());
        out.extend(self.metadata_rewrite_findings());
        out.extend(self.duplicate_content_finding());
        out.extend(self.full_base_finding());
        out.extend(self.bytecode_finding());
        out.extend(self.user_finding());
        out.extend(self.layer_order_finding());
        out.extend(self.musl_wheel_finding());
        out.extend(self.shell_form_finding());
        out.extend(self.recommends_finding());
        for finding in &mut out {
            if let Some(fix) = self.applicable_fix(finding) {
                finding.fix = fix;
            }
        }
        out.sort_by(|a, b| {
            b.saves_bytes
                .cmp(&a.saves_bytes)
                .then(b.severity.cmp(&a.severity))
                .then(a.id.cmp(&b.id))
        });
        out
    }

    /// A fix that can be applied on its own, where the template cannot: code only where
    /// it replaces one step of the image (that step, rewritten) or its `FROM` and builds
    /// so, else guidance in comments (`imgprof suggest` writes the whole Dockerfile, and
    /// `cargo xtask e2e` builds both).
    fn applicable_fix(&self, finding: &Finding) -> Option<String> {
        let base_layers = self.base.layers;
        // The base image's own layers are not the user's Dockerfile: say so, not how the
        // base should have been built (IMG014, the slim base, is the fix there).
        if let Some(layer) = finding
            .layer
            .filter(|&l| l < base_layers && finding.id != FindingId::FullBase)
        {
            return Some(format!(
                "# layer {layer} is the base image's (layers 0-{}): nothing in your Dockerfile makes it;\n# a smaller base is the change (IMG014 names one when it applies)",
                base_layers - 1
            ));
        }
        let suggest = "# `imgprof suggest` writes the Dockerfile for this image";
        let step = |amend: &dyn Fn(&str) -> Option<String>| {
            let instruction = self.parsed(finding.layer?)?;
            instruction.as_run()?;
            amend(&instruction.to_dockerfile()?)
        };
        match finding.id {
            FindingId::Toolchain | FindingId::DevPackages => {
                let builder = self.base.identity.reference(false).unwrap_or_else(|| "your base".to_owned());
                let runtime = self.base.identity.reference(true).unwrap_or_else(|| "its -slim variant".to_owned());
                let libraries = self.runtime_libraries();
                Some(format!(
                    "# a multi-stage build: install compilers and -dev packages in a builder stage\n\
                     # (FROM {builder} AS builder), build the dependencies there (a venv, node_modules),\n\
                     # and copy only those into a runtime stage FROM {runtime}{}.\n{suggest}",
                    if libraries.is_empty() {
                        String::new()
                    } else {
                        format!(" with the runtime libraries ({})", libraries.join(" "))
                    }
                ))
            }
            FindingId::PackageCache => Some(
                step(&|run: &str| {
                    let rewritten = if run.contains("uv pip install") && !run.contains("--no-cache") {
                        run.replace("uv pip install", "uv pip install --no-cache")
                    } else if run.contains("pip install") && !run.contains("--no-cache-dir") {
                        run.replace("pip install", "pip install --no-cache-dir")
                    } else if (run.contains("npm ci") || run.contains("npm install")) && !run.contains("npm cache clean") {
                        format!("{run} && npm cache clean --force")
                    } else {
                        return None;
                    };
                    Some(format!("# the same step, leaving no download cache:\n{rewritten}"))
                })
                .unwrap_or_else(|| {
                    "# the install step's own no-cache option (pip --no-cache-dir, uv --no-cache,\n# npm cache clean --force in the same RUN), or a BuildKit cache mount\n# (RUN --mount=type=cache,target=/root/.cache ...)".to_owned()
                }),
            ),
            FindingId::AptLists | FindingId::OsPackageCache => {
                let cleanup = if finding.id == FindingId::AptLists {
                    "rm -rf /var/lib/apt/lists/*"
                } else {
                    "apt-get clean && rm -rf /var/lib/apt/lists/*"
                };
                Some(
                    step(&|run: &str| {
                        (run.contains("apt-get") && !run.contains(cleanup))
                            .then(|| format!("# the same step, cleaning up in the same RUN:\n{run} && {cleanup}"))
                    })
                    .unwrap_or_else(|| format!("# clean up in the RUN that installs: ... && {cleanup}")),
                )
            }
            FindingId::Docs => Some(
                "# a -slim base keeps docs, man pages and locales out of every package it installs\n# (dpkg path-exclude); or delete them in the RUN that installs them".to_owned(),
            ),
            FindingId::FullBase => {
                let Some(slim) = self.base.identity.reference(true) else {
                    return Some("# the -slim variant of your base (the distribution is not known here)".to_owned());
                };
                // The slim variant alone builds only when nothing the steps use came with
                // the full one: the distribution's python3/pip or node/npm, or compilers.
                let identity = &self.base.identity;
                let distro = Some(crate::RuntimeOrigin::Distribution);
                let alone = identity.python_origin() != distro
                    && identity.node_origin() != distro
                    && identity.compilers.iter().all(|c| !c.in_base);
                Some(if alone {
                    format!("FROM {slim}")
                } else {
                    format!(
                        "# FROM {slim}: it lacks what this image's steps take from the full base (the\n\
                         # distribution's Python or Node, compilers), so on its own it does not build:\n\
                         # install those in the runtime stage and compile in a builder stage.\n{suggest}"
                    )
                })
            }
            _ => None,
        }
    }

    /// The runtime counterparts of the -dev packages above the base (`libpq-dev` -> `libpq5`).
    fn runtime_libraries(&self) -> Vec<String> {
        let mut libraries: Vec<String> = self.dev_packages(false).into_iter().flat_map(|d| d.2).collect();
        libraries.sort();
        libraries.dedup();
        libraries
    }

    fn toolchain_finding(&self) -> Option<Finding> {
        let files = self.category_files(FindingId::Toolchain.rule().categories, false);
        self.finish(Draft {
            id: FindingId::Toolchain,
            title: FindingId::Toolchain.rule().title.to_owned(),
            files,
            why: "The build toolchain is needed to compile wheels and C extensions, not to run them. A multi-stage build compiles in a builder stage and copies only the result (a venv) into the runtime image.".to_owned(),
            // Written by `applicable_fix`, which knows the image's base.
            fix: String::new(),
        })
    }

    /// Installed `-dev` packages outside (or inside) the base image.
    fn dev_packages(&self, base: bool) -> Vec<(&str, Vec<&Classified<'_>>, Vec<String>)> {
        let mut by_package: BTreeMap<&str, Vec<&Classified<'_>>> = BTreeMap::new();
        for f in &self.classified {
            if ((f.layer as usize) < self.base.layers) != base {
                continue;
            }
            if let Some(p) = self.packages.owner_of(f.inode)
                && p.manager == Manager::Dpkg
                && p.name.ends_with("-dev")
            {
                by_package.entry(&p.name).or_default().push(f);
            }
        }
        by_package
            .into_iter()
            .map(|(name, files)| {
                let runtime = self
                    .packages
                    .find(Manager::Dpkg, name)
                    .map(crate::Package::runtime_counterparts)
                    .unwrap_or_default();
                (name, files, runtime)
            })
            .collect()
    }

    fn dev_packages_finding(&self) -> Option<Finding> {
        let dev = self.dev_packages(false);
        let names: Vec<&str> = dev.iter().map(|d| d.0).collect();
        let pairs: Vec<String> = dev
            .iter()
            .filter(|d| !d.2.is_empty())
            .map(|d| format!("{} -> {}", d.0, d.2.join(", ")))
            .collect();
        let files: Vec<&Classified<'_>> = dev.iter().flat_map(|d| d.1.iter().copied()).collect();
        self.finish(Draft {
            id: FindingId::DevPackages,
            title: format!("Development packages installed: {}", names.join(", ")),
            files,
            why: format!(
                "`-dev` packages carry headers, static libraries and linker symlinks for building. At run time only the shared libraries they depend on are needed{}.",
                if pairs.is_empty() { String::new() } else { format!(" ({})", pairs.join("; ")) }
            ),
            fix: String::new(),
        })
    }

    fn cache_finding(&self) -> Option<Finding> {
        let categories = FindingId::PackageCache.rule().categories;
        let mut files = self.category_copies(categories, false);
        files.extend(self.category_copies(categories, true));
        let tools: Vec<&str> = ["pip", "uv", "pypoetry", "pipenv", "yarn", "_cacache"]
            .into_iter()
            .filter(|t| files.iter().any(|f| f.path.split('/').any(|c| c == *t)))
            .collect();
        let mut fixes = Vec::new();
        if tools.contains(&"pip") {
            fixes.push("RUN pip install --no-cache-dir -r requirements.txt");
        }
        if tools.contains(&"uv") {
            fixes.push("RUN uv pip install --no-cache -r requirements.txt   # or ENV UV_NO_CACHE=1");
        }
        if tools.contains(&"_cacache") {
            fixes.push("RUN npm ci && npm cache clean --force");
        }
        fixes.push("# or keep the cache out of the layer:\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt");
        self.finish(Draft {
            id: FindingId::PackageCache,
            title: FindingId::PackageCache.rule().title.to_owned(),
            files,
            why: "The install step kept its download and build cache. Nothing installs again inside the image, so every pull carries the cache for nothing.".to_owned(),
            fix: fixes.join("\n"),
        })
    }

    fn simple_category_findings(&self) -> Vec<Finding> {
        let fixes: [(FindingId, String); 6] = [
            (
                FindingId::AptLists,
                "RUN apt-get update && apt-get install -y --no-install-recommends <packages> \\\n    && rm -rf /var/lib/apt/lists/*".to_owned(),
            ),
            (
                FindingId::OsPackageCache,
                "RUN apt-get update && apt-get install -y --no-install-recommends <packages> \\\n    && apt-get clean && rm -rf /var/lib/apt/lists/*".to_owned(),
            ),
            (FindingId::VersionControl, "# .dockerignore\n.git\n".to_owned()),
            (FindingId::BuildContext, self.dockerignore_snippet()),
            (
                FindingId::Models,
                "# keep weights out of the build context (.dockerignore: models/)\n# and mount them at run time:\n#   docker run -v /srv/models:/app/models ...".to_owned(),
            ),
            (
                FindingId::Docs,
                "RUN apt-get install -y --no-install-recommends <packages>\n# or a -slim base, which excludes /usr/share/doc, man and locale via dpkg path-exclude".to_owned(),
            ),
        ];
        fixes
            .into_iter()
            .filter_map(|(id, fix)| {
                let categories = id.rule().categories;
                let rule = crate::categories::rule(categories.first()?)?;
                // Empty files of a category (an apt cache directory's lock) are no waste.
                let files = self.category_copies(categories, false);
                if files.iter().all(|f| f.bytes == 0) {
                    return None;
                }
                self.finish(Draft {
                    id,
                    title: id.rule().title.to_owned(),
                    files,
                    why: format!("{} {}", rule.what, rule.why),
                    fix,
                })
            })
            .collect()
    }

    /// The `.dockerignore` entries for the build-context leftovers: each file's first
    /// path component below the working directory (where `COPY . .` put the context),
    /// `tests/` for a directory, the name for a file. Version control, secrets and
    /// models have findings (and entries) of their own, so each snippet saves what its
    /// finding says.
    fn dockerignore_snippet(&self) -> String {
        let root = self.workdir.as_deref().map(|w| format!("{w}/")).unwrap_or_default();
        let mut entries: Vec<String> = self
            .classified
            .iter()
            .chain(&self.lost)
            .filter(|f| f.category == "build-context")
            .filter_map(|f| {
                let relative = f.path.strip_prefix(root.as_str())?;
                Some(match relative.split_once('/') {
                    Some((dir, _)) => format!("{dir}/"),
                    None => relative.to_owned(),
                })
            })
            .collect();
        entries.sort();
        entries.dedup();
        if entries.is_empty() {
            return "# keep them out of the build context with .dockerignore entries for their paths".to_owned();
        }
        format!("# .dockerignore\n{}", entries.join("\n"))
    }

    fn secret_findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let files: Vec<&Classified<'_>> = self.classified.iter().filter(|f| f.category == "secrets").collect();
        let lost_secrets: Vec<&str> = self
            .stack
            .lost_copies()
            .iter()
            .filter(|l| crate::secrets::looks_secret(l.path, None).is_some())
            .map(|l| l.path)
            .collect();
        if let Some(mut f) = self.finish(Draft {
            id: FindingId::Secrets,
            title: FindingId::Secrets.rule().title.to_owned(),
            files,
            why: "Credentials in a layer can be read by anyone who can pull the image. Deleting them in a later layer does not help: the layer that added them still ships.".to_owned(),
            fix: "# .dockerignore\n.env\n*.pem\n# pass secrets at run time (docker run --env-file, a secrets manager), or at build\n# time without leaving a trace: RUN --mount=type=secret,id=NAME,target=PATH on the\n# step that needs it (BuildKit; `docker build --secret id=NAME,src=FILE`)".to_owned(),
        }) {
            f.saves_bytes = 0;
            f.removes = Removes::default();
            out.push(f);
        }
        if !lost_secrets.is_empty() {
            out.push(Finding {
                id: FindingId::Secrets,
                severity: Severity::Error,
                title: "Secrets deleted in a later layer still ship".to_owned(),
                layer: None,
                instruction: None,
                paths: lost_secrets.iter().map(|p| PathBytes { path: format!("/{p}"), bytes: 0 }).take(TOP_PATHS).collect(),
                bytes: 0,
                saves_bytes: 0,
                why: "A whiteout hides a file from the running container, but the lower layer still carries it to everyone who pulls the image.".to_owned(),
                fix: "# keep the file out of the build context (.dockerignore) and use\n# RUN --mount=type=secret,id=NAME,target=PATH for build-time credentials".to_owned(),
                removes: Removes::default(),
            });
        }
        out
    }

    /// Redundant bytes, grouped by the layer that shipped them and whether a later layer
    /// deleted or overwrote them.
    fn lost_copy_findings(&self) -> Vec<Finding> {
        let mut groups: BTreeMap<(u32, bool), Vec<&LostCopy<'_>>> = BTreeMap::new();
        for lost in self.judged_lost_copies() {
            if self.rewritten_unchanged(lost) {
                continue; // IMG011
            }
            let deleted = !matches!(lost.cause, LossCause::Overwritten { .. });
            groups.entry((lost.layer, deleted)).or_default().push(lost);
        }
        let mut out = Vec::new();
        for ((layer, deleted), copies) in groups {
            let bytes: u64 = copies.iter().map(|c| c.bytes).sum();
            if bytes == 0 {
                continue;
            }
            let later = most_common(copies.iter().map(|c| hiding_layer(c.cause)));
            let made = self
                .instruction_of(Some(layer as usize))
                .unwrap_or_else(|| format!("layer {layer}"));
            let later_text = self
                .instruction_of(Some(later as usize))
                .unwrap_or_else(|| format!("layer {later}"));
            let paths = aggregate_paths(copies.iter().map(|c| (c.path, c.bytes)));
            let (id, title, why, fix) = if deleted {
                (
                    FindingId::DeletedLater,
                    format!("Layer {layer} ships {} that layer {later} deletes", crate::human(bytes)),
                    format!(
                        "`{made}` adds these files and `{later_text}` deletes them. The deletion hides them from the container, but layer {layer} still carries them on every pull."
                    ),
                    self.deleted_later_fix(self.parsed(layer as usize), &made, &paths),
                )
            } else {
                (
                    FindingId::OverwrittenLater,
                    format!("Layer {layer} ships {} that layer {later} overwrites", crate::human(bytes)),
                    format!(
                        "`{later_text}` rewrites files that `{made}` wrote; both copies ship and only the last is seen. Merging the steps (or cleaning up in the same RUN) ships one copy."
                    ),
                    "# merge the steps that rewrite the same files into one RUN (install every package\n# in one apt-get line, clean up in the RUN that made the mess): one copy ships".to_owned(),
                )
            };
            out.push(Finding {
                id,
                severity: id.rule().grading.of_bytes(bytes),
                title,
                layer: Some(layer as usize),
                instruction: self.instruction_of(Some(layer as usize)),
                paths,
                bytes,
                saves_bytes: bytes,
                why,
                fix,
                removes: Removes {
                    inodes: copies.iter().map(|c| c.inode()).collect(),
                },
            });
        }
        out
    }

    /// For files a COPY brought and a later layer deleted: .dockerignore entries; for files
    /// a RUN made: delete them in that same RUN.
    fn deleted_later_fix(&self, instruction: Option<&Instruction>, made: &str, paths: &[PathBytes]) -> String {
        if matches!(instruction, Some(Instruction::Copy(_))) {
            let workdir = self
                .workdir
                .as_deref()
                .map(|w| format!("/{w}/"))
                .unwrap_or_else(|| "/".to_owned());
            let entries: Vec<String> = paths
                .iter()
                .map(|p| p.path.strip_prefix(&workdir).unwrap_or(&p.path).to_owned())
                .collect();
            format!(
                "# keep them out of the build context instead of deleting them later:\n# .dockerignore\n{}",
                entries.join("\n")
            )
        } else {
            let list: Vec<&str> = paths.iter().map(|p| p.path.as_str()).collect();
            format!(
                "# create and delete in the same RUN, so no layer keeps them:\n{} \\\n    && rm -rf {}",
                made,
                list.join(" ")
            )
        }
    }

    /// Lost copies outside the user's excluded paths.
    fn judged_lost_copies(&self) -> impl Iterator<Item = &LostCopy<'_>> {
        self.stack
            .lost_copies()
            .iter()
            .zip(&self.lost)
            .filter(|(_, classified)| classified.category != crate::categories::EXCLUDED)
            .map(|(lost, _)| lost)
    }

    /// A lost copy a later layer wrote again with the same content and another owner or
    /// mode (`chown -R`, `chmod -R`).
    fn rewritten_unchanged(&self, lost: &LostCopy<'_>) -> bool {
        if !matches!(lost.cause, LossCause::Overwritten { .. }) {
            return false;
        }
        let layers = self.stack.layers();
        let old = &layers[lost.layer as usize].entries[lost.entry as usize];
        let Some(slot) = self.stack.get(lost.path) else {
            return false;
        };
        let new = self.stack.entry(slot);
        // Same content, other owner or mode: a bare copy of the same file again (the
        // manifest copied first, then with the whole context) is an overwrite.
        let metadata_changed = (old.uid, old.gid, old.mode) != (new.uid, new.gid, new.mode);
        old.hash != 0 && new.kind == old.kind && new.size == old.size && new.hash == old.hash && metadata_changed
    }

    /// Copies re-shipped unchanged by a later layer that only changed owner or mode.
    fn metadata_rewrite_findings(&self) -> Vec<Finding> {
        let mut groups: BTreeMap<(u32, u32), Vec<&LostCopy<'_>>> = BTreeMap::new();
        for lost in self.judged_lost_copies().filter(|l| self.rewritten_unchanged(l)) {
            groups
                .entry((lost.layer, hiding_layer(lost.cause)))
                .or_default()
                .push(lost);
        }
        groups
            .into_iter()
            .filter_map(|((layer, later), copies)| {
                let bytes: u64 = copies.iter().map(|c| c.bytes).sum();
                if bytes == 0 {
                    return None;
                }
                let made = self.instruction_of(Some(layer as usize)).unwrap_or_else(|| format!("layer {layer}"));
                let later_text = self.instruction_of(Some(later as usize)).unwrap_or_else(|| format!("layer {later}"));
                let chmod = match self.parsed(later as usize) {
                    Some(Instruction::Run(run)) => run.command.to_string().contains("chmod"),
                    Some(Instruction::Copy(copy)) => copy.chmod().is_some(),
                    // A classic builder's RUN under another SHELL keeps only its text.
                    Some(Instruction::Unknown(text)) => text.contains("chmod"),
                    _ => false,
                };
                Some(Finding {
                    id: FindingId::MetadataRewrite,
                    severity: FindingId::MetadataRewrite.rule().grading.of_bytes(bytes),
                    title: format!(
                        "Layer {later} re-ships {} of unchanged files to change their owner or mode",
                        crate::human(bytes)
                    ),
                    layer: Some(later as usize),
                    instruction: self.instruction_of(Some(later as usize)),
                    paths: aggregate_paths(copies.iter().map(|c| (c.path, c.bytes))),
                    bytes,
                    saves_bytes: bytes,
                    why: format!(
                        "`{later_text}` writes {} files again with the same content that `{made}` already shipped; a layer stores whole files, so changing ownership or permissions copies every byte.",
                        copies.len()
                    ),
                    fix: self.metadata_rewrite_fix(layer as usize, copies.first().copied(), chmod, &later_text),
                    removes: Removes {
                        inodes: copies.iter().map(|c| c.inode()).collect(),
                    },
                })
            })
            .collect()
    }

    /// Guidance (two steps change): the owner or mode set by the step that made the
    /// files, with the values the later layer gave them, and the rewriting step dropped.
    fn metadata_rewrite_fix(&self, made: usize, sample: Option<&LostCopy<'_>>, chmod: bool, later: &str) -> String {
        let new = sample
            .and_then(|lost| self.stack.get(lost.path))
            .map(|slot| self.stack.entry(slot));
        let flag = match (new, chmod) {
            (Some(e), true) => format!("--chmod={:o}", e.mode & 0o7777),
            (Some(e), false) => format!("--chown={}:{}", e.uid, e.gid),
            (None, true) => "--chmod=MODE".to_owned(),
            (None, false) => "--chown=USER:GROUP".to_owned(),
        };
        match self.parsed(made) {
            Some(Instruction::Copy(copy)) if !copy.hashed() => format!(
                "# set it while copying, in layer {made}'s step, and drop `{later}`:\n# {} {flag} {}",
                if copy.add { "ADD" } else { "COPY" },
                copy.args()
            ),
            _ => format!("# set it ({flag}) in the step that makes the files, and drop `{later}`"),
        }
    }

    /// The same content stored at several paths of the final filesystem, among the files
    /// no other finding removes and no OS package owns.
    fn duplicate_content_finding(&self) -> Option<Finding> {
        // (size, content hash, file) sorted: equal contents end up side by side. A sorted
        // list costs 24 bytes a file where a map of groups cost over a hundred.
        let mut by_content: Vec<(u64, u64, &Classified<'_>)> = Vec::new();
        for f in &self.classified {
            let hash = self.stack.layers()[f.inode.layer as usize].entries[f.inode.entry as usize].hash;
            // Duplicates inside Debian or Alpine packages are the distribution's business;
            // what a Dockerfile can change is the files it copies or installs itself.
            let os_package = self
                .packages
                .owner_of(f.inode)
                .is_some_and(|p| p.manager != Manager::Pip);
            if hash != 0 && !os_package && matches!(f.category, "other" | "python-packages") {
                by_content.push((f.bytes, hash, f));
            }
        }
        by_content.sort_unstable_by(|a, b| (a.0, a.1, a.2.path).cmp(&(b.0, b.1, b.2.path)));
        let mut extra: Vec<&Classified<'_>> = Vec::new();
        let mut groups = 0;
        for copies in by_content
            .chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
            .filter(|c| c.len() > 1)
        {
            groups += 1;
            extra.extend(copies.iter().skip(1).map(|c| c.2));
        }
        let bytes: u64 = extra.iter().map(|f| f.bytes).sum();
        if extra.is_empty() {
            return None;
        }
        let layer = main_layer(&extra);
        Some(Finding {
            id: FindingId::DuplicateContent,
            severity: FindingId::DuplicateContent.rule().grading.of_bytes(bytes),
            title: format!(
                "{} of files stored again under other paths ({} extra {}, {} distinct contents)",
                crate::human(bytes),
                extra.len(),
                if extra.len() == 1 { "copy" } else { "copies" },
                groups
            ),
            layer,
            instruction: self.instruction_of(layer),
            paths: aggregate_paths(extra.iter().map(|f| (f.path, f.bytes))),
            bytes,
            saves_bytes: bytes,
            why: "Identical files at several paths each take their full size in the layers. Common causes: the same context copied twice, vendored copies of one library in several packages, or a file copied where a link would do.".to_owned(),
            fix: "# copy the files once (one COPY per source), or link a copy to the first one\n# (`ln -s`) in the RUN that makes it".to_owned(),
            removes: Removes {
                inodes: extra.iter().map(|f| f.inode).collect(),
            },
        })
    }

    /// A base that carries what a -slim variant leaves out: compilers, headers, static
    /// libraries (full language images) and docs, man pages, locales (full distro images).
    fn full_base_finding(&self) -> Option<Finding> {
        if self.base.layers == 0 {
            return None;
        }
        let files = self.category_files(FindingId::FullBase.rule().categories, true);
        let bytes: u64 = files.iter().map(|f| f.bytes).sum();
        if bytes < 10_000_000 {
            return None;
        }
        let toolchain: u64 = files.iter().filter(|f| f.category != "docs").map(|f| f.bytes).sum();
        self.finish(Draft {
            id: FindingId::FullBase,
            title: FindingId::FullBase.rule().title.to_owned(),
            files,
            why: format!(
                "The base layers carry {} of compilers, headers and static libraries and {} of docs, man pages and locales. The -slim variant of the same base has neither and keeps glibc, apt and a shell, so it is the safe default; build what needs compiling in a builder stage. {}",
                crate::human(toolchain),
                crate::human(bytes - toolchain),
                self.smaller_bases_advice()
            ),
            fix: String::new(),
        })
    }

    fn bytecode_finding(&self) -> Option<Finding> {
        let bytecode: Vec<&Classified<'_>> = self.classified.iter().filter(|f| f.category == "bytecode").collect();
        if bytecode.is_empty() {
            return None;
        }
        let visible: HashSet<&str> = self.classified.iter().map(|f| f.path).collect();
        let mut removable = Vec::new();
        let (mut stdlib, mut packages, mut app) = (0u64, 0u64, 0u64);
        for f in &bytecode {
            let in_packages = f.path.split('/').any(|c| c == "site-packages" || c == "dist-packages");
            if in_packages {
                packages += f.bytes;
            } else if f.path.starts_with("usr/lib/python") || f.path.starts_with("usr/local/lib/python") {
                stdlib += f.bytes;
            } else {
                app += f.bytes;
            }
            if orphaned_or_duplicate(f.path, &visible) {
                removable.push(*f);
            }
        }
        let total: u64 = bytecode.iter().map(|f| f.bytes).sum();
        let removable_bytes: u64 = removable.iter().map(|f| f.bytes).sum();
        let layer = main_layer(&bytecode);
        Some(Finding {
            id: FindingId::Bytecode,
            severity: Severity::Info,
            title: format!("Python bytecode: {} ({} removable)", crate::human(total), crate::human(removable_bytes)),
            layer,
            instruction: self.instruction_of(layer),
            paths: aggregate_paths(bytecode.iter().map(|f| (f.path, f.bytes))),
            bytes: total,
            saves_bytes: removable_bytes,
            why: format!(
                "Bytecode compiled at build time saves compiling at every start-up, so it is usually worth keeping: stdlib {}, installed packages {}, application {}. Only bytecode whose source is gone or that duplicates another optimisation level of the same module ({}) is waste.",
                crate::human(stdlib),
                crate::human(packages),
                crate::human(app),
                crate::human(removable_bytes)
            ),
            fix: "# keep build-time bytecode; to skip it entirely:\nENV PYTHONDONTWRITEBYTECODE=1\nRUN pip install --no-compile --no-cache-dir -r requirements.txt".to_owned(),
            removes: Removes {
                inodes: removable.iter().map(|f| f.inode).collect(),
            },
        })
    }

    /// How to add a user in this image: `useradd` needs a shell and shadow's tools; an
    /// image without a shell (distroless, ko, nix, apko) cannot `RUN` anything, and
    /// busybox's is `adduser`. A numeric USER needs no /etc/passwd entry.
    fn user_fix(&self) -> &'static str {
        let identity = &self.base.identity;
        if !identity.shell {
            "# the image has no shell to RUN useradd; a numeric user needs no /etc/passwd entry\n\
             # (files the app must write to: COPY --chown=65532:65532):\nUSER 65532:65532"
        } else if identity.package_manager == Some("apk") {
            "# before CMD (files the app must write to: COPY --chown=app:app):\nRUN adduser -D -u 10001 app\nUSER app"
        } else {
            "# before CMD (files the app must write to: COPY --chown=app:app):\nRUN useradd --create-home --uid 10001 app\nUSER app"
        }
    }

    fn user_finding(&self) -> Option<Finding> {
        let user = self.user.as_deref().unwrap_or("").trim();
        let root =
            user.is_empty() || user == "root" || user == "0" || user.starts_with("0:") || user.starts_with("root:");
        root.then(|| Finding {
            id: FindingId::RunsAsRoot,
            severity: Severity::Warning,
            title: if user.is_empty() {
                "No USER: the container runs as root".to_owned()
            } else {
                format!("USER {user}: the container runs as root")
            },
            layer: None,
            instruction: None,
            paths: Vec::new(),
            bytes: 0,
            saves_bytes: 0,
            why: FindingId::RunsAsRoot.rule().why.to_owned(),
            fix: self.user_fix().to_owned(),
            removes: Removes::default(),
        })
    }
}

fn hiding_layer(cause: LossCause) -> u32 {
    match cause {
        LossCause::Overwritten { by_layer }
        | LossCause::Deleted { by_layer }
        | LossCause::HiddenByOpaque { by_layer }
        | LossCause::ParentReplaced { by_layer } => by_layer,
    }
}

fn most_common(values: impl Iterator<Item = u32>) -> u32 {
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|&(v, c)| (c, std::cmp::Reverse(v)))
        .map_or(0, |(v, _)| v)
}

/// A `.pyc` whose source module is gone, or an optimised `.opt-N.pyc` beside the plain one.
fn orphaned_or_duplicate(path: &str, visible: &HashSet<&str>) -> bool {
    let Some((dir, file)) = path.rsplit_once('/') else {
        return false;
    };
    let Some(stem) = file.strip_suffix(".pyc") else {
        return false;
    };
    let Some(parent) = dir.strip_suffix("/__pycache__") else {
        // Legacy .pyc next to its source: fine if the .py is there.
        return !visible.contains(format!("{dir}/{stem}.py").as_str());
    };
    // `name.cpython-311.pyc` or `name.cpython-311.opt-1.pyc`
    let mut parts = stem.split('.');
    let module = parts.next().unwrap_or("");
    let tag = parts.next().unwrap_or("");
    let opt = parts.next();
    if !visible.contains(format!("{parent}/{module}.py").as_str()) {
        return true;
    }
    opt.is_some() && visible.contains(format!("{dir}/{module}.{tag}.pyc").as_str())
}

impl Analysis<'_, '_> {
    /// When a base smaller than -slim would also do, and what would break.
    fn smaller_bases_advice(&self) -> String {
        let glibc_only = &self.base.identity.compiled_wheels;
        let alpine = if glibc_only.is_empty() {
            "Alpine (musl) is smaller still and would work: no installed Python package has compiled modules."
                .to_owned()
        } else {
            format!(
                "Alpine is smaller but uses musl: {} ship compiled modules built for glibc (manylinux wheels), which pip would have to rebuild from source there, with compilers, on every build.",
                glibc_only.join(", ")
            )
        };
        format!("{alpine} A distroless runtime (no shell, no package manager) fits when nothing runs `sh` at start-up.")
    }

    /// A broad `COPY . .` before a dependency install: every code change invalidates the
    /// build cache of the install, which then runs and ships again.
    fn layer_order_finding(&self) -> Option<Finding> {
        let layers = self.stack.layers();
        let text = |i: usize| self.instruction_of(Some(i));
        let copy = (self.base.layers..layers.len()).find(|&i| {
            self.parsed(i)
                .and_then(Instruction::as_copy)
                .is_some_and(crate::layer_order::is_broad_copy)
        })?;
        let installs: Vec<(usize, String, Vec<crate::layer_order::Install>)> = (copy + 1..layers.len())
            .filter_map(|i| {
                let found = crate::layer_order::installs(self.run_of(i)?);
                (!found.is_empty()).then(|| (i, text(i).unwrap_or_default(), found))
            })
            .collect();
        let (first, first_text, _) = installs.first()?.clone();
        let bytes: u64 = installs.iter().map(|(i, _, _)| layers[*i].content_bytes()).sum();
        let compressed: u64 = installs.iter().map(|(i, _, _)| layers[*i].compressed_bytes).sum();
        let copy_text = text(copy).unwrap_or_default();
        let mut fix = Vec::new();
        for (_, instruction, found) in &installs {
            let inputs: Vec<&str> = found.iter().flat_map(|f| f.inputs.iter().map(String::as_str)).collect();
            if !inputs.is_empty() {
                fix.push(format!("COPY {} ./", inputs.join(" ")));
            }
            fix.push(instruction.clone());
        }
        fix.push(copy_text.clone());
        Some(Finding {
            id: FindingId::LayerOrder,
            severity: Severity::Warning,
            title: format!(
                "`{copy_text}` (layer {copy}) comes before the dependency install (layer {first}): every code change runs it again"
            ),
            layer: Some(first),
            instruction: Some(first_text),
            paths: Vec::new(),
            bytes,
            saves_bytes: 0,
            why: format!(
                "A layer is reused from the build cache only while the instructions before it and the files they copied are unchanged. Copying the whole context first means any edit to the code invalidates the {} install {} after it: they run again on every build, and their {} ({} compressed) are pushed and pulled again on every release. Copy only what the install reads, install, then copy the rest.",
                installs.len(),
                if installs.len() == 1 { "step" } else { "steps" },
                crate::human(bytes),
                crate::human(compressed),
            ),
            fix: fix.join("\n"),
            removes: Removes::default(),
        })
    }

    /// Packages an `apt-get install` without `--no-install-recommends` brought only
    /// because another package recommends them: nothing the installed packages depend on
    /// (every alternative of `Pre-Depends` and `Depends`, through `Provides`) leads to
    /// them from what the Dockerfile asked for and what the base had.
    fn recommends_finding(&self) -> Option<Finding> {
        let layers = self.stack.layers();
        let apt_lines: Vec<&Run> = (self.base.layers..layers.len())
            .filter_map(|i| self.run_of(i))
            .filter(|r| {
                !crate::layer_order::requested_system_packages(r).is_empty()
                    && crate::layer_order::run_commands(r)
                        .iter()
                        .any(|(tool, _)| tool.contains("apt"))
            })
            .collect();
        // The options apt reads, wherever the script sets them.
        let without_flag = apt_lines.iter().any(|r| {
            let script = r.command.to_string();
            !script.contains("--no-install-recommends") && !script.contains("Install-Recommends=false")
        });
        if !without_flag || self.base.layers == 0 {
            return None;
        }
        // The base's own packages: its last dpkg status.
        let base_status = crate::packages::last_dpkg_status(&layers[..self.base.layers])?;
        let mut wanted: Vec<String> = String::from_utf8_lossy(base_status)
            .lines()
            .filter_map(|l| l.strip_prefix("Package: "))
            .map(str::to_owned)
            .collect();
        let base: HashSet<String> = wanted.iter().cloned().collect();
        let requested: Vec<String> = apt_lines
            .iter()
            .flat_map(|r| crate::layer_order::requested_system_packages(r))
            .collect();
        wanted.extend(requested.iter().map(|p| p.split('=').next().unwrap_or(p).to_owned()));
        let dpkg: Vec<&crate::Package> = self
            .packages
            .list
            .iter()
            .filter(|p| p.manager == Manager::Dpkg)
            .collect();
        let mut providers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in dpkg.iter().enumerate() {
            providers.entry(p.name.as_str()).or_default().push(i);
            for v in &p.provides {
                providers.entry(v.as_str()).or_default().push(i);
            }
        }
        let mut reached = vec![false; dpkg.len()];
        let mut queue: Vec<usize> = wanted
            .iter()
            .flat_map(|n| providers.get(n.as_str()).cloned().unwrap_or_default())
            .collect();
        while let Some(i) = queue.pop() {
            if std::mem::replace(&mut reached[i], true) {
                continue;
            }
            for group in &dpkg[i].requires {
                for name in group {
                    queue.extend(
                        providers
                            .get(name.as_str())
                            .into_iter()
                            .flatten()
                            .filter(|&&j| !reached[j]),
                    );
                }
            }
        }
        let recommended: HashSet<&str> = dpkg
            .iter()
            .zip(&reached)
            .filter(|(p, reached)| !**reached && !base.contains(&p.name))
            .map(|(p, _)| p.name.as_str())
            .collect();
        let files: Vec<&Classified<'_>> = self
            .classified
            .iter()
            .filter(|f| {
                self.packages
                    .owner_of(f.inode)
                    .is_some_and(|p| p.manager == Manager::Dpkg && recommended.contains(p.name.as_str()))
            })
            .collect();
        let mut names: Vec<&str> = recommended.into_iter().collect();
        names.sort_unstable();
        let shown: Vec<&str> = names.iter().take(12).copied().collect();
        self.finish(Draft {
            id: FindingId::Recommends,
            title: format!("{} packages installed only as recommendations", names.len()),
            files,
            why: format!(
                "`apt-get install` without `--no-install-recommends` also installs what the requested packages merely recommend. Nothing installed depends on these: {}{}.",
                shown.join(", "),
                if names.len() > shown.len() { format!(" and {} more", names.len() - shown.len()) } else { String::new() }
            ),
            fix: format!(
                "RUN apt-get update && apt-get install -y --no-install-recommends {} \\\n    && rm -rf /var/lib/apt/lists/*",
                requested.join(" ")
            ),
        })
    }

    /// Python wheels built for glibc in a musl (Alpine) image, and wheels compiled from
    /// source there.
    fn musl_wheel_finding(&self) -> Option<Finding> {
        let identity = &self.base.identity;
        if identity.glibc_wheels.is_empty() && identity.source_built_wheels.is_empty() {
            return None;
        }
        let mut why = Vec::new();
        if !identity.glibc_wheels.is_empty() {
            why.push(format!(
                "{} {} built for glibc (manylinux tags) in a musl image: their compiled modules fail to load.",
                identity.glibc_wheels.join(", "),
                if identity.glibc_wheels.len() == 1 { "is" } else { "are" }
            ));
        }
        if !identity.source_built_wheels.is_empty() {
            why.push(format!(
                "{} {} compiled from source for musl: every build needs compilers and takes minutes, where a glibc base installs prebuilt manylinux wheels.",
                identity.source_built_wheels.join(", "),
                if identity.source_built_wheels.len() == 1 { "was" } else { "were" }
            ));
        }
        Some(Finding {
            id: FindingId::MuslWheels,
            severity: if identity.glibc_wheels.is_empty() {
                Severity::Info
            } else {
                Severity::Error
            },
            title: FindingId::MuslWheels.rule().title.to_owned(),
            layer: None,
            instruction: None,
            paths: Vec::new(),
            bytes: 0,
            saves_bytes: 0,
            why: why.join(" "),
            fix: "# a glibc base installs manylinux wheels as they are:\nFROM python:3-slim".to_owned(),
            removes: Removes::default(),
        })
    }

    /// A shell-form `CMD`/`ENTRYPOINT`: `/bin/sh -c` is PID 1 and does not pass SIGTERM
    /// on, so `docker stop` waits its timeout and kills the process.
    fn shell_form_finding(&self) -> Option<Finding> {
        let command = if self.entrypoint.is_empty() {
            &self.cmd
        } else {
            &self.entrypoint
        };
        let shell_form = command.len() >= 3
            && matches!(command[0].as_str(), "/bin/sh" | "sh" | "/bin/bash" | "bash")
            && command[1] == "-c";
        let init = command
            .iter()
            .any(|w| ["tini", "dumb-init", "catatonit"].contains(&w.rsplit('/').next().unwrap_or(w)));
        (shell_form && !init).then(|| Finding {
            id: FindingId::ShellFormCommand,
            severity: Severity::Warning,
            title: format!("Shell-form {}: the shell is PID 1 and does not forward signals", if self.entrypoint.is_empty() { "CMD" } else { "ENTRYPOINT" }),
            layer: None,
            instruction: None,
            paths: Vec::new(),
            bytes: 0,
            saves_bytes: 0,
            why: format!(
                "`{}` runs under `/bin/sh -c`, which does not pass SIGTERM to the process it started: `docker stop` waits its 10 s timeout and then kills it, with no graceful shutdown.",
                command[2..].join(" ")
            ),
            fix: format!(
                "CMD [{}]\n# or keep a shell and add an init: ENTRYPOINT [\"tini\", \"--\"] (docker run --init)",
                command[2..].join(" ").split_whitespace().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", ")
            ),
            removes: Removes::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_aggregate_below_their_common_directory() {
        let agg = aggregate_paths([
            ("root/.cache/uv/archive-v0/a/x.py", 10),
            ("root/.cache/uv/archive-v0/b/y.py", 20),
            ("root/.cache/uv/wheels-v5/z.whl", 5),
        ]);
        assert_eq!(agg.len(), 2);
        assert_eq!(agg[0].path, "/root/.cache/uv/archive-v0");
        assert_eq!(agg[0].bytes, 30);
        let single = aggregate_paths([("app/models/model.safetensors", 7)]);
        assert_eq!(single[0].path, "/app/models/model.safetensors");
    }

    #[test]
    fn stale_and_duplicate_bytecode() {
        let visible: HashSet<&str> = [
            "a/m.py",
            "a/__pycache__/m.cpython-311.pyc",
            "a/__pycache__/m.cpython-311.opt-1.pyc",
            "a/__pycache__/gone.cpython-311.pyc",
        ]
        .into_iter()
        .collect();
        assert!(!orphaned_or_duplicate("a/__pycache__/m.cpython-311.pyc", &visible));
        assert!(orphaned_or_duplicate("a/__pycache__/m.cpython-311.opt-1.pyc", &visible));
        assert!(orphaned_or_duplicate("a/__pycache__/gone.cpython-311.pyc", &visible));
    }
}
