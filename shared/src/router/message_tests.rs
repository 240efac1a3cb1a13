//! Message formatting tests on every finding fixture: exact subjects and attributes, the key
//! facts in the body, the JSON part, truncation on character boundaries, scan digests.
//! Compiled only under #[cfg(test)] (declared in message.rs), so unwrap is fine here.

use serde_json::{json, Value};

use super::*;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../tests/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn message(name: &str) -> Notification {
    let event = fixture(name);
    FindingView::new(&event["detail"], event["region"].as_str())
        .notification("arn:aws:sns:ap-northeast-2:123456789012:t")
}

fn json_part(body: &str) -> Value {
    let (_, json) = body.split_once(&format!("{JSON_MARKER}\n")).unwrap();
    serde_json::from_str(json).unwrap()
}

fn attributes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn ec2_package_finding() {
    let m = message("inspector2-finding-ec2-package.json");
    assert_eq!(m.subject, "[HIGH] CVE-2021-3592 - libslirp0 on i-0abcd1111efgh2222");
    assert_eq!(
        m.attributes,
        attributes(&[
            ("severity", "HIGH"),
            ("findingType", "PACKAGE_VULNERABILITY"),
            ("resourceType", "AWS_EC2_INSTANCE"),
            ("awsAccountId", "123456789012"),
            ("vulnerabilityId", "CVE-2021-3592"),
        ])
    );
    for fact in [
        "HIGH (Inspector score 7.8)",
        "CVE-2021-3592 (vendor severity MEDIUM)",
        "libslirp0 4.1.0 -> fixed in 4.1.0-2ubuntu0.1",
        "i-0abcd1111efgh2222 (AWS_EC2_INSTANCE)",
        "Name=priA-ec2, env=dev",
        "123456789012",
        "ap-northeast-2",
        "Exploit available:NO",
        "Fix available:    YES",
        "First observed:   2026-11-30T18:14:32.123Z",
        "Upgrade libslirp0 to 4.1.0-2ubuntu0.1.",
        "https://ap-northeast-2.console.aws.amazon.com/inspector/v2/home?region=ap-northeast-2#/findings/all?findingArn=arn%3Aaws%3Ainspector2%3Aap-northeast-2%3A123456789012%3Afinding%2F0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "A heap buffer overflow was found",
    ] {
        assert!(m.message.contains(fact), "{fact:?} in\n{}", m.message);
    }
    let machine = json_part(&m.message);
    assert_eq!(machine["vulnerabilityId"], "CVE-2021-3592");
    assert_eq!(machine["packages"][0]["fixedInVersion"], "4.1.0-2ubuntu0.1");
    assert_eq!(machine["inspectorScore"], 7.8);
    assert_eq!(machine["updatedAt"], "2026-11-30T18:14:32.123Z");
}

#[test]
fn ecr_image_finding() {
    let m = message("inspector2-finding-ecr-image.json");
    assert_eq!(
        m.subject,
        "[CRITICAL] CVE-2022-3602 - openssl, libssl3 on sandbox-web:latest"
    );
    assert_eq!(
        m.attributes,
        attributes(&[
            ("severity", "CRITICAL"),
            ("findingType", "PACKAGE_VULNERABILITY"),
            ("resourceType", "AWS_ECR_CONTAINER_IMAGE"),
            ("awsAccountId", "123456789012"),
            ("vulnerabilityId", "CVE-2022-3602"),
        ])
    );
    assert!(m.message.contains("Package:"), "{}", m.message);
    assert_eq!(json_part(&m.message)["severity"], "CRITICAL");
}

#[test]
fn network_finding_has_no_vulnerability_attribute() {
    let m = message("inspector2-finding-network.json");
    assert_eq!(
        m.subject,
        "[MEDIUM] Port 22 is reachable from an Internet Gateway - TCP on i-0abcd1111efgh2222"
    );
    assert_eq!(
        m.attributes,
        attributes(&[
            ("severity", "MEDIUM"),
            ("findingType", "NETWORK_REACHABILITY"),
            ("resourceType", "AWS_EC2_INSTANCE"),
            ("awsAccountId", "123456789012"),
        ])
    );
}

