//! Native GCP errors → cloudport errors: gRPC status codes (Pub/Sub, Firestore) and Cloud
//! Storage's HTTP statuses.

use cloudport_core::{Error, ErrorKind};
use gcloud_gax::grpc::{Code, Status};

/// The kind a gRPC status code means.
pub(crate) fn kind_of_code(code: Code) -> ErrorKind {
    match code {
        Code::NotFound => ErrorKind::NotFound,
        Code::AlreadyExists => ErrorKind::AlreadyExists,
        Code::FailedPrecondition => ErrorKind::PreconditionFailed,
        // A concurrent transaction won: nothing was written, and trying again may succeed. Not a
        // precondition failure, which callers read as "the key exists" or "it changed".
        Code::Aborted => ErrorKind::Unavailable,
        Code::PermissionDenied => ErrorKind::PermissionDenied,
        Code::Unauthenticated => ErrorKind::Unauthenticated,
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidArgument,
        Code::ResourceExhausted => ErrorKind::RateLimited,
        Code::DeadlineExceeded => ErrorKind::Timeout,
        Code::Unavailable | Code::Internal | Code::Unknown | Code::Cancelled => {
            ErrorKind::Unavailable
        }
        Code::Unimplemented => ErrorKind::Unsupported,
        _ => ErrorKind::Other,
    }
}

fn typed(kind: ErrorKind, message: String) -> Error {
    let temporary = kind.is_temporary_by_default();
    Error::new(kind, message).temporary(temporary)
}

/// A gRPC status (Pub/Sub).
pub(crate) fn from_status(status: Status) -> Error {
    let kind = kind_of_code(status.code());
    typed(kind, format!("{:?}: {}", status.code(), status.message())).with_source(status)
}

/// A Cloud Storage error.
pub(crate) fn from_storage(err: gcloud_storage::http::Error) -> Error {
    use gcloud_storage::http::Error as E;
    let (kind, message) = match &err {
        E::Response(r) => (
            ErrorKind::from_http_status(r.code),
            format!("HTTP {}: {}", r.code, r.message),
        ),
        E::HttpClient(e) | E::RawResponse(e, _) if e.is_decode() => (
            ErrorKind::Malformed,
            format!("unexpected Cloud Storage response: {e}"),
        ),
        E::HttpClient(e) | E::RawResponse(e, _) => match e.status() {
            Some(s) => (
                ErrorKind::from_http_status(s.as_u16()),
                format!("HTTP {s}: {e}"),
            ),
            None => (ErrorKind::Unavailable, format!("storage unreachable: {e}")),
        },
        E::TokenSource(e) => (ErrorKind::Unauthenticated, e.to_string()),
        other => (ErrorKind::Other, other.to_string()),
    };
    typed(kind, message).with_source(err)
}

/// A Firestore error.
pub(crate) fn from_firestore(err: firestore::errors::FirestoreError) -> Error {
    use firestore::errors::FirestoreError as F;
    let kind = match &err {
        F::DataConflictError(_) => ErrorKind::AlreadyExists,
        F::DataNotFoundError(_) => ErrorKind::NotFound,
        F::InvalidParametersError(_) => ErrorKind::InvalidArgument,
        F::DatabaseError(e) => match e.public.code.as_str() {
            "FailedPrecondition" => ErrorKind::PreconditionFailed,
            "Aborted" | "Unavailable" | "Internal" | "Unknown" | "Cancelled" => {
                ErrorKind::Unavailable
            }
            "ResourceExhausted" => ErrorKind::RateLimited,
            "DeadlineExceeded" => ErrorKind::Timeout,
            "PermissionDenied" => ErrorKind::PermissionDenied,
            "Unauthenticated" => ErrorKind::Unauthenticated,
            "InvalidArgument" | "OutOfRange" => ErrorKind::InvalidArgument,
            "NotFound" => ErrorKind::NotFound,
            "AlreadyExists" => ErrorKind::AlreadyExists,
            _ if e.retry_possible => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        },
        F::NetworkError(_) => ErrorKind::Unavailable,
        F::DeserializeError(_) | F::SerializeError(_) => ErrorKind::Malformed,
        _ => ErrorKind::Other,
    };
    typed(kind, err.to_string()).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_kinds() {
        assert_eq!(kind_of_code(Code::NotFound), ErrorKind::NotFound);
        assert_eq!(
            kind_of_code(Code::FailedPrecondition),
            ErrorKind::PreconditionFailed
        );
        assert_eq!(
            kind_of_code(Code::ResourceExhausted),
            ErrorKind::RateLimited
        );
        // Contention, not a failed precondition: a create-only write that lost a race to a
        // transaction must not read as "the key exists".
        assert_eq!(kind_of_code(Code::Aborted), ErrorKind::Unavailable);
        assert!(from_status(Status::aborted("contention")).is_temporary());
        let e = from_status(Status::unavailable("down"));
        assert!(e.is_temporary());
    }
}
