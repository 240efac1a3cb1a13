//! Tracing set up from the Lambda logging variables: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`,
//! level from `AWS_LAMBDA_LOG_LEVEL`, with `RUST_LOG` taking precedence when set.

use tracing_subscriber::EnvFilter;

/// How logs are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// One JSON object per line, as Lambda's JSON log format expects.
    pub json: bool,
    /// An `EnvFilter` directive.
    pub filter: String,
}

/// Reads the settings from `env`. The SDK's own crates stay at `warn` unless `RUST_LOG` says
/// otherwise: their debug output is noisy and can include request details.
pub fn log_settings(env: &dyn Fn(&str) -> Option<String>) -> LogSettings {
    let json = env("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let filter = match env("RUST_LOG").filter(|v| !v.trim().is_empty()) {
        Some(directive) => directive,
        None => {
            let level = match env("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_ascii_uppercase()).as_deref() {
                Some("TRACE") => "trace",
                Some("DEBUG") => "debug",
                Some("WARN") => "warn",
                Some("ERROR") | Some("FATAL") => "error",
                _ => "info",
            };
            format!(
                "{level},aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,hyper=warn,rustls=warn"
            )
        }
    };
    LogSettings { json, filter }
}

/// Installs the global subscriber. Safe to call twice; the second call does nothing.
pub fn init() {
    let settings = log_settings(&|name| std::env::var(name).ok());
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // CloudWatch stamps every line already.
        .without_time();
    let _ = if settings.json {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &'static [(&'static str, &'static str)]) -> LogSettings {
        log_settings(&|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn lambda_json_format_and_level_are_honoured() {
        let s = settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON"), ("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]);
        assert!(s.json);
        assert!(s.filter.starts_with("debug,"));
        assert!(s.filter.contains("aws_smithy_runtime=warn"));
    }

    #[test]
    fn text_and_info_by_default() {
        let s = settings(&[]);
        assert!(!s.json);
        assert!(s.filter.starts_with("info,"));
    }

    #[test]
    fn rust_log_wins() {
        let s = settings(&[("RUST_LOG", "trace"), ("AWS_LAMBDA_LOG_LEVEL", "ERROR")]);
        assert_eq!(s.filter, "trace");
    }

    #[test]
    fn fatal_maps_to_error() {
        assert!(settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")])
            .filter
            .starts_with("error,"));
    }
}
