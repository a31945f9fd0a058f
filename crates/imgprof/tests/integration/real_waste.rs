//! Categories, packages and findings on the realistic images, against ground truth
//! computed here from the root filesystem `umoci unpack` produces: sums of apparent sizes
//! with each inode once, as `find`/`du --apparent-size` would give, and the package
//! databases read with paths resolved by the kernel (`canonicalize`).

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::common::{du, has_tool, real_images_dir, report_json, rootfs_files, unpack};
use serde_json::Value;

/// The naive image's report and its unpacked root filesystem, when the realistic images
/// and umoci are there.
fn naive_unpacked() -> Option<(Value, tempfile::TempDir, PathBuf)> {
    let images = real_images_dir()?;
    if !has_tool("umoci") {
        return None;
    }
    let layout = images.join("naive.oci");
    let report = report_json(&format!("{}:naive", layout.display()));
    let (guard, rootfs) = unpack(&layout, "naive");
    Some((report, guard, rootfs))
}

fn category(report: &Value, id: &str) -> u64 {
    report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("category {id}"))["final_bytes"]
        .as_u64()
        .unwrap()
}

fn assert_close(what: &str, ours: u64, truth: u64) {
    let diff = ours.abs_diff(truth) as f64;
    assert!(
        diff <= truth as f64 * 0.005,
        "{what}: imgprof {ours} vs ground truth {truth} ({:.3}% apart)",
        diff * 100.0 / truth.max(1) as f64
    );
    eprintln!("{what}: imgprof {ours}, ground truth {truth}");
}

fn in_cache(p: &str) -> bool {
    p.contains(".cache/pip/") || p.contains(".cache/uv/")
}

fn in_site(p: &str) -> bool {
    p.contains("/site-packages/") || p.contains("/dist-packages/")
}

fn is_bytecode(p: &str) -> bool {
    p.contains("/__pycache__/") || p.ends_with(".pyc") || p.ends_with(".pyo")
}

fn is_header(p: &str) -> bool {
    p.starts_with("usr/include/") || [".h", ".hpp", ".hh", ".hxx"].iter().any(|s| p.ends_with(s))
}

#[test]
fn naive_categories_match_the_unpacked_filesystem() {
    let Some((report, _guard, rootfs)) = naive_unpacked() else {
        return;
    };
    let all = rootfs_files(&rootfs);

    assert_close("package caches", category(&report, "package-cache"), du(&all, in_cache));
    assert_close(
        "bytecode",
        category(&report, "bytecode"),
        du(&all, |p| is_bytecode(p) && !in_cache(p) && !p.contains("/.git/")),
    );
    assert_close(
        "headers (/usr/include and *.h)",
        category(&report, "headers"),
        du(&all, |p| is_header(p) && !in_cache(p) && !is_bytecode(p)),
    );
    assert_close(
        "apt lists",
        category(&report, "apt-lists"),
        du(&all, |p| p.starts_with("var/lib/apt/lists/")),
    );
    assert_close(
        "apt cache",
        category(&report, "os-package-cache"),
        du(&all, |p| p.starts_with("var/cache/apt/")),
    );
    assert_close(
        "version control",
        category(&report, "vcs"),
        du(&all, |p| p.starts_with("app/.git/")),
    );
    assert_close(
        "installed Python packages",
        category(&report, "python-packages"),
        du(&all, |p| {
            let in_tests = p
                .split('/')
                .skip_while(|c| *c != "dist-packages" && *c != "site-packages")
                .any(|c| c == "tests" || c == "test");
            in_site(p)
                && !in_cache(p)
                && !is_bytecode(p)
                && !is_header(p)
                && !p.ends_with(".a")
                && !p.ends_with(".la")
                && !in_tests
        }),
    );
    // The categories add up to the totals.
    let sum: u64 = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["final_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, report["image"]["final_bytes"].as_u64().unwrap());
    let redundant: u64 = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["redundant_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(redundant, report["image"]["redundant_bytes"].as_u64().unwrap());
}

/// Σ sizes of the files a package database lists, each resolved by the kernel inside the
/// unpacked root filesystem (symlinked directories followed) and each inode once.
fn listed_bytes(rootfs: &Path, listed: impl Iterator<Item = String>) -> u64 {
    let mut seen = HashSet::new();
    let mut bytes = 0;
    let root = rootfs.canonicalize().unwrap();
    for rel in listed {
        let rel = rel.trim_start_matches('/');
        let full = rootfs.join(rel);
        let Ok(meta) = std::fs::symlink_metadata(&full) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        // Resolve the directory part only: the listed name itself may be a symlink.
        let Some(parent) = full.parent().and_then(|p| p.canonicalize().ok()) else {
            continue;
        };
        if !parent.starts_with(&root) {
            continue;
        }
        if seen.insert((meta.dev(), meta.ino())) {
            bytes += meta.size();
        }
    }
    bytes
}

fn package(report: &Value, manager: &str, name: &str) -> u64 {
    report["packages"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["manager"] == manager && p["name"] == name)
        .unwrap_or_else(|| panic!("{manager} package {name} listed"))["bytes"]
        .as_u64()
        .unwrap()
}

#[test]
fn naive_package_sizes_equal_their_listed_files() {
    let Some((report, _guard, rootfs)) = naive_unpacked() else {
        return;
    };

    for name in ["gcc-12", "cpp-12", "libpython3.11-dev"] {
        let list = std::fs::read_to_string(rootfs.join(format!("var/lib/dpkg/info/{name}:amd64.list")))
            .or_else(|_| std::fs::read_to_string(rootfs.join(format!("var/lib/dpkg/info/{name}.list"))))
            .unwrap();
        let truth = listed_bytes(&rootfs, list.lines().map(str::to_owned));
        assert_eq!(package(&report, "dpkg", name), truth, "dpkg {name}");
        eprintln!("dpkg {name}: {truth} bytes");
    }

    let site = rootfs.join("usr/local/lib/python3.11/dist-packages");
    let mut records: HashMap<String, std::path::PathBuf> = HashMap::new();
    for entry in std::fs::read_dir(&site).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".dist-info") {
            let dist = stem.split('-').next().unwrap().replace('_', "-").to_lowercase();
            records.insert(dist, path.join("RECORD"));
        }
    }
    for dist in ["pydantic-core", "sqlalchemy", "fastapi"] {
        let record = std::fs::read_to_string(&records[dist]).unwrap();
        let listed = record.lines().filter_map(|l| l.split(',').next()).map(|p| {
            let joined = site.join(p);
            // RECORD paths may climb out of the site directory (`../../../bin/x`).
            let normal: std::path::PathBuf = joined.components().fold(std::path::PathBuf::new(), |mut acc, c| {
                match c {
                    std::path::Component::ParentDir => {
                        acc.pop();
                    }
                    other => acc.push(other),
                }
                acc
            });
            normal.strip_prefix(&rootfs).unwrap().display().to_string()
        });
        let truth = listed_bytes(&rootfs, listed);
        assert_eq!(package(&report, "pip", dist), truth, "pip {dist}");
        eprintln!("pip {dist}: {truth} bytes");
    }
}

