//! A pull survives what real networks do: a fault-injecting proxy between imgprof and a
//! real Basic-auth registry answers 429 and 503, resets a layer download mid-stream,
//! stalls another, and redirects a third to a blob server on another host. The report
//! must come out whole and equal to the OCI layout's; a flipped byte must fail naming
//! the blob.
//!
//! Then a table of faults (docs/security.md, "Registry faults"), each run through a
//! proxy of its own against one registry, a few at a time: every case ends in a whole
//! report or in exit 2 with one error line naming the reference or blob and the status,
//! within a deadline (a hang fails), without a panic, with bounded memory, and without a
//! password, `auth` value, identity token or issued token on stdout or stderr.

use crate::common;
use crate::common::measured::run_measured;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::proxy::{Action, FaultProxy, Seen};
use crate::common::registry::{self, RegistryAuth, TestRegistry};
use crate::common::{report_json, testdata};
use base64::Engine as _;
use serde_json::Value;

/// The digests of `fixtures/layers-gzip.oci`'s manifest, read from the layout.
struct Fixture {
    config: String,
    layers: Vec<String>,
}

impl Fixture {
    fn read() -> Fixture {
        let layout = layout_dir();
        let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let manifest = blob(index["manifests"][0]["digest"].as_str().unwrap());
        let manifest: Value = serde_json::from_slice(&manifest).unwrap();
        Fixture {
            config: manifest["config"]["digest"].as_str().unwrap().to_owned(),
            layers: manifest["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_owned())
                .collect(),
        }
    }
}

fn layout_dir() -> PathBuf {
    PathBuf::from(testdata("fixtures/layers-gzip.oci"))
}

fn blob(digest: &str) -> Vec<u8> {
    let hex = digest.trim_start_matches("sha256:");
    std::fs::read(layout_dir().join("blobs/sha256").join(hex)).unwrap()
}

fn blob_path(digest: &str) -> String {
    format!("/v2/private/layers/blobs/{digest}")
}

/// A registry with the fixture pushed as `private/layers:gzip`, behind Basic auth.
fn registry_with_fixture() -> Option<TestRegistry> {
    let registry = TestRegistry::start_with(RegistryAuth::Basic)?;
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "private/layers:gzip",
        false,
    );
    Some(registry)
}

