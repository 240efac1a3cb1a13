//! Inspector2 FilterCriteria as code: a model of every field, parsed from Inspector's own JSON
//! (as `aws inspector2 list-filters` prints it) with every problem reported at once with its
//! path, and written back unchanged.

mod fields;
pub mod matcher;
#[cfg(feature = "inspector2")]
pub mod sdk;

use std::collections::BTreeMap;
use std::fmt;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::{json, Map, Value};

pub use fields::FIELDS;

/// Inspector's limit on the filters of one field.
pub const MAX_FILTERS_PER_FIELD: usize = 10;
/// Inspector's limit on a string filter's value.
pub const MAX_VALUE_CHARS: usize = 1024;
/// Inspector's limits on a tag filter's key and value.
const MAX_TAG_KEY_CHARS: usize = 128;
const MAX_TAG_VALUE_CHARS: usize = 256;

/// The filter type a FilterCriteria field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `StringFilter`: comparison + value.
    String,
    /// `NumberFilter`: inclusive bounds.
    Number,
    /// `DateFilter`: inclusive bounds.
    Date,
    /// `MapFilter`: tag key (+ value).
    Map,
    /// `PortRangeFilter`: inclusive port bounds.
    PortRange,
    /// `PackageFilter`: per-package string and number filters.
    Package,
}

/// How a string filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StringComparison {
    /// `EQUALS`.
    Equals,
    /// `PREFIX` (the console's "Starts with").
    Prefix,
    /// `NOT_EQUALS`.
    NotEquals,
}

impl StringComparison {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StringComparison::Equals => "EQUALS",
            StringComparison::Prefix => "PREFIX",
            StringComparison::NotEquals => "NOT_EQUALS",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "EQUALS" => Some(StringComparison::Equals),
            "PREFIX" => Some(StringComparison::Prefix),
            "NOT_EQUALS" => Some(StringComparison::NotEquals),
            _ => None,
        }
    }
}

/// `StringFilter`.
#[derive(Debug, Clone, PartialEq)]
pub struct StringFilter {
    /// How to compare.
    pub comparison: StringComparison,
    /// What to compare with, 1 to 1024 characters.
    pub value: String,
}

/// `NumberFilter`: at least one bound; both inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberFilter {
    /// Lower bound.
    pub lower_inclusive: Option<f64>,
    /// Upper bound.
    pub upper_inclusive: Option<f64>,
}

/// `DateFilter`: at least one bound; both inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateFilter {
    /// Start.
    pub start_inclusive: Option<DateTime>,
    /// End.
    pub end_inclusive: Option<DateTime>,
}

/// `MapFilter` on resource tags; the only comparison is `EQUALS`.
#[derive(Debug, Clone, PartialEq)]
pub struct MapFilter {
    /// Tag key.
    pub key: String,
    /// Tag value; `None` matches any value of the key.
    pub value: Option<String>,
}

/// `PortRangeFilter`: at least one bound; both inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortRangeFilter {
    /// First port.
    pub begin_inclusive: Option<i32>,
    /// Last port.
    pub end_inclusive: Option<i32>,
}

/// `PackageFilter`: matches a finding if any of its vulnerable packages matches every part set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageFilter {
    /// Package name.
    pub name: Option<StringFilter>,
    /// Version.
    pub version: Option<StringFilter>,
    /// Epoch.
    pub epoch: Option<NumberFilter>,
    /// Release.
    pub release: Option<StringFilter>,
    /// Architecture.
    pub architecture: Option<StringFilter>,
    /// Source layer hash (container images).
    pub source_layer_hash: Option<StringFilter>,
    /// Source Lambda layer ARN.
    pub source_lambda_layer_arn: Option<StringFilter>,
    /// File path.
    pub file_path: Option<StringFilter>,
}

/// The filters of one field, typed by the field's [`Kind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Filters {
    /// String filters.
    String(Vec<StringFilter>),
    /// Number filters.
    Number(Vec<NumberFilter>),
    /// Date filters.
    Date(Vec<DateFilter>),
    /// Map filters.
    Map(Vec<MapFilter>),
    /// Port range filters.
    PortRange(Vec<PortRangeFilter>),
    /// Package filters.
    Package(Vec<PackageFilter>),
}

/// One problem in a FilterCriteria, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// For example `suppressions[1].filterCriteria.severity[0].comparison`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ValidationError {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A validated Inspector2 FilterCriteria: field name → its filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterCriteria {
    fields: BTreeMap<&'static str, Filters>,
}

/// The package filter's string parts, in the API's order, with their JSON names.
const PACKAGE_STRING_PARTS: [&str; 7] = [
    "name",
    "version",
    "release",
    "architecture",
    "sourceLayerHash",
    "sourceLambdaLayerArn",
    "filePath",
];

