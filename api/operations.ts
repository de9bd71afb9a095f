import type { z } from '@hono/zod-openapi'
import type {
  AuditReader,
  CallOptions,
  ComplianceEvent,
  DataService,
  EventPosition,
  NetworkService,
  PeerView,
  ShareOptions,
  ShareService,
  ShareView
} from '../node/core/ports.ts'
import { ResourceNotFoundError } from '../node/core/ports.ts'
import { PaymentsNotImplementedError } from './errors.ts'
import { decodeCursor, encodeCursor } from './paging.ts'
import type { AnchorComplianceQuery } from './schemas/anchor.ts'
import { type ComplianceQuery, parseFilters } from './schemas/records.ts'
import type { ShareListQuery, ShareRequestBody } from './schemas/share.ts'

/**
 * What the anchor-compatible paths and `/v1` both do; each route only shapes the answer.
 */

/** Accepts a validated share body; payment fields, once validated, are refused with 501. */
export async function acceptShare(
  shares: ShareService,
  body: ShareRequestBody,
  options: ShareOptions
): Promise<ShareView> {
  if (body.payment_token !== undefined || body.payment_amount !== undefined) {
    throw new PaymentsNotImplementedError(
      'payments are not supported by this node yet; send the share without payment_token and payment_amount'
    )
  }
  return shares.share(
    { data: new TextEncoder().encode(body.data), recipient: body.recipient, tier: body.security_tier },
    options
  )
}

export async function readRecord(data: DataService, dataHash: string, options: CallOptions) {
  const found = await data.getByHash(dataHash, options)
  if (!found) throw new ResourceNotFoundError('data', 'Data not found')
  return found
}

// Share-list cursors of both APIs: one order, the shares' storage order.
const SHARE_CURSOR = 'shares'

/** A page of shares for a list query, with the cursor of the next page (null on the last). */
export async function sharePage(
  shares: ShareService,
  query: z.infer<typeof ShareListQuery>,
  options: CallOptions
) {
  const { state, limit, after } = query
  const position = after === undefined ? undefined : (decodeCursor(SHARE_CURSOR, after, ['n'])[0] as number)
  const page = await shares.listShares(
    { limit, ...(state ? { state } : {}), ...(position !== undefined ? { after: position } : {}) },
    options
  )
  return {
    shares: page.shares,
    next: page.nextAfter === null ? null : encodeCursor(SHARE_CURSOR, [page.nextAfter])
  }
}

export async function readShare(shares: ShareService, shareId: string, options: CallOptions) {
  const found = await shares.getShare(shareId, options)
  if (!found) throw new ResourceNotFoundError('share', 'Share not found')
  return found
}

export function verifyRecord(audit: AuditReader, dataHash: string, options: CallOptions) {
  return audit.verify(dataHash, options)
}

/** The evidence bundle of a data hash; 404 (`bundle`) when this node is party to no share of it. */
export async function exportBundle(audit: AuditReader, dataHash: string, options: CallOptions) {
  const bundle = await audit.bundle(dataHash, options)
  if (!bundle) throw new ResourceNotFoundError('bundle', 'This node is party to no share of this data hash')
  return bundle
}

/**
 * One page of `/v1/audit`: up to `limit` (100 unless given) events of the validated query older than
 * `after`, the filters it named, and whether more follow (one more is asked for to know).
 */
export async function complianceHistory(
  audit: AuditReader,
  query: ComplianceQuery,
  after: EventPosition | undefined,
  options: CallOptions
): Promise<{ events: readonly ComplianceEvent[]; filters: string[]; more: boolean }> {
  const filters = parseFilters(query.filters)
  const limit = query.limit ?? 100
  const events = await audit.complianceHistory(
    {
      eventTypes: filters,
      limit: limit + 1,
      ...(query.data_hash ? { dataHash: query.data_hash } : {}),
      ...(after ? { after } : {})
    },
    options
  )
  return { events: events.slice(0, limit), filters, more: events.length > limit }
}

export function listPeers(
  network: NetworkService,
  healthy: boolean | undefined,
  options: CallOptions
): Promise<readonly PeerView[]> {
  return network.peers(healthy === undefined ? {} : { healthy }, options)
}

/**
 * One page of the anchor's `/compliance_history`: up to `limit` events older than `after`, and
 * whether more follow (one more is asked for to know).
 */
export async function anchorComplianceHistory(
  audit: AuditReader,
  query: AnchorComplianceQuery,
  options: CallOptions
): Promise<{ events: readonly ComplianceEvent[]; more: boolean }> {
  const events = await audit.complianceHistory(
    {
      eventTypes: query.filters ?? [],
      limit: query.limit + 1,
      ...(query.data_hash ? { dataHash: query.data_hash } : {}),
      ...(query.after ? { after: query.after } : {})
    },
    options
  )
  return { events: events.slice(0, query.limit), more: events.length > query.limit }
}
