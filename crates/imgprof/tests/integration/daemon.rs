//! Images held by a container engine (`podman:NAME`, `docker-daemon:NAME`): a real podman
//! API service and a real dockerd, started and killed by the tests with storage of their
//! own, serve images loaded from the committed archives; the reports must equal the
//! archives' own.

use std::process::Command;

use crate::common::dockerd::TestDockerd;
use crate::common::podman::TestPodman;
use crate::common::{report_json, testdata};
use serde_json::Value;

fn without_source(mut report: Value) -> Value {
    report.as_object_mut().expect("a report object").remove("source");
    report
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("report is JSON")
}

#[test]
fn engine_exports_report_as_their_archives() {
    let sample = testdata("sample/sample-app.tar");
    let docker25 = testdata("fixtures/layers-docker25.tar");
    let Some(podman) = TestPodman::start(&[&sample, &docker25]) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");

    let from_podman = json_of(&podman.imgprof(&["report", "--json", "--top", "1000", "podman:sample-app"], tmp.path()));
    assert_eq!(from_podman["source"]["kind"], "podman");
    assert_eq!(from_podman["source"]["location"], "podman:sample-app");
    assert_eq!(from_podman["source"]["tag"], "localhost/sample-app:latest");
    assert_eq!(without_source(from_podman), without_source(report_json(&sample)));

    // The Docker 25 layout goes in; podman exports the same image as a classic archive,
    // which records no layer media types, so its report is the classic fixture's.
    let from_docker = json_of(&podman.imgprof(
        &["report", "--json", "--top", "1000", "docker-daemon:layers:docker25"],
        tmp.path(),
    ));
    assert_eq!(from_docker["source"]["kind"], "docker-daemon");
    assert_eq!(from_docker["source"]["location"], "docker-daemon:layers:docker25");
    let classic = report_json(&testdata("fixtures/layers-classic.tar"));
    assert_eq!(without_source(from_docker), without_source(classic));

    let listed = podman.imgprof(&["platforms", "podman:localhost/sample-app:latest"], tmp.path());
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.lines().nth(1).is_some_and(|row| row.starts_with("linux/amd64"))
            && text.contains("localhost/sample-app:latest"),
        "{text}"
    );

    let unknown = podman.imgprof(&["report", "podman:no-such-image"], tmp.path());
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("podman:no-such-image") && message.contains(&podman.host()) && message.contains("podman load"),
        "{message}"
    );

    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).expect("temp dir").collect();
    assert!(leftovers.is_empty(), "temporary exports left behind: {leftovers:?}");
}

#[test]
fn dockerd_exports_report_as_their_archives() {
    let sample = testdata("sample/sample-app.tar");
    let docker25 = testdata("fixtures/layers-docker25.tar");
    let Some(dockerd) = TestDockerd::start(&[&sample, &docker25]) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let version = dockerd.docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    eprintln!(
        "dockerd API {} on {}",
        String::from_utf8_lossy(&version.stdout).trim(),
        dockerd.driver
    );

    let report = json_of(&dockerd.imgprof(
        &["report", "--json", "--top", "1000", "docker-daemon:sample-app"],
        tmp.path(),
    ));
    assert_eq!(report["source"]["kind"], "docker-daemon");
    assert_eq!(report["source"]["location"], "docker-daemon:sample-app");
    assert_eq!(report["source"]["tag"], "sample-app:latest");
    assert_eq!(without_source(report), without_source(report_json(&sample)));

    // dockerd 20.10 saves the Docker 25 layout as a classic archive: the classic report.
    let report = json_of(&dockerd.imgprof(
        &["report", "--json", "--top", "1000", "docker-daemon:layers:docker25"],
        tmp.path(),
    ));
    let classic = report_json(&testdata("fixtures/layers-classic.tar"));
    assert_eq!(without_source(report), without_source(classic));

    let listed = dockerd.imgprof(&["platforms", "docker-daemon:sample-app:latest"], tmp.path());
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.lines().nth(1).is_some_and(|row| row.starts_with("linux/amd64")) && text.contains("sample-app:latest"),
        "{text}"
    );

    let unknown = dockerd.imgprof(&["report", "docker-daemon:no-such-image"], tmp.path());
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("docker-daemon:no-such-image")
            && message.contains(&dockerd.host())
            && message.contains("docker load"),
        "{message}"
    );

    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).expect("temp dir").collect();
    assert!(leftovers.is_empty(), "temporary exports left behind: {leftovers:?}");
}

#[test]
fn a_missing_socket_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("engine.sock");
    let host = format!("unix://{}", socket.display());
    for (variable, source, engine) in [
        ("DOCKER_HOST", "docker-daemon:app:1", "the Docker daemon"),
        ("CONTAINER_HOST", "podman:app", "podman"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_imgprof"))
            .args(["report", source])
            .env(variable, &host)
            .output()
            .expect("the imgprof binary runs");
        assert_eq!(out.status.code(), Some(2));
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(
            message.contains(&format!("cannot connect to {engine} at {host}: is it running?")),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1, "{message}");
    }
}

#[test]
fn remote_engines_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_imgprof"))
        .args(["report", "docker-daemon:app"])
        .env("DOCKER_HOST", "tcp://192.0.2.1:2375")
        .output()
        .expect("the imgprof binary runs");
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("DOCKER_HOST=tcp://192.0.2.1:2375") && message.contains("this machine"),
        "{message}"
    );
}
