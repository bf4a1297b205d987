// Which answer a path under /ui gets (pure: no files, no sockets). The built
// dashboard is a fixed set of files (dist/ui: index.html and assets/ named by
// content hash); a request names one of them or nothing. Names are checked
// before any lookup, so "..", encoded slashes, backslashes and NULs never reach
// the file system, whatever the URL parser left in the path.

export type UiRoute =
  /** "/ui": the page's relative asset URLs need the trailing slash. */
  | { kind: 'redirect'; location: string }
  /** A file of the build, relative to its root ("index.html", "assets/main-AB12.js"). */
  | { kind: 'file'; name: string }
  | { kind: 'not-found' };

/** Whether a path belongs to the dashboard at all. */
export function isUiPath(pathname: string): boolean {
  return pathname === '/ui' || pathname.startsWith('/ui/');
}

export function uiRoute(pathname: string, search = ''): UiRoute {
  if (pathname === '/ui') return { kind: 'redirect', location: '/ui/' + search };
  if (!pathname.startsWith('/ui/')) return { kind: 'not-found' };
  const rest = pathname.slice('/ui/'.length);
  if (rest === '' || rest === 'index.html') return { kind: 'file', name: 'index.html' };
  let name: string;
  try {
    name = decodeURIComponent(rest);
  } catch {
    return { kind: 'not-found' };
  }
  const segments = name.split('/');
  const bad = segments.some((s) => s === '' || s === '.' || s === '..' || /[\\\0]/.test(s));
  return bad ? { kind: 'not-found' } : { kind: 'file', name };
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  json: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  txt: 'text/plain; charset=utf-8',
};

export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[name.slice(dot + 1).toLowerCase()]) || 'application/octet-stream';
}

/**
 * How long a browser may keep a file: the assets carry their content hash in
 * their name (a new build makes new names), so they never change; index.html
 * names the current assets and is revalidated every time.
 */
export function cacheControlOf(name: string): string {
  return name.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
}
