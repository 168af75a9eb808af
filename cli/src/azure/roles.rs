//! Least privilege on Azure: the built-in data-plane roles the generated template assigns, by id,
//! and which (resource kind, access) needs which of them — one table each, every row citing its
//! source.
//!
//! Role **ids**, not names, go into the template (names can be renamed; public templates carry
//! wrong ids). Every id below is the one on Microsoft's list of built-in roles for storage,
//! <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage>.
//!
//! Each assignment is scoped to the one queue, container or table it is for (an extension
//! resource whose `scope` is that resource), never to the account; the only account-scoped
//! assignment is the Functions host's own Storage Blob Data Owner on the *host* storage account,
//! which holds no cloudport resource.

use crate::{Error, Result};

/// A built-in Azure role: its name, id and where the id is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Role {
    /// The role's name.
    pub name: &'static str,
    /// The role definition id (a GUID).
    pub id: &'static str,
    /// The page that lists it.
    pub source: &'static str,
    /// The roles this one's data actions include (so an assignment of it makes theirs redundant
    /// on the same scope).
    pub includes: &'static [&'static str],
}

const STORAGE_ROLES: &str =
    "https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage";

/// Storage Queue Data Message Sender: `queues/messages/add/action`.
pub const QUEUE_SENDER: Role = Role {
    name: "Storage Queue Data Message Sender",
    id: "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
    source: STORAGE_ROLES,
    includes: &[],
};
/// Storage Queue Data Message Processor: `queues/messages/read`, `queues/messages/process/action`
/// (peek, get, delete — not Update Message, which is `queues/messages/write`).
pub const QUEUE_PROCESSOR: Role = Role {
    name: "Storage Queue Data Message Processor",
    id: "8a0f0c08-91a1-4084-bc3d-661d67233fed",
    source: STORAGE_ROLES,
    includes: &[],
};
/// Storage Queue Data Reader: `queues/messages/read` and reading queues.
pub const QUEUE_READER: Role = Role {
    name: "Storage Queue Data Reader",
    id: "19e7f393-937e-4f77-808e-94535e297925",
    source: STORAGE_ROLES,
    includes: &[],
};
/// Storage Queue Data Contributor: every queue message data action, `messages/write` included.
pub const QUEUE_CONTRIBUTOR: Role = Role {
    name: "Storage Queue Data Contributor",
    id: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    source: STORAGE_ROLES,
    includes: &[QUEUE_SENDER.id, QUEUE_PROCESSOR.id, QUEUE_READER.id],
};
/// Storage Blob Data Reader.
pub const BLOB_READER: Role = Role {
    name: "Storage Blob Data Reader",
    id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    source: STORAGE_ROLES,
    includes: &[],
};
/// Storage Blob Data Contributor: read, write, delete blobs.
pub const BLOB_CONTRIBUTOR: Role = Role {
    name: "Storage Blob Data Contributor",
    id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    source: STORAGE_ROLES,
    includes: &[BLOB_READER.id],
};
/// Storage Blob Data Owner: Contributor plus POSIX ACLs and ownership.
pub const BLOB_OWNER: Role = Role {
    name: "Storage Blob Data Owner",
    id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    source: STORAGE_ROLES,
    includes: &[BLOB_READER.id, BLOB_CONTRIBUTOR.id],
};
/// Storage Table Data Reader.
pub const TABLE_READER: Role = Role {
    name: "Storage Table Data Reader",
    id: "76199698-9eea-4c19-bc75-cec21354c6b6",
    source: STORAGE_ROLES,
    includes: &[],
};
/// Storage Table Data Contributor: read, write, delete entities.
pub const TABLE_CONTRIBUTOR: Role = Role {
    name: "Storage Table Data Contributor",
    id: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    source: STORAGE_ROLES,
    includes: &[TABLE_READER.id],
};

/// Every role the generator may assign. A template holds no other role id (checked by
/// `cli/tests/azure_template.rs`).
pub const ROLES: [Role; 9] = [
    QUEUE_SENDER,
    QUEUE_PROCESSOR,
    QUEUE_READER,
    QUEUE_CONTRIBUTOR,
    BLOB_READER,
    BLOB_CONTRIBUTOR,
    BLOB_OWNER,
    TABLE_READER,
    TABLE_CONTRIBUTOR,
];

/// What a role is assigned on, relative to the declared resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The queue, container or table itself.
    Resource,
    /// The queue's `<queue>-poison` queue.
    Poison,
}

/// One row: what a (kind, access) needs, on which target, and why.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    /// `queue`, `bucket` or `kv`.
    pub kind: &'static str,
    /// The access word of the description, or `trigger` for what the Functions host needs to
    /// run a trigger on the resource.
    pub access: &'static str,
    /// The roles, each on `target`.
    pub roles: &'static [(Role, Target)],
    /// The calls it covers and the source that says so.
    pub why: &'static str,
}

