//! Stream-export figures for BENCHMARKS.md: throughput and peak RSS exporting 10 000 and
//! 200 000 synthetic findings through the real stream loop (gzip, parts, summary) into a sink
//! that discards, each size in its own process on one thread; then a page source that sleeps
//! L ms a page with a sink that sleeps L ms a part, to show the upload hidden behind pagination.
//!
//! Run with `cargo run --release -p findings-export --example export_bench` (`make bench` does).
//! `-- --one <count> <NDJSON|CSV> <real|noisy>` runs one row and prints one line (used by the
//! parent run).

use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{json, Value};
use shared::export::stream::{export, FindingPages, MultipartSink, Page};
use shared::export::{RowFormat, PART_SIZE};
use shared::Error;

const PER_PAGE: usize = 100;
/// The rows of the throughput table: format, findings, and whether each carries 4 KiB of noise
/// (so that both of the sizes pass the 8 MiB part cap, where memory stops growing).
const ROWS: [(&str, u64, bool); 7] = [
    ("NDJSON", 10_000, false),
    ("NDJSON", 200_000, false),
    ("NDJSON", 1_000_000, false),
    ("CSV", 10_000, false),
    ("CSV", 200_000, false),
    ("NDJSON", 10_000, true),
    ("NDJSON", 200_000, true),
];
/// The sleeping run: pages, and the latency of a page and of a part upload.
const SLEEP_PAGES: usize = 100;
const LATENCY: Duration = Duration::from_millis(50);

/// The three finding fixtures, as templates for synthetic findings.
fn templates() -> Result<Vec<Value>, String> {
    let dir = format!("{}/../../tests/fixtures/events", env!("CARGO_MANIFEST_DIR"));
    [
        "inspector2-finding-ec2-package.json",
        "inspector2-finding-ecr-image.json",
        "inspector2-finding-network.json",
    ]
    .iter()
    .map(|name| {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).map_err(|e| format!("{dir}/{name}: {e}"))?;
        let event: Value = serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
        Ok(event["detail"].clone())
    })
    .collect()
}

/// `total` findings, 100 a page, made from the templates with distinct ARNs and times; with
/// `noise`, each carries 4 KiB of hex so that gzip fills several 8 MiB parts.
struct Synthetic {
    templates: Vec<Value>,
    total: u64,
    noise: Option<String>,
    latency: Option<Duration>,
}

/// 1 MiB of hex that deflate cannot shorten much; each noisy finding takes 4 KiB of it at its
/// own offset, so that making a page costs next to nothing next to the page's latency.
fn noise_pool() -> String {
    (0..65_536u64)
        .map(|k| {
            format!(
                "{:016x}",
                (k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left((k % 64) as u32)
            )
        })
        .collect()
}

#[async_trait]
impl FindingPages for Synthetic {
    async fn page(&self, token: Option<String>) -> Result<Page, Error> {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        let first: u64 = token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let last = (first + PER_PAGE as u64).min(self.total);
        let findings = (first..last)
            .map(|n| {
                let mut finding = self.templates[n as usize % self.templates.len()].clone();
                finding["findingArn"] = json!(format!(
                    "arn:aws:inspector2:ap-northeast-2:123456789012:finding/{n:032x}"
                ));
                finding["updatedAt"] = json!(1_796_000_000 + n);
                if let Some(pool) = &self.noise {
                    let offset = (n as usize * 4_099) % (pool.len() - 4_096);
                    finding["description"] = json!(&pool[offset..offset + 4_096]);
                }
                finding
            })
            .collect();
        Ok((findings, (last < self.total).then(|| last.to_string())))
    }
}

/// Counts and drops every part; with a latency, each part "uploads" for that long.
#[derive(Default)]
struct Discard {
    bytes: AtomicU64,
    parts: AtomicU64,
    latency: Option<Duration>,
}

#[async_trait]
impl MultipartSink for Discard {
    async fn start(&self) -> Result<String, Error> {
        Ok("discard".into())
    }

    async fn part(&self, _: &str, number: i32, bytes: Vec<u8>) -> Result<String, Error> {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.parts.fetch_add(1, Ordering::Relaxed);
        Ok(number.to_string())
    }

    async fn complete(&self, _: &str, _: Vec<(i32, String)>) -> Result<(), Error> {
        Ok(())
    }

    async fn abort(&self, _: &str) -> Result<(), Error> {
        Ok(())
    }
}

/// Peak resident set size of this process, in MB (`VmHWM`).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())
}

