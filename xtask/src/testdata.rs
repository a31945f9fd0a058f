//! `cargo xtask testdata`: the small committed fixtures under `testdata/`, all written
//! by this code so they can be regenerated and reviewed. Every fixture is a valid image
//! except those under `testdata/bad/`, which are broken on purpose, one fault each.
//!
//! The `layers` image is the reference fixture; its figures are worked out by hand in
//! `crates/imgprof/tests/integration/fixtures.rs` from the description below.

use std::fs;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::image_writer::*;

pub fn generate(root: &Path) -> Result<()> {
    let fixtures = root.join("testdata/fixtures");
    let bad = root.join("testdata/bad");
    let sample = root.join("testdata/sample");
    for dir in [&fixtures, &bad, &sample] {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        fs::create_dir_all(dir)?;
    }

    let uncompressed = layers_image([Compression::None; 4]).build()?;
    docker_archive_classic(&uncompressed, "layers:classic")?.write_tar(&fixtures.join("layers-classic.tar"))?;
    docker_archive_25(&uncompressed, "layers:docker25")?.write_tar(&fixtures.join("layers-docker25.tar"))?;
    let gzip = layers_image([
        Compression::Gzip,
        Compression::GzipMultiMember,
        Compression::Gzip,
        Compression::Gzip,
    ])
    .build()?;
    oci_layout(&[(&gzip, "gzip")])?.write_dir(&fixtures.join("layers-gzip.oci"))?;
    oci_layout(&[(&gzip, "gzip")])?.write_tar(&fixtures.join("layers-gzip.oci.tar"))?;
    let zstd = layers_image([
        Compression::Zstd,
        Compression::ZstdMultiFrame,
        Compression::None,
        Compression::Zstd,
    ])
    .build()?;
    oci_layout(&[(&zstd, "zstd")])?.write_dir(&fixtures.join("layers-zstd.oci"))?;

    let amd64 = tiny_image("amd64", None, "amd64").build()?;
    let arm64 = tiny_image("arm64", Some("v8"), "arm64").build()?;
    oci_multi_platform(&[&amd64, &arm64], "multi")?.write_dir(&fixtures.join("multi-platform.oci"))?;
    oci_layout(&[(&amd64, "one"), (&arm64, "two")])?.write_dir(&fixtures.join("two-tags.oci"))?;

    let chown = chown_image(Compression::None).build()?;
    docker_archive_classic(&chown, "chown:latest")?.write_tar(&fixtures.join("chown.docker.tar"))?;
    let chown_gzip = chown_image(Compression::Gzip).build()?;
    oci_layout(&[(&chown_gzip, "chown")])?.write_dir(&fixtures.join("chown-gzip.oci"))?;
    sparse_image()
        .build()
        .and_then(|img| oci_layout(&[(&img, "sparse")]))?
        .write_dir(&fixtures.join("sparse.oci"))?;

    alpine_image()
        .build()
        .and_then(|img| oci_layout(&[(&img, "alpine")]))?
        .write_dir(&fixtures.join("alpine-wheels.oci"))?;

    crate::bad_inputs::write(&bad)?;
    docker_archive_classic(&sample_image().build()?, "sample-app:latest")?.write_tar(&sample.join("sample-app.tar"))?;
    Ok(())
}

