//! CSV rows with the column set and order of Inspector's native findings report, read from the
//! API's finding JSON. RFC 4180 quoting: a cell with a comma, quote, CR or LF is quoted, and its
//! quotes doubled. A column a finding has no value for is empty.

use std::io::{self, Write};

use aws_smithy_types::date_time::Format;
use serde_json::Value;

use crate::filter::matcher::finding_time;

/// The native CSV report's columns, in its order (Inspector v2 console "Export findings", CSV).
pub const COLUMNS: [&str; 55] = [
    "AWS Account Id",
    "Severity",
    "Fix Available",
    "Finding Type",
    "Title",
    "Description",
    "Finding ARN",
    "First Seen",
    "Last Seen",
    "Last Updated",
    "Resource ID",
    "Container Image Tags",
    "Region",
    "Platform",
    "Resource Tags",
    "Affected Packages",
    "Package Installed Version",
    "Fixed in Version",
    "Package Remediation",
    "File Path",
    "Network Paths",
    "Age (Days)",
    "Remediation",
    "Inspector Score",
    "Inspector Score Vector",
    "Status",
    "Vulnerability Id",
    "Vendor",
    "Vendor Severity",
    "Vendor Advisory",
    "Vendor Advisory Published",
    "NVD CVSS3 Score",
    "NVD CVSS3 Vector",
    "NVD CVSS2 Score",
    "NVD CVSS2 Vector",
    "Vendor CVSS3 Score",
    "Vendor CVSS3 Vector",
    "Vendor CVSS2 Score",
    "Vendor CVSS2 Vector",
    "Resource Type",
    "Ami",
    "Resource Public Ipv4",
    "Resource Private Ipv4",
    "Resource Ipv6",
    "Resource Vpc",
    "Port Range",
    "Epss Score",
    "Exploit Available",
    "Last Exploited At",
    "Lambda Layers",
    "Lambda Package Type",
    "Lambda Last Updated At",
    "Reference Urls",
    "Detector Name",
    "Package Manager",
];

/// Writes the header row.
pub fn write_header(out: &mut impl Write) -> io::Result<()> {
    write_record(out, COLUMNS.iter().map(|c| (*c).to_owned()))
}

/// Writes one finding as a row; `now` (epoch seconds) is the reference for "Age (Days)".
pub fn write_row(out: &mut impl Write, finding: &Value, now: f64) -> io::Result<()> {
    write_record(out, cells(finding, now).into_iter())
}

