//! Hand-written `Deserialize` for the decoded `/responses` types ([`ResponsesResponse`],
//! [`ResponsesUsage`]), so unknown fields are read straight into [`Extra`] as raw JSON (see
//! [`crate::wire::fields`]). The rules are the derive's: absent fields take their defaults, `null` reads as
//! `None` for the optional ones, a known field given twice is an error.

use serde::de::{self, Deserialize, Deserializer, MapAccess};
use serde_json::{Map, Value};

use crate::responses::{ResponseItem, ResponsesResponse, ResponsesUsage};
use crate::wire::extra::Extra;
use crate::wire::fields::{self, Fields, once};

impl<'de> Deserialize<'de> for ResponsesResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fields::deserialize::<D, ResponsesResponseFields>(deserializer)
    }
}

#[derive(Default)]
struct ResponsesResponseFields {
    id: Option<String>,
    model: Option<Option<String>>,
    status: Option<Option<String>>,
    output: Option<Vec<ResponseItem>>,
    usage: Option<Option<ResponsesUsage>>,
    incomplete_details: Option<Option<Value>>,
}

impl<'de> Fields<'de> for ResponsesResponseFields {
    type Target = ResponsesResponse;
    const EXPECTING: &'static str = "struct ResponsesResponse";

    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "id" => once(&mut self.id, "id", map),
            "model" => once(&mut self.model, "model", map),
            "status" => once(&mut self.status, "status", map),
            "output" => once(&mut self.output, "output", map),
            "usage" => once(&mut self.usage, "usage", map),
            "incomplete_details" => once(&mut self.incomplete_details, "incomplete_details", map),
            _ => Ok(false),
        }
    }

    fn finish<E: de::Error>(self, extra: Extra) -> Result<ResponsesResponse, E> {
        Ok(ResponsesResponse {
            id: self.id.unwrap_or_default(),
            model: self.model.flatten(),
            status: self.status.flatten(),
            output: self.output.unwrap_or_default(),
            usage: self.usage.flatten(),
            incomplete_details: self.incomplete_details.flatten(),
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for ResponsesUsage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fields::deserialize::<D, ResponsesUsageFields>(deserializer)
    }
}

#[derive(Default)]
struct ResponsesUsageFields {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
    input_tokens_details: Option<Option<Map<String, Value>>>,
    output_tokens_details: Option<Option<Map<String, Value>>>,
}

impl<'de> Fields<'de> for ResponsesUsageFields {
    type Target = ResponsesUsage;
    const EXPECTING: &'static str = "struct ResponsesUsage";

    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "input_tokens" => once(&mut self.input_tokens, "input_tokens", map),
            "output_tokens" => once(&mut self.output_tokens, "output_tokens", map),
            "total_tokens" => once(&mut self.total_tokens, "total_tokens", map),
            "input_tokens_details" => {
                once(&mut self.input_tokens_details, "input_tokens_details", map)
            }
            "output_tokens_details" => once(
                &mut self.output_tokens_details,
                "output_tokens_details",
                map,
            ),
            _ => Ok(false),
        }
    }

    fn finish<E: de::Error>(self, extra: Extra) -> Result<ResponsesUsage, E> {
        Ok(ResponsesUsage {
            input_tokens: self.input_tokens.unwrap_or_default(),
            output_tokens: self.output_tokens.unwrap_or_default(),
            total_tokens: self.total_tokens.unwrap_or_default(),
            input_tokens_details: self.input_tokens_details.flatten(),
            output_tokens_details: self.output_tokens_details.flatten(),
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decodes_like_the_derive_and_keeps_unknown_fields_raw() {
        let response: ResponsesResponse = serde_json::from_str(
            r#"{"id":"r1","model":null,"output":[],"usage":{"input_tokens":3,"output_tokens_details":{"reasoning_tokens":2},"cost": {"x": 1}},"created_at":7}"#,
        )
        .unwrap();
        assert_eq!(response.id, "r1");
        assert_eq!(response.model, None);
        let usage = response.usage.as_ref().unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (3, 0));
        assert_eq!(usage.extra.get("cost").unwrap().get(), r#"{"x": 1}"#);
        assert_eq!(
            response.extra.get_as::<u64>("created_at").unwrap().unwrap(),
            7
        );
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"id":"r1","output":[],"usage":{"input_tokens":3,"output_tokens":0,"total_tokens":0,
                "output_tokens_details":{"reasoning_tokens":2},"cost":{"x":1}},"created_at":7})
        );
        assert!(serde_json::from_str::<ResponsesResponse>(r#"{"id":"a","id":"b"}"#).is_err());
        assert!(serde_json::from_str::<ResponsesResponse>(r#"{"output":null}"#).is_err());
    }
}
