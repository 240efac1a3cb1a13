//! Where the rules file lives (`RULES_URI`: `s3://bucket/key` or `ssm:/parameter/name`) and a
//! cache that keeps the parsed rules across invocations until the object's ETag or the
//! parameter's version changes.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::Rules;
use crate::Error;

/// A parsed `RULES_URI`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesUri {
    /// An S3 object.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Object key.
        key: String,
    },
    /// An SSM parameter (String or SecureString).
    Ssm {
        /// Parameter name, for example `/inspector-autopilot/rules`.
        name: String,
    },
}

impl RulesUri {
    /// Parses `s3://bucket/key` or `ssm:/parameter/name`; the error says what is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("s3://") {
            return match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(RulesUri::S3 {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                }),
                _ => Err(format!("{text:?} must be s3://<bucket>/<key>")),
            };
        }
        if let Some(name) = text.strip_prefix("ssm:") {
            let valid = name.len() > 1 && name.starts_with('/') && !name.contains("//");
            return match valid {
                true => Ok(RulesUri::Ssm { name: name.to_owned() }),
                false => Err(format!("{text:?} must be ssm:/<parameter name>")),
            };
        }
        Err(format!("{text:?} must be s3://<bucket>/<key> or ssm:/<parameter name>"))
    }
}

impl fmt::Display for RulesUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RulesUri::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            RulesUri::Ssm { name } => write!(f, "ssm:{name}"),
        }
    }
}

/// A rules file's bytes and the version they are: an S3 ETag or an SSM parameter version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// ETag or parameter version.
    pub version: String,
    /// The file.
    pub body: Vec<u8>,
}

/// Reads the rules file.
#[async_trait]
pub trait RulesStore: Send + Sync {
    /// Fetches the file at `uri`. `None` when it is still at `known_version`, so that the caller
    /// can keep what it parsed before. A missing object or parameter is a config error.
    async fn fetch(&self, uri: &RulesUri, known_version: Option<&str>) -> Result<Option<Fetched>, Error>;
}

/// The rules in force and where they came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated rules.
    pub rules: Arc<Rules>,
    /// The ETag or parameter version they were parsed from.
    pub version: String,
    /// False when the cached parse was reused.
    pub parsed: bool,
}

/// Loads and validates the rules, parsing only when the version changed. Lives as long as the
/// Lambda execution environment.
pub struct RulesCache {
    uri: RulesUri,
    store: Arc<dyn RulesStore>,
    current: Mutex<Option<(String, Arc<Rules>)>>,
    /// How long a check of the version stays good; zero checks on every load.
    max_age: Duration,
    checked_at: Mutex<Option<Instant>>,
}

impl RulesCache {
    /// A cache of the rules at `uri`, empty until the first [`RulesCache::load`].
    pub fn new(uri: RulesUri, store: Arc<dyn RulesStore>) -> Self {
        RulesCache {
            uri,
            store,
            current: Mutex::new(None),
            max_age: Duration::ZERO,
            checked_at: Mutex::new(None),
        }
    }

    /// Trusts a version check for `max_age` before asking the store again. finding-router uses
    /// this so that a busy function does not call S3 or SSM once per finding.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Where the rules come from.
    pub fn uri(&self) -> &RulesUri {
        &self.uri
    }

    /// The rules in force: the cached parse if the file is unchanged, else a fresh one. An
    /// invalid file is a config error listing every problem, and the cache keeps nothing of it.
    pub async fn load(&self) -> Result<Loaded, Error> {
        let known = self.cached();
        let fresh = self
            .checked_at
            .lock()
            .ok()
            .and_then(|at| *at)
            .is_some_and(|at| at.elapsed() < self.max_age);
        if let (true, Some((version, rules))) = (fresh, &known) {
            return Ok(Loaded {
                rules: Arc::clone(rules),
                version: version.clone(),
                parsed: false,
            });
        }
        let fetched = self
            .store
            .fetch(&self.uri, known.as_ref().map(|(version, _)| version.as_str()))
            .await?;
        let Some(fetched) = fetched else {
            if let Some((version, rules)) = known {
                self.checked_now();
                return Ok(Loaded {
                    rules,
                    version,
                    parsed: false,
                });
            }
            return Err(Error::Rules {
                uri: self.uri.to_string(),
                problems: vec![crate::filter::ValidationError::new(
                    "$",
                    "the store reported no change before any load",
                )],
            });
        };
        let rules = Arc::new(Rules::parse(&fetched.body).map_err(|problems| Error::Rules {
            uri: self.uri.to_string(),
            problems,
        })?);
        if let Ok(mut current) = self.current.lock() {
            *current = Some((fetched.version.clone(), Arc::clone(&rules)));
        }
        self.checked_now();
        Ok(Loaded {
            rules,
            version: fetched.version,
            parsed: true,
        })
    }

    /// Starts a new `max_age` window. Only a good outcome does: after an invalid file, every load
    /// asks the store again (and fails again) until the file is fixed.
    fn checked_now(&self) {
        if let Ok(mut at) = self.checked_at.lock() {
            *at = Some(Instant::now());
        }
    }

    fn cached(&self) -> Option<(String, Arc<Rules>)> {
        self.current.lock().ok().and_then(|current| current.clone())
    }
}
