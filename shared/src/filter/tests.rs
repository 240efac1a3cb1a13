//! FilterCriteria model tests: the sample rules, every field, every error with its path.
//! Compiled only under #[cfg(test)] (declared in mod.rs), so unwrap is fine here.

use serde_json::{json, Value};

use super::*;

fn example_rules() -> Value {
    let path = format!("{}/../tests/fixtures/rules/example.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn errors(criteria: Value) -> Vec<String> {
    FilterCriteria::from_json(&criteria, "suppressions[1].filterCriteria")
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// A valid sample filter of each kind.
pub(crate) fn sample(kind: Kind) -> Value {
    match kind {
        Kind::String => json!([{"comparison": "PREFIX", "value": "sandbox-"}]),
        Kind::Number => json!([{"lowerInclusive": 7.0, "upperInclusive": 10.0}]),
        Kind::Date => json!([{"startInclusive": "2026-01-01T00:00:00Z", "endInclusive": "2026-12-31T23:59:59Z"}]),
        Kind::Map => json!([{"comparison": "EQUALS", "key": "env", "value": "dev"}]),
        Kind::PortRange => json!([{"beginInclusive": 22, "endInclusive": 22}]),
        Kind::Package => json!([{"name": {"comparison": "EQUALS", "value": "openssl"},
                                 "epoch": {"lowerInclusive": 0.0, "upperInclusive": 0.0}}]),
    }
}

#[test]
fn example_rules_criteria_parse_and_round_trip_unchanged() {
    let rules = example_rules();
    for (section, items) in [("suppressions", &rules["suppressions"]), ("routes", &rules["routes"])] {
        for (i, item) in items.as_array().unwrap().iter().enumerate() {
            let json = &item["filterCriteria"];
            let criteria = FilterCriteria::from_json(json, &format!("{section}[{i}].filterCriteria")).unwrap();
            assert_eq!(&criteria.to_json(), json, "{section}[{i}]");
        }
    }
}

#[test]
fn example_suppression_is_typed() {
    let rules = example_rules();
    let criteria = FilterCriteria::from_json(&rules["suppressions"][0]["filterCriteria"], "s").unwrap();
    assert_eq!(
        criteria.get("ecrImageRepositoryName"),
        Some(&Filters::String(vec![StringFilter {
            comparison: StringComparison::Prefix,
            value: "sandbox-".into()
        }]))
    );
    let Some(Filters::String(severity)) = criteria.get("severity") else {
        panic!("severity is a string field");
    };
    assert_eq!(severity.len(), 2);
}

#[test]
fn every_field_of_the_api_is_accepted_and_round_trips() {
    let mut all = serde_json::Map::new();
    for (name, kind) in FIELDS {
        let one = json!({ name: sample(kind) });
        let criteria = FilterCriteria::from_json(&one, "c").unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(criteria.to_json(), one, "{name}");
        all.insert(name.to_owned(), sample(kind));
    }
    let criteria = FilterCriteria::from_json(&Value::Object(all.clone()), "c").unwrap();
    assert_eq!(criteria.fields().count(), FIELDS.len());
    assert_eq!(criteria.to_json(), Value::Object(all));
}

#[test]
fn field_table_has_the_issue_fields_with_the_right_kinds() {
    let expect = [
        ("inspectorScore", Kind::Number),
        ("epssScore", Kind::Number),
        ("firstObservedAt", Kind::Date),
        ("lastObservedAt", Kind::Date),
        ("updatedAt", Kind::Date),
        ("ecrImagePushedAt", Kind::Date),
        ("lambdaFunctionLastModifiedAt", Kind::Date),
        ("resourceTags", Kind::Map),
        ("vulnerablePackages", Kind::Package),
        ("portRange", Kind::PortRange),
        ("severity", Kind::String),
        ("ecrImageRepositoryName", Kind::String),
    ];
    for (name, kind) in expect {
        assert_eq!(kind_of(name), Some((name, kind)), "{name}");
    }
    let mut names: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), FIELDS.len(), "no field twice");
}

