//! Native AWS SDK errors → cloudport errors, by error code and HTTP status.

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use cloudport_core::{Error, ErrorKind};

/// The kind an AWS error code or HTTP status means.
fn kind_of(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    match code.unwrap_or_default() {
        "NoSuchKey"
        | "NotFound"
        | "NoSuchBucket"
        | "NoSuchUpload"
        | "ResourceNotFoundException"
        | "AWS.SimpleQueueService.NonExistentQueue"
        | "QueueDoesNotExist" => ErrorKind::NotFound,
        "PreconditionFailed"
        | "ConditionalCheckFailedException"
        | "ConditionalRequestConflict"
        | "TransactionConflictException" => ErrorKind::PreconditionFailed,
        "NotModified" => ErrorKind::NotModified,
        "ThrottlingException"
        | "Throttling"
        | "ProvisionedThroughputExceededException"
        | "RequestLimitExceeded"
        | "SlowDown"
        | "AWS.SimpleQueueService.RequestThrottled"
        | "RequestThrottled"
        | "KMSThrottlingException" => ErrorKind::RateLimited,
        "AccessDenied"
        | "AccessDeniedException"
        | "AllAccessDisabled"
        | "KMSAccessDeniedException" => ErrorKind::PermissionDenied,
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "MissingAuthenticationToken"
        | "InvalidToken"
        | "TokenRefreshRequired" => ErrorKind::Unauthenticated,
        "ReceiptHandleIsInvalid"
        | "MessageNotInflight"
        | "AWS.SimpleQueueService.MessageNotInflight"
        | "InvalidReceiptHandle" => ErrorKind::LeaseLost,
        "EntityTooLarge"
        | "MessageTooLong"
        | "AWS.SimpleQueueService.BatchRequestTooLong"
        | "BatchRequestTooLong"
        | "ItemCollectionSizeLimitExceededException"
        // S3's answer to user metadata over 2 KB.
        | "MetadataTooLarge" => ErrorKind::TooLarge,
        "InvalidRange"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "ValidationException"
        | "InvalidArgument"
        | "InvalidBucketName"
        | "InvalidAttributeName"
        | "InvalidAttributeValue"
        | "MissingParameter"
        | "InvalidMessageContents"
        | "InvalidRequest"
        | "AWS.SimpleQueueService.InvalidBatchEntryId"
        | "KeyTooLongError" => ErrorKind::InvalidArgument,
        "AWS.SimpleQueueService.UnsupportedOperation"
        | "UnsupportedOperation"
        | "NotImplemented" => ErrorKind::Unsupported,
        "InternalError"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "InternalServerError"
        | "AWS.SimpleQueueService.ServiceUnavailable" => ErrorKind::Unavailable,
        // S3 and DynamoDB send a bare 503 when they throttle (`SlowDown`).
        _ => match status.unwrap_or(0) {
            503 => ErrorKind::RateLimited,
            other => ErrorKind::from_http_status(other),
        },
    }
}

/// Whether anything in the error's source chain is about credentials.
fn mentions_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if e.to_string().to_ascii_lowercase().contains("credential") {
            return true;
        }
        next = e.source();
    }
    false
}

