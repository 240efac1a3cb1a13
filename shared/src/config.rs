//! Configuration read once at init from the environment, validated, with errors naming the variable.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::export::request::{Defaults, ExportFormat, Mode, StatusSelection};
use crate::rules::source::RulesUri;
use crate::Error;

/// The default SSM document: Inspector v2's plugin through Distributor.
pub const DEFAULT_AGENT_DOCUMENT: &str = "AWS-ConfigureAWSPackage";
/// The default parameters of [`DEFAULT_AGENT_DOCUMENT`].
pub const DEFAULT_AGENT_PARAMETERS: &str = r#"{"action":["Install"],"name":["AmazonInspector2-InspectorSsmPlugin"]}"#;
/// Inspector's own exclusion tag key.
pub const DEFAULT_EXCLUSION_TAG: &str = "InspectorEc2Exclusion";

/// Reads one variable; empty values count as unset, as SAM writes empty optional parameters.
fn lookup(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `AWS_REGION`, which every function needs and Lambda always sets.
fn region(env: &dyn Fn(&str) -> Option<String>) -> Result<String, Error> {
    lookup(env, "AWS_REGION")
        .ok_or_else(|| Error::config("AWS_REGION", "is not set; Lambda sets it, set it by hand elsewhere"))
}

fn parse_u64(env: &dyn Fn(&str) -> Option<String>, name: &'static str, default: u64, max: u64) -> Result<u64, Error> {
    let Some(raw) = lookup(env, name) else {
        return Ok(default);
    };
    let value: u64 = raw
        .parse()
        .map_err(|_| Error::config(name, format!("expected a whole number, got {raw:?}")))?;
    if value > max {
        return Err(Error::config(name, format!("{value} is above the maximum of {max}")));
    }
    Ok(value)
}

fn check_sns_topic(name: &'static str, arn: &str) -> Result<(), Error> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() == 6 && parts[0] == "arn" && parts[2] == "sns" && !parts[5].is_empty() {
        Ok(())
    } else {
        Err(Error::config(
            name,
            format!("expected an SNS topic ARN like arn:aws:sns:REGION:ACCOUNT:NAME, got {arn:?}"),
        ))
    }
}

/// Checks an S3 bucket name against S3's naming rules (the subset that matters for a typo).
fn check_bucket(name: &'static str, bucket: &str) -> Result<(), Error> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            name,
            format!("{bucket:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '-' or '.')"),
        ))
    }
}

/// The parameters of an SSM document: a JSON object of string lists.
pub type DocumentParameters = BTreeMap<String, Vec<String>>;

/// agent-installer's configuration (DESIGN.md, "agent-installer").
#[derive(Debug, Clone, PartialEq)]
pub struct InstallerConfig {
    /// `AWS_REGION`: needed to name the SSM endpoints and to keep region discovery off the network.
    pub region: String,
    /// `AGENT_DOCUMENT`.
    pub document: String,
    /// `AGENT_PARAMETERS`.
    pub parameters: DocumentParameters,
    /// `RUN_COMMAND_OUTPUT_BUCKET`.
    pub output_bucket: Option<String>,
    /// `RUN_COMMAND_OUTPUT_PREFIX`.
    pub output_prefix: String,
    /// `INSTANCE_PROFILE_ARN`.
    pub instance_profile_arn: Option<String>,
    /// `EXCLUSION_TAG`: a tag key; an instance carrying it is left alone.
    pub exclusion_tag: String,
    /// `SSM_WAIT_SECONDS`.
    pub ssm_wait: Duration,
    /// `DEDUP_HOURS`; zero turns the check off.
    pub dedup: Duration,
    /// `NOTIFY_TOPIC_ARN`.
    pub notify_topic_arn: Option<String>,
}

impl InstallerConfig {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads and validates the variables `env` gives, so that tests need not touch the process.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let region = region(env)?;