/// The reference fixture. Sizes are chosen so every figure can be worked out by hand:
///
/// - layer 0 `ADD rootfs`: etc/os-release 100, usr/bin/tool 1000 (+ hard link
///   usr/bin/tool-link, symlink usr/bin/sh), var/cache/pkg.bin 2000, var/cache/keep.txt 10,
///   opt/data/a.bin 300, opt/data/b.bin 400, a char device and a FIFO.
/// - layer 1 `RUN install`: etc/os-release 120 (overwrites 100), app/main.py 500, a
///   150-character GNU long name (50 bytes), a PAX long name (60 bytes), tmp/build.log 700.
/// - layer 2 `RUN cleanup`: opaque var/cache (hides 2010), whiteouts for tmp/build.log
///   (700) and the directory opt/data (700), a whiteout of a path that never existed, and
///   var/cache/new.txt 5.
/// - layer 3 `COPY app`: app/main.py 520 (overwrites 500), usr/bin/tool 1100 (the old 1000
///   bytes stay visible through the hard link).
fn layers_image(compression: [Compression; 4]) -> ImageSpec {
    let long_dir = format!("app/{}", "long-directory-name/".repeat(7));
    let pax_name = format!("app/pax/{}.txt", "p".repeat(120));
    let layer0 = LayerTar::default()
        .dir("etc")
        .file("etc/os-release", &[b'o'; 100])
        .dir("usr")
        .dir("usr/bin")
        .file_mode("usr/bin/tool", &[b't'; 1000], 0o755)
        .hardlink("usr/bin/tool-link", "usr/bin/tool")
        .symlink("usr/bin/sh", "tool")
        .dir("var")
        .dir("var/cache")
        .file("var/cache/pkg.bin", &[b'p'; 2000])
        .file("var/cache/keep.txt", &[b'k'; 10])
        .dir("opt")
        .dir("opt/data")
        .file("opt/data/a.bin", &[b'a'; 300])
        .file("opt/data/b.bin", &[b'b'; 400])
        .dir("dev")
        .char_device("dev/null", 1, 3)
        .dir("run")
        .fifo("run/fifo")
        .finish();
    let layer1 = LayerTar::default()
        .file("etc/os-release", &[b'O'; 120])
        .dir("app")
        .file("app/main.py", &[b'm'; 500])
        .file(&format!("{long_dir}deep.txt"), &[b'd'; 50])
        .pax_file(&pax_name, &[b'x'; 60])
        .dir("tmp")
        .file("tmp/build.log", &[b'l'; 700])
        .finish();
    let layer2 = LayerTar::default()
        .opaque("var/cache")
        .file("var/cache/new.txt", &[b'n'; 5])
        .whiteout("tmp/build.log")
        .whiteout("opt/data")
        .whiteout("nothere")
        .finish();
    let layer3 = LayerTar::default()
        .file("app/main.py", &[b'M'; 520])
        .file_mode("usr/bin/tool", &[b'T'; 1100], 0o755)
        .finish();
    let instructions = [
        "/bin/sh -c #(nop) ADD file:0c4b0e0ef5d4f3b3ee2e4b7a4c2f0a7d6b3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a in / ",
        "RUN /bin/sh -c apt-get install -y tool # buildkit",
        "RUN /bin/sh -c rm -rf /var/cache/* /tmp/build.log /opt/data # buildkit",
        "COPY app /app # buildkit",
    ];
    ImageSpec {
        architecture: "amd64",
        variant: None,
        layers: [layer0, layer1, layer2, layer3]
            .into_iter()
            .zip(compression)
            .zip(instructions)
            .map(|((tar, compression), created_by)| Layer {
                tar,
                compression,
                created_by: created_by.to_owned(),
            })
            .collect(),
        empty_history: vec![
            EmptyHistory {
                before: 1,
                created_by: "/bin/sh -c #(nop)  CMD [\"bash\"]".to_owned(),
            },
            EmptyHistory {
                before: 4,
                created_by: "CMD [\"/usr/bin/tool\"]".to_owned(),
            },
        ],
        config: json!({"Cmd": ["/usr/bin/tool"], "WorkingDir": "/app"}),
    }
}

