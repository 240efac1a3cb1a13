//! Stream loop tests with fakes of the two ports: 50 pages with tokens, the object equal to the
//! findings, and a failure on part 3 of 5 that aborts and leaves nothing, then a rerun that
//! completes. Compiled only under #[cfg(test)] (declared in stream.rs), so unwrap is fine here.

use std::io::Read;
use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::export::PART_SIZE;
use crate::ErrorClass;

struct Pages {
    pages: usize,
    per_page: usize,
    asked: Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl FindingPages for Pages {
    async fn page(&self, token: Option<String>) -> Result<Page, Error> {
        self.asked.lock().unwrap().push(token.clone());
        let index: usize = token.map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
        let findings = (0..self.per_page)
            .map(|i| {
                let n = index * self.per_page + i;
                // Hex noise, so that the gzip output is large enough for several parts.
                let noise: String = (0..8u64)
                    .map(|k| {
                        format!(
                            "{:016x}",
                            (n as u64 + 1)
                                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                                .rotate_left(k as u32 * 7)
                        )
                    })
                    .collect();
                json!({"findingArn": format!("arn:f/{n}"), "severity": "HIGH", "updatedAt": n, "description": noise})
            })
            .collect();
        let next = (index + 1 < self.pages).then(|| format!("page-{}", index + 1));
        Ok((findings, next))
    }
}

#[derive(Default)]
struct Sink {
    fail_on_part: Option<i32>,
    parts: Mutex<Vec<(i32, Vec<u8>)>>,
    completed: Mutex<Option<Vec<u8>>>,
    aborted: Mutex<bool>,
}

#[async_trait]
impl MultipartSink for Sink {
    async fn start(&self) -> Result<String, Error> {
        Ok("upload-1".into())
    }

    async fn part(&self, _: &str, number: i32, bytes: Vec<u8>) -> Result<String, Error> {
        if self.fail_on_part == Some(number) {
            return Err(Error::Aws {
                service: "s3",
                operation: "UploadPart",
                code: Some("InternalError".into()),
                class: ErrorClass::Retryable,
                detail: "InternalError: injected".into(),
                source: "injected".into(),
            });
        }
        self.parts.lock().unwrap().push((number, bytes));
        Ok(format!("etag-{number}"))
    }

    async fn complete(&self, _: &str, parts: Vec<(i32, String)>) -> Result<(), Error> {
        let stored = self.parts.lock().unwrap();
        assert_eq!(parts.len(), stored.len());
        let mut object = Vec::new();
        for (number, etag) in parts {
            let (_, bytes) = stored.iter().find(|(n, _)| *n == number).unwrap();
            assert_eq!(etag, format!("etag-{number}"));
            object.extend(bytes);
        }
        *self.completed.lock().unwrap() = Some(object);
        Ok(())
    }

    async fn abort(&self, _: &str) -> Result<(), Error> {
        *self.aborted.lock().unwrap() = true;
        Ok(())
    }
}

fn pages(count: usize) -> Pages {
    Pages {
        pages: count,
        per_page: 100,
        asked: Mutex::new(Vec::new()),
    }
}

#[tokio::test]
async fn fifty_pages_stream_into_one_object_of_exactly_those_findings() {
    let source = pages(50);
    let sink = Sink::default();
    let streamed = export(&source, &sink, RowFormat::Ndjson, 4 * 1024).await.unwrap();
    assert_eq!(source.asked.lock().unwrap().len(), 50);
    assert_eq!(source.asked.lock().unwrap()[49].as_deref(), Some("page-49"));
    assert_eq!(streamed.object.count, 5_000);
    assert!(streamed.parts >= 3, "{}", streamed.parts);
    assert_eq!(streamed.summary.by_severity["HIGH"], 5_000);
    assert_eq!(streamed.object.watermark, Some(4_999.0));

    let object = sink.completed.lock().unwrap().clone().expect("completed");
    assert_eq!(streamed.object.bytes, object.len() as u64);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&object[..])
        .read_to_string(&mut text)
        .unwrap();
    let arns: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["findingArn"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(arns.len(), 5_000);
    assert_eq!(arns[0], "arn:f/0");
    assert_eq!(arns[4_999], "arn:f/4999");
    assert!(!*sink.aborted.lock().unwrap());
}

#[tokio::test]
async fn a_failed_part_aborts_and_leaves_nothing_then_a_rerun_completes() {
    let failing = Sink {
        fail_on_part: Some(3),
        ..Sink::default()
    };
    let err = export(&pages(50), &failing, RowFormat::Ndjson, 4 * 1024)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert!(*failing.aborted.lock().unwrap(), "AbortMultipartUpload called");
    assert!(
        failing.completed.lock().unwrap().is_none(),
        "no object at the final key"
    );

    let sink = Sink::default();
    let streamed = export(&pages(50), &sink, RowFormat::Ndjson, 4 * 1024).await.unwrap();
    assert_eq!(streamed.object.count, 5_000);
    assert!(sink.completed.lock().unwrap().is_some());
}

#[tokio::test]
async fn an_empty_account_gives_a_valid_empty_object() {
    let source = Pages {
        pages: 1,
        per_page: 0,
        asked: Mutex::new(Vec::new()),
    };
    let sink = Sink::default();
    let streamed = export(&source, &sink, RowFormat::Ndjson, PART_SIZE).await.unwrap();
    assert_eq!((streamed.object.count, streamed.parts), (0, 1));
    assert!(sink.completed.lock().unwrap().is_some());
}

/// A port that takes `LATENCY` before answering, like a network call.
struct Slow<T>(T);

const LATENCY: std::time::Duration = std::time::Duration::from_millis(100);

#[async_trait]
impl FindingPages for Slow<Pages> {
    async fn page(&self, token: Option<String>) -> Result<Page, Error> {
        tokio::time::sleep(LATENCY).await;
        self.0.page(token).await
    }
}

#[async_trait]
impl MultipartSink for Slow<Sink> {
    async fn start(&self) -> Result<String, Error> {
        self.0.start().await
    }
    async fn part(&self, upload_id: &str, number: i32, bytes: Vec<u8>) -> Result<String, Error> {
        tokio::time::sleep(LATENCY).await;
        self.0.part(upload_id, number, bytes).await
    }
    async fn complete(&self, upload_id: &str, parts: Vec<(i32, String)>) -> Result<(), Error> {
        self.0.complete(upload_id, parts).await
    }
    async fn abort(&self, upload_id: &str) -> Result<(), Error> {
        self.0.abort(upload_id).await
    }
}

#[tokio::test(start_paused = true)]
async fn uploads_hide_behind_the_page_latency() {
    // GIVEN 50 pages and uploads that each take as long as a page
    let source = Slow(pages(50));
    let sink = Slow(Sink::default());
    let started = tokio::time::Instant::now();
    // WHEN they are exported in small parts (gzip flushes every ~32 KiB: a part per ~4 pages)
    let streamed = export(&source, &sink, RowFormat::Ndjson, 4 * 1024).await.unwrap();
    // THEN the time is the pages' plus the last part's; serially it would be one more
    // latency per part
    let elapsed = started.elapsed();
    assert!(streamed.parts >= 5, "{} parts", streamed.parts);
    assert!(elapsed <= LATENCY * 51, "{elapsed:?} for {} parts", streamed.parts);
    assert!(sink.0.completed.lock().unwrap().is_some());
}
