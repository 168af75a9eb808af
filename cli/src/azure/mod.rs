//! Azure Functions: the function app's `host.json` and one `<function>/function.json` per function
//! ([`manifest`]), from the app's description and the deployment's bindings and settings.
//!
//! The names the running host expects — a function per trigger, the binding names, the route
//! prefix and its check — come from [`cloudport_core::platform::azure`], which the host
//! (`cloudport_adapters::azure`) uses too, so the generated files and the host agree without this
//! tool depending on the host.

mod manifest;

pub use cloudport_core::platform::azure::{
    DEFAULT_FUNCTION_TIMEOUT, DEFAULT_ROUTE_PREFIX, FUNCTION_TIMEOUT_VAR, ROUTE_PREFIX_VAR,
    function_name,
};
pub use manifest::{
    CONNECTION_VAR, EXECUTABLE_VAR, EXTENSION_BUNDLE_VERSION, MAX_DEQUEUE_COUNT, Manifest,
    ManifestOptions, WARMUP_VAR, manifest, ncrontab,
};