/// Collects every problem instead of stopping at the first.
#[derive(Default)]
pub(crate) struct Checker {
    pub(crate) errors: Vec<ValidationError>,
}

impl Checker {
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(ValidationError {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    pub(crate) fn object<'v>(&mut self, value: &'v Value, path: &str, keys: &[&str]) -> Option<&'v Map<String, Value>> {
        let Some(object) = value.as_object() else {
            self.error(path, format!("expected an object with {}", keys.join(", ")));
            return None;
        };
        for key in object.keys() {
            if !keys.contains(&key.as_str()) {
                self.error(
                    &format!("{path}.{key}"),
                    format!("unknown key; expected {}", keys.join(", ")),
                );
            }
        }
        Some(object)
    }

    pub(crate) fn text(&mut self, object: &Map<String, Value>, path: &str, key: &str, max: usize) -> Option<String> {
        let path = format!("{path}.{key}");
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => {
                self.error(&path, "must not be empty");
                None
            }
            Some(Value::String(s)) if s.chars().count() > max => {
                self.error(
                    &path,
                    format!("is {} characters; the limit is {max}", s.chars().count()),
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(&path, "must be a string");
                None
            }
        }
    }

    fn string_filter(&mut self, value: &Value, path: &str) -> Option<StringFilter> {
        let object = self.object(value, path, &["comparison", "value"])?;
        let comparison = match object.get("comparison") {
            Some(Value::String(s)) => StringComparison::parse(s).or_else(|| {
                self.error(
                    &format!("{path}.comparison"),
                    format!("{s:?} is not EQUALS, PREFIX or NOT_EQUALS"),
                );
                None
            }),
            Some(_) => {
                self.error(&format!("{path}.comparison"), "must be a string");
                None
            }
            None => {
                self.error(&format!("{path}.comparison"), "is required");
                None
            }
        };
        let value = self.text(object, path, "value", MAX_VALUE_CHARS);
        if value.is_none() && !object.contains_key("value") {
            self.error(&format!("{path}.value"), "is required");
        }
        Some(StringFilter {
            comparison: comparison?,
            value: value?,
        })
    }

