-- 0016: the outbox rows of one share, found by an index rather than a scan of the whole outbox. The
-- sender answers each recipient's evidence request (/dmn/evidence/1.0.0) from its share's rows, and
-- a node that has sent many shares of one data hash must not read them all for each answer.
CREATE INDEX outbox_share ON outbox (share_id, kind);