/// `imgprof report --json` on `image`, with the test account stored for the proxy's
/// host (the only host imgprof is told about).
fn report_through(proxy: &FaultProxy, extra: &[&str]) -> std::process::Output {
    let config = registry::docker_config(&proxy.host(), false, registry::PASSWORD);
    let image = format!("{}/private/layers:gzip", proxy.host());
    registry::report_with_config(&image, config.path(), extra)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn without_source(mut report: Value) -> Value {
    report.as_object_mut().unwrap().remove("source");
    report
}

/// What differs between a registry pull and a `docker save` of the same image by
/// construction: where it came from, and each layer's compressed form.
fn without_packaging(mut report: Value) -> Value {
    report = without_source(report);
    for layer in report["layers"].as_array_mut().unwrap() {
        for key in ["digest", "media_type", "compression", "compressed_bytes"] {
            layer.as_object_mut().unwrap().remove(key);
        }
    }
    report["image"].as_object_mut().unwrap().remove("compressed_bytes");
    // Pull times follow the compressed size.
    report.as_object_mut().unwrap().remove("pull");
    report
}

#[test]
fn a_pull_survives_throttling_resets_stalls_and_redirects() {
    if !common::has_tool("skopeo") {
        return;
    }
    let Some(registry) = registry_with_fixture() else {
        return;
    };
    let fixture = Fixture::read();

    // A second host, as a registry's blob storage (S3, a CDN) would be: it serves
    // blobs from the layout and must never see the registry's credentials.
    let storage = FaultProxy::start(
        "127.0.0.2",
        None,
        Box::new(|seen: &Seen, _| match seen.path.rsplit_once("/blobs/") {
            Some((_, digest)) => Action::Respond {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: blob(digest),
            },
            None => Action::status(404, &[]),
        }),
    );
    let storage_host = storage.host();

    let manifest_path = "/v2/private/layers/manifests/gzip".to_owned();
    let config_path = blob_path(&fixture.config);
    let reset_path = blob_path(&fixture.layers[0]);
    let redirect_path = blob_path(&fixture.layers[1]);
    let redirected_digest = fixture.layers[1].clone();
    let stall_path = blob_path(&fixture.layers[2]);
    let proxy = FaultProxy::start(
        "127.0.0.1",
        Some(registry.host()),
        Box::new(move |seen: &Seen, earlier| {
            let path = seen.path.as_str();
            if path == manifest_path && earlier == 0 {
                Action::status(429, &[("Retry-After", "1")])
            } else if path == config_path && earlier == 0 {
                Action::status(503, &[("Retry-After", "1")])
            } else if path == reset_path && earlier == 0 {
                Action::ResetAfter(100)
            } else if path == stall_path && earlier == 0 {
                Action::StallAfter(50)
            } else if path == redirect_path {
                let location = format!("http://{storage_host}/storage/blobs/{redirected_digest}");
                Action::status(307, &[("Location", &location)])
            } else {
                Action::Forward
            }
        }),
    );

    let out = report_through(&proxy, &["--timeout", "2"]);
    assert!(out.status.success(), "the pull failed: {}", stderr(&out));
    let pulled: Value = serde_json::from_slice(&out.stdout).expect("report is JSON");
    assert_eq!(pulled["source"]["kind"], "registry");
    let pulled = without_source(pulled);
    let layout = without_source(report_json(&format!("{}:gzip", testdata("fixtures/layers-gzip.oci"))));
    assert_eq!(pulled, layout, "the pulled report equals the layout's");
    let archive = report_json(&testdata("fixtures/layers-classic.tar"));
    assert_eq!(
        without_packaging(pulled),
        without_packaging(archive),
        "and the docker save's, apart from how layers are packed"
    );

    let seen = proxy.seen();
    let requests_for = |path: &str| seen.iter().filter(|s| s.path == path).cloned().collect::<Vec<_>>();
    let manifest = requests_for("/v2/private/layers/manifests/gzip");
    assert!(manifest.len() >= 2, "the 429 was retried: {manifest:?}");
    assert!(
        requests_for(&blob_path(&fixture.config)).len() >= 2,
        "the 503 was retried"
    );
    let reset = requests_for(&blob_path(&fixture.layers[0]));
    assert_eq!(
        reset.last().and_then(|s| s.range.as_deref()),
        Some("bytes=100-"),
        "the reset download resumed where it broke: {reset:?}"
    );
    let stalled = requests_for(&blob_path(&fixture.layers[2]));
    assert_eq!(
        stalled.last().and_then(|s| s.range.as_deref()),
        Some("bytes=50-"),
        "the stalled download resumed after the timeout: {stalled:?}"
    );
    assert!(
        // The throttled first request and its retry, answered 401, go without.
        seen.iter()
            .filter(|s| s.path.starts_with("/v2/private/"))
            .skip(2)
            .all(|s| s.authorization),
        "the registry got credentials on every request after the challenge: {seen:?}"
    );

    let stored = storage.seen();
    assert!(
        stored.iter().any(|s| s.path.ends_with(&fixture.layers[1])),
        "the redirected layer came from the storage host: {stored:?}"
    );
    assert!(
        stored.iter().all(|s| !s.authorization),
        "credentials never go to another host: {stored:?}"
    );
}

#[test]
fn a_corrupted_blob_fails_naming_its_digest() {
    if !common::has_tool("skopeo") {
        return;
    }
    let Some(registry) = registry_with_fixture() else {
        return;
    };
    let fixture = Fixture::read();
    let corrupt_path = blob_path(&fixture.layers[0]);
    let proxy = FaultProxy::start(
        "127.0.0.1",
        Some(registry.host()),
        Box::new(move |seen: &Seen, _| {
            if seen.path == corrupt_path {
                Action::FlipByte(200)
            } else {
                Action::Forward
            }
        }),
    );
    let out = report_through(&proxy, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "no partial report");
    let message = stderr(&out);
    assert!(message.contains(&fixture.layers[0]), "names the blob: {message}");
    assert!(!message.contains("panicked"), "{message}");
}

/// Runs `imgprof report --json` under `script`, so stderr is a terminal while stdout goes
/// to a file; returns what the terminal showed and the report.
fn report_on_a_terminal(proxy: &FaultProxy, extra: &str) -> (String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = registry::docker_config(&proxy.host(), false, registry::PASSWORD);
    let (typescript, report) = (dir.path().join("typescript"), dir.path().join("report.json"));
    let command = format!(
        "{} report --json --timeout 2 {extra} {}/private/layers:gzip > {}",
        env!("CARGO_BIN_EXE_imgprof"),
        proxy.host(),
        report.display()
    );
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command])
        .arg(&typescript)
        .env("DOCKER_CONFIG", config.path())
        .env("REGISTRY_AUTH_FILE", dir.path().join("none.json"))
        .env("IMGPROF_CACHE_DIR", dir.path().join("cache"))
        .output()
        .expect("script runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).expect("a whole report on stdout");
    (shown, report)
}

