//! The command line: global options (each also read from an environment variable) and subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use copilot_http::{ClientIdentity, identity};

/// `copilot-rs`: sign in to GitHub, reach GitHub Copilot and call its models.
#[derive(Debug, Parser)]
#[command(name = "copilot-rs", version)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalOptions {
    /// GitHub web host for OAuth: `github.com`, a GHE.com tenant (`acme.ghe.com`) or a GitHub Enterprise
    /// Server (`github.example.com`), with or without `https://`.
    #[arg(
        long,
        global = true,
        env = "COPILOT_RS_GITHUB_URL",
        value_name = "URL",
        default_value = "https://github.com"
    )]
    pub github_url: String,

    /// GitHub REST API base (default derived from --github-url: api.github.com, api.TENANT.ghe.com or
    /// HOST/api/v3).
    #[arg(
        long,
        global = true,
        env = "COPILOT_RS_GITHUB_API_URL",
        value_name = "URL"
    )]
    pub github_api_url: Option<String>,

    /// Where credentials are stored (default: the platform config directory/copilot-rs).
    #[arg(long, global = true, env = "COPILOT_RS_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// OAuth client id for the device flow (default: the GitHub Copilot editor app).
    #[arg(long, global = true, env = "COPILOT_RS_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// Overrides the `Editor-Version` header (e.g. `vscode/1.104.3`), to answer a 466 "client not supported"
    /// without waiting for a release.
    #[arg(long, global = true, env = identity::env::EDITOR_VERSION, value_name = "NAME/VERSION")]
    pub editor_version: Option<String>,

    /// Overrides the `Editor-Plugin-Version` header (e.g. `copilot-chat/0.26.7`).
    #[arg(long, global = true, env = identity::env::EDITOR_PLUGIN_VERSION, value_name = "NAME/VERSION")]
    pub editor_plugin_version: Option<String>,

    /// Overrides the `User-Agent` header.
    #[arg(long, global = true, env = identity::env::USER_AGENT, value_name = "TEXT")]
    pub user_agent: Option<String>,

    /// Overrides the `Copilot-Integration-Id` header (default `copilot-developer-cli`).
    #[arg(long, global = true, env = identity::env::INTEGRATION_ID, value_name = "ID")]
    pub integration_id: Option<String>,

    /// Overrides `X-GitHub-Api-Version` on Copilot API calls (default 2025-05-01).
    #[arg(long, global = true, env = identity::env::COPILOT_API_VERSION, value_name = "DATE")]
    pub copilot_api_version: Option<String>,

    /// Overrides `X-GitHub-Api-Version` on Anthropic Messages calls (default 2026-06-01).
    #[arg(long, global = true, env = identity::env::MESSAGES_API_VERSION, value_name = "DATE")]
    pub messages_api_version: Option<String>,

    /// Overrides `X-GitHub-Api-Version` on the Copilot token exchange (default 2025-04-01).
    #[arg(long, global = true, env = identity::env::EXCHANGE_API_VERSION, value_name = "DATE")]
    pub exchange_api_version: Option<String>,

    /// A shared store for credentials, sessions, Copilot tokens and the gateway's API keys, instead of the
    /// config directory: `redis://…` / `rediss://…` or `postgres://…` (`?sslmode=require` for TLS). Every
    /// record is sealed with the key in `COPILOT_RS_STORE_KEY` (base64 of 32 bytes) or --store-key-file.
    /// The credential then comes from the store only (`GH_TOKEN` and the like are not read).
    #[arg(
        long,
        global = true,
        env = "COPILOT_RS_STORE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub store_url: Option<String>,

    /// With a Redis --store-url: the prefix of every key (default `copilot-rs`), to keep environments apart on
    /// one server. (On PostgreSQL choose a schema in the URL instead: `?options=-csearch_path%3Dname`.)
    #[arg(
        long,
        global = true,
        env = "COPILOT_RS_STORE_NAMESPACE",
        value_name = "PREFIX"
    )]
    pub store_namespace: Option<String>,

    /// A file holding the store's encryption key (base64 of 32 bytes); default: `COPILOT_RS_STORE_KEY`.
    #[arg(long, global = true, value_name = "FILE")]
    pub store_key_file: Option<PathBuf>,

    /// The account (user id) whose credential the commands use and `auth login` stores (default
    /// `default`); a gateway key bound to a user serves that account's login.
    #[arg(
        long,
        global = true,
        env = "COPILOT_RS_ACCOUNT",
        value_name = "NAME",
        default_value = copilot_sdk::DEFAULT_STORE_ACCOUNT
    )]
    pub account: String,

    /// Start the embedded mock GitHub + Copilot server in-process, auto-approving, and point everything at
    /// it (nothing is read from or written to the config directory).
    #[arg(long, global = true)]
    pub mock: bool,
}