fn write_record(out: &mut impl Write, cells: impl Iterator<Item = String>) -> io::Result<()> {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        if cell.contains([',', '"', '\r', '\n']) {
            out.write_all(b"\"")?;
            out.write_all(cell.replace('"', "\"\"").as_bytes())?;
            out.write_all(b"\"")?;
        } else {
            out.write_all(cell.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

/// A scalar as text: strings as they are, numbers and booleans printed, anything else empty.
fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// A timestamp (epoch seconds, RFC 3339 or Inspector's event format) as RFC 3339; an
/// unreadable one as it came.
fn time(value: Option<&Value>) -> String {
    value
        .and_then(finding_time)
        .and_then(|secs| super::epoch_time(secs).fmt(Format::DateTime).ok())
        .unwrap_or_else(|| text(value))
}

/// The text of `key` in every item of the array at `pointer`, joined with commas.
fn each(finding: &Value, pointer: &str, key: &str) -> String {
    list(finding.pointer(pointer))
        .iter()
        .map(|item| text(item.get(key)))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

fn list(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn joined(value: Option<&Value>) -> String {
    list(value).iter().map(|v| text(Some(v))).collect::<Vec<_>>().join(",")
}

/// `(score, vector)` of the first CVSS entry from `source` whose version starts with `major`.
fn cvss(finding: &Value, source: &str, major: &str) -> (String, String) {
    list(finding.pointer("/packageVulnerabilityDetails/cvss"))
        .iter()
        .find(|c| {
            c.get("source").and_then(Value::as_str) == Some(source)
                && c.get("version")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with(major))
        })
        .map(|c| (text(c.get("baseScore")), text(c.get("scoringVector"))))
        .unwrap_or_default()
}

/// RFC 1918 and shared (RFC 6598) IPv4 space: the API lists an instance's addresses together.
fn is_private_ipv4(address: &str) -> bool {
    let octets: Vec<u8> = address.split('.').filter_map(|o| o.parse().ok()).collect();
    match octets[..] {
        [10, ..] => true,
        [172, b, ..] => (16..=31).contains(&b),
        [192, 168, ..] => true,
        [100, b, ..] => (64..=127).contains(&b),
        _ => false,
    }
}

fn cells(finding: &Value, now: f64) -> Vec<String> {
    let at = |pointer: &str| text(finding.pointer(pointer));
    let resource = finding.pointer("/resources/0").unwrap_or(&Value::Null);
    let details = resource.get("details").unwrap_or(&Value::Null);
    let ec2 = details.get("awsEc2Instance").unwrap_or(&Value::Null);
    let ecr = details.get("awsEcrContainerImage").unwrap_or(&Value::Null);
    let lambda = details.get("awsLambdaFunction").unwrap_or(&Value::Null);
    let packages = "/packageVulnerabilityDetails/vulnerablePackages";
    let vendor = at("/packageVulnerabilityDetails/source");
    let (nvd3, nvd3_vector) = cvss(finding, "NVD", "3");
    let (nvd2, nvd2_vector) = cvss(finding, "NVD", "2");
    let (vendor3, vendor3_vector) = cvss(finding, &vendor, "3");
    let (vendor2, vendor2_vector) = cvss(finding, &vendor, "2");
    let addresses: Vec<String> = list(ec2.get("ipV4Addresses")).iter().map(|a| text(Some(a))).collect();
    let (private, public): (Vec<&String>, Vec<&String>) = addresses.iter().partition(|a| is_private_ipv4(a));
    let tags = resource
        .get("tags")
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .map(|(k, v)| format!("{k}={}", text(Some(v))))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let versions = list(finding.pointer(packages))
        .iter()
        .map(|p| {
            let version = text(p.get("version"));
            match text(p.get("release")) {
                release if release.is_empty() => version,
                release => format!("{version}-{release}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    let network_path = list(finding.pointer("/networkReachabilityDetails/networkPath/steps"))
        .iter()
        .map(|step| text(step.get("componentId")))
        .collect::<Vec<_>>()
        .join(" -> ");
    let port_range = match (
        finding.pointer("/networkReachabilityDetails/openPortRange/begin"),
        finding.pointer("/networkReachabilityDetails/openPortRange/end"),
    ) {
        (Some(begin), Some(end)) => format!("{}-{}", text(Some(begin)), text(Some(end))),
        _ => String::new(),
    };
    let age_days = finding
        .get("firstObservedAt")
        .and_then(finding_time)
        .map(|first| (((now - first) / 86_400.0).floor().max(0.0) as u64).to_string())
        .unwrap_or_default();
    let platform = [ec2.get("platform"), ecr.get("platform"), lambda.get("runtime")]
        .into_iter()
        .map(text)
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    vec![
        at("/awsAccountId"),
        at("/severity"),
        at("/fixAvailable"),
        at("/type"),
        at("/title"),
        at("/description"),
        at("/findingArn"),
        time(finding.get("firstObservedAt")),
        time(finding.get("lastObservedAt")),
        time(finding.get("updatedAt")),
        text(resource.get("id")),
        joined(ecr.get("imageTags")),
        text(resource.get("region")),
        platform,
        tags,
        each(finding, packages, "name"),
        versions,
        each(finding, packages, "fixedInVersion"),
        each(finding, packages, "remediation"),
        each(finding, packages, "filePath"),
        network_path,
        age_days,
        at("/remediation/recommendation/text"),
        at("/inspectorScore"),
        at("/inspectorScoreDetails/adjustedCvss/scoringVector"),
        at("/status"),
        at("/packageVulnerabilityDetails/vulnerabilityId"),
        vendor,
        at("/packageVulnerabilityDetails/vendorSeverity"),
        at("/packageVulnerabilityDetails/sourceUrl"),
        time(finding.pointer("/packageVulnerabilityDetails/vendorCreatedAt")),
        nvd3,
        nvd3_vector,
        nvd2,
        nvd2_vector,
        vendor3,
        vendor3_vector,
        vendor2,
        vendor2_vector,
        text(resource.get("type")),
        text(ec2.get("imageId")),
        public.into_iter().cloned().collect::<Vec<_>>().join(","),
        private.into_iter().cloned().collect::<Vec<_>>().join(","),
        joined(ec2.get("ipV6Addresses")),
        text(ec2.get("vpcId")),
        port_range,
        at("/epss/score"),
        at("/exploitAvailable"),
        time(finding.pointer("/exploitabilityDetails/lastKnownExploitAt")),
        joined(lambda.get("layers")),
        text(lambda.get("packageType")),
        time(lambda.get("lastModifiedAt")),
        joined(finding.pointer("/packageVulnerabilityDetails/referenceUrls")),
        at("/codeVulnerabilityDetails/detectorName"),
        each(finding, packages, "packageManager"),
    ]
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