    fn number(&mut self, object: &Map<String, Value>, path: &str, key: &str) -> Option<f64> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => v.as_f64().filter(|n| n.is_finite()).or_else(|| {
                self.error(&format!("{path}.{key}"), "must be a number");
                None
            }),
        }
    }

    fn number_filter(&mut self, value: &Value, path: &str) -> Option<NumberFilter> {
        let object = self.object(value, path, &["lowerInclusive", "upperInclusive"])?;
        let filter = NumberFilter {
            lower_inclusive: self.number(object, path, "lowerInclusive"),
            upper_inclusive: self.number(object, path, "upperInclusive"),
        };
        match (filter.lower_inclusive, filter.upper_inclusive) {
            (None, None) => self.error(path, "needs lowerInclusive, upperInclusive or both"),
            (Some(lower), Some(upper)) if lower > upper => {
                self.error(path, format!("lowerInclusive {lower} is above upperInclusive {upper}"))
            }
            _ => return Some(filter),
        }
        None
    }

    fn date(&mut self, object: &Map<String, Value>, path: &str, key: &str) -> Option<DateTime> {
        let path = format!("{path}.{key}");
        match object.get(key) {
            None | Some(Value::Null) => None,
            // The wire format is epoch seconds; the CLI prints ISO 8601. Both are accepted.
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|s| s.is_finite())
                .map(DateTime::from_secs_f64)
                .or_else(|| {
                    self.error(&path, "must be epoch seconds or an RFC 3339 date");
                    None
                }),
            Some(Value::String(s)) => DateTime::from_str(s, Format::DateTime).ok().or_else(|| {
                self.error(&path, format!("{s:?} is not an RFC 3339 date"));
                None
            }),
            Some(_) => {
                self.error(&path, "must be epoch seconds or an RFC 3339 date");
                None
            }
        }
    }

    fn date_filter(&mut self, value: &Value, path: &str) -> Option<DateFilter> {
        let object = self.object(value, path, &["startInclusive", "endInclusive"])?;
        let filter = DateFilter {
            start_inclusive: self.date(object, path, "startInclusive"),
            end_inclusive: self.date(object, path, "endInclusive"),
        };
        match (filter.start_inclusive, filter.end_inclusive) {
            (None, None) => self.error(path, "needs startInclusive, endInclusive or both"),
            (Some(start), Some(end)) if start > end => self.error(path, "startInclusive is after endInclusive"),
            _ => return Some(filter),
        }
        None
    }

    fn map_filter(&mut self, value: &Value, path: &str) -> Option<MapFilter> {
        let object = self.object(value, path, &["comparison", "key", "value"])?;
        match object.get("comparison") {
            Some(Value::String(s)) if s == "EQUALS" => {}
            Some(other) => self.error(
                &format!("{path}.comparison"),
                format!("{other} is not EQUALS, the only tag comparison"),
            ),
            None => self.error(&format!("{path}.comparison"), "is required"),
        }
        let key = self.text(object, path, "key", MAX_TAG_KEY_CHARS);
        if key.is_none() && !object.contains_key("key") {
            self.error(&format!("{path}.key"), "is required");
        }
        let value = self.text(object, path, "value", MAX_TAG_VALUE_CHARS);
        Some(MapFilter { key: key?, value })
    }

    fn port(&mut self, object: &Map<String, Value>, path: &str, key: &str) -> Option<i32> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => v
                .as_i64()
                .filter(|p| (0..=65_535).contains(p))
                .map(|p| p as i32)
                .or_else(|| {
                    self.error(&format!("{path}.{key}"), "must be a port from 0 to 65535");
                    None
                }),
        }
    }

    fn port_range_filter(&mut self, value: &Value, path: &str) -> Option<PortRangeFilter> {
        let object = self.object(value, path, &["beginInclusive", "endInclusive"])?;
        let filter = PortRangeFilter {
            begin_inclusive: self.port(object, path, "beginInclusive"),
            end_inclusive: self.port(object, path, "endInclusive"),
        };
        match (filter.begin_inclusive, filter.end_inclusive) {
            (None, None) => self.error(path, "needs beginInclusive, endInclusive or both"),
            (Some(begin), Some(end)) if begin > end => {
                self.error(path, format!("beginInclusive {begin} is above endInclusive {end}"))
            }
            _ => return Some(filter),
        }
        None
    }

    fn package_filter(&mut self, value: &Value, path: &str) -> Option<PackageFilter> {
        let mut keys = PACKAGE_STRING_PARTS.to_vec();
        keys.push("epoch");
        let object = self.object(value, path, &keys)?;
        if object.values().all(Value::is_null) {
            self.error(path, format!("needs at least one of {}", keys.join(", ")));
            return None;
        }
        let errors_before = self.errors.len();
        let part = |checker: &mut Self, key: &str| {
            object
                .get(key)
                .filter(|v| !v.is_null())
                .and_then(|v| checker.string_filter(v, &format!("{path}.{key}")))
        };
        let filter = PackageFilter {
            name: part(self, "name"),
            version: part(self, "version"),
            release: part(self, "release"),
            architecture: part(self, "architecture"),
            source_layer_hash: part(self, "sourceLayerHash"),
            source_lambda_layer_arn: part(self, "sourceLambdaLayerArn"),
            file_path: part(self, "filePath"),
            epoch: object
                .get("epoch")
                .filter(|v| !v.is_null())
                .and_then(|v| self.number_filter(v, &format!("{path}.epoch"))),
        };
        (self.errors.len() == errors_before).then_some(filter)
    }

    fn field(&mut self, kind: Kind, items: &[Value], path: &str) -> Filters {
        fn each<T>(
            checker: &mut Checker,
            items: &[Value],
            path: &str,
            parse: fn(&mut Checker, &Value, &str) -> Option<T>,
        ) -> Vec<T> {
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| parse(checker, item, &format!("{path}[{i}]")))
                .collect()
        }
        match kind {
            Kind::String => Filters::String(each(self, items, path, Self::string_filter)),
            Kind::Number => Filters::Number(each(self, items, path, Self::number_filter)),
            Kind::Date => Filters::Date(each(self, items, path, Self::date_filter)),
            Kind::Map => Filters::Map(each(self, items, path, Self::map_filter)),
            Kind::PortRange => Filters::PortRange(each(self, items, path, Self::port_range_filter)),
            Kind::Package => Filters::Package(each(self, items, path, Self::package_filter)),
        }
    }
}

/// The kind of a field, or `None` for a name Inspector does not know.
pub fn kind_of(field: &str) -> Option<(&'static str, Kind)> {
    FIELDS.iter().find(|(name, _)| *name == field).copied()
}

