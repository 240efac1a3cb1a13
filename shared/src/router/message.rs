//! SNS messages for findings and scan digests: an ASCII subject of at most 100 characters, a
//! plain-text body for people that ends with one JSON object for machines, and string message
//! attributes for subscription filter policies. Every value is read defensively from the event:
//! a missing or odd field is left out, never a reason to fail.

use std::collections::BTreeMap;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::{json, Map, Value};

use crate::filter::matcher::finding_time;
use crate::ports::Notification;
use crate::text::clip;

/// SNS's subject limit.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// The description is cut here: a readable message, far inside SNS's 256 KiB.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// Packages listed in the body and the JSON part; the rest are counted.
pub const MAX_PACKAGES: usize = 20;
/// Any other single value echoed from the event is cut here.
const MAX_VALUE_CHARS: usize = 1_000;
/// The line that separates the text for people from the JSON for machines.
pub const JSON_MARKER: &str = "--- finding (JSON) ---";

/// A string at `pointer`, if it is one and not empty.
fn text<'a>(finding: &'a Value, pointer: &str) -> Option<&'a str> {
    finding
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A number at `pointer`, written as Inspector writes it.
fn number(finding: &Value, pointer: &str) -> Option<String> {
    finding
        .pointer(pointer)
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())
        .map(|n| n.to_string())
}

/// A timestamp in RFC 3339 when it parses (RFC 3339, epoch seconds or Inspector's
/// `Mon Nov 30 18:14:32.123 UTC 2026`), else the raw text: a date never fails a finding.
pub fn timestamp(value: Option<&Value>) -> Option<String> {
    let value = value?;
    // To the millisecond, Inspector's precision, without the float's noise.
    let parsed = finding_time(value)
        .map(|secs| DateTime::from_millis((secs * 1000.0).round() as i64))
        .and_then(|at| at.fmt(Format::DateTime).ok());
    parsed.or_else(|| value.as_str().filter(|s| !s.is_empty()).map(|s| clip(s, 64)))
}

/// Printable ASCII only: SNS rejects other subject characters. Others become `?`, runs of
/// whitespace one space.
fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// [`ascii`], cut to `max` characters with `...` marking the cut.
fn ascii_clip(text: &str, max: usize) -> String {
    let text = ascii(text);
    match text.len() > max {
        // All ASCII, so any byte index is a character boundary.
        true => format!("{}...", text[..max.saturating_sub(3)].trim_end()),
        false => text,
    }
}

/// `[SEVERITY] title on resource`, at most 100 ASCII characters; the title gives way first.
pub fn subject(severity: &str, title: &str, resource: &str) -> String {
    let head = format!("[{}] ", ascii_clip(severity, 16));
    let tail = match resource {
        "" => String::new(),
        r => format!(" on {}", ascii_clip(r, 40)),
    };
    let room = MAX_SUBJECT_CHARS - head.len() - tail.len();
    format!("{head}{}{tail}", ascii_clip(title, room))
}

/// A finding, read from an `Inspector2 Finding` event's `detail` (or a `ListFindings` item).
pub struct FindingView<'a> {
    finding: &'a Value,
    region: Option<&'a str>,
}

impl<'a> FindingView<'a> {
    /// Reads `finding`; `region` is the event's, used when the resource has none.
    pub fn new(finding: &'a Value, region: Option<&'a str>) -> Self {
        FindingView { finding, region }
    }

