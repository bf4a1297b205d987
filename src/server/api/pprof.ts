// --enable-pprof: etcd serves Go's net/http/pprof under /debug/pprof/ on the client
// port. A Node process has no Go profiles; it offers what V8 offers, under the same
// prefix:
//   /debug/pprof/                   an index page listing the profiles
//   /debug/pprof/profile?seconds=N  a CPU profile of N seconds (default 30, at most
//                                   MAX_PROFILE_SECONDS), as a .cpuprofile JSON
//                                   (Chrome DevTools, VS Code, speedscope open it);
//                                   one at a time, as Go allows
//   /debug/pprof/heap               a V8 heap snapshot (.heapsnapshot JSON), streamed
// Without the flag nothing here is mounted and the paths answer 404, as in etcd.
// Taking a heap snapshot stops the process while V8 walks the heap (as a Go heap
// dump does not): on a large heap the member misses heartbeats meanwhile.

import type * as http from 'node:http';
import { Session } from 'node:inspector';
import { getHeapSnapshot } from 'node:v8';

export const PPROF_PREFIX = '/debug/pprof';
export const DEFAULT_PROFILE_SECONDS = 30;
export const MAX_PROFILE_SECONDS = 300;

let profiling = false;

function text(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

const INDEX = `<html>
<head><title>/debug/pprof/</title></head>
<body>
/debug/pprof/ (etcd-ts: V8 profiles of this Node.js process)<br>
<br>
Types of profiles available:
<table>
<tr><td><a href="profile?seconds=${DEFAULT_PROFILE_SECONDS}">profile</a></td><td>CPU profile (.cpuprofile JSON); ?seconds=N, default ${DEFAULT_PROFILE_SECONDS}, at most ${MAX_PROFILE_SECONDS}</td></tr>
<tr><td><a href="heap">heap</a></td><td>V8 heap snapshot (.heapsnapshot JSON); pauses the process while it is taken</td></tr>
</table>
</body>
</html>
`;

/** Serves /debug/pprof/* when enabled; every other request (and all of them when disabled) goes to `next`. */
export function withPprof(enabled: boolean, next: http.RequestListener): http.RequestListener {
  if (!enabled) return next;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== PPROF_PREFIX && !url.pathname.startsWith(PPROF_PREFIX + '/')) return next(req, res);
    switch (url.pathname) {
      case PPROF_PREFIX: // Go's ServeMux redirects the bare prefix to the subtree
        res.writeHead(301, { Location: PPROF_PREFIX + '/', 'Content-Length': 0 });
        return res.end();
      case PPROF_PREFIX + '/':
        return text(res, 200, INDEX, 'text/html; charset=utf-8');
      case PPROF_PREFIX + '/profile':
        return void cpuProfile(url, res);
      case PPROF_PREFIX + '/heap':
        return heapSnapshot(res);
      default:
        return text(res, 404, 'Unknown profile\n');
    }
  };
}

/** Parses ?seconds= as Go's pprof does (a positive integer; absent means the default). */
export function profileSeconds(raw: string | null): number | undefined {
  if (raw === null || raw === '') return DEFAULT_PROFILE_SECONDS;
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  if (n <= 0 || n > MAX_PROFILE_SECONDS) return undefined;
  return n;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((res, rej) =>
    session.post(method, params ?? {}, (err, result) => (err ? rej(err) : res(result as T))),
  );
}

async function cpuProfile(url: URL, res: http.ServerResponse): Promise<void> {
  const seconds = profileSeconds(url.searchParams.get('seconds'));
  if (seconds === undefined) {
    return text(res, 400, `Bad Request: seconds must be an integer in 1..${MAX_PROFILE_SECONDS}\n`);
  }
  if (profiling) return text(res, 500, 'Could not enable CPU profiling: cpu profiling already in use\n');
  profiling = true;
  const session = new Session();
  try {
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.start');
    // A client that goes away ends the profile early (Go's does the same on a closed request).
    await new Promise<void>((done) => {
      const timer = setTimeout(done, seconds * 1000);
      res.once('close', () => {
        clearTimeout(timer);
        done();
      });
    });
    const { profile } = await post<{ profile: { nodes: unknown[] } }>(session, 'Profiler.stop');
    if (res.destroyed || res.writableEnded) return;
    const body = JSON.stringify(profile);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Content-Disposition': 'attachment; filename="profile.cpuprofile"',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  } catch (err) {
    if (!res.headersSent) text(res, 500, `Could not take a CPU profile: ${(err as Error).message}\n`);
    else res.destroy();
  } finally {
    session.disconnect();
    profiling = false;
  }
}

function heapSnapshot(res: http.ServerResponse): void {
  let stream;
  try {
    stream = getHeapSnapshot();
  } catch (err) {
    return text(res, 500, `Could not take a heap snapshot: ${(err as Error).message}\n`);
  }
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Disposition': 'attachment; filename="heap.heapsnapshot"',
    'X-Content-Type-Options': 'nosniff',
  });
  stream.on('error', () => res.destroy());
  res.once('close', () => stream.destroy());
  stream.pipe(res);
}