fn findings(report: &Value) -> Vec<&Value> {
    report["findings"].as_array().unwrap().iter().collect()
}

#[test]
fn naive_image_gets_the_tutorial_findings() {
    let Some(images) = real_images_dir() else { return };
    let report = report_json(&format!("{}:naive", images.join("naive.oci").display()));
    let all = findings(&report);
    let with_id = |id: &str| all.iter().filter(|f| f["id"] == id).collect::<Vec<_>>();
    for (id, what) in [
        ("IMG001", "toolchain in the final image"),
        ("IMG002", "-dev packages"),
        ("IMG003", "package cache"),
        ("IMG004", "apt lists"),
        ("IMG006", ".git"),
        ("IMG007", "tests/ in the context"),
        ("IMG009", "model deleted in a later layer"),
        ("IMG013", "no USER"),
    ] {
        assert!(!with_id(id).is_empty(), "{id} ({what}) missing");
    }
    // Bytes of each finding equal the category or copies it names.
    assert_eq!(
        with_id("IMG003")[0]["bytes"].as_u64(),
        Some(category(&report, "package-cache"))
    );
    assert_eq!(
        with_id("IMG004")[0]["bytes"].as_u64(),
        Some(category(&report, "apt-lists"))
    );
    let model = with_id("IMG009")
        .into_iter()
        .find(|f| {
            f["paths"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["path"].as_str().unwrap().starts_with("/app/models"))
        })
        .expect("a finding names the deleted model");
    assert!(model["bytes"].as_u64().unwrap() >= 20 * 1024 * 1024);
    assert!(model["instruction"].as_str().unwrap().starts_with("COPY"));
    let dev = with_id("IMG002")[0];
    assert!(dev["title"].as_str().unwrap().contains("libpq-dev"));
    assert!(
        dev["fix"].as_str().unwrap().contains("libpq5"),
        "runtime counterpart named: {}",
        dev["fix"]
    );
    // The projection never exceeds what ships, and claims each byte once.
    let p = &report["projection"];
    assert!(p["projected_bytes"].as_u64() < p["shipped_bytes"].as_u64());
    let max_single = all.iter().map(|f| f["saves_bytes"].as_u64().unwrap()).max().unwrap();
    assert!(p["saves_bytes"].as_u64().unwrap() >= max_single);
}

