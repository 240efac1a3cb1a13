//! suppression-sync's flow: load the rules, list the suppression filters, plan the creates,
//! updates and deletes that make the managed filters match the unexpired rules, and apply them
//! (or only report them on a dry run). Filters without the managed tag are never touched.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::Serialize;
use serde_json::Value;

use crate::filter::{FilterCriteria, ValidationError};
use crate::ports::{FilterSpec, FilterStore, StoredFilter};
use crate::rules::source::{RulesCache, RulesUri};
use crate::rules::Rules;
use crate::text::clip;
use crate::Error;

/// The tag that carries a rule's owner.
pub const OWNER_TAG: &str = "Owner";
/// The tag that carries a rule's expiry, in RFC 3339.
pub const EXPIRES_TAG: &str = "ExpiresAt";

/// What an invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Sync, or only plan when `dry_run`.
    Run {
        /// Plan only; change nothing.
        dry_run: bool,
        /// What started it, for the log: `schedule`, `on-demand` or `rules-changed`.
        cause: &'static str,
    },
    /// Not for us; the reason says why.
    Ignored(String),
}

impl Trigger {
    /// Reads an invocation payload: a `Scheduled Event`, an S3 `Object Created` event for the
    /// rules object, or an on-demand `{}` / `{"dryRun": true}`. Anything else is ignored.
    pub fn from_event(event: &Value, rules_uri: &RulesUri) -> Trigger {
        let ignored = |reason: String| Trigger::Ignored(reason);
        let Some(object) = event.as_object() else {
            return ignored(format!("expected a JSON object, got {}", clip(&event.to_string(), 120)));
        };
        let source = object.get("source").and_then(Value::as_str);
        let detail_type = object.get("detail-type").and_then(Value::as_str);
        match (source, detail_type) {
            (Some("aws.events" | "aws.scheduler"), Some("Scheduled Event")) => Trigger::Run {
                dry_run: false,
                cause: "schedule",
            },
            (Some("aws.s3"), Some("Object Created")) => {
                let bucket = event.pointer("/detail/bucket/name").and_then(Value::as_str);
                let key = event.pointer("/detail/object/key").and_then(Value::as_str);
                match (rules_uri, bucket, key) {
                    (RulesUri::S3 { bucket: b, key: k }, Some(bucket), Some(key)) if b == bucket && k == key => {
                        Trigger::Run {
                            dry_run: false,
                            cause: "rules-changed",
                        }
                    }
                    (_, Some(bucket), Some(key)) => ignored(format!(
                        "s3://{} is not the rules object {rules_uri}",
                        clip(&format!("{bucket}/{key}"), 200)
                    )),
                    _ => ignored("S3 Object Created event without detail.bucket.name and detail.object.key".into()),
                }
            }
            (Some(source), Some(detail_type)) => ignored(format!(
                "{} / {} is not a trigger of suppression-sync",
                clip(source, 60),
                clip(detail_type, 80)
            )),
            _ => on_demand(object),
        }
    }
}

/// `{}` or `{"dryRun": bool}`; a wrong type is refused rather than guessed, so that a dry run
/// asked for with a typo never changes anything.
fn on_demand(object: &serde_json::Map<String, Value>) -> Trigger {
    if let Some(key) = object.keys().find(|k| k.as_str() != "dryRun") {
        return Trigger::Ignored(format!(
            "unknown key {:?}: an on-demand invoke takes only {{\"dryRun\": true|false}}",
            clip(key, 60)
        ));
    }
    match object.get("dryRun") {
        None => Trigger::Run {
            dry_run: false,
            cause: "on-demand",
        },
        Some(Value::Bool(dry_run)) => Trigger::Run {
            dry_run: *dry_run,
            cause: "on-demand",
        },
        Some(other) => Trigger::Ignored(format!(
            "dryRun must be true or false, got {}",
            clip(&other.to_string(), 60)
        )),
    }
}

