//! findings-export's core: findings in, gzip NDJSON or CSV parts of at least [`PART_SIZE`] out,
//! with the object's sha256, the count and the `updatedAt` watermark kept on the way, and the
//! summary counts. Memory holds one part at most, whatever the count.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::filter::matcher::finding_time;

pub mod csv;
pub mod flow;
pub mod layout;
pub mod ports;
pub mod request;
pub mod stream;

/// Epoch seconds (as the matcher reads finding times) as a time, to the millisecond that
/// Inspector's timestamps carry, so that no float noise reaches a file.
pub fn epoch_time(secs: f64) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis((secs * 1000.0).round() as i64)
}

/// S3's multipart minimum is 5 MiB; 8 MiB parts keep a 10 000-part upload above 80 GB.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// How each finding becomes bytes in the object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowFormat {
    /// One finding a line: the API's JSON, unchanged.
    Ndjson,
    /// A header, then one row a finding, with the native report's columns ([`csv::COLUMNS`]).
    Csv {
        /// When the export started, in epoch seconds: the reference for "Age (Days)".
        now: f64,
    },
}

impl RowFormat {
    /// The object's extension before `.gz`.
    pub fn extension(self) -> &'static str {
        match self {
            RowFormat::Ndjson => "ndjson",
            RowFormat::Csv { .. } => "csv",
        }
    }

    /// The object's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            RowFormat::Ndjson => "application/x-ndjson",
            RowFormat::Csv { .. } => "text/csv",
        }
    }
}

/// glibc raises its mmap threshold to the largest block freed, so after the first part every
/// 8 MiB part buffer is carved from the heap, and freed parts leave holes that stay resident:
/// peak RSS then creeps up with the number of parts (15 MB at 3 parts, 31 MB at 58 in
/// BENCHMARKS.md). A fixed threshold keeps each part in its own mapping, unmapped when freed,
/// so memory stays flat however many parts an export has. Call it first thing in `main`.
pub fn keep_parts_off_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// A part buffer's capacity: the part size plus room for the finding that crosses it, so that
/// the buffer is never reallocated (a doubling would copy 8 MiB and touch 16).
fn buffer_capacity(part_size: usize) -> usize {
    part_size + part_size / 8
}

/// Writes findings as gzip NDJSON or CSV and hands out finished parts.
pub struct GzPartWriter {
    format: RowFormat,
    encoder: GzEncoder<Vec<u8>>,
    /// One line or row, built here and handed to the encoder in one write: serde and the CSV
    /// writer make many tiny writes, each of which would be a call into deflate.
    line: Vec<u8>,
    part_size: usize,
    hasher: Sha256,
    count: u64,
    bytes: u64,
    watermark: Option<f64>,
}

/// What the whole object was, once finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The last part (may be smaller than the part size); the stream loop takes it out to
    /// upload it, so that it is never copied.
    pub last_part: Vec<u8>,
    /// Findings written.
    pub count: u64,
    /// Compressed bytes, all parts.
    pub bytes: u64,
    /// sha256 of the compressed object, hex.
    pub sha256: String,
    /// The newest `updatedAt`, in epoch seconds.
    pub watermark: Option<f64>,
}

impl GzPartWriter {
    /// A writer that hands out parts once `part_size` compressed bytes are buffered. A CSV
    /// object starts with its header row.
    pub fn new(format: RowFormat, part_size: usize) -> std::io::Result<Self> {
        let mut encoder = GzEncoder::new(Vec::with_capacity(buffer_capacity(part_size)), Compression::default());
        if let RowFormat::Csv { .. } = format {
            csv::write_header(&mut encoder)?;
        }
        Ok(GzPartWriter {
            format,
            encoder,
            line: Vec::with_capacity(16 * 1024),
            part_size,
            hasher: Sha256::new(),
            count: 0,
            bytes: 0,
            watermark: None,
        })
    }

    /// Appends one finding as a line or row. Returns a finished part when the buffer reached the
    /// part size.
    pub fn write(&mut self, finding: &Value) -> std::io::Result<Option<Vec<u8>>> {
        self.line.clear();
        match self.format {
            RowFormat::Ndjson => {
                serde_json::to_writer(&mut self.line, finding)?;
                self.line.push(b'\n');
            }
            RowFormat::Csv { now } => csv::write_row(&mut self.line, finding, now)?,
        }
        self.encoder.write_all(&self.line)?;
        self.count += 1;
        if let Some(at) = finding.get("updatedAt").and_then(finding_time) {
            self.watermark = Some(self.watermark.map_or(at, |w| w.max(at)));
        }
        if self.encoder.get_ref().len() < self.part_size {
            return Ok(None);
        }
        Ok(Some(self.take()))
    }

    fn take(&mut self) -> Vec<u8> {
        // The gzip stream is one byte stream: the parts concatenate back into it.
        let part = std::mem::replace(
            self.encoder.get_mut(),
            Vec::with_capacity(buffer_capacity(self.part_size)),
        );
        self.hasher.update(&part);
        self.bytes += part.len() as u64;
        part
    }

    /// Ends the gzip stream and returns the last part and the object's figures.
    pub fn finish(mut self) -> std::io::Result<Finished> {
        self.encoder.try_finish()?;
        let last_part = self.take();
        let sha256 = self.hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Finished {
            last_part,
            count: self.count,
            bytes: self.bytes,
            sha256,
            watermark: self.watermark,
        })
    }
}

/// Top packages listed in the summary.
pub const TOP_PACKAGES: usize = 20;

/// The seed's Summary page: counts by severity, type, resource type and account, and the
/// packages with the most critical and high findings.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Findings counted.
    pub total: u64,
    /// By `severity`.
    pub by_severity: BTreeMap<String, u64>,
    /// By `type`.
    pub by_type: BTreeMap<String, u64>,
    /// By the first resource's `type`.
    pub by_resource_type: BTreeMap<String, u64>,
    /// By `awsAccountId`.
    pub by_account: BTreeMap<String, u64>,
    /// `[package, critical + high findings]`, most first, at most [`TOP_PACKAGES`].
    pub top_packages: Vec<(String, u64)>,
    #[serde(skip)]
    serious_by_package: HashMap<String, u64>,
}

impl Summary {
    /// Counts one finding.
    pub fn add(&mut self, finding: &Value) {
        let text = |pointer: &str| {
            finding
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("UNKNOWN")
                .to_owned()
        };
        self.total += 1;
        let severity = text("/severity");
        *self.by_type.entry(text("/type")).or_default() += 1;
        *self.by_resource_type.entry(text("/resources/0/type")).or_default() += 1;
        *self.by_account.entry(text("/awsAccountId")).or_default() += 1;
        if severity == "CRITICAL" || severity == "HIGH" {
            let packages = finding
                .pointer("/packageVulnerabilityDetails/vulnerablePackages")
                .and_then(Value::as_array);
            for name in packages.into_iter().flatten().filter_map(|p| p.get("name")?.as_str()) {
                *self.serious_by_package.entry(name.to_owned()).or_default() += 1;
            }
        }
        *self.by_severity.entry(severity).or_default() += 1;
    }

    /// Fills `top_packages` from the counts (ties by name, for a stable file).
    pub fn finish(mut self) -> Self {
        let mut packages: Vec<(String, u64)> = self.serious_by_package.drain().collect();
        packages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        packages.truncate(TOP_PACKAGES);
        self.top_packages = packages;
        self
    }
}

#[cfg(test)]
mod tests;