#[test]
fn slim_image_gets_no_warning() {
    let Some(images) = real_images_dir() else { return };
    let report = report_json(&format!("{}:slim", images.join("slim.oci").display()));
    let loud: Vec<String> = findings(&report)
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| format!("{} {} ({} bytes)", f["id"], f["title"], f["bytes"]))
        .collect();
    assert!(loud.is_empty(), "false alarms on the slim image: {loud:?}");
}

/// Debian packages of the compiler toolchain, as the `toolchain` rule names them
/// (docs/rules.md), restated here independently.
fn is_toolchain_package(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "gcc",
        "g++",
        "cpp",
        "make",
        "build-essential",
        "dpkg-dev",
        "patch",
        "rustc",
        "cargo",
    ];
    const PREFIXES: &[&str] = &[
        "gcc-",
        "g++-",
        "cpp-",
        "binutils",
        "libbinutils",
        "libctf",
        "libgprofng",
        "libasan",
        "libtsan",
        "liblsan",
        "libubsan",
        "libhwasan",
        "libitm",
        "libcc1-",
        "libisl",
        "libmpc",
        "libmpfr",
        "golang-",
        "llvm-",
        "clang-",
    ];
    EXACT.contains(&name)
        || PREFIXES.iter().any(|p| name.starts_with(p))
        || name.ends_with("-dev")
        || name.ends_with("-dev-bin")
}

#[test]
fn naive_toolchain_matches_the_dpkg_lists_of_compiler_packages() {
    let Some((report, _guard, rootfs)) = naive_unpacked() else {
        return;
    };
    // Every file the toolchain packages list, resolved by the kernel, minus what falls in
    // a higher-priority category (headers, static libraries, bytecode).
    let info = rootfs.join("var/lib/dpkg/info");
    let mut listed = Vec::new();
    for entry in std::fs::read_dir(&info).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".list") else {
            continue;
        };
        let package = stem.split(':').next().unwrap();
        if is_toolchain_package(package) {
            listed.extend(std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned));
        }
    }
    let root = rootfs.canonicalize().unwrap();
    let resolved: Vec<String> = listed
        .iter()
        .filter_map(|p| {
            let full = rootfs.join(p.trim_start_matches('/'));
            let parent = full.parent()?.canonicalize().ok()?;
            let rel = parent.strip_prefix(&root).ok()?.join(full.file_name()?);
            Some(rel.display().to_string())
        })
        .filter(|p| !is_header(p) && !p.ends_with(".a") && !p.ends_with(".la") && !is_bytecode(p))
        .collect();
    let all = rootfs_files(&rootfs);
    let wanted: HashSet<&str> = resolved.iter().map(String::as_str).collect();
    assert_close(
        "compilers and build tools",
        category(&report, "toolchain"),
        du(&all, |p| wanted.contains(p)),
    );
}

