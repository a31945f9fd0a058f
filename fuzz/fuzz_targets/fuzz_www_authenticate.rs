//! `WWW-Authenticate` challenges as registries send them.
#![no_main]

use imgprof_source::registry::challenge::Challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &str| {
    let _ = Challenge::parse(header);
});
