//! Matcher tests on the real fixtures, one per semantic rule.
//! Compiled only under #[cfg(test)] (declared in matcher.rs), so unwrap is fine here.

use serde_json::{json, Value};

use super::*;
use crate::filter::FilterCriteria;

fn detail(name: &str) -> Value {
    let path = format!("{}/../tests/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["detail"].clone()
}

fn matcher(criteria: Value) -> Matcher {
    Matcher::new(&FilterCriteria::from_json(&criteria, "c").unwrap())
}

fn rules() -> Value {
    let path = format!("{}/../tests/fixtures/rules/example.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn example_accepted_risk_rule_matches_the_ec2_package_finding_only() {
    let m = matcher(rules()["suppressions"][1]["filterCriteria"].clone());
    assert!(m.matches(&detail("inspector2-finding-ec2-package.json")));
    assert!(!m.matches(&detail("inspector2-finding-ecr-image.json")));
    assert!(!m.matches(&detail("inspector2-finding-network.json")));
}

#[test]
fn example_sandbox_rule_needs_both_the_prefix_and_a_low_or_medium_severity() {
    let m = matcher(rules()["suppressions"][0]["filterCriteria"].clone());
    let mut ecr = detail("inspector2-finding-ecr-image.json");
    assert!(!m.matches(&ecr), "CRITICAL is neither LOW nor MEDIUM");
    ecr["severity"] = json!("MEDIUM");
    assert!(m.matches(&ecr), "severity EQUALS filters are ORed");
    ecr["resources"][0]["details"]["awsEcrContainerImage"]["repositoryName"] = json!("prod-web");
    assert!(!m.matches(&ecr), "fields are ANDed");
}

#[test]
fn example_route_matches_on_a_tag_of_any_resource() {
    let m = matcher(rules()["routes"][0]["filterCriteria"].clone());
    let mut finding = detail("inspector2-finding-ec2-package.json");
    assert!(!m.matches(&finding));
    finding["resources"][0]["tags"]["team"] = json!("payments");
    assert!(m.matches(&finding));
}

#[test]
fn not_equals_filters_are_anded_and_pass_a_missing_field() {
    let m = matcher(json!({"severity": [
        {"comparison": "NOT_EQUALS", "value": "LOW"},
        {"comparison": "NOT_EQUALS", "value": "HIGH"}]}));
    assert!(
        !m.matches(&detail("inspector2-finding-ec2-package.json")),
        "HIGH is excluded"
    );
    assert!(
        m.matches(&detail("inspector2-finding-ecr-image.json")),
        "CRITICAL is neither"
    );
    let absent = matcher(json!({"ecrImageRepositoryName": [{"comparison": "NOT_EQUALS", "value": "x"}]}));
    assert!(absent.matches(&detail("inspector2-finding-ec2-package.json")));
    let present = matcher(json!({"ecrImageRepositoryName": [{"comparison": "EQUALS", "value": "x"}]}));
    assert!(!present.matches(&detail("inspector2-finding-ec2-package.json")));
}

#[test]
fn number_ranges_are_inclusive() {
    let high = matcher(json!({"inspectorScore": [{"lowerInclusive": 7.8}]}));
    assert!(
        high.matches(&detail("inspector2-finding-ec2-package.json")),
        "7.8 >= 7.8"
    );
    let low = matcher(json!({"inspectorScore": [{"upperInclusive": 7.7}]}));
    assert!(!low.matches(&detail("inspector2-finding-ec2-package.json")));
    let epss = matcher(json!({"epssScore": [{"lowerInclusive": 0.04, "upperInclusive": 0.05}]}));
    assert!(epss.matches(&detail("inspector2-finding-ecr-image.json")));
    assert!(
        !epss.matches(&detail("inspector2-finding-ec2-package.json")),
        "no EPSS score at all"
    );
}

#[test]
fn dates_in_inspector_event_format_are_compared() {
    let m = matcher(
        json!({"updatedAt": [{"startInclusive": "2026-11-30T18:14:32.123Z", "endInclusive": "2026-11-30T23:59:59Z"}]}),
    );
    assert!(
        m.matches(&detail("inspector2-finding-ec2-package.json")),
        "Mon Nov 30 18:14:32.123 UTC 2026"
    );
    assert!(
        !m.matches(&detail("inspector2-finding-ecr-image.json")),
        "Tue Dec 01 03:10:00.000 UTC 2026"
    );
    assert_eq!(
        finding_time(&json!("Mon Nov 30 18:14:32.123 UTC 2026")),
        finding_time(&json!("2026-11-30T18:14:32.123Z"))
    );
    assert_eq!(finding_time(&json!("Mon Feb 30 18:14:32 PST 2026")), None);
    assert_eq!(finding_time(&json!("garbage")), None);
}

#[test]
fn port_range_matches_when_it_overlaps_the_open_ports() {
    let network = detail("inspector2-finding-network.json");
    assert!(matcher(json!({"portRange": [{"beginInclusive": 20, "endInclusive": 25}]})).matches(&network));
    assert!(matcher(json!({"portRange": [{"beginInclusive": 22}]})).matches(&network));
    assert!(!matcher(json!({"portRange": [{"beginInclusive": 80, "endInclusive": 443}]})).matches(&network));
}

#[test]
fn package_filter_matches_any_package_on_all_its_parts() {
    let ecr = detail("inspector2-finding-ecr-image.json");
    assert!(
        matcher(json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "libssl3"}}]})).matches(&ecr)
    );
    let both = json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "openssl"},
                                              "version": {"comparison": "PREFIX", "value": "3.0"},
                                              "architecture": {"comparison": "EQUALS", "value": "AMD64"}}]});
    assert!(matcher(both).matches(&ecr));
    let wrong_version = json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "openssl"},
                                                       "version": {"comparison": "EQUALS", "value": "1.1.1"}}]});
    assert!(!matcher(wrong_version).matches(&ecr));
}

