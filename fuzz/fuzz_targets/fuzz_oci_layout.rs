//! OCI image layouts: a bundle input (see `imgprof_fuzz`) is written as the files of a
//! layout directory; any other input is written as an oci-archive (a tar of a layout).
//! Either is opened with `imgprof_source::open` and every layer read, verified, walked and
//! stacked.
#![no_main]

use imgprof_fuzz::{parse_bundle, read_image, write_dir};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let arg = match parse_bundle(data) {
        Some(members) => {
            let layout = dir.path().join("layout");
            std::fs::create_dir(&layout).expect("creating the layout");
            write_dir(&members, &layout);
            format!("oci:{}", layout.display())
        }
        None => {
            let path = dir.path().join("image.tar");
            std::fs::write(&path, data).expect("writing the archive");
            format!("oci-archive:{}", path.display())
        }
    };
    if let Ok(image) = imgprof_source::open(&arg, None) {
        read_image(&image);
    }
    let _ = imgprof_source::platforms(&arg, &Default::default());
});
