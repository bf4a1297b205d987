// #/leases: every lease (LeaseLeases, then TimeToLive with keys for each),
// the remaining TTL counting down each second, revoke behind a confirmation.
// A lease whose countdown reaches zero is asked again, and gone leases drop
// out; the list is read again every few seconds while the page is open.

import { useState } from 'preact/hooks';
import { errorText, isPermissionDenied, needsLogin } from '../api/client.js';
import type { LeaseLeasesResponse, LeaseTimeToLiveResponse } from '../api/types.js';
import { ResponsiveTable } from '../components/table.js';
import { useShell } from '../context.js';
import { usePoll, useSecondClock } from '../hooks.js';
import { leaseInfo, remainingAt, type LeaseInfo } from '../lib/lease-view.js';

/** Leases shown (each costs a TimeToLive call per refresh). */
const MAX_LEASES = 200;
const REFRESH_MS = 5000;

export function LeasesPage() {
  const { api, ask, showError } = useShell();
  const [leases, setLeases] = useState<LeaseInfo[]>();
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string>();
  const [gen, setGen] = useState(0);
  const now = useSecondClock();

  const refresh = async (): Promise<void> => {
    try {
      const list = await api.post<LeaseLeasesResponse>('/v3/lease/leases', {});
      const ids = (list.leases ?? []).map((l) => l.ID).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      setTotal(ids.length);
      const infos = await Promise.all(
        ids.slice(0, MAX_LEASES).map(async (ID) => {
          const res = await api.post<LeaseTimeToLiveResponse>('/v3/lease/timetolive', { ID, keys: true });
          return leaseInfo(res, Date.now());
        }),
      );
      setLeases(infos.filter((l): l is LeaseInfo => l !== undefined));
      setError(undefined);
    } catch (e) {
      if (needsLogin(e)) return;
      setError(isPermissionDenied(e) ? 'Permission denied: listing leases needs a user allowed to read them.' : errorText(e));
    }
  };
  // A countdown that reached zero asks again at once (the lease may be gone, or kept alive).
  const expired = leases?.some((l) => remainingAt(l, now) === 0) ?? false;
  usePoll(refresh, REFRESH_MS, [gen, expired && Math.floor(now / 1000)]);

  const revoke = async (l: LeaseInfo): Promise<void> => {
    const detail = l.keys.length ? `Its keys are deleted: ${l.keys.join(', ')}` : 'No keys are attached.';
    if (!(await ask(`Revoke lease ${l.id}?`, detail))) return;
    try {
      await api.post('/v3/lease/revoke', { ID: l.id });
      showError(undefined);
      setGen((g) => g + 1);
    } catch (e) {
      showError(`revoke ${l.id}: ${errorText(e)}`);
    }
  };

  return (
    <section>
      <div class="toolbar">
        <button type="button" data-testid="lease-refresh" onClick={() => setGen((g) => g + 1)}>
          Refresh
        </button>
        <span class="muted">
          {leases === undefined ? '' : `${total} lease${total === 1 ? '' : 's'}${total > MAX_LEASES ? `, the first ${MAX_LEASES} shown` : ''}`}
        </span>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {leases === undefined ? (
        !error && <p class="muted">Loading…</p>
      ) : leases.length === 0 ? (
        <p class="muted">No leases.</p>
      ) : (
        <ResponsiveTable name="leases" columns={['Lease (decimal / hex)', 'Granted TTL', 'Remaining', 'Keys', '']}>
          {leases.map((l) => (
            <tr key={l.id} data-testid="lease-row" data-lease-id={l.id}>
              <td data-label="Lease">
                {l.id} <code class="muted">{BigInt(l.id).toString(16)}</code>
              </td>
              <td data-label="Granted TTL" data-testid="lease-ttl">
                {l.grantedTtl}
              </td>
              <td data-label="Remaining" data-testid="lease-remaining">
                {remainingAt(l, now)}
              </td>
              <td data-label="Keys" data-testid="lease-keys">
                {l.keys.length ? l.keys.join(', ') : '–'}
              </td>
              <td>
                <button type="button" class="danger" data-testid="lease-revoke" onClick={() => void revoke(l)}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </ResponsiveTable>
      )}
    </section>
  );
}
