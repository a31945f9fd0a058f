//! Project automation: `cargo xtask <task>`. See `cargo xtask help`.

mod bad_inputs;
mod base_images;
mod bench;
mod builders;
mod ci;
mod dist;
mod e2e;
mod floor;
mod fuzz;
mod image_writer;
mod install_paths;
mod large_image;
mod real_images;
mod registry;
mod synthetic;
mod testdata;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

const HELP: &str = "\
cargo xtask <task>

tasks:
  bench         imgprof vs dive on the same images, then the inspect view's keystrokes on a
                tree of a million entries; writes docs/benchmarks.md
  bench keys    only the inspect view's keystrokes (updates their section of docs/benchmarks.md)
  floor [--single-stream|--parallel] INPUT
                the least work of a verifying read, no analysis (for bench): of an OCI
                layout, every layer hashed, decompressed and hashed again; of a docker-archive,
                every layer hashed; layers in parallel. --single-stream: the layout's largest
                layer on one thread; --parallel: each layer's three steps on three threads
  builders up|down|status|env
                the builder test world: dockerd (BuildKit and classic builder), buildah and
                podman with all storage under $IMGPROF_BUILDERS_DIR (default
                ~/.cache/imgprof-testdata/builders); `up` also builds (or takes from the
                cache) the base images debian, python:3.11, node:18 (and -slim) and loads them
  ci            install the test tools if missing, then fmt --check, clippy and all tests
  dist          the release archive of this machine's target (binary, completions, man pages)
                and its SHA256SUMS, in target/dist
  install-paths cargo install --path and --git, the root Dockerfile (BuildKit, in the builder
                world), the dist archive and action.yml, each run as a user runs it (part of e2e)
  docs          regenerate what docs/ holds from the code (the findings of docs/rules.md,
                the report's JSON Schema); the tests `generated_docs_*` fail until this ran
  e2e [--fixture NAME]... [--builder buildkit|classic|buildah]...
                build each fixture app of xtask/e2e/apps naively with each builder, run
                imgprof report/suggest on it, build the suggestion with BuildKit and buildah,
                run it, check it serves and matches the projection; writes docs/e2e.md
                (full runs only); exits non-zero if any check failed
  fuzz [TARGET] [--minutes N]
                run the cargo-fuzz targets in fuzz/ one after another, N minutes each
                (default 10; needs nightly and cargo-fuzz); reports executions and crashes
  large-image   build (or reuse from the cache) the large image of real content: Debian,
                python and numpy, scipy, pandas, scikit-learn, torch with its CUDA wheels
  million-files write (or find in the cache) the docker-archive with a 1,000,000-file layer
  real-images   build (or reuse from the cache) the realistic naive and slim images
  testdata      regenerate the committed fixtures under testdata/
";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_else(|| "help".to_owned());
    match task.as_str() {
        "bench" if args.next().as_deref() == Some("keys") => bench::keystrokes(&project_root()),
        "bench" => bench::bench(),
        "builders" => builders::builders(args),
        "ci" => ci::ci(),
        // The generating tests write the files when UPDATE_DOCS is set (as rust-analyzer's
        // sourcegen does), so the generators live beside the types they document.
        "docs" => run(Command::new("cargo")
            .current_dir(project_root())
            .env("UPDATE_DOCS", "1")
            .args(["test", "--workspace", "--lib", "--", "generated_docs_"])),
        "dist" => dist::dist().map(drop),
        "install-paths" => {
            let world = builders::World::from_env();
            world.up()?;
            base_images::load(&world)?;
            let scratch = world.scratch();
            for (label, took) in install_paths::check(&world, &scratch)? {
                println!("{label}: {:.1} s", took.as_secs_f64());
            }
            Ok(())
        }
        "e2e" => e2e::e2e(args),
        "floor" => {
            let usage = "usage: cargo xtask floor [--single-stream|--parallel] OCI_LAYOUT|DOCKER_ARCHIVE";
            let mut input = args.next().context(usage)?;
            let mode = match input.as_str() {
                "--single-stream" => floor::Mode::SingleStream,
                "--parallel" => floor::Mode::Parallel,
                _ => floor::Mode::Layers,
            };
            if mode != floor::Mode::Layers {
                input = args.next().context(usage)?;
            }
            floor::floor(std::path::Path::new(&input), mode)
        }
        "fuzz" => fuzz::fuzz(&project_root(), args),
        "large-image" => large_image::large_image().map(drop),
        "million-files" => synthetic::million_files_archive().map(|p| println!("{}", p.display())),
        "real-images" => real_images::real_images().map(drop),
        "testdata" => testdata::generate(&project_root()),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown task {other:?}\n\n{HELP}"),
    }
}

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Builds the release binary (`cargo build --release --locked -p imgprof`); returns its path.
pub fn release_binary() -> Result<PathBuf> {
    run(Command::new("cargo")
        .args(["build", "--release", "--locked", "--quiet", "-p", "imgprof"])
        .current_dir(project_root()))?;
    Ok(target_dir().join("release/imgprof"))
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}

/// Runs a command, failing with its command line when it does not succeed.
pub fn run(command: &mut Command) -> Result<()> {
    let line = format!("{command:?}");
    let status = command.status().with_context(|| format!("cannot start {line}"))?;
    if !status.success() {
        bail!("{line} failed with {status}");
    }
    Ok(())
}
