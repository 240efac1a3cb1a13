//! The local matcher: evaluates FilterCriteria against a finding (an `Inspector2 Finding` event's
//! `detail`, or a `ListFindings` item) with Inspector's semantics, compiled once per rules load.
//!
//! Semantics: on one field, EQUALS and PREFIX filters are ORed and NOT_EQUALS filters ANDed;
//! different fields are ANDed; number, date and port ranges are inclusive; a multi-valued place
//! (tags, packages, resources, `relatedVulnerabilities`, …) matches if any value matches.
//! Evaluation walks the finding in place: no parsing of the criteria, no allocation.

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::Value;

use super::{
    DateFilter, FilterCriteria, Filters, MapFilter, NumberFilter, PackageFilter, PortRangeFilter, StringComparison,
    StringFilter,
};

/// One step from a finding's root to a field's values.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// An object member.
    Key(&'static str),
    /// Every element of an array.
    Each,
}

use Step::{Each, Key};

/// Where each FilterCriteria field lives in a finding, from the Inspector2 `Finding`, `Resource`
/// and `ResourceDetails` shapes (aws-sdk-inspector2 1.138 / botocore). Every field has a place;
/// a field without one would never match locally (see [`Matcher::unsupported`]), so that a rule
/// this build cannot evaluate suppresses nothing rather than too much.
pub const LOCATIONS: &[(&str, &[&str])] = &[
    ("findingArn", &["findingArn"]),
    ("awsAccountId", &["awsAccountId"]),
    ("findingType", &["type"]),
    ("severity", &["severity"]),
    ("findingStatus", &["status"]),
    ("title", &["title"]),
    ("inspectorScore", &["inspectorScore"]),
    ("epssScore", &["epss", "score"]),
    ("firstObservedAt", &["firstObservedAt"]),
    ("lastObservedAt", &["lastObservedAt"]),
    ("updatedAt", &["updatedAt"]),
    ("fixAvailable", &["fixAvailable"]),
    ("exploitAvailable", &["exploitAvailable"]),
    ("resourceType", &["resources[]", "type"]),
    ("resourceId", &["resources[]", "id"]),
    ("resourceTags", &["resources[]", "tags"]),
    (
        "ec2InstanceImageId",
        &["resources[]", "details", "awsEc2Instance", "imageId"],
    ),
    (
        "ec2InstanceVpcId",
        &["resources[]", "details", "awsEc2Instance", "vpcId"],
    ),
    (
        "ec2InstanceSubnetId",
        &["resources[]", "details", "awsEc2Instance", "subnetId"],
    ),
    (
        "ecrImageArchitecture",
        &["resources[]", "details", "awsEcrContainerImage", "architecture"],
    ),
    (
        "ecrImageRegistry",
        &["resources[]", "details", "awsEcrContainerImage", "registry"],
    ),
    (
        "ecrImageRepositoryName",
        &["resources[]", "details", "awsEcrContainerImage", "repositoryName"],
    ),
    (
        "ecrImageTags",
        &["resources[]", "details", "awsEcrContainerImage", "imageTags[]"],
    ),
    (
        "ecrImageHash",
        &["resources[]", "details", "awsEcrContainerImage", "imageHash"],
    ),
    (
        "ecrImagePushedAt",
        &["resources[]", "details", "awsEcrContainerImage", "pushedAt"],
    ),
    (
        "ecrImageLastInUseAt",
        &["resources[]", "details", "awsEcrContainerImage", "lastInUseAt"],
    ),
    (
        "ecrImageInUseCount",
        &["resources[]", "details", "awsEcrContainerImage", "inUseCount"],
    ),
    (
        "lambdaFunctionName",
        &["resources[]", "details", "awsLambdaFunction", "functionName"],
    ),
    (
        "lambdaFunctionLayers",
        &["resources[]", "details", "awsLambdaFunction", "layers[]"],
    ),
    (
        "lambdaFunctionRuntime",
        &["resources[]", "details", "awsLambdaFunction", "runtime"],
    ),
    (
        "lambdaFunctionLastModifiedAt",
        &["resources[]", "details", "awsLambdaFunction", "lastModifiedAt"],
    ),
    (
        "lambdaFunctionExecutionRoleArn",
        &["resources[]", "details", "awsLambdaFunction", "executionRoleArn"],
    ),
    ("portRange", &["networkReachabilityDetails", "openPortRange"]),
    ("networkProtocol", &["networkReachabilityDetails", "protocol"]),
    (
        "componentId",
        &["networkReachabilityDetails", "networkPath", "steps[]", "componentId"],
    ),
    (
        "componentType",
        &["networkReachabilityDetails", "networkPath", "steps[]", "componentType"],
    ),
    ("vulnerabilityId", &["packageVulnerabilityDetails", "vulnerabilityId"]),
    ("vulnerabilitySource", &["packageVulnerabilityDetails", "source"]),
    ("vendorSeverity", &["packageVulnerabilityDetails", "vendorSeverity"]),
    (
        "vulnerablePackages",
        &["packageVulnerabilityDetails", "vulnerablePackages[]"],
    ),
    (
        "relatedVulnerabilities",
        &["packageVulnerabilityDetails", "relatedVulnerabilities[]"],
    ),
    (
        "codeVulnerabilityDetectorName",
        &["codeVulnerabilityDetails", "detectorName"],
    ),
    (
        "codeVulnerabilityDetectorTags",
        &["codeVulnerabilityDetails", "detectorTags[]"],
    ),
    (
        "codeVulnerabilityFilePath",
        &["codeVulnerabilityDetails", "filePath", "filePath"],
    ),
    (
        "codeRepositoryProjectName",
        &["resources[]", "details", "codeRepository", "projectName"],
    ),
    (
        "codeRepositoryProviderType",
        &["resources[]", "details", "codeRepository", "providerType"],
    ),
    (
        "machineImageId",
        &["resources[]", "details", "machineImage", "machineImageId"],
    ),
    ("machineImageName", &["resources[]", "details", "machineImage", "name"]),
    (
        "machineImageOwnerAccountId",
        &["resources[]", "details", "machineImage", "ownerAccountId"],
    ),
    (
        "machineImagePlatform",
        &["resources[]", "details", "machineImage", "platform"],
    ),
    ("cloudProvider", &["resources[]", "provider"]),
    ("cloudProviderRegion", &["resources[]", "region"]),
    ("cloudProviderAccountId", &["resources[]", "providerAccountId"]),
    ("cloudProviderOrgId", &["resources[]", "providerOrgId"]),
    (
        "cloudVmImageReference",
        &["resources[]", "details", "vm", "vmImageReference"],
    ),
    ("cloudVmNetworkId", &["resources[]", "details", "vm", "networkId"]),
    ("cloudVmSubnetIds", &["resources[]", "details", "vm", "subnetIds[]"]),
    (
        "cloudImageRepositoryName",
        &["resources[]", "details", "image", "repositoryName"],
    ),
    ("cloudImageRegistry", &["resources[]", "details", "image", "registry"]),
    ("cloudImageDigest", &["resources[]", "details", "image", "imageDigest"]),
    ("cloudImageTags", &["resources[]", "details", "image", "imageTags[]"]),
    ("cloudImagePushedAt", &["resources[]", "details", "image", "pushedAt"]),
    (
        "cloudImageArchitecture",
        &["resources[]", "details", "image", "architecture"],
    ),
    (
        "cloudImageLastInUseAt",
        &["resources[]", "details", "image", "lastInUseAt"],
    ),
    (
        "cloudImageInUseCount",
        &["resources[]", "details", "image", "inUseCount"],
    ),
    (
        "cloudServerlessFunctionName",
        &["resources[]", "details", "serverlessFunction", "serverlessFunctionName"],
    ),
    (
        "cloudServerlessFunctionRuntime",
        &["resources[]", "details", "serverlessFunction", "runtime"],
    ),
    (
        "cloudServerlessFunctionLastModifiedAt",
        &["resources[]", "details", "serverlessFunction", "lastModifiedAt"],
    ),
    (
        "cloudServerlessFunctionExecutionRole",
        &["resources[]", "details", "serverlessFunction", "executionRole"],
    ),
];

