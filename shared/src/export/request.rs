//! What one findings-export invocation is asked to do: the mode, format, status selection, `since`
//! and extra `filterCriteria`, from an on-demand payload over the environment's defaults, or
//! the defaults alone for a schedule. Every problem in a payload is reported at once.

use aws_smithy_types::date_time::Format as DateFormat;
use aws_smithy_types::DateTime;
use serde_json::{json, Map, Value};

use crate::filter::FilterCriteria;
use crate::text::clip;

/// How the findings leave Inspector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Inspector's own `CreateFindingsReport`.
    Report,
    /// `ListFindings` paged into a multipart upload by this function.
    Stream,
    /// Inspector's `CreateSbomExport`.
    Sbom,
}

impl Mode {
    /// Parses `report`, `stream` or `sbom` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "report" => Some(Mode::Report),
            "stream" => Some(Mode::Stream),
            "sbom" => Some(Mode::Sbom),
            _ => None,
        }
    }

    /// The lowercase name, as answers carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Report => "report",
            Mode::Stream => "stream",
            Mode::Sbom => "sbom",
        }
    }

    /// The format used when none is given (DESIGN.md: CSV for reports, NDJSON for streams).
    pub fn default_format(self) -> ExportFormat {
        match self {
            Mode::Report => ExportFormat::Csv,
            Mode::Stream => ExportFormat::Ndjson,
            Mode::Sbom => ExportFormat::CycloneDx14,
        }
    }

    fn formats(self) -> &'static str {
        match self {
            Mode::Report => "CSV or JSON",
            Mode::Stream => "NDJSON (or JSON) or CSV",
            Mode::Sbom => "CYCLONEDX_1_4 or SPDX_2_3",
        }
    }
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV: the native report's columns.
    Csv,
    /// A JSON report (report mode).
    Json,
    /// One finding a line (stream mode).
    Ndjson,
    /// CycloneDX 1.4 (sbom mode).
    CycloneDx14,
    /// SPDX 2.3 (sbom mode).
    Spdx23,
}

impl ExportFormat {
    /// Parses a format for `mode`; `JSON` in stream mode means NDJSON, and `CYCLONEDX`/`SPDX`
    /// name the one version Inspector offers.
    pub fn parse(text: &str, mode: Mode) -> Option<Self> {
        let format = match (text.to_ascii_uppercase().as_str(), mode) {
            ("CSV", Mode::Report | Mode::Stream) => ExportFormat::Csv,
            ("JSON", Mode::Report) => ExportFormat::Json,
            ("JSON" | "NDJSON", Mode::Stream) => ExportFormat::Ndjson,
            ("CYCLONEDX_1_4" | "CYCLONEDX", Mode::Sbom) => ExportFormat::CycloneDx14,
            ("SPDX_2_3" | "SPDX", Mode::Sbom) => ExportFormat::Spdx23,
            _ => return None,
        };
        Some(format)
    }

    /// The API's (or, for NDJSON, our) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "CSV",
            ExportFormat::Json => "JSON",
            ExportFormat::Ndjson => "NDJSON",
            ExportFormat::CycloneDx14 => "CYCLONEDX_1_4",
            ExportFormat::Spdx23 => "SPDX_2_3",
        }
    }
}

/// Which findings, by status (the console's Active / Suppressed / Closed / Show all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSelection {
    /// `ACTIVE`.
    Active,
    /// `SUPPRESSED`.
    Suppressed,
    /// `CLOSED`.
    Closed,
    /// All three.
    All,
}

impl StatusSelection {
    /// Parses `ACTIVE`, `SUPPRESSED`, `CLOSED` or `ALL` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "ACTIVE" => Some(StatusSelection::Active),
            "SUPPRESSED" => Some(StatusSelection::Suppressed),
            "CLOSED" => Some(StatusSelection::Closed),
            "ALL" => Some(StatusSelection::All),
            _ => None,
        }
    }

    /// The selection's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusSelection::Active => "ACTIVE",
            StatusSelection::Suppressed => "SUPPRESSED",
            StatusSelection::Closed => "CLOSED",
            StatusSelection::All => "ALL",
        }
    }

    /// The `findingStatus` values it stands for: always at least one, so that every query
    /// carries a status filter.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            StatusSelection::Active => &["ACTIVE"],
            StatusSelection::Suppressed => &["SUPPRESSED"],
            StatusSelection::Closed => &["CLOSED"],
            StatusSelection::All => &["ACTIVE", "SUPPRESSED", "CLOSED"],
        }
    }
}

