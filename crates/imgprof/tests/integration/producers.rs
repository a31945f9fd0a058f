//! Images as tools other than `docker build` write them, imitated (generated here, not
//! downloaded): ko and jib (no history, or less history than layers; epoch timestamps),
//! nix `dockerTools` (one uncompressed layer per store path, history without `created_by`),
//! apko (an OCI layout whose index entries carry only annotations, no history), foreign
//! (non-distributable) layers with `urls`, zstd layers, and Docker 25+'s `docker save`
//! (an OCI layout inside the archive). Every expected figure comes from the tars
//! themselves, read here with the `tar` crate, not from imgprof.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::image_writer::{
    Compression, FileSet, LayerTar, OCI_LAYOUT, digest, docker_archive_25, noise, sha256_hex,
};
use crate::common::report_json;
use crate::local_sources::{assert_refused, small_image, without_source};

const EPOCH: &str = "1970-01-01T00:00:00Z";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const OCI_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const DOCKER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
const OCI_NONDISTRIBUTABLE: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";

/// One layer as a producer stores it.
struct Blob {
    tar: Vec<u8>,
    stored: Vec<u8>,
    media_type: &'static str,
    urls: Vec<String>,
}

fn blob(tar: Vec<u8>, compression: Compression, media_type: &'static str) -> Blob {
    Blob {
        stored: compression.apply(&tar).expect("compressing a layer"),
        tar,
        media_type,
        urls: Vec::new(),
    }
}

/// An image as its manifest, config and layers.
struct Made {
    config: Vec<u8>,
    manifest: Vec<u8>,
    layers: Vec<Blob>,
}

impl Made {
    /// `config` is everything but `rootfs`, which follows from the layers.
    fn new(mut config: Value, layers: Vec<Blob>, docker_media_types: bool) -> Made {
        let diff_ids: Vec<String> = layers.iter().map(|l| digest(&l.tar)).collect();
        config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
        let config = serde_json::to_vec(&config).expect("JSON");
        let (manifest_type, config_type) = if docker_media_types {
            (DOCKER_MANIFEST, DOCKER_CONFIG)
        } else {
            (OCI_MANIFEST, OCI_CONFIG)
        };
        let descriptors: Vec<Value> = layers
            .iter()
            .map(|l| {
                let mut d = json!({"mediaType": l.media_type, "digest": digest(&l.stored), "size": l.stored.len()});
                if !l.urls.is_empty() {
                    d["urls"] = json!(l.urls);
                }
                d
            })
            .collect();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": digest(&config), "size": config.len()},
            "layers": descriptors,
        }))
        .expect("JSON");
        Made {
            config,
            manifest,
            layers,
        }
    }

    fn manifest_type(&self) -> String {
        let manifest: Value = serde_json::from_slice(&self.manifest).expect("JSON");
        manifest["mediaType"].as_str().expect("mediaType").to_owned()
    }

    fn descriptor(&self) -> Value {
        json!({"mediaType": self.manifest_type(), "digest": digest(&self.manifest), "size": self.manifest.len()})
    }

    fn add_blobs(&self, set: &mut FileSet) {
        for bytes in [&self.config, &self.manifest]
            .into_iter()
            .chain(self.layers.iter().map(|l| &l.stored))
        {
            set.add(format!("blobs/sha256/{}", sha256_hex(bytes)), bytes.clone());
        }
    }

    /// An OCI layout whose index lists this image by `descriptor` (as the producer writes it).
    fn layout(&self, descriptor: Value) -> FileSet {
        let mut set = FileSet::default();
        set.add("oci-layout", OCI_LAYOUT.to_vec());
        set.add(
            "index.json",
            serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]}))
                .expect("JSON"),
        );
        self.add_blobs(&mut set);
        set
    }
}

/// What a layer's tar holds, read with the `tar` crate: Σ sizes of its regular files,
/// their paths, and how many there are.
struct TarFacts {
    file_bytes: u64,
    files: BTreeSet<String>,
}

