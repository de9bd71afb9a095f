-- 0007: what a chain reset leaves behind. When the chain the node wrote to is reset or replaced
-- (a new genesis, another chain id, the contract gone), the events it had confirmed there are no
-- evidence any more: they go back to the queue, marked with the time of the reset, and the
-- transactions that carried them keep their history in the state 'chain_reset'.

ALTER TABLE outbox ADD COLUMN chain_reset_at TEXT;      -- last reset that took this event's confirmation away

-- SQLite cannot change a CHECK constraint in place: chain_txs is rebuilt with the new state.
CREATE TABLE chain_txs_new (
  id           INTEGER PRIMARY KEY,
  job          TEXT NOT NULL,                          -- 'outbox:<id>', 'batch:<id>', 'log:<seq>'
  nonce        INTEGER NOT NULL,
  tx_hash      TEXT NOT NULL UNIQUE,
  raw          TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('sent', 'confirmed', 'dropped', 'reverted', 'chain_reset')),
  block_number INTEGER,
  block_hash   TEXT,
  sent_ms      INTEGER NOT NULL,
  updated_at   TEXT NOT NULL
) STRICT;
INSERT INTO chain_txs_new (id, job, nonce, tx_hash, raw, state, block_number, block_hash, sent_ms, updated_at)
  SELECT id, job, nonce, tx_hash, raw, state, block_number, block_hash, sent_ms, updated_at FROM chain_txs;
DROP TABLE chain_txs;
ALTER TABLE chain_txs_new RENAME TO chain_txs;
CREATE INDEX chain_txs_state ON chain_txs (state, id);
-- Every transaction of a job, to check them all before the job is sent again.
CREATE INDEX chain_txs_job ON chain_txs (job, id);
-- Confirmed transactions at or above the account's nonce on chain: those the chain lost.
CREATE INDEX chain_txs_state_nonce ON chain_txs (state, nonce);
