-- 0006: TPM attestation keys the operator enrolled, one per peer. A maximum-tier share goes only to a
-- peer whose quote is signed by the AK enrolled here (never an AK the peer just made up).
CREATE TABLE attest_enrolments (
  peer_id        TEXT PRIMARY KEY,
  ak_fingerprint TEXT NOT NULL CHECK (length(ak_fingerprint) = 64),  -- sha256 hex of the SPKI DER
  ak_public_pem  TEXT NOT NULL,
  enrolled_at    TEXT NOT NULL
) STRICT;
