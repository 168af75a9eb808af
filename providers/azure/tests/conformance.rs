//! The Azure provider passes the whole conformance suite against Azurite
//! (`./scripts/test.sh` starts it; `CLOUDPORT_TEST_AZURITE` overrides the connection string).

mod support;

cloudport_core::conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = support::Azurite::new()
}
