-- 0004: the audit trail's publisher state, batches, transactions in flight, a richer event index and
-- security-log anchors.

-- Outbox rows gain the audit leaf they stand for and, in batch mode, their place in a batch.
ALTER TABLE outbox ADD COLUMN data_hash TEXT;
ALTER TABLE outbox ADD COLUMN leaf TEXT;                 -- 64 hex: receipt hash or share-record hash
ALTER TABLE outbox ADD COLUMN batch_id INTEGER REFERENCES audit_batches (id);
ALTER TABLE outbox ADD COLUMN leaf_index INTEGER;
ALTER TABLE outbox ADD COLUMN block_number INTEGER;
ALTER TABLE outbox ADD COLUMN next_attempt_ms INTEGER;
-- One event of each kind per share: a hook called twice does not publish twice.
CREATE UNIQUE INDEX outbox_kind_share ON outbox (kind, share_id) WHERE share_id IS NOT NULL;
CREATE INDEX outbox_data_hash ON outbox (data_hash);
CREATE INDEX outbox_batch ON outbox (batch_id, leaf_index);

-- A batch: the Merkle root over a run of outbox leaves, anchored by one transaction.
CREATE TABLE audit_batches (
  id             INTEGER PRIMARY KEY,
  root           TEXT NOT NULL UNIQUE,                 -- 64 hex, RFC 9162 tree head
  count          INTEGER NOT NULL CHECK (count > 0),
  first_sequence INTEGER,                              -- fixed when first sent (the contract's sequence)
  state          TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'confirmed', 'failed')),
  tx_hash        TEXT,
  block_number   INTEGER,
  attempts       INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_batches_state ON audit_batches (state, id);

-- Every transaction the publisher signed, persisted before it is broadcast so a restart finds it.
CREATE TABLE chain_txs (
  id           INTEGER PRIMARY KEY,
  job          TEXT NOT NULL,                          -- 'outbox:<id>', 'batch:<id>', 'log:<seq>'
  nonce        INTEGER NOT NULL,
  tx_hash      TEXT NOT NULL UNIQUE,
  raw          TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('sent', 'confirmed', 'dropped', 'reverted')),
  block_number INTEGER,
  block_hash   TEXT,
  sent_ms      INTEGER NOT NULL,
  updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX chain_txs_state ON chain_txs (state, id);

-- The event index, rebuilt with the fields history queries filter on. It is derived data.
DROP TABLE audit_events;
CREATE TABLE audit_events (
  id             INTEGER PRIMARY KEY,
  event_name     TEXT NOT NULL,                        -- contract event, or BatchLeaf for a leaf of a batch
  share_id       TEXT,
  data_hash      TEXT,
  sender         TEXT,                                 -- PeerId, when known locally
  recipient      TEXT,
  sender_hash    TEXT,
  recipient_hash TEXT,
  tier           TEXT,
  timestamp_ms   INTEGER,
  receipt_hash   TEXT,
  root           TEXT,
  leaf_index     INTEGER NOT NULL DEFAULT -1,
  submitter      TEXT,
  tx_hash        TEXT NOT NULL,
  block_number   INTEGER NOT NULL,
  block_hash     TEXT,
  log_index      INTEGER NOT NULL,
  args           TEXT NOT NULL,                        -- JSON
  UNIQUE (tx_hash, log_index, leaf_index)
) STRICT;
CREATE INDEX audit_events_data_hash ON audit_events (data_hash);
CREATE INDEX audit_events_sender ON audit_events (sender_hash);
CREATE INDEX audit_events_recipient ON audit_events (recipient_hash);
CREATE INDEX audit_events_time ON audit_events (timestamp_ms);

-- Security-log heads the publisher anchored on chain.
CREATE TABLE security_log_anchors (
  seq          INTEGER PRIMARY KEY REFERENCES security_log (seq),
  head         TEXT NOT NULL,
  state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'confirmed')),
  tx_hash      TEXT,
  block_number INTEGER,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
) STRICT;
