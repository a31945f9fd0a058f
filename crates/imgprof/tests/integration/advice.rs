//! From findings to a better Dockerfile, on the realistic images of `cargo xtask
//! real-images`: the layer-order finding, the base's identity, pull-time figures, and
//! the Dockerfile `imgprof suggest` writes (runtime stage with libpq5, no compiler, a
//! venv); on the slim image no such finding and no change suggested.

use crate::common::{imgprof, real_images_dir, report_json, testdata};
use serde_json::Value;

fn finding<'r>(report: &'r Value, id: &str) -> Option<&'r Value> {
    report["findings"].as_array().unwrap().iter().find(|f| f["id"] == id)
}

fn suggest(args: &[&str]) -> String {
    let mut all = vec!["suggest"];
    all.extend_from_slice(args);
    let out = imgprof(&all);
    assert!(
        out.status.success(),
        "suggest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of the stage that starts with the last `FROM` (comments dropped).
fn final_stage(dockerfile: &str) -> Vec<&str> {
    let lines: Vec<&str> = dockerfile
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let start = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    lines[start..].to_vec()
}

#[test]
fn naive_image_gets_the_layer_order_base_and_pull_cost_advice() {
    let Some(images) = real_images_dir() else { return };
    let archive = images.join("naive.tar").display().to_string();
    let report = report_json(&archive);

    // Its Dockerfile copies the app (`COPY . .`, layer 2) before the uv install (layer 3).
    let order = finding(&report, "IMG018").expect("the layer-order finding");
    assert_eq!(order["layer"], 3);
    assert!(order["title"].as_str().unwrap().contains("COPY . ."));
    let fix = order["fix"].as_str().unwrap();
    let copy_first = fix
        .find("COPY requirements.txt")
        .expect("copies the requirements first");
    let install = fix.find("uv pip install").unwrap();
    let code = fix.rfind("COPY . .").unwrap();
    assert!(copy_first < install && install < code, "{fix}");
    let install_bytes: u64 = [3, 4]
        .iter()
        .map(|&i| report["layers"][i]["content_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(
        order["bytes"], install_bytes,
        "the bytes rebuilt on every code change: layers 3 and 4"
    );

    // The base: full Debian, with compilers installed above it.
    let identity = &report["base_image"]["identity"];
    assert_eq!(identity["distro"], "debian");
    assert_eq!(identity["variant"], "full");
    assert_eq!(identity["libc"], "glibc");
    assert_eq!(identity["package_manager"], "apt");
    let compilers: Vec<&str> = identity["compilers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        compilers.contains(&"gcc-12") && compilers.contains(&"g++-12"),
        "{compilers:?}"
    );
    assert!(
        identity["compilers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["in_base"] == false)
    );
    assert!(
        identity["summary"]
            .as_str()
            .unwrap()
            .starts_with("full Debian 12 (bookworm)")
    );

    // Pull time: bytes x 8 / link speed, for the image now and as projected.
    let pull = &report["pull"];
    let compressed = report["image"]["compressed_bytes"].as_u64().unwrap();
    assert_eq!(pull["compressed_bytes"], compressed);
    let projection = &report["projection"];
    let projected = (compressed as u128 * projection["projected_bytes"].as_u64().unwrap() as u128
        / projection["shipped_bytes"].as_u64().unwrap() as u128) as u64;
    assert_eq!(pull["projected_compressed_bytes"], projected);
    for link in pull["links"].as_array().unwrap() {
        let bits = link["bits_per_second"].as_f64().unwrap();
        let seconds = link["seconds"].as_f64().unwrap();
        assert!((seconds - compressed as f64 * 8.0 / bits).abs() < 1e-6);
        assert!(link["projected_seconds"].as_f64().unwrap() < seconds);
    }
    let gigabit = &pull["links"][2];
    eprintln!(
        "naive: pull {:.1} s -> {:.1} s at {}",
        gigabit["seconds"].as_f64().unwrap(),
        gigabit["projected_seconds"].as_f64().unwrap(),
        gigabit["link"]
    );

    // Recommended-only packages: the slim image installed python3 and libpq5 without
    // recommends, so every package it has is a dependency; none may be called
    // recommended-only here, nor may anything the Dockerfile asked for.
    let recommends = finding(&report, "IMG021").expect("apt-get install without --no-install-recommends");
    let why = recommends["why"].as_str().unwrap();
    let listed: Vec<&str> = why
        .split(": ")
        .nth(1)
        .unwrap()
        .trim_end_matches('.')
        .split(", ")
        .map(|n| n.split(" and ").next().unwrap())
        .collect();
    let slim = report_json(&images.join("slim.tar").display().to_string());
    let slim_packages: Vec<&str> = slim["packages"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["manager"] == "dpkg")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(listed.len() >= 12, "{why}");
    for name in &listed {
        assert!(
            !slim_packages.contains(name),
            "{name} is a dependency in the slim image"
        );
        assert!(
            !["python3", "curl", "git", "vim", "build-essential"].contains(name),
            "{name} was asked for"
        );
    }
    assert!(recommends["saves_bytes"].as_u64().unwrap() > 0);
    eprintln!("naive: {} ({} B)", recommends["title"], recommends["saves_bytes"]);

    // Runtime hygiene: no USER, exec-form CMD, the port.
    assert!(finding(&report, "IMG013").is_some());
    assert!(finding(&report, "IMG020").is_none(), "the CMD is in exec form");
    assert_eq!(report["runtime"]["exposed_ports"][0], "8000/tcp");
    let text = String::from_utf8(imgprof(&["report", &archive]).stdout).unwrap();
    assert!(
        text.contains("pull time") && text.contains("at 1 Gbit/s"),
        "the table shows pull times"
    );
}

#[test]
fn naive_image_gets_a_multi_stage_dockerfile() {
    let Some(images) = real_images_dir() else { return };
    let archive = images.join("naive.tar").display().to_string();
    let dockerfile = suggest(&[&archive]);
    let runtime = final_stage(&dockerfile);
    assert_eq!(runtime[0], "FROM debian:bookworm-slim");
    let apt = runtime
        .iter()
        .find(|l| l.contains("apt-get install"))
        .expect("a runtime apt line");
    let packages: Vec<&str> = apt.split_whitespace().collect();
    assert!(packages.contains(&"libpq5"), "the runtime library of libpq-dev: {apt}");
    assert!(apt.contains("--no-install-recommends") && apt.ends_with("rm -rf /var/lib/apt/lists/*"));
    for build_only in ["libpq-dev", "build-essential", "gcc", "python3-dev", "git"] {
        assert!(
            !packages.contains(&build_only),
            "{build_only} in the runtime stage: {apt}"
        );
    }
    assert!(
        runtime.contains(&"COPY --from=builder /opt/venv /opt/venv"),
        "{dockerfile}"
    );
    assert!(runtime.contains(&"ENV PATH=/opt/venv/bin:$PATH"));
    assert!(runtime.contains(&"COPY --chown=app:app . ."));
    assert!(runtime.contains(&"USER app"));
    assert!(
        !runtime.iter().any(|l| l.starts_with("RUN rm ")),
        "the delete step is gone"
    );
    assert!(
        !runtime.iter().any(|l| l.contains("pip install")),
        "installs happen in the builder"
    );

    // The builder: the build dependencies the image installed, requirements before code.
    let builder_start = dockerfile.find("AS builder").expect("a builder stage");
    let builder = &dockerfile[builder_start..dockerfile.rfind("FROM debian:bookworm-slim\n").unwrap()];
    for package in ["build-essential", "python3-dev", "libpq-dev", "python3-venv"] {
        assert!(builder.contains(package), "{package} in the builder: {builder}");
    }
    assert!(builder.contains("COPY requirements.txt ./"));
    // The venv is made with the image's own interpreter, by its path: the runtime's
    // python3 package has the same one, so the venv's `python` link resolves there.
    assert!(
        builder.contains(
            "RUN /usr/bin/python3.11 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt"
        ),
        "{builder}"
    );

    // Every instruction that answers a finding says which, with the bytes.
    assert!(dockerfile.contains("# IMG001, IMG002 (saves "), "{dockerfile}");
    assert!(dockerfile.contains("# IMG014 (saves "));

    // The projection is the rebuild model the Dockerfile was written from: the sum of
    // its parts, with libpq5 there because psycopg2's module links libpq.so.5.
    let naive = report_json(&archive);
    let rebuild = &naive["projection"]["rebuild"];
    let parts: u64 = rebuild["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(naive["projection"]["projected_bytes"].as_u64().unwrap(), parts);
    let linked = &rebuild["linked_libraries"][0];
    assert_eq!(
        (&linked["soname"], &linked["package"]),
        (&"libpq.so.5".into(), &"libpq5".into())
    );
    assert!(
        linked["module"].as_str().unwrap().contains("/psycopg2/_psycopg"),
        "{linked}"
    );
    for package in rebuild["runtime_packages"].as_array().unwrap() {
        assert!(
            packages.contains(&package.as_str().unwrap()),
            "{package} in the runtime apt line: {apt}"
        );
    }

    // The slim image is built the way the suggestion reads (slim base, builder venv,
    // python3 and libpq5 at run time; the suggestion also keeps the naive image's curl
    // and vim): it ships less than the projection, which has curl and vim too.
    let slim = report_json(&images.join("slim.tar").display().to_string());
    let projected = naive["projection"]["projected_bytes"].as_u64().unwrap();
    let built = slim["image"]["shipped_bytes"].as_u64().unwrap();
    eprintln!("naive projected {projected} B; the slim build ships {built} B");
    assert!(
        built <= projected,
        "the projection is conservative: {built} > {projected}"
    );

    let ignore = suggest(&["--dockerignore", &archive]);
    let entries: Vec<&str> = ignore.lines().filter(|l| !l.starts_with('#')).collect();
    for wanted in [".git", ".env", "tests", "models/model.safetensors"] {
        assert!(entries.contains(&wanted), "{wanted} in .dockerignore: {ignore}");
    }

    // With the Dockerfile it was built from: a diff that takes out what the findings say.
    let diff = suggest(&[
        "--dockerfile",
        &images.join("naive.Dockerfile").display().to_string(),
        &archive,
    ]);
    assert!(diff.starts_with("--- Dockerfile\n+++ Dockerfile (suggested)\n"));
    assert!(diff.contains("\n-FROM debian:bookworm\n") && diff.contains("\n+FROM debian:bookworm-slim\n"));
    assert!(diff.contains("\n-COPY . .\n") && diff.contains("\n+COPY --chown=app:app . .\n"));
    assert!(diff.contains("\n EXPOSE 8000\n"), "unchanged lines stay: {diff}");
}

#[test]
fn slim_image_needs_no_rewrite() {
    let Some(images) = real_images_dir() else { return };
    let archive = images.join("slim.tar").display().to_string();
    let report = report_json(&archive);
    for id in ["IMG018", "IMG014", "IMG013", "IMG020", "IMG021"] {
        assert!(finding(&report, id).is_none(), "{id} on the slim image");
    }
    let identity = &report["base_image"]["identity"];
    assert_eq!(identity["variant"], "slim");
    assert_eq!(identity["compilers"].as_array().unwrap().len(), 0);
    assert_eq!(report["runtime"]["user"], "app");

    // Already multi-stage on a slim base, non-root: `suggest` says there is nothing to
    // change (history alone would lose its builder stage), with no instruction at all,
    // and a diff of its own Dockerfile is empty.
    let suggested = suggest(&[&archive]);
    assert!(
        suggested.lines().all(|l| l.is_empty() || l.starts_with('#')),
        "{suggested}"
    );
    assert!(suggested.contains("suggests no change"), "{suggested}");
    assert!(suggested.contains("as user app"), "{suggested}");
    assert!(report["projection"].get("rebuild").is_none());
    let dockerfile = images.join("slim.Dockerfile").display().to_string();
    let diff = suggest(&["--dockerfile", &dockerfile, &archive]);
    assert!(diff.contains("suggests no change"), "{diff}");
    assert!(
        !diff.lines().any(|l| l.starts_with('+') || l.starts_with('-')),
        "{diff}"
    );
    let full = suggest(&["--dockerfile", &dockerfile, "--full", &archive]);
    assert_eq!(full, std::fs::read_to_string(images.join("slim.Dockerfile")).unwrap());
}

#[test]
fn sample_image_suggestion_is_a_valid_dockerfile_shape() {
    // The small sample shipped in the repository: every stage starts with FROM, and
    // every comment line is followed by an instruction or another comment.
    let dockerfile = suggest(&[&testdata("sample/sample-app.tar")]);
    let lines: Vec<&str> = dockerfile.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("FROM ")), "{dockerfile}");
    for pair in lines.windows(2) {
        if pair[0].starts_with("# ") && !pair[0].starts_with("# ---") && !pair[0].starts_with("# Suggested") {
            assert!(
                !pair[1].is_empty(),
                "a comment stands above an instruction: {dockerfile}"
            );
        }
    }
}

#[test]
fn an_alpine_image_is_told_apart_and_its_glibc_wheels_flagged() {
    let report = report_json(&testdata("fixtures/alpine-wheels.oci"));
    let identity = &report["base_image"]["identity"];
    assert_eq!(identity["distro"], "alpine");
    assert_eq!(identity["variant"], "alpine");
    assert_eq!(identity["libc"], "musl");
    assert_eq!(identity["shell"], true, "bin/sh -> busybox");
    assert_eq!(identity["package_manager"], "apk");
    assert_eq!(identity["glibc_wheels"], serde_json::json!(["numpy"]));
    assert_eq!(identity["source_built_wheels"], serde_json::json!(["psycopg2"]));
    assert_eq!(
        identity["compiled_wheels"],
        serde_json::json!(["numpy", "psycopg2"]),
        "six is pure"
    );

    // busybox has adduser, not shadow's useradd.
    let root = finding(&report, "IMG013").expect("no USER");
    let fix = root["fix"].as_str().unwrap();
    assert!(fix.contains("RUN adduser -D") && !fix.contains("useradd"), "{fix}");

    let wheels = finding(&report, "IMG019").expect("the musl wheel finding");
    assert_eq!(wheels["severity"], "error", "a manylinux wheel cannot load on musl");
    assert!(wheels["why"].as_str().unwrap().contains("numpy"));
    let shell = finding(&report, "IMG020").expect("the shell-form CMD finding");
    assert!(
        shell["fix"]
            .as_str()
            .unwrap()
            .starts_with("CMD [\"python\", \"app.py\"]")
    );
    assert!(finding(&report, "IMG018").is_none(), "no broad COPY before the install");
}

/// `# syntax=` makes BuildKit fetch a frontend from Docker Hub: the suggestion writes it
/// only when one of its lines needs it (a user's `RUN --mount` kept), as the first line.
#[test]
fn the_syntax_directive_only_where_a_line_needs_it() {
    let sample = testdata("sample/sample-app.tar");
    let plain = suggest(&[&sample]);
    assert!(!plain.contains("# syntax="), "{plain}");
    let dir = tempfile::tempdir().unwrap();
    let dockerfile = dir.path().join("Dockerfile");
    std::fs::write(
        &dockerfile,
        "FROM debian:bookworm\nWORKDIR /app\nCOPY . .\nRUN --mount=type=cache,target=/var/cache/build make\nCMD [\"./app\"]\n",
    )
    .unwrap();
    let kept = suggest(&["--dockerfile", &dockerfile.display().to_string(), "--full", &sample]);
    assert!(kept.starts_with("# syntax=docker/dockerfile:1\n"), "{kept}");
    assert!(
        kept.contains("RUN --mount=type=cache,target=/var/cache/build make"),
        "{kept}"
    );
}