        let document = lookup(env, "AGENT_DOCUMENT").unwrap_or_else(|| DEFAULT_AGENT_DOCUMENT.to_owned());
        let document_ok = (3..=128).contains(&document.len())
            && document
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b));
        if !document_ok {
            return Err(Error::config(
                "AGENT_DOCUMENT",
                format!("{document:?} is not an SSM document name or ARN"),
            ));
        }

        let raw_parameters = lookup(env, "AGENT_PARAMETERS").unwrap_or_else(|| DEFAULT_AGENT_PARAMETERS.to_owned());
        let parameters: DocumentParameters = serde_json::from_str(&raw_parameters).map_err(|err| {
            Error::config(
                "AGENT_PARAMETERS",
                format!("expected a JSON object of string lists like {DEFAULT_AGENT_PARAMETERS}: {err}"),
            )
        })?;

        let output_bucket = lookup(env, "RUN_COMMAND_OUTPUT_BUCKET");
        if let Some(bucket) = &output_bucket {
            check_bucket("RUN_COMMAND_OUTPUT_BUCKET", bucket)?;
        }
        let output_prefix = lookup(env, "RUN_COMMAND_OUTPUT_PREFIX").unwrap_or_else(|| "runcommand".to_owned());
        if output_prefix.len() > 500 {
            return Err(Error::config(
                "RUN_COMMAND_OUTPUT_PREFIX",
                "is longer than SSM's 500 characters",
            ));
        }

        let instance_profile_arn = lookup(env, "INSTANCE_PROFILE_ARN");
        if let Some(arn) = &instance_profile_arn {
            if !(arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":instance-profile/")) {
                return Err(Error::config(
                    "INSTANCE_PROFILE_ARN",
                    format!("expected arn:aws:iam::ACCOUNT:instance-profile/NAME, got {arn:?}"),
                ));
            }
        }

        let exclusion_tag = lookup(env, "EXCLUSION_TAG").unwrap_or_else(|| DEFAULT_EXCLUSION_TAG.to_owned());
        if exclusion_tag.chars().count() > 128 {
            return Err(Error::config(
                "EXCLUSION_TAG",
                "is longer than EC2's 128-character tag keys",
            ));
        }

        // Lambda's own limit is 900 s; waiting longer than an invocation can live makes no sense.
        let ssm_wait = Duration::from_secs(parse_u64(env, "SSM_WAIT_SECONDS", 240, 900)?);
        // ListCommands keeps 30 days of history; a longer window could never match more.
        let dedup = Duration::from_secs(parse_u64(env, "DEDUP_HOURS", 24, 720)? * 3600);

        let notify_topic_arn = lookup(env, "NOTIFY_TOPIC_ARN");
        if let Some(arn) = &notify_topic_arn {
            check_sns_topic("NOTIFY_TOPIC_ARN", arn)?;
        }

        Ok(Self {
            region,
            document,
            parameters,
            output_bucket,
            output_prefix,
            instance_profile_arn,
            exclusion_tag,
            ssm_wait,
            dedup,
            notify_topic_arn,
        })
    }
}

/// The default `MANAGED_TAG`: the tag that marks a filter as owned by inspector-autopilot.
pub const DEFAULT_MANAGED_TAG: &str = "ManagedBy=inspector-autopilot";

/// suppression-sync's configuration (DESIGN.md, "suppression-sync").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// The region, from `AWS_REGION`.
    pub region: String,
    /// Where the rules live (`RULES_URI`).
    pub rules_uri: RulesUri,
    /// The tag key and value that mark a filter as ours (`MANAGED_TAG`, `key=value`).
    pub managed_tag: (String, String),
}

