//! Streaming core tests: parts concatenate into one gzip stream of exactly the findings, every
//! part but the last reaches the part size, the sha256 and watermark are right, and the summary
//! counts. Compiled only under #[cfg(test)] (declared in mod.rs), so unwrap is fine here.

use std::io::Read;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::*;

fn finding(i: u64) -> Value {
    let severity = ["LOW", "MEDIUM", "HIGH", "CRITICAL"][(i % 4) as usize];
    json!({
        "findingArn": format!("arn:aws:inspector2:ap-northeast-2:123456789012:finding/{i:08}"),
        "severity": severity,
        "type": "PACKAGE_VULNERABILITY",
        "awsAccountId": "123456789012",
        "updatedAt": 1_796_000_000 + i,
        "description": format!("finding {i} with some text that varies {}", i * 7919 % 1000),
        "resources": [{"type": "AWS_EC2_INSTANCE", "id": format!("i-{i:017}")}],
        "packageVulnerabilityDetails": {"vulnerablePackages": [{"name": format!("pkg-{}", i % 30)}]}
    })
}

#[test]
fn parts_concatenate_into_exactly_the_findings() {
    let mut writer = GzPartWriter::new(RowFormat::Ndjson, 64 * 1024).unwrap();
    let mut object = Vec::new();
    let mut parts = Vec::new();
    for i in 0..20_000 {
        if let Some(part) = writer.write(&finding(i)).unwrap() {
            parts.push(part.len());
            object.extend(part);
        }
    }
    let finished = writer.finish().unwrap();
    object.extend(&finished.last_part);
    assert!(parts.len() >= 2, "{parts:?}");
    assert!(parts.iter().all(|len| *len >= 64 * 1024), "{parts:?}");
    assert_eq!(finished.count, 20_000);
    assert_eq!(finished.bytes, object.len() as u64);
    let digest: String = Sha256::digest(&object).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(finished.sha256, digest);
    assert_eq!(finished.watermark, Some(1_796_000_000.0 + 19_999.0));

    let mut text = String::new();
    flate2::read::GzDecoder::new(&object[..])
        .read_to_string(&mut text)
        .unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 20_000);
    assert_eq!(lines[12_345], finding(12_345));
}

#[test]
fn no_findings_is_a_valid_empty_gzip() {
    let finished = GzPartWriter::new(RowFormat::Ndjson, PART_SIZE)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(finished.count, 0);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&finished.last_part[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "");
    assert_eq!(finished.watermark, None);
}

#[test]
fn summary_counts_and_ranks_packages_by_critical_and_high() {
    let mut summary = Summary::default();
    for i in 0..100 {
        summary.add(&finding(i));
    }
    summary.add(&json!({"severity": 5}));
    for _ in 0..3 {
        summary.add(&json!({"severity": "CRITICAL",
                            "packageVulnerabilityDetails": {"vulnerablePackages": [{"name": "openssl"}]}}));
    }
    let summary = summary.finish();
    assert_eq!(summary.total, 104);
    assert_eq!(summary.by_severity["CRITICAL"], 28);
    assert_eq!(summary.by_severity["UNKNOWN"], 1);
    assert_eq!(summary.by_resource_type["AWS_EC2_INSTANCE"], 100);
    assert_eq!(summary.by_resource_type["UNKNOWN"], 4);
    assert_eq!(summary.by_account["123456789012"], 100);
    assert_eq!(summary.top_packages.len(), TOP_PACKAGES);
    // openssl has 3 critical findings; every pkg-k has 2 high or critical, ties by name.
    assert_eq!(summary.top_packages[0], ("openssl".to_owned(), 3));
    assert_eq!(summary.top_packages[1], ("pkg-0".to_owned(), 2));
    assert_eq!(summary.top_packages[2], ("pkg-1".to_owned(), 2));
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["bySeverity"]["HIGH"], 25);
    assert!(json.get("seriousByPackage").is_none());
}
