//! The image rebuilt the way `imgprof suggest` writes it, and the size of that image
//! estimated from this image's own files: one model behind both the suggested
//! Dockerfile and the projection `report` prints (docs/projection.md has the formula).
//!
//! The rebuild is a runtime stage on the slim variant of the base, with the
//! distribution packages the app needs at run time, the dependencies installed in a
//! builder stage (a venv, or `node_modules` without dev dependencies), the
//! application's files less what the `.dockerignore` leaves out, and the image's other
//! steps less what the findings remove. Each part is measured on this image: the slim
//! base as the root layer without what debuerreotype's slimify excludes, a package as
//! its files here (less the same excludes, which the slim base's dpkg config applies),
//! the venv's pip as the pip installed here.

use std::collections::{HashMap, HashSet, VecDeque};

use imgprof_layers::{EntryKind, Inode};
use imgprof_source::history::Instruction;

use crate::findings::Finding;
use crate::layer_order::{build_only, installs, is_context_copy, requested_system_packages};
use crate::packages::{Manager, Package};
use crate::{Analysis, BaseVariant, FindingId, RuntimeOrigin, categories, linkage};

/// What `imgprof suggest` rebuilds and what the result ships.
#[derive(Debug, Clone)]
pub struct Rebuild {
    /// The ecosystem whose dependencies a builder stage installs, if any.
    pub dependencies: Option<Ecosystem>,
    /// Distribution packages the runtime stage installs, in order.
    pub runtime_packages: Vec<String>,
    /// Distribution packages the builder stage installs, in order.
    pub build_packages: Vec<String>,
    /// Shared libraries the installed native modules link against and the package that
    /// ships each: why such a package is among `runtime_packages`.
    pub linked_libraries: Vec<LinkedLibrary>,
    /// Node: whether the build context has a `package-lock.json` (then `npm ci`, else
    /// `npm install`).
    pub lockfile: Option<bool>,
    /// Node: the `start` script of the app's `package.json` when the image starts with
    /// `npm start` and the script is a plain command (`node dist/server.js`): run directly,
    /// node gets the signals and the runtime needs no npm.
    pub start_command: Option<Vec<String>>,
    /// What the rebuilt image ships, part by part; the projection is their sum.
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Python,
    Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedLibrary {
    pub soname: String,
    pub package: String,
    /// One module that needs it (`/usr/local/lib/python3.11/.../_psycopg....so`).
    pub module: String,
}

/// One part of the rebuilt image.
#[derive(Debug, Clone)]
pub struct Part {
    /// `base`, `runtime-packages`, `dependencies`, `application`, `other-steps`, `user`.
    pub part: &'static str,
    /// What was counted, for people.
    pub title: String,
    pub bytes: u64,
}

impl Rebuild {
    pub fn projected_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }
}

/// What debuerreotype's slimify leaves out of a Debian `-slim` base, and what the dpkg
/// config it writes keeps out of every package installed there later
/// (`/etc/dpkg/dpkg.cfg.d/docker`: its path-excludes less its path-includes).
pub(crate) fn slim_excluded(path: &str) -> bool {
    const EXCLUDED: [&str; 7] = [
        "usr/share/doc/",
        "usr/share/groff/",
        "usr/share/info/",
        "usr/share/linda/",
        "usr/share/lintian/overrides/",
        "usr/share/locale/",
        "usr/share/man/",
    ];
    const INCLUDED_LOCALE: [&str; 5] = ["all_languages", "currency/", "l10n/", "languages", "locale.alias"];
    if !EXCLUDED.iter().any(|e| path.starts_with(e)) {
        return false;
    }
    if let Some(doc) = path.strip_prefix("usr/share/doc/") {
        let kept = (doc.ends_with("/copyright") && doc.matches('/').count() == 1) || doc.starts_with("kde/HTML/C/");
        return !kept;
    }
    if let Some(locale) = path.strip_prefix("usr/share/locale/") {
        return !INCLUDED_LOCALE.iter().any(|i| locale.starts_with(i));
    }
    true
}

