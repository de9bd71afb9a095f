-- 0014: Idempotency-Key on the APIs' POSTs (api/middleware/idempotency.ts): the answer kept for each
-- key, scoped to the API key that sent it (or, without one, to the client's address), so one client
-- never reads another's answer. A request still running is known to the node's process only (one
-- process serves the APIs); a row is written once its answer is known. Rows older than the
-- retention are pruned.
CREATE TABLE idempotency_keys (
  scope       TEXT NOT NULL,                           -- '<api> key <api key id>' or '<api> client <address>'
  key         TEXT NOT NULL,                           -- the Idempotency-Key header, 1 to 255 printable ASCII
  fingerprint TEXT NOT NULL,                           -- SHA-256 hex of method, path and body bytes
  status      INTEGER NOT NULL,
  headers     TEXT NOT NULL,                           -- JSON object of the answer's replayed headers
  body        BLOB NOT NULL,
  created_ms  INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
