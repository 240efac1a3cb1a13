//! The rules file (DESIGN.md, "Rules file"): suppressions and routes, each with an Inspector2
//! FilterCriteria, parsed and validated in one pass that reports every problem with its path.

pub mod source;

use std::collections::HashMap;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::{Map, Value};

use crate::filter::{Checker, FilterCriteria, ValidationError};

/// The one rules file version this build reads.
pub const VERSION: u64 = 1;
/// Largest rules file read, in bytes: far above any real file, small enough to parse in
/// milliseconds and to keep a Lambda's memory flat.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Most suppressions in one file. A safeguard of ours, so that a runaway generated file fails
/// validation before a single API call instead of creating filters by the thousand.
pub const MAX_SUPPRESSIONS: usize = 500;
/// Most routes in one file (each costs a match per finding).
pub const MAX_ROUTES: usize = 500;

/// Inspector's rules for a filter name: 3 to 64 of `A-Z a-z 0-9 . _ -`.
const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=64;
/// Inspector's limit on a filter's description and reason.
const MAX_TEXT_CHARS: usize = 512;
/// The owner becomes a tag value: at most 256 characters.
const MAX_OWNER_CHARS: usize = 256;

/// A suppression rule: findings that match `criteria` are suppressed until `expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The Inspector filter's name.
    pub name: String,
    /// What the rule covers, in words.
    pub description: String,
    /// Why the findings may be suppressed (a ticket, a risk acceptance).
    pub reason: String,
    /// Who answers for the rule.
    pub owner: String,
    /// When the rule stops applying; `None` means never.
    pub expires_at: Option<DateTime>,
    /// The findings it covers.
    pub criteria: FilterCriteria,
}

impl Suppression {
    /// Whether the rule no longer applies at `now` (an expiry at `now` counts as expired).
    pub fn is_expired(&self, now: DateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A route: findings that match `criteria` go to `topic_arn`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The route's name, unique in the file.
    pub name: String,
    /// The SNS topic to notify.
    pub topic_arn: String,
    /// The findings it covers.
    pub criteria: FilterCriteria,
}

/// A validated rules file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    /// Suppression rules, in file order.
    pub suppressions: Vec<Suppression>,
    /// Routes, in file order; the first match wins.
    pub routes: Vec<Route>,
}

impl Rules {
    /// Parses and validates a rules file. Every problem is reported, each with its path, for
    /// example `suppressions[1].filterCriteria.severity[0].comparison`.
    pub fn parse(bytes: &[u8]) -> Result<Rules, Vec<ValidationError>> {
        if bytes.len() > MAX_BYTES {
            return Err(vec![ValidationError::new(
                "$",
                format!("the file is {} bytes; the limit is {MAX_BYTES}", bytes.len()),
            )]);
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| vec![ValidationError::new("$", format!("not valid JSON: {e}"))])?;
        Self::from_json(&value)
    }

    /// Validates an already parsed rules file.
    pub fn from_json(value: &Value) -> Result<Rules, Vec<ValidationError>> {
        let mut checker = Checker::default();
        let rules = read_rules(&mut checker, value);
        match rules {
            Some(rules) if checker.errors.is_empty() => Ok(rules),
            _ => Err(checker.errors),
        }
    }
}

fn read_rules(checker: &mut Checker, value: &Value) -> Option<Rules> {
    let root = checker.object(value, "$", &["version", "suppressions", "routes"])?;
    match root.get("version") {
        None => {}
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => checker.error(
            "version",
            format!("{v} is not a version this build reads; use {VERSION}"),
        ),
    }
    let suppression_items = list(checker, root, "suppressions", MAX_SUPPRESSIONS);
    let route_items = list(checker, root, "routes", MAX_ROUTES);
    let suppressions = suppression_items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_suppression(checker, item, &format!("suppressions[{i}]")))
        .collect::<Vec<_>>();
    let routes = route_items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_route(checker, item, &format!("routes[{i}]")))
        .collect::<Vec<_>>();
    unique_names(checker, "suppressions", suppression_items);
    unique_names(checker, "routes", route_items);
    Some(Rules { suppressions, routes })
}

