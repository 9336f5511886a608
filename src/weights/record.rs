//! The record a weights file may carry of how its network was made: a small JSON object in
//! an entry `meta` (a numpy byte string), naming at least the normalization it was trained
//! with.

use serde_json::{Map, Value};

use crate::excerpt::excerpt;
use crate::normalize::NormMode;

/// Name of the entry (without `.npy`) that holds the record.
pub const ENTRY: &str = "meta";
/// Most bytes a record may take: ours take about 400, and a forged file must not make us
/// read megabytes of "metadata".
pub const MAX_BYTES: usize = 64 * 1024;

/// What a weights file records of its training: the normalization, and whatever else the
/// JSON object holds (`train` writes the command, the settings and the test accuracy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    norm: NormMode,
    /// The object as stored, so that a file read and written again keeps its bytes.
    json: String,
}

impl Record {
    /// A record of a network trained with `norm`, holding `details` besides (a `norm` key
    /// among them is replaced).
    pub fn new(norm: NormMode, mut details: Map<String, Value>) -> Self {
        details.insert("norm".into(), Value::from(norm.name()));
        Self {
            norm,
            json: Value::Object(details).to_string(),
        }
    }

    /// Reads a record from its JSON text.
    ///
    /// # Errors
    /// The text is not a JSON object, has no `norm`, or names a mode we do not know.
    pub fn parse(json: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(json).map_err(|e| format!("is not JSON: {e}"))?;
        let Value::Object(object) = value else {
            return Err("is not a JSON object".into());
        };
        let norm = match object.get("norm") {
            Some(Value::String(name)) => NormMode::from_name(name).ok_or_else(|| {
                format!(
                    "names the normalization \"{}\", which is none of {}",
                    excerpt(name),
                    NormMode::ALL.map(NormMode::name).join(", ")
                )
            })?,
            Some(_) => return Err("has a \"norm\" that is not a string".into()),
            None => return Err("has no \"norm\" (the normalization it was trained with)".into()),
        };
        Ok(Self {
            norm,
            json: json.to_string(),
        })
    }

    /// The normalization the network was trained with.
    pub fn norm(&self) -> NormMode {
        self.norm
    }

    /// The record as stored: a JSON object.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The value of `key` in the record, if it has one.
    pub fn get(&self, key: &str) -> Option<Value> {
        match serde_json::from_str::<Value>(&self.json) {
            Ok(Value::Object(mut object)) => object.remove(key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_names_its_mode_and_keeps_the_rest() {
        let mut details = Map::new();
        details.insert("command".into(), Value::from("mnist-explorer train"));
        details.insert("norm".into(), Value::from("raw"));
        let record = Record::new(NormMode::L2, details);
        assert_eq!(record.norm(), NormMode::L2, "the mode given wins");
        assert_eq!(
            record.json(),
            r#"{"command":"mnist-explorer train","norm":"l2"}"#
        );
        let again = Record::parse(record.json()).unwrap();
        assert_eq!(again, record);
        assert_eq!(
            again.get("command"),
            Some(Value::from("mnist-explorer train"))
        );
        assert_eq!(again.get("seed"), None);
    }

    #[test]
    fn a_record_without_a_known_mode_is_refused_with_the_reason() {
        let cases = [
            ("[1]", "is not a JSON object"),
            ("{\"norm\":", "is not JSON"),
            ("{}", "has no \"norm\""),
            ("{\"norm\":3}", "not a string"),
            ("{\"norm\":\"l3\"}", "\"l3\", which is none of raw, div255"),
        ];
        for (json, wanted) in cases {
            let err = Record::parse(json).unwrap_err();
            assert!(err.contains(wanted), "{json}: {err}");
        }
    }
}
