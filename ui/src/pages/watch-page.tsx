// #/watch: a watch on a prefix (POST /v3/watch, newline-delimited JSON),
// its events as they arrive; pause holds them back, resume shows them, stop
// closes the stream. Updates are drawn at most once per animation frame, so a
// busy prefix does not redraw the list for every event.

import { useEffect, useRef, useState } from 'preact/hooks';
import { prefixRange } from '../api/codec.js';
import { errorText } from '../api/client.js';
import { ResponsiveTable } from '../components/table.js';
import { useShell } from '../context.js';
import { eventsOf, prepend, type ShownEvent } from '../lib/watch-log.js';

type State = 'idle' | 'starting' | 'watching' | 'stopped';

export function WatchPage() {
  const { api } = useShell();
  const [prefix, setPrefix] = useState('');
  const [watching, setWatching] = useState<string>();
  const [state, setState] = useState<State>('idle');
  const [paused, setPaused] = useState(false);
  const [events, setEvents] = useState<ShownEvent[]>([]);
  const [error, setError] = useState<string>();
  const stream = useRef<AbortController | undefined>(undefined);
  const held = useRef<ShownEvent[]>([]);
  const pausedRef = useRef(false);
  const frame = useRef<number | undefined>(undefined);
  const seq = useRef(0);

  const flush = (): void => {
    frame.current = undefined;
    if (pausedRef.current || held.current.length === 0) return;
    const arrived = held.current;
    held.current = [];
    setEvents((shown) => prepend(shown, arrived));
  };
  const stop = (): void => {
    stream.current?.abort();
    stream.current = undefined;
  };
  useEffect(() => () => {
    stop();
    if (frame.current !== undefined) cancelAnimationFrame(frame.current);
  }, []);

  const start = (): void => {
    stop();
    const ctl = new AbortController();
    stream.current = ctl;
    held.current = [];
    setEvents([]);
    setError(undefined);
    setWatching(prefix);
    setState('starting');
    api
      .watch(
        prefixRange(prefix),
        (res) => {
          if (res.canceled) {
            // Refused (permission denied) or ended by the server (compacted): the stream stays open, close it.
            setError(res.cancel_reason || 'the watch was cancelled by the server');
            ctl.abort();
            return;
          }
          if (res.created) setState('watching');
          const arrived = eventsOf(res).map((ev) => ({ ...ev, id: String(seq.current++) }));
          if (arrived.length === 0) return;
          held.current.push(...arrived);
          if (frame.current === undefined) frame.current = requestAnimationFrame(flush);
        },
        ctl.signal,
      )
      .then(() => {
        if (!ctl.signal.aborted) setError('the watch stream ended (the member stopped, or closed it)');
      })
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setError(errorText(e));
      })
      .finally(() => {
        if (stream.current === ctl) stream.current = undefined;
        setState('stopped');
      });
  };
  const togglePause = (): void => {
    pausedRef.current = !pausedRef.current;
    setPaused(pausedRef.current);
    if (!pausedRef.current) flush();
  };

  const active = state === 'starting' || state === 'watching';
  return (
    <section>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          start();
        }}
      >
        <label class="grow">
          Prefix
          <input data-testid="watch-prefix-input" placeholder="empty: every key" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} />
        </label>
        <button type="submit" data-testid="watch-start">
          {active ? 'Restart' : 'Start'}
        </button>
        <button type="button" data-testid="watch-pause" aria-pressed={paused} disabled={!active} onClick={togglePause}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" data-testid="watch-stop" disabled={!active} onClick={stop}>
          Stop
        </button>
      </form>
      <p class="muted" role="status">
        {state === 'idle' && 'Not watching.'}
        {state === 'starting' && `Starting a watch on "${watching}"…`}
        {state === 'watching' && `Watching ${watching === '' ? 'every key' : `"${watching}"`}${paused ? ` (paused, ${held.current.length} held back)` : ''}.`}
        {state === 'stopped' && 'Stopped.'}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ResponsiveTable name="events" columns={['Type', 'Key', 'Revision', 'Value']}>
        {events.map((ev) => (
          <tr key={ev.id} data-testid="watch-event" data-type={ev.type} data-key={ev.key} data-revision={ev.revision} class={ev.type === 'DELETE' ? 'del' : ''}>
            <td data-label="Type">{ev.type}</td>
            <td data-label="Key">{ev.key}</td>
            <td data-label="Revision">{ev.revision}</td>
            <td data-label="Value">
              <code>{ev.value}</code>
            </td>
          </tr>
        ))}
      </ResponsiveTable>
    </section>
  );
}