/// The items of a top-level list; an absent list is empty.
fn list<'v>(checker: &mut Checker, root: &'v Map<String, Value>, key: &str, max: usize) -> &'v [Value] {
    match root.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) if items.len() > max => {
            checker.error(key, format!("has {} rules; the limit is {max}", items.len()));
            &[]
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            checker.error(key, "must be a list");
            &[]
        }
    }
}

fn read_suppression(checker: &mut Checker, value: &Value, path: &str) -> Option<Suppression> {
    let keys = ["name", "description", "reason", "owner", "expiresAt", "filterCriteria"];
    let object = checker.object(value, path, &keys)?;
    let name = name(checker, object, path);
    let description = required_text(checker, object, path, "description", MAX_TEXT_CHARS);
    let reason = required_text(checker, object, path, "reason", MAX_TEXT_CHARS);
    let owner = required_text(checker, object, path, "owner", MAX_OWNER_CHARS);
    if let Some(owner) = &owner {
        if !owner.chars().all(is_tag_char) {
            checker.error(
                &format!("{path}.owner"),
                "becomes a tag value: use letters, digits, spaces and _ . : / = + - @",
            );
        }
    }
    let expires_at = match object.get("expiresAt") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => DateTime::from_str(text, Format::DateTime)
            .map(Some)
            .map_err(|_| format!("{text:?} is not an RFC 3339 date-time, for example 2027-03-31T00:00:00Z")),
        Some(_) => Err("must be an RFC 3339 date-time string".to_owned()),
    };
    let expires_at = expires_at.map_err(|message| checker.error(&format!("{path}.expiresAt"), message));
    let criteria = criteria(checker, object, path);
    Some(Suppression {
        name: name?,
        description: description?,
        reason: reason?,
        owner: owner?,
        expires_at: expires_at.ok()?,
        criteria: criteria?,
    })
}

fn read_route(checker: &mut Checker, value: &Value, path: &str) -> Option<Route> {
    let object = checker.object(value, path, &["name", "topicArn", "filterCriteria"])?;
    let name = name(checker, object, path);
    let topic_arn = required_text(checker, object, path, "topicArn", 256);
    if let Some(arn) = &topic_arn {
        if !is_topic_arn(arn) {
            checker.error(
                &format!("{path}.topicArn"),
                format!("{arn:?} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)"),
            );
        }
    }
    let criteria = criteria(checker, object, path);
    Some(Route {
        name: name?,
        topic_arn: topic_arn?,
        criteria: criteria?,
    })
}

fn required_text(
    checker: &mut Checker,
    object: &Map<String, Value>,
    path: &str,
    key: &str,
    max: usize,
) -> Option<String> {
    let text = checker.text(object, path, key, max);
    if text.is_none() && !object.contains_key(key) {
        checker.error(&format!("{path}.{key}"), "is required");
    }
    text
}

fn name(checker: &mut Checker, object: &Map<String, Value>, path: &str) -> Option<String> {
    let name = required_text(checker, object, path, "name", *NAME_CHARS.end())?;
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !NAME_CHARS.contains(&name.len()) || !valid_chars {
        checker.error(
            &format!("{path}.name"),
            format!("{name:?} must be 3 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (Inspector's rule)"),
        );
        return None;
    }
    Some(name)
}

fn criteria(checker: &mut Checker, object: &Map<String, Value>, path: &str) -> Option<FilterCriteria> {
    let path = format!("{path}.filterCriteria");
    let Some(value) = object.get("filterCriteria") else {
        checker.error(&path, "is required");
        return None;
    };
    FilterCriteria::from_json(value, &path)
        .map_err(|errors| checker.errors.extend(errors))
        .ok()
}

/// Reports every name used twice in a section, at the later item's path.
fn unique_names(checker: &mut Checker, section: &str, items: &[Value]) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let names = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| Some((i, item.get("name")?.as_str()?)));
    for (i, name) in names {
        if let Some(earlier) = first.insert(name, i) {
            checker.error(
                &format!("{section}[{i}].name"),
                format!("{name:?} is already the name of {section}[{earlier}]"),
            );
            first.insert(name, earlier);
        }
    }
}

/// The characters AWS allows in a tag value.
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && !parts[5].is_empty()
}

#[cfg(test)]
mod tests;
