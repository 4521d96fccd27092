//! Well-known OAuth client ids.
//!
//! Any client id works with [`DeviceFlow`](crate::DeviceFlow); prefer your own app. The ids below belong to
//! other products: using them presents *their* identity to GitHub ("borrowed identities").
//! Several projects refuse code that does this, and GitHub may change or restrict them at any time. They are
//! listed because the Copilot token exchange only accepts tokens minted by allow-listed apps.

/// The GitHub Copilot GitHub App used by the Copilot editor plugins (copilot.vim, the Copilot language
/// server, VS Code Copilot). Mints `ghu_` tokens; the de-facto device-flow client id for the token
/// exchange, with scope `read:user`. A borrowed identity.
pub const COPILOT_EDITOR_CLIENT_ID: &str = "Iv1.b507a08c87ecfe98";

/// VS Code's built-in GitHub authentication OAuth App. Mints `gho_` tokens the exchange accepts. Its
/// device-flow use is claimed by some scripts but unverified; its web flow redirects through VS Code's
/// infrastructure and is unusable for others. A borrowed identity.
pub const VSCODE_CLIENT_ID: &str = "01ab8ac9400c4e429b23";

/// The Copilot for JetBrains GitHub App (`ghu_` tokens; seen as a key in editors' `apps.json`). A borrowed
/// identity.
pub const JETBRAINS_COPILOT_CLIENT_ID: &str = "Iv23ctfURkiMfJ4xr5mv";
