//! Sizes and load times of the entries in a cache directory, against other encodings of
//! the same indexes: how the entry format was chosen (docs/cache.md).
//!
//! `cargo run --release -p imgprof-cache --example measure_entries -- DIR`

use std::time::Instant;

use imgprof_layers::LayerIndex;

/// The entry header's length (entry.rs): the payload follows it.
const HEADER: usize = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: measure_entries CACHE_DIR")?;
    let mut paths = Vec::new();
    for generation in std::fs::read_dir(std::path::Path::new(&dir).join("layers"))? {
        for entry in std::fs::read_dir(generation?.path())? {
            paths.push(entry?.path());
        }
    }
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "entries", "postcard", "+zstd-1", "+zstd-3", "json", "load ms", "zstd ms", "json ms"
    );
    // zstd ms: decompress + decode, as the cache loads an entry; load ms: decode alone.
    for path in paths {
        let bytes = std::fs::read(&path)?;
        let stored = bytes.get(HEADER..).ok_or("a short entry")?;
        let start = Instant::now();
        let payload = zstd::decode_all(stored)?;
        let stored_load = start.elapsed();
        let payload = payload.as_slice();
        let start = Instant::now();
        let index: LayerIndex = postcard::from_bytes(payload)?;
        let load = start.elapsed();
        let zstd1 = zstd::encode_all(payload, 1)?;
        let zstd3 = zstd::encode_all(payload, 3)?;
        let zstd_load = stored_load + load;
        let json = serde_json::to_vec(&index)?;
        let start = Instant::now();
        let _: LayerIndex = serde_json::from_slice(&json)?;
        let json_load = start.elapsed();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:>8} {:>10} {:>10} {:>10} {:>10} {:>9.2} {:>9.2} {:>9.2}",
            index.entries.len(),
            payload.len() + HEADER,
            zstd1.len() + HEADER,
            zstd3.len() + HEADER,
            json.len(),
            ms(load),
            ms(zstd_load),
            ms(json_load)
        );
    }
    Ok(())
}
