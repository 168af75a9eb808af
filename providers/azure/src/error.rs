//! Native Azure SDK errors → cloudport errors, by storage error code and HTTP status. Two SDK
//! lines are in use (GA `azure_core` 1.x for queues and blobs, legacy 0.21 for tables); both map
//! through [`kind_of`].

use cloudport_core::{Error, ErrorKind};

/// The kind a storage error code (`x-ms-error-code`) or HTTP status means.
fn kind_of(code: Option<&str>, status: u16) -> ErrorKind {
    if status == 304 {
        // A conditional read whose ETag matched (the service says `ConditionNotMet`).
        return ErrorKind::NotModified;
    }
    match code.unwrap_or_default() {
        "QueueNotFound" | "ContainerNotFound" | "BlobNotFound" | "TableNotFound"
        | "ResourceNotFound" => ErrorKind::NotFound,
        "BlobAlreadyExists"
        | "EntityAlreadyExists"
        | "QueueAlreadyExists"
        | "ContainerAlreadyExists"
        | "TableAlreadyExists" => ErrorKind::AlreadyExists,
        "ConditionNotMet"
        | "UpdateConditionNotSatisfied"
        | "TargetConditionNotMet"
        | "SourceConditionNotMet" => ErrorKind::PreconditionFailed,
        "MessageNotFound" | "PopReceiptMismatch" => ErrorKind::LeaseLost,
        "MessageTooLarge"
        | "RequestBodyTooLarge"
        | "EntityTooLarge"
        | "PropertyValueTooLarge"
        | "KeyValueTooLarge"
        | "MetadataTooLarge" => ErrorKind::TooLarge,
        "ServerBusy" | "OperationTimedOut" if status == 503 => ErrorKind::RateLimited,
        "AuthenticationFailed" | "InvalidAuthenticationInfo" | "NoAuthenticationInformation" => {
            ErrorKind::Unauthenticated
        }
        "AuthorizationFailure"
        | "AuthorizationPermissionMismatch"
        | "AuthorizationResourceTypeMismatch"
        | "AuthorizationServiceMismatch"
        | "InsufficientAccountPermissions" => ErrorKind::PermissionDenied,
        "InvalidRange"
        | "OutOfRangeInput"
        | "InvalidInput"
        | "InvalidXmlDocument"
        | "InvalidQueryParameterValue"
        | "InvalidResourceName"
        | "InvalidHeaderValue"
        | "PropertiesNeedValue"
        | "InvalidValueType"
        | "InvalidBlockList" => ErrorKind::InvalidArgument,
        "QueueBeingDeleted" | "ContainerBeingDeleted" | "TableBeingDeleted" => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::from_http_status(status),
    }
}

fn http_error(
    status: u16,
    code: Option<&str>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    let kind = kind_of(code, status);
    let temporary = matches!(
        kind,
        ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
    );
    Error::new(
        kind,
        format!("HTTP {status} {}", code.unwrap_or("(no error code)")),
    )
    .temporary(temporary)
    .with_source(source)
}

/// An error of the GA SDK (queues, blobs).
pub(crate) fn from_sdk(err: azure_core::Error) -> Error {
    use azure_core::error::ErrorKind as K;
    match err.kind() {
        K::HttpResponse {
            status, error_code, ..
        } => {
            let (status, code) = (u16::from(*status), error_code.clone());
            http_error(status, code.as_deref(), err)
        }
        K::Io | K::Connection => unreachable_error(err),
        K::Credential => other(ErrorKind::Unauthenticated, err),
        K::DataConversion => other(ErrorKind::Malformed, err),
        _ => other(ErrorKind::Other, err),
    }
}

/// An error of the legacy Table SDK (azure_core 0.21).
pub(crate) fn from_legacy(err: azure_core_legacy::Error) -> Error {
    use azure_core_legacy::error::ErrorKind as K;
    match err.kind() {
        K::HttpResponse { status, error_code } => {
            let (status, code) = (u16::from(*status), error_code.clone());
            http_error(status, code.as_deref(), err)
        }
        K::Io => unreachable_error(err),
        K::Credential => other(ErrorKind::Unauthenticated, err),
        K::DataConversion => other(ErrorKind::Malformed, err),
        _ => other(ErrorKind::Other, err),
    }
}

fn unreachable_error(err: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("storage unreachable: {err}"),
    )
    .temporary(true)
    .with_source(err)
}

fn other(kind: ErrorKind, err: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(kind, err.to_string()).with_source(err)
}

/// A create call's result, where "it exists already" is success too.
pub(crate) fn created(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_win_over_statuses() {
        assert_eq!(
            kind_of(Some("BlobAlreadyExists"), 409),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            kind_of(Some("PopReceiptMismatch"), 400),
            ErrorKind::LeaseLost
        );
        assert_eq!(kind_of(Some("MessageNotFound"), 404), ErrorKind::LeaseLost);
        assert_eq!(kind_of(Some("ServerBusy"), 503), ErrorKind::RateLimited);
        assert_eq!(kind_of(None, 412), ErrorKind::PreconditionFailed);
        assert_eq!(
            kind_of(Some("ConditionNotMet"), 304),
            ErrorKind::NotModified
        );
        assert_eq!(kind_of(Some("SomethingNew"), 502), ErrorKind::Unavailable);
    }
}
