// <data-dir>/proxy/cluster: the peer URLs a proxy last learned, as etcd 3.4
// keeps them ({"PeerURLs":[...]}), so a restarted proxy finds the cluster without
// discovery. Written to a side file, synced, then renamed over the old one.

import { open, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export function proxyDir(dataDir: string): string {
  return join(dataDir, 'proxy');
}

export function clusterFilePath(dataDir: string): string {
  return join(proxyDir(dataDir), 'cluster');
}

/** The peer URLs of the cluster file; undefined when there is none. A file that is not etcd's JSON is an error. */
export async function readClusterFile(dataDir: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(clusterFilePath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as { PeerURLs?: unknown };
  if (!Array.isArray(parsed.PeerURLs) || !parsed.PeerURLs.every((u) => typeof u === 'string')) {
    throw new Error(`${clusterFilePath(dataDir)}: no PeerURLs list`);
  }
  return parsed.PeerURLs as string[];
}

export async function writeClusterFile(dataDir: string, peerUrls: string[]): Promise<void> {
  await mkdir(proxyDir(dataDir), { recursive: true, mode: 0o700 });
  const path = clusterFilePath(dataDir);
  const side = `${path}.bak`;
  const fh = await open(side, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify({ PeerURLs: peerUrls }));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(side, path);
}
