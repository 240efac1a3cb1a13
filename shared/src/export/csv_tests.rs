//! CSV tests: the header is the documented column list, quoting survives a real CSV parser, and
//! a finding from the fixtures fills the columns it has. Compiled only under #[cfg(test)].

use serde_json::json;

use super::*;

fn parse(bytes: &[u8]) -> Vec<Vec<String>> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn fixture_finding() -> Value {
    let text = include_str!("../../../tests/fixtures/events/inspector2-finding-ec2-package.json");
    serde_json::from_str::<Value>(text).unwrap()["detail"].clone()
}

fn column(row: &[String], name: &str) -> String {
    let index = COLUMNS.iter().position(|c| *c == name).unwrap();
    row[index].clone()
}

#[test]
fn header_matches_the_documented_columns() {
    let mut out = Vec::new();
    write_header(&mut out).unwrap();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        format!("{}\r\n", COLUMNS.join(","))
    );
    assert_eq!(
        parse(&out),
        vec![COLUMNS.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()]
    );
}

#[test]
fn commas_quotes_and_newlines_in_a_description_survive_quoting() {
    let description = "line one, with a comma\nline \"two\"\r\nand three";
    let mut out = Vec::new();
    write_row(&mut out, &json!({"description": description, "title": "plain"}), 0.0).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.contains("\"line one, with a comma\nline \"\"two\"\"\r\nand three\""),
        "{text}"
    );
    let rows = parse(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].len(), COLUMNS.len());
    assert_eq!(column(&rows[0], "Description"), description);
    assert_eq!(column(&rows[0], "Title"), "plain");
}

#[test]
fn a_package_finding_fills_its_columns() {
    let finding = fixture_finding();
    let now = finding_time(&json!("Mon Dec 10 18:14:32.123 UTC 2026")).unwrap();
    let mut out = Vec::new();
    write_row(&mut out, &finding, now).unwrap();
    let row = &parse(&out)[0];
    assert_eq!(row.len(), COLUMNS.len());
    assert_eq!(column(row, "AWS Account Id"), "123456789012");
    assert_eq!(column(row, "Severity"), "HIGH");
    assert_eq!(column(row, "Fix Available"), "YES");
    assert_eq!(column(row, "Finding Type"), "PACKAGE_VULNERABILITY");
    assert_eq!(column(row, "First Seen"), "2026-11-30T18:14:32.123Z");
    assert_eq!(column(row, "Resource ID"), "i-0abcd1111efgh2222");
    assert_eq!(column(row, "Platform"), "UBUNTU_20_04");
    assert_eq!(column(row, "Resource Tags"), "Name=priA-ec2,env=dev");
    assert_eq!(column(row, "Affected Packages"), "libslirp0");
    assert_eq!(column(row, "Package Installed Version"), "4.1.0-0ubuntu1.1");
    assert_eq!(column(row, "Fixed in Version"), "4.1.0-2ubuntu0.1");
    assert_eq!(column(row, "Age (Days)"), "10");
    assert_eq!(column(row, "Remediation"), "Upgrade libslirp0 to 4.1.0-2ubuntu0.1.");
    assert_eq!(column(row, "Inspector Score"), "7.8");
    assert_eq!(column(row, "Vulnerability Id"), "CVE-2021-3592");
    assert_eq!(column(row, "Vendor"), "UBUNTU_CVE");
    assert_eq!(column(row, "Vendor Advisory Published"), "2021-06-14T16:15:00Z");
    assert_eq!(column(row, "NVD CVSS3 Score"), "7.8");
    assert_eq!(
        column(row, "NVD CVSS3 Vector"),
        "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"
    );
    assert_eq!(column(row, "NVD CVSS2 Score"), "");
    assert_eq!(column(row, "Resource Type"), "AWS_EC2_INSTANCE");
    assert_eq!(column(row, "Ami"), "ami-0dabdb2e1b2a3c4d5");
    assert_eq!(column(row, "Resource Private Ipv4"), "10.0.2.15");
    assert_eq!(column(row, "Resource Public Ipv4"), "");
    assert_eq!(column(row, "Resource Vpc"), "vpc-0123456789abcdef0");
    assert_eq!(column(row, "Package Manager"), "OS");
}

#[test]
fn odd_shapes_still_give_a_full_row() {
    for finding in [
        json!(null),
        json!([]),
        json!({"resources": 5, "packageVulnerabilityDetails": "x"}),
    ] {
        let mut out = Vec::new();
        write_row(&mut out, &finding, 0.0).unwrap();
        let rows = parse(&out);
        assert_eq!(rows[0].len(), COLUMNS.len());
        assert!(rows[0].iter().all(String::is_empty), "{rows:?}");
    }
}

#[test]
fn addresses_split_into_public_and_private() {
    for (address, private) in [
        ("10.1.2.3", true),
        ("172.20.0.1", true),
        ("172.32.0.1", false),
        ("192.168.1.1", true),
        ("100.64.0.1", true),
        ("3.5.140.2", false),
        ("nonsense", false),
    ] {
        assert_eq!(is_private_ipv4(address), private, "{address}");
    }
}
