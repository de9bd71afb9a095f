-- 0009: in per-share mode a share's transaction is signed when the share is accepted, in the same
-- SQLite transaction, so its hash is known at once; the publisher broadcasts it later. Such a row
-- is recorded like any other (raw bytes, nonce) and waits for its first broadcast.
ALTER TABLE chain_txs ADD COLUMN awaiting_broadcast INTEGER NOT NULL DEFAULT 0 CHECK (awaiting_broadcast IN (0, 1));
