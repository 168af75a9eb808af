//! The Azure provider over identity-based connections: no account key, no SAS — Entra ID tokens
//! from `azure_identity`'s managed-identity credential, on Azurite with OAuth (`--oauth basic`,
//! which needs https: scripts/emulators.sh starts a second Azurite with a certificate of a test
//! CA, which `SSL_CERT_FILE` trusts). The whole conformance suite runs this way; the tests below
//! show the tokens come from the identity, are cached, are checked by Azurite, and never show.

mod support;

use cloudport_azure::Azure;
use cloudport_azure::sdk::azure_core::credentials::TokenCredential;
use cloudport_azure::sdk::azure_identity::{
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};
use cloudport_core::{ErrorKind, Precondition, Provider, ReceiveOptions, ResourceUrl};
use support::identity::{self, CLIENT_ID, WRONG_AUDIENCE_CLIENT_ID};
use support::{ACCOUNT, Azurite};

cloudport_core::conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = support::Azurite::identity()
}

fn url(text: &str) -> ResourceUrl {
    ResourceUrl::parse(text).expect("a resource URL")
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn urls_naming_the_identity_setting_reach_every_service_with_tokens_of_the_identity() {
    let fixture = Azurite::identity();
    let setting = identity::setting();
    let azure = Azure::from_env();
    let name = fixture.unique("id");
    fixture.create_queue(&name).await;
    fixture.create_container(&name).await;
    fixture.table("identity").await;

    let queue = azure
        .open_queue(&url(&format!(
            "azqueue://{ACCOUNT}/{name}?connection={setting}"
        )))
        .expect("queue");
    queue.send("by identity").await.expect("send");
    let got = queue
        .receive(ReceiveOptions::default().max_messages(1))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    queue.ack(&got[0]).await.expect("ack");

    let bucket = azure
        .open_bucket(&url(&format!(
            "azblob://{ACCOUNT}/{name}?connection={setting}"
        )))
        .expect("bucket");
    bucket.put("a/b.txt", "hello").await.expect("put");
    let body = bucket.get("a/b.txt").await.expect("get");
    assert_eq!(body.bytes().await.expect("body").as_ref(), b"hello");

    let kv = azure
        .open_kv(&url(&format!(
            "aztable://{ACCOUNT}/{}?connection={setting}&partition=identity",
            support::KV_TABLE
        )))
        .expect("kv");
    kv.put("k", "v", Precondition::None).await.expect("put");
    assert_eq!(
        kv.get("k").await.expect("get").map(|e| e.value.to_vec()),
        Some(b"v".to_vec())
    );

    // Every token is for storage; all but the refusal test's are for the configured identity.
    let requests = identity::requests();
    assert!(
        requests.iter().any(|(client, _)| client == CLIENT_ID),
        "no token was asked for: {requests:?}"
    );
    for (client_id, resource) in &requests {
        assert!(
            [CLIENT_ID, WRONG_AUDIENCE_CLIENT_ID].contains(&client_id.as_str()),
            "{client_id}"
        );
        assert_eq!(
            resource, "https://storage.azure.com",
            "the storage audience"
        );
    }
}

fn managed_identity(client_id: &str) -> std::sync::Arc<dyn TokenCredential> {
    ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        user_assigned_id: Some(UserAssignedId::ClientId(client_id.to_owned())),
        ..Default::default()
    }))
    .expect("a managed identity credential")
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn every_service_is_reached_with_a_token_of_the_identity() {
    identity::start();
    let counting = identity::Counting::new(managed_identity(CLIENT_ID));
    let azure = Azure::with_credential(counting.clone());
    let setting = identity::setting();
    let fixture = Azurite::identity();
    let name = fixture.unique("tok");
    let queue = azure.queue(ACCOUNT, &name, Some(&setting)).expect("queue");
    queue.create().await.expect("a queue, by token");
    let container = azure
        .container(ACCOUNT, &name, Some(&setting))
        .expect("container");
    container.create().await.expect("a container, by token");
    let table = azure
        .table(ACCOUNT, "tokentable", "p", Some(&setting))
        .expect("table");
    table.create_table().await.expect("a table, by token");
    // Each service's client asked this credential (the GA clients once per client, the legacy
    // Table client per request), always for storage: the requests carried its tokens, and
    // nothing else could have authorized them (this Azure has no key or SAS).
    let scopes = counting.scopes();
    assert!(scopes.len() >= 3, "{scopes:?}");
    assert!(
        scopes
            .iter()
            .all(|s| s == "https://storage.azure.com/.default"),
        "{scopes:?}"
    );
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn tokens_are_cached_across_resources_and_services() {
    let fixture = Azurite::identity();
    let ours = || {
        identity::requests()
            .iter()
            .filter(|(client, _)| client == CLIENT_ID)
            .count()
    };
    let before = ours();
    for i in 0..5 {
        let q = fixture
            .create_queue(&fixture.unique(&format!("c{i}")))
            .await;
        let b = fixture
            .create_container(&fixture.unique(&format!("c{i}")))
            .await;
        let kv = fixture.table(&format!("cache{i}")).await;
        drop((q, b, kv));
    }
    // 15 resources created, each by a request with a token: one credential per identity per
    // process, so tokens are fetched once (a few if first requests race; none if another test
    // of this process warmed the cache), not per request.
    let fetched = ours() - before;
    assert!(fetched <= 3, "{fetched} tokens for 15 requests");
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn a_token_azurite_refuses_is_unauthenticated_and_never_quoted() {
    identity::start();
    let credential = managed_identity(WRONG_AUDIENCE_CLIENT_ID);
    let azure = Azure::with_credential(credential);
    let setting = identity::setting();
    let queue = azure
        .queue(ACCOUNT, "never-created", Some(&setting))
        .expect("a queue name");
    let err = queue
        .create()
        .await
        .expect_err("a token for another audience");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let table = azure
        .table(ACCOUNT, "nevercreated", "p", Some(&setting))
        .expect("a table name");
    let table_err = table
        .create_table()
        .await
        .expect_err("tables check tokens too");
    assert_eq!(table_err.kind(), ErrorKind::Unauthenticated, "{table_err}");
    let container = azure
        .container(ACCOUNT, "never-created", Some(&setting))
        .expect("a container name");
    let blob_err = container
        .create()
        .await
        .expect_err("blobs check tokens too");
    assert_eq!(blob_err.kind(), ErrorKind::Unauthenticated, "{blob_err}");
    for shown in [
        err.to_string(),
        format!("{err:?}"),
        table_err.to_string(),
        format!("{table_err:?}"),
        blob_err.to_string(),
        format!("{blob_err:?}"),
    ] {
        // A JWT's header starts with base64url of `{"` (eyJ); none is quoted.
        assert!(!shown.contains("eyJ"), "a token shows: {shown}");
    }
}

#[test]
fn an_unset_setting_is_refused_naming_both_kinds_of_connection() {
    let azure = Azure::from_env();
    let err = azure
        .queue(ACCOUNT, "orders", Some("CLOUDPORT_NO_SUCH_SETTING"))
        .expect_err("an unset setting");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.message()
            .contains("CLOUDPORT_NO_SUCH_SETTING__accountName"),
        "{err}"
    );
}