#[test]
fn epoch_seconds_and_rfc3339_are_the_same_date() {
    let a = FilterCriteria::from_json(&json!({"updatedAt": [{"startInclusive": 1_767_225_600}]}), "c").unwrap();
    let b =
        FilterCriteria::from_json(&json!({"updatedAt": [{"startInclusive": "2026-01-01T00:00:00Z"}]}), "c").unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.to_json(),
        json!({"updatedAt": [{"startInclusive": "2026-01-01T00:00:00Z"}]})
    );
}

#[test]
fn every_problem_is_reported_at_once_with_its_path() {
    let long = "x".repeat(MAX_VALUE_CHARS + 1);
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"comparison": "EQUALS", "value": format!("v{i}")}))
        .collect();
    let got = errors(json!({
        "severity": [{"comparison": "LIKE", "value": "HIGH"}],
        "colour": [{"comparison": "EQUALS", "value": "red"}],
        "title": [],
        "vulnerabilityId": eleven,
        "resourceId": [{"comparison": "EQUALS", "value": long}],
        "inspectorScore": [{"lowerInclusive": 9, "upperInclusive": 7}],
        "resourceTags": [{"comparison": "NOT_EQUALS", "key": "env"}],
        "portRange": [{"beginInclusive": 70000}],
        "updatedAt": [{"startInclusive": "Mon Nov 30 18:14:32.123 UTC 2026"}],
        "findingArn": [{"comparison": "EQUALS"}],
        "awsAccountId": [{"comparison": "EQUALS", "value": "1", "extra": true}],
        "vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": ""}}],
        "fixAvailable": "YES",
    }));
    let p = "suppressions[1].filterCriteria";
    let expected = vec![
        format!("{p}.awsAccountId[0].extra: unknown key; expected comparison, value"),
        format!("{p}.colour: unknown FilterCriteria field"),
        format!("{p}.findingArn[0].value: is required"),
        format!("{p}.fixAvailable: must be a list of filters"),
        format!("{p}.inspectorScore[0]: lowerInclusive 9 is above upperInclusive 7"),
        format!("{p}.portRange[0].beginInclusive: must be a port from 0 to 65535"),
        format!("{p}.portRange[0]: needs beginInclusive, endInclusive or both"),
        format!("{p}.resourceId[0].value: is 1025 characters; the limit is 1024"),
        format!("{p}.resourceTags[0].comparison: \"NOT_EQUALS\" is not EQUALS, the only tag comparison"),
        format!("{p}.severity[0].comparison: \"LIKE\" is not EQUALS, PREFIX or NOT_EQUALS"),
        format!("{p}.title: must not be an empty list"),
        format!("{p}.updatedAt[0].startInclusive: \"Mon Nov 30 18:14:32.123 UTC 2026\" is not an RFC 3339 date"),
        format!("{p}.updatedAt[0]: needs startInclusive, endInclusive or both"),
        format!("{p}.vulnerabilityId: has 11 filters; the limit is 10"),
        format!("{p}.vulnerablePackages[0].name.value: must not be empty"),
    ];
    assert_eq!(got, expected);
}

#[test]
fn empty_or_non_object_criteria_are_rejected() {
    assert_eq!(
        errors(json!({})),
        vec!["suppressions[1].filterCriteria: names no field; a filter must narrow the findings it applies to"]
    );
    assert_eq!(
        errors(json!([1])),
        vec!["suppressions[1].filterCriteria: expected an object of FilterCriteria fields"]
    );
}

#[test]
fn package_filter_needs_a_part_and_tag_value_is_optional() {
    assert_eq!(
        errors(json!({"vulnerablePackages": [{}]})),
        vec![
            "suppressions[1].filterCriteria.vulnerablePackages[0]: needs at least one of name, version, release, \
              architecture, sourceLayerHash, sourceLambdaLayerArn, filePath, epoch"
        ]
    );
    let criteria =
        FilterCriteria::from_json(&json!({"resourceTags": [{"comparison": "EQUALS", "key": "team"}]}), "c").unwrap();
    assert_eq!(
        criteria.get("resourceTags"),
        Some(&Filters::Map(vec![MapFilter {
            key: "team".into(),
            value: None
        }]))
    );
}