impl GlobalOptions {
    /// The identity headers: the defaults with the `--editor-version`, `--editor-plugin-version`,
    /// `--user-agent`, `--integration-id` and `--*-api-version` overrides (or their `COPILOT_RS_*`
    /// variables) applied; blank values keep the default.
    pub fn identity(&self) -> ClientIdentity {
        ClientIdentity::default().overrides(|name| {
            match name {
                identity::env::EDITOR_VERSION => &self.editor_version,
                identity::env::EDITOR_PLUGIN_VERSION => &self.editor_plugin_version,
                identity::env::USER_AGENT => &self.user_agent,
                identity::env::INTEGRATION_ID => &self.integration_id,
                identity::env::COPILOT_API_VERSION => &self.copilot_api_version,
                identity::env::MESSAGES_API_VERSION => &self.messages_api_version,
                identity::env::EXCHANGE_API_VERSION => &self.exchange_api_version,
                _ => &None,
            }
            .clone()
        })
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in, show the sign-in state, sign out.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// List the models you can use.
    Models(ModelsArgs),
    /// Ask a model; streams the answer to stdout.
    Chat(ChatArgs),
    /// The whole flow against the embedded mock, step by step (always uses the mock; no network).
    Demo,
    /// Run an OpenAI- and Anthropic-compatible gateway to Copilot for other tools (until Ctrl-C).
    Serve(ServeArgs),
    /// Manage the gateway's API keys in the shared store (--store-url): every gateway on it accepts them.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key bound to a user (`--account`'s login serves it) and print it once on stdout.
    Add(KeysAddArgs),
    /// List the keys (digest prefix, user, label, limit, creation time); never the keys themselves.
    List(KeysListArgs),
    /// Remove a key, given the key itself or its SHA-256 (64 hex digits).
    Remove(KeysRemoveArgs),
}

/// `keys add` options.
#[derive(Debug, Args)]
pub struct KeysAddArgs {
    /// The user (token-store account) whose stored login serves the key.
    #[arg(long, value_name = "NAME")]
    pub user: String,
    /// A name for logs and listings (default: the user).
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// How many requests the key may have in flight on each gateway.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent: Option<u32>,
}

/// `keys list` options.
#[derive(Debug, Args)]
pub struct KeysListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `keys remove` options.
#[derive(Debug, Args)]
pub struct KeysRemoveArgs {
    /// The key, or its SHA-256 in hex (as `keys list --json` shows it).
    #[arg(value_name = "KEY_OR_SHA256")]
    pub key: String,
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The IP address to listen on. Anything but a loopback address needs --api-key or --keys-file.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub host: String,
    /// The port (0 picks a free one).
    #[arg(long, default_value_t = copilot_serve::DEFAULT_PORT)]
    pub port: u16,
    /// The key clients must send (`Authorization: Bearer` or `x-api-key`); generated when absent on
    /// loopback.
    #[arg(
        long,
        env = "COPILOT_RS_SERVE_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// A JSON keys file; keys bound to a `user` use that user's stored login (multi-user mode).
    #[arg(long, value_name = "FILE")]
    pub keys_file: Option<PathBuf>,
    /// Seconds to let open streams finish after Ctrl-C.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub drain_timeout: u64,
    /// With --store-url: seconds a key lookup in the shared store is trusted (a removed key stops within
    /// this time; 0 asks the store on every request).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub key_cache_secs: u64,
}

/// `auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in with the device flow (or store a token read from stdin with --with-token).
    Login(LoginArgs),
    /// Show who is signed in, the token kind, Copilot plan, API endpoint and Copilot token expiry.
    Status(StatusArgs),
    /// Remove the stored credential.
    Logout,
}

/// `auth login` options.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Do not offer to open the browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Read a GitHub token from stdin and store it instead of running the device flow.
    #[arg(long, conflicts_with = "no_browser")]
    pub with_token: bool,
}

/// `auth status` options.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `models` options.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `chat` options.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The model id (default: the models list's chat default).
    #[arg(long, short = 'm', value_name = "MODEL")]
    pub model: Option<String>,
    /// A system message sent before the conversation.
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
    /// Ask for the whole answer at once instead of a stream.
    #[arg(long)]
    pub no_stream: bool,
    /// Print exactly one JSON object with the answer at the end (nothing is streamed).
    #[arg(long)]
    pub json: bool,
    /// A soft budget in AI credits for the session: the turn that crosses it completes, later turns of
    /// a conversation are refused before anything is sent (0 refuses every turn).
    #[arg(long, value_name = "N", value_parser = parse_ai_credits)]
    pub max_ai_credits: Option<f64>,
    /// The prompt; `-` reads it from stdin. Without a prompt on a terminal, starts a conversation.
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,
}

/// `--max-ai-credits`: a finite, non-negative number of AI credits.
fn parse_ai_credits(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(credits) if credits.is_finite() && credits >= 0.0 => Ok(credits),
        _ => Err(format!(
            "`{text}` is not a number of AI credits (a finite number, 0 or more)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// The hints name `copilot_http::identity::env::OVERRIDES`; each must be an option of ours, read from
    /// that variable.
    #[test]
    fn every_identity_override_in_the_hints_is_an_option_with_its_variable() {
        let command = Cli::command();
        for (option, variable) in copilot_http::identity::env::OVERRIDES {
            let argument = command
                .get_arguments()
                .find(|argument| argument.get_long() == Some(option))
                .unwrap_or_else(|| panic!("--{option} is not an option"));
            assert_eq!(
                argument.get_env().and_then(|env| env.to_str()),
                Some(*variable),
                "--{option}"
            );
        }
    }
}
