//! Images in containerd's store (`containerd:NAME`): a real containerd, started by the
//! tests with a root, state and socket of its own, imports the committed archives with
//! `ctr images import`; imgprof reads its metadata database and content store while it
//! runs, and each report must equal the report of the archive that went in.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::containerd::{TestContainerd, imgprof_on};
use crate::common::{report_json, schema, testdata};

const CONTENT: &str = "io.containerd.content.v1.content/blobs/sha256";

fn without_source(mut report: Value) -> Value {
    report.as_object_mut().expect("a report object").remove("source");
    report
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = serde_json::from_slice(&out.stdout).expect("report is JSON");
    schema::assert_schema("report.schema.json", &report);
    report
}

/// The one-line error of a run that must fail with exit 2.
fn error_of(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    let message = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    message
}

/// An oci-archive (what `ctr images import` reads) of the OCI layout at `layout`.
fn oci_archive(layout: &str, out: &Path) -> String {
    let status = Command::new("tar")
        .arg("-C")
        .arg(layout)
        .arg("-cf")
        .arg(out)
        .arg(".")
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar of {layout}");
    out.display().to_string()
}

fn report(name: &str) -> [&str; 5] {
    ["report", "--json", "--top", "1000", name]
}

#[test]
fn containerd_store_reports_as_the_archives() {
    let Some(containerd) = TestContainerd::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let version = containerd.ctr("default", &["version"]);
    let server = String::from_utf8_lossy(&version.stdout)
        .lines()
        .skip_while(|line| !line.starts_with("Server"))
        .find_map(|line| line.trim().strip_prefix("Version:").map(|v| v.trim().to_owned()));
    eprintln!(
        "containerd {} at {}",
        server.unwrap_or_default(),
        containerd.root().display()
    );
    let sample = testdata("sample/sample-app.tar");
    let docker25 = testdata("fixtures/layers-docker25.tar");
    let multi_layout = testdata("fixtures/multi-platform.oci");
    let multi = oci_archive(&multi_layout, &tmp.path().join("multi.tar"));
    containerd.import("default", Path::new(&sample), &[]);
    containerd.import("default", Path::new(&docker25), &[]);
    // Into a namespace of its own; only this machine's platform's content comes in.
    containerd.import("ci", Path::new(&multi), &["--base-name", "localhost/multi"]);
    // Whether the import leaves the other platforms' blobs in the store depends on when
    // containerd's garbage collector runs: removed here from the store's directory, which
    // is what imgprof reads.
    let index: Value =
        serde_json::from_slice(&std::fs::read(Path::new(&multi_layout).join("index.json")).expect("index.json"))
            .expect("JSON");
    let nested = index["manifests"][0]["digest"].as_str().expect("the image index");
    let nested_path = Path::new(&multi_layout)
        .join("blobs/sha256")
        .join(nested.trim_start_matches("sha256:"));
    let nested: Value = serde_json::from_slice(&std::fs::read(nested_path).expect("the nested index")).expect("JSON");
    for manifest in nested["manifests"].as_array().expect("manifests") {
        if manifest["platform"]["architecture"] != "amd64" {
            let digest = manifest["digest"].as_str().expect("a digest");
            let blob = containerd
                .root()
                .join(CONTENT)
                .join(digest.trim_start_matches("sha256:"));
            // Already collected, or removed now.
            let _ = std::fs::remove_file(blob);
        }
    }
    let imgprof = |namespace: &str, args: &[&str]| containerd.imgprof(namespace, args, tmp.path());

    // A classic archive records no layer media types; containerd's import writes a Docker
    // schema 2 manifest that does. Everything else is the archive's report.
    let from_store = json_of(&imgprof("default", &report("containerd:sample-app")));
    assert_eq!(from_store["source"]["kind"], "containerd");
    assert_eq!(from_store["source"]["location"], "containerd:sample-app");
    assert_eq!(from_store["source"]["tag"], "docker.io/library/sample-app:latest");
    let from_archive = report_json(&sample);
    let layers = from_store["layers"].as_array().expect("layers");
    assert!(!layers.is_empty());
    for (layer, archived) in layers.iter().zip(from_archive["layers"].as_array().expect("layers")) {
        assert_eq!(layer["media_type"], "application/vnd.docker.image.rootfs.diff.tar");
        assert_eq!(archived["media_type"], Value::Null);
    }
    let no_media_types = |mut report: Value| {
        for layer in report["layers"].as_array_mut().expect("layers") {
            layer["media_type"] = Value::Null;
        }
        without_source(report)
    };
    assert_eq!(no_media_types(from_store.clone()), no_media_types(from_archive));

    // The same image by its full name and by its manifest digest.
    let manifest = from_store["source"]["manifest_digest"]
        .as_str()
        .expect("a manifest digest");
    for name in [
        "containerd:docker.io/library/sample-app:latest".to_owned(),
        format!("containerd:sample-app@{manifest}"),
    ] {
        let again = json_of(&imgprof("default", &report(&name)));
        assert_eq!(without_source(again), without_source(from_store.clone()), "{name}");
    }

    // A single manifest lists one platform, from its config, under the stored name.
    let listed = imgprof("default", &["platforms", "containerd:sample-app"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let text = String::from_utf8_lossy(&listed.stdout);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(
        rows.len() == 1
            && rows[0].starts_with(from_store["source"]["platform"].as_str().expect("a platform"))
            && rows[0].contains(manifest)
            && rows[0].contains("docker.io/library/sample-app:latest"),
        "{text}"
    );

    // Docker 25's layout (an OCI manifest with media types): the archive's report.
    let from_store = json_of(&imgprof("default", &report("containerd:layers:docker25")));
    assert_eq!(from_store["source"]["tag"], "docker.io/library/layers:docker25");
    assert_eq!(without_source(from_store), without_source(report_json(&docker25)));

    // A multi-platform index: this machine's platform, as the layout gives it.
    let from_store = json_of(&imgprof("ci", &report("containerd:localhost/multi:multi")));
    let from_layout = report_json(&multi_layout);
    assert_eq!(from_store["source"]["platform"], from_layout["source"]["platform"]);
    assert_eq!(without_source(from_store), without_source(from_layout));

    // Its platforms: the one imported is measured, the others are named as absent.
    let listed = imgprof("ci", &["platforms", "containerd:localhost/multi:multi"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let text = String::from_utf8_lossy(&listed.stdout);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let host = rows
        .iter()
        .find(|row| row.starts_with("linux/amd64"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        !host.contains("not in the store") && host.contains("localhost/multi:multi"),
        "{text}"
    );
    let arm = rows
        .iter()
        .find(|row| row.starts_with("linux/arm64"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(arm.contains("(not in the store)"), "{text}");

    // A platform whose content was not imported: the blob and the way to get it.
    let message = error_of(&imgprof(
        "ci",
        &[
            "report",
            "--platform",
            "linux/arm64",
            "containerd:localhost/multi:multi",
        ],
    ));
    assert!(
        message.contains(&format!("{}/{CONTENT}/", containerd.root().display()))
            && message.contains("missing from containerd's content store")
            && message.contains("ctr -n ci content fetch --platform linux/arm64"),
        "{message}"
    );

    // An unknown image: what the namespace has.
    let message = error_of(&imgprof("default", &["report", "containerd:no-such-image"]));
    assert!(
        message.contains("containerd:no-such-image")
            && message.contains("docker.io/library/sample-app:latest")
            && message.contains("docker.io/library/layers:docker25")
            && message.contains("ctr -n default images ls"),
        "{message}"
    );
    // An unknown namespace: the namespaces there are.
    let message = error_of(&imgprof("nope", &["report", "containerd:sample-app"]));
    assert!(
        message.contains("\"nope\"")
            && message.contains("default")
            && message.contains("ci")
            && message.contains("CONTAINERD_NAMESPACE"),
        "{message}"
    );

    // containerd is still running and serving its images: imgprof took no lock.
    let out = containerd.ctr("default", &["images", "ls", "-q"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("docker.io/library/sample-app:latest"));
    drop(containerd);
    assert!(
        !Path::new("/run/containerd/containerd.sock").exists(),
        "the machine's containerd socket appeared"
    );
}

#[test]
fn containerd_missing_blobs_and_damaged_databases_are_named() {
    let Some(containerd) = TestContainerd::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let gzip = testdata("fixtures/layers-gzip.oci.tar");
    containerd.import("default", Path::new(&gzip), &["--base-name", "localhost/layers"]);
    let imgprof = |args: &[&str]| containerd.imgprof("default", args, tmp.path());
    let name = "containerd:localhost/layers:gzip";
    let from_store = json_of(&imgprof(&report(name)));
    assert_eq!(without_source(from_store.clone()), without_source(report_json(&gzip)));

    // Enough names that the images bucket spans many pages (branch pages over leaves, not
    // one inline bucket): each is found, and an unknown name lists the first of them.
    let tags: Vec<String> = (0..200).map(|i| format!("localhost/many:{i}")).collect();
    let mut args = vec!["images", "tag", "localhost/layers:gzip"];
    args.extend(tags.iter().map(String::as_str));
    let out = containerd.ctr("default", &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for tag in ["localhost/many:0", "localhost/many:99", "localhost/many:199"] {
        let again = json_of(&imgprof(&report(&format!("containerd:{tag}"))));
        assert_eq!(again["source"]["tag"], tag);
        assert_eq!(without_source(again), without_source(from_store.clone()), "{tag}");
    }
    let message = error_of(&imgprof(&["report", "containerd:localhost/many:200"]));
    let stored = tags.len() + 1;
    assert!(
        message.contains("localhost/layers:gzip, localhost/many:0, localhost/many:1,")
            && message.contains(&format!(" and {} more", stored - 30)),
        "{message}"
    );

    // A copy of the store whose meta.db is cut short, or is not a database at all.
    let copy = tmp.path().join("copy");
    let meta = copy.join("io.containerd.metadata.v1.bolt/meta.db");
    std::fs::create_dir_all(meta.parent().expect("a parent")).expect("copy dir");
    let original = std::fs::read(containerd.root().join("io.containerd.metadata.v1.bolt/meta.db")).expect("meta.db");
    for (damage, bytes) in [
        // The meta pages and nothing after them (bbolt's default page size is 4096).
        ("truncated", &original[..2 * 4096 + 100]),
        ("bad magic", &[0x42u8; 8192][..]),
    ] {
        std::fs::write(&meta, bytes).expect("damaged copy");
        let message = error_of(&imgprof_on(&copy, "default", &["report", name], tmp.path()));
        assert!(
            message.contains(&meta.display().to_string()) && message.contains("damaged"),
            "{damage}: {message}"
        );
    }
    let message = error_of(&imgprof_on(
        &tmp.path().join("nowhere"),
        "default",
        &["report", name],
        tmp.path(),
    ));
    assert!(
        message.contains("no containerd metadata database") && message.contains("CONTAINERD_ROOT"),
        "{message}"
    );

    // A layer the content store lost (a lazily pulled image): named, with what to do.
    let layer = from_store["layers"][0]["digest"].as_str().expect("a layer digest");
    let hex = layer.strip_prefix("sha256:").expect("a sha256 digest");
    let blob = containerd.root().join(CONTENT).join(hex);
    std::fs::remove_file(&blob).expect("the layer blob is in the content store");
    let message = error_of(&imgprof(&["report", name]));
    assert!(
        message.contains(&blob.display().to_string())
            && message.contains("missing from containerd's content store")
            && message.contains("ctr -n default content fetch"),
        "{message}"
    );
}
