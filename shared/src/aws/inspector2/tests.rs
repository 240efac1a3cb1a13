//! aws-smithy-mocks tests of the Inspector2 adapter: `UpdateFilter` (which moto lacks), paging,
//! request contents and error classes. Compiled only under #[cfg(test)] (declared in inspector2.rs).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_inspector2::config::retry::RetryConfig;
use aws_sdk_inspector2::operation::create_filter::CreateFilterOutput;
use aws_sdk_inspector2::operation::delete_filter::DeleteFilterOutput;
use aws_sdk_inspector2::operation::list_filters::ListFiltersOutput;
use aws_sdk_inspector2::operation::tag_resource::TagResourceOutput;
use aws_sdk_inspector2::operation::untag_resource::UntagResourceOutput;
use aws_sdk_inspector2::operation::update_filter::UpdateFilterOutput;
use aws_sdk_inspector2::types::{self as sdk, FilterAction};
use aws_sdk_inspector2::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use serde_json::json;

use super::*;
use crate::ErrorClass;

const ARN: &str = "arn:aws:inspector2:ap-northeast-2:123456789012:owner/123456789012/filter/abc";

fn spec() -> FilterSpec {
    let criteria = json!({
        "severity": [{"comparison": "EQUALS", "value": "LOW"}],
        "resourceTags": [{"comparison": "EQUALS", "key": "env", "value": "dev"}]
    });
    FilterSpec {
        name: "sandbox-images-low".into(),
        description: "Sandbox images".into(),
        reason: "SEC-1412".into(),
        criteria: FilterCriteria::from_json(&criteria, "c").unwrap(),
        tags: BTreeMap::from([
            ("ManagedBy".into(), "inspector-autopilot".into()),
            ("Owner".into(), "platform-team".into()),
        ]),
    }
}

fn filter(name: &str, arn: &str) -> sdk::Filter {
    sdk::Filter::builder()
        .arn(arn)
        .owner_id("123456789012")
        .name(name)
        .criteria(spec().criteria.to_sdk().unwrap())
        .action(FilterAction::Suppress)
        .created_at(aws_smithy_types::DateTime::from_secs(0))
        .updated_at(aws_smithy_types::DateTime::from_secs(0))
        .reason("SEC-1412")
        .tags("ManagedBy", "inspector-autopilot")
        .build()
        .unwrap()
}

fn retrying(builder: aws_sdk_inspector2::config::Builder) -> aws_sdk_inspector2::config::Builder {
    builder.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

#[tokio::test]
async fn update_filter_sends_the_whole_spec_with_action_suppress() {
    let expected = spec().criteria.to_sdk().unwrap();
    let rule = mock!(Client::update_filter)
        .match_requests(move |r| {
            r.filter_arn() == Some(ARN)
                && r.action() == Some(&FilterAction::Suppress)
                && r.name() == Some("sandbox-images-low")
                && r.description() == Some("Sandbox images")
                && r.reason() == Some("SEC-1412")
                && r.filter_criteria() == Some(&expected)
        })
        .then_output(|| UpdateFilterOutput::builder().arn(ARN).build().unwrap());
    let adapter = Inspector2Adapter::from_client(mock_client!(aws_sdk_inspector2, [&rule]));
    adapter.update(ARN, &spec()).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn update_filter_retries_a_throttle_then_succeeds() {
    let rule = mock!(Client::update_filter)
        .sequence()
        .http_status(
            429,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .output(|| UpdateFilterOutput::builder().arn(ARN).build().unwrap())
        .build();
    let client = mock_client!(aws_sdk_inspector2, RuleMode::Sequential, [&rule], retrying);
    Inspector2Adapter::from_client(client)
        .update(ARN, &spec())
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn a_missing_filter_on_update_is_a_config_error_naming_the_operation() {
    let rule = mock!(Client::update_filter).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"ResourceNotFoundException","message":"filter not found"}"#,
            ),
        )
    });
    let adapter = Inspector2Adapter::from_client(mock_client!(aws_sdk_inspector2, [&rule]));
    let err = adapter.update(ARN, &spec()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Config);
    assert_eq!(
        err.to_string(),
        "inspector2 UpdateFilter failed: ResourceNotFoundException: filter not found"
    );
}