impl SyncConfig {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads and validates the variables `env` gives; each error names its variable.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let region = region(env)?;
        let rules_uri = lookup(env, "RULES_URI")
            .ok_or_else(|| Error::config("RULES_URI", "is required: s3://<bucket>/<key> or ssm:/<parameter name>"))?;
        let rules_uri = RulesUri::parse(&rules_uri).map_err(|message| Error::config("RULES_URI", message))?;
        let managed_tag = lookup(env, "MANAGED_TAG").unwrap_or_else(|| DEFAULT_MANAGED_TAG.to_owned());
        let managed_tag = parse_managed_tag(&managed_tag).map_err(|message| Error::config("MANAGED_TAG", message))?;
        Ok(SyncConfig {
            region,
            rules_uri,
            managed_tag,
        })
    }
}

/// `key=value`, with the key in Inspector's tag key alphabet and not under `aws:`.
fn parse_managed_tag(text: &str) -> Result<(String, String), String> {
    let expected = format!("expected key=value like {DEFAULT_MANAGED_TAG}, got {text:?}");
    let (key, value) = text.split_once('=').ok_or_else(|| expected.clone())?;
    let key_ok = (1..=128).contains(&key.len())
        && !key.starts_with("aws:")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-=._:/".contains(&b));
    if !key_ok || value.is_empty() || value.chars().count() > 256 {
        return Err(expected);
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// finding-router's configuration (DESIGN.md, "finding-router").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    /// The region, from `AWS_REGION`.
    pub region: String,
    /// The default topic (`NOTIFY_TOPIC_ARN`, required).
    pub topic_arn: String,
    /// The lowest severity sent to the default topic (`NOTIFY_MIN_SEVERITY`, default HIGH).
    pub min_severity: Severity,
    /// Where the rules live (`RULES_URI`); `None` means no suppressions and no routes.
    pub rules_uri: Option<RulesUri>,
    /// Send a scan digest for every `Inspector2 Scan` event (`NOTIFY_SCAN_DIGEST=all`), not only
    /// for those with critical or high findings (the default, `findings`).
    pub digest_all_scans: bool,
}

impl RouterConfig {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads and validates the variables `env` gives; each error names its variable.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let region = region(env)?;
        let topic_arn = lookup(env, "NOTIFY_TOPIC_ARN")
            .ok_or_else(|| Error::config("NOTIFY_TOPIC_ARN", "is required: the SNS topic for findings"))?;
        check_sns_topic("NOTIFY_TOPIC_ARN", &topic_arn)?;
        let min_severity = match lookup(env, "NOTIFY_MIN_SEVERITY") {
            None => Severity::High,
            Some(text) => Severity::parse(&text)
                .filter(|s| *s != Severity::Untriaged)
                .ok_or_else(|| {
                    Error::config(
                        "NOTIFY_MIN_SEVERITY",
                        format!("{text:?} is not INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL"),
                    )
                })?,
        };
        let rules_uri = lookup(env, "RULES_URI")
            .map(|text| RulesUri::parse(&text).map_err(|message| Error::config("RULES_URI", message)))
            .transpose()?;
        let digest_all_scans = match lookup(env, "NOTIFY_SCAN_DIGEST").as_deref() {
            None | Some("findings") => false,
            Some("all") => true,
            Some(other) => {
                return Err(Error::config(
                    "NOTIFY_SCAN_DIGEST",
                    format!("{other:?} is not `findings` (the default) or `all`"),
                ))
            }
        };
        Ok(RouterConfig {
            region,
            topic_arn,
            min_severity,
            rules_uri,
            digest_all_scans,
        })
    }
}

/// findings-export's configuration (DESIGN.md, "findings-export").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// The region, from `AWS_REGION`.
    pub region: String,
    /// `EXPORT_BUCKET`, required.
    pub bucket: String,
    /// `EXPORT_KMS_KEY_ARN`, required: every object is SSE-KMS with it.
    pub kms_key_arn: String,
    /// `EXPORT_PREFIX` without slashes at either end (default `inspector/findings`).
    pub prefix: String,
    /// `EXPORT_MODE`, `EXPORT_FORMAT` and `EXPORT_STATUS`.
    pub defaults: Defaults,
}

