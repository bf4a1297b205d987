// The "name=url,name=url" text discovery registers and hands back (etcd's
// types.URLsMap): parsed and printed the way etcd does, so that a cluster string
// written by a real etcd member parses here and ours parses there.

/** name → peer URLs (each list sorted, as etcd's NewURLs sorts). */
export type UrlsMap = Map<string, string[]>;

export class UrlsMapError extends Error {}

/** etcd's NewURLsMap: "a=u1,a=u2,b=u3"; an entry without "=" names a member with an empty URL (which then fails). */
export function parseUrlsMap(text: string): UrlsMap {
  const raw = new Map<string, string[]>();
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    raw.set(name, [...(raw.get(name) ?? []), value]);
  }
  const out: UrlsMap = new Map();
  for (const [name, values] of raw) out.set(name, values.map(checkUrl).sort());
  return out;
}

/** etcd's NewURLs checks for one URL. */
function checkUrl(input: string): string {
  const s = input.trim();
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(s);
  const scheme = m?.[1]?.toLowerCase() ?? '';
  if (!['http', 'https', 'unix', 'unixs'].includes(scheme)) throw new UrlsMapError(`URL scheme must be http, https, unix, or unixs: ${s}`);
  if (!/^(\[[^\]]*\]|[^:]*):\d*$/.test(m![2]!)) throw new UrlsMapError(`URL address does not have the form "host:port": ${s}`);
  if (m![3]!.startsWith('/')) throw new UrlsMapError(`URL must not contain a path: ${s}`);
  return `${scheme}://${m![2]}${m![3]}`;
}

/** etcd's URLsMap.String(): every "name=url" pair, sorted, joined by ",". */
export function formatUrlsMap(map: UrlsMap): string {
  const pairs: string[] = [];
  for (const [name, urls] of map) for (const u of urls) pairs.push(`${name}=${u}`);
  return pairs.sort().join(',');
}

/** etcd's checkDuplicateURL: one peer URL claimed twice (by one member or two). */
export function hasDuplicateUrl(map: UrlsMap): boolean {
  const seen = new Set<string>();
  for (const urls of map.values()) {
    for (const u of urls) {
      if (seen.has(u)) return true;
      seen.add(u);
    }
  }
  return false;
}

/** Every URL of the map, sorted (etcd's URLsMap.URLs()). */
export function allUrls(map: UrlsMap): string[] {
  return [...map.values()].flat().sort();
}
