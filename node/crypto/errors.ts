import { DmnError } from '../core/errors.ts'

/**
 * Errors of the crypto core. Every failure has its own class with a stable `name`; callers and tests
 * match on `name` or `instanceof`, never on message text. Families share a base class so a caller
 * may catch "any invalid Fernet token" or "any envelope failure" at once.
 *
 * Fernet (all extend FernetInvalidTokenError):
 *   FernetMalformedTokenError  not url-safe base64 with correct padding
 *   FernetTruncatedTokenError  shorter than a minimal token, or a ciphertext that is not whole blocks
 *   FernetBadVersionError      first byte is not 0x80
 *   FernetBadMacError          HMAC-SHA256 does not match (wrong key or altered token)
 *   FernetExpiredTokenError    older than the TTL the caller asked for
 *   FernetFutureTokenError     timestamp more than the allowed clock skew ahead of now
 *   FernetBadPaddingError      MAC good but PKCS7 padding wrong (only a key holder can cause this)
 * FernetInvalidKeyError        the key is not 32 bytes of url-safe base64
 *
 * Signatures: SignatureInvalidError (also thrown by callers that require a valid signature),
 *   InvalidKeyError (a PEM that is not a usable key of the expected kind).
 *
 * Envelope (all extend EnvelopeError):
 *   EnvelopeTooLargeError, EnvelopeMalformedError, EnvelopeSignatureError,
 *   EnvelopeRecipientMismatchError, EnvelopeKeyMismatchError, EnvelopeDecryptError
 * Replay guard: StaleTimestampError, ReplayedNonceError
 *
 * Key ring (all extend KeyRingError): KeyRingNotFoundError, KeyRingExistsError,
 *   KeyRingWrongPasswordError, KeyRingCorruptError, KeyVersionUnknownError, KeyVersionRetiredError,
 *   KeyVersionDestroyedError, KeyVersionInUseError, KeyRingParameterError, KeyRingLockedError
 * Import: DatamgmtKeyFileError (unreadable or malformed file), DatamgmtWrongPasswordError
 *
 * Certificates (all extend CertificateInvalidError): CertificateMalformedError,
 *   CertificateSignatureError, CertificateExpiredError, CertificateNotYetValidError,
 *   CertificateUntrustedError, CertificateKeyUsageError, CsrInvalidError
 */

/** Base of every Fernet token failure. */
export class FernetInvalidTokenError extends DmnError {
  override name = 'FernetInvalidTokenError'
}
/** The token is not url-safe base64 (with padding). */
export class FernetMalformedTokenError extends FernetInvalidTokenError {
  override name = 'FernetMalformedTokenError'
}
/** Too short to be a token, or the ciphertext is not a whole number of AES blocks. */
export class FernetTruncatedTokenError extends FernetInvalidTokenError {
  override name = 'FernetTruncatedTokenError'
}
/** The version byte is not 0x80. */
export class FernetBadVersionError extends FernetInvalidTokenError {
  override name = 'FernetBadVersionError'
}
/** The HMAC does not match: another key, or the token was altered. */
export class FernetBadMacError extends FernetInvalidTokenError {
  override name = 'FernetBadMacError'
}
/** The token is older than the TTL. */
export class FernetExpiredTokenError extends FernetInvalidTokenError {
  override name = 'FernetExpiredTokenError'
}
/** The token's timestamp is too far in the future. */
export class FernetFutureTokenError extends FernetInvalidTokenError {
  override name = 'FernetFutureTokenError'
}
/** Authentic token whose plaintext padding is wrong (made by a broken encrypter holding the key). */
export class FernetBadPaddingError extends FernetInvalidTokenError {
  override name = 'FernetBadPaddingError'
}
/** A Fernet key that is not 32 bytes of url-safe base64. */
export class FernetInvalidKeyError extends DmnError {
  override name = 'FernetInvalidKeyError'
}

/** A signature does not verify. */
export class SignatureInvalidError extends DmnError {
  override name = 'SignatureInvalidError'
}
/** A PEM that is not a usable key of the expected kind and size. */
export class InvalidKeyError extends DmnError {
  override name = 'InvalidKeyError'
}