/// A planned change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `CreateFilter`.
    Create,
    /// `UpdateFilter` and/or retagging.
    Update,
    /// `DeleteFilter`.
    Delete,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// What to do.
    pub action: Action,
    /// The filter's name.
    pub name: String,
    /// The filter's ARN (not known before a create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// What differs, for an update: `description`, `reason`, `filterCriteria`, `tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<&'static str>,
    /// Why, in words.
    pub why: String,
    /// The filter as it will be, for a create or an update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    #[serde(skip)]
    spec: Option<FilterSpec>,
    #[serde(skip)]
    tags_to_put: BTreeMap<String, String>,
    #[serde(skip)]
    tags_to_remove: Vec<String>,
    #[serde(skip)]
    update_filter: bool,
}

/// The whole plan, in the order it is applied: creates, then updates, then deletes, so that a
/// renamed rule never leaves a gap in suppression.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
    /// Managed filters already as the rules say.
    pub unchanged: Vec<String>,
    /// Rules past their `expiresAt`.
    pub expired: Vec<String>,
}

/// What the function answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// `synced` or `planned` (dry run).
    pub outcome: &'static str,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Where the rules came from.
    pub rules_uri: String,
    /// The ETag or parameter version of the rules.
    pub rules_version: String,
    /// Filters created (planned to be, on a dry run).
    pub created: Vec<String>,
    /// Filters updated.
    pub updated: Vec<String>,
    /// Filters deleted.
    pub deleted: Vec<String>,
    /// Managed filters left as they were.
    pub unchanged: Vec<String>,
    /// Rules past their expiry (their filters, if any, are among the deleted).
    pub expired: Vec<String>,
    /// Every step, with its reason and the filter it leads to.
    pub plan: Vec<Step>,
}

/// The desired filter of a rule.
fn spec_of(rule: &crate::rules::Suppression, managed_tag: &(String, String)) -> FilterSpec {
    let mut tags = BTreeMap::from([
        (managed_tag.0.clone(), managed_tag.1.clone()),
        (OWNER_TAG.to_owned(), rule.owner.clone()),
    ]);
    if let Some(at) = rule.expires_at.and_then(|at| at.fmt(Format::DateTime).ok()) {
        tags.insert(EXPIRES_TAG.to_owned(), at);
    }
    FilterSpec {
        name: rule.name.clone(),
        description: rule.description.clone(),
        reason: rule.reason.clone(),
        criteria: rule.criteria.clone(),
        tags,
    }
}

fn spec_json(spec: &FilterSpec) -> Value {
    serde_json::json!({
        "name": spec.name,
        "action": "SUPPRESS",
        "description": spec.description,
        "reason": spec.reason,
        "filterCriteria": spec.criteria.to_json(),
        "tags": spec.tags,
    })
}

/// Whether a filter carries the managed tag.
pub fn is_managed(filter: &StoredFilter, managed_tag: &(String, String)) -> bool {
    filter.tags.get(&managed_tag.0) == Some(&managed_tag.1)
}

