//! The Azure provider passes the whole conformance suite against Azurite
//! (`./scripts/test.sh` starts it; `CLOUDPORT_TEST_AZURITE` overrides the connection string).

mod support;

cloudport_core::conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = support::Azurite::new()
}

/// The same limits as the memory provider's `?profile=azure` (core/src/conformance/limits.rs).
mod limits {
    cloudport_core::conformance_limit_tests! {
        #[ignore = "needs emulators: ./scripts/test.sh"]
        fixture = super::support::Azurite::new(),
        profile = "azure"
    }
}

/// Storage Queues keep no order: the ordering checks expect a key to be refused (`Unsupported`).
#[cloudport_core::export::async_trait]
impl cloudport_core::conformance::ordering::OrderingFixture for support::Azurite {
    async fn ordered_queue(&self) -> Option<cloudport_core::Queue> {
        None
    }
}

mod ordering {
    cloudport_core::ordering_conformance_tests! {
        #[ignore = "needs emulators: ./scripts/test.sh"]
        fixture = super::support::Azurite::new()
    }
}