#[test]
fn progress_bars_on_a_terminal_only() {
    if !common::has_tool("skopeo") || !common::has_tool("script") {
        return;
    }
    let Some(registry) = registry_with_fixture() else {
        return;
    };
    let fixture = Fixture::read();
    // The largest layer stalls for the 2 s timeout in every run (the first request of
    // each run, then its resumption), so its bar is on screen for a while.
    let stalled = blob_path(&fixture.layers[0]);
    let proxy = FaultProxy::start(
        "127.0.0.1",
        Some(registry.host()),
        Box::new(move |seen: &Seen, earlier| {
            if seen.path == stalled && earlier % 2 == 0 {
                Action::StallAfter(100)
            } else {
                Action::Forward
            }
        }),
    );
    let short = &fixture.layers[0]["sha256:".len()..][..12];
    let (shown, report) = report_on_a_terminal(&proxy, "");
    assert!(shown.contains(short), "a bar names the stalled layer: {shown:?}");
    assert!(shown.contains("449 B"), "and its size: {shown:?}");
    assert_eq!(report["layers"].as_array().unwrap().len(), 4);

    let (shown, _) = report_on_a_terminal(&proxy, "--quiet");
    assert!(!shown.contains(short), "--quiet draws nothing: {shown:?}");

    // Not a terminal: stderr stays empty.
    let out = report_through(&proxy, &["--timeout", "2"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "", "no progress when stderr is not a terminal");
}

// ---------------------------------------------------------------------------------------
// The fault table: each case ends in the documented behaviour, a whole report after
// retries, or exit 2 with one line naming the reference or blob and the HTTP status.
// Never a panic (exit 101), never a hang, never a credential on screen.
// ---------------------------------------------------------------------------------------

/// What a case must end in.
enum Expect {
    /// Exit 0 with the same report as the layout's.
    Report,
    /// Exit 2, stdout empty, one `imgprof: error:` line holding every one of these.
    Fails(Vec<String>),
}

/// Where the client finds its credentials in a case.
#[derive(Clone, Copy)]
enum Stored {
    /// The test account as a base64 `auth` entry for the proxy's host.
    Password,
    /// An `identitytoken` entry for the proxy's host.
    IdentityToken,
    /// The test account with [`WRONG_PASSWORD`].
    WrongPassword,
}

const WRONG_PASSWORD: &str = "wr0ng-Pa55word-never-shown";

/// A check on the requests a proxy saw.
type Check = dyn Fn(&[Seen]) -> Result<(), String> + Send + Sync;

/// How a token endpoint answers.
type Answer = Box<dyn Fn() -> Action + Send + Sync>;

struct Case {
    name: &'static str,
    /// The repository and tag on the proxy's host (`private/layers:gzip` by default).
    image: String,
    plan: std::sync::Arc<common::proxy::Plan>,
    stored: Stored,
    expect: Expect,
    /// Strings that must never reach stdout or stderr, besides the test account's.
    secrets: Vec<String>,
    /// Checks on what the proxy saw.
    check: Option<Box<Check>>,
    /// The run is killed (and the case fails) after this long.
    within: std::time::Duration,
    /// The child's peak resident memory must stay under this. (It includes what the
    /// test process had resident when it spawned the child, some tens of MiB, so it
    /// only tells a bounded client from one that buffers hundreds of MiB.)
    max_rss_mib: u64,
}

impl Case {
    fn new(name: &'static str, plan: Box<common::proxy::Plan>, expect: Expect) -> Case {
        Case {
            name,
            image: "private/layers:gzip".to_owned(),
            plan: std::sync::Arc::from(plan),
            stored: Stored::Password,
            expect,
            secrets: Vec::new(),
            check: None,
            within: std::time::Duration::from_secs(40),
            max_rss_mib: 250,
        }
    }

    fn image(mut self, image: &str) -> Case {
        self.image = image.to_owned();
        self
    }

    fn stored(mut self, stored: Stored) -> Case {
        self.stored = stored;
        self
    }

    fn secret(mut self, secret: &str) -> Case {
        self.secrets.push(secret.to_owned());
        self
    }

    fn check(mut self, check: impl Fn(&[Seen]) -> Result<(), String> + Send + Sync + 'static) -> Case {
        self.check = Some(Box::new(check));
        self
    }

    fn within(mut self, secs: u64) -> Case {
        self.within = std::time::Duration::from_secs(secs);
        self
    }

    fn max_rss_mib(mut self, mib: u64) -> Case {
        self.max_rss_mib = mib;
        self
    }
}

fn fails(needles: &[&str]) -> Expect {
    Expect::Fails(needles.iter().map(|n| n.to_string()).collect())
}

/// `action(earlier)` for requests to `path`, everything else forwarded.
fn at(path: &str, action: impl Fn(usize) -> Action + Send + Sync + 'static) -> Box<common::proxy::Plan> {
    let path = path.to_owned();
    Box::new(move |seen: &Seen, earlier| {
        if seen.path == path {
            action(earlier)
        } else {
            Action::Forward
        }
    })
}

/// The same answer to every request.
fn always(action: impl Fn() -> Action + Send + Sync + 'static) -> Box<common::proxy::Plan> {
    Box::new(move |_: &Seen, _| action())
}

fn respond(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Action {
    Action::Respond {
        status,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_vec(),
    }
}

fn registry_error(status: u16, code: &str, message: &str) -> Action {
    let body = serde_json::json!({ "errors": [{ "code": code, "message": message }] }).to_string();
    respond(status, &[("Content-Type", "application/json")], body.as_bytes())
}

/// At most `max` requests for `path`.
fn at_most(path: &str, max: usize) -> impl Fn(&[Seen]) -> Result<(), String> + Send + Sync + 'static {
    let path = path.to_owned();
    move |seen: &[Seen]| {
        let n = seen.iter().filter(|s| s.path == path).count();
        if n <= max {
            Ok(())
        } else {
            Err(format!("{n} requests for {path}, more than {max}"))
        }
    }
}

/// The first two requests for `path` came at least `gap` apart.
fn waited_between(path: &str, gap: Duration) -> impl Fn(&[Seen]) -> Result<(), String> + Send + Sync + 'static {
    let path = path.to_owned();
    move |seen: &[Seen]| {
        let times: Vec<_> = seen.iter().filter(|s| s.path == path).map(|s| s.at).collect();
        match times.as_slice() {
            [first, second, ..] if second.duration_since(*first) >= gap => Ok(()),
            [first, second, ..] => Err(format!(
                "asked again for {path} after {:?}, not after the {gap:?} Retry-After asked",
                second.duration_since(*first)
            )),
            _ => Err(format!("fewer than two requests for {path}")),
        }
    }
}

