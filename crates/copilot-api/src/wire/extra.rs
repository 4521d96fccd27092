//! [`Extra`]: the unknown fields of a decoded answer, kept as raw JSON text.
//!
//! Copilot's answers carry fields this crate does not model (content filter results in every choice,
//! prompt filter results, `system_fingerprint`, cost extras, …). They must be kept, but few callers ever
//! look at them, so building a `serde_json::Value` tree for each (and freeing it again) was the largest
//! part of decoding a non-streamed answer. [`Extra`] keeps each value as the exact JSON text it arrived as
//! (a [`RawValue`]): one copy of the bytes, parsed only when asked ([`Extra::get_as`]), and written back
//! verbatim when the type is serialised again (a decoded [`Message`](crate::Message) re-sent keeps its
//! unknown fields).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Map, Value};

/// Fields of a decoded object that this crate does not model, keyed by name, each kept as its raw JSON
/// text. Keys iterate in sorted order (as a `serde_json::Map` does); a key given twice on the wire keeps
/// the last value.
///
/// ```
/// use copilot_api::ChatResponse;
///
/// let response: ChatResponse = serde_json::from_str(
///     r#"{"id":"x","choices":[],"system_fingerprint":"fp_1","prompt_filter_results":[{"prompt_index":0}]}"#,
/// ).unwrap();
/// assert_eq!(response.extra.get("system_fingerprint").map(|raw| raw.get()), Some(r#""fp_1""#));
/// let fingerprint: String = response.extra.get_as("system_fingerprint").unwrap().unwrap();
/// assert_eq!(fingerprint, "fp_1");
/// assert_eq!(response.extra.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct Extra(BTreeMap<String, Box<RawValue>>);

impl Extra {
    /// No fields.
    pub fn new() -> Self {
        Extra(BTreeMap::new())
    }

    /// The raw JSON of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.get(key).map(|raw| &**raw)
    }

    /// `key` decoded as `T`: `None` when absent, `Some(Err(_))` when it does not decode as `T`.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Option<serde_json::Result<T>> {
        self.0.get(key).map(|raw| serde_json::from_str(raw.get()))
    }

    /// `key` decoded as a `serde_json::Value`, if present.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        // Raw values are valid JSON by construction, so decoding them as `Value` cannot fail.
        self.get_as(key).and_then(Result::ok)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Sets `key` to `value`, returning the previous raw value.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Option<Box<RawValue>> {
        self.insert_raw(key, value_to_raw(&value.into()))
    }

    /// Sets `key` to already-encoded JSON, returning the previous raw value.
    pub fn insert_raw(
        &mut self,
        key: impl Into<String>,
        value: Box<RawValue>,
    ) -> Option<Box<RawValue>> {
        self.0.insert(key.into(), value)
    }

    /// Removes `key`, returning its raw value.
    pub fn remove(&mut self, key: &str) -> Option<Box<RawValue>> {
        self.0.remove(key)
    }

    /// The fields in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &RawValue)> {
        self.0.iter().map(|(key, raw)| (key.as_str(), &**raw))
    }

    /// The field names in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All fields decoded into a `serde_json::Map`, for callers that want to walk them as values.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .filter_map(|(key, raw)| {
                let value = serde_json::from_str(raw.get()).ok()?;
                Some((key.to_owned(), value))
            })
            .collect()
    }
}

/// Serialising a `Value` cannot fail (its object keys are strings, its numbers finite); the fallback keeps
/// the signature infallible without a panic path.
fn value_to_raw(value: &Value) -> Box<RawValue> {
    to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

impl PartialEq for Extra {
    /// Equal when both have the same keys and each pair of values is the same JSON: the same text, or
    /// (only then parsed) texts that differ in layout but not in value.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.iter().zip(other.iter()).all(|((k1, v1), (k2, v2))| {
                k1 == k2
                    && (v1.get() == v2.get()
                        || serde_json::from_str::<Value>(v1.get()).ok()
                            == serde_json::from_str::<Value>(v2.get()).ok())
            })
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Raw<'a>(&'a RawValue);
        impl fmt::Debug for Raw<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.get())
            }
        }
        f.debug_map()
            .entries(self.iter().map(|(key, raw)| (key, Raw(raw))))
            .finish()
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Self {
        map.into_iter()
            .map(|(key, value)| (key, value_to_raw(&value)))
            .collect()
    }
}