/// What apt and dpkg rewrite when a runtime stage installs packages.
const APT_BOOKKEEPING: [&str; 12] = [
    "var/lib/dpkg/status",
    "var/lib/dpkg/status-old",
    "etc/ld.so.cache",
    "var/cache/ldconfig/aux-cache",
    "var/cache/debconf/templates.dat",
    "var/cache/debconf/templates.dat-old",
    "var/cache/debconf/config.dat",
    "var/cache/debconf/config.dat-old",
    "var/lib/apt/extended_states",
    "var/log/dpkg.log",
    "var/log/apt/history.log",
    "var/log/apt/eipp.log.xz",
];

/// What `useradd --create-home` writes: the user and group tables and their backups,
/// and the home directory from /etc/skel.
const USER_TABLES: [&str; 4] = ["etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"];

/// The steps after the base, each with the layer it made.
struct AppSteps<'i> {
    steps: Vec<(usize, &'i Instruction)>,
}

impl AppSteps<'_> {
    /// The layers of the steps that `wanted` picks.
    fn layers(&self, wanted: impl Fn(&Instruction) -> bool) -> HashSet<usize> {
        self.steps
            .iter()
            .filter(|(_, i)| wanted(i))
            .map(|&(layer, _)| layer)
            .collect()
    }

    /// The layers of the dependency installs made with one of `tools`.
    fn install_layers(&self, tools: &[&str]) -> HashSet<usize> {
        self.layers(|i| {
            i.as_run()
                .is_some_and(|run| installs(run).iter().any(|install| tools.contains(&install.tool)))
        })
    }
}

const PYTHON_TOOLS: [&str; 4] = ["pip", "uv", "poetry", "pipenv"];
const NODE_TOOLS: [&str; 3] = ["npm", "yarn", "pnpm"];

impl Analysis<'_, '_> {
    /// The rebuild `suggest` writes for this image, if it writes one: a Debian-family
    /// image (dpkg) whose base is known, on a full base or with dependencies installed
    /// in its single stage. An image already built on a slim base with nothing installed
    /// in its own stage (multi-stage done) gets none.
    pub(crate) fn rebuild(&self, findings: &[Finding]) -> Option<Rebuild> {
        let identity = &self.base.identity;
        let base_layers = self.base.layers;
        if identity.package_manager != Some("apt") || base_layers == 0 {
            return None;
        }
        let app = AppSteps {
            steps: (base_layers..self.instructions.len())
                .filter_map(|l| self.instructions[l].as_ref().map(|i| (l, i)))
                .collect(),
        };
        let python_layers = app.install_layers(&PYTHON_TOOLS);
        let node_layers = app.install_layers(&NODE_TOOLS);
        let dependencies = if !python_layers.is_empty() {
            Some(Ecosystem::Python)
        } else if !node_layers.is_empty() {
            Some(Ecosystem::Node)
        } else {
            None
        };
        let full_base = identity.variant == BaseVariant::Full;
        if !full_base && dependencies.is_none() {
            return None;
        }
        let install_layers = match dependencies {
            Some(Ecosystem::Python) => python_layers,
            Some(Ecosystem::Node) => node_layers,
            None => HashSet::new(),
        };
        let in_runtime_base = self.runtime_base_packages(full_base);
        let (build_packages, mut runtime_packages, linked_libraries) =
            self.package_sets(&app, dependencies, &install_layers, &in_runtime_base);
        let start_command = (dependencies == Some(Ecosystem::Node))
            .then(|| self.npm_start_script())
            .flatten();
        let command = self.entrypoint.iter().chain(&self.cmd).next().map(String::as_str);
        let distro_node = self.base.identity.node_origin() == Some(RuntimeOrigin::Distribution);
        if distro_node && start_command.is_none() && matches!(command, Some("npm" | "npx")) {
            // The image starts with npm: the distribution's nodejs comes without it.
            runtime_packages.push("npm".to_owned());
        }
        let installed = self.closure(&runtime_packages, &in_runtime_base);
        runtime_packages.retain(|p| !in_runtime_base.contains(p));

        let mut parts = vec![self.base_part(full_base)];
        parts.push(self.runtime_packages_part(&installed, &runtime_packages));
        match dependencies {
            Some(Ecosystem::Python) => parts.push(self.venv_part(&install_layers)),
            Some(Ecosystem::Node) => parts.push(self.node_modules_part(&install_layers)),
            None => {}
        }
        let apt_layers = app.layers(|i| i.as_run().is_some_and(|r| !requested_system_packages(r).is_empty()));
        let context_layers = app.layers(|i| i.as_copy().is_some_and(is_context_copy));
        parts.push(self.application_part(&context_layers));
        let lockfile = (dependencies == Some(Ecosystem::Node)).then(|| {
            self.classified.iter().any(|f| {
                context_layers.contains(&(f.layer as usize))
                    && f.path.ends_with("package-lock.json")
                    && !f.path.contains("node_modules/")
            })
        });
        let replaced: HashSet<usize> = install_layers
            .iter()
            .chain(&apt_layers)
            .chain(&context_layers)
            .copied()
            .chain(0..base_layers)
            .collect();
        parts.push(self.other_steps_part(&replaced, findings));
        if findings.iter().any(|f| f.id == FindingId::RunsAsRoot) {
            parts.push(self.user_part());
        }
        Some(Rebuild {
            dependencies,
            runtime_packages,
            build_packages,
            linked_libraries,
            lockfile,
            start_command,
            parts,
        })
    }

