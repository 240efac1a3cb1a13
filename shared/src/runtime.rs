//! Lambda glue: errors as Lambda diagnostics and the invocation deadline.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, Diagnostic};
use tokio::time::Instant;

use crate::Error;

impl From<Error> for Diagnostic {
    /// `errorType` is `<Class>.<Kind>`, for example `Retryable.AwsError` or
    /// `Config.InvalidConfiguration`, so that alarms and DLQ readers can tell them apart.
    fn from(err: Error) -> Self {
        Diagnostic {
            error_type: format!("{}.{}", err.class(), err.kind()),
            error_message: err.to_string(),
        }
    }
}

/// The invocation deadline as a tokio instant, or `None` when the context has none (tests).
pub fn deadline(context: &Context) -> Option<Instant> {
    if context.deadline == 0 {
        return None;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Some(Instant::now() + Duration::from_millis(context.deadline.saturating_sub(now_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_names_class_and_kind() {
        let diagnostic = Diagnostic::from(Error::config("SSM_WAIT_SECONDS", "expected a whole number"));
        assert_eq!(diagnostic.error_type, "Config.InvalidConfiguration");
        assert_eq!(
            diagnostic.error_message,
            "invalid configuration: SSM_WAIT_SECONDS: expected a whole number"
        );
        let diagnostic = Diagnostic::from(Error::NotManaged {
            instance_id: "i-12345678".into(),
        });
        assert_eq!(diagnostic.error_type, "Retryable.InstanceNotManaged");
    }

    #[test]
    fn no_deadline_in_a_default_context() {
        assert!(deadline(&Context::default()).is_none());
    }

    #[tokio::test]
    async fn deadline_is_the_remaining_time() {
        let mut context = Context::default();
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        context.deadline = now_ms + 60_000;
        let remaining = deadline(&context).unwrap() - Instant::now();
        assert!(remaining > Duration::from_secs(55) && remaining <= Duration::from_secs(60));
    }
}