/// One row in this process: `count findings/s MB-gzip peak-RSS-MB`.
fn one(count: u64, format: &str, noisy: bool) -> Result<(), String> {
    let format = match format {
        "NDJSON" => RowFormat::Ndjson,
        "CSV" => RowFormat::Csv { now: 1_796_420_096.0 },
        other => return Err(format!("format {other:?}: expected NDJSON or CSV")),
    };
    let pages = Synthetic {
        templates: templates()?,
        total: count,
        noise: noisy.then(noise_pool),
        latency: None,
    };
    let sink = Discard::default();
    let started = Instant::now();
    let streamed = runtime()?
        .block_on(export(&pages, &sink, format, PART_SIZE))
        .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if streamed.object.count != count {
        return Err(format!("exported {} of {count}", streamed.object.count));
    }
    println!(
        "{count} {:.0} {:.2} {:.1}",
        count as f64 / seconds,
        streamed.object.bytes as f64 / 1e6,
        peak_rss_mb()
    );
    Ok(())
}

fn throughput() -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    println!("stream export, synthetic findings, sink that discards, one thread, one process per row");
    println!("| format | findings | findings/s | gzip MB | peak RSS MB |");
    println!("|---|---|---|---|---|");
    for (format, count, noisy) in ROWS {
        let kind = if noisy { "noisy" } else { "real" };
        let output = Command::new(&me)
            .args(["--one", &count.to_string(), format, kind])
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        let line = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [count, rate, megabytes, rss] = fields[..] {
            let label = if noisy {
                format!("{format} + 4 KiB noise")
            } else {
                format.to_owned()
            };
            println!("| {label} | {count} | {rate} | {megabytes} | {rss} |");
        }
    }
    Ok(())
}

fn hidden_upload() -> Result<(), String> {
    let templates = templates()?;
    let run = |latency: Option<Duration>| -> Result<(Duration, u64, u64), String> {
        let pages = Synthetic {
            templates: templates.clone(),
            total: (SLEEP_PAGES * PER_PAGE) as u64,
            noise: Some(noise_pool()),
            latency,
        };
        let sink = Discard {
            latency,
            ..Discard::default()
        };
        let started = Instant::now();
        runtime()?
            .block_on(export(&pages, &sink, RowFormat::Ndjson, PART_SIZE))
            .map_err(|e| e.to_string())?;
        Ok((
            started.elapsed(),
            sink.parts.load(Ordering::Relaxed),
            sink.bytes.load(Ordering::Relaxed),
        ))
    };
    // The same export with no latency: the CPU work a serial loop would add on top.
    let (cpu, _, _) = run(None)?;
    let (total, parts, bytes) = run(Some(LATENCY))?;
    let floor = LATENCY * SLEEP_PAGES as u32;
    let serial = floor + LATENCY * parts as u32 + cpu;
    let ratio = |d: Duration| d.as_secs_f64() / floor.as_secs_f64();
    println!();
    println!(
        "sleeping source: {SLEEP_PAGES} pages x {} ms, {parts} parts x {} ms upload, {:.1} MB gzip, {} ms of CPU work",
        LATENCY.as_millis(),
        LATENCY.as_millis(),
        bytes as f64 / 1e6,
        cpu.as_millis()
    );
    println!(
        "total {} ms = {:.3} x pages x L (target <= 1.1); a serial loop would take >= {} ms = {:.3} x",
        total.as_millis(),
        ratio(total),
        serial.as_millis(),
        ratio(serial)
    );
    Ok(())
}

fn main() -> ExitCode {
    shared::export::keep_parts_off_the_heap();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--one", count, format, kind @ ("real" | "noisy")] => count
            .parse()
            .map_err(|e| format!("count {count:?}: {e}"))
            .and_then(|count| one(count, format, kind == "noisy")),
        [] => throughput().and_then(|()| hidden_upload()),
        _ => Err("usage: export_bench [--one <count> <NDJSON|CSV> <real|noisy>]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("export_bench: {err}");
            ExitCode::FAILURE
        }
    }
}
