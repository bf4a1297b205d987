// The stage-trace name of a peer message sent or received (src/util/stage-trace.ts):
// appends with and without entries apart, acknowledgements, else the type number.

import { type Message, MessageType } from '../../raft/types.js';

export function traceName(dir: 'tx' | 'rx', m: Message): string {
  if (m.type === MessageType.MsgApp) return m.entries.length > 0 ? `${dir}-app` : `${dir}-app0`;
  if (m.type === MessageType.MsgAppResp) return `${dir}-resp`;
  return `${dir}-${m.type}`;
}