    /// The dpkg packages the runtime stage's base has without installing anything: the
    /// root layer's (a full base's slim variant has the same packages) or, on a slim
    /// base, the base's own.
    fn runtime_base_packages(&self, full_base: bool) -> HashSet<String> {
        let top = if full_base { 1 } else { self.base.layers };
        crate::packages::last_dpkg_status(&self.stack.layers()[..top])
            .map(|status| crate::packages::installed_names(&String::from_utf8_lossy(status)))
            .unwrap_or_default()
    }

    /// The builder's and the runtime's distribution packages, and the libraries the
    /// installed native modules link against.
    fn package_sets(
        &self,
        app: &AppSteps<'_>,
        dependencies: Option<Ecosystem>,
        install_layers: &HashSet<usize>,
        in_runtime_base: &HashSet<String>,
    ) -> (Vec<String>, Vec<String>, Vec<LinkedLibrary>) {
        let identity = &self.base.identity;
        let requested: Vec<String> = app
            .steps
            .iter()
            .filter_map(|(_, i)| i.as_run())
            .flat_map(requested_system_packages)
            .collect();
        let mut build: Vec<String> = requested.iter().filter(|p| build_only(p)).cloned().collect();
        let mut run: Vec<String> = requested.iter().filter(|p| !build_only(p)).cloned().collect();
        // Only libraries have a runtime counterpart (libpq-dev -> libpq5).
        for dev in requested.iter().filter(|p| p.starts_with("lib") && p.ends_with("-dev")) {
            if let Some(package) = self.packages.find(Manager::Dpkg, dev) {
                run.extend(package.runtime_counterparts());
            }
        }
        let distro = Some(RuntimeOrigin::Distribution);
        match dependencies {
            Some(Ecosystem::Python) if identity.python_origin() == distro => {
                // A venv needs python3-venv, a source build the headers and a compiler.
                let mut needed = vec!["python3", "python3-venv", "python3-dev"];
                if !identity.compilers.is_empty() {
                    needed.push("build-essential");
                }
                for (at, package) in needed.into_iter().enumerate() {
                    build.insert(at, package.to_owned());
                }
                run.insert(0, "python3".to_owned());
            }
            Some(Ecosystem::Node) if identity.node_origin() == distro => {
                build.splice(0..0, ["nodejs".to_owned(), "npm".to_owned()]);
                run.insert(0, "nodejs".to_owned());
            }
            _ => {}
        }
        if self.built_from_source(install_layers) {
            // What the image's own build could link against: every -dev package it holds
            // (some came with a full base, not from a RUN of its own).
            for package in self.packages.list.iter().filter(|p| p.manager == Manager::Dpkg) {
                if package.name.ends_with("-dev") {
                    build.push(package.name.clone());
                }
            }
        }
        let mut linked = Vec::new();
        for file in self
            .classified
            .iter()
            .filter(|f| install_layers.contains(&(f.layer as usize)))
        {
            if !linkage::is_native_module(file.path) {
                continue;
            }
            let Some(prefix) = crate::fs::captured_at(self.stack, file.path) else {
                continue;
            };
            for soname in linkage::needed_libraries(prefix) {
                let Some(package) = self.packages.library_owner(&soname) else {
                    continue;
                };
                if in_runtime_base.contains(package) || linked.iter().any(|l: &LinkedLibrary| l.soname == soname) {
                    continue;
                }
                run.push(package.to_owned());
                linked.push(LinkedLibrary {
                    soname,
                    package: package.to_owned(),
                    module: format!("/{}", file.path),
                });
            }
        }
        build.retain(|p| p != "python3-pip");
        dedup_keep_order(&mut build);
        dedup_keep_order(&mut run);
        linked.sort_by(|a, b| a.soname.cmp(&b.soname));
        (build, run, linked)
    }

