//! What the bytes of an image are and what to change.
//!
//! From the stacked image ([`imgprof_layers::Stack`]) this crate attributes every byte of
//! the final filesystem, and every redundant byte, to one category of the rule table
//! ([`categories::RULES`]); reads the package databases (dpkg, apk, pip) to give bytes
//! per package; and turns both into [`Finding`]s: the layer and instruction responsible,
//! why it costs, a Dockerfile fix and the bytes it saves, plus a projected size with
//! every fix applied. The layer walk keeps the file contents this needs
//! ([`capture_policy`]).

mod base;
mod capture;
pub mod categories;
mod finding_ids;
mod findings;
mod fs;
mod glob;
mod identity;
mod layer_order;
mod linkage;
mod packages;
mod rebuild;
mod secrets;

use imgprof_source::history::Instruction;
use std::collections::{HashMap, HashSet};

use imgprof_layers::{Inode, Stack};
use imgprof_source::{Digest, Image};

pub use base::BaseImage;
pub use capture::{CAPTURE_POLICY_VERSION, capture_policy, capture_policy_description};
pub use categories::CategoryBytes;
pub use finding_ids::{
    DOCS_BEGIN, DOCS_END, FINDING_RULES, FindingId, FindingRule, FixKind, Grading, docs_findings_section,
};
pub use findings::{Finding, PathBytes, Severity};
pub use glob::Glob;
pub use identity::{BaseIdentity, BaseVariant, Compiler, RuntimeOrigin};
pub use layer_order::{
    Install, build_only, installs as dependency_installs, is_broad_copy, is_context_copy, requested_packages,
    requested_system_packages, run_commands, runs_node_script,
};
pub use packages::{Manager, Package, PackageReason};
pub use rebuild::{Ecosystem, LinkedLibrary, Part, Rebuild};

use categories::{FileFacts, classify};
use findings::Classified;
use fs::FinalFs;
use packages::Packages;

/// Everything this crate concludes about one image.
#[derive(Debug, Clone)]
pub struct WasteReport {
    pub base: BaseImage,
    /// Every category, in rule order, `other` last; final and redundant bytes add up to
    /// the image's totals.
    pub categories: Vec<CategoryBytes>,
    pub packages: Vec<Package>,
    /// Final-filesystem bytes no package claims.
    pub unowned_bytes: u64,
    /// Ranked by the bytes their fix saves.
    pub findings: Vec<Finding>,
    pub projection: Projection,
    /// Per layer: its file bytes that the findings' fixes remove, each file once (so
    /// never more than the layer's file bytes, however many findings name a file).
    pub removable_by_layer: Vec<u64>,
    /// The category and owning package of every shipped copy of file content (final
    /// and lost), for views that show single files (`imgprof inspect`); the report
    /// itself does not carry it.
    pub files: Vec<FileClass>,
}

/// What one shipped copy of file content is: its rule category and the package that
/// owns it in the final filesystem (an index into [`WasteReport::packages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileClass {
    pub inode: Inode,
    pub category: &'static str,
    pub package: Option<usize>,
}

/// The image with every fix applied, each byte counted once.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Σ file bytes the image ships now (all layers).
    pub shipped_bytes: u64,
    /// What it would ship with every fix applied: the sum of `rebuild`'s parts when
    /// `suggest` rebuilds the image, else `shipped_bytes` less what the findings remove.
    pub projected_bytes: u64,
    pub saves_bytes: u64,
    /// The image `imgprof suggest` writes, part by part (docs/projection.md).
    pub rebuild: Option<Rebuild>,
    /// Already built as a suggestion would build it: no rebuild, and no finding on the
    /// image's own layers calls for a Dockerfile change (`suggest` says so;
    /// `projected_bytes` is `shipped_bytes`).
    pub no_change: bool,
}