/// The table: one row per (resource kind, access).
pub const GRANTS: &[Grant] = &[
    Grant {
        kind: "queue",
        access: "send",
        roles: &[(QUEUE_SENDER, Target::Resource)],
        why: "Put Message (`messages/add/action`); providers/azure/src/queue.rs send_one",
    },
    Grant {
        kind: "queue",
        access: "consume",
        // Get Messages and Delete Message are `process/action` (Message Processor), but the
        // driver's nack and extend_lease call Update Message, which is `messages/write`
        // ("Put or update a message", https://learn.microsoft.com/azure/storage/queues/queues-auth-abac-attributes),
        // and only Queue Data Contributor among the built-in roles has it. A consumer also
        // dead-letters to `<queue>-poison` (providers/azure/src/open.rs), which is pre-created,
        // so Put Message there is enough (the driver creates it only on QueueNotFound).
        roles: &[
            (QUEUE_CONTRIBUTOR, Target::Resource),
            (QUEUE_SENDER, Target::Poison),
        ],
        why: "Get / Delete / Update Message on the queue; Put Message on <queue>-poison",
    },
    Grant {
        kind: "queue",
        access: "trigger",
        // "Identity-based connections" of the queue trigger: Storage Queue Data Reader + Storage
        // Queue Data Message Processor,
        // https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#grant-permission-to-the-identity
        // The host moves a message that reached maxDequeueCount with SendMessageAsync, creating
        // the queue only on QueueNotFound (Azure/azure-sdk-for-net,
        // sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/src/QueueProcessor.cs
        // CopyMessageToPoisonQueueAsync, StorageQueueExtensions.AddMessageAndCreateIfNotExistsAsync):
        // with the poison queue pre-created, Message Sender on it is enough.
        roles: &[
            (QUEUE_READER, Target::Resource),
            (QUEUE_PROCESSOR, Target::Resource),
            (QUEUE_SENDER, Target::Poison),
        ],
        why: "the Functions host polls, deletes and poisons the queue's messages",
    },
    Grant {
        kind: "bucket",
        access: "read",
        roles: &[(BLOB_READER, Target::Resource)],
        why: "Get Blob, Get Blob Properties",
    },
    Grant {
        kind: "bucket",
        access: "list",
        roles: &[(BLOB_READER, Target::Resource)],
        why: "List Blobs",
    },
    Grant {
        kind: "bucket",
        access: "write",
        roles: &[(BLOB_CONTRIBUTOR, Target::Resource)],
        why: "Put Blob, Put Block, Put Block List, Copy Blob",
    },
    Grant {
        kind: "bucket",
        access: "delete",
        roles: &[(BLOB_CONTRIBUTOR, Target::Resource)],
        why: "Delete Blob",
    },
    Grant {
        kind: "bucket",
        access: "trigger",
        // "Grant permission to the identity", blob trigger row: "Storage Blob Data Owner and
        // Storage Queue Data Contributor" (footnote 1: "The blob trigger handles failure across
        // multiple retries by writing poison blobs to a queue on the storage account specified by
        // the connection"; footnote 2: the AzureWebJobsStorage connection "is used internally for
        // blobs and queues that enable the trigger"),
        // https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#grant-permission-to-the-identity
        // Blob Data Owner is scoped to the container (the narrowest scope of a blob role); the
        // queue role goes where the queues are, not on this container: see BLOB_TRIGGER_QUEUES.
        roles: &[(BLOB_OWNER, Target::Resource)],
        why: "the Functions host reads each blob Event Grid reports and tracks it (blob receipts)",
    },
    Grant {
        kind: "kv",
        access: "read",
        roles: &[(TABLE_READER, Target::Resource)],
        why: "Query Entities (get, scan)",
    },
    Grant {
        kind: "kv",
        access: "write",
        roles: &[(TABLE_CONTRIBUTOR, Target::Resource)],
        why: "Insert / Update / Delete Entity (conditional puts and deletes)",
    },
];

/// The host storage role: Storage Blob Data Owner on the host storage account (the
/// `AzureWebJobsStorage` account: leases, the timer's schedule monitor, keys, the deployment
/// package), as "Connecting to host storage with an identity" documents,
/// <https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity>.
/// It also covers the Flex Consumption deployment container (which needs Blob Data Contributor,
/// <https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#configure-deployment-settings>).
pub const HOST_STORAGE: Role = BLOB_OWNER;

/// The queue the blobs extension moves a blob to after its last failed try, on the trigger's
/// storage account (footnote 1 of the blob trigger's "Grant permission to the identity";
/// the WebJobs storage extension's `HostQueueNames.BlobTriggerPoisonQueue`, which its shared blob
/// queue listener uses on the blob's account, falling back to the host account's when the blob's
/// has no queues). The template creates it in the data account, so the queue role of a blob
/// trigger there is scoped to this one queue.
pub const BLOB_TRIGGER_POISON_QUEUE: &str = "webjobs-blobtrigger-poison";

