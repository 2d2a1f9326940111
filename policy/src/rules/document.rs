//! The `stella-policy@1` document: the YAML as written ([`wire`]), checked
//! into a [`Policy`] whose every value is typed.
//!
//! Strictness is the point: an unknown key, a misspelt severity or a
//! number where a string belongs is an error naming the field, never a
//! silently weaker policy.

use std::collections::BTreeSet;

use stella_model::{ComponentKind, Outcome, Rating, VexState};

use super::purl_pattern::PurlPattern;
use super::PolicyError;
use crate::time::{Age, Date, Timestamp};

/// Schema tag a policy document must carry.
pub const POLICY_SCHEMA: &str = "stella-policy@1";

/// Policies larger than this are refused unread.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// A checked policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: Option<String>,
    pub description: Option<String>,
    /// In document order.
    pub rules: Vec<Rule>,
    pub exceptions: Vec<Exception>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub action: Action,
    pub description: Option<String>,
    /// Which components (and their findings) the rule looks at.
    pub scope: Scope,
    pub kind: RuleKind,
}

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Warn,
    Fail,
}

impl Action {
    pub fn outcome(self) -> Outcome {
        match self {
            Action::Warn => Outcome::Warn,
            Action::Fail => Outcome::Fail,
        }
    }
}