/** Base of every envelope failure. */
export class EnvelopeError extends DmnError {
  override name = 'EnvelopeError'
}
/** Larger than MAX_ENVELOPE_BYTES (or the caller's limit); refused before parsing. */
export class EnvelopeTooLargeError extends EnvelopeError {
  override name = 'EnvelopeTooLargeError'
}
/** Not a well-formed envelope of a known format version. */
export class EnvelopeMalformedError extends EnvelopeError {
  override name = 'EnvelopeMalformedError'
}
/** The sender's RSA-PSS signature over header, wrapped key and ciphertext does not verify. */
export class EnvelopeSignatureError extends EnvelopeError {
  override name = 'EnvelopeSignatureError'
}
/** The envelope is addressed to another node. */
export class EnvelopeRecipientMismatchError extends EnvelopeError {
  override name = 'EnvelopeRecipientMismatchError'
}
/** A key id in the header is not the fingerprint of the key used to open it. */
export class EnvelopeKeyMismatchError extends EnvelopeError {
  override name = 'EnvelopeKeyMismatchError'
}
/** The content key does not unwrap, or the content does not decrypt. */
export class EnvelopeDecryptError extends EnvelopeError {
  override name = 'EnvelopeDecryptError'
}

/** A message timestamp outside the replay window. */
export class StaleTimestampError extends DmnError {
  override name = 'StaleTimestampError'
}
/** A nonce this sender already used inside the window. */
export class ReplayedNonceError extends DmnError {
  override name = 'ReplayedNonceError'
}

/** Base of every key ring failure. */
export class KeyRingError extends DmnError {
  override name = 'KeyRingError'
}
/** No key ring file at the path. */
export class KeyRingNotFoundError extends KeyRingError {
  override name = 'KeyRingNotFoundError'
}
/** Create was asked for a path that already holds a key ring. */
export class KeyRingExistsError extends KeyRingError {
  override name = 'KeyRingExistsError'
}
/** The file is intact but the password does not unlock it. */
export class KeyRingWrongPasswordError extends KeyRingError {
  override name = 'KeyRingWrongPasswordError'
}
/** The file is not a key ring, or its content was altered or damaged. */
export class KeyRingCorruptError extends KeyRingError {
  override name = 'KeyRingCorruptError'
}
/** No data key of that version in the ring. */
export class KeyVersionUnknownError extends KeyRingError {
  override name = 'KeyVersionUnknownError'
}
/** The version is below the minimum decryption version. */
export class KeyVersionRetiredError extends KeyRingError {
  override name = 'KeyVersionRetiredError'
}
/** The version's key material was destroyed. */
export class KeyVersionDestroyedError extends KeyRingError {
  override name = 'KeyVersionDestroyedError'
}
/** Refused: stored items still depend on the version(s) (use force, or rewrap first). */
export class KeyVersionInUseError extends KeyRingError {
  override name = 'KeyVersionInUseError'
}
/** An out-of-range parameter (iterations below the minimum, a minimum version above the primary, ...). */
export class KeyRingParameterError extends KeyRingError {
  override name = 'KeyRingParameterError'
}

/** Another live process (a running node) holds the key ring's lock. */
export class KeyRingLockedError extends KeyRingError {
  override name = 'KeyRingLockedError'
}

/** A DataMgmt Node `encryption_keys.json` that cannot be read or has the wrong shape. */
export class DatamgmtKeyFileError extends DmnError {
  override name = 'DatamgmtKeyFileError'
}
/** The password does not unwrap the DataMgmt Node key file. */
export class DatamgmtWrongPasswordError extends DmnError {
  override name = 'DatamgmtWrongPasswordError'
}

/** Base of every certificate failure. */
export class CertificateInvalidError extends DmnError {
  override name = 'CertificateInvalidError'
}
/** Not a PEM X.509 node certificate with the node fields. */
export class CertificateMalformedError extends CertificateInvalidError {
  override name = 'CertificateMalformedError'
}
/** The issuer's signature over the certificate does not verify. */
export class CertificateSignatureError extends CertificateInvalidError {
  override name = 'CertificateSignatureError'
}
/** Past notAfter. */
export class CertificateExpiredError extends CertificateInvalidError {
  override name = 'CertificateExpiredError'
}
/** Before notBefore. */
export class CertificateNotYetValidError extends CertificateInvalidError {
  override name = 'CertificateNotYetValidError'
}
/** Issued by no CA the operator trusts. */
export class CertificateUntrustedError extends CertificateInvalidError {
  override name = 'CertificateUntrustedError'
}
/** A CA without cA/keyCertSign, or a node certificate without digitalSignature or marked as a CA. */
export class CertificateKeyUsageError extends CertificateInvalidError {
  override name = 'CertificateKeyUsageError'
}
/** A certificate signing request that does not parse or whose self-signature fails. */
export class CsrInvalidError extends CertificateInvalidError {
  override name = 'CsrInvalidError'
}
