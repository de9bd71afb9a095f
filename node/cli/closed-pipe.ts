/**
 * When the reader of stdout goes away (`dmn keys show | head -1`), Node gets EPIPE on the next write
 * (it ignores SIGPIPE) and, without a listener, dies with a stack trace. Unix tools end quietly there:
 * nobody is left to read what they would still print. Any other stdout error stays fatal.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
    // The reader chose to stop reading; that is not a failure of the command.
    process.exit(0)
  })
}
