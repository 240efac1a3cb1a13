//! The crate's one error enum and its class (ignored / retryable / config), per DESIGN.md.

use std::fmt;

/// A boxed error source, kept so that an SDK error is never flattened into a string.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What the caller should do about an error (DESIGN.md, "Three error classes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Not for us, or permanently unusable: retrying would change nothing.
    Ignored,
    /// Transient: Lambda's async retry and then the DLQ take over.
    Retryable,
    /// A bad environment, rules file or permission: a person has to fix something.
    Config,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::Ignored => "Ignored",
            ErrorClass::Retryable => "Retryable",
            ErrorClass::Config => "Config",
        })
    }
}

/// Every error the functions can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A missing or invalid environment variable, named in the message.
    #[error("invalid configuration: {variable}: {message}")]
    Config {
        /// The environment variable at fault.
        variable: &'static str,
        /// What is wrong with it and what is expected.
        message: String,
    },

    /// An AWS call failed after the SDK's own retries.
    #[error("{service} {operation} failed: {detail}")]
    Aws {
        /// The service, for example `ssm`.
        service: &'static str,
        /// The API operation, for example `SendCommand`.
        operation: &'static str,
        /// The service's error code, where the service gave one.
        code: Option<String>,
        /// Whether retrying can help.
        class: ErrorClass,
        /// The code and message, or the transport failure, in words.
        detail: String,
        /// The SDK error itself.
        #[source]
        source: BoxError,
    },

    /// SSM answered `InvalidInstanceId`: the instance is not SSM-managed and online (yet).
    #[error("instance {instance_id} is not managed by SSM yet")]
    NotManaged {
        /// The instance SSM does not know.
        instance_id: String,
    },

    /// The rules file cannot be used: it is unreadable, malformed or invalid. Every problem is listed
    /// with its path (`suppressions[1].filterCriteria.severity[0].comparison`).
    #[error("rules file {uri} is invalid ({} problem{}): {}", problems.len(), if problems.len() == 1 { "" } else { "s" }, summary(problems))]
    Rules {
        /// Where the rules came from, for example `s3://bucket/rules.json`.
        uri: String,
        /// Every problem found, in order.
        problems: Vec<crate::filter::ValidationError>,
    },

    /// The instance did not become SSM-managed within the wait, and nothing proves it never will.
    #[error("instance {instance_id} did not become SSM-managed within {waited_secs}s: {diagnosis}")]
    StillUnmanaged {
        /// The instance.
        instance_id: String,
        /// How long the function waited.
        waited_secs: u64,
        /// What the diagnosis found: ping status, route, endpoints, profile.
        diagnosis: String,
    },

    /// Inspector runs one findings report per account at a time, and another one is running.
    #[error("another {what} is in progress; Inspector runs one at a time")]
    ReportBusy {
        /// `findings report` or `SBOM export`.
        what: &'static str,
    },

    /// Inspector ended a report or SBOM export without writing it.
    #[error("{what} {report_id} failed: {code}: {detail}")]
    ReportFailed {
        /// `findings report` or `SBOM export`.
        what: &'static str,
        /// The job.
        report_id: String,
        /// `ReportingErrorCode` (or `CANCELLED`).
        code: String,
        /// The service's message and what to fix.
        detail: String,
        /// Config for a bucket, key or permission problem; retryable for Inspector's own.
        class: ErrorClass,
    },

    /// The export bucket answered with something unusable, for example a manifest that is not
    /// JSON.
    #[error("export bucket: {0}")]
    Export(String),
}

impl Error {
    /// The class of this error, which decides the Lambda `errorType` and what happens next.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Config { .. } | Error::Rules { .. } => ErrorClass::Config,
            Error::Aws { class, .. } => *class,
            Error::NotManaged { .. } | Error::StillUnmanaged { .. } | Error::ReportBusy { .. } => ErrorClass::Retryable,
            Error::ReportFailed { class, .. } => *class,
            Error::Export(_) => ErrorClass::Config,
        }
    }

    /// A short name of the variant, the second half of the Lambda `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config { .. } => "InvalidConfiguration",
            Error::Aws { .. } => "AwsError",
            Error::Rules { .. } => "InvalidRules",
            Error::NotManaged { .. } => "InstanceNotManaged",
            Error::StillUnmanaged { .. } => "InstanceStillUnmanaged",
            Error::ReportBusy { .. } => "ReportBusy",
            Error::ReportFailed { .. } => "ReportFailed",
            Error::Export(_) => "ExportBucket",
        }
    }

    /// Builds a retryable AWS-side error with no service code: an answer that could not be
    /// used (a missing id, an unreadable body) or a transport failure outside the SDK.
    pub fn retryable(service: &'static str, operation: &'static str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Error::Aws {
            service,
            operation,
            code: None,
            class: ErrorClass::Retryable,
            source: detail.clone().into(),
            detail,
        }
    }

    /// Builds a configuration error for `variable`.
    pub fn config(variable: &'static str, message: impl Into<String>) -> Self {
        Error::Config {
            variable,
            message: message.into(),
        }
    }
}

/// How many problems an error message spells out; the rest are counted.
const PROBLEMS_SHOWN: usize = 20;

/// The first problems of a rules file, joined for one readable message.
fn summary(problems: &[crate::filter::ValidationError]) -> String {
    let mut text = problems
        .iter()
        .take(PROBLEMS_SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > PROBLEMS_SHOWN {
        text.push_str(&format!("; and {} more", problems.len() - PROBLEMS_SHOWN));
    }
    text
}
