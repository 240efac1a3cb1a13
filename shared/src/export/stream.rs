//! The stream export loop over two narrow ports: pages of findings in, a multipart upload out.
//! The next page is fetched while the previous part uploads, so the upload hides behind the
//! pagination, and at most one page and one part are held. On any failure the upload is
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

/// What a completed stream export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Streamed {
    /// The object's figures (its last part already uploaded).
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
    let (mut findings, mut token) = pages.page(None).await?;
    loop {
        let mut ready: Option<Vec<u8>> = None;
        for finding in &findings {
            summary.add(finding);
            if let Some(part) = writer.write(finding).map_err(io_error)? {
                // A part is at least `part_size`; a page is 100 findings, so one part a page at most
                // unless a page is larger than a part, which the next write then carries.
                ready = Some(match ready.take() {
                    None => part,
                    Some(mut earlier) => {
                        earlier.extend(part);
                        earlier
                    }
                });
            }
        }
        let Some(next) = token.take() else {
            if let Some(part) = ready {
                let number = uploaded.len() as i32 + 1;
                uploaded.push((number, sink.part(upload_id, number, part).await?));
            }
            break;
        };
        match ready {
            Some(part) => {
                let number = uploaded.len() as i32 + 1;
                let (etag, page) = futures_util::join!(sink.part(upload_id, number, part), pages.page(Some(next)));
                uploaded.push((number, etag?));
                (findings, token) = page?;
            }
            None => (findings, token) = pages.page(Some(next)).await?,
        }
    }
    let object = writer.finish().map_err(io_error)?;
    let number = uploaded.len() as i32 + 1;
    uploaded.push((number, sink.part(upload_id, number, object.last_part.clone()).await?));
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
