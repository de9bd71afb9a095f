-- 0014: Idempotency-Key on the APIs' POSTs (api/middleware/idempotency.ts). A key is claimed by a
-- 'pending' row before the request's work runs and holds the answer once it is 'done'; a key is
-- scoped to the API key that sent it (or, without one, to the client's address), so one client
-- never reads another's answer. Rows older than the retention are pruned.
CREATE TABLE idempotency_keys (
  scope       TEXT NOT NULL,                           -- '<api> key <api key id>' or '<api> client <address>'
  key         TEXT NOT NULL,                           -- the Idempotency-Key header, 1 to 255 printable ASCII
  fingerprint TEXT NOT NULL,                           -- SHA-256 hex of method, path and body bytes
  state       TEXT NOT NULL CHECK (state IN ('pending', 'done')),
  status      INTEGER,                                 -- the answer, once done
  headers     TEXT,                                    -- JSON object of the answer's replayed headers
  body        BLOB,
  created_ms  INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
