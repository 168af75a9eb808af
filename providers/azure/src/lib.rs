//! # cloudport-azure
//!
//! The Azure provider of cloudport: queues on **Azure Storage Queues** ([`AzureQueue`]), buckets
//! on **Azure Blob Storage** containers ([`AzureContainer`]), key-value state on **Azure Table
//! Storage** ([`AzureTable`]). Queues and blobs use the GA SDK crates (`azure_storage_queue`,
//! `azure_storage_blob` 1.x); tables the legacy `azure_data_tables` 0.21, the only Table client
//! there is (ADR 0005). Resources open from URLs —
//!
//! | URL | resource |
//! |---|---|
//! | `azqueue://ACCOUNT/QUEUE[?connection=SETTING&max_dequeue_count=5&poison=true]` | a storage queue; poison messages go to `QUEUE-poison` |
//! | `azblob://ACCOUNT/CONTAINER[?connection=SETTING]` | a blob container |
//! | `aztable://ACCOUNT/TABLE[?connection=SETTING&partition=NS]` | a table partition |
//!
//! — with credentials from a storage connection string (`AzureWebJobsStorage` style, including
//! `UseDevelopmentStorage=true` for Azurite): the setting the URL names, else
//! `AzureWebJobsStorage`, else `AZURE_STORAGE_CONNECTION_STRING`. Queue and blob requests carry
//! an account SAS computed from the account key (or the connection string's own SAS).
//!
//! **Identity-based connections** need no key: where the setting holds no connection string, its
//! `SETTING__accountName` / `SETTING__queueServiceUri` / `SETTING__credential=managedidentity` /
//! `SETTING__clientId` settings — the Functions host's own names — make every request carry an
//! Entra ID token from `azure_identity` (managed identity on Functions and App Service, workload
//! identity on Kubernetes, the Azure CLI's login on a developer's machine). The function's
//! identity then needs only the data-plane roles of what it uses (`cargo cloudport package
//! --cloud azure` assigns them per resource).
//!
//! ```no_run
//! # async fn demo() -> cloudport_core::Result<()> {
//! use cloudport_core::{Provider, ResourceUrl};
//! let azure = cloudport_azure::Azure::from_connection_string("UseDevelopmentStorage=true");
//! let queue = azure.open_queue(&ResourceUrl::parse("azqueue://devstoreaccount1/orders")?)?;
//! queue.send("hello").await?;
//! # Ok(()) }
//! ```

mod blob;
mod config;
mod error;
mod identity;
mod kv;
mod open;
mod queue;

pub use blob::AzureContainer;
pub use config::{
    Azure, ConnectionEndpoints, DEFAULT_CONNECTION_SETTINGS, DEVELOPMENT_ACCOUNT,
    connection_endpoints,
};
pub use kv::AzureTable;
pub use open::DEFAULT_MAX_DEQUEUE_COUNT;
pub use queue::{AzureQueue, MAX_MESSAGE_TEXT};

/// The native SDK crates, for the escape hatch.
pub mod sdk {
    pub use azure_core;
    pub use azure_core_legacy;
    pub use azure_data_tables as tables;
    pub use azure_identity;
    pub use azure_storage_blob as blob;
    pub use azure_storage_queue as queue;
}
