//! Which installed package owns which file: dpkg (`/var/lib/dpkg/status` and
//! `info/*.list`), apk (`/lib/apk/db/installed`) and pip (`*.dist-info/RECORD`,
//! `*.egg-info/installed-files.txt`). Sizes are those of the files as the final
//! filesystem shows them, each content once.

use std::collections::{HashMap, HashSet};

use imgprof_layers::{Inode, LayerIndex};

use crate::fs::FinalFs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Manager {
    Dpkg,
    Apk,
    Pip,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub manager: Manager,
    pub name: String,
    pub version: String,
    /// dpkg/apk: the architecture; pip: the site directory (`/usr/lib/python3/dist-packages`).
    pub location: String,
    /// Runtime dependencies as the package database lists them (dpkg `Depends`).
    pub depends: Vec<String>,
    /// dpkg `Pre-Depends` and `Depends`, every alternative of each: what must be
    /// installed with it (for telling recommended packages apart). pip: METADATA's
    /// `Requires-Dist` without an `extra` marker, names normalised (PEP 503).
    pub requires: Vec<Vec<String>>,
    /// dpkg `Provides`: the virtual packages it stands for.
    pub provides: Vec<String>,
    /// dpkg `Recommends`, every alternative of each (apt installs them by default).
    pub recommends: Vec<Vec<String>>,
    /// dpkg `Essential: yes` or `Priority: required`: part of every Debian system.
    pub essential: bool,
    /// Why it is in the image, as far as the image tells ([`Packages::explain`]).
    pub reason: PackageReason,
    /// Σ distinct contents of the package's files in the final filesystem.
    pub bytes: u64,
    pub files: u64,
}

/// Why a package is in the image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PackageReason {
    /// An install step of this layer names it (`apt-get install`, `apk add`, `pip install`).
    Requested { layer: usize },
    /// These installed packages depend on it (`Pre-Depends`, `Depends`).
    RequiredBy(Vec<String>),
    /// These installed packages recommend it (apt installs recommendations unless
    /// `--no-install-recommends`).
    RecommendedBy(Vec<String>),
    /// Part of every Debian system (`Essential: yes`, `Priority: required`).
    BaseSystem,
    /// Nothing in the image says (a pip distribution no other requires, installed from a
    /// requirements file; packages of a base image that no installed package depends on).
    #[default]
    Unexplained,
}

impl Package {
    /// For a `-dev` package, the runtime libraries it stands for, from its own `Depends`:
    /// those sharing its stem (libpq-dev -> libpq5, zlib1g-dev -> zlib1g,
    /// libpython3.11-dev -> libpython3.11), never another `-dev` or libc6.
    pub fn runtime_counterparts(&self) -> Vec<String> {
        let stem = self.name.trim_end_matches("-dev");
        self.depends
            .iter()
            .filter(|d| d.starts_with(stem) && !d.ends_with("-dev") && !d.starts_with("libc6"))
            .cloned()
            .collect()
    }
}

/// Packages and file ownership of the final filesystem.
#[derive(Debug, Default)]
pub struct Packages {
    pub list: Vec<Package>,
    /// Owner package (index into `list`) of each visible content.
    owner: HashMap<Inode, usize>,
    /// The dpkg package shipping each shared library, by file name (`libpq.so.5` ->
    /// `libpq5`): what a native module's `DT_NEEDED` entries resolve to.
    libraries: HashMap<String, String>,
}

impl Packages {
    pub fn owner_of(&self, inode: Inode) -> Option<&Package> {
        self.owner.get(&inode).map(|&i| &self.list[i])
    }

    /// The owner of `inode` as an index into `list`.
    pub fn owner_index(&self, inode: Inode) -> Option<usize> {
        self.owner.get(&inode).copied()
    }

    pub fn owned_bytes(&self) -> u64 {
        self.list.iter().map(|p| p.bytes).sum()
    }

    /// The dpkg package that ships the shared library `soname` (`libpq.so.5`).
    pub fn library_owner(&self, soname: &str) -> Option<&str> {
        self.libraries.get(soname).map(String::as_str)
    }