/// The `RUN chown -R` pattern: layer 1 copies an app (3000 + 2000 + 1000 bytes, plus the
/// 2000-byte `lib/vendored.py`, identical to `lib/util.py`); layer 2 changes only the
/// owner, so every file ships again with the same content.
fn chown_image(compression: Compression) -> ImageSpec {
    let util = noise(7, 2000);
    let files: [(&str, Vec<u8>); 4] = [
        ("app/main.py", noise(5, 3000)),
        ("app/lib/util.py", util.clone()),
        ("app/lib/vendored.py", util),
        ("app/config.toml", noise(6, 1000)),
    ];
    let mut copy = LayerTar::default().dir("app").dir("app/lib");
    for (path, content) in &files {
        copy = copy.file(path, content);
    }
    let mut chown = LayerTar::default().dir("app").dir("app/lib");
    for (path, content) in &files {
        chown = chown.file_owned(path, content, 1000, 1000);
    }
    let base = LayerTar::default()
        .dir("etc")
        .file("etc/os-release", b"ID=debian\n")
        .finish();
    ImageSpec {
        architecture: "amd64",
        variant: None,
        layers: vec![
            Layer {
                tar: base,
                compression,
                created_by: "/bin/sh -c #(nop) ADD file:3c7d4a0b6e5f in / ".to_owned(),
            },
            Layer {
                tar: copy.finish(),
                compression,
                created_by: "COPY . /app # buildkit".to_owned(),
            },
            Layer {
                tar: chown.finish(),
                compression,
                created_by: "RUN /bin/sh -c chown -R 1000:1000 /app # buildkit".to_owned(),
            },
        ],
        empty_history: vec![EmptyHistory {
            before: 1,
            created_by: "/bin/sh -c #(nop)  CMD [\"bash\"]".to_owned(),
        }],
        config: json!({"WorkingDir": "/app", "User": "1000"}),
    }
}

/// One GNU sparse file: 1 MiB apparent, 2 x 512 bytes of data at 0 and 512 KiB.
fn sparse_image() -> ImageSpec {
    let tar = LayerTar::default()
        .dir("var")
        // GNU tar ends the map with a zero-length chunk at the real size.
        .sparse_file(
            "var/sparse.db",
            1 << 20,
            &[(0, &[b's'; 512]), (512 << 10, &[b'e'; 512]), (1 << 20, &[])],
        )
        .finish();
    ImageSpec {
        architecture: "amd64",
        variant: None,
        layers: vec![Layer {
            tar,
            compression: Compression::Gzip,
            created_by: "COPY sparse.db /var/ # buildkit".to_owned(),
        }],
        empty_history: vec![],
        config: json!({}),
    }
}

/// An Alpine-like image (musl loader, busybox shell, apk database) whose pip install
/// brought a glibc-only manylinux wheel, a wheel compiled on the spot and a pure one, and
/// whose CMD is in shell form.
fn alpine_image() -> ImageSpec {
    let base = LayerTar::default()
        .dir("etc")
        .file(
            "etc/os-release",
            b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n",
        )
        .dir("lib")
        .file("lib/ld-musl-x86_64.so.1", &noise(7, 600))
        .dir("lib/apk")
        .dir("lib/apk/db")
        .file("lib/apk/db/installed", b"P:musl\nV:1.2.5-r0\nA:x86_64\n\n")
        .dir("bin")
        .file_mode("bin/busybox", &noise(8, 900), 0o755)
        .symlink("bin/sh", "/bin/busybox")
        .dir("sbin")
        .file_mode("sbin/apk", &noise(9, 300), 0o755)
        .finish();
    let site = "usr/lib/python3.12/site-packages";
    let wheel = |tag: &str| {
        format!("Wheel-Version: 1.0\nGenerator: bdist_wheel (0.44.0)\nRoot-Is-Purelib: false\nTag: {tag}\n")
    };
    let mut install = LayerTar::default()
        .dir("usr")
        .dir("usr/lib")
        .dir("usr/lib/python3.12")
        .dir(site);
    for (package, tag) in [
        ("numpy-2.1.0", "cp312-cp312-manylinux_2_17_x86_64"),
        ("psycopg2-2.9.9", "cp312-cp312-linux_x86_64"),
        ("six-1.16.0", "py2-none-any"),
    ] {
        let dir = format!("{site}/{package}.dist-info");
        install = install.dir(&dir).file(&format!("{dir}/WHEEL"), wheel(tag).as_bytes());
    }
    ImageSpec {
        architecture: "amd64",
        variant: None,
        layers: vec![
            Layer {
                tar: base,
                compression: Compression::Gzip,
                created_by: "/bin/sh -c #(nop) ADD file:alpine-minirootfs in / ".to_owned(),
            },
            Layer {
                tar: install.finish(),
                compression: Compression::Gzip,
                created_by: "RUN /bin/sh -c pip install -r requirements.txt # buildkit".to_owned(),
            },
        ],
        empty_history: vec![
            EmptyHistory {
                before: 1,
                created_by: "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]".to_owned(),
            },
            EmptyHistory {
                before: 2,
                created_by: "CMD [\"/bin/sh\" \"-c\" \"python app.py\"] # buildkit".to_owned(),
            },
        ],
        config: json!({"Cmd": ["/bin/sh", "-c", "python app.py"]}),
    }
}

