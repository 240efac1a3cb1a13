//! AWS glue: the one `SdkConfig` load per process, SDK error classification, and the adapters
//! that implement the ports (each behind its own feature, so a function links only what it calls).

#[cfg(feature = "ec2")]
pub mod ec2;
#[cfg(feature = "s3")]
pub mod export_bucket;
#[cfg(feature = "inspector2")]
pub mod findings;
#[cfg(feature = "inspector2")]
pub mod inspector2;
#[cfg(feature = "s3")]
pub mod multipart;
#[cfg(all(feature = "s3", feature = "ssm"))]
pub mod rules;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "ssm")]
pub mod ssm;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::{Error, ErrorClass};

/// Error codes that mean something we were using vanished between two calls (a multipart
/// upload aborted by a lifecycle rule or a cleanup): the whole operation, run again, succeeds.
const GONE_UNDER_US_CODES: &[&str] = &["NoSuchUpload"];

/// Error codes that mean "slow down", whatever the HTTP status.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// Loads the shared SDK configuration once per process. It reads the standard variables
/// (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, credentials) and makes no
/// network call: credentials are fetched lazily on the first request.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Classifies an SDK error: throttles, 5xx and transport failures are retryable; access problems
/// and other rejected requests are configuration problems a person must fix.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> ErrorClass
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = err.code().unwrap_or_default();
            if status >= 500 || status == 429 || THROTTLING_CODES.contains(&code) || GONE_UNDER_US_CODES.contains(&code)
            {
                ErrorClass::Retryable
            } else {
                ErrorClass::Config
            }
        }
        SdkError::ConstructionFailure(_) => ErrorClass::Config,
        _ => ErrorClass::Retryable,
    }
}

/// Wraps an SDK error in our [`Error`], keeping it as the source.
pub fn aws_error<E>(service: &'static str, operation: &'static str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let class = classify(&err);
    let code = err.code().map(str::to_owned);
    let detail = match (&code, err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.clone(),
        _ => DisplayErrorContext(&err).to_string(),
    };
    Error::Aws {
        service,
        operation,
        code,
        class,
        detail,
        source: Box::new(err),
    }
}

/// A request the SDK refused to build: a bug or bad configuration, never transient.
pub fn build_error(
    service: &'static str,
    operation: &'static str,
    err: aws_smithy_types::error::operation::BuildError,
) -> Error {
    Error::Aws {
        service,
        operation,
        code: None,
        class: ErrorClass::Config,
        detail: err.to_string(),
        source: Box::new(err),
    }
}