/// `match:` — empty lists mean "everything".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    pub purls: Vec<PurlPattern>,
    pub kinds: Vec<ComponentKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// Fires on each active finding meeting every condition.
    Findings(FindingConditions),
    /// Fires on each component a purl list rejects.
    Packages(PackageLists),
    /// Fires on each component a license list rejects.
    Licenses(LicenseLists),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FindingConditions {
    /// Rated at or above.
    pub severity: Option<Rating>,
    /// Highest CVSS base score at or above.
    pub cvss_min: Option<f64>,
    /// A fixed version is known (`true`) / not known (`false`).
    pub fix_available: Option<bool>,
    /// Published longer ago than this.
    pub older_than: Option<Age>,
    /// VEX says this (only the states that keep a finding active).
    pub vex_state: Option<VexState>,
    /// Findings without a rating, score or publication date meet the
    /// severity, cvss and age conditions instead of failing them.
    pub include_unknown: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackageLists {
    /// Components matching any of these fire.
    pub deny: Vec<PurlPattern>,
    /// When set: components matching none of these fire.
    pub allow: Option<Vec<PurlPattern>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LicenseLists {
    pub deny: Vec<String>,
    pub allow: Option<Vec<String>>,
    /// What a component without a readable license gets.
    pub unknown: UnknownLicense,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownLicense {
    /// Passes.
    Allow,
    /// Fires the rule.
    Deny,
}

/// A waiver: findings of `vulnerability` (in components matching `purl`)
/// do not count against the policy until `expires`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub id: String,
    /// Matched against a finding's id and its aliases.
    pub vulnerability: String,
    pub purl: Option<PurlPattern>,
    pub expires: Expiry,
    pub reason: String,
}

/// When an exception stops waiving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// As written.
    pub text: String,
    /// The first instant it no longer waives: the end of a bare date's day
    /// (UTC), the timestamp itself otherwise.
    pub at: Timestamp,
}

impl Expiry {
    fn parse(text: &str) -> Result<Expiry, String> {
        let at = if text.len() == 10 {
            Date::parse(text).map(Date::end)
        } else {
            Timestamp::parse(text)
        }
        .map_err(|e| e.to_string())?;
        Ok(Expiry {
            text: text.to_string(),
            at,
        })
    }
}

/// Parses and checks a `stella-policy@1` YAML document.
pub fn parse(bytes: &[u8]) -> Result<Policy, PolicyError> {
    if bytes.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            size: bytes.len(),
            limit: MAX_POLICY_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| PolicyError::Invalid {
        path: "(document)".into(),
        message: format!("not UTF-8: {e}"),
    })?;
    let doc: wire::Document = serde_yaml_ng::from_str(text).map_err(PolicyError::from_yaml)?;
    check(doc)
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

fn check(doc: wire::Document) -> Result<Policy, PolicyError> {
    let mut ids = BTreeSet::new();
    let mut rules = Vec::with_capacity(doc.rules.0.len());
    for (i, raw) in doc.rules.0.into_iter().enumerate() {
        let path = format!("rules[{i}]");
        if !ids.insert(raw.id.0.clone()) {
            return Err(invalid(
                format!("{path}.id"),
                format!("duplicate id {:?}", raw.id.0),
            ));
        }
        rules.push(check_rule(raw, &path)?);
    }
    let mut exceptions = Vec::with_capacity(doc.exceptions.0.len());
    for (i, raw) in doc.exceptions.0.into_iter().enumerate() {
        let path = format!("exceptions[{i}]");
        if !ids.insert(raw.id.0.clone()) {
            return Err(invalid(
                format!("{path}.id"),
                format!(
                    "duplicate id {:?} (rule and exception ids share one namespace)",
                    raw.id.0
                ),
            ));
        }
        exceptions.push(Exception {
            id: raw.id.0,
            vulnerability: raw.vulnerability.0,
            purl: raw.purl.map(|p| p.0),
            expires: raw.expires.0,
            reason: raw.reason.0,
        });
    }
    Ok(Policy {
        name: doc.name.map(|t| t.0),
        description: doc.description.map(|t| t.0),
        rules,
        exceptions,
    })
}

fn check_rule(raw: wire::Rule, path: &str) -> Result<Rule, PolicyError> {
    let finding_keys: Vec<&str> = [
        ("severity", raw.severity.is_some()),
        ("cvss", raw.cvss.is_some()),
        ("fixAvailable", raw.fix_available.is_some()),
        ("olderThan", raw.older_than.is_some()),
        ("vexState", raw.vex_state.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    let mut kinds = Vec::new();
    if !finding_keys.is_empty() {
        kinds.push(finding_keys.join("/"));
    }
    if raw.packages.is_some() {
        kinds.push("packages".into());
    }
    if raw.licenses.is_some() {
        kinds.push("licenses".into());
    }
    if kinds.len() > 1 {
        return Err(invalid(
            path,
            format!(
                "a rule is about findings, packages or licenses, not several ({})",
                kinds.join(" with ")
            ),
        ));
    }
    if raw.include_unknown.is_some() && finding_keys.is_empty() {
        return Err(invalid(
            format!("{path}.includeUnknown"),
            "only findings rules (severity, cvss, fixAvailable, olderThan, vexState) take includeUnknown",
        ));
    }
    let kind = if let Some(p) = raw.packages {
        if p.deny.is_none() && p.allow.is_none() {
            return Err(invalid(
                format!("{path}.packages"),
                "needs a deny or an allow list",
            ));
        }
        RuleKind::Packages(PackageLists {
            deny: p
                .deny
                .map(|l| l.0.into_iter().map(|x| x.0).collect())
                .unwrap_or_default(),
            allow: p.allow.map(|l| l.0.into_iter().map(|x| x.0).collect()),
        })
    } else if let Some(l) = raw.licenses {
        if l.deny.is_none() && l.allow.is_none() {
            return Err(invalid(
                format!("{path}.licenses"),
                "needs a deny or an allow list",
            ));
        }
        RuleKind::Licenses(LicenseLists {
            deny: l
                .deny
                .map(|l| l.0.into_iter().map(|x| x.0).collect())
                .unwrap_or_default(),
            allow: l.allow.map(|l| l.0.into_iter().map(|x| x.0).collect()),
            unknown: l.unknown,
        })
    } else if !finding_keys.is_empty() {
        RuleKind::Findings(FindingConditions {
            severity: raw.severity.map(|s| s.0),
            cvss_min: raw.cvss.map(|c| c.min.0),
            fix_available: raw.fix_available,
            older_than: raw.older_than.map(|a| a.0),
            vex_state: raw.vex_state.map(|v| v.0),
            include_unknown: raw.include_unknown.unwrap_or(false),
        })
    } else {
        return Err(invalid(
            path,
            "the rule has no condition: give severity, cvss, fixAvailable, olderThan, vexState, packages or licenses",
        ));
    };
    let scope = match raw.scope {
        None => Scope::default(),
        Some(m) => {
            if m.purls.is_none() && m.kinds.is_none() {
                return Err(invalid(
                    format!("{path}.match"),
                    "needs purls or kinds (leave match out to look at everything)",
                ));
            }
            Scope {
                purls: m
                    .purls
                    .map(|l| l.0.into_iter().map(|x| x.0).collect())
                    .unwrap_or_default(),
                kinds: m
                    .kinds
                    .map(|l| l.0.into_iter().map(|x| x.0).collect())
                    .unwrap_or_default(),
            }
        }
    };
    Ok(Rule {
        id: raw.id.0,
        action: raw.action,
        description: raw.description.map(|t| t.0),
        scope,
        kind,
    })
}

/// The document as serde reads it. Every string field goes through
/// [`Text`] (a YAML string, not a number or bool read as one) and every
/// checked value through a newtype whose `TryFrom` says what is wrong, so
/// the YAML error carries the field path and line.
pub(crate) mod wire {
    use serde::de::{self, Deserializer, Visitor};
    use serde::Deserialize;
    use std::fmt;

    use super::*;

    /// Optional fields: absent is `None`, but an explicit `null` is an
    /// error like any other wrong type (JSON Schema agrees).
    fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        T::deserialize(d).map(Some)
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Document {
        // Checked while reading; nothing else to keep.
        #[serde(rename = "schema")]
        pub _schema: SchemaTag,
        #[serde(default, deserialize_with = "present")]
        pub name: Option<NonEmpty>,
        #[serde(default, deserialize_with = "present")]
        pub description: Option<Text>,
        pub rules: List<Rule>,
        #[serde(default)]
        pub exceptions: List<Exception>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Rule {
        pub id: Id,
        pub action: Action,
        #[serde(default, deserialize_with = "present")]
        pub description: Option<Text>,
        #[serde(rename = "match", default, deserialize_with = "present")]
        pub scope: Option<Match>,
        #[serde(default, deserialize_with = "present")]
        pub severity: Option<Severity>,
        #[serde(default, deserialize_with = "present")]
        pub cvss: Option<Cvss>,
        #[serde(default, deserialize_with = "present")]
        pub fix_available: Option<bool>,
        #[serde(default, deserialize_with = "present")]
        pub older_than: Option<OlderThan>,
        #[serde(default, deserialize_with = "present")]
        pub vex_state: Option<ActiveVexState>,
        #[serde(default, deserialize_with = "present")]
        pub include_unknown: Option<bool>,
        #[serde(default, deserialize_with = "present")]
        pub packages: Option<Packages>,
        #[serde(default, deserialize_with = "present")]
        pub licenses: Option<Licenses>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Match {
        #[serde(default, deserialize_with = "present")]
        pub purls: Option<NonEmptyList<Pattern>>,
        #[serde(default, deserialize_with = "present")]
        pub kinds: Option<NonEmptyList<Kind>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Cvss {
        pub min: Score,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Packages {
        #[serde(default, deserialize_with = "present")]
        pub deny: Option<NonEmptyList<Pattern>>,
        #[serde(default, deserialize_with = "present")]
        pub allow: Option<NonEmptyList<Pattern>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Licenses {
        #[serde(default, deserialize_with = "present")]
        pub deny: Option<NonEmptyList<LicenseId>>,
        #[serde(default, deserialize_with = "present")]
        pub allow: Option<NonEmptyList<LicenseId>>,
        pub unknown: UnknownLicense,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Exception {
        pub id: Id,
        pub vulnerability: VulnerabilityId,
        #[serde(default, deserialize_with = "present")]
        pub purl: Option<Pattern>,
        pub expires: ExpiryText,
        pub reason: NonEmpty,
    }

    impl<'de> Deserialize<'de> for Action {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            checked_str(d, |s| match s {
                "fail" => Ok(Action::Fail),
                "warn" => Ok(Action::Warn),
                other => Err(format!("unknown action {other:?} (expected fail or warn)")),
            })
        }
    }

    impl<'de> Deserialize<'de> for UnknownLicense {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            checked_str(d, |s| match s {
                "allow" => Ok(UnknownLicense::Allow),
                "deny" => Ok(UnknownLicense::Deny),
                other => Err(format!("unknown value {other:?} (expected allow or deny)")),
            })
        }
    }

    /// A YAML string; a number, bool or null where text belongs is refused.
    pub struct Text(pub String);

    impl<'de> Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            checked_str(d, |s| Ok(Text(s.to_string())))
        }
    }

    /// Reads a YAML string and checks it inside the visitor: an error made
    /// there carries the field's own path (`rules[1].severity`), one made
    /// after the value was read only the enclosing object's.
    pub fn checked_str<'de, D: Deserializer<'de>, T>(
        d: D,
        check: fn(&str) -> Result<T, String>,
    ) -> Result<T, D::Error> {
        struct V<T>(fn(&str) -> Result<T, String>);
        impl<T> Visitor<'_> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
                (self.0)(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V(check))
    }

    /// A newtype read from [`Text`] through a check that explains itself.
    macro_rules! checked {
        ($name:ident, $inner:ty, $check:expr) => {
            pub struct $name(pub $inner);
            impl<'de> Deserialize<'de> for $name {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let check: fn(&str) -> Result<$inner, String> = $check;
                    checked_str(d, check).map($name)
                }
            }
        };
    }

    checked!(SchemaTag, (), |s| if s == POLICY_SCHEMA {
        Ok(())
    } else {
        Err(format!("expected {POLICY_SCHEMA:?}, found {s:?}"))
    });
    checked!(NonEmpty, String, |s| if s.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(s.to_string())
    });
    checked!(Id, String, |s| {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(s.to_string())
        } else {
            Err(format!(
                "bad id {s:?} (letters, digits, '.', '_', '-'; starting with a letter or digit; at most 128)"
            ))
        }
    });
    checked!(Severity, Rating, |s| match s {
        "unknown" => Ok(Rating::Unknown),
        "none" => Ok(Rating::None),
        "low" => Ok(Rating::Low),
        "medium" => Ok(Rating::Medium),
        "high" => Ok(Rating::High),
        "critical" => Ok(Rating::Critical),
        other => Err(format!(
            "unknown severity {other:?} (expected unknown, none, low, medium, high or critical)"
        )),
    });
    checked!(ActiveVexState, VexState, |s| match s {
        "under_investigation" => Ok(VexState::UnderInvestigation),
        "affected" => Ok(VexState::Affected),
        "not_affected" | "fixed" => Err(format!(
            "vexState {s:?} never matches: findings VEX marks {s} are not judged by rules \
             (expected under_investigation or affected)"
        )),
        other => Err(format!(
            "unknown vexState {other:?} (expected under_investigation or affected)"
        )),
    });
    checked!(OlderThan, Age, |s| Age::parse(s).map_err(|e| e.to_string()));
    checked!(Pattern, PurlPattern, PurlPattern::parse);
    checked!(Kind, ComponentKind, |s| {
        serde_json::from_value(
        serde_json::Value::String(s.to_string())
    )
    .map_err(|_| format!(
        "unknown kind {s:?} (expected deb, apk, rpm, npm, pypi, maven, golang, cargo, nuget, composer or gem)"
    ))
    });
    checked!(LicenseId, String, |s| if s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | ','))
    {
        Err(format!(
            "bad license id {s:?} (one SPDX id or pattern: no spaces, parentheses or commas)"
        ))
    } else {
        Ok(s.to_string())
    });
    checked!(VulnerabilityId, String, |s| {
        let (prefix, rest) = s.split_once('-').unwrap_or(("", ""));
        let ok = prefix
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
            && !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(s.to_string())
        } else {
            Err(format!(
                "bad vulnerability id {s:?} (expected an advisory id like CVE-2024-1234 or GHSA-xxxx-xxxx-xxxx)"
            ))
        }
    });
    checked!(ExpiryText, Expiry, Expiry::parse);

    /// A CVSS base score, 0 to 10.
    pub struct Score(pub f64);

    impl<'de> Deserialize<'de> for Score {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Score;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a number from 0 to 10")
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Score, E> {
                    if (0.0..=10.0).contains(&v) {
                        Ok(Score(v))
                    } else {
                        Err(E::custom(format!("CVSS score {v} is outside 0 to 10")))
                    }
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Score, E> {
                    self.visit_f64(v as f64)
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Score, E> {
                    self.visit_f64(v as f64)
                }
            }
            d.deserialize_any(V)
        }
    }

    /// A list; `null` is not one (serde_yaml_ng would read it as empty).
    pub struct List<T>(pub Vec<T>);

    impl<T> Default for List<T> {
        fn default() -> Self {
            List(Vec::new())
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(std::marker::PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = List<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list")
                }
                fn visit_seq<A: de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut items = Vec::new();
                    while let Some(item) = seq.next_element()? {
                        items.push(item);
                    }
                    Ok(List(items))
                }
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }

    /// A list with at least one item. Its own visitor rather than `List`
    /// plus a check: an error raised inside the visitor keeps the field's
    /// path (`rules[0].packages.deny: …`), one raised after it does not.
    pub struct NonEmptyList<T>(pub Vec<T>);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for NonEmptyList<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(std::marker::PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = NonEmptyList<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a non-empty list")
                }
                fn visit_seq<A: de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut items = Vec::new();
                    while let Some(item) = seq.next_element()? {
                        items.push(item);
                    }
                    if items.is_empty() {
                        return Err(de::Error::custom(
                            "the list is empty (leave the key out instead)",
                        ));
                    }
                    Ok(NonEmptyList(items))
                }
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }
}
