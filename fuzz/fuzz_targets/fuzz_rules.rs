//! CI rule files: `.imgprof.toml` and dive's `.dive-ci`, and the exclude globs they hold.
#![no_main]

use imgprof_report::rules::RuleSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(rules) = RuleSet::from_toml(text, ".imgprof.toml") {
        let _ = rules.needs_baseline();
        for glob in rules.exclude() {
            for path in ["usr/lib/python3/x.pyc", "a", "", "var/lib/apt/lists/x"] {
                let _ = glob.matches(path);
            }
        }
    }
    if let Ok(rules) = RuleSet::from_dive_ci(text, ".dive-ci") {
        let _ = rules.needs_baseline();
        let _ = rules.exclude().len();
    }
});
