// Hash routes of the dashboard: #/cluster (default), #/keys, #/watch, #/leases, #/ops.

export const PAGES = ['cluster', 'keys', 'watch', 'leases', 'ops'] as const;
export type Page = (typeof PAGES)[number];

export function pageOf(hash: string): Page {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return (PAGES as readonly string[]).includes(name) ? (name as Page) : 'cluster';
}

/** The API base of the page: the first URL of <meta name="etcd-api-urls"> (the metrics port's page), else its own origin. */
export function apiBaseOf(metaContent: string | null | undefined): string {
  const first = (metaContent ?? '').split(',').map((s) => s.trim()).find((s) => s !== '');
  return first ? first.replace(/\/+$/, '') : '';
}