/// The steps of a [`LOCATIONS`] entry: `name[]` means "the member `name`, then each element".
fn steps(location: &[&'static str]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(location.len() * 2);
    for part in location {
        match part.strip_suffix("[]") {
            Some(name) => steps.extend([Key(name), Each]),
            None => steps.push(Key(part)),
        }
    }
    steps
}

/// Calls `visit` on every value at `steps` below `value` until it returns true.
fn any_at<'a>(value: &'a Value, steps: &[Step], visit: &mut dyn FnMut(&'a Value) -> bool) -> bool {
    match steps.split_first() {
        None => match value {
            Value::Null => false,
            _ => visit(value),
        },
        Some((Key(name), rest)) => value.get(*name).is_some_and(|v| any_at(v, rest, visit)),
        Some((Each, rest)) => value
            .as_array()
            .is_some_and(|items| items.iter().any(|item| any_at(item, rest, visit))),
    }
}

fn string_matches(filter: &StringFilter, text: &str) -> bool {
    match filter.comparison {
        StringComparison::Equals => text == filter.value,
        StringComparison::Prefix => text.starts_with(filter.value.as_str()),
        StringComparison::NotEquals => text != filter.value,
    }
}

/// EQUALS/PREFIX ORed, NOT_EQUALS ANDed, on one value.
fn strings_match(filters: &[StringFilter], text: &str) -> bool {
    let mut positive_seen = false;
    let mut positive_hit = false;
    for filter in filters {
        match filter.comparison {
            StringComparison::NotEquals if text == filter.value => return false,
            StringComparison::NotEquals => {}
            _ => {
                positive_seen = true;
                positive_hit |= string_matches(filter, text);
            }
        }
    }
    !positive_seen || positive_hit
}

fn in_range(value: f64, filter: &NumberFilter) -> bool {
    filter.lower_inclusive.is_none_or(|low| value >= low) && filter.upper_inclusive.is_none_or(|high| value <= high)
}

/// Parses a finding timestamp: RFC 3339, epoch seconds, or Inspector's event format
/// `Mon Nov 30 18:14:32.123 UTC 2026`. Returns epoch seconds.
pub fn finding_time(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => DateTime::from_str(text, Format::DateTime)
            .ok()
            .map(|d| d.as_secs_f64())
            .or_else(|| inspector_event_time(text)),
        _ => None,
    }
}

