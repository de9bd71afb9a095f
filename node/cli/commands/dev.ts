import { resolve } from 'node:path'
import type { Command } from 'commander'
import { UsageError } from '../../core/errors.ts'
import type { CliContext } from '../context.ts'
import { DevStackDegradedError, DevStackNotFoundError } from '../dev/errors.ts'
import { isStackDir, type StackDocument } from '../dev/layout.ts'
import { DEFAULT_NODES, devDown, devStatus, devUp, MAX_NODES } from '../dev/stack.ts'

/** Where a stack lives unless `--dir` says otherwise: beside the caller, like `./data`. */
const DEFAULT_DIR = './dev-stack'

function nodeCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_NODES)
    throw new UsageError(`--nodes must be a whole number from 1 to ${MAX_NODES}`)
  return n
}

function printStack(ctx: CliContext, stack: StackDocument, resumed: boolean): void {
  const dir = stack.dir
  ctx.print(
    `dev stack ${resumed ? 'started again' : 'up'} in ${dir}: ${stack.nodes.length} node${stack.nodes.length === 1 ? '' : 's'}`
  )
  ctx.print('')
  ctx.print(`chain         ${stack.chain.rpc_url} (anvil, chain id ${stack.chain.chain_id})`)
  ctx.print(`contract      ${stack.chain.contract_address}`)
  for (const node of stack.nodes) {
    ctx.print('')
    ctx.print(node.name)
    ctx.print(`  external API  ${node.external_url}`)
    ctx.print(`  internal API  ${node.internal_url}`)
    ctx.print(`  peer id       ${node.peer_id}`)
    ctx.print(`  eth address   ${node.eth_address}`)
    ctx.print(`  api key       ${node.api_key}  (${node.api_key_scopes.join(', ')})`)
    ctx.print(`  commands      dmn --env-file ${node.env_file} <command>`)
    ctx.print(`  log           ${node.log_file}`)
  }
  ctx.print('')
  ctx.print(`all of the above as JSON: ${dir}/stack.json; as shell variables: . ${dir}/stack.env`)
  ctx.print(
    `master password: ${stack.master_password_file} (generated for this stack, mode 0600: a development stack, not for production data)`
  )
  ctx.print(`try: curl -s -X POST ${stack.nodes[0]?.external_url}/share_data -H 'X-API-Key: <api key>' \\`)
  ctx.print(
    `       -H 'Content-Type: application/json' -d '{"data":"hello","recipient":"<eth address or peer id>"}'`
  )
  ctx.print(
    `stop: dmn dev down${dir === process.cwd() ? '' : ` --dir ${dir}`} (--keep keeps the data for the next \`dmn dev up\`)`
  )
}

/** `dmn dev up | status | down`: a local multi-node stack on one lasting chain. */
export function registerDevCommands(program: Command, ctx: CliContext): void {
  const dev = program
    .command('dev')
    .description('a local development stack: N nodes on one lasting local chain, in the background')

  dev
    .command('up')
    .description(
      `start N nodes (default ${DEFAULT_NODES}) and a chain in the background; again on a stopped stack, start it again`
    )
    .option('--nodes <n>', `how many nodes (1-${MAX_NODES}; default ${DEFAULT_NODES})`)
    .option('--dir <dir>', 'the stack directory, kept until `dmn dev down`', DEFAULT_DIR)
    .option('--json', 'print the stack document (stack.json) instead')
    .action(async (opts: { nodes?: string; dir: string; json?: boolean }) => {
      const nodes = nodeCount(opts.nodes)
      const { stack, resumed } = await devUp({
        dir: opts.dir,
        ...(nodes !== undefined ? { nodes } : {}),
        ...(opts.json ? {} : { onStep: (line: string) => process.stderr.write(`${line}\n`) })
      })
      if (opts.json) ctx.print(JSON.stringify(stack))
      else printStack(ctx, stack, resumed)
    })

  dev
    .command('status')
    .description("each part of the stack: pid alive, node health, the chain's block")
    .option('--dir <dir>', 'the stack directory', DEFAULT_DIR)
    .option('--json', 'one JSON array, one object per part')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const parts = await devStatus({ dir: opts.dir })
      if (!parts)
        throw new DevStackNotFoundError(
          isStackDir(resolve(opts.dir))
            ? `the dev stack in ${opts.dir} did not finish starting (its logs are there): \`dmn dev down --dir ${opts.dir}\` removes it`
            : `no dev stack in ${opts.dir}: \`dmn dev up --dir ${opts.dir}\` starts one`
        )
      if (opts.json) ctx.print(JSON.stringify(parts))
      else {
        for (const part of parts) {
          const state = part.running ? `running (pid ${part.pid})` : 'not running'
          const detail =
            part.role === 'chain'
              ? `${part.url}  ${part.block_number === null ? 'not answering' : `block ${part.block_number}`}`
              : `${part.health ?? 'not answering'}  external ${part.external_url}  internal ${part.internal_url}`
          ctx.print(`${part.name.padEnd(7)} ${state.padEnd(22)} ${detail}`)
        }
      }
      const down = parts.filter((p) =>
        p.role === 'chain' ? !p.running || p.block_number === null : !p.running || p.health === null
      )
      if (down.length > 0)
        throw new DevStackDegradedError(
          `${down.map((p) => p.name).join(', ')} of the dev stack in ${opts.dir} ${down.length === 1 ? 'is' : 'are'} down: \`dmn dev up --dir ${opts.dir}\` starts ${down.length === 1 ? 'it' : 'them'} again`
        )
    })

  dev
    .command('down')
    .description('stop every process of the stack and remove its directory')
    .option('--dir <dir>', 'the stack directory', DEFAULT_DIR)
    .option('--keep', 'keep the directory (data, chain, keys): `dmn dev up` starts the same stack again')
    .action(async (opts: { dir: string; keep?: boolean }) => {
      const result = await devDown({ dir: opts.dir, keep: opts.keep === true })
      if (!result.found) {
        ctx.print(`no dev stack in ${result.dir}: nothing to stop`)
        return
      }
      ctx.print(result.stopped.length > 0 ? `stopped ${result.stopped.join(', ')}` : 'nothing was running')
      ctx.print(
        result.removed
          ? `removed ${result.dir}`
          : `kept ${result.dir}: \`dmn dev up --dir ${opts.dir}\` starts it again`
      )
    })
}
