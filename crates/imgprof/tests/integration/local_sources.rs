//! Local sources whose shape is not one image per file: docker-archives holding several
//! images (chosen as skopeo does, `FILE:NAME:TAG`, `FILE:NAME`, `FILE:@N`), configs not
//! named by their digest, OCI layouts whose index also lists artifacts or untagged entries,
//! and layouts that hold no container image at all. Each image is written at run time by
//! the fixture builder of `cargo xtask testdata` (`common::image_writer`).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::common::image_writer::{
    Compression, EmptyHistory, FileSet, ImageSpec, Layer, LayerTar, OCI_LAYOUT, digest, docker_archive_classic, noise,
    oci_layout, sha256_hex,
};
use crate::common::{imgprof, report_json};

/// A small image: `seed` varies its contents so two images differ in every layer.
pub fn small_image(seed: u64) -> ImageSpec {
    let base = LayerTar::default()
        .dir("etc")
        .file("etc/os-release", format!("ID=test{seed}\n").as_bytes())
        .dir("usr")
        .dir("usr/lib")
        .file("usr/lib/libx.so", &noise(seed, 3000 + seed as usize))
        .finish();
    let app = LayerTar::default()
        .dir("app")
        .file("app/main.py", &noise(seed + 100, 700))
        .file("app/data.bin", &noise(seed + 200, 1500))
        .finish();
    ImageSpec {
        architecture: "amd64",
        variant: None,
        layers: vec![
            Layer {
                tar: base,
                compression: Compression::Gzip,
                created_by: "/bin/sh -c #(nop) ADD file:rootfs in / ".into(),
            },
            Layer {
                tar: app,
                compression: Compression::Gzip,
                created_by: "COPY app /app # buildkit".into(),
            },
        ],
        empty_history: vec![EmptyHistory {
            before: 2,
            created_by: "CMD [\"python\", \"/app/main.py\"]".into(),
        }],
        config: json!({"Cmd": ["python", "/app/main.py"]}),
    }
}

/// The report without where it came from: what two ways of reading one image must agree on.
pub fn without_source(mut report: Value) -> Value {
    report.as_object_mut().expect("a report object").remove("source");
    report
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A refusal: exit code 2 (not a panic's 101, not success), nothing on stdout, and one
/// error on stderr that holds every one of `needles`.
pub fn assert_refused(out: &Output, needles: &[&str]) -> String {
    let err = stderr(out);
    assert_ne!(out.status.code(), Some(101), "a panic: {err}");
    assert!(out.status.signal().is_none(), "killed by a signal: {err}");
    assert_eq!(out.status.code(), Some(2), "an error exits 2: {err}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    err
}

fn write_tar(set: &FileSet, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    set.write_tar(&path).expect("writing the archive");
    path.display().to_string()
}

fn write_dir(set: &FileSet, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    set.write_dir(&path).expect("writing the layout");
    path.display().to_string()
}

fn manifest_entries(set: &FileSet) -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(&set.files["manifest.json"]).expect("manifest.json")
}

/// One `docker save` archive of several images (`docker save a b` writes this): the files
/// of each image's own archive, and a `manifest.json` listing the images in order.
fn combined_archive(archives: &[&FileSet]) -> FileSet {
    let mut set = FileSet::default();
    let mut entries = Vec::new();
    for archive in archives {
        for (path, bytes) in &archive.files {
            if path != "manifest.json" && path != "repositories" {
                set.add(path.clone(), bytes.clone());
            }
        }
        entries.extend(manifest_entries(archive));
    }
    set.add("manifest.json", serde_json::to_vec(&entries).expect("JSON"));
    set
}

#[test]
fn multi_image_archive_selected_each_way_reports_as_each_image_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = docker_archive_classic(&small_image(1).build().unwrap(), "app:1").unwrap();
    let tools = docker_archive_classic(&small_image(2).build().unwrap(), "tools:latest").unwrap();
    let app_alone = without_source(report_json(&write_tar(&app, dir.path(), "app.tar")));
    let tools_alone = without_source(report_json(&write_tar(&tools, dir.path(), "tools.tar")));
    assert_ne!(app_alone, tools_alone, "the two images differ");
    let both = write_tar(&combined_archive(&[&app, &tools]), dir.path(), "both.tar");

    for (selection, alone, tag) in [
        ("app:1", &app_alone, "app:1"),
        ("@0", &app_alone, "app:1"),
        ("docker.io/library/app:1", &app_alone, "docker.io/library/app:1"),
        ("tools:latest", &tools_alone, "tools:latest"),
        ("tools", &tools_alone, "tools"),
        ("@1", &tools_alone, "tools:latest"),
    ] {
        for source in [
            format!("{both}:{selection}"),
            format!("docker-archive:{both}:{selection}"),
        ] {
            let report = report_json(&source);
            assert_eq!(report["source"]["tag"], tag, "{source}");
            assert_eq!(&without_source(report), alone, "{source}");
        }
    }
}

#[test]
fn multi_image_archive_without_a_choice_lists_its_images() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = docker_archive_classic(&small_image(1).build().unwrap(), "app:1").unwrap();
    let tools = docker_archive_classic(&small_image(2).build().unwrap(), "tools:latest").unwrap();
    let both = write_tar(&combined_archive(&[&app, &tools]), dir.path(), "both.tar");
    let out = imgprof(&["report", "--json", &both]);
    assert_refused(
        &out,
        &["holds 2 images", "app:1 (@0)", "tools:latest (@1)", ":NAME:TAG", ":@N"],
    );
    // A choice that names no image lists them too.
    let out = imgprof(&["report", "--json", &format!("{both}:@2")]);
    assert_refused(&out, &["@2", "app:1 (@0)", "tools:latest (@1)"]);
    let out = imgprof(&["report", "--json", &format!("{both}:nope:1")]);
    assert_refused(&out, &["nope:1", "app:1 (@0)"]);
}