fn inspector_event_time(text: &str) -> Option<f64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = text.split_ascii_whitespace();
    let (_weekday, month, day, time, zone, year) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "UTC" || parts.next().is_some() {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let day: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':');
    let hour: i64 = hms.next()?.parse().ok().filter(|h| (0..24).contains(h))?;
    let minute: i64 = hms.next()?.parse().ok().filter(|m| (0..60).contains(m))?;
    let seconds: f64 = hms.next()?.parse().ok().filter(|s: &f64| (0.0..61.0).contains(s))?;
    // Days from civil date (Howard Hinnant's algorithm), proleptic Gregorian, UTC.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3_600 + minute * 60) as f64 + seconds)
}

fn date_in_range(when: f64, filter: &DateFilter) -> bool {
    filter.start_inclusive.is_none_or(|s| when >= s.as_secs_f64())
        && filter.end_inclusive.is_none_or(|e| when <= e.as_secs_f64())
}

fn text_of(value: &Value) -> Option<&str> {
    value.as_str()
}

fn package_matches(filter: &PackageFilter, package: &Value) -> bool {
    let part = |f: &Option<StringFilter>, key: &str| {
        f.as_ref()
            .is_none_or(|f| package.get(key).and_then(text_of).is_some_and(|t| string_matches(f, t)))
    };
    part(&filter.name, "name")
        && part(&filter.version, "version")
        && part(&filter.release, "release")
        && part(&filter.architecture, "arch")
        && part(&filter.source_layer_hash, "sourceLayerHash")
        && part(&filter.source_lambda_layer_arn, "sourceLambdaLayerArn")
        && part(&filter.file_path, "filePath")
        && filter.epoch.as_ref().is_none_or(|f| {
            package
                .get("epoch")
                .and_then(Value::as_f64)
                .is_some_and(|e| in_range(e, f))
        })
}

