/**
 * The crypto adapter's public surface: Fernet, RSA-PSS, RSA-OAEP, the key ring, the hybrid share
 * envelope, the replay guard and node certificates. Errors: errors.ts.
 */
export { fromStandardBase64, fromUrlsafeBase64, toUrlsafeBase64 } from './base64.ts'
export {
  createCaCertificate,
  createNodeCsr,
  issueNodeCertificate,
  type ParsedCsr,
  parseNodeCsr
} from './cert-authority.ts'
export * from './constants.ts'
export { type DatamgmtKeyFile, importDatamgmtKeyFile, readDatamgmtKeyFile } from './datamgmt-import.ts'
export {
  type OpenEnvelopeOptions,
  openEnvelope,
  openEnvelopeAsync,
  peekEnvelopeHeader,
  type SealEnvelopeInput,
  sealEnvelope,
  sealEnvelopeAsync
} from './envelope.ts'
export type { EnvelopeHeader } from './envelope-codec.ts'
export * from './errors.ts'
export {
  type FernetDecryptOptions,
  type FernetEncryptOptions,
  fernetDecrypt,
  fernetDecryptAny,
  fernetEncrypt,
  fernetRotate,
  fernetTimestamp,
  generateFernetKey
} from './fernet.ts'
export { KeyRing, type KeyRingHooks, type KeyVersionInfo } from './key-ring.ts'
export {
  type CreateKeyRingOptions,
  createKeyRing,
  type OpenKeyRingOptions,
  openKeyRing
} from './key-ring-open.ts'
export {
  destroyRetiredVersions,
  type KeyRingReport,
  type KeyVersionStatus,
  keyRingStatus,
  type RewrapOptions,
  type RewrapProgress,
  type RewrapResult,
  rewrapRecords,
  type StoredRecords,
  setMinimumDecryptionVersion
} from './key-ring-records.ts'
export {
  createNodeCertificate,
  type CreateNodeCertificateInput,
  type ParsedNodeCertificate,
  parseNodeCertificate,
  type VerifyNodeCertificateOptions,
  verifyNodeCertificate
} from './node-certificate.ts'
export { type NonceStore, ReplayGuard, type ReplayGuardInit } from './replay-guard.ts'
export {
  generateRsaKeyPair,
  keyFingerprint,
  oaepUnwrap,
  oaepUnwrapAsync,
  oaepWrap,
  publicKeyPemOf,
  type RsaKeyPairPem,
  rsaKeyBits,
  signPss,
  signPssAsync,
  verifyPss
} from './rsa.ts'
export { lockKeyRing } from './key-ring-lock.ts'
export { KeyRingService, type KeyRingServiceInit, keyRingPath } from './key-ring-service.ts'
export { atomicWriteFileSync } from './atomic-file.ts'
