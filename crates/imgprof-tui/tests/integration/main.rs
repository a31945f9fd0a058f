//! The integration tests of this crate: one test binary (each file a module), so the
//! workspace is linked once for all of them, not once per file.

mod common;

mod compare_frames;
mod extract;
mod frames;
mod tree;
