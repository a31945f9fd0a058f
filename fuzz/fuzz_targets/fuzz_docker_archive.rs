//! `docker save` archives: the input is written as the archive file (as it is, or built
//! from a bundle, see `imgprof_fuzz`), opened with `imgprof_source::open` and every layer
//! read, verified, walked and stacked.
#![no_main]

use imgprof_fuzz::{parse_bundle, read_image, write_tar};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("image.tar");
    match parse_bundle(data) {
        Some(members) => write_tar(&members, &path).expect("writing the archive"),
        None => std::fs::write(&path, data).expect("writing the archive"),
    }
    let arg = path.to_str().expect("a UTF-8 temporary path");
    for arg in [arg.to_owned(), format!("docker-archive:{arg}")] {
        if let Ok(image) = imgprof_source::open(&arg, None) {
            read_image(&image);
        }
    }
    let _ = imgprof_source::platforms(arg, &Default::default());
});