    /// `severity`, as the event spells it.
    pub fn severity(&self) -> &'a str {
        text(self.finding, "/severity").unwrap_or("UNTRIAGED")
    }

    /// `title`.
    pub fn title(&self) -> &'a str {
        text(self.finding, "/title").unwrap_or("Inspector finding")
    }

    /// `findingArn`.
    pub fn arn(&self) -> Option<&'a str> {
        text(self.finding, "/findingArn")
    }

    fn resource(&self) -> Option<&'a Value> {
        self.finding.pointer("/resources/0")
    }

    /// The first resource's id.
    pub fn resource_id(&self) -> &'a str {
        self.resource().and_then(|r| text(r, "/id")).unwrap_or_default()
    }

    /// How a person names the resource: `repository:tag` for an image, the function name for a
    /// Lambda function, else the resource id.
    pub fn resource_label(&self) -> String {
        let resource = self.resource();
        let detail = |pointer: &str| resource.and_then(|r| text(r, pointer));
        if let Some(repository) = detail("/details/awsEcrContainerImage/repositoryName") {
            return match detail("/details/awsEcrContainerImage/imageTags/0") {
                Some(tag) => format!("{repository}:{tag}"),
                None => repository.to_owned(),
            };
        }
        detail("/details/awsLambdaFunction/functionName")
            .unwrap_or(self.resource_id())
            .to_owned()
    }

    fn region(&self) -> Option<&'a str> {
        self.resource().and_then(|r| text(r, "/region")).or(self.region)
    }

    fn packages(&self) -> Vec<String> {
        let Some(list) = self
            .finding
            .pointer("/packageVulnerabilityDetails/vulnerablePackages")
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        let mut lines: Vec<String> = list
            .iter()
            .take(MAX_PACKAGES)
            .map(|p| {
                let name = text(p, "/name").unwrap_or("?");
                let version = text(p, "/version").unwrap_or("?");
                match text(p, "/fixedInVersion").filter(|v| *v != "NotAvailable") {
                    Some(fixed) => format!(
                        "{} {} -> fixed in {}",
                        clip(name, 200),
                        clip(version, 100),
                        clip(fixed, 100)
                    ),
                    None => format!("{} {} (no fixed version yet)", clip(name, 200), clip(version, 100)),
                }
            })
            .collect();
        if list.len() > MAX_PACKAGES {
            lines.push(format!("and {} more", list.len() - MAX_PACKAGES));
        }
        lines
    }

    fn tags(&self) -> String {
        let Some(tags) = self.resource().and_then(|r| r.get("tags")).and_then(Value::as_object) else {
            return String::new();
        };
        ["Name", "env", "team"]
            .iter()
            .filter_map(|key| {
                tags.get(*key)
                    .and_then(Value::as_str)
                    .map(|v| format!("{key}={}", clip(v, 128)))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn console_link(&self) -> Option<String> {
        let arn = self.arn()?;
        let region = self.region().unwrap_or("us-east-1");
        let encoded: String = arn
            .chars()
            .map(|c| match c {
                ':' => "%3A".to_owned(),
                '/' => "%2F".to_owned(),
                c => c.to_string(),
            })
            .collect();
        Some(format!(
            "https://{region}.console.aws.amazon.com/inspector/v2/home?region={region}#/findings/all?findingArn={encoded}"
        ))
    }

    /// The string message attributes: `severity`, `findingType`, `resourceType`, `awsAccountId`,
    /// `vulnerabilityId`. SNS refuses empty values, so a missing one is left out.
    pub fn attributes(&self) -> BTreeMap<String, String> {
        let f = self.finding;
        [
            ("severity", Some(self.severity())),
            ("findingType", text(f, "/type")),
            ("resourceType", self.resource().and_then(|r| text(r, "/type"))),
            ("awsAccountId", text(f, "/awsAccountId")),
            (
                "vulnerabilityId",
                text(f, "/packageVulnerabilityDetails/vulnerabilityId"),
            ),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), clip(v, 256))))
        .collect()
    }

    /// The message to `topic_arn`.
    pub fn notification(&self, topic_arn: &str) -> Notification {
        Notification {
            topic_arn: topic_arn.to_owned(),
            subject: subject(self.severity(), self.title(), &self.resource_label()),
            message: self.body(),
            attributes: self.attributes(),
        }
    }

    /// The plain-text body, ending with the JSON part after [`JSON_MARKER`].
    pub fn body(&self) -> String {
        let f = self.finding;
        let mut lines = vec![clip(self.title(), MAX_VALUE_CHARS), String::new()];
        let mut line = |label: &str, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                lines.push(format!("{label:<18}{value}"));
            }
        };
        let score = number(f, "/inspectorScore");
        line(
            "Severity:",
            Some(match &score {
                Some(score) => format!("{} (Inspector score {score})", self.severity()),
                None => self.severity().to_owned(),
            }),
        );
        let vulnerability = text(f, "/packageVulnerabilityDetails/vulnerabilityId").map(|id| {
            match text(f, "/packageVulnerabilityDetails/vendorSeverity") {
                Some(vendor) => format!("{} (vendor severity {})", clip(id, 200), clip(vendor, 40)),
                None => clip(id, 200),
            }
        });
        line("Vulnerability:", vulnerability);
        let packages = self.packages();
        line("Package:", packages.first().cloned());
        for more in packages.iter().skip(1) {
            line("", Some(more.clone()));
        }
        let resource_type = self.resource().and_then(|r| text(r, "/type"));
        line(
            "Resource:",
            Some(self.resource_id())
                .filter(|id| !id.is_empty())
                .map(|id| match resource_type {
                    Some(t) => format!("{} ({})", clip(id, 300), clip(t, 60)),
                    None => clip(id, 300),
                }),
        );
        line("Tags:", Some(self.tags()));
        line("Account:", text(f, "/awsAccountId").map(|a| clip(a, 20)));
        line("Region:", self.region().map(|r| clip(r, 30)));
        line("Exploit available:", text(f, "/exploitAvailable").map(|v| clip(v, 20)));
        line("Fix available:", text(f, "/fixAvailable").map(|v| clip(v, 20)));
        line("EPSS score:", number(f, "/epss/score"));
        line("First observed:", timestamp(f.get("firstObservedAt")));
        line("Last observed:", timestamp(f.get("lastObservedAt")));
        line(
            "Remediation:",
            text(f, "/remediation/recommendation/text").map(|t| clip(t, MAX_VALUE_CHARS)),
        );
        line("Console:", self.console_link());
        if let Some(description) = text(f, "/description") {
            lines.push(String::new());
            lines.push(clip(description, MAX_DESCRIPTION_CHARS));
        }
        lines.push(String::new());
        lines.push(JSON_MARKER.to_owned());
        lines.push(self.machine_part().to_string());
        lines.join("\n")
    }

    /// The JSON part: the facts above, as values, for machines.
    fn machine_part(&self) -> Value {
        let f = self.finding;
        let mut out = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                out.insert(key.to_owned(), value);
            }
        };
        let string = |pointer: &str| text(f, pointer).map(|s| Value::String(clip(s, MAX_VALUE_CHARS)));
        put("findingArn", string("/findingArn"));
        put("severity", Some(Value::String(self.severity().to_owned())));
        put("title", string("/title"));
        put("type", string("/type"));
        put(
            "inspectorScore",
            f.get("inspectorScore").filter(|v| v.is_number()).cloned(),
        );
        put("epssScore", f.pointer("/epss/score").filter(|v| v.is_number()).cloned());
        put(
            "vulnerabilityId",
            string("/packageVulnerabilityDetails/vulnerabilityId"),
        );
        put("vendorSeverity", string("/packageVulnerabilityDetails/vendorSeverity"));
        put("exploitAvailable", string("/exploitAvailable"));
        put("fixAvailable", string("/fixAvailable"));
        put("awsAccountId", string("/awsAccountId"));
        put("region", self.region().map(|r| Value::String(clip(r, 30))));
        put(
            "resourceId",
            Some(self.resource_id())
                .filter(|id| !id.is_empty())
                .map(|id| json!(clip(id, 300))),
        );
        put(
            "resourceType",
            self.resource().and_then(|r| text(r, "/type")).map(|t| json!(t)),
        );
        put(
            "firstObservedAt",
            timestamp(f.get("firstObservedAt")).map(Value::String),
        );
        put("lastObservedAt", timestamp(f.get("lastObservedAt")).map(Value::String));
        put("updatedAt", timestamp(f.get("updatedAt")).map(Value::String));
        let packages: Vec<Value> = f
            .pointer("/packageVulnerabilityDetails/vulnerablePackages")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .take(MAX_PACKAGES)
                    .map(|p| {
                        json!({
                            "name": text(p, "/name").map(|s| clip(s, 200)),
                            "version": text(p, "/version").map(|s| clip(s, 100)),
                            "fixedInVersion": text(p, "/fixedInVersion").map(|s| clip(s, 100)),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !packages.is_empty() {
            put("packages", Some(Value::Array(packages)));
        }
        put("consoleUrl", self.console_link().map(Value::String));
        Value::Object(out)
    }
}

/// The digest of an `Inspector2 Scan` event: which resource, which scan, the counts.
pub struct ScanDigest {
    /// The scanned resource (instance id, image or function).
    pub resource: String,
    /// `scan-status`, for example `INITIAL_SCAN_COMPLETE`.
    pub status: String,
    /// CRITICAL, HIGH, MEDIUM, LOW and TOTAL counts, 0 when absent.
    pub counts: BTreeMap<&'static str, u64>,
}

impl ScanDigest {
    /// Reads an `Inspector2 Scan` event; `None` when it names no resource.
    pub fn from_event(event: &Value) -> Option<Self> {
        let detail = event.get("detail")?;
        let resource = ["/instance-id", "/repository-name", "/function-name"]
            .iter()
            .find_map(|p| text(detail, p))
            .or_else(|| text(event, "/resources/0"))?;
        let counts = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "TOTAL"]
            .into_iter()
            .map(|k| {
                let n = detail
                    .pointer(&format!("/finding-severity-counts/{k}"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                (k, n)
            })
            .collect();
        Some(ScanDigest {
            resource: clip(resource, 300),
            status: clip(text(detail, "/scan-status").unwrap_or("SCAN_COMPLETE"), 60),
            counts,
        })
    }

    /// Critical plus high.
    pub fn serious(&self) -> u64 {
        self.counts["CRITICAL"] + self.counts["HIGH"]
    }

    /// The digest message.
    pub fn notification(&self, topic_arn: &str) -> Notification {
        let scan = match self.status.as_str() {
            "INITIAL_SCAN_COMPLETE" => "initial scan",
            _ => "scan",
        };
        let summary = format!(
            "{} critical, {} high, {} medium",
            self.counts["CRITICAL"], self.counts["HIGH"], self.counts["MEDIUM"]
        );
        let line = format!("{scan} of {} complete: {summary}", self.resource);
        let subject = ascii_clip(&format!("Inspector {line}"), MAX_SUBJECT_CHARS);
        let message = format!(
            "{line}\n\nStatus:           {}\nTotal findings:   {}\nLow:              {}\n\n{JSON_MARKER}\n{}",
            self.status,
            self.counts["TOTAL"],
            self.counts["LOW"],
            json!({"resource": self.resource, "scanStatus": self.status, "counts": self.counts})
        );
        let severity = match (self.counts["CRITICAL"], self.counts["HIGH"]) {
            (c, _) if c > 0 => "CRITICAL",
            (_, h) if h > 0 => "HIGH",
            _ => "INFORMATIONAL",
        };
        Notification {
            topic_arn: topic_arn.to_owned(),
            subject,
            message,
            attributes: BTreeMap::from([
                ("severity".to_owned(), severity.to_owned()),
                ("findingType".to_owned(), "SCAN_DIGEST".to_owned()),
            ]),
        }
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
