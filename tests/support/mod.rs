//! Shared by the facade's end-to-end tests.
#![allow(dead_code, unreachable_pub)]

pub mod binaries;
#[cfg(feature = "azure")]
pub mod functions_host;
pub mod inspect;
pub mod quickstart;
pub mod runtime_api;
