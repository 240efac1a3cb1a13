//! Inspector2 adapter: [`FilterStore`] over `aws-sdk-inspector2`.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_inspector2::types::{Filter, FilterAction};
use aws_sdk_inspector2::Client;

use super::{aws_error, build_error};
use crate::filter::FilterCriteria;
use crate::ports::{FilterSpec, FilterStore, StoredFilter};
use crate::Error;

/// Pages of `ListFilters` read at most (100 filters a page): far above any account's filters,
/// and a bound on a service that keeps returning tokens.
const MAX_PAGES: usize = 100;

/// Inspector2 through one SDK client.
#[derive(Clone, Debug)]
pub struct Inspector2Adapter {
    client: Client,
}

impl Inspector2Adapter {
    /// Builds the client from the process's shared configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_client(Client::new(config))
    }

    /// Wraps an existing client (tests use a mocked one).
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

fn stored(filter: &Filter) -> StoredFilter {
    let criteria = filter.criteria().and_then(|c| match FilterCriteria::from_sdk(c) {
        Ok(criteria) => Some(criteria),
        Err(e) => {
            tracing::warn!(filter = filter.arn(), error = %e, "filter criteria not representable; treated as changed");
            None
        }
    });
    StoredFilter {
        arn: filter.arn().to_owned(),
        name: filter.name().to_owned(),
        description: filter.description().map(str::to_owned),
        reason: filter.reason().map(str::to_owned),
        criteria,
        tags: filter
            .tags()
            .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

#[async_trait]
impl FilterStore for Inspector2Adapter {
    async fn list_suppression_filters(&self) -> Result<Vec<StoredFilter>, Error> {
        let mut filters = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .list_filters()
                .action(FilterAction::Suppress)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("inspector2", "ListFilters", e))?;
            filters.extend(page.filters().iter().map(stored));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(filters),
            }
        }
        tracing::warn!(pages = MAX_PAGES, "ListFilters still had pages; the rest are not read");
        Ok(filters)
    }

    async fn create(&self, spec: &FilterSpec) -> Result<String, Error> {
        let criteria = spec
            .criteria
            .to_sdk()
            .map_err(|e| build_error("inspector2", "CreateFilter", e))?;
        let tags: HashMap<String, String> = spec.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let output = self
            .client
            .create_filter()
            .action(FilterAction::Suppress)
            .name(&spec.name)
            .description(&spec.description)
            .reason(&spec.reason)
            .filter_criteria(criteria)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_error("inspector2", "CreateFilter", e))?;
        Ok(output.arn().to_owned())
    }

    async fn update(&self, arn: &str, spec: &FilterSpec) -> Result<(), Error> {
        let criteria = spec
            .criteria
            .to_sdk()
            .map_err(|e| build_error("inspector2", "UpdateFilter", e))?;
        self.client
            .update_filter()
            .filter_arn(arn)
            .action(FilterAction::Suppress)
            .name(&spec.name)
            .description(&spec.description)
            .reason(&spec.reason)
            .filter_criteria(criteria)
            .send()
            .await
            .map_err(|e| aws_error("inspector2", "UpdateFilter", e))?;
        Ok(())
    }

    async fn retag(&self, arn: &str, put: &BTreeMap<String, String>, remove: &[String]) -> Result<(), Error> {
        if !put.is_empty() {
            let tags: HashMap<String, String> = put.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            self.client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| aws_error("inspector2", "TagResource", e))?;
        }
        if !remove.is_empty() {
            self.client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(remove.to_vec()))
                .send()
                .await
                .map_err(|e| aws_error("inspector2", "UntagResource", e))?;
        }
        Ok(())
    }

    async fn delete(&self, arn: &str) -> Result<(), Error> {
        self.client
            .delete_filter()
            .arn(arn)
            .send()
            .await
            .map_err(|e| aws_error("inspector2", "DeleteFilter", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