/// Which findings by update time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Since {
    /// Every finding.
    Always,
    /// Findings updated at or after the newest manifest's watermark (`"last"`).
    LastExport,
    /// Findings updated at or after this time (an RFC 3339 `since`).
    Time(DateTime),
}

/// The defaults an invocation starts from: the environment's `EXPORT_MODE`, `EXPORT_FORMAT` and
/// `EXPORT_STATUS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    /// `EXPORT_MODE`.
    pub mode: Mode,
    /// `EXPORT_FORMAT`, if set (already checked against `mode`).
    pub format: Option<ExportFormat>,
    /// `EXPORT_STATUS`.
    pub status: StatusSelection,
}

/// One invocation's export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRequest {
    /// How.
    pub mode: Mode,
    /// In what format.
    pub format: ExportFormat,
    /// Which statuses.
    pub status: StatusSelection,
    /// From when.
    pub since: Since,
    /// Extra criteria from the payload, ANDed with the status (and `since`) filter.
    pub filter: Option<FilterCriteria>,
    /// A report or SBOM export to resume instead of starting one.
    pub report_id: Option<String>,
    /// What asked for it: `schedule` or `on-demand`.
    pub cause: &'static str,
}

/// The keys an on-demand payload may have.
const PAYLOAD_KEYS: [&str; 6] = ["mode", "format", "status", "since", "filterCriteria", "reportId"];

impl ExportRequest {
    /// The export the environment's defaults describe, as a schedule runs it.
    pub fn scheduled(defaults: &Defaults) -> Self {
        ExportRequest {
            mode: defaults.mode,
            format: defaults.format.unwrap_or_else(|| defaults.mode.default_format()),
            status: defaults.status,
            since: Since::Always,
            filter: None,
            report_id: None,
            cause: "schedule",
        }
    }