#[test]
fn subjects_are_ascii_and_at_most_100_characters() {
    let long = "Ünïcödé title — with dashes, emoji 🚨, and\nnew lines ".repeat(10);
    let s = subject("CRITICAL", &long, "i-0123456789abcdef0");
    assert!(s.len() <= MAX_SUBJECT_CHARS, "{}", s.len());
    assert!(s.bytes().all(|b| (b' '..=b'~').contains(&b)), "{s}");
    assert!(s.starts_with("[CRITICAL] ?n?c?d? title ? with dashes, emoji ?, and new lines"));
    assert!(s.ends_with("... on i-0123456789abcdef0"), "{s}");
    let huge = subject("LOW", "t", &"r".repeat(500));
    assert_eq!(huge, format!("[LOW] t on {}...", "r".repeat(37)));
    let huge_all = subject(&"S".repeat(50), &"t".repeat(500), &"r".repeat(500));
    assert_eq!(huge_all.len(), MAX_SUBJECT_CHARS);
}

#[test]
fn a_10000_character_multibyte_description_is_cut_cleanly() {
    let mut event = fixture("inspector2-finding-ec2-package.json");
    event["detail"]["description"] = json!("취약점 설명 é🚨 ".repeat(1_000));
    let m = FindingView::new(&event["detail"], None).notification("t");
    let description = m.message.lines().find(|l| l.starts_with("취약점")).unwrap();
    assert_eq!(description.chars().count(), MAX_DESCRIPTION_CHARS);
    assert!(description.ends_with('…'));
    assert!(m.message.len() < 64 * 1024, "{}", m.message.len());
    json_part(&m.message);
}

#[test]
fn huge_package_lists_are_capped() {
    let mut event = fixture("inspector2-finding-ec2-package.json");
    let package = event["detail"]["packageVulnerabilityDetails"]["vulnerablePackages"][0].clone();
    event["detail"]["packageVulnerabilityDetails"]["vulnerablePackages"] = json!(vec![package; 5_000]);
    let m = FindingView::new(&event["detail"], None).notification("t");
    assert!(m.message.contains(&format!("and {} more", 5_000 - MAX_PACKAGES)));
    assert_eq!(
        json_part(&m.message)["packages"].as_array().unwrap().len(),
        MAX_PACKAGES
    );
    assert!(m.message.len() < 64 * 1024);
}

#[test]
fn timestamps_parse_in_both_formats_or_stay_raw() {
    assert_eq!(
        timestamp(Some(&json!("Mon Nov 30 18:14:32.123 UTC 2026"))).unwrap(),
        "2026-11-30T18:14:32.123Z"
    );
    assert_eq!(
        timestamp(Some(&json!("2026-11-30T18:14:32Z"))).unwrap(),
        "2026-11-30T18:14:32Z"
    );
    assert_eq!(timestamp(Some(&json!("yesterday-ish"))).unwrap(), "yesterday-ish");
    assert_eq!(timestamp(Some(&json!(null))), None);
    assert_eq!(timestamp(None), None);
}

#[test]
fn a_bare_finding_still_gives_a_message() {
    let detail = json!({"findingArn": "arn:x"});
    let m = FindingView::new(&detail, None).notification("t");
    assert_eq!(m.subject, "[UNTRIAGED] Inspector finding");
    assert_eq!(m.attributes, attributes(&[("severity", "UNTRIAGED")]));
    assert_eq!(json_part(&m.message)["findingArn"], "arn:x");
}

#[test]
fn scan_digest_of_the_fixture() {
    let digest = ScanDigest::from_event(&fixture("inspector2-scan-ec2.json")).unwrap();
    assert_eq!(digest.serious(), 3);
    let m = digest.notification("t");
    assert_eq!(
        m.subject,
        "Inspector initial scan of i-0abcd1111efgh2222 complete: 0 critical, 3 high, 7 medium"
    );
    assert_eq!(m.attributes["severity"], "HIGH");
    assert_eq!(m.attributes["findingType"], "SCAN_DIGEST");
    assert_eq!(json_part(&m.message)["counts"]["MEDIUM"], 7);
    assert!(ScanDigest::from_event(&json!({"detail": {}})).is_none());
}