/// Whether `finding` calls for a change to the image's own Dockerfile (its rule says
/// so, and it concerns the image's own layers or the whole image). Informational size
/// findings (under the warning threshold of a megabyte) are not worth a rewrite; those
/// that save no bytes (security, layer order, signals) are never only that.
fn calls_for_a_change(finding: &Finding, base_layers: usize) -> bool {
    let rule = finding.id.rule();
    rule.calls_for_a_change
        && (finding.severity != Severity::Info || finding.saves_bytes == 0)
        && (rule.whole_image || finding.layer.is_none_or(|l| l >= base_layers))
}

pub(crate) struct Analysis<'s, 'a> {
    stack: &'s Stack<'a>,
    packages: Packages,
    /// Final-filesystem contents, each once.
    classified: Vec<Classified<'a>>,
    /// Lost copies (redundant bytes), classified by path.
    lost: Vec<Classified<'a>>,
    base: BaseImage,
    /// Each layer's instruction, parsed once from its history entry.
    instructions: Vec<Option<Instruction>>,
    user: Option<String>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    /// The config's working directory, normalised (no leading `/`), unless `/`.
    workdir: Option<String>,
    /// Whether the user excluded paths (then the `excluded` category is reported).
    excluding: bool,
}

/// What the user told the analysis.
#[derive(Debug, Clone, Default)]
pub struct Options<'o> {
    /// The layers of a known base image (`--base`).
    pub base_diff_ids: Option<&'o [Digest]>,
    /// Paths the user does not want judged (`exclude_paths`): their bytes go to the
    /// `excluded` category and no finding claims them.
    pub exclude: &'o [Glob],
}

/// Analyses a stacked image.
pub fn analyze(image: &Image, stack: &Stack<'_>, options: &Options<'_>) -> WasteReport {
    let base_diff_ids = options.base_diff_ids;
    let classify = |facts: &FileFacts<'_>| {
        if options.exclude.iter().any(|g| g.matches(facts.path)) {
            categories::EXCLUDED
        } else {
            classify(facts)
        }
    };
    let fs = FinalFs::new(stack);
    let mut packages = Packages::read(&fs);
    let config = &image.config;
    let workdir = config
        .runtime()
        .working_dir()
        .as_deref()
        .map(|w| w.trim_matches('/').to_owned())
        .filter(|w| !w.is_empty());

    let classified: Vec<Classified<'_>> = fs
        .files()
        .map(|f| {
            let package = packages.owner_of(f.inode);
            let secret = secrets::looks_secret(f.path, fs.content(f.path)).is_some();
            let facts = FileFacts::new(f.path, f.bytes, package, secret, workdir.as_deref());
            Classified {
                path: f.path,
                inode: f.inode,
                layer: f.slot.layer,
                bytes: f.bytes,
                category: classify(&facts),
            }
        })
        .collect();

    let lost = stack
        .lost_copies()
        .iter()
        .map(|l| {
            let secret = secrets::looks_secret(l.path, None).is_some();
            let facts = FileFacts::new(l.path, l.bytes, None, secret, workdir.as_deref());
            Classified {
                path: l.path,
                inode: l.inode(),
                layer: l.layer,
                bytes: l.bytes,
                category: classify(&facts),
            }
        })
        .collect();

    let diff_ids: Vec<Digest> = stack.layers().iter().map(|l| l.diff_id.clone()).collect();
    let wheels: Vec<(String, String)> = fs
        .contents(|p| p.ends_with(".dist-info/WHEEL"))
        .into_iter()
        .map(|(path, content)| {
            let dir = path.rsplit('/').nth(1).unwrap_or(path);
            let name = dir.trim_end_matches(".dist-info").split('-').next().unwrap_or(dir);
            (name.to_owned(), String::from_utf8_lossy(content).into_owned())
        })
        .collect();
    let base = base::detect(config.history(), &diff_ids, base_diff_ids, &fs, &wheels);
    let instructions: Vec<Option<Instruction>> =
        imgprof_source::history::layer_history(config.history(), stack.layers().len())
            .into_iter()
            .map(|h| {
                h.and_then(|h| h.created_by().as_deref())
                    .map(Instruction::from_created_by)
            })
            .collect();
    let requested: Vec<(usize, Vec<(Manager, String)>)> = instructions
        .iter()
        .enumerate()
        .filter_map(|(layer, i)| Some((layer, requested_packages(i.as_ref()?.as_run()?))))
        .collect();
    packages.explain(&requested);
    let analysis = Analysis {
        stack,
        packages,
        classified,
        lost,
        base,
        instructions,
        user: config.runtime().user().clone(),
        entrypoint: config.runtime().entrypoint().clone().unwrap_or_default(),
        cmd: config.runtime().cmd().clone().unwrap_or_default(),
        workdir: workdir.clone(),
        excluding: !options.exclude.is_empty(),
    };
    let findings = analysis.findings();
    let removable_by_layer = analysis.removable_by_layer(&findings);
    let projection = analysis.projection(&findings, removable_by_layer.iter().sum());
    let categories = analysis.categories();
    let unowned_bytes = stack.final_bytes().saturating_sub(analysis.packages.owned_bytes());
    let Analysis {
        classified,
        lost,
        packages,
        base,
        ..
    } = analysis;
    // Consuming `classified` lets the collect reuse its allocation: with a million files
    // the two lists would not be held at once.
    let mut files: Vec<FileClass> = classified
        .into_iter()
        .map(|c| FileClass {
            inode: c.inode,
            category: c.category,
            package: packages.owner_index(c.inode),
        })
        .collect();
    files.extend(lost.iter().map(|c| FileClass {
        inode: c.inode,
        category: c.category,
        package: None,
    }));
    WasteReport {
        base,
        categories,
        packages: packages.list,
        unowned_bytes,
        findings,
        projection,
        removable_by_layer,
        files,
    }
}