    /// Whether the dependency install compiled something: a wheel built on the spot
    /// (`linux_*` tag, not a `manylinux` one from the index) or a Node addon built by
    /// node-gyp (`build/Release/*.node`).
    fn built_from_source(&self, install_layers: &HashSet<usize>) -> bool {
        self.classified
            .iter()
            .filter(|f| install_layers.contains(&(f.layer as usize)))
            .any(|f| {
                (f.path.ends_with(".node") && f.path.contains("/build/Release/"))
                    || (f.path.ends_with(".dist-info/WHEEL")
                        && crate::fs::captured_at(self.stack, f.path).is_some_and(|wheel| {
                            String::from_utf8_lossy(wheel)
                                .lines()
                                .filter_map(|l| l.strip_prefix("Tag:"))
                                .any(|tag| tag.trim().contains("-linux_"))
                        }))
            })
    }

    /// `packages` and what they depend on (the first alternative installed here), less
    /// what the runtime base has: what `apt-get install` adds, by installed package.
    fn closure(&self, packages: &[String], in_runtime_base: &HashSet<String>) -> Vec<&Package> {
        let dpkg: HashMap<&str, &Package> = self
            .packages
            .list
            .iter()
            .filter(|p| p.manager == Manager::Dpkg)
            .map(|p| (p.name.as_str(), p))
            .collect();
        let provider = |name: &str| -> Option<&Package> {
            dpkg.get(name).copied().or_else(|| {
                self.packages
                    .list
                    .iter()
                    .find(|p| p.manager == Manager::Dpkg && p.provides.iter().any(|v| v == name))
            })
        };
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        let mut queue: VecDeque<&Package> = packages.iter().filter_map(|p| provider(p)).collect();
        while let Some(package) = queue.pop_front() {
            if in_runtime_base.contains(&package.name) || !seen.insert(package.name.as_str()) {
                continue;
            }
            out.push(package);
            for alternatives in &package.requires {
                if let Some(dep) = alternatives.iter().find_map(|a| provider(a)) {
                    queue.push_back(dep);
                }
            }
        }
        out
    }

