//! What an image is built on, read from its final filesystem: the distribution and its
//! variant (full, slim, Alpine, distroless), the C library, whether there is a shell and
//! a package manager, which compilers are installed and where, and for a musl image the
//! Python wheels that were built for glibc.

use std::collections::BTreeSet;

use imgprof_layers::EntryKind;

use crate::fs::FinalFs;

#[derive(Debug, Clone)]
pub struct BaseIdentity {
    /// `ID` of os-release: `debian`, `ubuntu`, `alpine`, ...
    pub distro: Option<String>,
    /// `VERSION_ID`, else `VERSION_CODENAME`.
    pub version: Option<String>,
    pub codename: Option<String>,
    pub variant: BaseVariant,
    /// `glibc` or `musl`, from the dynamic loader or libc the filesystem holds.
    pub libc: Option<&'static str>,
    /// `/bin/sh` exists (through merged-/usr links).
    pub shell: bool,
    /// `dpkg`/`apt` or `apk`.
    pub package_manager: Option<&'static str>,
    /// The Python the image runs: `/usr/local/bin/python3.12` (the official python
    /// images build their own) or `/usr/bin/python3.11` (the distribution's).
    pub python: Option<String>,
    /// The Node.js the image runs: `/usr/local/bin/node` (the official node images') or
    /// `/usr/bin/node` (the distribution's `nodejs`).
    pub node: Option<String>,
    /// The major version of a Node.js built into /usr/local (`NODE_MAJOR_VERSION` of its
    /// `node_version.h`), as the official node images' tags name it.
    pub node_major: Option<u32>,
    /// Compiler commands on the PATH directories (`gcc-12`, `g++`, `cc`, `rustc`, ...), by
    /// name, each with whether the base layers brought it.
    pub compilers: Vec<Compiler>,
    /// pip packages whose wheel is platform-specific (compiled modules), whatever the
    /// libc: what would need rebuilding on another one.
    pub compiled_wheels: Vec<String>,
    /// In a musl image: pip packages whose wheel was built for glibc (`manylinux` tags);
    /// their compiled modules cannot load there.
    pub glibc_wheels: Vec<String>,
    /// In a musl image: pip packages with a wheel built on the spot from source
    /// (`linux_*` tags): the build needed compilers and is slow on every rebuild.
    pub source_built_wheels: Vec<String>,
    /// One line: "full Debian 12 (bookworm), glibc, shell, apt, compilers: gcc-12, g++-12".
    pub summary: String,
}

impl BaseIdentity {
    /// The base as a `FROM` reference: its slim variant (`slim`), for a runtime stage, or
    /// the variant it is (a builder stage that has what the image's own build had). The
    /// official python and node images by their version, else the distribution's image.
    pub fn reference(&self, slim: bool) -> Option<String> {
        let codename = self.codename.as_deref();
        let suffix = if slim || self.variant == BaseVariant::Slim {
            "-slim"
        } else {
            ""
        };
        let node = self
            .node_major
            .filter(|_| self.node_origin() == Some(RuntimeOrigin::Local));
        let tagged = |image: &str, version: &str| match codename {
            Some(c) => format!("{image}:{version}{suffix}-{c}"),
            None => format!("{image}:{version}{suffix}"),
        };
        Some(match (self.distro.as_deref(), self.official_python_version(), node) {
            (_, Some(version), _) => tagged("python", version),
            (_, None, Some(major)) => tagged("node", &major.to_string()),
            (Some("debian"), None, None) => format!("debian:{}{suffix}", codename.unwrap_or("stable")),
            (Some("ubuntu"), None, None) => format!("ubuntu:{}", self.version.as_deref().unwrap_or("latest")),
            (Some("alpine"), None, None) => format!("alpine:{}", self.version.as_deref().unwrap_or("latest")),
            _ => return None,
        })
    }

    /// Where the image's Python comes from, if it has one.
    pub fn python_origin(&self) -> Option<RuntimeOrigin> {
        self.python.as_deref().map(RuntimeOrigin::of)
    }

    /// Where the image's Node.js comes from, if it has one.
    pub fn node_origin(&self) -> Option<RuntimeOrigin> {
        self.node.as_deref().map(RuntimeOrigin::of)
    }

    /// The version of a Python built into /usr/local as the official python images have
    /// it (`3.11` for `/usr/local/bin/python3.11`); none for the distribution's Python.
    pub fn official_python_version(&self) -> Option<&str> {
        self.python
            .as_deref()
            .and_then(|p| p.strip_prefix("/usr/local/bin/python"))
    }
}

/// Where a language runtime (`python3`, `node`) of the image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeOrigin {
    /// Built into /usr/local, as the official python and node images do: their -slim
    /// variants have the same build.
    Local,
    /// The distribution's package (`python3`, `nodejs`): a runtime stage installs it.
    Distribution,
}

