//! Where exports land in the bucket (DESIGN.md, "findings-export"):
//! - stream: `PREFIX/year=YYYY/month=MM/day=DD/findings-<UTC time>.<ext>.gz`, with
//!   `….manifest.json` and `….summary.json` beside it, partitioned for Athena and Glue;
//! - report and sbom: Inspector writes under `PREFIX/YYYY/MM/DD/`.
//!
//! Keys sort in time order, so the newest manifest is the greatest key.

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// The suffix that marks a stream export's manifest.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

/// The three objects of one stream export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKeys {
    /// The gzip data object.
    pub data: String,
    /// Its manifest, written last: an export without one did not finish.
    pub manifest: String,
    /// Its summary counts.
    pub summary: String,
}

/// `(YYYY, MM, DD, HHMMSS, mmm)` of a time, in UTC.
fn parts(at: DateTime) -> (String, String, String, String, String) {
    // RFC 3339 from the SDK's own formatter, so that no calendar code is written here.
    let text = at
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned());
    let field = |range: std::ops::Range<usize>| text.get(range).unwrap_or("00").to_owned();
    let millis = format!("{:03}", at.subsec_nanos() / 1_000_000);
    let time = format!("{}{}{}", field(11..13), field(14..16), field(17..19));
    (field(0..4), field(5..7), field(8..10), time, millis)
}

/// The prefix with no leading or trailing slash.
pub fn clean_prefix(prefix: &str) -> &str {
    prefix.trim_matches('/')
}

fn join(prefix: &str, rest: &str) -> String {
    match clean_prefix(prefix) {
        "" => rest.to_owned(),
        prefix => format!("{prefix}/{rest}"),
    }
}

/// The keys of a stream export started at `started`, with the data object's `extension`
/// (`ndjson` or `csv`).
pub fn stream_keys(prefix: &str, started: DateTime, extension: &str) -> StreamKeys {
    let (year, month, day, time, millis) = parts(started);
    let stem = join(
        prefix,
        &format!("year={year}/month={month}/day={day}/findings-{year}{month}{day}T{time}.{millis}Z"),
    );
    StreamKeys {
        data: format!("{stem}.{extension}.gz"),
        manifest: format!("{stem}{MANIFEST_SUFFIX}"),
        summary: format!("{stem}.summary.json"),
    }
}

/// The key prefix a report or SBOM export started at `started` is written under.
pub fn report_prefix(prefix: &str, started: DateTime) -> String {
    let (year, month, day, _, _) = parts(started);
    join(prefix, &format!("{year}/{month}/{day}"))
}

/// The folder level that holds stream exports: `year=…/`, `month=…/`, `day=…/`, then objects.
pub fn stream_root(prefix: &str) -> String {
    join(prefix, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_are_partitioned_by_day_and_sort_by_time() {
        let at = DateTime::from_secs_and_nanos(1_796_420_096, 7_000_000); // 2026-12-04T21:34:56.007Z
        let keys = stream_keys("/inspector/findings/", at, "ndjson");
        assert_eq!(
            keys.data,
            "inspector/findings/year=2026/month=12/day=04/findings-20261204T213456.007Z.ndjson.gz"
        );
        assert_eq!(
            keys.manifest,
            "inspector/findings/year=2026/month=12/day=04/findings-20261204T213456.007Z.manifest.json"
        );
        assert_eq!(
            keys.summary,
            "inspector/findings/year=2026/month=12/day=04/findings-20261204T213456.007Z.summary.json"
        );
        let later = stream_keys("inspector/findings", DateTime::from_secs(1_796_420_097), "csv");
        assert!(later.manifest > keys.manifest);
        assert!(later.data.ends_with("T213457.000Z.csv.gz"), "{}", later.data);
    }

    #[test]
    fn report_prefix_is_dated() {
        let at = DateTime::from_secs(1_796_420_096);
        assert_eq!(report_prefix("inspector/findings", at), "inspector/findings/2026/12/04");
        assert_eq!(report_prefix("", at), "2026/12/04");
        assert_eq!(stream_root("a/b/"), "a/b/");
        assert_eq!(stream_root(""), "");
    }
}