    pub fn find(&self, manager: Manager, name: &str) -> Option<&Package> {
        self.list.iter().find(|p| p.manager == manager && p.name == name)
    }

    pub fn read(fs: &FinalFs<'_, '_>) -> Packages {
        let mut packages = Packages::default();
        // dpkg first: where a pip distribution and a Debian package claim the same file
        // (python3-* packages are both), the Debian package owns it.
        read_dpkg(fs, &mut packages);
        read_apk(fs, &mut packages);
        read_pip(fs, &mut packages);
        packages.sort_by_size();
        packages
    }

    /// Sets each package's [`PackageReason`]: `requested` holds, per layer, the package
    /// names its install steps ask for (`name=version` and `name:arch` as apt takes them).
    pub fn explain(&mut self, requested: &[(usize, Vec<(Manager, String)>)]) {
        let bare = |manager: Manager, word: &str| match manager {
            Manager::Pip => normalized(word),
            _ => word.split(['=', ':']).next().unwrap_or(word).to_owned(),
        };
        let mut asked: HashMap<(Manager, String), usize> = HashMap::new();
        for (layer, names) in requested {
            for (manager, name) in names {
                asked.entry((*manager, bare(*manager, name))).or_insert(*layer);
            }
        }
        // Which installed package of a manager answers a dependency name (itself, or for
        // dpkg a provider).
        let key = |p: &Package| match p.manager {
            Manager::Pip => normalized(&p.name),
            _ => p.name.clone(),
        };
        let mut answers: HashMap<(Manager, String), String> = HashMap::new();
        for p in &self.list {
            answers.insert((p.manager, key(p)), key(p));
            for virtual_name in &p.provides {
                answers
                    .entry((p.manager, virtual_name.clone()))
                    .or_insert_with(|| key(p));
            }
        }
        let dependants = |groups: fn(&Package) -> &Vec<Vec<String>>| {
            let mut by: HashMap<(Manager, String), Vec<String>> = HashMap::new();
            for p in &self.list {
                for group in groups(p) {
                    // The first alternative installed here is the one that holds.
                    if let Some(target) = group.iter().find_map(|n| answers.get(&(p.manager, n.clone())))
                        && *target != key(p)
                    {
                        by.entry((p.manager, target.clone())).or_default().push(p.name.clone());
                    }
                }
            }
            for names in by.values_mut() {
                names.sort();
                names.dedup();
            }
            by
        };
        let mut required_by = dependants(|p| &p.requires);
        let mut recommended_by = dependants(|p| &p.recommends);
        for p in &mut self.list {
            let id = (p.manager, key(p));
            p.reason = if let Some(&layer) = asked.get(&id) {
                PackageReason::Requested { layer }
            } else if let Some(by) = required_by.remove(&id) {
                PackageReason::RequiredBy(by)
            } else if let Some(by) = recommended_by.remove(&id) {
                PackageReason::RecommendedBy(by)
            } else if p.essential {
                PackageReason::BaseSystem
            } else {
                PackageReason::Unexplained
            };
        }
    }

    /// Largest first (ties by name), keeping the ownership map pointing at the same packages.
    fn sort_by_size(&mut self) {
        let mut order: Vec<usize> = (0..self.list.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&self.list[a], &self.list[b]);
            b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name))
        });
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut slots: Vec<Option<Package>> = std::mem::take(&mut self.list).into_iter().map(Some).collect();
        self.list = order.iter().filter_map(|&old| slots[old].take()).collect();
        for owner in self.owner.values_mut() {
            *owner = new_index[*owner];
        }
    }

    /// Adds a package owning `paths` (looked up in the final filesystem, symlinked
    /// directories followed); contents already owned stay with their first owner.
    fn add(&mut self, fs: &FinalFs<'_, '_>, mut package: Package, paths: impl IntoIterator<Item = String>) {
        let index = self.list.len();
        let mut seen = HashSet::new();
        for path in paths {
            let Some((_, slot)) = fs.lookup(&path) else { continue };
            let Some(inode) = slot.inode else { continue };
            if !seen.insert(inode) || self.owner.contains_key(&inode) {
                continue;
            }
            self.owner.insert(inode, index);
            package.bytes += fs.size(inode);
            package.files += 1;
        }
        self.list.push(package);
    }
}