impl ExportConfig {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads and validates the variables `env` gives; each error names its variable.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let region = region(env)?;
        let bucket = lookup(env, "EXPORT_BUCKET")
            .ok_or_else(|| Error::config("EXPORT_BUCKET", "is required: the bucket findings are exported to"))?;
        check_bucket("EXPORT_BUCKET", &bucket)?;
        let kms_key_arn = lookup(env, "EXPORT_KMS_KEY_ARN").ok_or_else(|| {
            Error::config(
                "EXPORT_KMS_KEY_ARN",
                "is required: the KMS key every export is encrypted with",
            )
        })?;
        let parts: Vec<&str> = kms_key_arn.splitn(6, ':').collect();
        let key_ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[2] == "kms"
            && (parts[5].starts_with("key/") || parts[5].starts_with("alias/"))
            && parts[5].len() > 6;
        if !key_ok {
            return Err(Error::config(
                "EXPORT_KMS_KEY_ARN",
                format!(
                    "expected arn:aws:kms:REGION:ACCOUNT:key/ID (Inspector needs the full ARN), got {kms_key_arn:?}"
                ),
            ));
        }
        let prefix = lookup(env, "EXPORT_PREFIX").unwrap_or_else(|| "inspector/findings".to_owned());
        let prefix = crate::export::layout::clean_prefix(&prefix).to_owned();
        if prefix.len() > 512 || prefix.contains("//") {
            return Err(Error::config(
                "EXPORT_PREFIX",
                format!("{prefix:?} must be at most 512 characters with no empty folder (//)"),
            ));
        }
        let mode = match lookup(env, "EXPORT_MODE") {
            None => Mode::Report,
            Some(text) => Mode::parse(&text)
                .ok_or_else(|| Error::config("EXPORT_MODE", format!("{text:?} is not report, stream or sbom")))?,
        };
        let format = lookup(env, "EXPORT_FORMAT")
            .map(|text| {
                ExportFormat::parse(&text, mode).ok_or_else(|| {
                    Error::config(
                        "EXPORT_FORMAT",
                        format!("{text:?} is not a format of EXPORT_MODE={}", mode.as_str()),
                    )
                })
            })
            .transpose()?;
        let status = match lookup(env, "EXPORT_STATUS") {
            None => StatusSelection::Active,
            Some(text) => StatusSelection::parse(&text).ok_or_else(|| {
                Error::config(
                    "EXPORT_STATUS",
                    format!("{text:?} is not ACTIVE, SUPPRESSED, CLOSED or ALL"),
                )
            })?,
        };
        Ok(ExportConfig {
            region,
            bucket,
            kms_key_arn,
            prefix,
            defaults: Defaults { mode, format, status },
        })
    }
}

/// An Inspector severity. INFORMATIONAL < LOW < MEDIUM < HIGH < CRITICAL; UNTRIAGED has no rank
/// and is always worth a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `INFORMATIONAL`.
    Informational,
    /// `LOW`.
    Low,
    /// `MEDIUM`.
    Medium,
    /// `HIGH`.
    High,
    /// `CRITICAL`.
    Critical,
    /// `UNTRIAGED`: not yet rated.
    Untriaged,
}