impl FromIterator<(String, Box<RawValue>)> for Extra {
    fn from_iter<I: IntoIterator<Item = (String, Box<RawValue>)>>(iter: I) -> Self {
        Extra(iter.into_iter().collect())
    }
}

impl IntoIterator for Extra {
    type Item = (String, Box<RawValue>);
    type IntoIter = std::collections::btree_map::IntoIter<String, Box<RawValue>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a str, &'a RawValue);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a RawValue)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl Serialize for Extra {
    /// A map of the fields, each value written back as the text it arrived as.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, raw) in self.iter() {
            map.serialize_entry(key, raw)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Extra {
    /// Reads a map from any deserialiser (also inside `#[serde(flatten)]`, which cannot hand out raw text):
    /// each value is read as a `Value` and encoded again. The chat types do not go through this; they read
    /// raw text directly.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExtraVisitor;

        impl<'de> Visitor<'de> for ExtraVisitor {
            type Value = Extra;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of fields")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Extra, A::Error> {
                let mut extra = Extra::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    let raw = to_raw_value(&value).map_err(de::Error::custom)?;
                    extra.insert_raw(key, raw);
                }
                Ok(extra)
            }
        }

        deserializer.deserialize_map(ExtraVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn equal_values_in_different_layout_compare_equal() {
        let a: Extra = [("k".to_owned(), raw(r#"{"a": 1, "b": [true]}"#))]
            .into_iter()
            .collect();
        let b: Extra = [("k".to_owned(), raw(r#"{"b":[true],"a":1}"#))]
            .into_iter()
            .collect();
        let c: Extra = [("k".to_owned(), raw(r#"{"b":[false],"a":1}"#))]
            .into_iter()
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, Extra::new());
    }

    #[test]
    fn serialises_raw_text_verbatim_and_to_value() {
        let mut extra = Extra::new();
        extra.insert_raw("z", raw(r#"{"x": 1.50}"#));
        extra.insert("a", json!([1, "two"]));
        assert_eq!(
            serde_json::to_string(&extra).unwrap(),
            r#"{"a":[1,"two"],"z":{"x": 1.50}}"#
        );
        assert_eq!(
            serde_json::to_value(&extra).unwrap(),
            json!({"a": [1, "two"], "z": {"x": 1.5}})
        );
        assert_eq!(
            format!("{extra:?}"),
            r#"{"a": [1,"two"], "z": {"x": 1.50}}"#
        );
    }

    #[test]
    fn accessors() {
        let mut extra = Extra::from(json!({"n": 3, "s": "t"}).as_object().unwrap().clone());
        assert_eq!(extra.len(), 2);
        assert_eq!(extra.get("n").map(RawValue::get), Some("3"));
        assert_eq!(extra.get_as::<u32>("n").unwrap().unwrap(), 3);
        assert!(extra.get_as::<u32>("s").unwrap().is_err());
        assert!(extra.get_as::<u32>("missing").is_none());
        assert_eq!(extra.get_value("s"), Some(json!("t")));
        assert_eq!(extra.keys().collect::<Vec<_>>(), ["n", "s"]);
        assert_eq!(
            extra.to_map(),
            *json!({"n": 3, "s": "t"}).as_object().unwrap()
        );
        assert!(extra.remove("n").is_some());
        assert!(!extra.contains_key("n"));
        assert!(!extra.is_empty());
    }

    #[test]
    fn deserialises_from_text_and_from_value() {
        let from_text: Extra = serde_json::from_str(r#"{"a": {"b": null}, "a": 2}"#).unwrap();
        assert_eq!(from_text.get("a").map(RawValue::get), Some("2"));
        let from_value: Extra = serde_json::from_value(json!({"a": {"b": null}})).unwrap();
        assert_eq!(from_value.get_value("a"), Some(json!({"b": null})));
    }
}
