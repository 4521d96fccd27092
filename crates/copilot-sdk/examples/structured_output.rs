//! Asks for JSON that follows a schema and decodes it: `cargo run -p copilot-sdk --example structured_output`.

#[path = "support/mod.rs"]
pub mod support;

use copilot_sdk::{OutputSchema, SessionConfig};
use serde::Deserialize;
use serde_json::json;
use support::{BoxError, Target};

/// The answer's shape.
#[derive(Debug, Deserialize, PartialEq)]
pub struct CityFacts {
    /// The city.
    pub city: String,
    /// Its population.
    pub population: i64,
    /// Whether it is a capital.
    pub capital: bool,
}

/// Asks for facts about a city as JSON.
pub async fn run(target: &Target) -> Result<CityFacts, BoxError> {
    let client = target.user_client("octocat")?;
    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    let schema = OutputSchema::new(
        "city_facts",
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "population": {"type": "integer"},
                "capital": {"type": "boolean"}
            },
            "required": ["city", "population", "capital"],
            "additionalProperties": false
        }),
    );
    let facts: CityFacts = session
        .send_and_wait_json("Give me facts about Paris", schema)
        .await?;
    Ok(facts)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    let facts = run(&target).await?;
    println!("{facts:?}");
    Ok(())
}
