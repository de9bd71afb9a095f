import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import type { ApiEnv } from '../../context.ts'
import type { InternalApiPorts } from '../../deps.ts'
import { ErrorSchema } from '../../schemas/common.ts'
import { internalEdgeResponses, KeyRingStatusSchema } from '../../schemas/internal.ts'

const RotatedSchema = z.object({ primary_version: z.number().int() }).openapi('KeyRingRotated')
const RewrappedSchema = z
  .object({ rewrapped: z.number().int(), primary_version: z.number().int() })
  .openapi('KeyRingRewrapped')

/** `/keyring`: status, rotate, rewrap. Rotation and rewrap go to the security log and the event bus. */
export function registerKeyRingRoutes(app: OpenAPIHono<ApiEnv>, ports: InternalApiPorts) {
  const tags = ['key ring']
  app.openapi(
    createRoute({
      method: 'get',
      path: '/keyring',
      operationId: 'getKeyRing',
      tags,
      summary: 'Key versions, records per version, identity key ids',
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: KeyRingStatusSchema } }, description: 'status' }
      }
    }),
    async (c) => {
      const s = await ports.keyRing.status({ signal: c.req.raw.signal })
      return c.json(
        {
          primary_version: s.primaryVersion,
          minimum_version: s.minimumVersion,
          versions: s.versions.map((v) => ({
            version: v.version,
            created_at: v.createdAt,
            retired: v.retired
          })),
          records_by_version: { ...s.recordsByVersion },
          signing_key_id: s.signingKeyId,
          encryption_key_id: s.encryptionKeyId
        },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/keyring/rotate',
      operationId: 'rotateKeyRing',
      tags,
      summary: 'Add a data key version and make it primary',
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: RotatedSchema } }, description: 'rotated' },
        503: { content: { 'application/json': { schema: ErrorSchema } }, description: 'unavailable' }
      }
    }),
    async (c) => {
      const { primaryVersion } = await ports.keyRing.rotate({ signal: c.req.raw.signal })
      const detail = { primary_version: primaryVersion, client: c.get('clientAddress') }
      ports.securityLog.append('key.rotated', detail)
      return c.json({ primary_version: primaryVersion }, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/keyring/rewrap',
      operationId: 'rewrapKeyRing',
      tags,
      summary: 'Re-encrypt stored records under the primary key',
      responses: {
        ...internalEdgeResponses,
        200: { content: { 'application/json': { schema: RewrappedSchema } }, description: 'rewrapped' }
      }
    }),
    async (c) => {
      const r = await ports.keyRing.rewrap({ signal: c.req.raw.signal })
      const detail = { rewrapped: r.rewrapped, primary_version: r.primaryVersion }
      ports.securityLog.append('key.rewrapped', { ...detail, client: c.get('clientAddress') })
      return c.json(detail, 200)
    }
  )
}
