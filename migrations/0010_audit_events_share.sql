-- 0010: a share's audit state is read with its attributed events (node/store/shares.ts joins
-- audit_events by share id for every share it lists); without this index each lookup scans the
-- whole event index.
CREATE INDEX audit_events_share ON audit_events (share_id, event_name);
