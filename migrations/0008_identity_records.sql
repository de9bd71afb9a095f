-- 0008: node identity records found on chain (NodeRegistered logs), each checked once. A row is a
-- cache of what the chain holds: `problem` is NULL for a valid record bound to its event, else why it
-- does not count. Rows of a replaced chain stay but are matched by block hash, so they never answer.
CREATE TABLE identity_records (
  tx_hash      TEXT NOT NULL,
  log_index    INTEGER NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash   TEXT NOT NULL,
  account      TEXT NOT NULL,                         -- the event's account topic, 0x + 40 hex, lower case
  peer_id      TEXT,                                  -- from a valid record; NULL when it does not count
  peer_id_hash TEXT NOT NULL,                         -- the event's peerIdHash topic, 64 hex
  record       TEXT NOT NULL,
  record_hash  TEXT NOT NULL,                         -- SHA-256 of record, 64 hex
  problem      TEXT,
  checked_at   TEXT NOT NULL,
  PRIMARY KEY (tx_hash, log_index)
) STRICT;