fn tar_facts(tar: &[u8]) -> TarFacts {
    let mut archive = tar::Archive::new(tar);
    let mut facts = TarFacts {
        file_bytes: 0,
        files: BTreeSet::new(),
    };
    for entry in archive.entries().expect("a tar") {
        let entry = entry.expect("a tar entry");
        if entry.header().entry_type().is_file() {
            facts.file_bytes += entry.header().size().expect("a size");
            let path = entry.path().expect("a path").display().to_string();
            facts.files.insert(path.trim_start_matches("./").to_owned());
        }
    }
    facts
}

/// The report of `source` against its layers: layer count, each layer's bytes, files,
/// tar size and diff_id, the image's totals (no two layers of these fixtures share a
/// path, so nothing is redundant), and findings that stay within the image and invent no
/// instruction a layer's history does not hold.
fn assert_report_of(source: &str, layers: &[Blob]) -> Value {
    let report = report_json(source);
    let facts: Vec<TarFacts> = layers.iter().map(|l| tar_facts(&l.tar)).collect();
    let mut seen = BTreeSet::new();
    for f in &facts {
        for path in &f.files {
            assert!(seen.insert(path.clone()), "fixture: {path} is in two layers");
        }
    }
    let shipped: u64 = facts.iter().map(|f| f.file_bytes).sum();
    let image = &report["image"];
    assert_eq!(image["layer_count"], layers.len(), "{source}");
    assert_eq!(image["shipped_bytes"], shipped, "{source}");
    assert_eq!(image["final_bytes"], shipped, "{source}");
    assert_eq!(image["redundant_bytes"], 0, "{source}");
    assert_eq!(image["final_counts"]["files"], seen.len(), "{source}");
    let reported = report["layers"].as_array().expect("layers");
    assert_eq!(reported.len(), layers.len(), "{source}");
    for (i, ((layer, fact), got)) in layers.iter().zip(&facts).zip(reported).enumerate() {
        assert_eq!(got["content_bytes"], fact.file_bytes, "{source} layer {i}");
        assert_eq!(got["counts"]["files"], fact.files.len(), "{source} layer {i}");
        assert_eq!(got["tar_bytes"], layer.tar.len(), "{source} layer {i}");
        assert_eq!(got["diff_id"], digest(&layer.tar), "{source} layer {i}");
    }
    // No layer adds /bin/sh (nor a link to one): nothing can be `RUN` in this image.
    let has_shell = layers.iter().any(|l| tar_has(&l.tar, "bin/sh"));
    for finding in report["findings"].as_array().expect("findings") {
        let fix = finding["fix"].as_str().unwrap_or_default();
        assert!(
            has_shell || !fix.lines().any(|l| l.trim_start().starts_with("RUN ")),
            "{source}: a fix that RUNs a command in an image without a shell: {finding}"
        );
        if let Some(layer) = finding["layer"].as_u64() {
            let layer = usize::try_from(layer).expect("small");
            assert!(
                layer < layers.len(),
                "{source}: finding on a layer that is not there: {finding}"
            );
            if reported[layer]["instruction"].is_null() {
                assert!(
                    finding["instruction"].is_null(),
                    "{source}: a finding names an instruction layer {layer}'s history does not hold: {finding}"
                );
            }
        }
        if let Some(bytes) = finding["bytes"].as_u64() {
            assert!(
                bytes <= shipped,
                "{source}: a finding of more bytes than the image ships: {finding}"
            );
        }
    }
    report
}

/// Whether the tar has an entry at `wanted`, of any kind.
fn tar_has(tar: &[u8], wanted: &str) -> bool {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .expect("a tar")
        .any(|e| e.expect("a tar entry").path().expect("a path").display().to_string() == wanted)
}

fn write_dir(set: &FileSet, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    set.write_dir(&path).expect("writing the layout");
    path.display().to_string()
}

fn write_tar(set: &FileSet, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    set.write_tar(&path).expect("writing the archive");
    path.display().to_string()
}

fn distroless_base() -> Vec<u8> {
    LayerTar::default()
        .dir("etc")
        .file(
            "etc/passwd",
            b"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n",
        )
        .dir("etc/ssl")
        .dir("etc/ssl/certs")
        .file("etc/ssl/certs/ca-certificates.crt", &noise(11, 5000))
        .dir("usr/share/zoneinfo")
        .file("usr/share/zoneinfo/UTC", &noise(12, 114))
        .finish()
}