/// Runs one case against `registry` through a proxy of its own; the problems found.
fn run_case(case: &Case, registry: &TestRegistry, layout_report: &Value) -> Vec<String> {
    let plan = std::sync::Arc::clone(&case.plan);
    let proxy = FaultProxy::start(
        "127.0.0.1",
        Some(registry.host()),
        Box::new(move |seen: &Seen, earlier| plan(seen, earlier)),
    );
    let config = match case.stored {
        Stored::Password => registry::docker_config(&proxy.host(), false, registry::PASSWORD),
        Stored::IdentityToken => registry::docker_config(&proxy.host(), true, registry::PASSWORD),
        Stored::WrongPassword => registry::docker_config(&proxy.host(), false, WRONG_PASSWORD),
    };
    let empty = tempfile::tempdir().unwrap();
    let args: Vec<String> = ["report", "--json", "--top", "1000", "--timeout", "2"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("{}/{}", proxy.host(), case.image)])
        .collect();
    let env = [
        ("DOCKER_CONFIG", config.path().as_os_str().to_owned()),
        ("REGISTRY_AUTH_FILE", empty.path().join("none.json").into_os_string()),
        // Retries wait at most a second here, so storms end quickly.
        ("IMGPROF_RETRY_MAX_WAIT", "1".into()),
        // Whatever logging a dependency might do, at its most verbose.
        ("RUST_LOG", "trace".into()),
        ("IMGPROF_LOG", "debug".into()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &std::ffi::OsStr)> = env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let run = run_measured(&args, &env, case.within);
    let mut problems = Vec::new();
    let mut problem = |p: String| problems.push(format!("{}: {p}", case.name));
    let stdout = String::from_utf8_lossy(&run.stdout);
    match run.code {
        None if run.timed_out => problem(format!(
            "still running after {:?} (a hang): {}",
            case.within, run.stderr
        )),
        Some(101) => problem(format!("exit 101 (a panic): {}", run.stderr)),
        _ if run.signal.is_some() => problem(format!("killed by signal {:?}: {}", run.signal, run.stderr)),
        _ => {}
    }
    if run.stderr.contains("panicked") {
        problem(format!("a panic: {}", run.stderr));
    }
    match &case.expect {
        Expect::Report if run.code.is_some() => {
            if run.code != Some(0) {
                problem(format!("exit {:?}, wanted a report: {}", run.code, run.stderr));
            } else {
                match serde_json::from_slice::<Value>(&run.stdout) {
                    Ok(report) if without_source(report.clone()) == *layout_report => {}
                    Ok(_) => problem("the report differs from the layout's".to_owned()),
                    Err(e) => problem(format!("stdout is not a report: {e}")),
                }
                if !run.stderr.is_empty() {
                    problem(format!("stderr is not empty: {}", run.stderr));
                }
            }
        }
        Expect::Fails(needles) if run.code.is_some() => {
            if run.code != Some(2) {
                problem(format!("exit {:?}, wanted 2: {}", run.code, run.stderr));
            }
            if !run.stdout.is_empty() {
                problem(format!("stdout is not empty: {stdout:.200}"));
            }
            let lines: Vec<&str> = run.stderr.lines().collect();
            if lines.len() != 1 || !lines[0].starts_with("imgprof: error: ") {
                problem(format!(
                    "stderr is not one error line: {:?}",
                    truncate(&run.stderr, 2000)
                ));
            }
            if run.stderr.len() > 1200 {
                problem(format!("the message is {} bytes long", run.stderr.len()));
            }
            for needle in needles {
                if !run.stderr.contains(needle.as_str()) {
                    problem(format!(
                        "the message does not name {needle:?}: {}",
                        truncate(&run.stderr, 2000)
                    ));
                }
            }
        }
        _ => {}
    }
    let shown = format!("{stdout}{}", run.stderr);
    let mut secrets = registry::secrets();
    secrets.extend(case.secrets.iter().cloned());
    secrets.push(WRONG_PASSWORD.to_owned());
    secrets.push(base64::engine::general_purpose::STANDARD.encode(format!("{}:{WRONG_PASSWORD}", registry::USERNAME)));
    // Every token the registry's issuer handed out, and each of its three parts.
    for token in registry.issuer.iter().flat_map(|issuer| issuer.issued()) {
        secrets.extend(token.split('.').filter(|part| part.len() > 16).map(str::to_owned));
        secrets.push(token);
    }
    for secret in &secrets {
        if shown.contains(secret.as_str()) {
            problem(format!("a secret ({:.6}...) reached the output", secret));
        }
    }
    if run.peak_rss_kib > case.max_rss_mib << 10 {
        problem(format!(
            "peak memory {} MiB, more than {} MiB",
            run.peak_rss_kib >> 10,
            case.max_rss_mib
        ));
    }
    if let Some(check) = &case.check
        && let Err(e) = check(&proxy.seen())
    {
        problem(e);
    }
    eprintln!(
        "{}: exit {:?} in {:.1?}, {} MiB: {}",
        case.name,
        run.code,
        run.elapsed,
        run.peak_rss_kib >> 10,
        truncate(run.stderr.trim_end(), 300)
    );
    problems
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
}