/// The content of the dpkg status in force at the top of `layers`: the last one they
/// write (a base image's own package list, when `layers` are its layers).
pub(crate) fn last_dpkg_status(layers: &[LayerIndex]) -> Option<&[u8]> {
    layers.iter().rev().find_map(|layer| {
        let entry = layer.entries.iter().rposition(|e| &*e.path == "var/lib/dpkg/status")?;
        layer.captured(entry as u32)
    })
}

/// The names of the packages a dpkg status lists as installed.
pub(crate) fn installed_names(status: &str) -> HashSet<String> {
    paragraphs(status)
        .filter(|fields| field(fields, "Status").is_some_and(|s| s.ends_with(" installed")))
        .filter_map(|fields| field(&fields, "Package").map(str::to_owned))
        .collect()
}

/// `Key: value` paragraphs, as dpkg's status and apk's installed database are written.
fn paragraphs(text: &str) -> impl Iterator<Item = Vec<(&str, String)>> {
    text.split("\n\n").map(|para| {
        let mut fields: Vec<(&str, String)> = Vec::new();
        for line in para.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some((_, value)) = fields.last_mut() {
                    value.push('\n');
                    value.push_str(line.trim());
                }
            } else if let Some((key, value)) = line.split_once(':') {
                fields.push((key, value.trim().to_owned()));
            }
        }
        fields
    })
}

fn field<'p>(fields: &'p [(&str, String)], key: &str) -> Option<&'p str> {
    fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
}

