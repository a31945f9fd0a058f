//! The category rule table: what a file is, in priority order. Every byte of the final
//! filesystem and every redundant byte falls in exactly one category (the first whose
//! rule matches), with `other` for the rest, so category sums add up to the totals.
//! `docs/rules.md` documents this table; keep the two together.

use crate::packages::{Manager, Package};

/// A way a path (or its owning package) can match a rule.
#[derive(Debug, Clone, Copy)]
pub enum Pattern {
    /// The path starts with this (paths have no leading `/`).
    Prefix(&'static str),
    /// The path ends with this (e.g. an extension).
    Suffix(&'static str),
    /// Some component of the path equals this.
    Component(&'static str),
    /// These components appear consecutively somewhere in the path.
    Components(&'static [&'static str]),
    /// A component named like one of `names` below a component named like one of
    /// `roots` (tests inside installed Python packages).
    Below(&'static [&'static str], &'static [&'static str]),
    /// The owning Debian/Alpine package is named this.
    Package(&'static str),
    PackagePrefix(&'static str),
    PackageSuffix(&'static str),
    /// The file looks like a secret (see `secrets`).
    Secret,
}

/// Where a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Anywhere,
    /// Only below the image's working directory (the build context's usual landing place).
    Workdir,
}

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub what: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
    pub any: &'static [Pattern],
    pub unless: &'static [Pattern],
    pub scope: Scope,
    /// Files smaller than this do not match.
    pub min_size: u64,
}

const PYTHON_SITE: &[&str] = &["site-packages", "dist-packages"];

/// Compiler and build-tool packages (Debian names), beyond the `-dev` suffix.
const TOOLCHAIN_PACKAGES: &[Pattern] = &[
    Pattern::Package("gcc"),
    Pattern::Package("g++"),
    Pattern::Package("cpp"),
    Pattern::Package("make"),
    Pattern::Package("build-essential"),
    Pattern::Package("dpkg-dev"),
    Pattern::Package("patch"),
    Pattern::Package("rustc"),
    Pattern::Package("cargo"),
    Pattern::PackagePrefix("gcc-"),
    Pattern::PackagePrefix("g++-"),
    Pattern::PackagePrefix("cpp-"),
    Pattern::PackagePrefix("binutils"),
    Pattern::PackagePrefix("libbinutils"),
    Pattern::PackagePrefix("libctf"),
    Pattern::PackagePrefix("libgprofng"),
    Pattern::PackagePrefix("libasan"),
    Pattern::PackagePrefix("libtsan"),
    Pattern::PackagePrefix("liblsan"),
    Pattern::PackagePrefix("libubsan"),
    Pattern::PackagePrefix("libhwasan"),
    Pattern::PackagePrefix("libitm"),
    Pattern::PackagePrefix("libcc1-"),
    Pattern::PackagePrefix("libisl"),
    Pattern::PackagePrefix("libmpc"),
    Pattern::PackagePrefix("libmpfr"),
    Pattern::PackagePrefix("golang-"),
    Pattern::PackagePrefix("llvm-"),
    Pattern::PackagePrefix("clang-"),
    Pattern::PackageSuffix("-dev"),
    Pattern::PackageSuffix("-dev-bin"),
    Pattern::Prefix("usr/lib/gcc/"),
    Pattern::Prefix("usr/libexec/gcc/"),
    Pattern::Prefix("usr/local/go/"),
    Pattern::Component(".rustup"),
];

pub const RULES: &[Rule] = &[
    Rule {
        id: "secrets",
        title: "secrets",
        what: "Files that hold credentials: .env files, private keys, npm/PyPI/netrc configs with tokens.",
        why: "Anyone who can pull the image can read them, in every layer that ever held them.",
        fix: "Keep them out of the build context (.dockerignore) and pass secrets at run time, or with `RUN --mount=type=secret` at build time.",
        any: &[Pattern::Secret],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "vcs",
        title: "version control",
        what: "Repository metadata: .git, .hg, .svn directories.",
        why: "History and objects of the whole repository ship with the image; the service never reads them.",
        fix: "Add `.git` to .dockerignore.",
        any: &[
            Pattern::Component(".git"),
            Pattern::Component(".hg"),
            Pattern::Component(".svn"),
        ],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "package-cache",
        title: "language package caches",
        what: "Download and build caches of pip, uv, poetry, pipenv, npm and yarn.",
        why: "Caches speed up the next install on a developer machine; inside an image nothing installs again, so they are pure weight.",
        fix: "`pip install --no-cache-dir`, `uv pip install --no-cache` (or `UV_NO_CACHE=1`), `npm ci && npm cache clean --force`, or keep the cache out of the layer with `RUN --mount=type=cache,target=/root/.cache`.",
        any: &[
            Pattern::Components(&[".cache", "pip"]),
            Pattern::Components(&[".cache", "uv"]),
            Pattern::Components(&[".cache", "pypoetry"]),
            Pattern::Components(&[".cache", "pipenv"]),
            Pattern::Components(&[".cache", "yarn"]),
            Pattern::Components(&[".npm", "_cacache"]),
            Pattern::Components(&[".yarn", "cache"]),
        ],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "apt-lists",
        title: "apt package lists",
        what: "Package indexes downloaded by `apt-get update` (/var/lib/apt/lists).",
        why: "Only needed to install packages; stale by the next build anyway.",
        fix: "`rm -rf /var/lib/apt/lists/*` in the same RUN as `apt-get update && apt-get install`.",
        any: &[Pattern::Prefix("var/lib/apt/lists/")],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "os-package-cache",
        title: "OS package caches",
        what: "Downloaded packages and caches of apt, apk, dnf and yum (/var/cache/apt, /var/cache/apk, ...).",
        why: "The .deb/.apk files are already installed; the caches are rebuilt on demand.",
        fix: "`apt-get clean` (or `rm -rf /var/cache/apt/*`) in the same RUN; `apk add --no-cache`; `dnf clean all`.",
        any: &[
            Pattern::Prefix("var/cache/apt/"),
            Pattern::Prefix("var/cache/apk/"),
            Pattern::Prefix("var/cache/dnf/"),
            Pattern::Prefix("var/cache/yum/"),
            Pattern::Prefix("var/cache/zypp/"),
        ],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "build-context",
        title: "build-context leftovers",
        what: "Files of the build context a service does not run: tests, logs, editor and CI settings, tool caches.",
        why: "`COPY . .` copies the whole context; a .dockerignore keeps it to what runs.",
        fix: "List them in .dockerignore (e.g. `tests/`, `*.log`, `.pytest_cache/`, `.github/`).",
        any: &[
            Pattern::Component("tests"),
            Pattern::Component("test"),
            Pattern::Suffix(".log"),
            Pattern::Component(".pytest_cache"),
            Pattern::Component(".mypy_cache"),
            Pattern::Component(".ruff_cache"),
            Pattern::Component(".tox"),
            Pattern::Component(".github"),
            Pattern::Component(".gitlab-ci.yml"),
            Pattern::Component(".vscode"),
            Pattern::Component(".idea"),
            Pattern::Component("Dockerfile"),
            Pattern::Component(".dockerignore"),
        ],
        // A package's own tests and docs are the package's, not the context's.
        unless: &[
            Pattern::Component("site-packages"),
            Pattern::Component("dist-packages"),
            Pattern::Component("node_modules"),
        ],
        scope: Scope::Workdir,
        min_size: 0,
    },
    Rule {
        id: "models",
        title: "model and data files",
        what: "Large model weights and data files (.safetensors, .gguf, .onnx, .pt, .ckpt, .bin) of 10 MB or more.",
        why: "Every pull downloads them again with each image version; they change on another schedule than the code.",
        fix: "Mount them from a volume or fetch them at start-up; keep them out of the build context.",
        any: &[
            Pattern::Suffix(".safetensors"),
            Pattern::Suffix(".gguf"),
            Pattern::Suffix(".onnx"),
            Pattern::Suffix(".pt"),
            Pattern::Suffix(".pth"),
            Pattern::Suffix(".ckpt"),
            Pattern::Suffix(".h5"),
            Pattern::Suffix(".bin"),
        ],
        unless: &[Pattern::Prefix("usr/lib/firmware/")],
        scope: Scope::Anywhere,
        min_size: 10_000_000,
    },
    Rule {
        id: "bytecode",
        title: "Python bytecode",
        what: "Compiled Python modules (__pycache__, .pyc).",
        why: "Compiled at build time they speed up start-up, so they are often worth keeping; bytecode for modules that are gone, or several optimisation levels of one module, is waste.",
        fix: "Keep build-time bytecode for fast start-up; to drop it, set `PYTHONDONTWRITEBYTECODE=1` and install with `--no-compile`.",
        any: &[
            Pattern::Component("__pycache__"),
            Pattern::Suffix(".pyc"),
            Pattern::Suffix(".pyo"),
        ],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "headers",
        title: "C/C++ headers",
        what: "Header files (/usr/include, *.h inside packages).",
        why: "Only a compiler reads them; a running service does not.",
        fix: "Build in a builder stage and copy only the results; install runtime libraries (`libpq5`) instead of `-dev` packages.",
        any: &[
            Pattern::Prefix("usr/include/"),
            Pattern::Prefix("usr/local/include/"),
            Pattern::Suffix(".h"),
            Pattern::Suffix(".hpp"),
            Pattern::Suffix(".hh"),
            Pattern::Suffix(".hxx"),
        ],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "static-libs",
        title: "static libraries",
        what: "Static libraries and libtool archives (*.a, *.la).",
        why: "Linked into programs at build time; nothing loads them at run time.",
        fix: "Build in a builder stage; do not install `-dev` packages in the runtime image.",
        any: &[Pattern::Suffix(".a"), Pattern::Suffix(".la")],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "toolchain",
        title: "compilers and build tools",
        what: "Compilers, linkers and build tools (gcc, cc1, g++, binutils, make, rustc, go) and the rest of `-dev` packages.",
        why: "Needed to build wheels and extensions, not to run them.",
        fix: "A multi-stage build: install build-essential and the `-dev` packages in a builder stage, build a venv there, copy only the venv into a slim runtime stage.",
        any: TOOLCHAIN_PACKAGES,
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "docs",
        title: "docs, man pages, locales, package tests",
        what: "Documentation, man and info pages, translations, and test suites inside installed packages.",
        why: "Nobody reads man pages inside a container; package test suites never run there.",
        fix: "`apt-get install --no-install-recommends`, dpkg `path-exclude` rules for /usr/share/doc, man and locale (as the -slim images have), or a -slim base.",
        any: &[
            Pattern::Prefix("usr/share/doc/"),
            Pattern::Prefix("usr/share/man/"),
            Pattern::Prefix("usr/share/info/"),
            Pattern::Prefix("usr/share/locale/"),
            Pattern::Prefix("usr/share/lintian/"),
            Pattern::Prefix("usr/share/gtk-doc/"),
            Pattern::Below(PYTHON_SITE, &["tests", "test"]),
        ],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
    Rule {
        id: "python-packages",
        title: "installed Python packages",
        what: "Installed Python distributions (site-packages, dist-packages): the code the service runs.",
        why: "Needed; listed so its share of the image is visible. Per-package sizes are in the package list.",
        fix: "Review the heaviest dependencies; install only the extras you use.",
        any: &[Pattern::Component("site-packages"), Pattern::Component("dist-packages")],
        unless: &[],
        scope: Scope::Anywhere,
        min_size: 0,
    },
];

/// The catch-all for bytes no rule matched.
pub const OTHER: &str = "other";
pub const PACKAGE_CACHE: &str = "package-cache";
pub const VCS: &str = "vcs";
pub const BUILD_CONTEXT: &str = "build-context";
pub const SECRETS: &str = "secrets";
pub const MODELS: &str = "models";
/// Bytes under the rules file's `exclude_paths`: counted, never judged.
pub const EXCLUDED: &str = "excluded";

/// What the rules look at for one file.
pub struct FileFacts<'a> {
    pub path: &'a str,
    /// `path` split at `/`, computed once for all the rules.
    pub components: Vec<&'a str>,
    pub bytes: u64,
    pub package: Option<&'a Package>,
    pub secret: bool,
    /// The image's working directory (normalised, no leading `/`), if any besides `/`.
    pub workdir: Option<&'a str>,
}

impl<'a> FileFacts<'a> {
    pub fn new(
        path: &'a str,
        bytes: u64,
        package: Option<&'a Package>,
        secret: bool,
        workdir: Option<&'a str>,
    ) -> Self {
        FileFacts {
            path,
            components: path.split('/').collect(),
            bytes,
            package,
            secret,
            workdir,
        }
    }
}

impl Pattern {
    fn matches(&self, facts: &FileFacts<'_>) -> bool {
        let path = facts.path;
        let os_package = facts
            .package
            .filter(|p| p.manager != Manager::Pip)
            .map(|p| p.name.as_str());
        match *self {
            Pattern::Prefix(prefix) => path.starts_with(prefix),
            Pattern::Suffix(suffix) => path.ends_with(suffix),
            Pattern::Component(name) => facts.components.contains(&name),
            Pattern::Components(seq) => facts.components.windows(seq.len()).any(|w| w == seq),
            Pattern::Below(roots, names) => {
                let mut seen_root = false;
                let mut parts = facts.components.iter().copied().peekable();
                while let Some(part) = parts.next() {
                    if seen_root && names.contains(&part) && parts.peek().is_some() {
                        return true;
                    }
                    seen_root |= roots.contains(&part);
                }
                false
            }
            Pattern::Package(name) => os_package == Some(name),
            Pattern::PackagePrefix(prefix) => os_package.is_some_and(|p| p.starts_with(prefix)),
            Pattern::PackageSuffix(suffix) => os_package.is_some_and(|p| p.ends_with(suffix)),
            Pattern::Secret => facts.secret,
        }
    }
}

impl Rule {
    pub fn matches(&self, facts: &FileFacts<'_>) -> bool {
        if facts.bytes < self.min_size {
            return false;
        }
        if self.scope == Scope::Workdir {
            let Some(workdir) = facts.workdir else { return false };
            let below = facts
                .path
                .strip_prefix(workdir)
                .is_some_and(|rest| rest.starts_with('/'));
            if !below {
                return false;
            }
        }
        self.any.iter().any(|p| p.matches(facts)) && !self.unless.iter().any(|p| p.matches(facts))
    }
}

/// The id of the first rule that matches, or `other`.
pub fn classify(facts: &FileFacts<'_>) -> &'static str {
    RULES.iter().find(|r| r.matches(facts)).map_or(OTHER, |r| r.id)
}

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Bytes of one category.
#[derive(Debug, Clone)]
pub struct CategoryBytes {
    pub id: &'static str,
    pub title: &'static str,
    /// Distinct contents in the final filesystem.
    pub final_bytes: u64,
    pub final_files: u64,
    /// Lost copies (redundant bytes) whose path falls in this category.
    pub redundant_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(path: &str) -> &'static str {
        classify(&FileFacts::new(path, 100, None, false, Some("app")))
    }

    #[test]
    fn priority_order() {
        assert_eq!(class("root/.cache/pip/http-v2/a/b"), "package-cache");
        assert_eq!(class("root/.cache/uv/archive-v0/x/__pycache__/y.pyc"), "package-cache");
        assert_eq!(
            class("usr/lib/python3/dist-packages/x/__pycache__/y.cpython-311.pyc"),
            "bytecode"
        );
        assert_eq!(
            class("usr/local/lib/python3.11/dist-packages/numpy/core/include/numpy/x.h"),
            "headers"
        );
        assert_eq!(
            class("usr/local/lib/python3.11/dist-packages/numpy/tests/test_x.py"),
            "docs"
        );
        assert_eq!(
            class("usr/local/lib/python3.11/dist-packages/numpy/core/x.so"),
            "python-packages"
        );
        assert_eq!(class("app/.git/objects/pack/p.pack"), "vcs");
        assert_eq!(class("app/tests/test_main.py"), "build-context");
        assert_eq!(class("usr/share/tests/x"), "other", "outside the workdir");
        assert_eq!(class("var/lib/apt/lists/x_Packages"), "apt-lists");
        assert_eq!(class("var/cache/apt/archives/gcc.deb"), "os-package-cache");
        assert_eq!(class("usr/lib/gcc/x86_64-linux-gnu/12/cc1"), "toolchain");
        assert_eq!(class("usr/share/doc/bash/copyright"), "docs");
        assert_eq!(class("usr/bin/bash"), "other");
    }

    #[test]
    fn model_files_need_size() {
        let facts = |bytes| FileFacts::new("app/models/model.safetensors", bytes, None, false, None);
        assert_eq!(classify(&facts(20_000_000)), "models");
        assert_eq!(classify(&facts(1_000)), "other");
    }
}
