//! Throughput of the compiled FilterCriteria matcher: finding × rule evaluations per second on
//! one core (target ≥ 1 000 000). Run with `cargo bench -p shared --bench matcher`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use shared::filter::matcher::Matcher;
use shared::filter::FilterCriteria;
use std::hint::black_box;

fn read(path: &str) -> Value {
    let path = format!("{}/../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn matchers() -> Vec<Matcher> {
    let rules = read("rules/example.json");
    let mut criteria: Vec<Value> = ["suppressions", "routes"]
        .iter()
        .flat_map(|section| rules[section].as_array().cloned().unwrap_or_default())
        .map(|rule| rule["filterCriteria"].clone())
        .collect();
    // A heavy rule: many fields, multi-valued places, dates in Inspector's event format.
    criteria.push(json!({
        "severity": [{"comparison": "EQUALS", "value": "HIGH"}, {"comparison": "EQUALS", "value": "CRITICAL"}],
        "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
        "resourceType": [{"comparison": "PREFIX", "value": "AWS_E"}],
        "inspectorScore": [{"lowerInclusive": 7.0}],
        "updatedAt": [{"startInclusive": "2026-01-01T00:00:00Z"}],
        "resourceTags": [{"comparison": "EQUALS", "key": "env", "value": "dev"}],
        "vulnerablePackages": [{"name": {"comparison": "PREFIX", "value": "lib"}}],
        "vulnerabilityId": [{"comparison": "NOT_EQUALS", "value": "CVE-2000-0001"}],
    }));
    criteria
        .iter()
        .map(|c| Matcher::new(&FilterCriteria::from_json(c, "bench").expect("valid criteria")))
        .collect()
}

fn bench(c: &mut Criterion) {
    let matchers = matchers();
    let findings: Vec<Value> = [
        "inspector2-finding-ec2-package.json",
        "inspector2-finding-ecr-image.json",
        "inspector2-finding-network.json",
    ]
    .iter()
    .map(|name| read(&format!("events/{name}"))["detail"].clone())
    .collect();
    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Elements((matchers.len() * findings.len()) as u64));
    group.bench_function("finding x rule", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for finding in &findings {
                for matcher in &matchers {
                    hits += usize::from(matcher.matches(black_box(finding)));
                }
            }
            hits
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