/// `ko build`: a Go binary appended to a distroless base, no `history` key at all, the
/// epoch as `created`.
#[test]
fn ko_images_without_history_report_their_layers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = LayerTar::default()
        .dir("ko-app")
        .file_mode("ko-app/hello", &noise(13, 20_000), 0o755)
        .dir("var/run/ko")
        .file("var/run/ko/index.html", b"<h1>kodata</h1>\n")
        .finish();
    let made = Made::new(
        json!({
            "architecture": "amd64", "os": "linux", "created": EPOCH,
            "config": {"Entrypoint": ["/ko-app/hello"], "Env": ["PATH=/ko-app:/usr/bin", "KO_DATA_PATH=/var/run/ko"], "User": "65532"},
        }),
        vec![
            blob(distroless_base(), Compression::Gzip, OCI_GZIP),
            blob(app, Compression::Gzip, OCI_GZIP),
        ],
        false,
    );
    // ko's layouts list the image untagged.
    let layout = write_dir(&made.layout(made.descriptor()), dir.path(), "ko");
    let report = assert_report_of(&layout, &made.layers);
    for layer in report["layers"].as_array().unwrap() {
        assert!(layer["instruction"].is_null(), "no history, no instruction: {layer}");
        assert!(layer["created_by"].is_null(), "{layer}");
    }
    assert_eq!(report["history"], json!([]), "no history entries");
}

/// jib: Docker media types, three layers (dependencies, resources, classes) with one
/// history entry, epoch timestamps; `jibBuildTar` writes a docker-archive with the config
/// as `config.json` and gzip layers named `<digest>.tar.gz`.
#[test]
fn jib_images_with_less_history_than_layers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let libs = LayerTar::default()
        .dir("app/libs")
        .file("app/libs/guava-33.0.jar", &noise(21, 9000))
        .file("app/libs/slf4j-api-2.0.jar", &noise(22, 3000))
        .finish();
    let resources = LayerTar::default()
        .dir("app/resources")
        .file("app/resources/application.properties", b"server.port=8080\n")
        .finish();
    let classes = LayerTar::default()
        .dir("app/classes/com/example")
        .file("app/classes/com/example/Main.class", &noise(23, 1800))
        .finish();
    let history =
        json!([{"created": EPOCH, "author": "Jib", "created_by": "jib-maven-plugin:3.4.0", "comment": "dependencies"}]);
    let made = Made::new(
        json!({
            "architecture": "amd64", "os": "linux", "created": EPOCH,
            "config": {"Entrypoint": ["java", "-cp", "/app/resources:/app/classes:/app/libs/*", "com.example.Main"]},
            "history": history,
        }),
        vec![
            blob(libs, Compression::Gzip, DOCKER_GZIP),
            blob(resources, Compression::Gzip, DOCKER_GZIP),
            blob(classes, Compression::Gzip, DOCKER_GZIP),
        ],
        true,
    );
    let layout = write_dir(&made.layout(made.descriptor()), dir.path(), "jib");
    let from_layout = assert_report_of(&layout, &made.layers);

    let mut archive = FileSet::default();
    archive.add("config.json", made.config.clone());
    let mut names = Vec::new();
    for layer in &made.layers {
        let name = format!("{}.tar.gz", sha256_hex(&layer.stored));
        archive.add(name.clone(), layer.stored.clone());
        names.push(name);
    }
    archive.add(
        "manifest.json",
        serde_json::to_vec(&json!([{"Config": "config.json", "RepoTags": ["jib-app:latest"], "Layers": names}]))
            .unwrap(),
    );
    let tar = write_tar(&archive, dir.path(), "jib.tar");
    let from_archive = assert_report_of(&tar, &made.layers);

    // The one entry belongs to the first layer; the others have none (history lists
    // layers from the bottom, and stops early).
    for report in [&from_layout, &from_archive] {
        let layers = report["layers"].as_array().unwrap();
        assert_eq!(layers[0]["created_by"], "jib-maven-plugin:3.4.0");
        assert_eq!(layers[0]["created"], EPOCH);
        assert_eq!(layers[0]["comment"], "dependencies");
        for layer in &layers[1..] {
            assert!(
                layer["created_by"].is_null() && layer["instruction"].is_null(),
                "{layer}"
            );
        }
    }
}

