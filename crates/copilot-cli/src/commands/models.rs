//! `models`: the models the user can call.

use copilot_api::ModelInfo;

use crate::cli::ModelsArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::table::Table;
use crate::output::{out, out_json};

/// Runs `models`.
pub async fn run(context: &Context, args: &ModelsArgs) -> Result<(), CliError> {
    let client = context.copilot_client()?;
    let models = client.list_models().await?;
    if args.json {
        // The wire entries as decoded (unknown fields included): at least `id` on every object.
        out_json(&models)
    } else {
        out(&models_table(&models))
    }
}

/// The models as a table: id, vendor, endpoints, context window, vision/tools flags, policy.
pub fn models_table(models: &[ModelInfo]) -> String {
    let mut table = Table::new([
        "ID",
        "VENDOR",
        "ENDPOINTS",
        "CONTEXT",
        "VISION",
        "TOOLS",
        "POLICY",
    ]);
    for model in models {
        let endpoints = match &model.supported_endpoints {
            Some(list) if !list.is_empty() => list
                .iter()
                .map(|e| e.as_str().trim_start_matches('/').to_owned())
                .collect::<Vec<_>>()
                .join(","),
            Some(_) => "-".to_owned(),
            None if model.is_embeddings() => "embeddings".to_owned(),
            None => "chat/completions".to_owned(),
        };
        let context_window = model
            .capabilities
            .limits
            .max_context_window_tokens
            .map_or_else(|| "-".to_owned(), |tokens| tokens.to_string());
        let supports = &model.capabilities.supports;
        let policy = model
            .policy
            .as_ref()
            .map_or_else(|| "-".to_owned(), |p| p.state.to_string());
        table.row([
            model.id.clone(),
            model
                .vendor
                .as_ref()
                .map_or_else(|| "-".to_owned(), |v| v.to_string()),
            endpoints,
            context_window,
            flag(supports.vision),
            flag(supports.tool_calls),
            policy,
        ]);
    }
    table.render()
}

fn flag(value: Option<bool>) -> String {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
    .to_owned()
}