#[tokio::test]
async fn persistent_5xx_is_retryable() {
    let rule = mock!(Client::update_filter)
        .sequence()
        .http_status(
            500,
            Some(r#"{"__type":"InternalServerException","message":"oops"}"#.into()),
        )
        .times(3)
        .build();
    let client = mock_client!(aws_sdk_inspector2, RuleMode::Sequential, [&rule], retrying);
    let err = Inspector2Adapter::from_client(client)
        .update(ARN, &spec())
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn list_reads_every_page_of_suppress_filters_with_criteria_and_tags() {
    let first = mock!(Client::list_filters)
        .match_requests(|r| r.action() == Some(&FilterAction::Suppress) && r.next_token().is_none())
        .then_output(|| {
            ListFiltersOutput::builder()
                .filters(filter("one", "arn:1"))
                .next_token("page-2")
                .build()
                .unwrap()
        });
    let second = mock!(Client::list_filters)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            ListFiltersOutput::builder()
                .filters(filter("two", "arn:2"))
                .build()
                .unwrap()
        });
    let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&first, &second]);
    let filters = Inspector2Adapter::from_client(client)
        .list_suppression_filters()
        .await
        .unwrap();
    let names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    assert_eq!(filters[0].criteria.as_ref(), Some(&spec().criteria));
    assert_eq!(filters[0].tags["ManagedBy"], "inspector-autopilot");
    assert_eq!(filters[0].reason.as_deref(), Some("SEC-1412"));
    assert_eq!(filters[0].description, None);
}

#[tokio::test]
async fn create_sends_suppress_with_tags_and_returns_the_arn() {
    let rule = mock!(Client::create_filter)
        .match_requests(|r| {
            r.action() == Some(&FilterAction::Suppress)
                && r.name() == Some("sandbox-images-low")
                && r.tags().and_then(|t| t.get("Owner")).map(String::as_str) == Some("platform-team")
                && r.tags().map(|t| t.len()) == Some(2)
        })
        .then_output(|| CreateFilterOutput::builder().arn(ARN).build().unwrap());
    let adapter = Inspector2Adapter::from_client(mock_client!(aws_sdk_inspector2, [&rule]));
    assert_eq!(adapter.create(&spec()).await.unwrap(), ARN);
}

#[tokio::test]
async fn retag_puts_and_removes_only_what_it_is_given() {
    let tag = mock!(Client::tag_resource)
        .match_requests(|r| r.resource_arn() == Some(ARN) && r.tags().map(|t| t.len()) == Some(1))
        .then_output(|| TagResourceOutput::builder().build());
    let untag = mock!(Client::untag_resource)
        .match_requests(|r| r.tag_keys() == ["ExpiresAt"])
        .then_output(|| UntagResourceOutput::builder().build());
    let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&tag, &untag]);
    let adapter = Inspector2Adapter::from_client(client);
    let put = BTreeMap::from([("Owner".to_owned(), "sec".to_owned())]);
    adapter.retag(ARN, &put, &["ExpiresAt".to_owned()]).await.unwrap();
    adapter.retag(ARN, &BTreeMap::new(), &[]).await.unwrap();
    assert_eq!(
        (tag.num_calls(), untag.num_calls()),
        (1, 1),
        "an empty retag calls nothing"
    );
}

#[tokio::test]
async fn delete_names_the_arn() {
    let rule = mock!(Client::delete_filter)
        .match_requests(|r| r.arn() == Some(ARN))
        .then_output(|| DeleteFilterOutput::builder().arn(ARN).build().unwrap());
    let adapter = Inspector2Adapter::from_client(mock_client!(aws_sdk_inspector2, [&rule]));
    adapter.delete(ARN).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}
