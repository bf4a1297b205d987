// Short, readable renderings of operations for problem texts.

import type { Operation, Request, Response } from './history.js';

export function describeRequest(r: Request): string {
  return JSON.stringify(r);
}

export function describeResponse(r: Response): string {
  return JSON.stringify(r);
}

export function describeOp(op: Operation): string {
  const ret = op.return === Infinity ? '?' : String(op.return);
  return `op #${op.id} (client ${op.client}${op.member ? ` via ${op.member}` : ''}, [${op.call}, ${ret}]) ${describeRequest(op.request)} -> ${describeResponse(op.response)}`;
}