/// What must change to turn `filter` into `spec`.
fn update_of(filter: &StoredFilter, spec: &FilterSpec, managed_tag: &(String, String)) -> Option<Step> {
    let mut changes = Vec::new();
    if filter.description.as_deref() != Some(spec.description.as_str()) {
        changes.push("description");
    }
    if filter.reason.as_deref() != Some(spec.reason.as_str()) {
        changes.push("reason");
    }
    if !filter.criteria.as_ref().is_some_and(|c| c.same_as(&spec.criteria)) {
        changes.push("filterCriteria");
    }
    let update_filter = !changes.is_empty();
    let tags_to_put: BTreeMap<String, String> = spec
        .tags
        .iter()
        .filter(|(k, v)| filter.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Only our own tags are removed; tags a person added to a managed filter stay.
    let tags_to_remove: Vec<String> = [OWNER_TAG, EXPIRES_TAG]
        .into_iter()
        .filter(|k| filter.tags.contains_key(*k) && !spec.tags.contains_key(*k) && *k != managed_tag.0)
        .map(str::to_owned)
        .collect();
    if !tags_to_put.is_empty() || !tags_to_remove.is_empty() {
        changes.push("tags");
    }
    if changes.is_empty() {
        return None;
    }
    Some(Step {
        action: Action::Update,
        name: spec.name.clone(),
        arn: Some(filter.arn.clone()),
        why: format!("{} differ from the rule", changes.join(", ")),
        changes,
        filter: Some(spec_json(spec)),
        spec: Some(spec.clone()),
        tags_to_put,
        tags_to_remove,
        update_filter,
    })
}

fn delete_of(filter: &StoredFilter, why: String) -> Step {
    Step {
        action: Action::Delete,
        name: filter.name.clone(),
        arn: Some(filter.arn.clone()),
        changes: Vec::new(),
        why,
        filter: None,
        spec: None,
        tags_to_put: BTreeMap::new(),
        tags_to_remove: Vec::new(),
        update_filter: false,
    }
}

/// Plans the changes that make the managed filters match the rules unexpired at `now`. A rule
/// whose name is taken by a filter we do not manage is a config error, and nothing is planned.
pub fn plan(
    rules: &Rules,
    filters: &[StoredFilter],
    managed_tag: &(String, String),
    now: DateTime,
) -> Result<Plan, Vec<ValidationError>> {
    let (managed, foreign): (Vec<&StoredFilter>, Vec<&StoredFilter>) =
        filters.iter().partition(|f| is_managed(f, managed_tag));
    let foreign_by_name: HashMap<&str, &StoredFilter> = foreign.iter().map(|f| (f.name.as_str(), *f)).collect();

    let mut plan = Plan::default();
    let mut desired = Vec::new();
    let mut conflicts = Vec::new();
    for (i, rule) in rules.suppressions.iter().enumerate() {
        if rule.is_expired(now) {
            plan.expired.push(rule.name.clone());
            continue;
        }
        if let Some(filter) = foreign_by_name.get(rule.name.as_str()) {
            conflicts.push(ValidationError::new(
                format!("suppressions[{i}].name"),
                format!(
                    "{:?} is the name of filter {}, which is not tagged {}={}: rename the rule, or tag the filter to hand it over",
                    rule.name, filter.arn, managed_tag.0, managed_tag.1
                ),
            ));
            continue;
        }
        desired.push(spec_of(rule, managed_tag));
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    let mut by_name: HashMap<&str, Vec<&StoredFilter>> = HashMap::new();
    for filter in &managed {
        by_name.entry(filter.name.as_str()).or_default().push(filter);
    }
    let mut updates = Vec::new();
    let mut deletes = Vec::new();
    for spec in &desired {
        match by_name.remove(spec.name.as_str()).as_deref() {
            None | Some([]) => plan.steps.push(Step {
                action: Action::Create,
                name: spec.name.clone(),
                arn: None,
                changes: Vec::new(),
                why: "new rule".to_owned(),
                filter: Some(spec_json(spec)),
                spec: Some(spec.clone()),
                tags_to_put: BTreeMap::new(),
                tags_to_remove: Vec::new(),
                update_filter: false,
            }),
            Some([kept, extra @ ..]) => {
                match update_of(kept, spec, managed_tag) {
                    Some(step) => updates.push(step),
                    None => plan.unchanged.push(spec.name.clone()),
                }
                // A second filter of the same name (an interrupted earlier run) is healed away.
                deletes.extend(extra.iter().map(|f| delete_of(f, format!("duplicate of {}", kept.arn))));
            }
        }
    }
    // What is left is managed but no longer wanted, in the listing's order.
    for filter in managed.iter().filter(|f| by_name.contains_key(f.name.as_str())) {
        let why = match plan.expired.contains(&filter.name) {
            true => "the rule expired".to_owned(),
            false => "the rule is no longer in the rules file".to_owned(),
        };
        deletes.push(delete_of(filter, why));
    }
    plan.steps.extend(updates);
    plan.steps.extend(deletes);
    Ok(plan)
}

/// The suppression-sync flow over its two ports.
pub struct Syncer {
    rules: RulesCache,
    store: Arc<dyn FilterStore>,
    managed_tag: (String, String),
}

impl Syncer {
    /// A syncer that reads the rules through `rules` and writes filters through `store`.
    pub fn new(rules: RulesCache, store: Arc<dyn FilterStore>, managed_tag: (String, String)) -> Self {
        Syncer {
            rules,
            store,
            managed_tag,
        }
    }

    /// Where the rules come from.
    pub fn rules_uri(&self) -> &RulesUri {
        self.rules.uri()
    }

    /// Loads and validates the rules, plans, and applies the plan unless `dry_run`. Nothing is
    /// changed unless the whole rules file is valid and no rule collides with a foreign filter.
    /// A failed call stops the run with the error; the next run converges from where it stopped.
    pub async fn run(&self, dry_run: bool, now: DateTime) -> Result<SyncReport, Error> {
        let loaded = self.rules.load().await?;
        let filters = self.store.list_suppression_filters().await?;
        let plan = plan(&loaded.rules, &filters, &self.managed_tag, now).map_err(|problems| Error::Rules {
            uri: self.rules.uri().to_string(),
            problems,
        })?;
        tracing::info!(
            dry_run,
            rules_version = %loaded.version,
            reparsed = loaded.parsed,
            steps = plan.steps.len(),
            unchanged = plan.unchanged.len(),
            expired = plan.expired.len(),
            "suppression plan"
        );
        if !dry_run {
            for step in &plan.steps {
                self.apply(step).await?;
                tracing::info!(action = ?step.action, name = %step.name, why = %step.why, "applied");
            }
        }
        let names = |action: Action| {
            plan.steps
                .iter()
                .filter(|s| s.action == action)
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        Ok(SyncReport {
            outcome: if dry_run { "planned" } else { "synced" },
            dry_run,
            rules_uri: self.rules.uri().to_string(),
            rules_version: loaded.version,
            created: names(Action::Create),
            updated: names(Action::Update),
            deleted: names(Action::Delete),
            unchanged: plan.unchanged,
            expired: plan.expired,
            plan: plan.steps,
        })
    }

    async fn apply(&self, step: &Step) -> Result<(), Error> {
        match (step.action, &step.spec, &step.arn) {
            (Action::Create, Some(spec), _) => self.store.create(spec).await.map(drop),
            (Action::Update, Some(spec), Some(arn)) => {
                if step.update_filter {
                    self.store.update(arn, spec).await?;
                }
                self.store.retag(arn, &step.tags_to_put, &step.tags_to_remove).await
            }
            (Action::Delete, _, Some(arn)) => self.store.delete(arn).await,
            // `plan` builds every step with what its action needs.
            _ => Ok(()),
        }
    }
}

impl FilterCriteria {
    /// Whether two criteria select the same findings as Inspector stores them: the order of a
    /// field's filters does not matter, and dates compare to the millisecond (Inspector's wire
    /// format is epoch seconds as a float).
    pub fn same_as(&self, other: &FilterCriteria) -> bool {
        self.canonical() == other.canonical()
    }

    fn canonical(&self) -> Value {
        let mut json = self.to_json();
        if let Some(fields) = json.as_object_mut() {
            for (name, items) in fields.iter_mut() {
                let is_date = crate::filter::kind_of(name).is_some_and(|(_, k)| k == crate::filter::Kind::Date);
                if let Some(list) = items.as_array_mut() {
                    if is_date {
                        list.iter_mut().for_each(millis_dates);
                    }
                    list.sort_by_cached_key(ToString::to_string);
                }
            }
        }
        json
    }
}

/// Rewrites a date filter's RFC 3339 bounds as epoch milliseconds.
fn millis_dates(filter: &mut Value) {
    if let Some(bounds) = filter.as_object_mut() {
        for bound in bounds.values_mut() {
            let millis = bound
                .as_str()
                .and_then(|text| DateTime::from_str(text, Format::DateTime).ok())
                .map(|at| (at.as_secs_f64() * 1000.0).round() as i64);
            if let Some(millis) = millis {
                *bound = Value::from(millis);
            }
        }
    }
}

#[cfg(test)]
mod tests;
