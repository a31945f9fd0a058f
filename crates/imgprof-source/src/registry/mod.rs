//! The registry client: references are parsed in `reference`; here the distribution API
//! (`client`), opening an image from it (`open`), authentication challenges and
//! credentials.

pub mod challenge;
pub mod client;
pub mod credentials;
pub(crate) mod open;
