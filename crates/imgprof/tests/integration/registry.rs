//! Pulling from a real registry: Debian's docker-registry, started and stopped by the
//! tests on loopback, with the fixtures pushed into it by skopeo.

use crate::common;
use std::process::Command;

use crate::common::hub::HubWorld;
use crate::common::registry::{self, RegistryAuth, TestRegistry};
use crate::common::{imgprof, report_json, testdata};

#[test]
fn fixtures_are_served_by_a_real_registry() {
    let Some(registry) = TestRegistry::start() else { return };
    if !common::has_tool("skopeo") {
        return;
    }
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "fixtures/layers:gzip",
        false,
    );
    registry.push(
        &format!("oci:{}:multi", testdata("fixtures/multi-platform.oci")),
        "fixtures/multi:latest",
        true,
    );
    let inspect = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/fixtures/multi:latest", registry.host()))
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
    let index: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        index["manifests"].as_array().unwrap().len(),
        3,
        "both platforms and the attestation"
    );
    assert!(
        !registry.requests("/v2/fixtures/layers/blobs/uploads").is_empty(),
        "the access log records the push"
    );

    // The report of the pulled image equals the report of its OCI layout, apart from
    // where it came from.
    let strip = |mut r: serde_json::Value| {
        r.as_object_mut().unwrap().remove("source");
        r
    };
    let pulled = report_json(&format!("{}/fixtures/layers:gzip", registry.host()));
    assert_eq!(pulled["source"]["kind"], "registry");
    let layout = report_json(&format!("{}:gzip", testdata("fixtures/layers-gzip.oci")));
    assert_eq!(strip(pulled), strip(layout));
    assert!(
        !registry.requests("GET /v2/fixtures/layers/blobs/sha256:").is_empty(),
        "blobs were fetched"
    );

    // A multi-platform index: the host's platform by default, another on request.
    let multi = format!("{}/fixtures/multi:latest", registry.host());
    assert_eq!(report_json(&multi)["source"]["platform"], "linux/amd64");
    let arm = imgprof(&["report", "--json", "--platform", "linux/arm64", &multi]);
    let arm: serde_json::Value = serde_json::from_slice(&arm.stdout).unwrap();
    assert_eq!(arm["source"]["platform"], "linux/arm64/v8");

    let listed = imgprof(&["platforms", &multi]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("linux/amd64") && text.contains("linux/arm64/v8"),
        "{text}"
    );

    let missing = imgprof(&["report", &format!("{}/fixtures/nothing:here", registry.host())]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

/// The report minus where it came from.
fn without_source(mut report: serde_json::Value) -> serde_json::Value {
    report.as_object_mut().unwrap().remove("source");
    report
}

/// What the pulled report must equal: the OCI layout's report.
fn layout_report() -> serde_json::Value {
    without_source(report_json(&format!("{}:gzip", testdata("fixtures/layers-gzip.oci"))))
}

fn assert_no_secret(out: &std::process::Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in registry::secrets() {
        assert!(!text.contains(&secret), "a credential leaked into the output");
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn pulled(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "pull failed: {}", stderr(out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report is JSON");
    assert_eq!(report["source"]["kind"], "registry");
    without_source(report)
}

#[test]
fn basic_authentication_with_stored_credentials() {
    let Some(registry) = TestRegistry::start_with(RegistryAuth::Basic) else {
        return;
    };
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "private/layers:gzip",
        false,
    );
    let image = format!("{}/private/layers:gzip", registry.host());

    let good = registry::docker_config(&registry.host(), false, registry::PASSWORD);
    let out = registry::report_with_config(&image, good.path(), &[]);
    assert_no_secret(&out);
    assert_eq!(pulled(&out), layout_report());

    let nobody = tempfile::tempdir().unwrap();
    let out = registry::report_with_config(&image, nobody.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("401") && stderr(&out).contains("docker login"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());

    let wrong = registry::docker_config(&registry.host(), false, "not-the-password");
    let out = registry::report_with_config(&image, wrong.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not-the-password"));
}

#[test]
fn bearer_tokens_from_the_registrys_token_service() {
    let Some(registry) = TestRegistry::start_with(RegistryAuth::Token) else {
        return;
    };
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "private/layers:gzip",
        false,
    );
    registry.push(
        &format!("oci:{}:multi", testdata("fixtures/multi-platform.oci")),
        "private/multi:latest",
        true,
    );
    let issuer = registry.issuer.as_ref().unwrap();
    let image = format!("{}/private/layers:gzip", registry.host());

    // Username and password: a GET to the realm with Basic credentials.
    let before = issuer.requests().len();
    let basic = registry::docker_config(&registry.host(), false, registry::PASSWORD);
    let out = registry::report_with_config(&image, basic.path(), &[]);
    assert_no_secret(&out);
    assert_eq!(pulled(&out), layout_report());
    let asked: Vec<_> = issuer.requests()[before..].to_vec();
    assert!(
        asked.iter().any(|r| r.method == "GET"
            && r.granted
            && r.target.contains("scope=repository%3Aprivate%2Flayers%3Apull")
            && r.target.contains("service=imgprof-test-registry")),
        "{asked:?}"
    );
    assert_eq!(
        asked.len(),
        1,
        "one token serves the manifest, config and every layer: {asked:?}"
    );

    // An identity token: the OAuth2 refresh-token POST.
    let before = issuer.requests().len();
    let identity = registry::docker_config(&registry.host(), true, "");
    let out = registry::report_with_config(&image, identity.path(), &[]);
    assert_no_secret(&out);
    assert_eq!(pulled(&out), layout_report());
    assert!(
        issuer.requests()[before..]
            .iter()
            .any(|r| r.method == "POST" && r.granted)
    );

    // Through an index to a platform, with a token.
    let multi = format!("{}/private/multi:latest", registry.host());
    let out = registry::report_with_config(&multi, basic.path(), &["--platform", "linux/arm64"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // No credentials: the token service refuses, and the message says what to do.
    let nobody = tempfile::tempdir().unwrap();
    let out = registry::report_with_config(&image, nobody.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("401") && message.contains("docker login"), "{message}");
    assert!(message.contains(&registry.host()), "names the registry: {message}");
}

/// `report --json` of `image` with no credential file in reach and `extra` flags.
fn report_anonymously(image: &str, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> std::process::Output {
    let nobody = tempfile::tempdir().unwrap();
    let mut all = vec![("DOCKER_CONFIG", nobody.path().as_os_str())];
    all.extend_from_slice(env);
    let mut args = vec!["report", "--json", "--top", "1000"];
    args.extend_from_slice(extra);
    args.push(image);
    common::imgprof_with_env(&args, &all)
}

#[test]
fn a_private_ca_is_trusted_when_named_and_refused_at_once_when_not() {
    let ca = registry::TestCa::issue(&["registry.test"]);
    let Some(registry) = TestRegistry::start_tls(RegistryAuth::None, &ca) else {
        return;
    };
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "public/layers:gzip",
        false,
    );
    // The registry's name resolves nowhere: `--resolve` sends it to the loopback port,
    // and TLS checks the certificate against `registry.test`.
    let resolve = format!("registry.test:443:127.0.0.1:{}", registry.port);
    let image = "registry.test/public/layers:gzip";

    let handshake_errors = || {
        std::fs::read_to_string(&registry.log)
            .unwrap_or_default()
            .matches("TLS handshake error")
            .count()
    };
    // The readiness probe and the push leave their own lines.
    let before = handshake_errors();
    let started = std::time::Instant::now();
    let out = report_anonymously(image, &["--resolve", &resolve], &[]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    for needle in ["registry.test", "not trusted", "--ca-cert", "SSL_CERT_FILE"] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    assert!(
        !message.contains("gave up after"),
        "an untrusted certificate is not retried: {message}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(handshake_errors() - before, 1, "one handshake, not one per retry");

    let ca_cert = ca.cert.to_str().unwrap();
    assert_eq!(
        pulled(&report_anonymously(
            image,
            &["--resolve", &resolve, "--ca-cert", ca_cert],
            &[]
        )),
        layout_report()
    );
    assert_eq!(
        pulled(&report_anonymously(
            image,
            &["--resolve", &resolve],
            &[("SSL_CERT_FILE", ca.cert.as_os_str())]
        )),
        layout_report()
    );

    // A CA file that holds no certificate is named.
    let out = report_anonymously(
        image,
        &["--resolve", &resolve, "--ca-cert", ca.leaf_key.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("leaf.key") && stderr(&out).contains("no certificate"),
        "{}",
        stderr(&out)
    );
    // A malformed override says how to write one.
    let out = report_anonymously(image, &["--resolve", "registry.test:443"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("HOST:PORT:ADDR"), "{}", stderr(&out));
}

/// Access-log lines of `GET`s whose path starts with `path`.
fn gets(registry: &TestRegistry, path: &str) -> usize {
    registry.requests(&format!("GET {path}")).len()
}

#[test]
fn anonymous_pulls_and_platform_listings_as_on_docker_hub() {
    let Some(registry) = TestRegistry::start_with(RegistryAuth::Token) else {
        return;
    };
    let layout = format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci"));
    registry.push(&layout, "public/layers:gzip", false);
    registry.push(&layout, "private/layers:gzip", false);
    registry.push(
        &format!("oci:{}:multi", testdata("fixtures/multi-platform.oci")),
        "public/multi:latest",
        true,
    );
    let issuer = registry.issuer.as_ref().unwrap();
    let host = registry.host();

    // Anonymous: a token for the public repository, a clear refusal for the private one.
    assert_eq!(
        pulled(&report_anonymously(&format!("{host}/public/layers:gzip"), &[], &[])),
        layout_report()
    );
    let out = report_anonymously(&format!("{host}/private/layers:gzip"), &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    for needle in ["anonymous pull of private/layers was refused", "docker login", &host] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    assert!(
        !message.contains("credentials for"),
        "no credentials were sent: {message}"
    );

    // Listing every platform: one token, the index once, each image manifest once, no blob.
    let tokens = issuer.requests().len();
    let nobody = tempfile::tempdir().unwrap();
    let multi = format!("{host}/public/multi:latest");
    let out = common::imgprof_with_env(
        &["platforms", "--compressed-only", &multi],
        &[("DOCKER_CONFIG", nobody.path().as_os_str())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let images = listing.lines().skip(1).filter(|l| !l.contains("attestation")).count();
    assert!(images >= 2, "{listing}");
    assert_eq!(issuer.requests().len() - tokens, 1, "one token for the whole listing");
    // 401 then 200 for the tag; one GET per platform's manifest; no config or layer.
    assert_eq!(gets(&registry, "/v2/public/multi/manifests/latest"), 2, "{listing}");
    assert_eq!(
        gets(&registry, "/v2/public/multi/manifests/sha256:"),
        images,
        "{listing}"
    );
    assert_eq!(gets(&registry, "/v2/public/multi/blobs/"), 0, "{listing}");
    eprintln!(
        "all-platform listing of {images} images: {} requests (token 1, index 2 with the 401, manifests {images})",
        3 + images
    );

    // Analysing one platform: the token, the index, its manifest, its config and layers.
    let tokens = issuer.requests().len();
    let before_blobs = gets(&registry, "/v2/public/multi/blobs/");
    let report = pulled(&report_anonymously(&multi, &["--platform", "linux/arm64"], &[]));
    let layers = report["layers"].as_array().map_or(0, Vec::len);
    assert_eq!(issuer.requests().len() - tokens, 1);
    assert_eq!(gets(&registry, "/v2/public/multi/blobs/") - before_blobs, 1 + layers);
    eprintln!(
        "single-platform pull: token 1, index 2 (401, 200), manifest 1, config 1, layers {layers}: {} requests",
        5 + layers
    );
}

/// `imgprof ARGS IMAGE` in the Hub world (its `--resolve` and `--ca-cert` flags) with
/// the Docker config in `config`.
fn on_hub(world: &HubWorld, config: &std::path::Path, args: &[&str], image: &str) -> std::process::Output {
    let flags = world.flags();
    let mut all = args.to_vec();
    all.extend(flags.iter().map(String::as_str));
    all.push(image);
    let none = config.join("none.json");
    common::imgprof_with_env(
        &all,
        &[
            ("DOCKER_CONFIG", config.as_os_str()),
            ("REGISTRY_AUTH_FILE", none.as_os_str()),
        ],
    )
}

#[test]
fn docker_hubs_pull_path_under_its_own_names() {
    let layers = format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci"));
    let multi = format!("oci:{}:multi", testdata("fixtures/multi-platform.oci"));
    let Some(hub) = HubWorld::start(&[
        (&layers, "library/layers:gzip", false),
        (&layers, "someone/private:gzip", false),
        (&multi, "library/multi:latest", true),
    ]) else {
        return;
    };
    let nobody = tempfile::tempdir().unwrap();
    let report = ["report", "--json", "--top", "1000"];

    // Anonymous, by the short name people type: docker.io/library/layers:gzip.
    let out = on_hub(&hub, nobody.path(), &report, "layers:gzip");
    assert_eq!(pulled(&out), layout_report());
    let tokens = hub.auth.seen();
    assert_eq!(tokens.len(), 1, "one token for the whole pull: {tokens:?}");
    assert!(
        tokens[0].path.contains("service=registry.docker.io")
            && (tokens[0].path.contains("scope=repository%3Alibrary%2Flayers%3Apull")
                || tokens[0].path.contains("scope=repository:library/layers:pull")),
        "{:?}",
        tokens[0].path
    );
    let api = hub.api.seen();
    let cdn = hub.cdn.seen();
    let blob_gets = api.iter().filter(|s| s.path.contains("/blobs/")).count();
    assert!(blob_gets >= 2, "a config and a layer at least: {api:?}");
    assert_eq!(cdn.len(), blob_gets, "every blob fetched from the CDN once: {cdn:?}");
    assert!(
        cdn.iter().all(|s| !s.authorization),
        "no Authorization header reaches the CDN"
    );
    eprintln!(
        "Hub-like single-platform pull: {} requests (token {}, registry {}, CDN {})",
        tokens.len() + api.len() + cdn.len(),
        tokens.len(),
        api.len(),
        cdn.len()
    );

    // Throttled once (an HTTP-date Retry-After, Hub's rate-limit headers), a download
    // reset once: the pull waits, resumes with Range, and reports the same figures.
    let expected = layout_report();
    let largest = expected["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().unwrap().to_owned(),
                l["compressed_bytes"].as_u64().unwrap() as usize,
            )
        })
        .max_by_key(|(_, size)| *size)
        .unwrap();
    let retry_at = httpdate::fmt_http_date(std::time::SystemTime::now() + std::time::Duration::from_secs(2));
    *hub.faults.lock().unwrap() = common::hub::Faults {
        throttle_next_manifest: Some(vec![
            ("Retry-After".into(), retry_at),
            ("ratelimit-limit".into(), "100;w=21600".into()),
            ("ratelimit-remaining".into(), "0;w=21600".into()),
        ]),
        reset_download: Some((largest.0.clone(), largest.1 / 2)),
    };
    let (api_before, cdn_before) = (hub.api.seen().len(), hub.cdn.seen().len());
    let out = on_hub(&hub, nobody.path(), &report, "docker.io/library/layers:gzip");
    assert_eq!(pulled(&out), layout_report());
    let api = &hub.api.seen()[api_before..];
    let manifests: Vec<_> = api.iter().filter(|s| s.path.contains("/manifests/")).collect();
    let waited = manifests
        .windows(2)
        .any(|w| w[1].at - w[0].at >= std::time::Duration::from_millis(900));
    assert!(waited, "the HTTP-date Retry-After was honoured: {manifests:?}");
    let cdn = &hub.cdn.seen()[cdn_before..];
    assert!(
        cdn.iter().any(|s| s
            .range
            .as_deref()
            .is_some_and(|r| *r == format!("bytes={}-", largest.1 / 2))),
        "the reset download resumed where it stopped: {cdn:?}"
    );

    // Every platform of an index listed: one token, the index once, each manifest once.
    let (auth_before, api_before, cdn_before) = (hub.auth.seen().len(), hub.api.seen().len(), hub.cdn.seen().len());
    let out = on_hub(&hub, nobody.path(), &["platforms", "--compressed-only"], "multi");
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let images = listing.lines().skip(1).filter(|l| !l.contains("attestation")).count();
    assert!(images >= 2, "{listing}");
    assert_eq!(
        listing.lines().filter(|l| l.contains("(attestation of")).count(),
        1,
        "the unknown/unknown entry is labelled an attestation: {listing}"
    );
    let api = &hub.api.seen()[api_before..];
    assert_eq!(hub.auth.seen().len() - auth_before, 1, "one token");
    assert_eq!(
        api.len(),
        2 + images,
        "index (401, 200) and one GET per manifest: {api:?}"
    );
    assert_eq!(hub.cdn.seen().len(), cdn_before, "no blob for a listing");
    eprintln!("Hub-like listing of {images} platforms: {} requests", 1 + api.len());

    // A private repository: anonymous is refused, and the message says what to do.
    let out = on_hub(&hub, nobody.path(), &report, "someone/private:gzip");
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    for needle in ["anonymous pull of someone/private was refused", "docker login"] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }

    // `docker login` writes Hub's credentials under its v1 URL: Basic to token, and the
    // identity token (OAuth2 refresh) flow, with no secret in the output.
    for identity in [false, true] {
        let config = registry::docker_config("https://index.docker.io/v1/", identity, registry::PASSWORD);
        let before = hub.auth.seen().len();
        let out = on_hub(&hub, config.path(), &report, "someone/private:gzip");
        assert_no_secret(&out);
        assert_eq!(pulled(&out), layout_report());
        let asked = &hub.auth.seen()[before..];
        let method = if identity { "POST" } else { "GET" };
        assert!(
            asked.iter().any(|s| s.method == method && s.authorization != identity),
            "{method} to the token service: {asked:?}"
        );
    }

    // Without the CA: refused at once, naming the host and how to trust it.
    let out = common::imgprof_with_env(
        &["report", "--json", "--resolve", &hub.flags()[1], "layers:gzip"],
        &[("DOCKER_CONFIG", nobody.path().as_os_str())],
    );
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    for needle in [common::hub::API_HOST, "not trusted", "--ca-cert"] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
}