/// nix `dockerTools.streamLayeredImage`: one uncompressed layer per store path, each
/// repeating the `nix/store` directories, a history entry per layer with only a comment
/// (no `created_by`), epoch timestamps; written as a docker-archive, and as an OCI layout
/// (nix2container: `...layer.v1.tar`) and a layout with Docker media types (`skopeo copy`
/// of the archive: `...rootfs.diff.tar`).
#[test]
fn nix_images_one_uncompressed_layer_per_store_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store_paths = [
        ("3n58xw4373jp0ljirf06d8077j15pc4j-glibc-2.39-52", "lib/libc.so.6", 6000),
        ("8mc30d49ghc8m5z96yz39srlhg5s9sjj-bash-5.2p32", "bin/bash", 4000),
        ("ydxlf2jhzpswqlz9k0qsc0vbrd0l4myq-hello-2.12.1", "bin/hello", 2000),
    ];
    let mut tars = Vec::new();
    for (i, (path, file, size)) in store_paths.iter().enumerate() {
        let parent = file.rsplit_once('/').map_or("", |(d, _)| d);
        tars.push(
            LayerTar::default()
                .dir("nix")
                .dir("nix/store")
                .dir(&format!("nix/store/{path}"))
                .dir(&format!("nix/store/{path}/{parent}"))
                .file_mode(&format!("nix/store/{path}/{file}"), &noise(30 + i as u64, *size), 0o555)
                .finish(),
        );
    }
    // The customisation layer: symlinks into the store.
    let hello = store_paths[2].0;
    tars.push(
        LayerTar::default()
            .dir("bin")
            .symlink("bin/hello", &format!("/nix/store/{hello}/bin/hello"))
            .finish(),
    );
    let history: Vec<Value> = store_paths
        .iter()
        .map(|(path, _, _)| json!({"created": EPOCH, "comment": format!("store paths: ['/nix/store/{path}']")}))
        .chain([json!({"created": EPOCH, "comment": "customisation layer"})])
        .collect();
    let config = json!({
        "architecture": "amd64", "os": "linux", "created": EPOCH,
        "config": {"Cmd": [format!("/nix/store/{hello}/bin/hello")]},
        "history": history,
    });
    let oci = Made::new(
        config.clone(),
        tars.iter()
            .map(|t| blob(t.clone(), Compression::None, OCI_TAR))
            .collect(),
        false,
    );
    let docker = Made::new(
        config,
        tars.iter()
            .map(|t| blob(t.clone(), Compression::None, DOCKER_TAR))
            .collect(),
        true,
    );

    // streamLayeredImage's archive: `<hash>/layer.tar`, the config as `<sha256>.json`.
    let mut archive = FileSet::default();
    let config_name = format!("{}.json", sha256_hex(&docker.config));
    archive.add(config_name.clone(), docker.config.clone());
    let mut names = Vec::new();
    for tar in &tars {
        let name = format!("{}/layer.tar", sha256_hex(tar));
        archive.add(name.clone(), tar.clone());
        names.push(name);
    }
    archive.add(
        "manifest.json",
        serde_json::to_vec(&json!([{"Config": config_name, "RepoTags": ["hello:latest"], "Layers": names}])).unwrap(),
    );
    let sources = [
        write_tar(&archive, dir.path(), "nix.tar"),
        write_dir(&oci.layout(oci.descriptor()), dir.path(), "nix2container"),
        write_dir(&docker.layout(docker.descriptor()), dir.path(), "nix-docker-types"),
    ];
    let mut figures = Vec::new();
    for source in &sources {
        let report = assert_report_of(source, &oci.layers);
        for (layer, expected) in report["layers"].as_array().unwrap().iter().zip(&history) {
            assert_eq!(layer["compression"], "none", "{source}");
            assert_eq!(layer["comment"], expected["comment"], "{source}");
            assert_eq!(layer["created"], EPOCH, "{source}");
            assert!(
                layer["instruction"].is_null(),
                "{source}: nix writes no created_by: {layer}"
            );
        }
        // No USER: runs as root, and with no shell the fix is a numeric USER, not a RUN.
        let root = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "IMG013");
        let fix = root.map(|f| f["fix"].as_str().unwrap().to_owned()).unwrap_or_default();
        assert!(fix.lines().any(|l| l.starts_with("USER ")), "{source}: {fix}");
        // The store directories every layer repeats are not redundant bytes.
        assert_eq!(report["image"]["final_counts"]["symlinks"], 1, "{source}");
        figures.push((source, report["image"].clone(), report["findings"].clone()));
    }
    for (source, image, findings) in &figures[1..] {
        assert_eq!(image, &figures[0].1, "{source} against {}", figures[0].0);
        assert_eq!(findings, &figures[0].2, "{source} against {}", figures[0].0);
    }
}

