//! The stream export loop over two narrow ports: pages of findings in, a multipart upload out.
//! The next page is fetched while the current one is serialized and its part uploads, so both
//! hide behind the pagination, and at most two pages and one part are held. On any failure the upload is
//! aborted, so that nothing partial is ever visible at the final key.

use async_trait::async_trait;
use serde_json::Value;

use super::{Finished, GzPartWriter, RowFormat, Summary};
use crate::Error;

/// One page of findings and the token of the next, if any.
pub type Page = (Vec<Value>, Option<String>);

/// Pages of findings (`ListFindings`, 100 a page, always with a status filter).
#[async_trait]
pub trait FindingPages: Send + Sync {
    /// The page at `token` (`None`: the first).
    async fn page(&self, token: Option<String>) -> Result<Page, Error>;
}

/// An S3 multipart upload to one key, with SSE-KMS set by the adapter.
#[async_trait]
pub trait MultipartSink: Send + Sync {
    /// `CreateMultipartUpload`; returns the upload id.
    async fn start(&self) -> Result<String, Error>;
    /// `UploadPart` number `number` (from 1); returns its ETag.
    async fn part(&self, upload_id: &str, number: i32, bytes: Vec<u8>) -> Result<String, Error>;
    /// `CompleteMultipartUpload` with every part's number and ETag, in order.
    async fn complete(&self, upload_id: &str, parts: Vec<(i32, String)>) -> Result<(), Error>;
    /// `AbortMultipartUpload`.
    async fn abort(&self, upload_id: &str) -> Result<(), Error>;
}

/// Findings serialized between two yields to the runtime, so that the page being fetched makes
/// progress on Lambda's one thread while a page is serialized.
const YIELD_EVERY: usize = 10;

/// What a completed stream export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Streamed {
    /// The object's figures (its last part already uploaded, so `last_part` is empty).
    pub object: Finished,
    /// Parts uploaded.
    pub parts: i32,
    /// The summary counts.
    pub summary: Summary,
}

/// Exports every page through `sink` as `format`, in parts of at least `part_size` compressed
/// bytes. Any error aborts the upload and is returned as it came (a throttle stays retryable).
pub async fn export(
    pages: &dyn FindingPages,
    sink: &dyn MultipartSink,
    format: RowFormat,
    part_size: usize,
) -> Result<Streamed, Error> {
    let upload_id = sink.start().await?;
    match run(pages, sink, &upload_id, format, part_size).await {
        Ok(streamed) => Ok(streamed),
        Err(err) => {
            if let Err(abort) = sink.abort(&upload_id).await {
                tracing::error!(error = %abort, upload_id, "AbortMultipartUpload failed; S3's lifecycle rule must clean up");
            }
            Err(err)
        }
    }
}

async fn run(
    pages: &dyn FindingPages,
    sink: &dyn MultipartSink,
    upload_id: &str,
    format: RowFormat,
    part_size: usize,
) -> Result<Streamed, Error> {
    let mut writer = GzPartWriter::new(format, part_size).map_err(io_error)?;
    let mut summary = Summary::default();
    let mut uploaded: Vec<(i32, String)> = Vec::new();
    let mut page = Some(pages.page(None).await?);
    while let Some((findings, token)) = page.take() {
        // The next page is asked for first and driven while this one is serialized and its part
        // uploads, so that the CPU work and the upload both hide behind the page's latency.
        let next = async {
            match token {
                Some(token) => Some(pages.page(Some(token)).await),
                None => None,
            }
        };
        let work = async {
            let mut ready: Option<Vec<u8>> = None;
            for (i, finding) in findings.iter().enumerate() {
                summary.add(finding);
                if let Some(part) = writer.write(finding).map_err(io_error)? {
                    // A part is at least `part_size`; a page larger than a part carries over.
                    ready = Some(match ready.take() {
                        None => part,
                        Some(mut earlier) => {
                            earlier.extend(part);
                            earlier
                        }
                    });
                }
                if i % YIELD_EVERY == YIELD_EVERY - 1 {
                    tokio::task::yield_now().await;
                }
            }
            match ready {
                Some(part) => {
                    let number = uploaded.len() as i32 + 1;
                    let etag = sink.part(upload_id, number, part).await?;
                    uploaded.push((number, etag));
                    Ok::<_, Error>(())
                }
                None => Ok(()),
            }
        };
        let (next, done) = futures_util::join!(next, work);
        done?;
        page = next.transpose()?;
    }
    let mut object = writer.finish().map_err(io_error)?;
    let number = uploaded.len() as i32 + 1;
    let last_part = std::mem::take(&mut object.last_part);
    uploaded.push((number, sink.part(upload_id, number, last_part).await?));
    let parts = uploaded.len() as i32;
    sink.complete(upload_id, uploaded).await?;
    Ok(Streamed {
        object,
        parts,
        summary: summary.finish(),
    })
}

fn io_error(err: std::io::Error) -> Error {
    Error::Aws {
        service: "export",
        operation: "gzip",
        code: None,
        class: crate::ErrorClass::Retryable,
        detail: err.to_string(),
        source: Box::new(err),
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
