/**
 * Environment variables understood by the node. Each setting has its `DMN_*` name and, where the
 * meaning is the same, the name DataMgmt Node (Python) uses, so an existing deployment's env file
 * keeps working. When both are set the `DMN_*` name wins.
 */

export type EnvKind = 'string' | 'number' | 'list'

export interface EnvBinding {
  readonly path: string
  readonly names: readonly string[]
  readonly kind: EnvKind
}

export const ENV_BINDINGS: readonly EnvBinding[] = [
  { path: 'dataDir', names: ['DMN_DATA_DIR', 'DATA_DIR'], kind: 'string' },
  { path: 'logLevel', names: ['DMN_LOG_LEVEL', 'LOG_LEVEL'], kind: 'string' },
  { path: 'masterPassword', names: ['DMN_MASTER_PASSWORD', 'KEY_MASTER_PASSWORD'], kind: 'string' },
  { path: 'masterPasswordFile', names: ['DMN_MASTER_PASSWORD_FILE'], kind: 'string' },
  { path: 'store.synchronous', names: ['DMN_STORE_SYNCHRONOUS'], kind: 'string' },
  { path: 'store.busyTimeoutMs', names: ['DMN_STORE_BUSY_TIMEOUT_MS'], kind: 'number' },
  { path: 'events.retentionHours', names: ['DMN_EVENTS_RETENTION_HOURS'], kind: 'number' },
  { path: 'crypto.pbkdf2Iterations', names: ['DMN_CRYPTO_PBKDF2_ITERATIONS'], kind: 'number' },
  { path: 'crypto.replayWindowSeconds', names: ['DMN_CRYPTO_REPLAY_WINDOW_SECONDS'], kind: 'number' },
  { path: 'crypto.signingKeyBits', names: ['DMN_CRYPTO_SIGNING_KEY_BITS'], kind: 'number' },
  { path: 'crypto.encryptionKeyBits', names: ['DMN_CRYPTO_ENCRYPTION_KEY_BITS'], kind: 'number' },
  { path: 'p2p.host', names: ['DMN_P2P_HOST', 'P2P_HOST'], kind: 'string' },
  { path: 'p2p.port', names: ['DMN_P2P_PORT', 'P2P_PORT'], kind: 'number' },
  { path: 'p2p.bootstrap', names: ['DMN_P2P_BOOTSTRAP', 'INITIAL_PEERS'], kind: 'list' },
  { path: 'p2p.maxConnections', names: ['DMN_P2P_MAX_CONNECTIONS'], kind: 'number' },
  { path: 'p2p.trust', names: ['DMN_P2P_TRUST'], kind: 'string' },
  { path: 'p2p.allowlist', names: ['DMN_P2P_ALLOWLIST'], kind: 'list' },
  { path: 'p2p.caCertificateFiles', names: ['DMN_P2P_CA_CERTIFICATE_FILES'], kind: 'list' },
  { path: 'p2p.certificateFile', names: ['DMN_P2P_CERTIFICATE_FILE'], kind: 'string' },
  { path: 'p2p.streamTimeoutMs', names: ['DMN_P2P_STREAM_TIMEOUT_MS'], kind: 'number' },
  { path: 'p2p.retryBaseMs', names: ['DMN_P2P_RETRY_BASE_MS'], kind: 'number' },
  { path: 'p2p.retryMaxMs', names: ['DMN_P2P_RETRY_MAX_MS'], kind: 'number' },
  { path: 'p2p.shareExpirySeconds', names: ['DMN_P2P_SHARE_EXPIRY_SECONDS'], kind: 'number' },
  { path: 'p2p.healthIntervalSeconds', names: ['DMN_P2P_HEALTH_INTERVAL_SECONDS'], kind: 'number' },
  { path: 'p2p.resolveIntervalMs', names: ['DMN_P2P_RESOLVE_INTERVAL_MS'], kind: 'number' },
  { path: 'p2p.deliveryConcurrency', names: ['DMN_P2P_DELIVERY_CONCURRENCY'], kind: 'number' },
  { path: 'p2p.batchMax', names: ['DMN_P2P_BATCH_MAX'], kind: 'number' },
  { path: 'p2p.batchWindowMs', names: ['DMN_P2P_BATCH_WINDOW_MS'], kind: 'number' },
  { path: 'p2p.limits.messagesPerSecond', names: ['DMN_P2P_LIMIT_MESSAGES_PER_SECOND'], kind: 'number' },
  { path: 'p2p.limits.bytesPerSecond', names: ['DMN_P2P_LIMIT_BYTES_PER_SECOND'], kind: 'number' },
  { path: 'p2p.limits.concurrentStreams', names: ['DMN_P2P_LIMIT_CONCURRENT_STREAMS'], kind: 'number' },
  { path: 'chain.rpcUrl', names: ['DMN_CHAIN_RPC_URL', 'CHAIN_RPC_URL', 'BLOCKCHAIN_URL'], kind: 'string' },
  { path: 'chain.privateKey', names: ['DMN_CHAIN_PRIVATE_KEY', 'PRIVATE_KEY'], kind: 'string' },
  {
    path: 'chain.contractAddress',
    names: ['DMN_CHAIN_CONTRACT_ADDRESS', 'CONTRACT_ADDRESS'],
    kind: 'string'
  },
  { path: 'chain.confirmations', names: ['DMN_CHAIN_CONFIRMATIONS'], kind: 'number' },
  { path: 'chain.mode', names: ['DMN_CHAIN_MODE'], kind: 'string' },
  { path: 'chain.batchSize', names: ['DMN_CHAIN_BATCH_SIZE'], kind: 'number' },
  { path: 'chain.batchIntervalSeconds', names: ['DMN_CHAIN_BATCH_INTERVAL_SECONDS'], kind: 'number' },
  { path: 'chain.fromBlock', names: ['DMN_CHAIN_FROM_BLOCK'], kind: 'number' },
  { path: 'chain.rpcTimeoutMs', names: ['DMN_CHAIN_RPC_TIMEOUT_MS'], kind: 'number' },
  { path: 'chain.pollIntervalMs', names: ['DMN_CHAIN_POLL_INTERVAL_MS'], kind: 'number' },
  { path: 'chain.maxBackoffMs', names: ['DMN_CHAIN_MAX_BACKOFF_MS'], kind: 'number' },
  { path: 'chain.resendAfterSeconds', names: ['DMN_CHAIN_RESEND_AFTER_SECONDS'], kind: 'number' },
  {
    path: 'chain.logAnchorIntervalSeconds',
    names: ['DMN_CHAIN_LOG_ANCHOR_INTERVAL_SECONDS'],
    kind: 'number'
  },
  { path: 'chain.maxInFlight', names: ['DMN_CHAIN_MAX_IN_FLIGHT'], kind: 'number' },
  { path: 'chain.checkIntervalSeconds', names: ['DMN_CHAIN_CHECK_INTERVAL_SECONDS'], kind: 'number' },
  { path: 'chain.lagWarnSeconds', names: ['DMN_CHAIN_LAG_WARN_SECONDS'], kind: 'number' },
  { path: 'chain.embeddedPort', names: ['DMN_CHAIN_EMBEDDED_PORT'], kind: 'number' },
  { path: 'api.internal.host', names: ['DMN_API_INTERNAL_HOST'], kind: 'string' },
  { path: 'api.internal.port', names: ['DMN_API_INTERNAL_PORT', 'INTERNAL_API_PORT'], kind: 'number' },
  { path: 'api.internal.rateLimit.perSecond', names: ['DMN_API_INTERNAL_RATE_PER_SECOND'], kind: 'number' },
  { path: 'api.internal.rateLimit.burst', names: ['DMN_API_INTERNAL_RATE_BURST'], kind: 'number' },
  {
    path: 'api.internal.rateLimit.addressPerSecond',
    names: ['DMN_API_INTERNAL_RATE_ADDRESS_PER_SECOND'],
    kind: 'number'
  },
  {
    path: 'api.internal.rateLimit.addressBurst',
    names: ['DMN_API_INTERNAL_RATE_ADDRESS_BURST'],
    kind: 'number'
  },
  { path: 'api.internal.allowedHosts', names: ['DMN_API_INTERNAL_ALLOWED_HOSTS'], kind: 'list' },
  { path: 'api.external.host', names: ['DMN_API_EXTERNAL_HOST', 'EXTERNAL_API_HOST'], kind: 'string' },
  {
    path: 'api.external.port',
    names: ['DMN_API_EXTERNAL_PORT', 'EXTERNAL_API_PORT', 'API_PORT'],
    kind: 'number'
  },
  { path: 'api.external.rateLimit.perSecond', names: ['DMN_API_EXTERNAL_RATE_PER_SECOND'], kind: 'number' },
  { path: 'api.external.rateLimit.burst', names: ['DMN_API_EXTERNAL_RATE_BURST'], kind: 'number' },
  {
    path: 'api.external.rateLimit.addressPerSecond',
    names: ['DMN_API_EXTERNAL_RATE_ADDRESS_PER_SECOND'],
    kind: 'number'
  },
  {
    path: 'api.external.rateLimit.addressBurst',
    names: ['DMN_API_EXTERNAL_RATE_ADDRESS_BURST'],
    kind: 'number'
  },
  { path: 'api.external.openAnchorReads', names: ['DMN_API_EXTERNAL_OPEN_ANCHOR_READS'], kind: 'string' },
  { path: 'api.trustedProxies', names: ['DMN_API_TRUSTED_PROXIES'], kind: 'list' },
  { path: 'api.bodyLimitBytes', names: ['DMN_API_BODY_LIMIT_BYTES'], kind: 'number' },
  { path: 'api.rateLimitMaxClients', names: ['DMN_API_RATE_LIMIT_MAX_CLIENTS'], kind: 'number' },
  {
    path: 'api.idempotencyRetentionHours',
    names: ['DMN_API_IDEMPOTENCY_RETENTION_HOURS'],
    kind: 'number'
  },
  { path: 'webhooks.retrySeconds', names: ['DMN_WEBHOOK_RETRY_SECONDS'], kind: 'number' },
  { path: 'webhooks.backoffBaseMs', names: ['DMN_WEBHOOK_BACKOFF_BASE_MS'], kind: 'number' },
  { path: 'webhooks.backoffMaxMs', names: ['DMN_WEBHOOK_BACKOFF_MAX_MS'], kind: 'number' },
  { path: 'webhooks.timeoutMs', names: ['DMN_WEBHOOK_TIMEOUT_MS'], kind: 'number' },
  { path: 'webhooks.concurrency', names: ['DMN_WEBHOOK_CONCURRENCY'], kind: 'number' },
  { path: 'webhooks.pollIntervalMs', names: ['DMN_WEBHOOK_POLL_INTERVAL_MS'], kind: 'number' },
  { path: 'attest.enabled', names: ['DMN_ATTEST_ENABLED'], kind: 'string' },
  { path: 'attest.tcti', names: ['DMN_ATTEST_TCTI'], kind: 'string' },
  { path: 'attest.akHandle', names: ['DMN_ATTEST_AK_HANDLE'], kind: 'string' },
  { path: 'attest.akAlgorithm', names: ['DMN_ATTEST_AK_ALGORITHM'], kind: 'string' },
  { path: 'attest.commandTimeoutMs', names: ['DMN_ATTEST_COMMAND_TIMEOUT_MS'], kind: 'number' },
  { path: 'attest.policyFile', names: ['DMN_ATTEST_POLICY_FILE'], kind: 'string' }
]

/** `DMN_*` names that are not settings but are read by the CLI or the wrapper. */
export const ENV_NON_SETTINGS: readonly string[] = ['DMN_CONFIG', 'DMN_VERBOSE']
