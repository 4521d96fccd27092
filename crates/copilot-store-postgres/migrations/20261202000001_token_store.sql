-- copilot-rs token store: sealed GitHub credentials, leases, shared Copilot tokens.
-- Values are AES-256-GCM sealed by the application (copilot-store-core); the database never sees a token.

CREATE TABLE IF NOT EXISTS copilot_credentials (
    host       TEXT        NOT NULL,
    account    TEXT        NOT NULL,
    -- Incremented by every write: the compare-and-set version.
    version    BIGINT      NOT NULL,
    sealed     BYTEA       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (host, account)
);

-- Row leases: one holder per name until expires_at (database clock), then anyone may take it over.
CREATE TABLE IF NOT EXISTS copilot_leases (
    name       TEXT        PRIMARY KEY,
    holder     TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- One shared Copilot token per identity, kept until it expires.
CREATE TABLE IF NOT EXISTS copilot_tokens (
    identity   TEXT        PRIMARY KEY,
    sealed     BYTEA       NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
