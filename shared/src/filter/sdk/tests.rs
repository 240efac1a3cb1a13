//! SDK conversion tests: the field table against the SDK type, and lossless round trips.
//! Compiled only under #[cfg(test)] (declared in sdk.rs), so unwrap is fine here.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::filter::tests::sample;
use crate::filter::FIELDS;

/// The member names of the SDK's FilterCriteria, read from its `Debug` output, which lists every
/// member (`FilterCriteria { finding_arn: None, ... }`).
fn sdk_members() -> Vec<String> {
    let debug = format!("{:?}", sdk::FilterCriteria::builder().build());
    debug
        .trim_start_matches("FilterCriteria {")
        .trim_end_matches('}')
        .split(',')
        .filter_map(|member| member.split(':').next())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

fn snake_case(json_name: &str) -> String {
    let mut out = String::new();
    for c in json_name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn every_sdk_member_is_in_the_field_table_and_nothing_else() {
    let members = sdk_members();
    assert_eq!(
        members.len(),
        69,
        "aws-sdk-inspector2 1.138 has 69 FilterCriteria members: {members:?}"
    );
    let sdk: BTreeSet<&str> = members.iter().map(String::as_str).collect();
    let ours: BTreeSet<String> = FIELDS.iter().map(|(name, _)| snake_case(name)).collect();
    let ours: BTreeSet<&str> = ours.iter().map(String::as_str).collect();
    assert_eq!(sdk, ours, "FIELDS must name exactly the SDK's members");
    let converted: Vec<&str> = SDK_FIELDS.iter().map(|(_, getter)| *getter).collect();
    assert_eq!(
        converted, members,
        "the conversion table follows the SDK's member order"
    );
    for (json_name, getter) in SDK_FIELDS {
        assert_eq!(snake_case(json_name), *getter);
    }
}

fn every_field() -> FilterCriteria {
    let all: serde_json::Map<String, Value> = FIELDS
        .iter()
        .map(|(name, kind)| ((*name).to_owned(), sample(*kind)))
        .collect();
    FilterCriteria::from_json(&Value::Object(all), "c").unwrap()
}

#[test]
fn every_field_converts_to_the_sdk_and_back_unchanged() {
    let criteria = every_field();
    let sdk = criteria.to_sdk().unwrap();
    let debug = format!("{sdk:?}");
    for (_, getter) in SDK_FIELDS {
        assert!(debug.contains(&format!(" {getter}: Some(")), "{getter} is set");
    }
    assert_eq!(FilterCriteria::from_sdk(&sdk).unwrap(), criteria);
}

#[test]
fn every_comparison_and_optional_part_survives_the_round_trip() {
    let json = json!({
        "severity": [{"comparison": "EQUALS", "value": "LOW"}, {"comparison": "PREFIX", "value": "MED"},
                     {"comparison": "NOT_EQUALS", "value": "CRITICAL"}],
        "inspectorScore": [{"lowerInclusive": 1.5}, {"upperInclusive": 9.0}],
        "updatedAt": [{"startInclusive": "2026-11-30T18:14:32.123Z"}, {"endInclusive": 1_700_000_000}],
        "resourceTags": [{"comparison": "EQUALS", "key": "team"}, {"comparison": "EQUALS", "key": "env", "value": "dev"}],
        "portRange": [{"beginInclusive": 0}, {"endInclusive": 65535}],
        "vulnerablePackages": [{"version": {"comparison": "NOT_EQUALS", "value": "1.0"}},
                               {"filePath": {"comparison": "PREFIX", "value": "/usr/lib"},
                                "sourceLambdaLayerArn": {"comparison": "EQUALS", "value": "arn:aws:lambda:x"},
                                "sourceLayerHash": {"comparison": "EQUALS", "value": "sha256:ab"},
                                "release": {"comparison": "EQUALS", "value": "3.el9"}}]
    });
    let criteria = FilterCriteria::from_json(&json, "c").unwrap();
    let back = FilterCriteria::from_sdk(&criteria.to_sdk().unwrap()).unwrap();
    assert_eq!(back, criteria);
    assert_eq!(back.to_json(), criteria.to_json());
}

#[test]
fn an_empty_sdk_list_is_an_absent_field() {
    let sdk = sdk::FilterCriteria::builder().set_severity(Some(vec![])).build();
    assert_eq!(FilterCriteria::from_sdk(&sdk).unwrap(), FilterCriteria::default());
}

#[test]
fn a_comparison_this_build_does_not_know_is_reported_not_guessed() {
    let filter = sdk::StringFilter::builder()
        .comparison(sdk::StringComparison::from("CONTAINS"))
        .value("x")
        .build()
        .unwrap();
    let sdk = sdk::FilterCriteria::builder().title(filter).build();
    let err = FilterCriteria::from_sdk(&sdk).unwrap_err();
    assert_eq!(err.to_string(), "title: string comparison \"CONTAINS\"");
}
