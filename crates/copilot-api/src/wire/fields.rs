//! Deserialising structs that keep unknown fields in an `extra` map, without `#[serde(flatten)]`.
//!
//! With `#[serde(flatten)]` serde first buffers every field it cannot place into a generic `Content` tree
//! and then converts that tree into `serde_json::Value` a second time. A non-streamed chat response carries
//! content filter results in every choice and prompt filter results at the top, so this double pass was
//! two thirds of its decoding cost (and the largest part of copilot-api's overhead over a hand-written
//! client). [`deserialize`] reads known fields straight into their types and unknown ones straight into
//! raw JSON text ([`Extra`]: one copy, no `Value` tree), with the same rules as the derive: missing optional fields take their defaults, a known field
//! given twice is an error, an unknown field given twice keeps the last value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::wire::extra::Extra;

/// The fields of one struct being deserialised: knows its own keys, builds the struct at the end.
pub(crate) trait Fields<'de>: Default {
    /// The struct built.
    type Target;
    /// What the input should have been, for error messages (`struct Name`, as the derive says).
    const EXPECTING: &'static str;

    /// Reads the value of `key` from `map` if it is a field of the struct; `Ok(false)` for other keys
    /// (whose value the caller then keeps in `extra`).
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;

    /// Builds the struct from the fields read and the unknown ones.
    fn finish<E: de::Error>(self, extra: Extra) -> Result<Self::Target, E>;
}

/// Deserialises `F::Target` from a map (a JSON object).
pub(crate) fn deserialize<'de, D, F>(deserializer: D) -> Result<F::Target, D::Error>
where
    D: Deserializer<'de>,
    F: Fields<'de>,
{
    deserializer.deserialize_map(FieldsVisitor::<F>(PhantomData))
}

/// Stores the next value in `slot`, refusing a second occurrence of the field as serde's derive does.
/// Returns `Ok(true)` so a [`Fields::field`] arm can end with it.
pub(crate) fn once<'de, T, A>(
    slot: &mut Option<T>,
    name: &'static str,
    map: &mut A,
) -> Result<bool, A::Error>
where
    T: Deserialize<'de>,
    A: MapAccess<'de>,
{
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(true)
}

struct FieldsVisitor<F>(PhantomData<F>);

impl<'de, F: Fields<'de>> Visitor<'de> for FieldsVisitor<F> {
    type Value = F::Target;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(F::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = F::default();
        let mut extra = Extra::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if !fields.field(key.as_str(), &mut map)? {
                let value: Box<RawValue> = map.next_value()?;
                extra.insert_raw(key.into_string(), value);
            }
        }
        fields.finish(extra)
    }
}

/// An object key, borrowed from the input when it has no escapes: known keys are only compared, so they
/// are never copied.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }

    fn into_string(self) -> String {
        match self {
            Key::Borrowed(key) => key.to_owned(),
            Key::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.to_owned()))
            }

            fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}