impl Severity {
    /// Parses the API's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "INFORMATIONAL" => Severity::Informational,
            "LOW" => Severity::Low,
            "MEDIUM" => Severity::Medium,
            "HIGH" => Severity::High,
            "CRITICAL" => Severity::Critical,
            "UNTRIAGED" => Severity::Untriaged,
            _ => return None,
        })
    }

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
            Severity::Untriaged => "UNTRIAGED",
        }
    }

    /// Whether a finding of this severity reaches a threshold; UNTRIAGED always does.
    pub fn reaches(self, threshold: Severity) -> bool {
        self == Severity::Untriaged || self >= threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<InstallerConfig, Error> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        InstallerConfig::from_lookup(&move |name| map.get(name).cloned())
    }

    fn variable_of(err: Error) -> &'static str {
        match err {
            Error::Config { variable, .. } => variable,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_design() {
        let cfg = config(&[("AWS_REGION", "ap-northeast-2")]).unwrap();
        assert_eq!(cfg.document, "AWS-ConfigureAWSPackage");
        assert_eq!(cfg.parameters["action"], vec!["Install"]);
        assert_eq!(cfg.parameters["name"], vec!["AmazonInspector2-InspectorSsmPlugin"]);
        assert_eq!(cfg.output_bucket, None);
        assert_eq!(cfg.output_prefix, "runcommand");
        assert_eq!(cfg.exclusion_tag, "InspectorEc2Exclusion");
        assert_eq!(cfg.ssm_wait, Duration::from_secs(240));
        assert_eq!(cfg.dedup, Duration::from_secs(24 * 3600));
        assert_eq!(cfg.notify_topic_arn, None);
        assert_eq!(cfg.instance_profile_arn, None);
    }

    #[test]
    fn classic_agent_document_is_accepted() {
        let cfg = config(&[
            ("AWS_REGION", "us-east-1"),
            ("AGENT_DOCUMENT", "AmazonInspector-ManageAWSAgent"),
            ("AGENT_PARAMETERS", r#"{"Operation":["Install"]}"#),
        ])
        .unwrap();
        assert_eq!(cfg.document, "AmazonInspector-ManageAWSAgent");
        assert_eq!(cfg.parameters["Operation"], vec!["Install"]);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let cfg = config(&[
            ("AWS_REGION", "us-east-1"),
            ("NOTIFY_TOPIC_ARN", ""),
            ("DEDUP_HOURS", " "),
        ])
        .unwrap();
        assert_eq!(cfg.notify_topic_arn, None);
        assert_eq!(cfg.dedup, Duration::from_secs(24 * 3600));
    }

    #[test]
    fn each_bad_variable_is_named() {
        let base = ("AWS_REGION", "us-east-1");
        let cases: &[(&str, &str, &str)] = &[
            ("AGENT_PARAMETERS", "[1,2]", "AGENT_PARAMETERS"),
            ("AGENT_PARAMETERS", r#"{"action":"Install"}"#, "AGENT_PARAMETERS"),
            ("AGENT_DOCUMENT", "bad name!", "AGENT_DOCUMENT"),
            ("RUN_COMMAND_OUTPUT_BUCKET", "My_Bucket", "RUN_COMMAND_OUTPUT_BUCKET"),
            ("INSTANCE_PROFILE_ARN", "my-profile", "INSTANCE_PROFILE_ARN"),
            ("SSM_WAIT_SECONDS", "ten", "SSM_WAIT_SECONDS"),
            ("SSM_WAIT_SECONDS", "901", "SSM_WAIT_SECONDS"),
            ("DEDUP_HOURS", "-1", "DEDUP_HOURS"),
            (
                "NOTIFY_TOPIC_ARN",
                "arn:aws:sqs:us-east-1:123456789012:q",
                "NOTIFY_TOPIC_ARN",
            ),
        ];
        for (name, value, expected) in cases {
            let err = config(&[base, (name, value)]).unwrap_err();
            let message = err.to_string();
            assert_eq!(variable_of(err), *expected, "{name}={value}");
            assert!(message.contains(expected), "message {message:?} names {expected}");
        }
    }

    #[test]
    fn missing_region_is_a_config_error() {
        assert_eq!(variable_of(config(&[]).unwrap_err()), "AWS_REGION");
    }

    fn sync_config(vars: &[(&str, &str)]) -> Result<SyncConfig, Error> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        SyncConfig::from_lookup(&|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn sync_config_defaults_and_both_uri_schemes() {
        let s3 = sync_config(&[
            ("AWS_REGION", "eu-west-1"),
            ("RULES_URI", "s3://rules-bucket/inspector/rules.json"),
        ])
        .unwrap();
        assert_eq!(
            s3.rules_uri,
            RulesUri::S3 {
                bucket: "rules-bucket".into(),
                key: "inspector/rules.json".into()
            }
        );
        assert_eq!(s3.managed_tag, ("ManagedBy".into(), "inspector-autopilot".into()));
        let ssm = sync_config(&[
            ("AWS_REGION", "eu-west-1"),
            ("RULES_URI", "ssm:/inspector-autopilot/rules"),
            ("MANAGED_TAG", "Owner:Tool=autopilot=v1"),
        ])
        .unwrap();
        assert_eq!(
            ssm.rules_uri,
            RulesUri::Ssm {
                name: "/inspector-autopilot/rules".into()
            }
        );
        assert_eq!(ssm.managed_tag, ("Owner:Tool".into(), "autopilot=v1".into()));
    }

    #[test]
    fn each_bad_sync_variable_is_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("AWS_REGION", "r")], "RULES_URI"),
            (&[("AWS_REGION", "r"), ("RULES_URI", "https://x/y")], "RULES_URI"),
            (&[("AWS_REGION", "r"), ("RULES_URI", "s3://bucket-only")], "RULES_URI"),
            (&[("AWS_REGION", "r"), ("RULES_URI", "ssm:")], "RULES_URI"),
            (
                &[
                    ("AWS_REGION", "r"),
                    ("RULES_URI", "s3://b/k"),
                    ("MANAGED_TAG", "no-equals"),
                ],
                "MANAGED_TAG",
            ),
            (
                &[
                    ("AWS_REGION", "r"),
                    ("RULES_URI", "s3://b/k"),
                    ("MANAGED_TAG", "aws:x=y"),
                ],
                "MANAGED_TAG",
            ),
            (
                &[("AWS_REGION", "r"), ("RULES_URI", "s3://b/k"), ("MANAGED_TAG", "k=")],
                "MANAGED_TAG",
            ),
            (&[("RULES_URI", "s3://b/k")], "AWS_REGION"),
        ];
        for (vars, variable) in cases {
            let err = sync_config(vars).unwrap_err();
            assert_eq!(variable_of(err), *variable, "{vars:?}");
        }
    }

    fn router_config(vars: &[(&str, &str)]) -> Result<RouterConfig, Error> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        RouterConfig::from_lookup(&|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    const TOPIC: &str = "arn:aws:sns:ap-northeast-2:123456789012:inspector-autopilot";

    #[test]
    fn router_config_defaults_follow_the_design() {
        let config = router_config(&[("AWS_REGION", "ap-northeast-2"), ("NOTIFY_TOPIC_ARN", TOPIC)]).unwrap();
        assert_eq!(config.min_severity, Severity::High);
        assert_eq!(config.rules_uri, None);
        assert!(!config.digest_all_scans);
        let config = router_config(&[
            ("AWS_REGION", "ap-northeast-2"),
            ("NOTIFY_TOPIC_ARN", TOPIC),
            ("NOTIFY_MIN_SEVERITY", "MEDIUM"),
            ("RULES_URI", "ssm:/rules"),
            ("NOTIFY_SCAN_DIGEST", "all"),
        ])
        .unwrap();
        assert_eq!(config.min_severity, Severity::Medium);
        assert!(config.digest_all_scans);
    }

    #[test]
    fn each_bad_router_variable_is_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("AWS_REGION", "r")], "NOTIFY_TOPIC_ARN"),
            (
                &[("AWS_REGION", "r"), ("NOTIFY_TOPIC_ARN", "topic")],
                "NOTIFY_TOPIC_ARN",
            ),
            (
                &[
                    ("AWS_REGION", "r"),
                    ("NOTIFY_TOPIC_ARN", TOPIC),
                    ("NOTIFY_MIN_SEVERITY", "high"),
                ],
                "NOTIFY_MIN_SEVERITY",
            ),
            (
                &[
                    ("AWS_REGION", "r"),
                    ("NOTIFY_TOPIC_ARN", TOPIC),
                    ("NOTIFY_MIN_SEVERITY", "UNTRIAGED"),
                ],
                "NOTIFY_MIN_SEVERITY",
            ),
            (
                &[
                    ("AWS_REGION", "r"),
                    ("NOTIFY_TOPIC_ARN", TOPIC),
                    ("RULES_URI", "http://x"),
                ],
                "RULES_URI",
            ),
            (
                &[
                    ("AWS_REGION", "r"),
                    ("NOTIFY_TOPIC_ARN", TOPIC),
                    ("NOTIFY_SCAN_DIGEST", "some"),
                ],
                "NOTIFY_SCAN_DIGEST",
            ),
        ];
        for (vars, variable) in cases {
            assert_eq!(variable_of(router_config(vars).unwrap_err()), *variable, "{vars:?}");
        }
    }

    #[test]
    fn severities_are_ordered_and_untriaged_always_notifies() {
        assert!(Severity::Informational < Severity::Low && Severity::Low < Severity::Medium);
        assert!(Severity::Medium < Severity::High && Severity::High < Severity::Critical);
        assert!(Severity::High.reaches(Severity::High));
        assert!(!Severity::Medium.reaches(Severity::High));
        assert!(Severity::Untriaged.reaches(Severity::Critical));
        for s in ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "UNTRIAGED"] {
            assert_eq!(Severity::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Severity::parse("Critical"), None);
    }

    fn export_config(vars: &[(&str, &str)]) -> Result<ExportConfig, Error> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ExportConfig::from_lookup(&move |name| map.get(name).cloned())
    }

    const EXPORT_KEY: &str = "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn export_defaults_follow_the_design() {
        let cfg = export_config(&[
            ("AWS_REGION", "ap-northeast-2"),
            ("EXPORT_BUCKET", "inspectorbucket"),
            ("EXPORT_KMS_KEY_ARN", EXPORT_KEY),
        ])
        .unwrap();
        assert_eq!(cfg.prefix, "inspector/findings");
        assert_eq!(cfg.defaults.mode, Mode::Report);
        assert_eq!(cfg.defaults.format, None);
        assert_eq!(cfg.defaults.status, StatusSelection::Active);
        let cfg = export_config(&[
            ("AWS_REGION", "ap-northeast-2"),
            ("EXPORT_BUCKET", "inspectorbucket"),
            ("EXPORT_KMS_KEY_ARN", EXPORT_KEY),
            ("EXPORT_PREFIX", "/exports/"),
            ("EXPORT_MODE", "stream"),
            ("EXPORT_FORMAT", "csv"),
            ("EXPORT_STATUS", "all"),
        ])
        .unwrap();
        assert_eq!(cfg.prefix, "exports");
        assert_eq!(cfg.defaults.format, Some(ExportFormat::Csv));
        assert_eq!(cfg.defaults.status, StatusSelection::All);
    }

    #[test]
    fn each_bad_export_variable_is_named() {
        let base = [
            ("AWS_REGION", "ap-northeast-2"),
            ("EXPORT_BUCKET", "inspectorbucket"),
            ("EXPORT_KMS_KEY_ARN", EXPORT_KEY),
        ];
        for (name, value) in [
            ("EXPORT_BUCKET", ""),
            ("EXPORT_BUCKET", "Bad_Bucket"),
            ("EXPORT_KMS_KEY_ARN", ""),
            ("EXPORT_KMS_KEY_ARN", "1234abcd-12ab-34cd-56ef-1234567890ab"),
            ("EXPORT_KMS_KEY_ARN", "arn:aws:s3:::bucket"),
            ("EXPORT_PREFIX", "a//b"),
            ("EXPORT_MODE", "csv"),
            ("EXPORT_FORMAT", "NDJSON"),
            ("EXPORT_STATUS", "OPEN"),
        ] {
            let mut vars: Vec<(&str, &str)> = base.iter().copied().filter(|(k, _)| *k != name).collect();
            vars.push((name, value));
            let err = export_config(&vars).unwrap_err();
            assert_eq!(variable_of(err), name, "{name}={value}");
        }
    }
}