fn read_dpkg(fs: &FinalFs<'_, '_>, packages: &mut Packages) {
    let Some(status) = fs.content("var/lib/dpkg/status") else {
        return;
    };
    let status = String::from_utf8_lossy(status);
    let lists: HashMap<String, &[u8]> = fs
        .contents(|p| p.starts_with("var/lib/dpkg/info/") && p.ends_with(".list"))
        .into_iter()
        .map(|(path, content)| {
            let file = &path["var/lib/dpkg/info/".len()..path.len() - ".list".len()];
            (file.to_owned(), content)
        })
        .collect();
    for fields in paragraphs(&status) {
        let (Some(name), Some(state)) = (field(&fields, "Package"), field(&fields, "Status")) else {
            continue;
        };
        if !state.ends_with(" installed") {
            continue;
        }
        let arch = field(&fields, "Architecture").unwrap_or("");
        let list = lists.get(&format!("{name}:{arch}")).or_else(|| lists.get(name));
        let paths: Vec<String> = list
            .map(|l| {
                String::from_utf8_lossy(l)
                    .lines()
                    .map(|line| line.trim_start_matches('/').to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let depends = field(&fields, "Depends")
            .map(|d| {
                d.split(',')
                    .filter_map(|alt| alt.split('|').next())
                    .filter_map(|dep| dep.split_whitespace().next())
                    .map(|dep| dep.split(':').next().unwrap_or(dep).to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let names = |list: &str| -> Vec<String> {
            list.split('|')
                .filter_map(|dep| dep.split_whitespace().next())
                .map(|dep| dep.split(':').next().unwrap_or(dep).to_owned())
                .collect()
        };
        let requires = ["Pre-Depends", "Depends"]
            .iter()
            .filter_map(|key| field(&fields, key))
            .flat_map(|d| d.split(',').map(names).collect::<Vec<_>>())
            .collect();
        let provides = field(&fields, "Provides")
            .map(|p| p.split(',').flat_map(names).collect())
            .unwrap_or_default();
        let recommends = field(&fields, "Recommends")
            .map(|d| d.split(',').map(names).collect())
            .unwrap_or_default();
        let essential = field(&fields, "Essential") == Some("yes") || field(&fields, "Priority") == Some("required");
        for path in &paths {
            let file = path.rsplit('/').next().unwrap_or(path);
            if crate::linkage::is_soname(file) && path.contains("lib/") {
                packages
                    .libraries
                    .entry(file.to_owned())
                    .or_insert_with(|| name.to_owned());
            }
        }
        let package = Package {
            manager: Manager::Dpkg,
            name: name.to_owned(),
            version: field(&fields, "Version").unwrap_or("").to_owned(),
            location: arch.to_owned(),
            depends,
            requires,
            provides,
            recommends,
            essential,
            reason: PackageReason::Unexplained,
            bytes: 0,
            files: 0,
        };
        packages.add(fs, package, paths);
    }
}

fn read_apk(fs: &FinalFs<'_, '_>, packages: &mut Packages) {
    let Some(db) = fs.content("lib/apk/db/installed") else {
        return;
    };
    let db = String::from_utf8_lossy(db);
    for block in db.split("\n\n") {
        let mut name = None;
        let mut version = "";
        let mut arch = "";
        let mut dir = String::new();
        let mut paths = Vec::new();
        for line in block.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key {
                "P" => name = Some(value),
                "V" => version = value,
                "A" => arch = value,
                "F" => dir = value.trim_matches('/').to_owned(),
                "R" => paths.push(if dir.is_empty() {
                    value.to_owned()
                } else {
                    format!("{dir}/{value}")
                }),
                _ => {}
            }
        }
        let Some(name) = name else { continue };
        let package = Package {
            manager: Manager::Apk,
            name: name.to_owned(),
            version: version.to_owned(),
            location: arch.to_owned(),
            depends: Vec::new(),
            requires: Vec::new(),
            provides: Vec::new(),
            recommends: Vec::new(),
            essential: false,
            reason: PackageReason::Unexplained,
            bytes: 0,
            files: 0,
        };
        packages.add(fs, package, paths);
    }
}

fn read_pip(fs: &FinalFs<'_, '_>, packages: &mut Packages) {
    let captured = fs.contents(|p| {
        p.ends_with(".dist-info/RECORD")
            || p.ends_with(".egg-info/installed-files.txt")
            || p.ends_with(".dist-info/METADATA")
    });
    let metadata: HashMap<&str, &[u8]> = captured
        .iter()
        .filter_map(|(path, content)| Some((path.strip_suffix("/METADATA")?, *content)))
        .collect();
    let records = captured.iter().filter(|(path, _)| !path.ends_with("/METADATA"));
    for &(path, content) in records {
        let Some((meta_dir, file)) = path.rsplit_once('/') else {
            continue;
        };
        let (site_dir, meta_name) = meta_dir.rsplit_once('/').unwrap_or(("", meta_dir));
        // Installed distributions only: caches (uv's archive, pip's wheels) hold
        // dist-info directories too.
        let site_name = site_dir.rsplit('/').next().unwrap_or(site_dir);
        if site_name != "site-packages" && site_name != "dist-packages" {
            continue;
        }
        let stem = meta_name.trim_end_matches(".dist-info").trim_end_matches(".egg-info");
        let (name, version) = stem.split_once('-').unwrap_or((stem, ""));
        let version = version.split('-').next().unwrap_or(version);
        let text = String::from_utf8_lossy(content);
        // RECORD paths are relative to the site directory; installed-files.txt ones to
        // the egg-info directory.
        let base = if file == "RECORD" { site_dir } else { meta_dir };
        let paths: Vec<String> = text
            .lines()
            .filter_map(|line| {
                let rel = if file == "RECORD" {
                    record_path(line)?
                } else {
                    line.trim()
                };
                (!rel.is_empty()).then(|| join_relative(base, rel))
            })
            .collect();
        let package = Package {
            manager: Manager::Pip,
            name: name.replace('_', "-").to_lowercase(),
            version: version.to_owned(),
            location: format!("/{site_dir}"),
            depends: Vec::new(),
            requires: metadata
                .get(meta_dir)
                .map(|m| requires_dist(&String::from_utf8_lossy(m)))
                .unwrap_or_default(),
            provides: Vec::new(),
            recommends: Vec::new(),
            essential: false,
            reason: PackageReason::Unexplained,
            bytes: 0,
            files: 0,
        };
        packages.add(fs, package, paths);
    }
}

/// METADATA's unconditional requirements (`Requires-Dist: name[x] (>=1) ; marker`), each
/// its own group: those with an `extra` marker are installed only when asked for.
fn requires_dist(metadata: &str) -> Vec<Vec<String>> {
    metadata
        .lines()
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.strip_prefix("Requires-Dist:"))
        .filter(|requirement| {
            requirement
                .split_once(';')
                .is_none_or(|(_, marker)| !marker.contains("extra"))
        })
        .filter_map(requirement_name)
        .map(|name| vec![name])
        .collect()
}

/// The distribution a requirement names (`uvicorn[standard]>=0.30` -> `uvicorn`),
/// normalised as PEP 503 compares names.
pub(crate) fn requirement_name(requirement: &str) -> Option<String> {
    let requirement = requirement.trim().trim_matches(|c| c == '\'' || c == '"');
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    let name = &requirement[..end];
    (!name.is_empty()).then(|| normalized(name))
}

/// PEP 503: lower case, each run of `-`, `_` and `.` one `-`.
fn normalized(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The path column of a RECORD line (CSV: `path,hash,size`; a path with a comma is quoted).
fn record_path(line: &str) -> Option<&str> {
    if let Some(rest) = line.strip_prefix('"') {
        return rest.split_once('"').map(|(p, _)| p);
    }
    line.split(',').next()
}

/// `base` + a relative path that may climb with `..`, normalised.
fn join_relative(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_paths() {
        assert_eq!(
            record_path("fastapi/__init__.py,sha256=abc,1000"),
            Some("fastapi/__init__.py")
        );
        assert_eq!(record_path("\"a,b.py\",sha256=x,1"), Some("a,b.py"));
        assert_eq!(
            join_relative("usr/local/lib/python3.11/dist-packages", "../../../bin/uvicorn"),
            "usr/local/bin/uvicorn"
        );
    }

    #[test]
    fn dpkg_paragraphs() {
        let text = "Package: a\nStatus: install ok installed\nDepends: libc6 (>= 2), libpq5 | libpq\nDescription: x\n more\n\nPackage: b\nStatus: deinstall ok config-files\n";
        let paras: Vec<_> = paragraphs(text).collect();
        assert_eq!(field(&paras[0], "Package"), Some("a"));
        assert_eq!(field(&paras[0], "Description"), Some("x\nmore"));
        assert_eq!(field(&paras[1], "Status"), Some("deinstall ok config-files"));
    }

    fn dpkg(name: &str, requires: &[&[&str]], recommends: &[&[&str]], provides: &[&str], essential: bool) -> Package {
        let groups = |g: &[&[&str]]| {
            g.iter()
                .map(|alts| alts.iter().map(|a| (*a).to_owned()).collect())
                .collect()
        };
        Package {
            manager: Manager::Dpkg,
            name: name.to_owned(),
            version: "1".to_owned(),
            location: "amd64".to_owned(),
            depends: Vec::new(),
            requires: groups(requires),
            provides: provides.iter().map(|p| (*p).to_owned()).collect(),
            recommends: groups(recommends),
            essential,
            reason: PackageReason::Unexplained,
            bytes: 0,
            files: 0,
        }
    }

    #[test]
    fn reasons_follow_requests_dependencies_and_recommendations() {
        let mut packages = Packages {
            list: vec![
                dpkg("app-dev", &[&["libapp1"], &["libc6"]], &[&["manpages"]], &[], false),
                // Reached through a virtual package only the second alternative names.
                dpkg("tool", &[&["missing", "mail-transport"]], &[], &[], false),
                dpkg("libapp1", &[&["libc6"]], &[], &[], false),
                dpkg("libc6", &[], &[], &[], true),
                dpkg("manpages", &[], &[], &[], false),
                dpkg("exim", &[], &[], &["mail-transport"], false),
                dpkg("leftover", &[], &[], &[], false),
            ],
            ..Default::default()
        };
        packages.explain(&[(
            2,
            vec![
                (Manager::Dpkg, "app-dev=1.0".to_owned()),
                (Manager::Dpkg, "tool:amd64".to_owned()),
            ],
        )]);
        let reason = |name: &str| packages.list.iter().find(|p| p.name == name).map(|p| p.reason.clone());
        assert_eq!(reason("app-dev"), Some(PackageReason::Requested { layer: 2 }));
        assert_eq!(reason("tool"), Some(PackageReason::Requested { layer: 2 }));
        assert_eq!(
            reason("libapp1"),
            Some(PackageReason::RequiredBy(vec!["app-dev".into()]))
        );
        // Depended on by two: both named, sorted; a dependency beats being essential.
        assert_eq!(
            reason("libc6"),
            Some(PackageReason::RequiredBy(vec!["app-dev".into(), "libapp1".into()]))
        );
        assert_eq!(reason("exim"), Some(PackageReason::RequiredBy(vec!["tool".into()])));
        assert_eq!(
            reason("manpages"),
            Some(PackageReason::RecommendedBy(vec!["app-dev".into()]))
        );
        assert_eq!(reason("leftover"), Some(PackageReason::Unexplained));
    }

    #[test]
    fn pip_reasons_come_from_requires_dist_and_pip_install() {
        let metadata = "Metadata-Version: 2.1\nName: fastapi\nRequires-Dist: starlette<0.38.0,>=0.37.2\n\
            Requires-Dist: pydantic!=1.8,>=1.7.4\nRequires-Dist: typing_extensions>=4.8.0\n\
            Requires-Dist: email_validator>=2.0.0 ; extra == \"all\"\n\nRequires-Dist: in-the-body\n";
        let requires = requires_dist(metadata);
        assert_eq!(requires, [["starlette"], ["pydantic"], ["typing-extensions"]]);
        let pip = |name: &str, requires: Vec<Vec<String>>| Package {
            manager: Manager::Pip,
            requires,
            ..dpkg(name, &[], &[], &[], false)
        };
        let mut packages = Packages {
            list: vec![
                pip("fastapi", requires),
                pip("starlette", vec![vec!["anyio".into()]]),
                pip("anyio", Vec::new()),
                pip("pydantic", Vec::new()),
                pip("typing-extensions", Vec::new()),
                pip("email-validator", Vec::new()),
                pip("uvicorn", Vec::new()),
                // A Debian package of the same name is not what pip's requirement names.
                dpkg("anyio", &[], &[], &[], false),
            ],
            ..Default::default()
        };
        packages.explain(&[(3, vec![(Manager::Pip, "Uvicorn".to_owned())])]);
        let reason = |manager: Manager, name: &str| {
            packages
                .list
                .iter()
                .find(|p| p.manager == manager && p.name == name)
                .map(|p| p.reason.clone())
        };
        assert_eq!(
            reason(Manager::Pip, "uvicorn"),
            Some(PackageReason::Requested { layer: 3 })
        );
        assert_eq!(reason(Manager::Pip, "fastapi"), Some(PackageReason::Unexplained));
        assert_eq!(
            reason(Manager::Pip, "starlette"),
            Some(PackageReason::RequiredBy(vec!["fastapi".into()]))
        );
        assert_eq!(
            reason(Manager::Pip, "typing-extensions"),
            Some(PackageReason::RequiredBy(vec!["fastapi".into()]))
        );
        assert_eq!(
            reason(Manager::Pip, "anyio"),
            Some(PackageReason::RequiredBy(vec!["starlette".into()]))
        );
        assert_eq!(reason(Manager::Dpkg, "anyio"), Some(PackageReason::Unexplained));
        // Only an extra asks for it.
        assert_eq!(
            reason(Manager::Pip, "email-validator"),
            Some(PackageReason::Unexplained)
        );
    }
}