/// apko: an OCI layout whose index.json points at a platform index through an entry with
/// only annotations (no tag, no platform), one gzip layer per platform, an empty history,
/// and an apk database naming the packages' files.
#[test]
fn apko_layouts_with_annotation_only_entries_and_no_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let make = |arch: &str, seed: u64| {
        let busybox = noise(seed, 8000);
        let hello = noise(seed + 1, 1200);
        let installed = format!(
            "C:Q1abc=\nP:busybox\nV:1.36.1-r5\nA:{arch}\nS:1000\nI:{}\nT:busybox\nF:bin\nR:busybox\n\n\
             C:Q1def=\nP:hello\nV:2.12-r1\nA:{arch}\nS:500\nI:{}\nT:hello\nF:usr/bin\nR:hello\n\n",
            busybox.len(),
            hello.len()
        );
        let tar = LayerTar::default()
            .dir("bin")
            .file_mode("bin/busybox", &busybox, 0o755)
            .dir("usr/bin")
            .file_mode("usr/bin/hello", &hello, 0o755)
            .dir("etc")
            .file("etc/os-release", b"ID=wolfi\nNAME=\"Wolfi\"\nPRETTY_NAME=\"Wolfi\"\n")
            .dir("etc/apk")
            .file("etc/apk/world", b"busybox\nhello\n")
            .dir("lib/apk/db")
            .file("lib/apk/db/installed", installed.as_bytes())
            .finish();
        Made::new(
            json!({
                "architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
                "config": {"Entrypoint": ["/usr/bin/hello"], "User": "65532"},
                "history": [],
            }),
            vec![blob(tar, Compression::Gzip, OCI_GZIP)],
            false,
        )
    };
    let amd64 = make("amd64", 40);
    let arm64 = make("arm64", 50);
    let platform_entry = |made: &Made, arch: &str| {
        let mut d = made.descriptor();
        d["platform"] = json!({"architecture": arch, "os": "linux"});
        d["annotations"] = json!({"org.opencontainers.image.created": "2024-01-01T00:00:00Z"});
        d
    };
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [platform_entry(&amd64, "amd64"), platform_entry(&arm64, "arm64")],
        "annotations": {"org.opencontainers.image.source": "https://example.invalid/hello"},
    }))
    .unwrap();
    let mut set = amd64.layout(json!({
        "mediaType": OCI_INDEX,
        "digest": digest(&index),
        "size": index.len(),
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "dev.chainguard.package.main": "hello"},
    }));
    arm64.add_blobs(&mut set);
    set.add(format!("blobs/sha256/{}", sha256_hex(&index)), index);
    let layout = write_dir(&set, dir.path(), "apko");

    for (platform, made) in [("linux/amd64", &amd64), ("linux/arm64", &arm64)] {
        let out = crate::common::imgprof(&["report", "--json", "--top", "1000", "--platform", platform, &layout]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["source"]["platform"], platform);
        let default = assert_report_of(&layout, &amd64.layers);
        if platform == "linux/amd64" {
            assert_eq!(without_source(report.clone()), without_source(default));
        }
        assert_eq!(report["layers"][0]["diff_id"], digest(&made.layers[0].tar));
        assert_eq!(report["history"], json!([]));
        assert!(report["layers"][0]["instruction"].is_null());
        // The apk database names each package's files: their sizes are its bytes.
        let packages = report["packages"]["list"].as_array().unwrap();
        let tar = &made.layers[0].tar;
        for (name, path) in [("busybox", "bin/busybox"), ("hello", "usr/bin/hello")] {
            let size = file_size(tar, path);
            let package = packages
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{name} attributed: {packages:?}"));
            assert_eq!(package["manager"], "apk");
            assert_eq!(package["bytes"], size, "{name}");
            assert_eq!(package["files"], 1, "{name}");
        }
    }
}

