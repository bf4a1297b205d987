// Calls to the /v3 JSON gateway (POST, JSON body) with the session's token in
// the Authorization header, as etcd's gateway reads it. A failed call throws an
// ApiError carrying the gRPC code and etcd's message, so a page can tell "log
// in" from "not allowed" from anything else.

import { LineSplitter, parseStreamLine } from './ndjson.js';
import type { WatchResponse } from './types.js';

export class ApiError extends Error {
  constructor(
    message: string,
    /** The gRPC status code (16 unauthenticated, 7 permission denied, ...); undefined: no gateway answer. */
    readonly code: number | undefined,
    readonly httpStatus: number,
  ) {
    super(message);
  }
}

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;

/** The server wants a (new) login: no token, or one that expired or is unknown. */
export function needsLogin(e: unknown): boolean {
  if (!(e instanceof ApiError)) return false;
  return (
    e.code === UNAUTHENTICATED ||
    /user name is empty|invalid auth token|authentication failed|auth: revision in header is old/.test(e.message)
  );
}

export function isPermissionDenied(e: unknown): boolean {
  return e instanceof ApiError && (e.code === PERMISSION_DENIED || e.message.includes('permission denied'));
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

export interface Session {
  token: string | undefined;
  user: string | undefined;
}

export class Api {
  constructor(
    /** Where /v3 lives: '' (this page's origin) or a member's client URL. */
    readonly base: string,
    private readonly session: Session,
    /** Told when a call answered "log in first". */
    private readonly onLoginNeeded: () => void,
  ) {}

  private headers(anonymous = false): Record<string, string> {
    const h: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.session.token && !anonymous) h.Authorization = this.session.token;
    return h;
  }

  /**
   * One unary call. `base`: another member's client URL (default: this page's
   * member). `anonymous`: without the token (calls every user may make, such as
   * Status, sent to members that may not know a token issued here).
   */
  async post<T>(path: string, body: unknown, opts: { base?: string; signal?: AbortSignal; timeoutMs?: number; anonymous?: boolean } = {}): Promise<T> {
    const signal = opts.signal ?? AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    let res: Response;
    try {
      res = await fetch((opts.base ?? this.base) + path, { method: 'POST', headers: this.headers(opts.anonymous), body: JSON.stringify(body), signal });
    } catch (e) {
      // A browser tells "down" from "refused by CORS" no better than this.
      const why = opts.base !== undefined && opts.base !== this.base ? ' (down, or its --cors does not allow this page)' : '';
      throw new ApiError(`cannot reach ${opts.base ?? (this.base || 'this member')}: ${errorText(e)}${why}`, undefined, 0);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ApiError(text.trim() || res.statusText, undefined, res.status);
    }
    if (!res.ok) {
      const err = json as { message?: string; error?: string; code?: number };
      const e = new ApiError(err.message ?? err.error ?? res.statusText, err.code, res.status);
      if (needsLogin(e) && opts.base === undefined) this.onLoginNeeded();
      throw e;
    }
    return json as T;
  }

  /** GET of a plain-text endpoint (/metrics, /health) of a member (default: this page's). */
  async getText(path: string, base = this.base, timeoutMs = 5_000): Promise<string> {
    let res: Response;
    try {
      res = await fetch(base + path, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const why = base !== this.base ? ' (down, or its --cors does not allow this page)' : '';
      throw new ApiError(`cannot reach ${base || 'this member'}: ${errorText(e)}${why}`, undefined, 0);
    }
    const text = await res.text();
    if (!res.ok) throw new ApiError(text.trim() || res.statusText, undefined, res.status);
    return text;
  }

  /**
   * Opens a watch (POST /v3/watch with one create request) and hands every
   * response to `onResponse` until `signal` aborts or the stream ends; resolves
   * then, rejects with the stream's error.
   */
  async watch(createRequest: Record<string, unknown>, onResponse: (r: WatchResponse) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch(this.base + '/v3/watch', {
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify({ create_request: createRequest }),
      signal,
    });
    if (!res.body) throw new ApiError('the watch stream has no body', undefined, res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const lines = new LineSplitter();
    const handle = (line: string): void => {
      const msg = parseStreamLine<WatchResponse>(line);
      if ('error' in msg) {
        const e = new ApiError(msg.error.message ?? 'watch failed', msg.error.grpc_code, msg.error.http_code ?? res.status);
        if (needsLogin(e)) this.onLoginNeeded();
        throw e;
      }
      if ('result' in msg) onResponse(msg.result);
      else {
        // A unary-style error body (the request was refused before the stream began).
        const err = msg as { message?: string; code?: number };
        throw new ApiError(err.message ?? 'watch failed', err.code, res.status);
      }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const line of lines.push(value)) handle(line);
    }
    for (const line of lines.end()) handle(line);
  }
}
