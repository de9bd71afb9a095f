/** Constants of the audit trail, each with its reason. */

/** Balance given to the node's account on the embedded chain (1000 ETH): enough for any test run. */
export const EMBEDDED_BALANCE_WEI = 10n ** 21n

/** Key-ring secret that holds the node's Ethereum private key when none is configured. */
export const ETH_KEY_SECRET = 'ethereum-private-key'

/** The file, in the data directory, where `dmn chain deploy` records the contract. */
export const CHAIN_FILE = 'chain.json'

/**
 * The embedded chain's directory under the data directory: anvil's state, its last complete copy,
 * the pid file, and the node's record of the contract it deployed there (a `CHAIN_FILE` of its own).
 */
export const EMBEDDED_CHAIN_DIR = 'chain'

/** anvil's state file (`--state`): loaded at start, rewritten every interval and on SIGTERM. */
export const EMBEDDED_STATE_FILE = 'anvil-state.json'

/** The guard's last copy of the state file that parsed: anvil rewrites the file in place, not atomically. */
export const EMBEDDED_GOOD_STATE_FILE = 'anvil-state.good.json'

/** The genesis timestamp the embedded chain was first started with: its genesis block stays the same. */
export const EMBEDDED_GENESIS_TIME_FILE = 'genesis-timestamp'

/** The guard's pid file: finds an anvil left behind by a guard that was killed itself. */
export const EMBEDDED_PID_FILE = 'anvil.pid'

/** Seconds between anvil's state dumps: a crash loses at most this much of the chain. */
export const ANVIL_STATE_INTERVAL_SECONDS = 1

/**
 * How long health stays degraded after a chain reset was detected: long enough for monitoring that
 * polls every few minutes to see it, even when the node re-published everything within seconds.
 */
export const CHAIN_RESET_NOTICE_MS = 15 * 60 * 1000

/** eth_getLogs range per request: public endpoints commonly cap a query at a few thousand blocks. */
export const LOG_QUERY_BLOCK_SPAN = 5_000

/** Gas estimate head-room: state can change between estimate and inclusion. */
export const GAS_LIMIT_MARGIN_PERCENT = 20n

/** Gas-price raise of a replacement transaction; geth refuses replacements raised by less than 10%. */
export const REPLACEMENT_BUMP_PERCENT = 25n

/** Genesis `prev_hash` of the security log. */
export const LOG_GENESIS_HASH = '0'.repeat(64)

/** Outbox kinds. */
export const EVENT_KINDS = ['share', 'receipt', 'node'] as const
export type EventKind = (typeof EVENT_KINDS)[number]

/** How often the full event index reads the chain when nothing asks sooner. */
export const INDEX_SYNC_INTERVAL_MS = 30_000

/**
 * How long after receiving a share the recipient watches the chain for its anchors at the publisher's
 * poll interval (a sender that is up anchors within seconds; one that is down is met by the full
 * sync). After that, at INDEX_SYNC_INTERVAL_MS.
 */
export const INBOUND_WATCH_MS = 15 * 60_000

/** Inbound shares whose receipt anchor one `eth_getLogs` asks for (topic lists stay short). */
export const INBOUND_TOPIC_BATCH = 100

/** Inbound shares the recipient looks for on chain at once, newest first. */
export const INBOUND_MAX_OUTSTANDING = 1_000

/**
 * How often the recipient asks a share's sender for its evidence while the share is pending
 * (inbound-evidence.ts): a batch is anchored within `chain.batchIntervalSeconds` of its leaves, so
 * a few asks per default interval find it soon after, and a share costs at most
 * INBOUND_WATCH_MS / this many asks.
 */
export const INBOUND_ASK_INTERVAL_MS = 5_000

/**
 * How long the recipient waits for a share's sender to answer its evidence request: a sender that
 * is up answers in milliseconds, and one that is down must not hold a bundle or a watch round for
 * the whole stream deadline (`p2p.streamTimeoutMs`).
 */
export const SENDER_ASK_TIMEOUT_MS = 5_000
