//! Registry references (`python:3.12`, `host:5000/a/b@sha256:...`), local references
//! (`oci:DIR:TAG`, `./app.tar`), daemon references, platforms and digests.
#![no_main]

use std::str::FromStr;

use imgprof_source::reference::Reference;
use imgprof_source::{Digest, LocalRef, Platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(reference) = text.parse::<Reference>() {
        let _ = reference.api_host();
        let _ = reference.manifest_reference();
        let _ = reference.is_loopback();
    }
    // Relative names resolve against the fuzzer's working directory; nothing is opened.
    let _ = LocalRef::parse(text);
    let _ = LocalRef::looks_like_path(text);
    if let Ok(platform) = Platform::from_str(text) {
        let _ = platform.to_string();
        let _ = platform.satisfies(&Platform::host());
        let _ = platform.is_unknown();
    }
    if let Ok(digest) = Digest::from_str(text) {
        let _ = digest.short();
        let _ = digest.to_string();
    }
});
