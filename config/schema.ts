import { isIP } from 'node:net'
import { z } from 'zod'
import { ETH_ADDRESS_PATTERN, PEER_ID_PATTERN } from '../node/core/share.ts'

/**
 * The one schema of the node's configuration. Defaults live here and nowhere else; `loadConfig()`
 * layers a config file and the environment over them and validates the result with this schema.
 */

const port = z.number().int().min(0).max(65_535)
/** The libp2p port a node listens on unless configured otherwise. */
export const DEFAULT_P2P_PORT = 4001
const host = z.string().min(1)
const multiaddr = z.string().regex(/^\/(ip4|ip6|dns4|dns6|dns)\/[^/]+\/tcp\/\d+(\/p2p\/\w+)?$/, {
  message: 'expected a multiaddr such as /ip4/10.0.0.2/tcp/4001/p2p/<PeerId>'
})
// What may follow `Host:`: a name or an IP literal (IPv6 in brackets), with an optional port.
const HOST_WITH_PORT =
  /^(?:\[([0-9a-fA-F:.]+)\]|[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?)(?::(\d{1,5}))?$/
const hostWithPort = z.string().refine(
  (text) => {
    const match = HOST_WITH_PORT.exec(text)
    if (!match) return false
    const [, v6, portText] = match
    const port = Number(portText ?? 80)
    return (v6 === undefined || isIP(v6) === 6) && port >= 1 && port <= 65_535
  },
  {
    message: 'expected a host name or IP address with an optional :port, such as node1.lan or localhost:9000'
  }
)
const ethAddress = z
  .string()
  .regex(ETH_ADDRESS_PATTERN, { message: 'expected a 0x-prefixed 20-byte hex address' })

const rateLimit = (perSecond: number, burst: number) =>
  z
    .strictObject({
      /** Per API key. */
      perSecond: z.number().positive().default(perSecond),
      burst: z.number().int().positive().default(burst),
      /** Per client address, which every request draws from too; the key's rate when unset. */
      addressPerSecond: z.number().positive().optional(),
      addressBurst: z.number().int().positive().optional()
    })
    .prefault({})

export const configSchema = z.strictObject({
  /** Where the database, key ring and chain state live. */
  dataDir: z.string().min(1).default('./data'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Unlocks the key ring. No default on purpose: without it the node does not start. */
  masterPassword: z.string().min(1).optional(),
  /**
   * A file holding the master password instead (its one line; a final newline is dropped). A
   * relative path is taken in `$CREDENTIALS_DIRECTORY` when systemd sets it (`LoadCredential=`).
   */
  masterPasswordFile: z.string().min(1).optional(),

  store: z
    .strictObject({
      // FULL: a committed share survives power loss, which the outbox relies on.
      synchronous: z.enum(['FULL', 'NORMAL', 'EXTRA']).default('FULL'),
      busyTimeoutMs: z.number().int().min(0).default(5_000)
    })
    .prefault({}),

  events: z
    .strictObject({
      /** How long the event log keeps events (GET /events resumes within it); 7 days. */
      retentionHours: z.number().positive().default(168)
    })
    .prefault({}),

  crypto: z
    .strictObject({
      // OWASP 2023 guidance for PBKDF2-HMAC-SHA256 is >= 600,000 iterations.
      pbkdf2Iterations: z.number().int().min(600_000).default(600_000),
      replayWindowSeconds: z.number().int().min(1).max(3_600).default(300),
      signingKeyBits: z.union([z.literal(2048), z.literal(3072), z.literal(4096)]).default(3072),
      encryptionKeyBits: z.union([z.literal(2048), z.literal(3072), z.literal(4096)]).default(4096)
    })
    .prefault({}),

  p2p: z
    .strictObject({
      host: host.default('0.0.0.0'),
      port: port.default(DEFAULT_P2P_PORT),
      bootstrap: z.array(multiaddr).default([]),
      maxConnections: z.number().int().positive().default(100),
      trust: z.enum(['pin', 'allowlist', 'ca']).default('pin'),
      /** PeerIds the operator trusts up front (raised to `allowlisted`; the only peers in `allowlist` mode). */
      allowlist: z.array(z.string().regex(PEER_ID_PATTERN, { message: 'expected a PeerId' })).default([]),
      /** PEM files of consortium CA certificates; peers chaining to one are trusted as `ca`. */
      caCertificateFiles: z.array(z.string().min(1)).default([]),
      /** This node's CA-issued certificate (PEM file); a self-signed one is made at start otherwise. */
      certificateFile: z.string().min(1).optional(),
      streamTimeoutMs: z.number().int().min(100).default(30_000),
      retryBaseMs: z.number().int().min(10).default(1_000),
      retryMaxMs: z.number().int().min(10).default(300_000),
      // A share undeliverable for a day is marked failed, visibly, with its last error.
      shareExpirySeconds: z.number().int().min(1).default(86_400),
      healthIntervalSeconds: z.number().min(0.1).default(30),
      /** Between two look-ups, on chain, of the recipient of a share that waits `unresolved`. */
      resolveIntervalMs: z.number().int().min(10).default(30_000),
      deliveryConcurrency: z.number().int().min(1).max(256).default(8),
      /**
       * Batched delivery (README "Batched delivery"): most shares for one peer sealed, signed and
       * receipted as one batch. 1, the default, sends every share on its own.
       */
      batchMax: z.number().int().min(1).max(256).default(1),
      /** How long a due share waits for others to the same peer before a smaller batch (or it alone) goes. */
      batchWindowMs: z.number().int().min(0).max(10_000).default(10),
      limits: z
        .strictObject({
          messagesPerSecond: z.number().positive().default(200),
          bytesPerSecond: z
            .number()
            .int()
            .positive()
            .default(64 * 1024 * 1024),
          concurrentStreams: z.number().int().positive().default(8)
        })
        .prefault({})
    })
    .prefault({}),

  chain: z
    .strictObject({
      /** Any EVM JSON-RPC endpoint. Unset: the node runs its own local chain (anvil), kept in `<dataDir>/chain/`. */
      rpcUrl: z.url({ protocol: /^(https?|wss?)$/ }).optional(),
      privateKey: z
        .string()
        .regex(/^(0x)?[0-9a-fA-F]{64}$/, { message: 'expected a 32-byte hex private key' })
        .optional(),
      contractAddress: ethAddress.optional(),
      confirmations: z.number().int().min(0).max(64).default(1),
      mode: z.enum(['per-share', 'batch']).default('per-share'),
      batchSize: z.number().int().min(1).max(1024).default(64),
      batchIntervalSeconds: z.number().positive().default(30),
      /** Block the contract was deployed at: log queries start there (chain.json supplies it after `dmn chain deploy`). */
      fromBlock: z.number().int().min(0).optional(),
      rpcTimeoutMs: z.number().int().min(100).default(10_000),
      /** How often the publisher looks for work and follows transactions in flight. */
      pollIntervalMs: z.number().int().min(10).default(1_000),
      /** Longest wait between retries while the chain is unreachable. */
      maxBackoffMs: z.number().int().min(10).default(30_000),
      /** A transaction still in the pool after this long is replaced at a higher gas price. */
      resendAfterSeconds: z.number().positive().default(60),
      /** How often the security log's head is anchored (when it moved). */
      logAnchorIntervalSeconds: z.number().positive().default(300),
      /** Transactions the publisher keeps in flight at once (per-share events). */
      maxInFlight: z.number().int().min(1).max(256).default(16),
      /**
       * How often the publisher checks that the chain is still the one it wrote to (genesis hash,
       * chain id, contract code, the account's nonce): a handful of cheap calls each time.
       */
      checkIntervalSeconds: z.number().positive().default(10),
      /** Oldest unconfirmed audit event older than this: health degraded and a warning logged. */
      lagWarnSeconds: z.number().positive().default(300),
      /** Port of the embedded chain (anvil); 0 picks a free one. */
      embeddedPort: port.default(0)
    })
    .prefault({}),

  api: z
    .strictObject({
      internal: z
        .strictObject({
          host: host.default('127.0.0.1'),
          port: port.default(8080),
          rateLimit: rateLimit(50, 100),
          /**
           * Host names the internal API answers besides its own address (and localhost on loopback):
           * `name` at the bound port or `name:port` (an SSH tunnel's local port). Others are refused.
           */
          allowedHosts: z.array(hostWithPort).default([])
        })
        .prefault({}),
      external: z
        .strictObject({
          host: host.default('0.0.0.0'),
          port: port.default(8081),
          rateLimit: rateLimit(10, 20),
          /**
           * Answer the anchor's `/compliance_history`, `/network/stats` and `/network/peers` without
           * a key, as DataMgmt Node (Python) does. Off: they need a key with the `read` scope.
           */
          openAnchorReads: z.union([z.boolean(), z.stringbool()]).default(false)
        })
        .prefault({}),
      /** Addresses whose X-Forwarded-For is believed. None by default. */
      trustedProxies: z.array(z.ipv4().or(z.ipv6())).default([]),
      // 1 MiB of data plus JSON framing and the other fields.
      bodyLimitBytes: z.number().int().min(1_024).default(1_200_000),
      /** Most rate-limit buckets held per API; past it the least recently used client is forgotten. */
      rateLimitMaxClients: z.number().int().min(100).default(10_000),
      /** How long an `Idempotency-Key` and its answer are kept; at least a day, as clients are promised. */
      idempotencyRetentionHours: z.number().int().min(24).max(8_760).default(24)
    })
    .prefault({}),

  /** Webhook deliveries (README "Webhooks"). */
  webhooks: z
    .strictObject({
      /** How long an event is retried from its first failure before the subscription is failed. */
      retrySeconds: z.number().positive().default(86_400),
      /** Backoff: full jitter under min(max, base * 2^(attempt-1)). */
      backoffBaseMs: z.number().int().min(1).default(1_000),
      backoffMaxMs: z.number().int().min(1).default(600_000),
      /** Bound of one attempt (connect, send, answer). */
      timeoutMs: z.number().int().min(100).default(10_000),
      /** Attempts in flight at once, across subscriptions. */
      concurrency: z.number().int().min(1).max(256).default(8),
      /** How often the subscriptions are re-read, for changes `dmn webhooks` makes while the node runs. */
      pollIntervalMs: z.number().int().min(10).default(1_000)
    })
    .prefault({}),

  /** TPM attestation for the maximum tier (README "Maximum tier: TPM attestation"). */
  attest: z
    .strictObject({
      /** This node has a TPM and answers peers' attestation challenges with quotes (env: true/false, 1/0, yes/no). */
      enabled: z.union([z.boolean(), z.stringbool()]).default(false),
      /** tpm2-tools TCTI: the kernel resource manager, or `swtpm:host=127.0.0.1,port=2321` for swtpm. */
      tcti: z.string().min(1).default('device:/dev/tpmrm0'),
      /** Persistent handle of the attestation key (owner range), created on first start. */
      akHandle: z
        .string()
        .regex(/^0x81[0-7][0-9a-fA-F]{5}$/, {
          message: 'expected an owner persistent handle 0x81000000-0x817fffff'
        })
        .default('0x81010010'),
      akAlgorithm: z.enum(['rsassa', 'rsapss', 'ecdsa']).default('rsassa'),
      commandTimeoutMs: z.number().int().min(100).default(10_000),
      /** Known-good PCR baseline (JSON). Set: this node verifies recipients and may send maximum-tier shares. */
      policyFile: z.string().min(1).optional()
    })
    .prefault({})
})

export type Config = Readonly<z.infer<typeof configSchema>>
export type ConfigInput = z.input<typeof configSchema>

/** Paths of every secret-bearing field: shown as `[redacted]` and never logged. */
export const SECRET_PATHS: readonly string[] = ['masterPassword', 'chain.privateKey']