/// Runs the cases a few at a time and fails with every problem found.
fn run_table(cases: Vec<Case>, registry: &TestRegistry) {
    let layout = without_source(report_json(&format!("{}:gzip", testdata("fixtures/layers-gzip.oci"))));
    let queue = std::sync::Mutex::new(cases.into_iter());
    let problems = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().next() else {
                        return;
                    };
                    let found = run_case(&case, registry, &layout);
                    problems.lock().unwrap().extend(found);
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A token endpoint of its own (another loopback host) answering every request with
/// `answer`, and the challenge that sends clients there.
fn token_endpoint(answer: impl Fn() -> Action + Send + Sync + 'static) -> (FaultProxy, String) {
    let endpoint = FaultProxy::start("127.0.0.3", None, always(answer));
    let challenge = format!(
        "Bearer realm=\"http://{}/token\",service=\"imgprof-test\",scope=\"repository:private/layers:pull\"",
        endpoint.host()
    );
    (endpoint, challenge)
}

fn unauthorized(challenge: &str) -> Action {
    let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
    respond(
        401,
        &[("WWW-Authenticate", challenge), ("Content-Type", "application/json")],
        body,
    )
}

const FAKE_TOKEN: &str = "tok3n-from-the-endpoint-never-shown";

#[test]
fn every_registry_fault_ends_as_documented() {
    if !common::has_tool("skopeo") {
        return;
    }
    let Some(registry) = registry_with_fixture() else {
        return;
    };
    let fixture = Fixture::read();
    let manifest = "/v2/private/layers/manifests/gzip".to_owned();
    let config = blob_path(&fixture.config);
    let layer = blob_path(&fixture.layers[0]);
    let layer_digest = fixture.layers[0].as_str();
    let config_digest = fixture.config.as_str();
    let reference = "private/layers/manifests/gzip";
    let mut endpoints = Vec::new();
    let mut cases = Vec::new();

    // The happy path, for the credential checks of a success.
    cases.push(Case::new("no fault", always(|| Action::Forward), Expect::Report));

    // Authentication that never succeeds.
    cases.push(
        Case::new(
            "401 after Basic credentials, every time",
            always(|| unauthorized("Basic realm=\"imgprof-test\"")),
            fails(&["401", reference]),
        )
        .check(at_most(&manifest, 3)),
    );
    let (endpoint, bearer) = token_endpoint(|| {
        let body = format!(r#"{{"token":"{FAKE_TOKEN}","expires_in":300}}"#);
        respond(200, &[("Content-Type", "application/json")], body.as_bytes())
    });
    endpoints.push(endpoint);
    {
        let bearer = bearer.clone();
        cases.push(
            Case::new(
                "401 after a Bearer token, every time",
                always(move || unauthorized(&bearer)),
                fails(&["401", reference]),
            )
            .secret(FAKE_TOKEN)
            .check(at_most(&manifest, 3)),
        );
    }
    cases.push(
        Case::new(
            "401 alternating Basic and Bearer challenges",
            Box::new(move |_: &Seen, earlier| {
                if earlier % 2 == 0 {
                    unauthorized("Basic realm=\"imgprof-test\"")
                } else {
                    unauthorized(&bearer)
                }
            }),
            fails(&["401", reference]),
        )
        .secret(FAKE_TOKEN)
        .check(at_most(&manifest, 4)),
    );
    cases.push(Case::new(
        "401 with a 30 kB unparsable challenge",
        always(|| unauthorized(&format!("Bearer {}", "x".repeat(30_000)))),
        fails(&["401", reference]),
    ));

    // Refusals and absences.
    cases.push(Case::new(
        "403 on the manifest",
        at(&manifest, |_| {
            registry_error(403, "DENIED", "requested access to the resource is denied")
        }),
        fails(&["403", reference, "DENIED"]),
    ));
    cases.push(
        Case::new(
            "404 on the manifest (unknown tag)",
            always(|| Action::Forward),
            fails(&["404", "private/layers/manifests/no-such-tag"]),
        )
        .image("private/layers:no-such-tag"),
    );
    cases.push(Case::new(
        "404 on a layer blob",
        at(&layer, |_| {
            registry_error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        }),
        fails(&["404", layer_digest]),
    ));
    cases.push(Case::new(
        "404 on the config blob",
        at(&config, |_| {
            registry_error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        }),
        fails(&["404", config_digest]),
    ));

    // Throttling.
    cases.push(Case::new(
        "429 three times, then served",
        at(&manifest, |earlier| {
            if earlier < 3 {
                Action::status(429, &[("Retry-After", "1")])
            } else {
                Action::Forward
            }
        }),
        Expect::Report,
    ));
    cases.push(
        Case::new(
            "429 storm asking to wait a day",
            always(|| registry_error(429, "TOOMANYREQUESTS", "slow down")),
            fails(&["429", reference, "gave up after 5 attempts"]),
        )
        .check(at_most(&manifest, 5))
        .within(20),
    );
    cases.push(
        Case::new(
            "429 storm with Retry-After: 86400",
            at(&manifest, |_| Action::status(429, &[("Retry-After", "86400")])),
            fails(&["429", reference, "86400"]),
        )
        .check(at_most(&manifest, 5))
        .within(20),
    );

    // `Retry-After` as an HTTP-date (RFC 9110): waited for, not the 250 ms backoff.
    let date_in = |secs: u64| httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(secs));
    cases.push(
        Case::new(
            "429 once with Retry-After as an HTTP-date 2 s ahead, then served",
            at(&manifest, move |earlier| {
                if earlier < 1 {
                    Action::status(429, &[("Retry-After", date_in(2).as_str())])
                } else {
                    Action::Forward
                }
            }),
            Expect::Report,
        )
        .check(waited_between(&manifest, Duration::from_millis(900))),
    );
    cases.push(
        Case::new(
            "429 storm with Retry-After as an HTTP-date a day ahead",
            at(&manifest, move |_| {
                Action::status(429, &[("Retry-After", date_in(86_400).as_str())])
            }),
            fails(&["429", reference, "asked to wait 86"]),
        )
        .check(at_most(&manifest, 5))
        .within(20),
    );

    // Server errors, passing and lasting.
    for (status, path, name) in [
        (500, manifest.clone(), "500 twice on the manifest, then served"),
        (502, config.clone(), "502 twice on the config, then served"),
        (503, layer.clone(), "503 twice on a layer, then served"),
    ] {
        cases.push(Case::new(
            name,
            at(&path, move |earlier| {
                if earlier < 2 {
                    Action::status(status, &[])
                } else {
                    Action::Forward
                }
            }),
            Expect::Report,
        ));
    }
    for (status, name) in [(500, "500 for good"), (502, "502 for good"), (503, "503 for good")] {
        cases.push(
            Case::new(
                name,
                at(&manifest, move |_| Action::status(status, &[])),
                fails(&[&status.to_string(), reference, "gave up after 5 attempts"]),
            )
            .check(at_most(&manifest, 5))
            .within(20),
        );
    }
    cases.push(Case::new(
        "503 for good on a layer",
        at(&layer, |_| Action::status(503, &[])),
        fails(&["503", layer_digest]),
    ));

    // Connections that stall or break.
    cases.push(
        Case::new(
            "the manifest request is never answered",
            at(&manifest, |_| Action::Hang),
            fails(&[reference, "timed out"]),
        )
        .within(30),
    );
    cases.push(
        Case::new(
            "the manifest's head trickles in a byte a second",
            at(&manifest, |_| Action::TrickleHeader(std::time::Duration::from_secs(1))),
            fails(&[reference, "timed out"]),
        )
        .within(30),
    );
    cases.push(
        Case::new(
            "a layer stalls on every attempt",
            at(&layer, |_| Action::StallAfter(0)),
            fails(&[layer_digest, "timed out"]),
        )
        .within(30),
    );
    cases.push(Case::new(
        "a layer is reset before its first byte, every time",
        at(&layer, |_| Action::ResetAfter(0)),
        fails(&[layer_digest]),
    ));

    // Lengths that lie.
    cases.push(
        Case::new(
            "a layer body shorter than its Content-Length, once",
            at(&layer, |earlier| {
                if earlier == 0 {
                    Action::CutBody(100)
                } else {
                    Action::Forward
                }
            }),
            Expect::Report,
        )
        .check({
            let layer = layer.clone();
            move |seen| match seen.iter().rfind(|s| s.path == layer) {
                Some(s) if s.range.as_deref() == Some("bytes=100-") => Ok(()),
                other => Err(format!("the layer did not resume at byte 100: {other:?}")),
            }
        }),
    );
    cases.push(Case::new(
        "a layer body shorter than its Content-Length, every time",
        at(&layer, |_| Action::CutBody(0)),
        fails(&[layer_digest]),
    ));
    cases.push(Case::new(
        "a layer announced shorter than it is, once",
        at(&layer, |earlier| {
            if earlier == 0 {
                Action::AnnounceLength(100)
            } else {
                Action::Forward
            }
        }),
        Expect::Report,
    ));
    cases.push(Case::new(
        "a layer longer than its descriptor",
        at(&layer, |_| Action::Append(vec![b'x'; 4096])),
        fails(&[layer_digest, "more than"]),
    ));
    cases.push(Case::new(
        "the config body shorter than its Content-Length, once",
        at(&config, |earlier| {
            if earlier == 0 {
                Action::CutBody(20)
            } else {
                Action::Forward
            }
        }),
        Expect::Report,
    ));
    cases.push(Case::new(
        "the config body shorter than its Content-Length, every time",
        at(&config, |_| Action::CutBody(20)),
        fails(&[config_digest]),
    ));
    cases.push(Case::new(
        "the config longer than announced by its digest",
        at(&config, |_| Action::Append(b"    ".to_vec())),
        fails(&[config_digest]),
    ));

    // Redirects.
    {
        let again = layer.clone();
        cases.push(
            Case::new(
                "a layer redirects to itself",
                at(&layer, move |_| Action::status(307, &[("Location", &again)])),
                fails(&[layer_digest, "redirect"]),
            )
            .check(at_most(&layer, 20)),
        );
    }
    cases.push(
        Case::new(
            "the manifest and another path redirect to each other",
            Box::new(|seen: &Seen, _| match seen.path.as_str() {
                "/v2/private/layers/manifests/gzip" => {
                    Action::status(302, &[("Location", "/v2/private/layers/manifests/other")])
                }
                "/v2/private/layers/manifests/other" => Action::status(302, &[("Location", "gzip")]),
                _ => Action::Forward,
            }),
            fails(&[reference, "redirect"]),
        )
        .check(at_most(&manifest, 20)),
    );
    cases.push(Case::new(
        "a redirect to an unusable Location holding a password",
        at(&layer, |_| {
            let location = format!("http://{}:{}@[bad/x", registry::USERNAME, registry::PASSWORD);
            Action::status(307, &[("Location", &location)])
        }),
        fails(&[layer_digest, "307", "refusing"]),
    ));
    cases.push(Case::new(
        "a redirect to an unusable Location",
        at(&layer, |_| Action::status(307, &[("Location", "http://[bad/x")])),
        fails(&[layer_digest, "307", "unusable Location"]),
    ));

    // Token endpoints that fail.
    let token_cases: Vec<(&'static str, Answer, Vec<&str>)> = vec![
        (
            "the token endpoint answers 500 with an HTML page",
            Box::new(|| {
                let page = format!("<html><body>Internal error {FAKE_TOKEN}</body></html>");
                respond(500, &[("Content-Type", "text/html")], page.as_bytes())
            }),
            vec!["token endpoint", "500"],
        ),
        (
            "the token endpoint answers HTML with 200",
            Box::new(|| {
                let page = format!("<html><body>token={FAKE_TOKEN}</body></html>");
                respond(200, &[("Content-Type", "text/html")], page.as_bytes())
            }),
            vec!["token endpoint", "JSON"],
        ),
        (
            "the token endpoint answers JSON without a token",
            Box::new(|| {
                let body = format!(r#"{{"expires_in":300,"tokn":"{FAKE_TOKEN}"}}"#);
                respond(200, &[("Content-Type", "application/json")], body.as_bytes())
            }),
            vec!["token endpoint", "no usable token"],
        ),
        (
            "the token endpoint answers a token with a line break in it",
            Box::new(|| {
                let body = format!(r#"{{"token":"{FAKE_TOKEN}\r\nX-Injected: 1"}}"#);
                respond(200, &[("Content-Type", "application/json")], body.as_bytes())
            }),
            vec!["token endpoint", "no usable token"],
        ),
        (
            "the token endpoint refuses the credentials",
            Box::new(|| registry_error(401, "UNAUTHORIZED", "bad credentials")),
            vec!["token endpoint", "401"],
        ),
        (
            "the token endpoint never answers",
            Box::new(|| Action::Hang),
            vec!["token endpoint", "timed out"],
        ),
    ];
    for (name, answer, needles) in token_cases {
        let (endpoint, challenge) = token_endpoint(answer);
        endpoints.push(endpoint);
        cases.push(
            Case::new(name, always(move || unauthorized(&challenge)), fails(&needles))
                .secret(FAKE_TOKEN)
                .within(30),
        );
    }
    {
        let (endpoint, challenge) = token_endpoint(|| Action::status(500, &[]));
        endpoints.push(endpoint);
        cases.push(
            Case::new(
                "an identity token exchanged at an endpoint that fails",
                always(move || unauthorized(&challenge)),
                fails(&["token endpoint", "500"]),
            )
            .stored(Stored::IdentityToken),
        );
    }
    {
        let (endpoint, _) = token_endpoint(|| Action::status(500, &[]));
        let challenge = format!(
            "Bearer realm=\"http://{}:{}@{}/token\",service=\"imgprof-test\"",
            registry::USERNAME,
            registry::PASSWORD,
            endpoint.host()
        );
        endpoints.push(endpoint);
        cases.push(Case::new(
            "a token realm with a password in its URL",
            always(move || unauthorized(&challenge)),
            fails(&["token endpoint", "refusing"]),
        ));
    }

    // Error bodies that are not the registry's JSON.
    cases.push(
        Case::new(
            "500 with a 2 MiB HTML page",
            at(&manifest, |_| {
                let page = format!(
                    "<html><body>{}</body></html>",
                    "<p>Internal Server Error</p>\n".repeat(70_000)
                );
                respond(500, &[("Content-Type", "text/html")], page.as_bytes())
            }),
            fails(&["500", reference]),
        )
        .check(at_most(&manifest, 5)),
    );
    cases.push(Case::new(
        "500 whose body breaks off",
        at(&manifest, |_| {
            Action::Raw(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"errors\":[{\"code\":\"UNKN".to_vec())
        }),
        fails(&["500", reference]),
    ));
    cases.push(Case::new(
        "404 with a thousand long errors and escape sequences",
        at(&manifest, |_| {
            let errors: Vec<Value> = (0..1000)
                .map(|i| serde_json::json!({ "code": format!("CODE_{i}\u{1b}[31m"), "message": "\u{1b}]0;owned\u{7}".repeat(50) }))
                .collect();
            let body = serde_json::json!({ "errors": errors }).to_string();
            respond(404, &[("Content-Type", "application/json")], body.as_bytes())
        }),
        fails(&["404", reference]),
    ));
    cases.push(Case::new(
        "404 with a hundred errors",
        at(&manifest, |_| {
            let errors: Vec<Value> = (0..100)
                .map(|i| serde_json::json!({ "code": format!("MANIFEST_UNKNOWN_{i}"), "message": "m".repeat(100) }))
                .collect();
            let body = serde_json::json!({ "errors": errors }).to_string();
            respond(404, &[("Content-Type", "application/json")], body.as_bytes())
        }),
        fails(&["404", reference, "MANIFEST_UNKNOWN_0", "(and 97 more)"]),
    ));

    // Response heads out of proportion.
    cases.push(Case::new(
        "a 1 MB response header",
        at(&manifest, |_| {
            let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Big: ".to_vec();
            head.extend(std::iter::repeat_n(b'a', 1 << 20));
            head.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\n{}");
            Action::Raw(head)
        }),
        fails(&[reference, "header"]),
    ));
    cases.push(
        Case::new(
            "a response header that never ends",
            at(&manifest, |_| Action::EndlessHeader),
            fails(&[reference, "header"]),
        )
        .max_rss_mib(120),
    );

    run_table(cases, &registry);
    drop(endpoints);
}

/// A registry with the fixture pushed as `private/layers:gzip`, behind Bearer tokens from
/// the test's token issuer.
fn token_registry_with_fixture() -> Option<TestRegistry> {
    let registry = TestRegistry::start_with(RegistryAuth::Token)?;
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "private/layers:gzip",
        false,
    );
    Some(registry)
}

/// No password, `auth` value, identity token or issued token reaches stdout or stderr,
/// whether the pull works or fails after the credentials were used (every case of the
/// table above checks the same against the Basic registry, under `RUST_LOG=trace`).
#[test]
fn credentials_never_reach_the_output() {
    if !common::has_tool("skopeo") || !common::has_tool("openssl") {
        return;
    }
    let Some(registry) = token_registry_with_fixture() else {
        return;
    };
    let fixture = Fixture::read();
    let layer = blob_path(&fixture.layers[0]);
    let layer_digest = fixture.layers[0].as_str();
    let challenge = format!(
        "Bearer realm=\"{}\",service=\"{}\",scope=\"repository:private/layers:pull\"",
        registry.issuer.as_ref().unwrap().realm(),
        common::token::TEST_SERVICE.name
    );
    let reference = "private/layers/manifests/gzip";
    let cases = vec![
        Case::new(
            "bearer: a token for a password",
            always(|| Action::Forward),
            Expect::Report,
        ),
        Case::new(
            "bearer: a token for an identity token",
            always(|| Action::Forward),
            Expect::Report,
        )
        .stored(Stored::IdentityToken),
        Case::new(
            "bearer: a wrong password",
            always(|| Action::Forward),
            fails(&["401", "refused", reference]),
        )
        .stored(Stored::WrongPassword),
        Case::new(
            "bearer: 403 on a layer after the token",
            at(&layer, |_| registry_error(403, "DENIED", "access denied")),
            fails(&["403", layer_digest]),
        ),
        Case::new(
            "bearer: the token is refused on a layer",
            at(&layer, move |_| unauthorized(&challenge)),
            fails(&["401", layer_digest]),
        ),
        Case::new(
            "bearer: 502 for good on a layer after the token",
            at(&layer, |_| Action::status(502, &[])),
            fails(&["502", layer_digest]),
        ),
    ];
    run_table(cases, &registry);
    assert!(
        !registry.issuer.as_ref().unwrap().issued().is_empty(),
        "tokens were issued (and checked)"
    );
}

/// A reference that carries the password before its host is refused with a message
/// that does not show it (or would work without showing it).
#[test]
fn a_password_in_the_reference_is_never_shown() {
    if !common::has_tool("skopeo") {
        return;
    }
    let Some(registry) = registry_with_fixture() else {
        return;
    };
    let nobody = tempfile::tempdir().unwrap();
    let user_pass = format!("{}:{}", registry::USERNAME, registry::PASSWORD);
    for image in [
        format!("{user_pass}@{}/private/layers:gzip", registry.host()),
        format!("{user_pass}@{}/private/layers", registry.host()),
        format!("https://{user_pass}@{}/private/layers:gzip", registry.host()),
        format!(
            "{user_pass}@{}/private/layers@{}",
            registry.host(),
            "sha256:".to_owned() + &"0".repeat(64)
        ),
    ] {
        let out = registry::report_with_config(&image, nobody.path(), &[]);
        let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        for secret in registry::secrets() {
            assert!(
                !shown.contains(&secret),
                "the password was shown: {}",
                shown.replace(&secret, "<the secret>")
            );
        }
        match out.status.code() {
            Some(0) => {}
            Some(2) => assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out)),
            other => panic!("exit {other:?}: {}", stderr(&out)),
        }
    }
}
