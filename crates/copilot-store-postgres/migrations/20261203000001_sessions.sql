-- copilot-rs session store (feature `sessions`): copilot-sdk's persistent sessions.
-- Both values are AES-256-GCM sealed by the application (copilot-store-core); the database never sees a
-- conversation. Session locks are rows of copilot_leases named `session:<id>`.

CREATE TABLE IF NOT EXISTS copilot_sessions (
    id         TEXT        PRIMARY KEY,
    -- The sealed metadata (id, times, model, title, turns, cost), what listing reads.
    metadata   BYTEA       NOT NULL,
    -- The sealed record (history, events, settings).
    record     BYTEA       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