    /// Reads an invocation's payload. `Err` carries every problem, in words, for an `ignored`
    /// answer: a payload that is wrong now is wrong on every retry.
    pub fn from_payload(payload: &Value, defaults: &Defaults) -> Result<Self, String> {
        let Some(object) = payload.as_object() else {
            return Err(format!(
                "expected a JSON object like {{\"mode\":\"stream\",\"status\":\"ALL\"}} or a Scheduled Event, got {}",
                clip(&payload.to_string(), 200)
            ));
        };
        if let Some(kind) = object.get("detail-type") {
            return match kind.as_str() {
                Some("Scheduled Event") => Ok(Self::scheduled(defaults)),
                _ => Err(format!(
                    "detail-type {} is not a trigger of findings-export (only Scheduled Event)",
                    clip(&kind.to_string(), 100)
                )),
            };
        }
        let mut problems = Vec::new();
        let unknown: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|k| !PAYLOAD_KEYS.contains(k))
            .collect();
        if !unknown.is_empty() {
            problems.push(format!(
                "unknown key(s) {}; expected {}",
                clip(&unknown.join(", "), 200),
                PAYLOAD_KEYS.join(", ")
            ));
        }
        let text_of = |key: &str, problems: &mut Vec<String>| match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                problems.push(format!(
                    "{key}: expected a string, got {}",
                    clip(&other.to_string(), 100)
                ));
                None
            }
        };

        let mode = match text_of("mode", &mut problems) {
            None => defaults.mode,
            Some(text) => Mode::parse(&text).unwrap_or_else(|| {
                problems.push(format!("mode: {:?} is not report, stream or sbom", clip(&text, 100)));
                defaults.mode
            }),
        };
        let format = match text_of("format", &mut problems) {
            // The environment's format holds where it suits the mode; else the mode's default.
            None => defaults
                .format
                .filter(|f| ExportFormat::parse(f.as_str(), mode).is_some())
                .unwrap_or_else(|| mode.default_format()),
            Some(text) => ExportFormat::parse(&text, mode).unwrap_or_else(|| {
                problems.push(format!(
                    "format: {:?} is not a {} format ({})",
                    clip(&text, 100),
                    mode.as_str(),
                    mode.formats()
                ));
                mode.default_format()
            }),
        };
        let status = match text_of("status", &mut problems) {
            None => defaults.status,
            Some(text) => StatusSelection::parse(&text).unwrap_or_else(|| {
                problems.push(format!(
                    "status: {:?} is not ACTIVE, SUPPRESSED, CLOSED or ALL",
                    clip(&text, 100)
                ));
                defaults.status
            }),
        };
        let since = match text_of("since", &mut problems) {
            None => Since::Always,
            Some(text) if text == "last" => Since::LastExport,
            Some(text) => match DateTime::from_str(&text, DateFormat::DateTime) {
                Ok(at) => Since::Time(at),
                Err(_) => {
                    problems.push(format!(
                        "since: {:?} is neither \"last\" nor an RFC 3339 time",
                        clip(&text, 100)
                    ));
                    Since::Always
                }
            },
        };
        let filter = match object.get("filterCriteria") {
            None | Some(Value::Null) => None,
            Some(value) => match FilterCriteria::from_json(value, "filterCriteria") {
                Ok(criteria) => Some(criteria),
                Err(errors) => {
                    problems.extend(errors.iter().take(20).map(ToString::to_string));
                    None
                }
            },
        };
        let report_id = text_of("reportId", &mut problems);

        if let Some(criteria) = &filter {
            if criteria.get("findingStatus").is_some() {
                problems.push(
                    "filterCriteria.findingStatus: give the status with \"status\" (ACTIVE, SUPPRESSED, CLOSED or ALL)"
                        .into(),
                );
            }
            if since != Since::Always && criteria.get("updatedAt").is_some() {
                problems.push("filterCriteria.updatedAt: cannot be combined with \"since\"".into());
            }
        }
        match mode {
            Mode::Sbom => {
                for key in ["status", "since", "filterCriteria"] {
                    if object.get(key).is_some_and(|v| !v.is_null()) {
                        problems.push(format!(
                            "{key}: does not apply to sbom mode, which exports every resource"
                        ));
                    }
                }
            }
            Mode::Report if since == Since::LastExport => {
                problems.push("since: \"last\" reads stream-mode manifests; give report mode an RFC 3339 time".into())
            }
            Mode::Stream if report_id.is_some() => {
                problems.push("reportId: only report and sbom mode have reports to resume".into())
            }
            _ => {}
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(ExportRequest {
            mode,
            format,
            status,
            since,
            filter,
            report_id,
            cause: "on-demand",
        })
    }

    /// The criteria of the query: the payload's, ANDed with the status selection and, when given,
    /// `updatedAt` from `since` on.
    pub fn criteria(&self, since: Option<DateTime>) -> Result<FilterCriteria, crate::Error> {
        let mut fields = match self.filter.as_ref().map(FilterCriteria::to_json) {
            Some(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        let statuses: Vec<Value> = self
            .status
            .statuses()
            .iter()
            .map(|s| json!({"comparison": "EQUALS", "value": s}))
            .collect();
        fields.insert("findingStatus".into(), Value::Array(statuses));
        if let Some(since) = since.and_then(|at| at.fmt(DateFormat::DateTime).ok()) {
            fields.insert("updatedAt".into(), json!([{ "startInclusive": since }]));
        }
        // Each piece was valid on its own and the names are distinct; never widen the export if
        // that ever stops holding.
        FilterCriteria::from_json(&Value::Object(fields), "filterCriteria").map_err(|errors| {
            let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
            crate::Error::config("filterCriteria", problems.join("; "))
        })
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
