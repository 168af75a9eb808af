//! The AWS provider passes the whole conformance suite against moto
//! (`./scripts/test.sh` starts it; `CLOUDPORT_TEST_MOTO` overrides the endpoint).

mod support;

cloudport_core::conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = support::Moto::new()
}

/// The same limits as the memory provider's `?profile=aws` (core/src/conformance/limits.rs).
mod limits {
    cloudport_core::conformance_limit_tests! {
        #[ignore = "needs emulators: ./scripts/test.sh"]
        fixture = super::support::Moto::new(),
        profile = "aws"
    }
}
