// How the Raft driver's messages leave the member (raft-node.ts hands them
// over; the Transport port carries them):
// - a leader's commit notices may be held back briefly (commit-notices.ts);
// - a snapshot message first gets the application state it carries, which the
//   server prepares asynchronously; the messages beside it do not wait for that;
// - a follower's acknowledgements may wait for the end of this turn of the
//   event loop (Transport.sendSoon), so a client's answer is written first.

import { type Message, MessageType } from '../raft/types.js';
import { CommitNoticeDelay, DEFAULT_COMMIT_NOTICE_DELAY_MS } from './commit-notices.js';
import type { Clock, Transport } from './raft-ports.js';

export interface SnapshotFilling {
  /** The application state an outgoing MsgSnap carries (RaftNodeHandlers.prepareSnapshot). */
  prepare(m: Message): Promise<Message>;
  /** Preparing the snapshot for `to` failed: Raft must learn it was not sent. */
  failed(to: bigint, err: Error): void;
}

export class RaftOutbox {
  /** The transport, with commit notices held back briefly. */
  private readonly notices: CommitNoticeDelay;

  constructor(
    private readonly transport: Transport,
    clock: Clock,
    private readonly snapshots: SnapshotFilling,
  ) {
    this.notices = new CommitNoticeDelay(transport, clock, DEFAULT_COMMIT_NOTICE_DELAY_MS);
  }

  /** Snapshots first get the state they carry (asynchronously); everything else goes at once. */
  send(messages: Message[]): void {
    if (!carriesSnapshot(messages)) {
      this.notices.send(messages); // the common case, without a copy
      return;
    }
    const plain = messages.filter((m) => m.type !== MessageType.MsgSnap);
    if (plain.length > 0) this.notices.send(plain);
    for (const m of messages) {
      if (m.type !== MessageType.MsgSnap) continue;
      this.snapshots.prepare(m).then(
        (full) => this.notices.send([full]),
        (err: Error) => this.snapshots.failed(m.to, err),
      );
    }
  }

  /** Sends `messages` once this turn's other work is done (Transport.sendSoon), or now without it. */
  sendSoon(messages: Message[]): void {
    if (this.transport.sendSoon) this.transport.sendSoon(messages);
    else this.send(messages);
  }

  /** Writes what send() queued now rather than from the transport's microtask (Transport.writeQueued). */
  writeQueued(): void {
    this.transport.writeQueued?.();
  }

  /** A follower forwarded proposals ending at `index`: the notice that commits them goes at once (commit-notices.ts). */
  awaitCommit(follower: bigint, index: number): void {
    this.notices.awaitCommit(follower, index);
  }

  /** Sends the commit notices held back now. */
  flushNotices(): void {
    this.notices.flush();
  }

  /** Drops the notices held back (the member stops). */
  discard(): void {
    this.notices.discard();
  }
}

function carriesSnapshot(messages: readonly Message[]): boolean {
  for (const m of messages) if (m.type === MessageType.MsgSnap) return true;
  return false;
}