fn tags_match(filter: &MapFilter, tags: &Value) -> bool {
    tags.get(filter.key.as_str())
        .and_then(text_of)
        .is_some_and(|v| filter.value.as_ref().is_none_or(|want| v == want))
}

fn ports_overlap(filter: &PortRangeFilter, open: &Value) -> bool {
    let begin = open.get("begin").and_then(Value::as_i64);
    let end = open.get("end").and_then(Value::as_i64).or(begin);
    let (Some(begin), Some(end)) = (begin.or(end), end) else {
        return false;
    };
    filter.begin_inclusive.is_none_or(|low| end >= i64::from(low))
        && filter.end_inclusive.is_none_or(|high| begin <= i64::from(high))
}

/// One compiled field: where its values are and how they are tested.
struct CompiledField {
    steps: Vec<Step>,
    filters: Filters,
}

impl CompiledField {
    fn matches(&self, finding: &Value) -> bool {
        match &self.filters {
            Filters::String(filters) => {
                let mut seen = false;
                let hit = any_at(finding, &self.steps, &mut |v| {
                    seen = true;
                    text_of(v).is_some_and(|t| strings_match(filters, t))
                });
                // A field the finding lacks fails EQUALS/PREFIX but passes pure NOT_EQUALS.
                hit || (!seen && filters.iter().all(|f| f.comparison == StringComparison::NotEquals))
            }
            Filters::Number(filters) => any_at(finding, &self.steps, &mut |v| {
                v.as_f64().is_some_and(|n| filters.iter().any(|f| in_range(n, f)))
            }),
            Filters::Date(filters) => any_at(finding, &self.steps, &mut |v| {
                finding_time(v).is_some_and(|t| filters.iter().any(|f| date_in_range(t, f)))
            }),
            Filters::Map(filters) => any_at(finding, &self.steps, &mut |tags| {
                filters.iter().any(|f| tags_match(f, tags))
            }),
            Filters::PortRange(filters) => any_at(finding, &self.steps, &mut |open| {
                filters.iter().any(|f| ports_overlap(f, open))
            }),
            Filters::Package(filters) => any_at(finding, &self.steps, &mut |p| {
                filters.iter().any(|f| package_matches(f, p))
            }),
        }
    }
}

/// FilterCriteria compiled for evaluation against findings.
pub struct Matcher {
    fields: Vec<CompiledField>,
    unsupported: Vec<&'static str>,
}

impl Matcher {
    /// Compiles criteria once; evaluation then neither parses nor allocates.
    pub fn new(criteria: &FilterCriteria) -> Self {
        let mut fields = Vec::new();
        let mut unsupported = Vec::new();
        for (name, filters) in criteria.fields() {
            match LOCATIONS.iter().find(|(field, _)| *field == name) {
                Some((_, location)) => fields.push(CompiledField {
                    steps: steps(location),
                    filters: filters.clone(),
                }),
                None => unsupported.push(name),
            }
        }
        Self { fields, unsupported }
    }

    /// Fields the criteria use that cannot be evaluated locally; such criteria never match, so a
    /// suppression rule using them fails safe (the finding is still notified).
    pub fn unsupported(&self) -> &[&'static str] {
        &self.unsupported
    }

    /// Whether the finding matches every field of the criteria.
    pub fn matches(&self, finding: &Value) -> bool {
        self.unsupported.is_empty() && self.fields.iter().all(|field| field.matches(finding))
    }
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "matcher_props.rs"]
mod props;
