-- copilot-rs gateway API keys: the key map of a fleet of `copilot-rs serve` instances.
-- A key is stored only as its SHA-256; the record (user, label, limit) is AES-256-GCM sealed by the application
-- (copilot-store-core), bound to the digest.

CREATE TABLE IF NOT EXISTS copilot_api_keys (
    digest     BYTEA       PRIMARY KEY CHECK (octet_length(digest) = 32),
    record     BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