/// Maps an SDK error; the native error stays reachable as the source.
pub(crate) fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = match &err {
        SdkError::ConstructionFailure(_) => (
            ErrorKind::InvalidArgument,
            "the request could not be built".to_owned(),
        ),
        SdkError::TimeoutError(_) => (ErrorKind::Timeout, "the request timed out".to_owned()),
        SdkError::DispatchFailure(d)
            if !d.is_io()
                && !d.is_timeout()
                && mentions_credentials(&err as &(dyn std::error::Error + 'static)) =>
        {
            (
                ErrorKind::Unauthenticated,
                "no usable AWS credentials".to_owned(),
            )
        }
        SdkError::DispatchFailure(d) => {
            let what = if d.is_io() || d.is_timeout() {
                "could not reach AWS"
            } else {
                "the request could not be sent"
            };
            (
                if d.is_timeout() {
                    ErrorKind::Timeout
                } else if d.is_io() {
                    ErrorKind::Unavailable
                } else {
                    // Endpoint resolution, signing and the like: retrying will not help.
                    ErrorKind::Other
                },
                what.to_owned(),
            )
        }
        SdkError::ResponseError(_) => (
            ErrorKind::Unavailable,
            "the response could not be read".to_owned(),
        ),
        SdkError::ServiceError(service) => {
            let native = service.err();
            let status = Some(service.raw().status().as_u16());
            let code = native.code();
            let text = native.message().unwrap_or_default();
            let kind = match kind_of(code, status) {
                // SQS answers an expired receipt handle with InvalidParameterValue.
                ErrorKind::InvalidArgument if text.contains("ReceiptHandle") => {
                    ErrorKind::LeaseLost
                }
                ErrorKind::InvalidArgument if text.contains("Item size has exceeded") => {
                    ErrorKind::TooLarge
                }
                kind => kind,
            };
            let message = format!(
                "{}{}",
                code.unwrap_or("HTTP error"),
                native
                    .message()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_else(|| {
                        status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
                    })
            );
            (kind, message)
        }
        _ => (ErrorKind::Other, "unknown SDK error".to_owned()),
    };
    let temporary = kind.is_temporary_by_default()
        || matches!(&err, SdkError::ServiceError(s) if s.raw().status().as_u16() == 409
            && s.err().code() == Some("ConditionalRequestConflict"));
    Error::new(kind, message)
        .temporary(temporary)
        .with_provider("aws")
        .with_source(err)
}

/// The slot of a batch entry by the id the driver gave it (its position in the batch).
pub(crate) fn batch_slot<'a, T>(
    results: &'a mut [Option<T>],
    id: &str,
) -> Option<&'a mut Option<T>> {
    id.parse::<usize>().ok().and_then(|i| results.get_mut(i))
}

/// A failed entry of an SQS `SendMessageBatch` or SNS `PublishBatch` (the same
/// `BatchResultErrorEntry` shape in both): by its code, temporary unless the sender is at fault
/// (throttling excepted).
pub(crate) fn batch_entry_error(code: &str, message: Option<String>, sender_fault: bool) -> Error {
    let kind = match code {
        c if c.contains("Throttl") => ErrorKind::RateLimited,
        c if c.contains("TooLong") || c.contains("TooLarge") => ErrorKind::TooLarge,
        _ if sender_fault => ErrorKind::InvalidArgument,
        _ => ErrorKind::Unavailable,
    };
    Error::new(kind, format!("{code}: {}", message.unwrap_or_default()))
        .temporary(!sender_fault || kind == ErrorKind::RateLimited)
}

/// The batch's results in order; an entry the service reported nothing for is an error.
pub(crate) fn batch_results(
    results: Vec<Option<cloudport_core::Result<String>>>,
    service: &str,
) -> Vec<cloudport_core::Result<String>> {
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::Other,
                    format!("{service} reported nothing for this entry"),
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_batch_entries_map_by_code_and_fault() {
        for (code, fault, kind, temporary) in [
            ("MessageTooLong", true, ErrorKind::TooLarge, false),
            (
                "AWS.SimpleQueueService.BatchRequestTooLong",
                true,
                ErrorKind::TooLarge,
                false,
            ),
            ("Throttled", true, ErrorKind::RateLimited, true),
            (
                "InvalidParameterValue",
                true,
                ErrorKind::InvalidArgument,
                false,
            ),
            ("InternalError", false, ErrorKind::Unavailable, true),
        ] {
            let e = batch_entry_error(code, Some("why".into()), fault);
            assert_eq!((e.kind(), e.is_temporary()), (kind, temporary), "{code}");
        }
        let mut results = vec![None, None];
        *batch_slot(&mut results, "1").unwrap() = Some(Ok("m".to_owned()));
        assert!(batch_slot(&mut results, "7").is_none());
        let out = batch_results(results, "SNS");
        assert!(
            out[0]
                .as_ref()
                .unwrap_err()
                .message()
                .contains("SNS reported nothing")
        );
        assert_eq!(out[1].as_deref().unwrap(), "m");
    }

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of(Some("NoSuchKey"), Some(404)), ErrorKind::NotFound);
        assert_eq!(
            kind_of(Some("ConditionalCheckFailedException"), Some(400)),
            ErrorKind::PreconditionFailed
        );
        assert_eq!(
            kind_of(Some("ThrottlingException"), Some(400)),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind_of(Some("ExpiredToken"), Some(400)),
            ErrorKind::Unauthenticated
        );
        assert_eq!(kind_of(None, Some(412)), ErrorKind::PreconditionFailed);
        assert_eq!(kind_of(None, Some(503)), ErrorKind::RateLimited);
        assert_eq!(kind_of(None, Some(500)), ErrorKind::Unavailable);
        assert_eq!(
            kind_of(Some("ReceiptHandleIsInvalid"), Some(400)),
            ErrorKind::LeaseLost
        );
    }
}
