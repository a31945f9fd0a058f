//! Every saved fuzz input (seeds in `fuzz/corpus/TARGET`, crashes in
//! `fuzz/artifacts/TARGET`) run through its target's body on every `cargo test
//! --workspace`, without nightly or cargo-fuzz. An input that panics fails its target's
//! test, naming the file; a target with no seeds fails too, since a replay of nothing
//! checks nothing.

use std::collections::BTreeSet;

use imgprof_fuzz_targets::TARGETS;
use imgprof_fuzz_targets::replay::{corpus_dir, declared_targets, files_in, fuzz_dir, replay};

fn body(target: &str) -> imgprof_fuzz_targets::Body {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, body)| *body)
        .unwrap_or_else(|| panic!("{target} is not in imgprof_fuzz_targets::TARGETS"))
}

fn replay_target(target: &str) {
    let seeds = files_in(&corpus_dir().join(target)).expect("readable corpus");
    assert!(
        !seeds.is_empty(),
        "{target}: no seeds in {}; a replay of nothing tests nothing",
        corpus_dir().join(target).display()
    );
    let replayed = replay(target, body(target)).expect("readable inputs");
    assert!(replayed.inputs.len() >= seeds.len());
    let (slowest, took) = replayed.slowest.clone().expect("at least one input ran");
    println!(
        "{target}: {} inputs in {:?}; slowest {} ({took:?})",
        replayed.inputs.len(),
        replayed.elapsed,
        slowest.display()
    );
    let panics: Vec<String> = replayed
        .panics
        .iter()
        .map(|(path, message)| format!("{}: {message}", path.display()))
        .collect();
    assert!(
        panics.is_empty(),
        "{target}: {} of {} inputs panicked:\n{}",
        panics.len(),
        replayed.inputs.len(),
        panics.join("\n")
    );
}

macro_rules! replays {
    ($($test:ident => $target:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                replay_target($target);
            }
        )*

        /// The tests above cover every target the library knows.
        const REPLAYED: &[&str] = &[$($target),*];
    };
}

replays! {
    replay_fuzz_reference => "fuzz_reference",
    replay_fuzz_spec_json => "fuzz_spec_json",
    replay_fuzz_tar_walker => "fuzz_tar_walker",
    replay_fuzz_docker_archive => "fuzz_docker_archive",
    replay_fuzz_oci_layout => "fuzz_oci_layout",
    replay_fuzz_www_authenticate => "fuzz_www_authenticate",
    replay_fuzz_rules => "fuzz_rules",
}

/// Every target cargo-fuzz builds has a body here, a replay test and a corpus directory,
/// its `fuzz_targets/` file calls that body, and no corpus directory is left without a
/// target: a target added to `fuzz/` alone fails this test.
#[test]
fn every_fuzz_target_is_replayed() {
    let declared: BTreeSet<String> = declared_targets().expect("fuzz/Cargo.toml").into_iter().collect();
    assert!(!declared.is_empty(), "no [[bin]] targets read from fuzz/Cargo.toml");
    let bodies: BTreeSet<String> = TARGETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    let tested: BTreeSet<String> = REPLAYED.iter().map(|name| (*name).to_owned()).collect();
    assert_eq!(declared, bodies, "fuzz/Cargo.toml's targets and TARGETS");
    assert_eq!(declared, tested, "fuzz/Cargo.toml's targets and the replay tests");
    for target in &declared {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains("imgprof_fuzz_targets::"),
            "{} does not call its body in imgprof_fuzz_targets",
            source.display()
        );
    }
    let corpora: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .expect("fuzz/corpus")
        .map(|e| e.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(corpora, declared, "fuzz/corpus's directories and the targets");
}