/// `manifest.json` of `set` with its one entry's config renamed to `name`.
fn with_config_named(set: &FileSet, name: &str, content: Option<Vec<u8>>) -> FileSet {
    let mut entries = manifest_entries(set);
    let old = entries[0]["Config"].as_str().expect("Config").to_owned();
    entries[0]["Config"] = json!(name);
    let mut renamed = FileSet::default();
    for (path, bytes) in &set.files {
        if *path == old {
            renamed.add(name, content.clone().unwrap_or_else(|| bytes.clone()));
        } else if path != "manifest.json" {
            renamed.add(path.clone(), bytes.clone());
        }
    }
    renamed.add("manifest.json", serde_json::to_vec(&entries).expect("JSON"));
    renamed
}

#[test]
fn a_config_not_named_by_its_digest_loads_and_reports_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = small_image(3).build().unwrap();
    let original = docker_archive_classic(&image, "app:1").unwrap();
    let expected = without_source(report_json(&write_tar(&original, dir.path(), "original.tar")));
    for name in ["config.json", "meta/image-config", "app.json"] {
        let renamed = with_config_named(&original, name, None);
        let path = write_tar(&renamed, dir.path(), "renamed.tar");
        assert_eq!(without_source(report_json(&path)), expected, "config named {name}");
    }
    // A name that is a digest is a promise: other bytes under it are refused.
    let other = format!("{}.json", sha256_hex(b"something else"));
    let lying = with_config_named(&original, &other, None);
    let out = imgprof(&["report", "--json", &write_tar(&lying, dir.path(), "lying.tar")]);
    assert_refused(&out, &[&other, "does not match its digest", &digest(&image.config)]);
}

/// A BuildKit-style SBOM artifact: an OCI manifest with an `artifactType`.
fn sbom_artifact(set: &mut FileSet) -> Value {
    let sbom = br#"{"spdxVersion":"SPDX-2.3"}"#.to_vec();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest(b"{}"), "size": 2},
        "layers": [{"mediaType": "application/spdx+json", "digest": digest(&sbom), "size": sbom.len()}],
    }))
    .unwrap();
    let descriptor = json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "digest": digest(&manifest),
        "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "app.sbom"},
    });
    for blob in [sbom, manifest, b"{}".to_vec()] {
        set.add(format!("blobs/sha256/{}", sha256_hex(&blob)), blob);
    }
    descriptor
}

