-- 0001: the first schema. Times are ISO-8601 UTC text unless named *_ms (Unix milliseconds).

-- Small facts about this node (contract address, identity fingerprints, ...).
CREATE TABLE node_state (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

-- Records at rest: always Fernet-encrypted under the key ring; key_version names the data key.
CREATE TABLE records (
  id          INTEGER PRIMARY KEY,
  data_hash   TEXT NOT NULL UNIQUE CHECK (length(data_hash) = 64),
  key_version INTEGER NOT NULL,
  ciphertext  BLOB NOT NULL,
  size_bytes  INTEGER NOT NULL CHECK (size_bytes >= 0),
  created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX records_key_version ON records (key_version);

-- Known peers: identity, how they are trusted, and health.
CREATE TABLE peers (
  peer_id          TEXT PRIMARY KEY,
  addresses        TEXT NOT NULL DEFAULT '[]',          -- JSON array of multiaddrs
  certificate_pem  TEXT,
  signing_key_fpr  TEXT,
  encryption_key_fpr TEXT,
  eth_address      TEXT,
  trust            TEXT NOT NULL DEFAULT 'unknown' CHECK (trust IN ('unknown', 'pinned', 'allowlisted', 'ca')),
  status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'denied')),
  last_seen_at     TEXT,
  latency_ms       REAL,
  successes        INTEGER NOT NULL DEFAULT 0,
  failures         INTEGER NOT NULL DEFAULT 0,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
) STRICT;
CREATE INDEX peers_eth_address ON peers (eth_address);

-- Shares sent and received. The envelope is kept until delivery so retries resend the same bytes.
CREATE TABLE shares (
  share_id        TEXT PRIMARY KEY,
  direction       TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  record_id       INTEGER NOT NULL REFERENCES records (id),
  data_hash       TEXT NOT NULL,
  sender          TEXT NOT NULL,                       -- PeerId
  recipient       TEXT NOT NULL,                       -- PeerId
  recipient_label TEXT,                                -- as the client named it (PeerId or 0x address)
  tier            TEXT NOT NULL CHECK (tier IN ('standard', 'high', 'maximum')),
  state           TEXT NOT NULL CHECK (state IN ('queued', 'delivering', 'delivered', 'failed', 'received')),
  envelope        BLOB,
  receipt         BLOB,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER,
  expires_ms      INTEGER,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX shares_data_hash ON shares (data_hash);
CREATE INDEX shares_due ON shares (state, next_attempt_ms);

-- Audit events waiting for, or done with, the chain. Written in the same transaction as the share.
CREATE TABLE outbox (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT NOT NULL,
  share_id    TEXT REFERENCES shares (share_id),
  payload     TEXT NOT NULL,                           -- canonical JSON
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'confirmed', 'failed')),
  tx_hash     TEXT,
  tx_nonce    INTEGER,
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_state ON outbox (state, id);

-- Local index of the audit contract's events; rebuilt from the chain by `dmn audit reindex`.
CREATE TABLE audit_events (
  id           INTEGER PRIMARY KEY,
  event_name   TEXT NOT NULL,
  share_id     TEXT,
  data_hash    TEXT,
  tx_hash      TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  log_index    INTEGER NOT NULL,
  args         TEXT NOT NULL,                          -- JSON
  UNIQUE (tx_hash, log_index)
) STRICT;
CREATE INDEX audit_events_data_hash ON audit_events (data_hash);

-- API keys: only a hash of the key is stored; the key itself is shown once.
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  key_hash     TEXT NOT NULL UNIQUE,
  name         TEXT NOT NULL,
  scopes       TEXT NOT NULL,                          -- JSON array
  created_at   TEXT NOT NULL,
  expires_at   TEXT,
  revoked_at   TEXT,
  last_used_at TEXT
) STRICT;

-- Replay guard: nonces seen per sender until their timestamp leaves the window.
CREATE TABLE nonces (
  sender     TEXT NOT NULL,
  nonce      TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  PRIMARY KEY (sender, nonce)
) STRICT, WITHOUT ROWID;
CREATE INDEX nonces_expiry ON nonces (expires_ms);

-- Security log: append-only, each row commits to the previous row's hash.
CREATE TABLE security_log (
  seq        INTEGER PRIMARY KEY,
  at         TEXT NOT NULL,
  kind       TEXT NOT NULL,
  detail     TEXT NOT NULL,                            -- canonical JSON
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE
) STRICT;
