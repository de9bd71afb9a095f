-- 0013: webhook subscriptions. Each delivers the event log (after `cursor`) to `url`, in order, one
-- event in flight at a time. `cursor` moves only after the receiver answered 2xx, so a crash re-sends
-- the same event (at least once). While an event keeps failing, `failing_event_id`, `failing_since`,
-- `attempts` and `next_attempt_at` say where the retries stand; past the retry window the state is
-- `failed` and they stay, with `last_error`, until the operator resumes.
CREATE TABLE webhook_subscriptions (
  id               TEXT PRIMARY KEY,                  -- wh_ + 16 hex
  url              TEXT NOT NULL,
  event_types      TEXT NOT NULL,                     -- JSON array of type prefixes; [] = every event
  secret           TEXT NOT NULL,                     -- whsec_ + base64 of the signing key
  state            TEXT NOT NULL CHECK (state IN ('active', 'paused', 'failed')),
  cursor           INTEGER NOT NULL,                  -- events up to this id are delivered or not for it (filter, creation)
  failing_event_id INTEGER,
  failing_since    INTEGER,                           -- unix ms of the first failed attempt of that event
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,                           -- unix ms
  last_error       TEXT,
  last_delivered_at INTEGER,                          -- unix ms
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
) STRICT;
