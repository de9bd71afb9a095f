-- 0017: the inbound shares still waiting for their receipt's audit: received (shares, direction
-- 'in') and no receipt anchor of theirs attributed yet (a ReceiptAnchored event, or a leaf of the
-- sender's batch carrying the receipt's hash, whose sender node/audit filled in). The recipient's
-- watchers (node/audit/inbound-watcher.ts, inbound-evidence.ts, inbound-index.ts) ask for them every
-- poll; answered from shares and audit_events, each ask read every inbound share ever received and
-- probed the event index for each. The triggers below keep the table exact in the transaction of
-- every change that moves a share in or out of it, whatever the write path (the node, the CLI, a
-- migration); node/store/inbound-audit.ts lists them and the store refuses to start without one.
--
-- A receipt anchor counts as RECEIPT_EVENT in node/store/inbound-audit.ts says: event_name
-- 'ReceiptAnchored', or 'BatchLeaf' with a receipt_hash; attributed when its sender is not null.

CREATE TABLE inbound_audit_pending (
  share_id   TEXT PRIMARY KEY,                         -- shares.share_id of an inbound share
  created_at TEXT NOT NULL                             -- the share's created_at (ISO-8601)
) STRICT;
-- Read newest first within a window of time.
CREATE INDEX inbound_audit_pending_created ON inbound_audit_pending (created_at DESC, share_id);

INSERT INTO inbound_audit_pending (share_id, created_at)
  SELECT s.share_id, s.created_at FROM shares s
  WHERE s.direction = 'in'
    AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.share_id = s.share_id
      AND (a.event_name = 'ReceiptAnchored' OR (a.event_name = 'BatchLeaf' AND a.receipt_hash IS NOT NULL))
      AND a.sender IS NOT NULL);

-- A share received waits, unless its receipt's anchor was indexed and attributed before it.
CREATE TRIGGER inbound_pending_share_received AFTER INSERT ON shares WHEN NEW.direction = 'in'
BEGIN
  INSERT OR IGNORE INTO inbound_audit_pending (share_id, created_at)
    SELECT NEW.share_id, NEW.created_at
    WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.share_id = NEW.share_id
      AND (a.event_name = 'ReceiptAnchored' OR (a.event_name = 'BatchLeaf' AND a.receipt_hash IS NOT NULL))
      AND a.sender IS NOT NULL);
END;

-- No write path changes a share's id, direction or time; should one, its row follows.
CREATE TRIGGER inbound_pending_share_changed AFTER UPDATE OF share_id, direction, created_at ON shares
BEGIN
  DELETE FROM inbound_audit_pending WHERE share_id = OLD.share_id;
  INSERT OR IGNORE INTO inbound_audit_pending (share_id, created_at)
    SELECT NEW.share_id, NEW.created_at
    WHERE NEW.direction = 'in'
      AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.share_id = NEW.share_id
        AND (a.event_name = 'ReceiptAnchored' OR (a.event_name = 'BatchLeaf' AND a.receipt_hash IS NOT NULL))
        AND a.sender IS NOT NULL);
END;

CREATE TRIGGER inbound_pending_share_deleted AFTER DELETE ON shares WHEN OLD.direction = 'in'
BEGIN
  DELETE FROM inbound_audit_pending WHERE share_id = OLD.share_id;
END;

-- A receipt anchor indexed with its sender known (a batch leaf the sender's evidence gave) ends the wait.
CREATE TRIGGER inbound_pending_receipt_indexed AFTER INSERT ON audit_events
  WHEN NEW.share_id IS NOT NULL AND NEW.sender IS NOT NULL
    AND (NEW.event_name = 'ReceiptAnchored' OR (NEW.event_name = 'BatchLeaf' AND NEW.receipt_hash IS NOT NULL))
BEGIN
  DELETE FROM inbound_audit_pending WHERE share_id = NEW.share_id;
END;

-- Attribution (node/store/inbound-audit.ts sets the sender of an indexed event) ends the wait. The
-- other columns are listed too, though no write path changes them after the insert.
CREATE TRIGGER inbound_pending_receipt_attributed AFTER UPDATE OF event_name, share_id, receipt_hash, sender ON audit_events
  WHEN NEW.share_id IS NOT NULL AND NEW.sender IS NOT NULL
    AND (NEW.event_name = 'ReceiptAnchored' OR (NEW.event_name = 'BatchLeaf' AND NEW.receipt_hash IS NOT NULL))
BEGIN
  DELETE FROM inbound_audit_pending WHERE share_id = NEW.share_id;
END;

-- An attributed receipt anchor that stops being one (no write path does this today): its share waits
-- again unless another remains. AFTER the update the row reads as it is now.
CREATE TRIGGER inbound_pending_receipt_unattributed AFTER UPDATE OF event_name, share_id, receipt_hash, sender ON audit_events
  WHEN OLD.share_id IS NOT NULL AND OLD.sender IS NOT NULL
    AND (OLD.event_name = 'ReceiptAnchored' OR (OLD.event_name = 'BatchLeaf' AND OLD.receipt_hash IS NOT NULL))
BEGIN
  INSERT OR IGNORE INTO inbound_audit_pending (share_id, created_at)
    SELECT s.share_id, s.created_at FROM shares s
    WHERE s.share_id = OLD.share_id AND s.direction = 'in'
      AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.share_id = s.share_id
        AND (a.event_name = 'ReceiptAnchored' OR (a.event_name = 'BatchLeaf' AND a.receipt_hash IS NOT NULL))
        AND a.sender IS NOT NULL);
END;

-- An attributed receipt anchor forgotten (blocks the chain lost, or the index emptied for a rebuild):
-- its share waits again once no other remains. A row trigger of a DELETE sees the rows the statement
-- has not deleted yet, so a share with two is back only after its last.
CREATE TRIGGER inbound_pending_receipt_deleted AFTER DELETE ON audit_events
  WHEN OLD.share_id IS NOT NULL AND OLD.sender IS NOT NULL
    AND (OLD.event_name = 'ReceiptAnchored' OR (OLD.event_name = 'BatchLeaf' AND OLD.receipt_hash IS NOT NULL))
BEGIN
  INSERT OR IGNORE INTO inbound_audit_pending (share_id, created_at)
    SELECT s.share_id, s.created_at FROM shares s
    WHERE s.share_id = OLD.share_id AND s.direction = 'in'
      AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.share_id = s.share_id
        AND (a.event_name = 'ReceiptAnchored' OR (a.event_name = 'BatchLeaf' AND a.receipt_hash IS NOT NULL))
        AND a.sender IS NOT NULL);
END;
