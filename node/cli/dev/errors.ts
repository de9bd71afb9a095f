import { DmnError } from '../../core/errors.ts'

/** Errors of the local development stack (`dmn dev`). */

/** A dev stack cannot be started, read or stopped as asked. */
export class DevStackError extends DmnError {
  override name = 'DevStackError'
}

/** `dmn dev up` where a stack runs already: nothing second is started. */
export class DevStackAlreadyUpError extends DevStackError {
  override name = 'DevStackAlreadyUpError'
}

/** `dmn dev status` or `down` where there is no stack. */
export class DevStackNotFoundError extends DevStackError {
  override name = 'DevStackNotFoundError'
}

/** `dmn dev status`: some part of the stack is not running or not answering. */
export class DevStackDegradedError extends DevStackError {
  override name = 'DevStackDegradedError'
}