#[test]
fn naive_finding_bytes_equal_what_they_name() {
    let Some(images) = real_images_dir() else { return };
    let report = report_json(&format!("{}:naive", images.join("naive.oci").display()));
    let all = findings(&report);
    let bytes = |id: &str| {
        all.iter()
            .filter(|f| f["id"] == id)
            .map(|f| f["bytes"].as_u64().unwrap())
            .sum::<u64>()
    };
    let categories = |ids: &[&str], redundant: bool| -> u64 {
        report["categories"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| ids.contains(&c["id"].as_str().unwrap()))
            .map(|c| {
                c["final_bytes"].as_u64().unwrap()
                    + if redundant {
                        c["redundant_bytes"].as_u64().unwrap()
                    } else {
                        0
                    }
            })
            .sum()
    };
    let base_layers = report["base_image"]["layers"].as_u64().unwrap();
    assert_eq!(base_layers, 1, "the base is the debian ADD layer");
    // What the fixes remove from a layer counts each file once: never more than the
    // layer holds, however many findings name a file.
    let mut removable_total = 0;
    for layer in report["layers"].as_array().unwrap() {
        let removable = layer["removable_bytes"].as_u64().unwrap();
        assert!(
            removable <= layer["content_bytes"].as_u64().unwrap(),
            "{}",
            layer["index"]
        );
        removable_total += removable;
    }
    assert!(removable_total > 0);
    // One row per layer for what later layers delete or overwrite.
    for id in ["IMG009", "IMG010"] {
        let layers: Vec<&Value> = all.iter().filter(|f| f["id"] == id).map(|f| &f["layer"]).collect();
        let distinct: std::collections::HashSet<String> = layers.iter().map(|l| l.to_string()).collect();
        assert_eq!(distinct.len(), layers.len(), "{id} once per layer: {layers:?}");
    }
    // Category findings cover the category above the base; the base layer here holds no
    // caches, .git, context files or models, so the whole category counts.
    assert_eq!(bytes("IMG003"), categories(&["package-cache"], true));
    assert_eq!(
        bytes("IMG005"),
        categories(&["os-package-cache"], true) - os_cache_in_base(&report)
    );
    assert_eq!(bytes("IMG006"), categories(&["vcs"], true));
    assert_eq!(bytes("IMG007"), categories(&["build-context"], true));
    assert_eq!(bytes("IMG012"), categories(&["models"], true));
    // Deleted and overwritten copies together are every redundant byte.
    assert_eq!(
        bytes("IMG009") + bytes("IMG010"),
        report["image"]["redundant_bytes"].as_u64().unwrap()
    );
    // The -dev finding is the sum of the -dev packages it names.
    let dev_total: u64 = report["packages"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["manager"] == "dpkg" && p["name"].as_str().unwrap().ends_with("-dev"))
        .map(|p| p["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(bytes("IMG002"), dev_total);
    // The toolchain finding covers the toolchain, headers and static libraries above the
    // base layer; the base holds a few headers of its own (under 100 kB here), which a
    // multi-stage build would not remove.
    let in_image = categories(&["toolchain", "headers", "static-libs"], false);
    assert!(bytes("IMG001") <= in_image);
    assert!(
        in_image - bytes("IMG001") < 100_000,
        "{} vs {in_image}",
        bytes("IMG001")
    );
}

/// Bytes of the os-package-cache category that the base layer itself holds.
fn os_cache_in_base(report: &Value) -> u64 {
    // The base (mmdebstrap minbase) keeps apt's pkgcache files until the next layer
    // rewrites them; those copies are redundant and in layer 0.
    report["redundant_paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["path"].as_str().unwrap().starts_with("/var/cache/apt/")
                && p["layers"].as_array().unwrap().iter().all(|l| l == 0)
        })
        .map(|p| p["bytes"].as_u64().unwrap())
        .sum()
}

/// Why each package is there, checked against the naive image's own Dockerfile lines
/// and its dpkg database: what an install step names is `requested` in that step's
/// layer, a library a requested `-dev` package depends on is `required_by` it, a pip
/// distribution another requires is `required_by` that one, and every package named as
/// a dependant or recommender is installed.
#[test]
fn naive_packages_say_why_they_are_there() {
    let Some(images) = real_images_dir() else { return };
    let report = report_json(&format!("{}:naive", images.join("naive.oci").display()));
    let list = report["packages"]["list"].as_array().unwrap();
    let reason = |name: &str| {
        list.iter()
            .find(|p| p["manager"] == "dpkg" && p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is installed"))["reason"]
            .clone()
    };
    let layer_naming = |words: &str| {
        report["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["instruction"].as_str().is_some_and(|i| i.contains(words)))
            .unwrap_or_else(|| panic!("a layer runs {words}"))["index"]
            .clone()
    };
    for (package, words) in [("libpq-dev", "libpq-dev"), ("git", " git "), ("vim", "install -y vim")] {
        let why = reason(package);
        assert_eq!(why["kind"], "requested", "{package}: {why}");
        assert_eq!(why["layer"], layer_naming(words), "{package}: {why}");
    }
    let libpq = reason("libpq5");
    assert_eq!(libpq["kind"], "required_by", "{libpq}");
    assert!(
        libpq["packages"].as_array().unwrap().iter().any(|p| p == "libpq-dev"),
        "{libpq}"
    );
    // pip: what a distribution's METADATA requires (pydantic's Requires-Dist names
    // pydantic-core).
    let core = list
        .iter()
        .find(|p| p["manager"] == "pip" && p["name"] == "pydantic-core")
        .expect("pydantic-core is installed");
    assert_eq!(core["reason"]["kind"], "required_by", "{core}");
    assert!(
        core["reason"]["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "pydantic"),
        "{core}"
    );
    // Every dependant or recommender named is installed, under the same manager.
    let installed: std::collections::HashSet<(&str, &str)> = list
        .iter()
        .map(|p| (p["manager"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut kinds = std::collections::BTreeSet::new();
    for p in list {
        kinds.insert(p["reason"]["kind"].as_str().unwrap().to_owned());
        let manager = p["manager"].as_str().unwrap();
        for by in p["reason"]["packages"].as_array().into_iter().flatten() {
            assert!(
                installed.contains(&(manager, by.as_str().unwrap())),
                "{by} named for {}",
                p["name"]
            );
        }
    }
    // apt-get install without --no-install-recommends brings recommendations too.
    assert!(kinds.contains("recommended_by"), "{kinds:?}");
}
