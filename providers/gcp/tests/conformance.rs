//! The GCP provider passes the whole conformance suite against the Pub/Sub and Firestore
//! emulators and fake-gcs-server (`./scripts/test.sh` starts them).

mod support;

cloudport_core::conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = support::Emulators::new()
}

/// The same limits as the memory provider's `?profile=gcp` (core/src/conformance/limits.rs).
mod limits {
    cloudport_core::conformance_limit_tests! {
        #[ignore = "needs emulators: ./scripts/test.sh"]
        fixture = super::support::Emulators::new(),
        profile = "gcp"
    }
}