#[test]
fn layout_skips_artifacts_and_untagged_entries_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = small_image(4).build().unwrap();
    let other = small_image(5).build().unwrap();
    let alone = oci_layout(&[(&image, "app")]).unwrap();
    let expected = without_source(report_json(&write_dir(&alone, dir.path(), "alone")));

    let mut set = oci_layout(&[(&image, "app")]).unwrap();
    set.add_blobs(other.blobs());
    let artifact = sbom_artifact(&mut set);
    // Left behind by containerd or skopeo: the same index without a tag.
    let untagged = other.manifest_descriptor(None, false);
    let mut index: Value = serde_json::from_slice(&set.files["index.json"]).unwrap();
    let manifests = index["manifests"].as_array_mut().unwrap();
    manifests.push(artifact.clone());
    manifests.push(untagged.clone());
    set.add("index.json", serde_json::to_vec(&index).unwrap());
    let layout = write_dir(&set, dir.path(), "mixed");

    for source in [layout.clone(), format!("oci:{layout}"), format!("{layout}:app")] {
        let out = imgprof(&["report", "--json", "--top", "1000", &source]);
        let err = stderr(&out);
        assert!(out.status.success(), "{source}: {err}");
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(without_source(report), expected, "{source}");
        if source.ends_with(":app") {
            // The tag chose: nothing else was looked at, nothing to warn about.
            continue;
        }
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
        for (descriptor, what) in [(&artifact, "application/spdx+json"), (&untagged, "untagged")] {
            let hex = descriptor["digest"].as_str().unwrap().trim_start_matches("sha256:");
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains(hex) && w.contains("skipped") && w.contains(what)),
                "{source}: no warning naming {hex} ({what}): {err}"
            );
        }
    }
}

#[test]
fn a_layout_of_a_helm_chart_is_not_a_container_image() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart_config = br#"{"name":"demo","version":"0.1.0","apiVersion":"v2"}"#.to_vec();
    let chart = {
        let tar = LayerTar::default()
            .dir("demo")
            .file("demo/Chart.yaml", b"apiVersion: v2\nname: demo\nversion: 0.1.0\n")
            .finish();
        Compression::Gzip.apply(&tar).unwrap()
    };
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": digest(&chart_config), "size": chart_config.len()},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": digest(&chart), "size": chart.len()}],
    }))
    .unwrap();
    let mut set = FileSet::default();
    set.add("oci-layout", OCI_LAYOUT.to_vec());
    set.add(
        "index.json",
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(&manifest),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "0.1.0"},
        }]}))
        .unwrap(),
    );
    for blob in [chart_config, chart, manifest] {
        set.add(format!("blobs/sha256/{}", sha256_hex(&blob)), blob);
    }
    let layout = write_dir(&set, dir.path(), "chart");
    for source in [layout.clone(), format!("{layout}:0.1.0")] {
        for command in ["report", "platforms"] {
            let out = imgprof(&[command, &source]);
            assert_refused(
                &out,
                &[
                    "a Helm chart",
                    "not a container image",
                    "application/vnd.cncf.helm.config.v1+json",
                ],
            );
        }
    }
    let archive = write_tar(&set, dir.path(), "chart.tar");
    let out = imgprof(&["report", &format!("oci-archive:{archive}")]);
    assert_refused(&out, &["a Helm chart", "not a container image"]);

    // Pushed to a registry, as `helm push` does: the same answer, before any config is read.
    let Some(registry) = crate::common::registry::TestRegistry::start() else {
        return;
    };
    registry.push(&format!("oci:{layout}:0.1.0"), "charts/demo:0.1.0", false);
    let out = imgprof(&["report", &format!("{}/charts/demo:0.1.0", registry.host())]);
    assert_refused(&out, &["charts/demo:0.1.0", "a Helm chart", "not a container image"]);
}