fn file_size(tar: &[u8], wanted: &str) -> u64 {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        if entry.path().unwrap().display().to_string() == wanted {
            return entry.header().size().unwrap();
        }
    }
    panic!("{wanted} not in the tar")
}

/// Foreign (Windows base) and non-distributable layers name where they live in `urls`.
/// When the blob is in the layout anyway (`skopeo copy` fetches it) it is read like any
/// other; when it is not, the error names the blob, its URLs and what kind of layer it is.
#[test]
fn foreign_layers_are_read_when_present_and_named_when_absent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = LayerTar::default()
        .dir("Files")
        .file("Files/License.txt", &noise(60, 2500))
        .dir("Windows/System32")
        .file("Windows/System32/kernel32.dll", &noise(61, 7000))
        .finish();
    let app = LayerTar::default()
        .dir("app")
        .file("app/app.exe", &noise(62, 3000))
        .finish();
    for (docker, media_type) in [(true, DOCKER_FOREIGN), (false, OCI_NONDISTRIBUTABLE)] {
        let mut foreign = blob(base.clone(), Compression::Gzip, media_type);
        let url = format!(
            "https://mcr.microsoft.com/v2/windows/servercore/blobs/{}",
            digest(&foreign.stored)
        );
        foreign.urls = vec![
            url.clone(),
            "https://mirror.example.invalid/servercore.tar.gz".to_owned(),
        ];
        let made = Made::new(
            // Linux, so the host's platform picks it; the layer kind is what is tested.
            json!({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z", "config": {},
                   "history": [{"created_by": "Apply image 10.0.20348.2227"}, {"created_by": "COPY app /app # buildkit"}]}),
            vec![
                foreign,
                blob(
                    app.clone(),
                    Compression::Gzip,
                    if docker { DOCKER_GZIP } else { OCI_GZIP },
                ),
            ],
            docker,
        );
        let set = made.layout(made.descriptor());
        let present = write_dir(&set, dir.path(), &format!("present-{docker}"));
        let report = assert_report_of(&present, &made.layers);
        assert_eq!(report["layers"][0]["media_type"], media_type);
        assert_eq!(report["layers"][0]["compression"], "gzip");

        // `docker save` of it: layers stored uncompressed, a foreign one left out of the
        // archive and described in `LayerSources` (keyed by diff_id), urls and all.
        let mut archive = FileSet::default();
        let config_name = format!("{}.json", sha256_hex(&made.config));
        archive.add(config_name.clone(), made.config.clone());
        let names: Vec<String> = made
            .layers
            .iter()
            .map(|l| format!("{}/layer.tar", sha256_hex(&l.tar)))
            .collect();
        for (name, layer) in names.iter().zip(&made.layers) {
            archive.add(name.clone(), layer.tar.clone());
        }
        let manifest: Value = serde_json::from_slice(&made.manifest).unwrap();
        let sources = json!({digest(&made.layers[0].tar): manifest["layers"][0]});
        archive.add(
            "manifest.json",
            serde_json::to_vec(
                &json!([{"Config": config_name, "RepoTags": ["win:1"], "Layers": names, "LayerSources": sources}]),
            )
            .unwrap(),
        );
        let saved = write_tar(&archive, dir.path(), &format!("saved-{docker}.tar"));
        let report = assert_report_of(&saved, &made.layers);
        assert_eq!(report["layers"][0]["media_type"], media_type, "from LayerSources");
        assert_eq!(
            report["layers"][0]["compression"], "none",
            "the bytes say what they are"
        );
        archive.files.remove(&names[0]);
        let saved = write_tar(&archive, dir.path(), &format!("saved-without-{docker}.tar"));
        let out = crate::common::imgprof(&["report", &saved]);
        assert_refused(&out, &[&names[0], "foreign", &url, media_type]);

        let mut absent = set;
        let hex = sha256_hex(&made.layers[0].stored);
        absent.files.remove(&format!("blobs/sha256/{hex}"));
        let absent = write_dir(&absent, dir.path(), &format!("absent-{docker}"));
        for command in ["report", "check"] {
            let out = crate::common::imgprof(&[command, &absent]);
            assert_refused(
                &out,
                &[
                    &hex,
                    "foreign",
                    &url,
                    "https://mirror.example.invalid/servercore.tar.gz",
                    media_type,
                ],
            );
        }
    }
}

