-- 0015: the event of a share that waited `unresolved` (its recipient an Ethereum address nobody had
-- registered, migration 0011) and found its node: it moves to `queued` with the PeerId as recipient.
-- Written by a trigger in the transaction of that change, as the other events of migration 0012.

CREATE TRIGGER events_share_resolved AFTER UPDATE OF state ON shares
  WHEN OLD.state = 'unresolved' AND NEW.state = 'queued'
BEGIN
  INSERT INTO events (type, at, data) VALUES ('share.resolved', CAST(unixepoch('subsec') * 1000 AS INTEGER),
    json_object('share_id', NEW.share_id, 'direction', NEW.direction, 'data_hash', NEW.data_hash,
      'sender', NEW.sender, 'recipient', NEW.recipient, 'recipient_label', NEW.recipient_label,
      'tier', NEW.tier, 'state', NEW.state, 'attempts', NEW.attempts, 'expires_ms', NEW.expires_ms));
END;
