//! Azure Functions: the function app's `host.json` and one `<function>/function.json` per function
//! ([`manifest`]), and the deployment package ([`package::write_package`]): the app, its zip and
//! an ARM template ([`template()`]) — a Flex Consumption function app with a user-assigned
//! identity holding one built-in data role per declared access, scoped to its resource
//! ([`roles`]), storage without shared keys, Application Insights, a workbook, alerts and the
//! budget.
//!
//! The names the running host expects — a function per trigger, the binding names, the route
//! prefix and its check — come from [`cloudport_core::platform::azure`], which the host
//! (`cloudport_adapters::azure`) uses too, so the generated files and the host agree without this
//! tool depending on the host.

pub mod arm;
pub mod command;
pub mod deploy;
pub mod event_grid;
pub mod function_app;
mod manifest;
pub mod model;
pub mod observability;
pub mod package;
pub mod roles;
mod template;

pub use cloudport_core::platform::azure::{
    DEFAULT_FUNCTION_TIMEOUT, DEFAULT_ROUTE_PREFIX, FUNCTION_TIMEOUT_VAR, ROUTE_PREFIX_VAR,
    function_name,
};
pub use manifest::{
    BlobSource, CONNECTION_VAR, EXECUTABLE_VAR, EXTENSION_BUNDLE_VERSION, MAX_DEQUEUE_COUNT,
    Manifest, ManifestOptions, WARMUP_VAR, manifest, ncrontab,
};
pub use model::AzureOptions;
pub use package::write_package;
pub use template::template;