/// zstd layers (BuildKit's `compression=zstd`), one of them split over frames after a
/// skippable frame: the same figures as the same tars gzip-compressed.
#[test]
fn zstd_layers_report_as_their_gzip_twins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = small_image(7);
    let tars: Vec<Vec<u8>> = spec.layers.iter().map(|l| l.tar.clone()).collect();
    let config = json!({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z", "config": {},
                        "history": [{"created_by": "ADD rootfs.tar /"}, {"created_by": "COPY app /app # buildkit"}]});
    let zstd = Made::new(
        config.clone(),
        vec![
            blob(tars[0].clone(), Compression::Zstd, OCI_ZSTD),
            blob(tars[1].clone(), Compression::ZstdMultiFrame, OCI_ZSTD),
        ],
        false,
    );
    let gzip = Made::new(
        config,
        tars.iter()
            .map(|t| blob(t.clone(), Compression::Gzip, OCI_GZIP))
            .collect(),
        false,
    );
    let z = assert_report_of(
        &write_dir(&zstd.layout(zstd.descriptor()), dir.path(), "zstd"),
        &zstd.layers,
    );
    let g = assert_report_of(
        &write_dir(&gzip.layout(gzip.descriptor()), dir.path(), "gzip"),
        &gzip.layers,
    );
    for (i, layer) in z["layers"].as_array().unwrap().iter().enumerate() {
        assert_eq!(layer["compression"], "zstd");
        assert_eq!(layer["compressed_bytes"], zstd.layers[i].stored.len());
    }
    // What the layers hold does not depend on how they were compressed.
    let contents = |r: &Value| {
        let mut image = r["image"].clone();
        image.as_object_mut().unwrap().remove("compressed_bytes");
        let layers: Vec<Value> = r["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                json!([
                    l["content_bytes"],
                    l["counts"],
                    l["changes"],
                    l["tar_bytes"],
                    l["diff_id"]
                ])
            })
            .collect();
        (image, layers, r["categories"].clone(), r["largest_files"].clone())
    };
    assert_eq!(contents(&z), contents(&g));
}

/// Docker 25+'s `docker save`: an OCI layout (index.json, oci-layout, blobs/sha256) and a
/// manifest.json naming `blobs/sha256/...` in one tar. Read as a docker-archive (the
/// default for a file with manifest.json), as an oci-archive, and unpacked as a layout, it
/// is the same image.
#[test]
fn docker_25_archives_read_as_docker_archive_and_as_oci_layout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = small_image(8);
    let built = image.build().unwrap();
    let set = docker_archive_25(&built, "app:25").unwrap();
    let archive = write_tar(&set, dir.path(), "docker25.tar");
    let mut unpacked = FileSet::default();
    for (path, bytes) in &set.files {
        if path.starts_with("blobs/") || path == "index.json" || path == "oci-layout" {
            unpacked.add(path.clone(), bytes.clone());
        }
    }
    let layout = write_dir(&unpacked, dir.path(), "docker25-layout");
    let layers: Vec<Blob> = built
        .layers
        .iter()
        .map(|(_, tar)| blob(tar.clone(), Compression::None, OCI_TAR))
        .collect();
    let sources = [
        archive.clone(),
        format!("docker-archive:{archive}"),
        format!("docker-archive:{archive}:app:25"),
        format!("oci-archive:{archive}"),
        format!("oci-archive:{archive}:25"),
        layout.clone(),
        format!("oci:{layout}:25"),
    ];
    let reference = without_source(assert_report_of(&sources[0], &layers));
    for source in &sources[1..] {
        let report = assert_report_of(source, &layers);
        assert_eq!(without_source(report), reference, "{source} against {}", sources[0]);
    }
}
