//! Shared helpers of the view's tests.
#![allow(dead_code)]

use ratatui::buffer::Buffer;

/// Indexes the image at `testdata/<path>` on one thread, with no cache, and runs
/// `analyze` on its layers as the binary does.
pub fn indexed<T>(
    path: &str,
    analyze: impl FnOnce(&imgprof_source::Image, &[imgprof_layers::LayerIndex]) -> T,
) -> (Vec<imgprof_layers::LayerIndex>, T) {
    let path = format!("{}/../../testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    let image = imgprof_source::open(&path, None).expect("the image opens");
    let options = imgprof_layers::IndexOptions {
        jobs: 1,
        capture: imgprof_waste::capture_policy,
        cache: None,
        progress: None,
        limits: Default::default(),
    };
    imgprof_layers::index_image_then(&image, options, |layers| analyze(&image, layers)).expect("the image is indexed")
}

/// The image at `testdata/<path>` as the inspect view gets it from the pipeline.
pub fn inspected(path: &str) -> imgprof_tui::Inspected {
    indexed(path, |image, layers| {
        imgprof_tui::Inspected::of(imgprof_report::analyse(image, layers, &Default::default()), layers)
    })
    .1
}

/// A drawn frame as text, one line per row, trailing blanks cut.
pub fn text_of(buffer: &Buffer) -> String {
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
