/**
 * Runs `hardhat node` for the embedded chain and makes sure it never outlives the DataMgmt node that
 * started it. The node holds this process's stdin open; when the node exits for any reason, even
 * SIGKILL, the pipe closes and the guard stops Hardhat. The node starts the guard in its own process
 * group, so stopping the group stops both.
 *   node hardhat-guard.ts <hardhat cli.js> node --hostname 127.0.0.1 --port <port>
 */
import { spawn } from 'node:child_process'

const [cli, ...args] = process.argv.slice(2)
if (!cli) {
  process.stderr.write('usage: hardhat-guard.ts <hardhat cli> <args...>\n')
  process.exit(2)
}
const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] })
const stopChild = () => {
  child.kill('SIGTERM')
  setTimeout(() => child.kill('SIGKILL'), 3_000).unref()
}
process.stdin.on('end', stopChild)
process.stdin.on('close', stopChild)
process.stdin.on('error', stopChild)
process.stdin.resume()
process.on('SIGTERM', stopChild)
process.on('SIGINT', stopChild)
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)))
