-- 0011: a share to an Ethereum address that no known peer and no identity record on chain binds yet
-- waits in the state 'unresolved' (its recipient column holds the address until the registry names
-- the PeerId). SQLite cannot change a CHECK constraint in place: shares is rebuilt with the new state.
--
-- outbox.share_id references shares, and foreign keys are on. Dropping shares counts each outbox row
-- that referenced it as a violation; with the check deferred to the commit, inserting the same rows
-- into the new shares counts them back, so the commit fails if (and only if) a row was lost.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE shares_copy AS SELECT * FROM shares;
DROP TABLE shares;

CREATE TABLE shares (
  share_id        TEXT PRIMARY KEY,
  direction       TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  record_id       INTEGER NOT NULL REFERENCES records (id),
  data_hash       TEXT NOT NULL,
  sender          TEXT NOT NULL,                       -- PeerId
  recipient       TEXT NOT NULL,                       -- PeerId; the 0x address while 'unresolved'
  recipient_label TEXT,                                -- as the client named it (PeerId or 0x address)
  tier            TEXT NOT NULL CHECK (tier IN ('standard', 'high', 'maximum')),
  state           TEXT NOT NULL CHECK (state IN ('unresolved', 'queued', 'delivering', 'delivered', 'failed', 'received')),
  envelope        BLOB,
  receipt         BLOB,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER,                             -- next delivery attempt; next registry look-up while 'unresolved'
  expires_ms      INTEGER,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
) STRICT;
INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, recipient_label, tier, state,
    envelope, receipt, attempts, next_attempt_ms, expires_ms, last_error, created_at, updated_at)
  SELECT share_id, direction, record_id, data_hash, sender, recipient, recipient_label, tier, state,
    envelope, receipt, attempts, next_attempt_ms, expires_ms, last_error, created_at, updated_at
  FROM shares_copy;
DROP TABLE shares_copy;

CREATE INDEX shares_data_hash ON shares (data_hash);
CREATE INDEX shares_due ON shares (state, next_attempt_ms);
