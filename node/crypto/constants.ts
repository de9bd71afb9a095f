import { MAX_DATA_BYTES } from '../core/share.ts'

/** Constants of the crypto adapter, each with the reason or spec clause behind it. */

/** Fernet spec: the only defined version byte. */
export const FERNET_VERSION = 0x80
/** Fernet spec: version (1) + timestamp (8) + IV (16) + at least one AES block (16) + HMAC (32). */
export const FERNET_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32
/** Python cryptography's `_MAX_CLOCK_SKEW`: how far in the future a token may be dated under a TTL. */
export const FERNET_MAX_CLOCK_SKEW_SECONDS = 60

/** OWASP (2023) minimum for PBKDF2-HMAC-SHA256; the config schema enforces the same floor. */
export const MIN_PBKDF2_ITERATIONS = 600_000
/** The DataMgmt Node key file's fixed PBKDF2 iteration count (its key_manager.py). */
export const DATAMGMT_PBKDF2_ITERATIONS = 480_000

/** RSA sizes the node accepts for identity keys (config `crypto.signingKeyBits`, `crypto.encryptionKeyBits`). */
export const RSA_KEY_SIZES = [2048, 3072, 4096] as const
export type RsaKeySize = (typeof RSA_KEY_SIZES)[number]
export const DEFAULT_SIGNING_KEY_BITS: RsaKeySize = 3072
export const DEFAULT_ENCRYPTION_KEY_BITS: RsaKeySize = 4096

/**
 * Largest envelope accepted: 1 MiB of data, Fernet's block padding and framing (~100 bytes), a
 * 4096-bit wrapped key and signature (512 bytes each) and the header, rounded up generously.
 */
export const MAX_ENVELOPE_BYTES = MAX_DATA_BYTES + 16 * 1024

/** NIST SP 800-38D: 96-bit IVs are the recommended GCM nonce size; the tag is the full 128 bits. */
export const GCM_NONCE_BYTES = 12
export const GCM_TAG_BYTES = 16

/** Messages are fresh within 300 s either way unless `crypto.replayWindowSeconds` says otherwise. */
export const DEFAULT_REPLAY_WINDOW_SECONDS = 300
