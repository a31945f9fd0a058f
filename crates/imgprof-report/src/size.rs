//! Byte sizes for people: decimal units, as `docker images` and dive print them.

pub fn human(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::DECIMAL)
}