impl Analysis<'_, '_> {
    fn categories(&self) -> Vec<CategoryBytes> {
        let mut list: Vec<CategoryBytes> = categories::RULES
            .iter()
            .map(|r| (r.id, r.title))
            .chain([
                (categories::OTHER, "other"),
                (categories::EXCLUDED, "excluded by the rules file"),
            ])
            .map(|(id, title)| CategoryBytes {
                id,
                title,
                final_bytes: 0,
                final_files: 0,
                redundant_bytes: 0,
            })
            .collect();
        let position: HashMap<&str, usize> = list.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        for f in &self.classified {
            let c = &mut list[position[f.category]];
            c.final_bytes += f.bytes;
            c.final_files += 1;
        }
        for f in &self.lost {
            list[position[f.category]].redundant_bytes += f.bytes;
        }
        if !self.excluding {
            list.retain(|c| c.id != categories::EXCLUDED);
        }
        list
    }

    /// What the findings remove from each layer, each file once.
    fn removable_by_layer(&self, findings: &[Finding]) -> Vec<u64> {
        let removed: HashSet<Inode> = findings.iter().flat_map(|f| f.removes.inodes.iter().copied()).collect();
        let layers = self.stack.layers();
        let mut by_layer = vec![0u64; layers.len()];
        for inode in removed {
            by_layer[inode.layer as usize] += layers[inode.layer as usize].entries[inode.entry as usize].size;
        }
        by_layer
    }

    /// `removed_bytes`: what the findings remove, each file once.
    fn projection(&self, findings: &[Finding], removed_bytes: u64) -> Projection {
        let shipped = self.stack.shipped_bytes();
        let rebuild = self.rebuild(findings);
        let no_change = rebuild.is_none() && !findings.iter().any(|f| calls_for_a_change(f, self.base.layers));
        let projected = match &rebuild {
            Some(r) => r.projected_bytes().min(shipped),
            None if no_change => shipped,
            None => shipped.saturating_sub(removed_bytes),
        };
        Projection {
            shipped_bytes: shipped,
            projected_bytes: projected,
            saves_bytes: shipped - projected,
            rebuild,
            no_change,
        }
    }
}

/// Byte sizes for people: decimal units, as `docker images` and dive print them.
pub fn human(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::DECIMAL)
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_list_every_category_and_finding() {
        let doc = include_str!("../../../docs/rules.md");
        for rule in crate::categories::RULES {
            assert!(
                doc.contains(&format!("`{}`", rule.id)),
                "docs/rules.md lacks category {}",
                rule.id
            );
        }
    }
}
