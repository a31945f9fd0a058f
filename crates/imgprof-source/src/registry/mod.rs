//! The registry client: references are parsed in `reference`; here the distribution API
//! (`client`, over `http` with retries and redirects), answering authentication
//! challenges (`challenge`, `auth`) with stored `credentials`, resumable blob streams
//! (`blob`), and opening an image from it all (`open`).

pub mod auth;
mod blob;
pub mod challenge;
pub mod client;
pub mod credentials;
pub mod http;
pub(crate) mod open;

pub use client::{RegistryClient, RegistryOptions};
pub use http::RetryPolicy;
