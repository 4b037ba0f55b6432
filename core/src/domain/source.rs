//! Sources described: what kind of source a name is (a news agency, a ministry, an armed
//! group...) and whether it is a party to the conflict, as a recorder states it with
//! `chronicle source set` (a `source_described` event).
//!
//! Descriptions are not about an incident, so they live in a stream of their own,
//! [`SOURCES_STREAM`], which no incident can take: every stream whose name begins with
//! [`RESERVED_PREFIX`] is reserved. The rules are in `docs/event-log.md` ("Sources
//! described"); how the views use them in `docs/views.md` ("Sources described").

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// The stream every `source_described` event belongs to.
pub const SOURCES_STREAM: &str = "@sources";

/// The first character of a reserved stream: no incident id may begin with it.
pub const RESERVED_PREFIX: char = '@';

/// Whether `stream` is reserved (not an incident's).
pub fn is_reserved(stream: &str) -> bool {
    stream.starts_with(RESERVED_PREFIX)
}

/// The kind of a source, after the Every Casualty "Standards for Casualty Recording".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SourceType {
    /// A news agency (AFP, Reuters, AP).
    #[serde(rename = "news agency")]
    NewsAgency,
    /// A national newspaper, broadcaster or site (Pajhwok, TOLOnews).
    #[serde(rename = "national media")]
    NationalMedia,
    /// Local media.
    #[serde(rename = "local media")]
    LocalMedia,
    /// A ministry, a governor, provincial officials.
    #[serde(rename = "government")]
    Government,
    /// An army, the police as a force.
    #[serde(rename = "armed forces")]
    ArmedForces,
    /// A non-state armed group or its spokesman.
    #[serde(rename = "armed group")]
    ArmedGroup,
    /// A non-governmental organisation.
    #[serde(rename = "NGO")]
    Ngo,
    /// The United Nations (UNAMA, OCHA).
    #[serde(rename = "UN")]
    Un,
    /// A dataset (ACLED, UCDP GED).
    #[serde(rename = "dataset")]
    Dataset,
    /// A witness.
    #[serde(rename = "witness")]
    Witness,
    /// A secondary source: one that carries others' figures (an aggregator, a report).
    #[serde(rename = "secondary")]
    Secondary,
}

impl SourceType {
    /// Every type, in the order of the documentation.
    pub const ALL: [SourceType; 11] = [
        SourceType::NewsAgency,
        SourceType::NationalMedia,
        SourceType::LocalMedia,
        SourceType::Government,
        SourceType::ArmedForces,
        SourceType::ArmedGroup,
        SourceType::Ngo,
        SourceType::Un,
        SourceType::Dataset,
        SourceType::Witness,
        SourceType::Secondary,
    ];

    /// The canonical spelling, as stored: `news agency`, `NGO`, `UN`...
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::NewsAgency => "news agency",
            SourceType::NationalMedia => "national media",
            SourceType::LocalMedia => "local media",
            SourceType::Government => "government",
            SourceType::ArmedForces => "armed forces",
            SourceType::ArmedGroup => "armed group",
            SourceType::Ngo => "NGO",
            SourceType::Un => "UN",
            SourceType::Dataset => "dataset",
            SourceType::Witness => "witness",
            SourceType::Secondary => "secondary",
        }
    }

    /// Reads a type without regard to case, with `-` or `_` for a space (`News-Agency`,
    /// `armed_group`, `ngo`); `None` for anything else.
    pub fn parse(s: &str) -> Option<SourceType> {
        let key: String = s
            .trim()
            .replace(['-', '_'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        SourceType::ALL
            .into_iter()
            .find(|t| t.as_str().to_lowercase() == key)
    }

    /// [`SourceType::parse`], refused by name with the accepted types (`flag`: the flag or
    /// field named in the refusal).
    pub fn parse_for(flag: &str, s: &str) -> Result<SourceType, Invalid> {
        SourceType::parse(s).ok_or_else(|| {
            Invalid::new(
                flag,
                s.trim(),
                format!(
                    "unknown source type; the types are {} (case does not matter; `-` or `_` may stand for a space)",
                    SourceType::ALL.map(SourceType::as_str).join(", ")
                ),
            )
        })
    }

    /// The types of a repeatable flag whose values may be comma-separated lists
    /// (`--source-type "news agency,UN"`), each once, in the order given.
    pub fn parse_list(flag: &str, values: &[String]) -> Result<Vec<SourceType>, Invalid> {
        let mut out = Vec::new();
        for value in values {
            for name in value.split(',') {
                let t = SourceType::parse_for(flag, name)?;
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source's description (`source_described`), whole: a later description of the same
/// name replaces it entirely, so a description without `party` says the source is not a
/// party (`chronicle source set NAME --type TYPE` without `--party`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDescription {
    /// The source's name, exactly as reports spell it (`AFP`, `Ministry of Defense`).
    pub name: String,
    /// What kind of source it is.
    #[serde(rename = "type")]
    pub kind: SourceType,
    /// A party to the conflict (a belligerent or its spokesman): its figures are not
    /// independent confirmation (`true`, else left out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub party: bool,
    /// A remark (why this type, who the source is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn types_read_without_regard_to_case_and_with_dashes_or_underscores() {
        assert_eq!(
            SourceType::parse("News-Agency"),
            Some(SourceType::NewsAgency)
        );
        assert_eq!(
            SourceType::parse(" armed_group "),
            Some(SourceType::ArmedGroup)
        );
        assert_eq!(SourceType::parse("ngo"), Some(SourceType::Ngo));
        assert_eq!(SourceType::parse("un"), Some(SourceType::Un));
        assert_eq!(
            SourceType::parse("national  media"),
            Some(SourceType::NationalMedia)
        );
        assert_eq!(SourceType::parse("newsagency"), None);
        assert_eq!(SourceType::parse("party"), None);
        for t in SourceType::ALL {
            assert_eq!(SourceType::parse(t.as_str()), Some(t));
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, t.as_str(), "stored as its canonical spelling");
        }
    }

    #[test]
    fn an_unknown_type_is_refused_with_the_list() {
        let e = SourceType::parse_for("--type", "newspaper").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.value.as_str()),
            ("--type", "newspaper")
        );
        assert!(e.problem.contains("news agency, national media"), "{e}");
        let e = SourceType::parse_list("--source-type", &["UN, gov".into()]).unwrap_err();
        assert_eq!(e.value, "gov");
        assert_eq!(
            SourceType::parse_list("--source-type", &["UN,un".into(), "NGO".into()]).unwrap(),
            vec![SourceType::Un, SourceType::Ngo]
        );
    }

    #[test]
    fn reserved_streams_begin_with_an_at_sign() {
        assert!(is_reserved(SOURCES_STREAM));
        assert!(is_reserved("@anything"));
        assert!(!is_reserved("2020-07-30-puli-alam"));
    }

    #[test]
    fn a_description_is_stored_canonically() {
        let d: SourceDescription =
            serde_json::from_str(r#"{"name":"MoD","type":"government","party":true}"#).unwrap();
        assert!(d.party);
        let d: SourceDescription =
            serde_json::from_str(r#"{"name":"AFP","type":"news agency"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"name":"AFP","type":"news agency"}"#
        );
        assert!(serde_json::from_str::<SourceDescription>(
            r#"{"name":"AFP","type":"news agency","partisan":true}"#
        )
        .is_err());
    }
}
