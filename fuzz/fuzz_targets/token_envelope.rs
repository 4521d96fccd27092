//! The `copilot_internal/v2/token` envelope: `CopilotToken::from_json` on arbitrary bytes, for github.com and a
//! GHE.com tenant. Must never panic; a decoded token must answer every accessor.

#![no_main]

use std::time::{Duration, SystemTime};

use copilot_http::GitHubHost;
use copilot_token::{CopilotToken, TokenFields};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fetched_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let hosts = [
        GitHubHost::github_com(),
        GitHubHost::ghe_com("acme").expect("a valid tenant"),
    ];
    for host in &hosts {
        if let Ok(token) = CopilotToken::from_json(data, fetched_at, host) {
            let _ = token.refresh_at(Duration::from_secs(60));
            let _ = token.is_expired(fetched_at);
            let _ = (token.base_url(), token.endpoints(), token.sku(), token.chat_enabled());
            let _ = (token.organization_list(), token.user_notification());
            let _ = (token.limited_user_quotas(), token.extra(), token.is_partial());
            let _ = token.fields().exp();
            let _ = format!("{token:?}");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let fields = TokenFields::parse(text);
        let _ = (fields.tid(), fields.exp(), fields.sku(), fields.proxy_ep());
    }
});
