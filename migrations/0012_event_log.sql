-- 0012: the event log behind GET /events (and webhooks). Every event has a stable, increasing id
-- (AUTOINCREMENT: an id is never used twice, not even after pruning) and is written in the same
-- transaction as the state change it reports: the triggers below write it from the change itself,
-- so every write path (the node, the CLI, a migration) reports alike. Events that no table change
-- carries are appended by node/store/event-log.ts. Payloads are snake_case summaries: never
-- envelopes, receipts' bytes or secrets.

CREATE TABLE events (
  id    INTEGER PRIMARY KEY AUTOINCREMENT,
  type  TEXT NOT NULL,                                 -- share.accepted, audit.confirmed, security.<kind>, ...
  at    INTEGER NOT NULL,                              -- unix ms
  data  TEXT NOT NULL CHECK (json_valid(data))         -- JSON object
) STRICT;
-- Retention deletes by age.
CREATE INDEX events_at ON events (at);

-- Shares. An outgoing row is an accepted share whatever state it starts in; an incoming row is a
-- received one.
CREATE TRIGGER events_share_accepted AFTER INSERT ON shares WHEN NEW.direction = 'out'
BEGIN
  INSERT INTO events (type, at, data) VALUES ('share.accepted', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('share_id', NEW.share_id, 'direction', NEW.direction, 'data_hash', NEW.data_hash,
      'sender', NEW.sender, 'recipient', NEW.recipient, 'recipient_label', NEW.recipient_label,
      'tier', NEW.tier, 'state', NEW.state, 'attempts', NEW.attempts, 'expires_ms', NEW.expires_ms));
END;

CREATE TRIGGER events_share_received AFTER INSERT ON shares WHEN NEW.direction = 'in'
BEGIN
  INSERT INTO events (type, at, data) VALUES ('share.received', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('share_id', NEW.share_id, 'direction', NEW.direction, 'data_hash', NEW.data_hash,
      'sender', NEW.sender, 'recipient', NEW.recipient, 'tier', NEW.tier, 'state', NEW.state));
END;

CREATE TRIGGER events_share_delivered AFTER UPDATE OF state ON shares
  WHEN NEW.state = 'delivered' AND OLD.state IS NOT 'delivered'
BEGIN
  INSERT INTO events (type, at, data) VALUES ('share.delivered', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('share_id', NEW.share_id, 'direction', NEW.direction, 'data_hash', NEW.data_hash,
      'sender', NEW.sender, 'recipient', NEW.recipient, 'recipient_label', NEW.recipient_label,
      'tier', NEW.tier, 'state', NEW.state, 'attempts', NEW.attempts));
END;

-- An attempt that failed and will be retried: a claimed share goes back to the queue with the same
-- attempt count and a new error or due time. A share given back unsent (the attempt is not counted)
-- or one put back after a crash (nothing else changes) is no failure.
CREATE TRIGGER events_share_attempt_failed AFTER UPDATE OF state ON shares
  WHEN OLD.state = 'delivering' AND NEW.state = 'queued' AND NEW.attempts = OLD.attempts
    AND (NEW.last_error IS NOT OLD.last_error OR NEW.next_attempt_ms IS NOT OLD.next_attempt_ms)
BEGIN
  INSERT INTO events (type, at, data) VALUES ('share.delivery_failed', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('share_id', NEW.share_id, 'direction', NEW.direction, 'data_hash', NEW.data_hash,
      'sender', NEW.sender, 'recipient', NEW.recipient, 'recipient_label', NEW.recipient_label,
      'tier', NEW.tier, 'state', NEW.state, 'attempts', NEW.attempts, 'last_error', NEW.last_error,
      'next_attempt_ms', NEW.next_attempt_ms, 'final', json('false')));
END;

CREATE TRIGGER events_share_failed AFTER UPDATE OF state ON shares
  WHEN NEW.state = 'failed' AND OLD.state IS NOT 'failed'
BEGIN
  INSERT INTO events (type, at, data) VALUES ('share.delivery_failed', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('share_id', NEW.share_id, 'direction', NEW.direction, 'data_hash', NEW.data_hash,
      'sender', NEW.sender, 'recipient', NEW.recipient, 'recipient_label', NEW.recipient_label,
      'tier', NEW.tier, 'state', NEW.state, 'attempts', NEW.attempts, 'last_error', NEW.last_error,
      'next_attempt_ms', NULL, 'final', json('true')));
END;

-- Audit events (outbox rows: a share's or receipt's event, the node's registration; in batch mode
-- each row of a batch moves with its batch).
CREATE TRIGGER events_audit_sent AFTER UPDATE OF state, tx_hash ON outbox
  WHEN NEW.state = 'sent' AND (OLD.state IS NOT 'sent' OR OLD.tx_hash IS NOT NEW.tx_hash)
BEGIN
  INSERT INTO events (type, at, data) VALUES ('audit.sent', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('outbox_id', NEW.id, 'kind', NEW.kind, 'share_id', NEW.share_id, 'data_hash', NEW.data_hash,
      'batch_id', NEW.batch_id, 'state', NEW.state, 'tx_hash', NEW.tx_hash, 'attempts', NEW.attempts));
END;

CREATE TRIGGER events_audit_confirmed AFTER UPDATE OF state ON outbox
  WHEN NEW.state = 'confirmed' AND OLD.state IS NOT 'confirmed'
BEGIN
  INSERT INTO events (type, at, data) VALUES ('audit.confirmed', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('outbox_id', NEW.id, 'kind', NEW.kind, 'share_id', NEW.share_id, 'data_hash', NEW.data_hash,
      'batch_id', NEW.batch_id, 'state', NEW.state, 'tx_hash', NEW.tx_hash, 'block_number', NEW.block_number));
END;

-- A chain reset took a confirmation away (node/audit/chain-state.ts applyChainReset): the event is
-- queued again; tx_hash and block_number are those of the confirmation that is gone.
CREATE TRIGGER events_audit_chain_reset AFTER UPDATE OF chain_reset_at ON outbox
  WHEN NEW.chain_reset_at IS NOT NULL AND NEW.chain_reset_at IS NOT OLD.chain_reset_at
BEGIN
  INSERT INTO events (type, at, data) VALUES ('audit.chain_reset', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('outbox_id', NEW.id, 'kind', NEW.kind, 'share_id', NEW.share_id, 'data_hash', NEW.data_hash,
      'state', NEW.state, 'tx_hash', OLD.tx_hash, 'block_number', OLD.block_number,
      'last_error', NEW.last_error, 'chain_reset_at', NEW.chain_reset_at));
END;

-- A peer's certificate checked and recorded (node/p2p/trust.ts accept).
CREATE TRIGGER events_peer_verified AFTER UPDATE OF certificate_pem ON peers
  WHEN NEW.certificate_pem IS NOT NULL
BEGIN
  INSERT INTO events (type, at, data) VALUES ('peer.verified', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('peer_id', NEW.peer_id, 'trust', NEW.trust, 'status', NEW.status, 'eth_address', NEW.eth_address));
END;

-- Every security log row, as security.<kind>: its detail as recorded, and its place in the hash chain.
CREATE TRIGGER events_security AFTER INSERT ON security_log
BEGIN
  INSERT INTO events (type, at, data) VALUES ('security.' || NEW.kind, CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_set(CASE WHEN json_type(NEW.detail) = 'object' THEN NEW.detail ELSE json_object('detail', json(NEW.detail)) END,
      '$.log_seq', NEW.seq));
END;
