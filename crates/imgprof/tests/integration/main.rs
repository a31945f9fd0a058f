//! The integration tests of this crate: one test binary (each file a module), so the
//! workspace is linked once for all of them, not once per file.

mod common;

mod advice;
mod bad_inputs;
mod cache;
mod check;
mod compare;
mod completions;
mod containerd;
mod daemon;
mod docs_examples;
mod files;
mod fixtures;
mod inspect;
mod local_sources;
mod peers;
mod producers;
mod real_images;
mod real_waste;
mod registry;
mod registry_faults;
mod sarif;
mod schema;
mod sources;
mod waste;
