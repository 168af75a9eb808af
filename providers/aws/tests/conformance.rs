//! The AWS provider passes the whole conformance suite against moto
//! (`./scripts/test.sh` starts it; `CLOUDPORT_TEST_MOTO` overrides the endpoint).

mod support;

cloudport_core::conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = support::Moto::new()
}
