//! Payload tests: defaults from the schedule and the environment, overrides, and every kind of
//! bad payload answered with all its problems. Compiled only under #[cfg(test)].

use serde_json::json;

use super::*;

fn defaults() -> Defaults {
    Defaults {
        mode: Mode::Report,
        format: None,
        status: StatusSelection::Active,
    }
}

fn problems(payload: Value) -> String {
    ExportRequest::from_payload(&payload, &defaults()).unwrap_err()
}

#[test]
fn a_scheduled_event_uses_the_environment_defaults() {
    let text = include_str!("../../../tests/fixtures/events/scheduled-event.json");
    let event: Value = serde_json::from_str(text).unwrap();
    let request = ExportRequest::from_payload(&event, &defaults()).unwrap();
    assert_eq!(request, ExportRequest::scheduled(&defaults()));
    assert_eq!((request.mode, request.format), (Mode::Report, ExportFormat::Csv));
    assert_eq!(request.cause, "schedule");
}

#[test]
fn an_empty_payload_is_the_defaults_on_demand() {
    let request = ExportRequest::from_payload(&json!({}), &defaults()).unwrap();
    assert_eq!(request.cause, "on-demand");
    assert_eq!(request.status, StatusSelection::Active);
    assert_eq!(request.since, Since::Always);
}

#[test]
fn the_issue_payload_parses() {
    let payload = json!({"mode": "stream", "format": "CSV", "status": "ALL", "since": "last",
        "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "CRITICAL"}]}});
    let request = ExportRequest::from_payload(&payload, &defaults()).unwrap();
    assert_eq!(request.mode, Mode::Stream);
    assert_eq!(request.format, ExportFormat::Csv);
    assert_eq!(request.status, StatusSelection::All);
    assert_eq!(request.since, Since::LastExport);
    let criteria = request
        .criteria(DateTime::from_secs(1_796_000_000).into())
        .unwrap()
        .to_json();
    assert_eq!(criteria["severity"][0]["value"], "CRITICAL");
    assert_eq!(criteria["findingStatus"].as_array().unwrap().len(), 3);
    assert_eq!(criteria["updatedAt"][0]["startInclusive"], "2026-11-30T00:53:20Z");
}

#[test]
fn formats_follow_the_mode() {
    let parse = |p: Value| ExportRequest::from_payload(&p, &defaults()).unwrap().format;
    assert_eq!(parse(json!({"mode": "stream"})), ExportFormat::Ndjson);
    assert_eq!(parse(json!({"mode": "stream", "format": "json"})), ExportFormat::Ndjson);
    assert_eq!(parse(json!({"format": "JSON"})), ExportFormat::Json);
    assert_eq!(parse(json!({"mode": "sbom"})), ExportFormat::CycloneDx14);
    assert_eq!(
        parse(json!({"mode": "sbom", "format": "SPDX_2_3"})),
        ExportFormat::Spdx23
    );
    // The environment's CSV suits stream and report, not sbom.
    let csv = Defaults {
        format: Some(ExportFormat::Csv),
        ..defaults()
    };
    let parse = |p: Value| ExportRequest::from_payload(&p, &csv).unwrap().format;
    assert_eq!(parse(json!({"mode": "stream"})), ExportFormat::Csv);
    assert_eq!(parse(json!({"mode": "sbom"})), ExportFormat::CycloneDx14);
}

#[test]
fn an_explicit_since_time_is_accepted() {
    let request =
        ExportRequest::from_payload(&json!({"mode": "stream", "since": "2026-11-01T00:00:00Z"}), &defaults()).unwrap();
    assert_eq!(request.since, Since::Time(DateTime::from_secs(1_793_491_200)));
}

#[test]
fn bad_payloads_name_every_problem() {
    for (payload, expected) in [
        (json!("stream"), "expected a JSON object"),
        (json!([1, 2]), "expected a JSON object"),
        (json!(null), "expected a JSON object"),
        (
            json!({"mode": "strem"}),
            "mode: \"strem\" is not report, stream or sbom",
        ),
        (json!({"mode": 5}), "mode: expected a string, got 5"),
        (
            json!({"format": "XML"}),
            "format: \"XML\" is not a report format (CSV or JSON)",
        ),
        (json!({"mode": "stream", "format": "SPDX"}), "is not a stream format"),
        (
            json!({"status": "OPEN"}),
            "status: \"OPEN\" is not ACTIVE, SUPPRESSED, CLOSED or ALL",
        ),
        (json!({"since": "yesterday"}), "since: \"yesterday\" is neither"),
        (json!({"since": "last"}), "since: \"last\" reads stream-mode manifests"),
        (
            json!({"filterCriteria": {"sevrity": [{"comparison": "EQUALS", "value": "LOW"}]}}),
            "filterCriteria.sevrity: unknown FilterCriteria field",
        ),
        (
            json!({"filterCriteria": {"severity": []}}),
            "filterCriteria.severity: must not be an empty list",
        ),
        (json!({"filterCriteria": "all"}), "filterCriteria: expected an object"),
        (
            json!({"filterCriteria": {"findingStatus": [{"comparison": "EQUALS", "value": "CLOSED"}]}}),
            "give the status with \"status\"",
        ),
        (
            json!({"mode": "stream", "since": "last", "filterCriteria": {"updatedAt": [{"startInclusive": 1}]}}),
            "cannot be combined with \"since\"",
        ),
        (
            json!({"mode": "sbom", "status": "ALL"}),
            "status: does not apply to sbom mode",
        ),
        (
            json!({"mode": "stream", "reportId": "r-1"}),
            "reportId: only report and sbom mode",
        ),
        (json!({"dryRun": true}), "unknown key(s) dryRun"),
        (
            json!({"detail-type": "Inspector2 Finding", "detail": {}}),
            "is not a trigger of findings-export",
        ),
    ] {
        let text = problems(payload.clone());
        assert!(text.contains(expected), "{payload}: {text}");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = problems(json!({"mode": "stream", "format": "XML", "status": "OPEN", "extra": 1}));
    assert_eq!(text.matches("; ").count(), 3, "{text}");
    for part in ["unknown key(s) extra", "format: \"XML\"", "status: \"OPEN\""] {
        assert!(text.contains(part), "{text}");
    }
}

#[test]
fn a_huge_payload_is_refused_with_a_clipped_reason() {
    let huge = "x".repeat(1_000_000);
    let text = problems(json!({"mode": huge}));
    assert!(text.len() < 400, "{}", text.len());
}

#[test]
fn every_query_carries_a_status_filter() {
    for status in ["ACTIVE", "SUPPRESSED", "CLOSED", "ALL"] {
        let request = ExportRequest::from_payload(&json!({"status": status}), &defaults()).unwrap();
        let criteria = request.criteria(None).unwrap().to_json();
        let values: Vec<&str> = criteria["findingStatus"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, request.status.statuses(), "{status}");
    }
}
