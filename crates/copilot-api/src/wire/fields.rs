//! Deserialising structs that keep unknown fields in an `extra` map, without `#[serde(flatten)]`.
//!
//! With `#[serde(flatten)]` serde first buffers every field it cannot place into a generic `Content` tree
//! and then converts that tree into `serde_json::Value` a second time. A non-streamed chat response carries
//! content filter results in every choice and prompt filter results at the top, so this double pass was
//! two thirds of its decoding cost (and the largest part of copilot-api's overhead over a hand-written
//! client). [`deserialize`] reads known fields straight into their types and unknown ones straight into
//! raw JSON text ([`Extra`]: one copy, no `Value` tree), with the same rules as the derive: missing optional
//! fields take their defaults, a known field given twice is an error, an unknown field given twice keeps
//! the last value. A decoded type declares its fields with [`decode_fields!`], which writes the rest.

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

/// Writes a struct's `Deserialize` impl on [`deserialize`] from a list of its fields, so each decoded type
/// states only what differs: which fields it knows and what an absent (or `null`) one becomes.
///
/// Every decoded type needs the same three pieces, a slot per field, a `match` from key to slot through
/// [`once`] and a `finish` that turns the slots into the struct; written by hand they differed only in
/// names, and a field added to one piece but forgotten in another decoded silently as its default. The
/// expansion is what was written by hand (a `#[derive(Default)]` slots struct, a [`Fields`] impl, a
/// `match` on `&str`), so decoding costs the same.
///
/// ```text
/// decode_fields! {
///     Choice {
///         index: u32 = default,
///         message: Message = required,
///         finish_reason: Option<FinishReason> = default,
///     }
/// }
/// ```
///
/// A field is `name: Type = rule`, or `name as "wire": Type = rule` when its JSON key differs. The rules:
/// - `default`: absent reads as `Type::default()`; `null` is refused unless `Type` accepts it (an
///   `Option` reads it as `None`).
/// - `null_as_default`: absent or `null` read as `Type::default()` (a `null` list as empty).
/// - `or(expr)`: absent reads as `expr`.
/// - `required`: absent is the derive's `missing field` error.
///
/// Each field may appear once in the input (a second is the derive's `duplicate field` error); keys not
/// listed go into the struct's `extra: Extra` field as raw JSON.
macro_rules! decode_fields {
    (@wire $field:ident) => { stringify!($field) };
    (@wire $field:ident $wire:literal) => { $wire };
    (@slot null_as_default $ty:ty) => { Option<Option<$ty>> };
    (@slot $rule:ident $ty:ty) => { Option<$ty> };
    (@finish $slot:expr, default, $wire:expr) => { $slot.unwrap_or_default() };
    (@finish $slot:expr, null_as_default, $wire:expr) => { $slot.flatten().unwrap_or_default() };
    (@finish $slot:expr, or($or:expr), $wire:expr) => { $slot.unwrap_or($or) };
    (@finish $slot:expr, required, $wire:expr) => { $slot.ok_or_else(|| E::missing_field($wire))? };
    (
        $target:ident {
            $( $field:ident $(as $wire:literal)? : $ty:ty = $rule:ident $(($or:expr))? ),+ $(,)?
        }
    ) => {
        impl<'de> serde::Deserialize<'de> for $target {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[derive(Default)]
                struct Slots {
                    $( $field: $crate::wire::fields::decode_fields!(@slot $rule $ty), )+
                }

                impl<'de> $crate::wire::fields::Fields<'de> for Slots {
                    type Target = $target;
                    const EXPECTING: &'static str = concat!("struct ", stringify!($target));

                    fn field<A: serde::de::MapAccess<'de>>(
                        &mut self,
                        key: &str,
                        map: &mut A,
                    ) -> Result<bool, A::Error> {
                        match key {
                            $(
                                $crate::wire::fields::decode_fields!(@wire $field $($wire)?) => {
                                    $crate::wire::fields::once(
                                        &mut self.$field,
                                        $crate::wire::fields::decode_fields!(@wire $field $($wire)?),
                                        map,
                                    )
                                }
                            )+
                            _ => Ok(false),
                        }
                    }

                    fn finish<E: serde::de::Error>(
                        self,
                        extra: $crate::wire::extra::Extra,
                    ) -> Result<$target, E> {
                        Ok($target {
                            $(
                                $field: $crate::wire::fields::decode_fields!(
                                    @finish self.$field, $rule $(($or))?,
                                    $crate::wire::fields::decode_fields!(@wire $field $($wire)?)
                                ),
                            )+
                            extra,
                        })
                    }
                }

                $crate::wire::fields::deserialize::<D, Slots>(deserializer)
            }
        }
    };
}

pub(crate) use decode_fields;

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

#[cfg(test)]
mod tests {
    use crate::wire::extra::Extra;

    #[derive(Debug)]
    struct Sample {
        kind: String,
        count: u64,
        tags: Vec<String>,
        label: Option<String>,
        level: u8,
        id: String,
        extra: Extra,
    }

    decode_fields! {
        Sample {
            kind as "type": String = default,
            count: u64 = default,
            tags: Vec<String> = null_as_default,
            label: Option<String> = default,
            level: u8 = or(3),
            id: String = required,
        }
    }

    fn error(json: &str) -> String {
        serde_json::from_str::<Sample>(json)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn decode_fields_applies_each_rule_and_keeps_unknown_keys_raw() {
        let sample: Sample =
            serde_json::from_str(r#"{"type":"a","id":"x","tags":null,"kind":"k","more": [1]}"#)
                .unwrap();
        assert_eq!((sample.kind.as_str(), sample.id.as_str()), ("a", "x"));
        assert_eq!((sample.count, sample.level), (0, 3));
        assert!(sample.tags.is_empty());
        assert_eq!(sample.label, None);
        assert_eq!(sample.extra.get("kind").unwrap().get(), r#""k""#);
        assert_eq!(sample.extra.get("more").unwrap().get(), "[1]");

        let sample: Sample =
            serde_json::from_str(r#"{"id":"x","count":2,"tags":["t"],"label":null,"level":1}"#)
                .unwrap();
        assert_eq!((sample.count, sample.level), (2, 1));
        assert_eq!(sample.tags, ["t"]);
        assert_eq!(sample.label, None);
        assert!(sample.extra.get("id").is_none());
    }

    #[test]
    fn decode_fields_refuses_what_the_derive_refuses() {
        assert!(error(r#"{"id":"x","id":"y"}"#).contains("duplicate field `id`"));
        assert!(error(r#"{"id":"x","type":"a","type":"b"}"#).contains("duplicate field `type`"));
        assert!(error(r#"{"type":"a"}"#).contains("missing field `id`"));
        assert!(error(r#"{"id":"x","count":null}"#).contains("invalid type: null"));
        assert!(error("[]").contains("expected struct Sample"));
    }
}
