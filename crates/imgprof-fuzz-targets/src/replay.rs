//! Replaying saved fuzz inputs without libFuzzer: the committed seeds of
//! `fuzz/corpus/TARGET`, the crashing inputs a run left in `fuzz/artifacts/TARGET`, and,
//! when `IMGPROF_FUZZ_REPLAY_GENERATED=1`, what a local run added to
//! `fuzz/generated/TARGET/corpus` (git-ignored, often thousands of inputs).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Body;

/// `fuzz/` of the checkout this crate was built from.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The committed seeds: `fuzz/corpus`.
pub fn corpus_dir() -> PathBuf {
    fuzz_dir().join("corpus")
}

/// The directories whose files are `target`'s saved inputs, whether they exist or not.
pub fn input_dirs(target: &str) -> Vec<PathBuf> {
    let fuzz = fuzz_dir();
    let mut dirs = vec![corpus_dir().join(target), fuzz.join("artifacts").join(target)];
    if std::env::var("IMGPROF_FUZZ_REPLAY_GENERATED").as_deref() == Ok("1") {
        dirs.push(fuzz.join("generated").join(target).join("corpus"));
    }
    dirs
}

/// Every file directly in `dir`, sorted; none when it does not exist.
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        // libFuzzer's own bookkeeping is not an input.
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_file() && !hidden {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// What replaying one target's inputs found.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Inputs run, by directory they came from.
    pub inputs: Vec<PathBuf>,
    /// Inputs whose run panicked, with the panic's message.
    pub panics: Vec<(PathBuf, String)>,
    pub elapsed: Duration,
    /// The slowest input and how long it took.
    pub slowest: Option<(PathBuf, Duration)>,
}

/// Runs `body` on every saved input of `target`, catching panics so every input runs and
/// each panic is reported with the file that caused it.
pub fn replay(target: &str, body: Body) -> std::io::Result<Replayed> {
    replay_dirs(&input_dirs(target), body)
}

/// Runs `body` on every file of `dirs` (a missing directory holds none).
pub fn replay_dirs(dirs: &[PathBuf], body: Body) -> std::io::Result<Replayed> {
    let mut replayed = Replayed::default();
    let started = Instant::now();
    for dir in dirs {
        for path in files_in(dir)? {
            let data = std::fs::read(&path)?;
            let one = Instant::now();
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "(a panic without a message)".to_owned());
                replayed.panics.push((path.clone(), message));
            }
            let took = one.elapsed();
            if replayed.slowest.as_ref().is_none_or(|(_, t)| took > *t) {
                replayed.slowest = Some((path.clone(), took));
            }
            replayed.inputs.push(path);
        }
    }
    replayed.elapsed = started.elapsed();
    Ok(replayed)
}

/// The `[[bin]]` names of `fuzz/Cargo.toml`: the targets cargo-fuzz builds.
pub fn declared_targets() -> std::io::Result<Vec<String>> {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml"))?;
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(value) = line.strip_prefix("name") {
            let value = value.trim_start().trim_start_matches('=').trim().trim_matches('"');
            names.push(value.to_owned());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panicking input is caught, named and counted, and the inputs after it still run.
    #[test]
    fn panics_are_caught_and_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, content) in [
            ("a-fine", &b"ok"[..]),
            ("b-bad", b"boom"),
            ("c-fine", b"ok"),
            (".state", b"boom"),
        ] {
            std::fs::write(dir.path().join(name), content).expect("writing an input");
        }
        let dirs = [dir.path().to_path_buf(), dir.path().join("missing")];
        let replayed = replay_dirs(&dirs, |data| assert!(data != b"boom", "went boom")).expect("readable");
        assert_eq!(
            replayed.inputs.len(),
            3,
            "hidden files are not inputs: {:?}",
            replayed.inputs
        );
        assert_eq!(replayed.panics.len(), 1);
        assert_eq!(replayed.panics[0].0, dir.path().join("b-bad"));
        assert!(replayed.panics[0].1.contains("went boom"), "{}", replayed.panics[0].1);
    }
}
