// A TCP proxy in front of every member's peer port, so a test can cut one member
// off from the others (a network partition) and heal it, on loopback only.
//
// Each member listens on its real peer port but advertises the proxy's port for
// it (--initial-cluster and --initial-advertise-peer-urls name the proxy), so
// every connection to a member's peer port passes through its proxy. The proxy
// learns which member dialed a connection from the kernel: the accepted socket's
// remote port is the dialer's local port, /proc/net/tcp maps it to a socket
// inode, and /proc/<pid>/fd shows which member process holds that inode. That
// works whatever the protocol (the HTTP/1.1 message streams, gRPC over HTTP/2,
// TLS) and lets a partition cut both directions.
//
// partition(name): every connection to or from that member is destroyed, and new
// ones are refused (accepted, then closed) until heal(). Linux only.

import { readdir, readFile, readlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ProxiedMember {
  name: string;
  /** The port the member really listens on. */
  targetPort: number;
  /** The port every other member dials (the proxy's). */
  proxyPort: number;
  /** The member's current process id, when it runs. */
  pid: () => number | undefined;
}

interface Link {
  from: string | undefined;
  to: string;
  down: Socket;
  up: Socket;
}

/** The inode of the loopback TCP socket whose local port is `localPort` and remote port `remotePort`. */
async function socketInode(localPort: number, remotePort: number): Promise<string | undefined> {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const lp = parseInt(f[1]!.split(':')[1]!, 16);
      const rp = parseInt(f[2]!.split(':')[1]!, 16);
      if (lp === localPort && rp === remotePort) return f[9];
    }
  }
  return undefined;
}

async function pidHoldsInode(pid: number, inode: string): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  const want = `socket:[${inode}]`;
  for (const fd of fds) {
    try {
      if ((await readlink(`/proc/${pid}/fd/${fd}`)) === want) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

export class PeerProxy {
  private readonly servers: Server[] = [];
  private readonly links = new Set<Link>();
  private readonly cut = new Set<string>();
  /** Connections seen, refused while cut, and whose dialer could not be named (for the test's log). */
  readonly stats = { accepted: 0, refused: 0, unidentified: 0 };

  private constructor(private readonly members: ProxiedMember[]) {}

  static async start(members: ProxiedMember[]): Promise<PeerProxy> {
    const p = new PeerProxy(members);
    for (const m of members) p.servers.push(await p.listen(m));
    return p;
  }

  private listen(m: ProxiedMember): Promise<Server> {
    const server = createServer({ pauseOnConnect: true }, (down) => void this.accept(m, down));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(m.proxyPort, '127.0.0.1', () => resolve(server));
    });
  }

  /** Which member process dialed `down` (undefined: none of them, or it is gone already). */
  private async dialer(down: Socket, proxyPort: number): Promise<string | undefined> {
    const inode = down.remotePort === undefined ? undefined : await socketInode(down.remotePort, proxyPort);
    if (inode === undefined) return undefined;
    for (const m of this.members) {
      const pid = m.pid();
      if (pid !== undefined && (await pidHoldsInode(pid, inode))) return m.name;
    }
    return undefined;
  }

  private async accept(to: ProxiedMember, down: Socket): Promise<void> {
    down.on('error', () => {});
    const from = await this.dialer(down, to.proxyPort);
    this.stats.accepted++;
    if (from === undefined) this.stats.unidentified++;
    if (this.isCut(from, to.name)) {
      this.stats.refused++;
      down.destroy();
      return;
    }
    const up = connect(to.targetPort, '127.0.0.1');
    up.setNoDelay(true);
    down.setNoDelay(true);
    const link: Link = { from, to: to.name, down, up };
    this.links.add(link);
    const close = (): void => {
      this.links.delete(link);
      down.destroy();
      up.destroy();
    };
    up.on('error', close);
    down.on('error', close);
    up.on('close', close);
    down.on('close', close);
    down.pipe(up);
    up.pipe(down);
    down.resume();
  }

  private isCut(from: string | undefined, to: string): boolean {
    return this.cut.has(to) || (from !== undefined && this.cut.has(from));
  }

  /** Cuts `name` off: its peer connections, both ways, are closed and refused until heal(). */
  partition(name: string): void {
    this.cut.add(name);
    for (const l of [...this.links]) {
      if (this.isCut(l.from, l.to)) {
        this.links.delete(l);
        l.down.destroy();
        l.up.destroy();
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Connections open now between each pair (from→to), for a test that checks the proxy itself. */
  openLinks(): { from: string | undefined; to: string }[] {
    return [...this.links].map((l) => ({ from: l.from, to: l.to }));
  }

  async close(): Promise<void> {
    for (const l of this.links) {
      l.down.destroy();
      l.up.destroy();
    }
    this.links.clear();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