#[test]
fn multi_valued_fields_match_if_any_value_matches() {
    let ecr = detail("inspector2-finding-ecr-image.json");
    assert!(
        matcher(json!({"relatedVulnerabilities": [{"comparison": "EQUALS", "value": "CVE-2022-0778"}]})).matches(&ecr)
    );
    assert!(matcher(json!({"ecrImageTags": [{"comparison": "PREFIX", "value": "2026."}]})).matches(&ecr));
    assert!(
        matcher(json!({"componentType": [{"comparison": "EQUALS", "value": "AWS::EC2::SecurityGroup"}]}))
            .matches(&detail("inspector2-finding-network.json"))
    );
}

#[test]
fn every_field_of_the_api_has_a_place_in_a_finding() {
    for (name, _) in crate::filter::FIELDS {
        assert!(
            LOCATIONS.iter().any(|(field, _)| *field == name),
            "{name} has no location"
        );
    }
    let every: serde_json::Map<String, Value> = crate::filter::FIELDS
        .iter()
        .map(|(name, kind)| ((*name).to_owned(), crate::filter::tests::sample(*kind)))
        .collect();
    assert!(matcher(Value::Object(every)).unsupported().is_empty());
}

#[test]
fn newer_resource_families_match_at_their_model_places() {
    let finding = json!({"resources": [{
        "type": "AWS_EC2_INSTANCE", "id": "vm-1", "provider": "AZURE", "region": "westeurope",
        "providerAccountId": "sub-1", "providerOrgId": "tenant-1",
        "details": {
            "machineImage": {"machineImageId": "ami-0abc", "name": "golden-2026", "ownerAccountId": "123456789012", "platform": "LINUX"},
            "vm": {"vmImageReference": "img-ref", "networkId": "vnet-1", "subnetIds": ["sn-1", "sn-2"]},
            "image": {"repositoryName": "web", "registry": "acr", "imageDigest": "sha256:ab", "imageTags": ["v1", "latest"],
                      "pushedAt": "2026-11-30T18:14:32Z", "architecture": "arm64", "inUseCount": 3,
                      "lastInUseAt": "Mon Nov 30 18:14:32.123 UTC 2026"},
            "serverlessFunction": {"serverlessFunctionName": "fn-1", "runtime": "python3.12",
                                   "lastModifiedAt": "2026-11-01T00:00:00Z", "executionRole": "role-1"},
            "codeRepository": {"projectName": "payments-api", "providerType": "GITHUB"}
        }
    }]});
    let eq = |value: &str| json!([{"comparison": "EQUALS", "value": value}]);
    let hits = json!({
        "machineImageId": eq("ami-0abc"), "machineImageName": eq("golden-2026"),
        "machineImageOwnerAccountId": eq("123456789012"), "machineImagePlatform": eq("LINUX"),
        "cloudProvider": eq("AZURE"), "cloudProviderRegion": eq("westeurope"),
        "cloudProviderAccountId": eq("sub-1"), "cloudProviderOrgId": eq("tenant-1"),
        "cloudVmImageReference": eq("img-ref"), "cloudVmNetworkId": eq("vnet-1"), "cloudVmSubnetIds": eq("sn-2"),
        "cloudImageRepositoryName": eq("web"), "cloudImageRegistry": eq("acr"), "cloudImageDigest": eq("sha256:ab"),
        "cloudImageTags": eq("latest"), "cloudImageArchitecture": eq("arm64"),
        "cloudImagePushedAt": [{"startInclusive": "2026-11-30T00:00:00Z"}],
        "cloudImageLastInUseAt": [{"endInclusive": "2026-12-01T00:00:00Z"}],
        "cloudImageInUseCount": [{"lowerInclusive": 3, "upperInclusive": 3}],
        "cloudServerlessFunctionName": eq("fn-1"), "cloudServerlessFunctionRuntime": eq("python3.12"),
        "cloudServerlessFunctionLastModifiedAt": [{"startInclusive": "2026-10-01T00:00:00Z"}],
        "cloudServerlessFunctionExecutionRole": eq("role-1"),
        "codeRepositoryProjectName": eq("payments-api"), "codeRepositoryProviderType": eq("GITHUB")
    });
    assert!(matcher(hits.clone()).matches(&finding));
    for field in hits.as_object().unwrap().keys() {
        let miss = json!({ field.as_str(): [{"comparison": "EQUALS", "value": "nothing-like-it"}] });
        let miss = match crate::filter::kind_of(field).unwrap().1 {
            crate::filter::Kind::String => miss,
            crate::filter::Kind::Number => json!({ field.as_str(): [{"lowerInclusive": 100}] }),
            _ => json!({ field.as_str(): [{"startInclusive": "2030-01-01T00:00:00Z"}] }),
        };
        assert!(!matcher(miss).matches(&finding), "{field}");
    }
}

#[test]
fn every_location_names_a_real_field() {
    for (name, _) in LOCATIONS {
        assert!(crate::filter::kind_of(name).is_some(), "{name}");
    }
}
