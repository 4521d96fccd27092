//! What a session has spent: tokens and Copilot's AI-credit cost, summed over every request it sent.

use copilot_api::{CopilotUsage, Usage};

/// A session's running totals, from [`Session::usage`](crate::Session::usage).
///
/// Every request counts: each model round of a turn (a tool loop sends several), whatever the endpoint (chat
/// completions, `/responses`, `/v1/messages`). Tokens are what the server reported (a request that reported
/// none adds none); the cost is Copilot's `copilot_usage` (1e9 nano-AIU = 1 AI credit). Sums saturate.
///
/// A resumed session starts from the cost it had saved ([`SessionMetadata::total_cost`]); its token counts
/// start at 0, as they are not saved.
///
/// [`SessionMetadata::total_cost`]: crate::SessionMetadata::total_cost
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SessionUsage {
    /// Requests sent to the model (one per model round).
    pub requests: u64,
    /// Prompt (input) tokens.
    pub prompt_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
    /// Prompt tokens served from the prompt cache (included in `prompt_tokens`).
    pub cached_tokens: u64,
    /// Reasoning tokens (included in `completion_tokens`).
    pub reasoning_tokens: u64,
    /// The AI-credit cost Copilot reported.
    pub cost: CopilotUsage,
}

impl SessionUsage {
    /// The cost in AI credits.
    pub fn credits(&self) -> f64 {
        self.cost.credits()
    }

    /// Totals that start from a saved cost in AI credits (negative or non-finite values count as 0).
    pub(crate) fn from_saved_credits(credits: f64) -> Self {
        // `as` saturates: NaN and negatives are 0, huge values u64::MAX.
        SessionUsage {
            cost: CopilotUsage::new((credits * 1e9).round() as u64),
            ..SessionUsage::default()
        }
    }

    /// Counts one request with what its answer reported.
    pub(crate) fn record(&mut self, usage: Option<&Usage>, cost: Option<&CopilotUsage>) {
        self.requests = self.requests.saturating_add(1);
        if let Some(usage) = usage {
            let add = |total: &mut u64, n: u64| *total = total.saturating_add(n);
            add(&mut self.prompt_tokens, usage.prompt_tokens);
            add(&mut self.completion_tokens, usage.completion_tokens);
            add(&mut self.cached_tokens, usage.cached_tokens().unwrap_or(0));
            add(
                &mut self.reasoning_tokens,
                usage.reasoning_tokens().unwrap_or(0),
            );
        }
        if let Some(cost) = cost {
            self.cost.add(cost);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_saturate_and_saved_credits_are_read_leniently() {
        let mut usage = SessionUsage::from_saved_credits(1.25);
        assert_eq!(usage.cost.total_nano_aiu, 1_250_000_000);
        usage.record(None, Some(&CopilotUsage::new(u64::MAX)));
        assert_eq!(usage.cost.total_nano_aiu, u64::MAX);
        assert_eq!(usage.requests, 1);
        for bad in [f64::NAN, -3.0] {
            assert_eq!(SessionUsage::from_saved_credits(bad).cost.total_nano_aiu, 0);
        }
        assert_eq!(
            SessionUsage::from_saved_credits(f64::INFINITY)
                .cost
                .total_nano_aiu,
            u64::MAX
        );
    }
}