fn tiny_image(architecture: &'static str, variant: Option<&'static str>, marker: &str) -> ImageSpec {
    let tar = LayerTar::default()
        .dir("etc")
        .file("etc/arch", marker.as_bytes())
        .finish();
    ImageSpec {
        architecture,
        variant,
        layers: vec![Layer {
            tar,
            compression: Compression::Gzip,
            created_by: format!("COPY arch-{marker} /etc/arch # buildkit"),
        }],
        empty_history: vec![],
        config: json!({}),
    }
}

/// The README's sample: a small Python web service image in the shape of the bloated
/// tutorial Dockerfile (a full base with compilers, apt lists left behind, the build
/// context copied whole, a pip cache, a model deleted in a later layer). File contents
/// are filler; names and sizes are what matter to the report.
fn sample_image() -> ImageSpec {
    let mut seed = 0;
    let mut next = |len: usize| {
        seed += 1;
        noise(seed, len)
    };
    let mut base = LayerTar::default()
        .dir("etc")
        .file(
            "etc/os-release",
            b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        )
        .dir("bin")
        .file_mode("bin/bash", &next(120_000), 0o755)
        .symlink("bin/sh", "bash")
        .dir("usr")
        .dir("usr/lib")
        .dir("usr/lib/x86_64-linux-gnu")
        .file("usr/lib/x86_64-linux-gnu/libc.so.6", &next(190_000))
        .dir("usr/share")
        .dir("usr/share/doc");
    for pkg in ["bash", "coreutils", "libc6", "dpkg", "apt"] {
        base = base
            .dir(&format!("usr/share/doc/{pkg}"))
            .file(&format!("usr/share/doc/{pkg}/copyright"), &next(3_000));
    }
    let base = base.finish();

    let mut apt = LayerTar::default()
        .dir("usr/bin")
        .file_mode("usr/bin/python3.11", &next(260_000), 0o755)
        .symlink("usr/bin/python3", "python3.11")
        .file_mode("usr/bin/gcc-12", &next(40_000), 0o755)
        .dir("usr/lib/gcc")
        .dir("usr/lib/gcc/x86_64-linux-gnu")
        .dir("usr/lib/gcc/x86_64-linux-gnu/12")
        .file_mode("usr/lib/gcc/x86_64-linux-gnu/12/cc1", &next(420_000), 0o755)
        .dir("usr/include")
        .dir("usr/include/python3.11");
    for h in ["Python.h", "object.h", "abstract.h", "longobject.h"] {
        apt = apt.file(&format!("usr/include/python3.11/{h}"), &next(9_000));
    }
    apt = apt.file("usr/include/stdio.h", &next(12_000)).dir("usr/lib/python3.11");
    for m in ["os.py", "json/__init__.py", "asyncio/base_events.py", "typing.py"] {
        apt = apt.file(&format!("usr/lib/python3.11/{m}"), &next(18_000));
    }
    apt = apt.dir("var/lib/apt/lists");
    for list in [
        "mirror.example_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
        "mirror.example_debian_dists_bookworm_InRelease",
    ] {
        apt = apt.file(&format!("var/lib/apt/lists/{list}"), &next(150_000));
    }
    apt = apt.dir("var/cache/apt/archives");
    for deb in ["gcc-12_12.2.0-14_amd64.deb", "python3.11_3.11.2-6_amd64.deb"] {
        apt = apt.file(&format!("var/cache/apt/archives/{deb}"), &next(110_000));
    }
    let apt = apt.finish();

    let app = LayerTar::default()
        .dir("app")
        .file("app/main.py", b"from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/\")\ndef root():\n    return {\"hello\": \"world\"}\n")
        .file("app/requirements.txt", b"fastapi\nuvicorn[standard]\n")
        .file("app/.env", b"DATABASE_URL=postgres://app:notarealpassword@db/app\n")
        .dir("app/.git")
        .file("app/.git/HEAD", b"ref: refs/heads/main\n")
        .file("app/.git/objects/pack/pack-1.pack", &next(140_000))
        .dir("app/tests")
        .file("app/tests/test_main.py", &next(2_000))
        .dir("app/models")
        .file("app/models/model.safetensors", &next(600_000))
        .finish();

    let mut pip = LayerTar::default().dir("usr/local/lib/python3.11/site-packages");
    for (pkg, size) in [
        ("fastapi", 90_000),
        ("pydantic", 160_000),
        ("starlette", 60_000),
        ("uvicorn", 50_000),
    ] {
        let dir = format!("usr/local/lib/python3.11/site-packages/{pkg}");
        pip = pip
            .file(&format!("{dir}/__init__.py"), &next(size))
            .file(&format!("{dir}/__pycache__/__init__.cpython-311.pyc"), &next(size / 2));
    }
    pip = pip
        .file(
            "usr/local/lib/python3.11/site-packages/pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so",
            &next(300_000),
        )
        .dir("root/.cache/pip/http-v2")
        .file("root/.cache/pip/http-v2/a/b/c/abc123.body", &next(250_000))
        .file("root/.cache/pip/http-v2/d/e/f/def456.body", &next(120_000));
    let pip = pip.finish();

    let cleanup = LayerTar::default()
        .whiteout("app/models")
        .whiteout("app/tests")
        .finish();

    let layers = [
        (
            base,
            "/bin/sh -c #(nop) ADD file:8b1e79f91081eb527a1f5ab2d8bdc7a2e1d6b3f4b5a6978877665544332211ff in / ",
        ),
        (
            apt,
            "RUN /bin/sh -c apt-get update && apt-get install -y python3 python3-pip build-essential python3-dev # buildkit",
        ),
        (app, "COPY . . # buildkit"),
        (
            pip,
            "RUN /bin/sh -c pip install --break-system-packages -r requirements.txt # buildkit",
        ),
        (cleanup, "RUN /bin/sh -c rm -rf models tests # buildkit"),
    ];
    ImageSpec {
        architecture: "amd64",
        variant: None,
        layers: layers
            .into_iter()
            .map(|(tar, created_by)| Layer {
                tar,
                compression: Compression::None,
                created_by: created_by.to_owned(),
            })
            .collect(),
        empty_history: vec![
            EmptyHistory {
                before: 1,
                created_by: "/bin/sh -c #(nop)  CMD [\"bash\"]".to_owned(),
            },
            EmptyHistory {
                before: 2,
                created_by: "WORKDIR /app".to_owned(),
            },
            EmptyHistory {
                before: 5,
                created_by: "EXPOSE map[8000/tcp:{}]".to_owned(),
            },
            EmptyHistory {
                before: 5,
                created_by: "CMD [\"uvicorn\" \"main:app\" \"--host\" \"0.0.0.0\"] # buildkit".to_owned(),
            },
        ],
        config: json!({
            "Cmd": ["uvicorn", "main:app", "--host", "0.0.0.0"],
            "WorkingDir": "/app",
            "ExposedPorts": {"8000/tcp": {}},
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        }),
    }
}
