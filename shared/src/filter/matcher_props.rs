//! Property tests of the matcher (proptest), over every string field that has a place in a
//! finding. Compiled only under #[cfg(test)] (declared in matcher.rs), so unwrap is fine here.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{Matcher, LOCATIONS};
use crate::filter::{kind_of, FilterCriteria, Kind};

/// Every string field with a location: `(field, location)`.
fn string_fields() -> Vec<(&'static str, &'static [&'static str])> {
    LOCATIONS
        .iter()
        .filter(|(name, _)| kind_of(name).is_some_and(|(_, kind)| kind == Kind::String))
        .map(|(name, location)| (*name, *location))
        .collect()
}

/// Puts `leaf` at `location` in `finding`, creating objects and one-element lists on the way;
/// a list at the end gets `leaf` appended, so a multi-valued field can hold several values.
fn place(finding: &mut Value, location: &[&str], leaf: Value) {
    let mut current = finding;
    for (i, part) in location.iter().enumerate() {
        let last = i + 1 == location.len();
        let (name, each) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (*part, false),
        };
        let object = current.as_object_mut().unwrap();
        if each {
            let list = object.entry(name).or_insert_with(|| json!([])).as_array_mut().unwrap();
            if last {
                list.push(leaf);
                return;
            }
            if list.is_empty() {
                list.push(json!({}));
            }
            current = &mut list[0];
        } else {
            if last {
                object.insert(name.to_owned(), leaf);
                return;
            }
            current = object.entry(name).or_insert_with(|| json!({}));
        }
    }
}

fn matcher(criteria: Value) -> Matcher {
    Matcher::new(&FilterCriteria::from_json(&criteria, "c").unwrap())
}

fn string_filter(comparison: &str, value: &str) -> Value {
    json!({"comparison": comparison, "value": value})
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:-]{1,16}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Criteria built from a finding's own values always match it: an EQUALS or PREFIX on each
    /// chosen string field, a score range around its score, a date range around its update time,
    /// its tag, its package and its open port.
    #[test]
    fn criteria_built_to_fit_a_finding_match_it(
        picks in proptest::collection::vec((any::<proptest::sample::Index>(), text(), 1usize..16, any::<bool>()), 1..6),
        score in 0.0f64..10.0,
        updated in 1_600_000_000i64..1_900_000_000,
        tag in (text(), text()),
        package in text(),
        port in 0i32..65_535,
    ) {
        let fields = string_fields();
        let mut finding = json!({});
        let mut criteria = serde_json::Map::new();
        for (index, value, prefix_len, use_prefix) in picks {
            let (name, location) = fields[index.index(fields.len())];
            place(&mut finding, location, Value::String(value.clone()));
            let filter = match use_prefix {
                true => string_filter("PREFIX", &value[..prefix_len.min(value.len())]),
                false => string_filter("EQUALS", &value),
            };
            criteria.entry(name).or_insert_with(|| json!([])).as_array_mut().unwrap().push(filter);
        }
        place(&mut finding, &["inspectorScore"], json!(score));
        criteria.insert("inspectorScore".into(), json!([{"lowerInclusive": score, "upperInclusive": score}]));
        place(&mut finding, &["updatedAt"], json!(updated));
        criteria.insert("updatedAt".into(), json!([{"startInclusive": updated, "endInclusive": updated}]));
        place(&mut finding, &["resources[]", "tags"], json!({ tag.0.clone(): tag.1.clone() }));
        criteria.insert("resourceTags".into(), json!([{"comparison": "EQUALS", "key": tag.0, "value": tag.1}]));
        place(&mut finding, &["packageVulnerabilityDetails", "vulnerablePackages[]"], json!({"name": package}));
        criteria.insert("vulnerablePackages".into(), json!([{"name": string_filter("EQUALS", &package)}]));
        place(&mut finding, &["networkReachabilityDetails", "openPortRange"], json!({"begin": port, "end": port}));
        criteria.insert("portRange".into(), json!([{"beginInclusive": port, "endInclusive": port}]));
        let criteria = Value::Object(criteria);
        prop_assert!(matcher(criteria.clone()).matches(&finding), "{criteria}\n{finding}");
    }

    /// On a single-valued field, EQUALS v and NOT_EQUALS v always disagree.
    #[test]
    fn negating_an_equals_flips_the_result(
        index in any::<proptest::sample::Index>(),
        value in text(),
        actual in text(),
        same in any::<bool>(),
    ) {
        let fields = string_fields();
        let (name, location) = fields[index.index(fields.len())];
        let actual = if same { value.clone() } else { actual };
        let mut finding = json!({});
        place(&mut finding, location, Value::String(actual));
        let equals = matcher(json!({ name: [string_filter("EQUALS", &value)] })).matches(&finding);
        let not_equals = matcher(json!({ name: [string_filter("NOT_EQUALS", &value)] })).matches(&finding);
        prop_assert_ne!(equals, not_equals, "{} {} {}", name, value, finding);
    }

    /// Splitting an OR field's EQUALS/PREFIX values over two rules matches the union.
    #[test]
    fn splitting_an_or_field_across_two_rules_gives_the_union(
        index in any::<proptest::sample::Index>(),
        values in proptest::collection::vec((text(), any::<bool>()), 2..10),
        split in any::<proptest::sample::Index>(),
        actual in prop_oneof![text(), Just(String::from("same"))],
    ) {
        let fields = string_fields();
        let (name, location) = fields[index.index(fields.len())];
        let filters: Vec<Value> = values
            .iter()
            .map(|(v, prefix)| string_filter(if *prefix { "PREFIX" } else { "EQUALS" }, v))
            .collect();
        let at = 1 + split.index(filters.len() - 1);
        let mut finding = json!({});
        place(&mut finding, location, Value::String(actual));
        let all = matcher(json!({ name: filters })).matches(&finding);
        let first = matcher(json!({ name: filters[..at] })).matches(&finding);
        let second = matcher(json!({ name: filters[at..] })).matches(&finding);
        prop_assert_eq!(all, first || second);
    }
}

#[test]
fn every_string_field_of_the_table_takes_part() {
    let fields = string_fields();
    assert!(fields.len() >= 30, "{}", fields.len());
    for name in [
        "severity",
        "ecrImageRepositoryName",
        "vulnerabilityId",
        "ec2InstanceVpcId",
        "componentType",
    ] {
        assert!(fields.iter().any(|(field, _)| *field == name), "{name}");
    }
}