impl FilterCriteria {
    /// Parses and validates Inspector's JSON. `path` prefixes every error's path, for example
    /// `suppressions[1].filterCriteria`. All problems are reported, not just the first.
    pub fn from_json(value: &Value, path: &str) -> Result<Self, Vec<ValidationError>> {
        let mut checker = Checker { errors: Vec::new() };
        let mut fields = BTreeMap::new();
        match value.as_object() {
            None => checker.error(path, "expected an object of FilterCriteria fields"),
            Some(object) if object.is_empty() => {
                checker.error(path, "names no field; a filter must narrow the findings it applies to")
            }
            Some(object) => {
                for (name, items) in object {
                    let field_path = format!("{path}.{name}");
                    let Some((name, kind)) = kind_of(name) else {
                        checker.error(&field_path, "unknown FilterCriteria field");
                        continue;
                    };
                    let Some(items) = items.as_array() else {
                        checker.error(&field_path, "must be a list of filters");
                        continue;
                    };
                    if items.is_empty() {
                        checker.error(&field_path, "must not be an empty list");
                        continue;
                    }
                    if items.len() > MAX_FILTERS_PER_FIELD {
                        checker.error(
                            &field_path,
                            format!("has {} filters; the limit is {MAX_FILTERS_PER_FIELD}", items.len()),
                        );
                        continue;
                    }
                    fields.insert(name, checker.field(kind, items, &field_path));
                }
            }
        }
        if checker.errors.is_empty() {
            return Ok(Self { fields });
        }
        // By field name, whatever order the JSON object kept; a field's own errors stay in the
        // order they were found.
        let field_of = |e: &ValidationError| {
            let rest = e.path.get(path.len() + 1..).unwrap_or_default();
            rest.split(['.', '[']).next().unwrap_or_default().to_owned()
        };
        checker.errors.sort_by_cached_key(field_of);
        Err(checker.errors)
    }

    /// Inspector's JSON for these criteria. Dates are written in RFC 3339, as the CLI prints them.
    pub fn to_json(&self) -> Value {
        fn string(f: &StringFilter) -> Value {
            json!({"comparison": f.comparison.as_str(), "value": f.value})
        }
        fn number(f: &NumberFilter) -> Value {
            let mut object = Map::new();
            if let Some(lower) = f.lower_inclusive {
                object.insert("lowerInclusive".into(), json!(lower));
            }
            if let Some(upper) = f.upper_inclusive {
                object.insert("upperInclusive".into(), json!(upper));
            }
            Value::Object(object)
        }
        fn date(d: DateTime) -> Value {
            d.fmt(Format::DateTime).map_or(Value::Null, Value::String)
        }
        let mut out = Map::new();
        for (name, filters) in &self.fields {
            let items: Vec<Value> = match filters {
                Filters::String(list) => list.iter().map(string).collect(),
                Filters::Number(list) => list.iter().map(number).collect(),
                Filters::Date(list) => list
                    .iter()
                    .map(|f| {
                        let mut object = Map::new();
                        if let Some(start) = f.start_inclusive {
                            object.insert("startInclusive".into(), date(start));
                        }
                        if let Some(end) = f.end_inclusive {
                            object.insert("endInclusive".into(), date(end));
                        }
                        Value::Object(object)
                    })
                    .collect(),
                Filters::Map(list) => list
                    .iter()
                    .map(|f| match &f.value {
                        Some(value) => json!({"comparison": "EQUALS", "key": f.key, "value": value}),
                        None => json!({"comparison": "EQUALS", "key": f.key}),
                    })
                    .collect(),
                Filters::PortRange(list) => list
                    .iter()
                    .map(|f| {
                        let mut object = Map::new();
                        if let Some(begin) = f.begin_inclusive {
                            object.insert("beginInclusive".into(), json!(begin));
                        }
                        if let Some(end) = f.end_inclusive {
                            object.insert("endInclusive".into(), json!(end));
                        }
                        Value::Object(object)
                    })
                    .collect(),
                Filters::Package(list) => list
                    .iter()
                    .map(|p| {
                        let mut object = Map::new();
                        let parts = [
                            &p.name,
                            &p.version,
                            &p.release,
                            &p.architecture,
                            &p.source_layer_hash,
                            &p.source_lambda_layer_arn,
                            &p.file_path,
                        ];
                        for (key, part) in PACKAGE_STRING_PARTS.iter().zip(parts) {
                            if let Some(filter) = part {
                                object.insert((*key).into(), string(filter));
                            }
                        }
                        if let Some(epoch) = &p.epoch {
                            object.insert("epoch".into(), number(epoch));
                        }
                        Value::Object(object)
                    })
                    .collect(),
            };
            out.insert((*name).to_owned(), Value::Array(items));
        }
        Value::Object(out)
    }

    /// The filters of `field`, if the criteria name it.
    pub fn get(&self, field: &str) -> Option<&Filters> {
        self.fields.get(field)
    }

    /// Every field named, in name order, with its filters.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &Filters)> {
        self.fields.iter().map(|(name, filters)| (*name, filters))
    }
}

#[cfg(test)]
mod tests;
