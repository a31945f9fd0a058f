//! Pieces of the registry client: authentication challenges and credentials.

pub mod challenge;
pub mod credentials;