/// What a blob trigger needs on queues, "Storage Queue Data Contributor" (the blob trigger row of
/// "Grant permission to the identity",
/// <https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#grant-permission-to-the-identity>),
/// assigned twice when the app has a blob trigger:
///
/// - on [`BLOB_TRIGGER_POISON_QUEUE`] of the data account (the trigger's connection, footnote 1);
/// - on the host storage account (`AzureWebJobsStorage`, footnote 2: the extension's internal
///   queue `azure-webjobs-blobtrigger-<host id>` lives there, a name the template cannot know, so
///   the account is the narrowest scope). The host account holds no cloudport resource.
///
/// Footnote 2 also lists Storage Account Contributor for an identity-based `AzureWebJobsStorage`.
/// It is not assigned: it is a management role (it can list keys and turn shared keys back on,
/// which the template turns off), and the host's blob and queue calls are data-plane calls the
/// two data roles cover (Microsoft's Flex Consumption Event Grid blob samples,
/// Azure-Samples/functions-quickstart-*-azd-eventgrid-blob, assign no management role either).
pub const BLOB_TRIGGER_QUEUES: Role = QUEUE_CONTRIBUTOR;

/// The row of (kind, access), or [`Error::Unsupported`].
pub fn grant(kind: &str, access: &str) -> Result<&'static Grant> {
    GRANTS
        .iter()
        .find(|g| g.kind == kind && g.access == access)
        .ok_or_else(|| {
            Error::unsupported(
                format!("{kind} access {access:?}"),
                "this cargo-cloudport has no Azure role for it; update cargo-cloudport",
            )
        })
}

/// The roles a resource of `kind` needs for `accesses` (the description's words, plus `trigger`
/// when a trigger fires on it), by target, with every role another one on the same target
/// includes left out. Sorted and without duplicates.
///
/// ```
/// use cloudport_cli::azure::roles::{self, Target};
/// let r = roles::roles_for("queue", &["send"]).unwrap();
/// assert_eq!(r, [(Target::Resource, roles::QUEUE_SENDER)]);
/// let r = roles::roles_for("kv", &["read", "write"]).unwrap();
/// assert_eq!(r, [(Target::Resource, roles::TABLE_CONTRIBUTOR)]);
/// ```
pub fn roles_for(kind: &str, accesses: &[&str]) -> Result<Vec<(Target, Role)>> {
    let mut all = Vec::new();
    for access in accesses {
        for (role, target) in grant(kind, access)?.roles {
            all.push((*target, *role));
        }
    }
    all.sort();
    all.dedup();
    let kept = all
        .iter()
        .filter(|(target, role)| {
            !all.iter()
                .any(|(t, other)| t == target && other.includes.contains(&role.id))
        })
        .copied()
        .collect();
    Ok(kept)
}

/// The role of `id`, if it is one of [`ROLES`].
pub fn by_id(id: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_guids_and_inclusions_name_known_roles() {
        for (i, r) in ROLES.iter().enumerate() {
            assert_eq!(r.id.len(), 36, "{}", r.name);
            assert!(
                r.id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{}",
                r.name
            );
            assert!(
                ROLES[i + 1..]
                    .iter()
                    .all(|o| o.id != r.id && o.name != r.name)
            );
            assert!(r.includes.iter().all(|id| by_id(id).is_some()));
        }
        for g in GRANTS {
            assert!(g.roles.iter().all(|(r, _)| by_id(r.id) == Some(r)));
        }
    }

    #[test]
    fn each_access_gets_its_narrowest_roles() {
        let q = |a: &[&str]| roles_for("queue", a).unwrap();
        assert_eq!(
            q(&["consume", "send", "trigger"]),
            [
                (Target::Resource, QUEUE_CONTRIBUTOR),
                (Target::Poison, QUEUE_SENDER)
            ]
        );
        assert_eq!(
            q(&["trigger"]),
            [
                (Target::Resource, QUEUE_PROCESSOR),
                (Target::Resource, QUEUE_READER),
                (Target::Poison, QUEUE_SENDER)
            ]
        );
        let b = |a: &[&str]| roles_for("bucket", a).unwrap();
        assert_eq!(b(&["read", "list"]), [(Target::Resource, BLOB_READER)]);
        assert_eq!(
            b(&["read", "write"]),
            [(Target::Resource, BLOB_CONTRIBUTOR)]
        );
        assert_eq!(b(&["write", "trigger"]), [(Target::Resource, BLOB_OWNER)]);
        assert!(roles_for("kv", &["scan"]).is_err());
        assert!(roles_for("topic", &["send"]).is_err());
    }
}
