// How etcdctl 3.4.23 prints `snapshot status` (ctlv3/command/printer*.go): the
// same four figures as simple ("hash, revision, keys, size"), table
// (olekukonko/tablewriter, right-aligned), json and fields. Pure functions.

import type { SnapshotStatus } from '../snapshot/status.js';

export const WRITE_OUT_FORMATS = ['simple', 'table', 'json', 'fields', 'protobuf'] as const;
export type WriteOut = (typeof WRITE_OUT_FORMATS)[number];

/** Go's %.0f: round half to even (the only halves here are exact: x.5). */
function goRound0(v: number): string {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff === 0.5) return String(f % 2 === 0 ? f : f + 1);
  return String(Math.round(v));
}

/** github.com/dustin/go-humanize Bytes: SI units, as etcdctl prints sizes ("102 kB", "1.1 MB"). */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / Math.pow(1000, e)) * 10 + 0.5) / 10;
  return val < 10 ? `${val.toFixed(1)} ${sizes[e]}` : `${goRound0(val)} ${sizes[e]}`;
}

function statusRow(s: SnapshotStatus): string[] {
  return [(s.hash >>> 0).toString(16), String(s.revision), String(s.totalKey), humanizeBytes(s.totalSize)];
}

const HEADER = ['hash', 'revision', 'total keys', 'total size'];

/** tablewriter's Render with a header and right alignment, as etcdctl's tablePrinter sets it up. */
export function renderTable(header: string[], rows: string[][]): string {
  const heads = header.map((h) => h.toUpperCase());
  const widths = heads.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const center = (s: string, w: number) => {
    const gap = w - s.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  const out = [line, '| ' + heads.map((h, i) => center(h, widths[i]!)).join(' | ') + ' |', line];
  for (const r of rows) out.push('| ' + r.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |');
  out.push(line);
  return out.join('\n') + '\n';
}

/** The text etcdctl writes to stdout for `snapshot status -w <format>` (protobuf is refused before this). */
export function formatStatus(s: SnapshotStatus, format: Exclude<WriteOut, 'protobuf'>): string {
  switch (format) {
    case 'simple':
      return statusRow(s).join(', ') + '\n';
    case 'table':
      return renderTable(HEADER, [statusRow(s)]);
    case 'json':
      return JSON.stringify({ hash: s.hash >>> 0, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize }) + '\n';
    case 'fields':
      return `"Hash" : ${s.hash >>> 0}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`;
  }
}