    fn base_part(&self, full_base: bool) -> Part {
        let layers = self.stack.layers();
        let identity = &self.base.identity;
        if !full_base {
            let bytes = layers[..self.base.layers].iter().map(|l| l.content_bytes()).sum();
            return Part {
                part: "base",
                title: "the base image, as it is (already slim)".to_owned(),
                bytes,
            };
        }
        let root: u64 = layers[0]
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::File && !slim_excluded(&e.path))
            .map(|e| e.size)
            .sum();
        // The official python and node images build their runtime into /usr/local; the
        // -slim variant has the same build there.
        let local = [identity.python_origin(), identity.node_origin()].contains(&Some(RuntimeOrigin::Local));
        let local_bytes: u64 = if local {
            self.classified
                .iter()
                .filter(|f| (1..self.base.layers).contains(&(f.layer as usize)) && f.path.starts_with("usr/local/"))
                .map(|f| f.bytes)
                .sum()
        } else {
            0
        };
        Part {
            part: "base",
            title: if local {
                "the slim variant of the base: the root layer without docs, man pages and locales, and the runtime the base built into /usr/local".to_owned()
            } else {
                "the slim variant of the base: the root layer without docs, man pages and locales".to_owned()
            },
            bytes: root + local_bytes,
        }
    }

    fn runtime_packages_part(&self, installed: &[&Package], requested: &[String]) -> Part {
        if installed.is_empty() {
            return Part {
                part: "runtime-packages",
                title: "no distribution packages to install".to_owned(),
                bytes: 0,
            };
        }
        let names: HashSet<&str> = installed.iter().map(|p| p.name.as_str()).collect();
        let installs = |file: &crate::findings::Classified<'_>| {
            self.packages
                .owner_of(file.inode)
                .is_some_and(|p| p.manager == Manager::Dpkg && names.contains(p.name.as_str()))
        };
        // Debian's Python packages compile their modules when installed (py3compile):
        // bytecode no file list names, counted with the module it was compiled from.
        let modules: HashSet<&str> = self
            .classified
            .iter()
            .filter(|f| f.path.ends_with(".py") && installs(f))
            .map(|f| f.path)
            .collect();
        let mut bytes = 0;
        for file in &self.classified {
            let compiled = || bytecode_source(file.path).is_some_and(|source| modules.contains(source.as_str()));
            if (installs(file) && !slim_excluded(file.path)) || compiled() {
                bytes += file.bytes;
            }
            // dpkg's record of each installed package (`info/libpq5:amd64.list`, ...).
            if let Some(info) = file.path.strip_prefix("var/lib/dpkg/info/") {
                let package = info.split(['.', ':']).next().unwrap_or(info);
                if names.contains(package) {
                    bytes += file.bytes;
                }
            }
        }
        bytes += APT_BOOKKEEPING
            .iter()
            .filter_map(|p| crate::fs::size_at(self.stack, p))
            .sum::<u64>();
        let missing: Vec<&str> = requested
            .iter()
            .map(String::as_str)
            .filter(|r| {
                !self
                    .packages
                    .list
                    .iter()
                    .any(|p| p.manager == Manager::Dpkg && p.name == *r)
            })
            .collect();
        let mut title = format!(
            "{} ({} packages with their dependencies, as installed here without docs, and apt's bookkeeping)",
            requested.join(" "),
            installed.len()
        );
        if !missing.is_empty() {
            title.push_str(&format!("; not in this image, so not counted: {}", missing.join(" ")));
        }
        Part {
            part: "runtime-packages",
            title,
            bytes,
        }
    }

    /// The venv: what the dependency installs put in site-packages (no download cache),
    /// and the pip (and, before Python 3.12, setuptools) that `python -m venv` seeds it
    /// with, as installed in this image's own site directory.
    fn venv_part(&self, install_layers: &HashSet<usize>) -> Part {
        let installed: u64 = self
            .classified
            .iter()
            .filter(|f| {
                install_layers.contains(&(f.layer as usize))
                    && f.category != categories::PACKAGE_CACHE
                    && !f.path.starts_with("root/.cache/")
            })
            .map(|f| f.bytes)
            .sum();
        let site = self.classified.iter().find_map(|f| {
            f.path
                .strip_suffix("pip/__init__.py")
                .filter(|site| site.ends_with("-packages/") && !install_layers.contains(&(f.layer as usize)))
        });
        let minor: Option<u32> = self
            .base
            .identity
            .python
            .as_deref()
            .and_then(|p| p.rsplit("python3.").next())
            .and_then(|m| m.parse().ok());
        let mut seeds = vec!["pip/", "pip-"];
        if minor.is_some_and(|m| m < 12) {
            seeds.extend([
                "setuptools/",
                "setuptools-",
                "pkg_resources/",
                "_distutils_hack/",
                "distutils-precedence.pth",
            ]);
        }
        let seed: u64 = site.map_or(0, |site| {
            self.classified
                .iter()
                .filter(|f| {
                    f.path
                        .strip_prefix(site)
                        .is_some_and(|rest| seeds.iter().any(|s| rest.starts_with(s)))
                })
                .map(|f| f.bytes)
                .sum()
        });
        Part {
            part: "dependencies",
            title: match site {
                Some(site) => format!(
                    "the venv: what the dependency install wrote (no download cache) and the {} it is seeded with, as in /{site}",
                    if seeds.len() > 2 { "pip and setuptools" } else { "pip" }
                ),
                None => "the venv: what the dependency install wrote (no download cache); its own pip not counted (none installed here to measure)".to_owned(),
            },
            bytes: installed + seed,
        }
    }

    /// The app's `start` script as a command, when the image starts with `npm start`
    /// (`npm run start`) and the script is one plain command (no shell syntax).
    fn npm_start_script(&self) -> Option<Vec<String>> {
        let words: Vec<&str> = self.cmd.iter().map(String::as_str).collect();
        if !self.entrypoint.is_empty() || !matches!(words.as_slice(), ["npm", "start"] | ["npm", "run", "start"]) {
            return None;
        }
        let manifest = match &self.workdir {
            Some(dir) => format!("{dir}/package.json"),
            None => "package.json".to_owned(),
        };
        let content = crate::fs::captured_at(self.stack, &manifest)?;
        let manifest: serde_json::Value = serde_json::from_slice(content).ok()?;
        let script = manifest.get("scripts")?.get("start")?.as_str()?;
        let plain = !script.is_empty()
            && script
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '/' | '.' | '-' | '_' | '=' | ':' | '@' | ','));
        plain.then(|| script.split_whitespace().map(str::to_owned).collect())
    }

    /// npm's record of what it installed (`node_modules/.package-lock.json`): path and
    /// content of the one the dependency install wrote.
    fn npm_lockfile(&self) -> Option<(&str, serde_json::Value)> {
        self.classified
            .iter()
            .filter(|f| f.path.ends_with("node_modules/.package-lock.json"))
            .find_map(|f| {
                let content = crate::fs::captured_at(self.stack, f.path)?;
                Some((f.path, serde_json::from_slice(content).ok()?))
            })
    }

    /// `node_modules` without the dev dependencies (what npm's hidden lockfile marks
    /// `"dev": true`), as installed here; no npm cache.
    fn node_modules_part(&self, install_layers: &HashSet<usize>) -> Part {
        let in_install = |f: &&crate::findings::Classified<'_>| install_layers.contains(&(f.layer as usize));
        let Some((lock_path, lock)) = self.npm_lockfile() else {
            let bytes = self
                .classified
                .iter()
                .filter(in_install)
                .filter(|f| f.path.contains("node_modules/"))
                .map(|f| f.bytes)
                .sum();
            return Part {
                part: "dependencies",
                title: "node_modules as installed (npm kept no record of which are dev dependencies)".to_owned(),
                bytes,
            };
        };
        let root = lock_path.trim_end_matches("node_modules/.package-lock.json");
        let dev: HashSet<&str> = lock
            .get("packages")
            .and_then(|p| p.as_object())
            .map(|packages| {
                packages
                    .iter()
                    .filter(|(_, p)| p.get("dev").and_then(|d| d.as_bool()) == Some(true))
                    .map(|(key, _)| key.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let (mut kept, mut dropped) = (0u64, 0u64);
        for file in self.classified.iter().filter(in_install) {
            let Some(relative) = file.path.strip_prefix(root) else {
                continue;
            };
            if !relative.starts_with("node_modules/") {
                continue;
            }
            if package_key(relative).is_some_and(|key| dev.contains(key)) {
                dropped += file.bytes;
            } else {
                kept += file.bytes;
            }
        }
        Part {
            part: "dependencies",
            title: format!(
                "node_modules without dev dependencies ({} packages marked dev by npm, {} left out)",
                dev.len(),
                crate::human(dropped)
            ),
            bytes: kept,
        }
    }

    /// The application: what the context copies brought, less what the `.dockerignore`
    /// leaves out (version control, build-context leftovers, secrets, models, bytecode,
    /// installed dependencies, the build recipe).
    fn application_part(&self, context_layers: &HashSet<usize>) -> Part {
        let ignored_category = |c: &str| {
            matches!(
                c,
                categories::VCS | categories::BUILD_CONTEXT | categories::SECRETS | categories::MODELS
            )
        };
        let bytes = self
            .classified
            .iter()
            .filter(|f| context_layers.contains(&(f.layer as usize)) && !ignored_category(f.category))
            .filter(|f| {
                let name = f.path.rsplit('/').next().unwrap_or(f.path);
                !f.path
                    .split('/')
                    .any(|s| matches!(s, "__pycache__" | "node_modules" | ".git"))
                    && !matches!(name, "Dockerfile" | ".dockerignore")
            })
            .map(|f| f.bytes)
            .sum();
        Part {
            part: "application",
            title: "the application's files from the build context, less what the .dockerignore leaves out".to_owned(),
            bytes,
        }
    }

    /// The image's other steps, as they are, less what the findings remove.
    fn other_steps_part(&self, replaced: &HashSet<usize>, findings: &[Finding]) -> Part {
        let removed: HashSet<Inode> = findings.iter().flat_map(|f| f.removes.inodes.iter().copied()).collect();
        let bytes = self
            .classified
            .iter()
            .chain(&self.lost)
            .filter(|f| !replaced.contains(&(f.layer as usize)) && !removed.contains(&f.inode))
            .map(|f| f.bytes)
            .sum();
        Part {
            part: "other-steps",
            title: "the image's other steps, less what the findings remove".to_owned(),
            bytes,
        }
    }

    fn user_part(&self) -> Part {
        let tables: u64 = USER_TABLES
            .iter()
            .filter_map(|p| crate::fs::size_at(self.stack, p))
            .sum();
        let skel: u64 = self
            .classified
            .iter()
            .filter(|f| f.path.starts_with("etc/skel/"))
            .map(|f| f.bytes)
            .sum();
        Part {
            part: "user",
            title: "useradd: the user and group tables and their backups, and a home from /etc/skel".to_owned(),
            bytes: 2 * tables + skel,
        }
    }
}

/// The package a file of `node_modules` belongs to, as npm's lockfile keys it:
/// `node_modules/a/node_modules/@s/b/lib/x.js` -> `node_modules/a/node_modules/@s/b`.
fn package_key(relative: &str) -> Option<&str> {
    let start = relative.rfind("node_modules/")? + "node_modules/".len();
    let rest = &relative[start..];
    let segments = if rest.starts_with('@') { 2 } else { 1 };
    let mut end = start;
    for (n, segment) in rest.split('/').enumerate() {
        if n == segments {
            break;
        }
        end += segment.len() + usize::from(n > 0);
    }
    (end > start && end < relative.len()).then(|| &relative[..end])
}

/// The module a bytecode file was compiled from:
/// `usr/lib/python3.11/__pycache__/abc.cpython-311.pyc` -> `usr/lib/python3.11/abc.py`.
fn bytecode_source(path: &str) -> Option<String> {
    let (dir, name) = path.rsplit_once("/__pycache__/")?;
    let stem = name.strip_suffix(".pyc")?.split('.').next()?;
    Some(format!("{dir}/{stem}.py"))
}

fn dedup_keep_order(list: &mut Vec<String>) {
    let mut seen = HashSet::new();
    list.retain(|p| seen.insert(p.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slimify_excludes_docs_man_pages_and_locales_but_not_copyrights() {
        assert!(slim_excluded("usr/share/doc/libc6/changelog.Debian.gz"));
        assert!(slim_excluded("usr/share/man/man1/ls.1.gz"));
        assert!(slim_excluded("usr/share/locale/de/LC_MESSAGES/dpkg.mo"));
        assert!(!slim_excluded("usr/share/doc/libc6/copyright"));
        assert!(!slim_excluded("usr/share/locale/locale.alias"));
        assert!(!slim_excluded("usr/lib/x86_64-linux-gnu/libc.so.6"));
    }

    #[test]
    fn bytecode_is_traced_to_its_module() {
        assert_eq!(
            bytecode_source("usr/lib/python3.11/__pycache__/abc.cpython-311.pyc").as_deref(),
            Some("usr/lib/python3.11/abc.py")
        );
        assert_eq!(bytecode_source("usr/lib/python3.11/abc.py"), None);
    }

    #[test]
    fn node_module_files_belong_to_their_innermost_package() {
        assert_eq!(
            package_key("node_modules/express/index.js"),
            Some("node_modules/express")
        );
        assert_eq!(
            package_key("node_modules/jest/node_modules/@babel/core/lib/index.js"),
            Some("node_modules/jest/node_modules/@babel/core")
        );
        assert_eq!(package_key("node_modules/.package-lock.json"), None);
        assert_eq!(package_key("node_modules/express"), None);
    }
}