impl RuntimeOrigin {
    fn of(path: &str) -> RuntimeOrigin {
        if path.starts_with("/usr/local/") {
            RuntimeOrigin::Local
        } else {
            RuntimeOrigin::Distribution
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseVariant {
    /// A distribution image with docs, man pages and locales (`debian:bookworm`).
    Full,
    /// Its `-slim` counterpart (dpkg excludes docs, man pages, locales).
    Slim,
    Alpine,
    /// No shell and no package manager: a distroless or scratch-like runtime.
    Distroless,
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Compiler {
    pub name: String,
    pub path: String,
    /// Brought by the base image's layers, not by the Dockerfile.
    pub in_base: bool,
}

const PATH_DIRS: [&str; 4] = ["usr/local/bin/", "usr/bin/", "bin/", "usr/local/go/bin/"];

fn is_compiler(name: &str) -> bool {
    let versioned = |stem: &str| {
        name.strip_prefix(stem)
            .and_then(|v| v.strip_prefix('-'))
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    matches!(
        name,
        "cc" | "c++" | "gcc" | "g++" | "clang" | "clang++" | "rustc" | "go" | "tcc"
    ) || ["gcc", "g++", "clang", "clang++"].into_iter().any(versioned)
}

fn os_release_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// Reads the identity of the image from its final filesystem; `base_layers` are the
/// layers that belong to the base image.
/// At most this many man pages, docs and translations in a base still called slim
/// (packages installed later with their docs may add some; a full Debian base has
/// thousands).
const SLIM_MAX_EXCLUDED_FILES: u64 = 50;

pub fn identify(fs: &FinalFs<'_, '_>, base_layers: usize, python_wheels: &[(String, String)]) -> BaseIdentity {
    let os_release = fs
        .content("etc/os-release")
        .or_else(|| fs.content("usr/lib/os-release"))
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .unwrap_or_default();
    let distro = os_release_field(&os_release, "ID");
    let codename = os_release_field(&os_release, "VERSION_CODENAME");
    let version = os_release_field(&os_release, "VERSION_ID").or_else(|| codename.clone());
    let pretty = os_release_field(&os_release, "PRETTY_NAME").unwrap_or_default();

    let mut libc = None;
    let mut compilers: Vec<Compiler> = Vec::new();
    let mut pythons: BTreeSet<String> = BTreeSet::new();
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    let mut seen_compilers: BTreeSet<String> = BTreeSet::new();
    // Files a -slim base leaves out (dpkg path-excludes): man pages, docs other than
    // copyright notices, translations.
    let mut slimmed_files = 0u64;
    for (path, slot) in fs.stack.visible() {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.starts_with("ld-musl-") || name == "libc.musl-x86_64.so.1" {
            libc = Some("musl");
        } else if libc.is_none() && (name == "libc.so.6" || name.starts_with("ld-linux")) {
            libc = Some("glibc");
        }
        let entry = fs.stack.entry(slot);
        if entry.kind == EntryKind::Dir {
            continue;
        }
        if path.starts_with("usr/share/man/")
            || (path.starts_with("usr/share/doc/") && name != "copyright")
            || (path.starts_with("usr/share/locale/") && path.ends_with(".mo"))
        {
            slimmed_files += 1;
        }
        let Some(dir) = PATH_DIRS.iter().find(|d| path.starts_with(*d)) else {
            continue;
        };
        if path[dir.len()..].contains('/') {
            continue;
        }
        if is_compiler(name) && seen_compilers.insert(name.to_owned()) {
            compilers.push(Compiler {
                name: name.to_owned(),
                path: format!("/{path}"),
                in_base: (slot.layer as usize) < base_layers,
            });
        }
        if name.starts_with("python3.") && name[8..].chars().all(|c| c.is_ascii_digit()) && !name[8..].is_empty() {
            pythons.insert(format!("/{path}"));
        }
        if name == "node" {
            nodes.insert(format!("/{path}"));
        }
    }
    compilers.sort_by(|a, b| a.name.cmp(&b.name));
    let exists = |path: &str| fs.lookup(path).is_some();
    let shell = exists("bin/sh");
    let package_manager = if exists("var/lib/dpkg/status") && (exists("usr/bin/apt-get") || exists("usr/bin/dpkg")) {
        Some("apt")
    } else if exists("lib/apk/db/installed") && exists("sbin/apk") {
        Some("apk")
    } else {
        None
    };
    // The official python images build their own Python into /usr/local.
    let python = pythons
        .iter()
        .find(|p| RuntimeOrigin::of(p) == RuntimeOrigin::Local)
        .or_else(|| pythons.iter().next())
        .cloned();
    let node = nodes
        .iter()
        .find(|p| RuntimeOrigin::of(p) == RuntimeOrigin::Local)
        .or_else(|| nodes.iter().next())
        .cloned();
    let node_major = fs.content(crate::capture::NODE_VERSION_HEADER).and_then(|header| {
        String::from_utf8_lossy(header).lines().find_map(|l| {
            l.strip_prefix("#define NODE_MAJOR_VERSION")
                .and_then(|v| v.trim().parse().ok())
        })
    });
    let variant = if distro.as_deref() == Some("alpine") || libc == Some("musl") {
        BaseVariant::Alpine
    } else if !shell && package_manager.is_none() && (pretty.contains("Distroless") || exists("var/lib/dpkg/status.d"))
    {
        BaseVariant::Distroless
    } else if !shell && package_manager.is_none() {
        BaseVariant::Unknown
    } else if exists("etc/dpkg/dpkg.cfg.d/docker") || exists("etc/dpkg/dpkg.cfg.d/excludes") {
        // debuerreotype's slimify config (Debian) or Ubuntu's minimize excludes.
        BaseVariant::Slim
    } else if package_manager == Some("apt") && slimmed_files < SLIM_MAX_EXCLUDED_FILES {
        // No excludes config, but what it would exclude is not there either (a base
        // made slim by other means): judged by content, not by name.
        BaseVariant::Slim
    } else if package_manager == Some("apt") {
        BaseVariant::Full
    } else {
        BaseVariant::Unknown
    };
    let (mut compiled_wheels, mut glibc_wheels, mut source_built_wheels) = (Vec::new(), Vec::new(), Vec::new());
    for (package, wheel) in python_wheels {
        let tags: Vec<&str> = wheel
            .lines()
            .filter_map(|l| l.strip_prefix("Tag:"))
            .map(str::trim)
            .collect();
        if tags.iter().all(|t| t.ends_with("-any")) {
            continue;
        }
        compiled_wheels.push(package.clone());
        if libc == Some("musl") && tags.iter().any(|t| t.contains("manylinux")) {
            glibc_wheels.push(package.clone());
        } else if libc == Some("musl") && tags.iter().any(|t| t.contains("-linux_")) {
            source_built_wheels.push(package.clone());
        }
    }
    compiled_wheels.sort();
    compiled_wheels.dedup();
    let summary = summary(
        &variant,
        &distro,
        &version,
        &codename,
        libc,
        shell,
        package_manager,
        &compilers,
    );
    BaseIdentity {
        distro,
        version,
        codename,
        variant,
        libc,
        shell,
        package_manager,
        python,
        node,
        node_major,
        compilers,
        compiled_wheels,
        glibc_wheels,
        source_built_wheels,
        summary,
    }
}

#[allow(clippy::too_many_arguments)]
fn summary(
    variant: &BaseVariant,
    distro: &Option<String>,
    version: &Option<String>,
    codename: &Option<String>,
    libc: Option<&str>,
    shell: bool,
    package_manager: Option<&str>,
    compilers: &[Compiler],
) -> String {
    let name = match distro.as_deref() {
        Some("debian") => "Debian".to_owned(),
        Some("ubuntu") => "Ubuntu".to_owned(),
        Some("alpine") => "Alpine".to_owned(),
        Some(other) => other.to_owned(),
        None => "unknown distribution".to_owned(),
    };
    let release = match (version, codename) {
        (Some(v), Some(c)) if v != c => format!(" {v} ({c})"),
        (Some(v), _) => format!(" {v}"),
        _ => String::new(),
    };
    let variant = match variant {
        BaseVariant::Full => "full ",
        BaseVariant::Slim => "slim ",
        BaseVariant::Distroless => "distroless ",
        BaseVariant::Alpine | BaseVariant::Unknown => "",
    };
    let mut parts = vec![format!("{variant}{name}{release}")];
    parts.extend(libc.map(str::to_owned));
    parts.push(if shell {
        "shell".to_owned()
    } else {
        "no shell".to_owned()
    });
    parts.push(package_manager.unwrap_or("no package manager").to_owned());
    if compilers.is_empty() {
        parts.push("no compilers".to_owned());
    } else {
        let names: Vec<&str> = compilers.iter().map(|c| c.name.as_str()).collect();
        parts.push(format!("compilers: {}", names.join(", ")));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::is_compiler;

    #[test]
    fn compiler_names() {
        for name in ["gcc", "gcc-12", "g++-12", "cc", "c++", "clang-16", "rustc", "go"] {
            assert!(is_compiler(name), "{name}");
        }
        for name in [
            "gcc-ar-12",
            "gcc-nm",
            "gccgo-x",
            "cpp",
            "go-md2man",
            "ccache",
            "python3",
        ] {
            assert!(!is_compiler(name), "{name}");
        }
    }
}
