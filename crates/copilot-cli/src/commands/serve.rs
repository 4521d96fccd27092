//! `serve`: the OpenAI- and Anthropic-compatible gateway (copilot-serve) in the foreground until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use copilot_sdk::ClientPool;
use copilot_serve::{ApiKeys, Gateway, ServeConfig, ServeError, Upstream, generate_key};
use secrecy::ExposeSecret;

use crate::cli::ServeArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::note;

/// Runs `serve`.
pub async fn run(context: &Context, args: &ServeArgs) -> Result<(), CliError> {
    let ip = parse_host(&args.host)?;
    let mut keys = ApiKeys::new();
    if let Some(key) = &args.api_key {
        keys = keys
            .with_key(key.clone(), None::<String>, None)
            .map_err(usage)?;
    }
    if let Some(path) = &args.keys_file {
        keys = keys.extend(ApiKeys::load(path).map_err(usage)?);
    }
    let directory = context.shared.as_ref().map(|shared| shared.keys.clone());
    let mut generated = None;
    if keys.is_empty() && directory.is_none() {
        if !ip.is_loopback() {
            return Err(CliError::Usage(format!(
                "refusing to listen on {ip} without an API key: anyone who can reach it could use your \
                 Copilot subscription; pass --api-key or --keys-file"
            )));
        }
        let key = generate_key().map_err(usage)?;
        keys = ApiKeys::single(key.expose_secret().to_owned()).map_err(usage)?;
        generated = Some(key);
    }
    let upstream = if keys.has_users() || directory.is_some() {
        let mut pool = ClientPool::builder()
            .host(context.host.clone())
            .transport(context.transport.clone())
            .identity(context.identity.clone())
            .token_store(context.store.clone())
            .refresher(Arc::new(context.refresher()));
        if let Some(shared) = &context.shared {
            // Every gateway on the store exchanges once per user between them.
            pool = pool.shared_token_caches(shared.caches.clone());
        }
        Upstream::Pool(pool.build()?)
    } else {
        let client = context.copilot_client()?;
        // Fail now, not on the first request, when nobody is signed in.
        client.start().await?;
        Upstream::Client(client)
    };
    let mut config = ServeConfig::new(keys)
        .bind(SocketAddr::new(ip, args.port))
        .drain_timeout(Duration::from_secs(args.drain_timeout));
    if let Some(directory) = directory {
        config = config
            .key_directory(directory)
            .key_cache_ttl(Duration::from_secs(args.key_cache_secs));
    }
    let gateway = Gateway::new(config, upstream).map_err(usage)?;
    let running = gateway.start().await.map_err(|e| match e {
        ServeError::Listen { addr, source } => {
            CliError::Usage(format!("cannot listen on {addr}: {source}"))
        }
        other => usage(other),
    })?;
    let base = running.base_url();
    let key = generated
        .as_ref()
        .map_or("<your API key>", |k| k.expose_secret());
    note(&format!("copilot-rs gateway listening on {base}"));
    if generated.is_some() {
        note("no --api-key given: generated one for this run (pass --api-key to keep it stable)");
    }
    if let Some(shared) = &context.shared {
        note(&format!(
            "  keys, logins and Copilot tokens shared through {} (add a key: copilot-rs keys add --user NAME)",
            shared.location
        ));
    }
    note(&format!(
        "  OpenAI clients:    OPENAI_BASE_URL={base}/v1 OPENAI_API_KEY={key}"
    ));
    note(&format!(
        "  Anthropic clients: ANTHROPIC_BASE_URL={base} ANTHROPIC_API_KEY={key}"
    ));
    note("Press Ctrl-C to stop (open streams are allowed to finish).");
    super::ctrl_c().await;
    note("stopping: waiting for open streams to finish");
    running.shutdown().await.map_err(usage)
}

fn parse_host(host: &str) -> Result<IpAddr, CliError> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| CliError::Usage(format!("--host {host}: not an IP address")))
}

fn usage(error: ServeError) -> CliError {
    CliError::Usage(error.to_string())
}
