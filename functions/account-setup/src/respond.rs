//! [`Responder`] over hyper with rustls (the TLS stack the AWS SDK already links): one PUT of
//! the answer to CloudFormation's presigned `ResponseURL`.

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use shared::Error;

use crate::handler::Responder;

/// Answers CloudFormation over HTTPS (or plain HTTP, for a local emulator's presigned URL).
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpsResponder;

fn failure(detail: String) -> Error {
    Error::retryable("cloudformation", "ResponseURL PUT", detail)
}

#[async_trait]
impl Responder for HttpsResponder {
    async fn respond(&self, url: &str, body: Vec<u8>) -> Result<(), Error> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| failure(format!("no TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
        let length = body.len();
        // No Content-Type: the presigned URL was signed without one.
        let request = http_request(url, body, length)?;
        let response = client
            .request(request)
            .await
            .map_err(|e| failure(format!("PUT failed: {e}")))?;
        if !response.status().is_success() {
            return Err(failure(format!("PUT answered {}", response.status())));
        }
        Ok(())
    }
}

fn http_request(url: &str, body: Vec<u8>, length: usize) -> Result<http::Request<Full<Bytes>>, Error> {
    http::Request::put(url)
        .header("content-length", length)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| failure(format!("not a URL CloudFormation would send: {e}")))
}
