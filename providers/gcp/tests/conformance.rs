//! The GCP provider passes the whole conformance suite against the Pub/Sub and Firestore
//! emulators and fake-gcs-server (`./scripts/test.sh` starts them).

mod support;

cloudport_core::conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = support::Emulators::new()
}
