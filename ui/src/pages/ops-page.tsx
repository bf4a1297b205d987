// #/ops: compact, defragment a member, disarm the alarms, move leadership.
// Each asks first and shows the server's answer (or its refusal) as it came.

import { useEffect, useState } from 'preact/hooks';
import { idHex, int } from '../api/codec.js';
import { errorText } from '../api/client.js';
import type { AlarmResponse, Member, MemberListResponse, StatusResponse } from '../api/types.js';
import { useShell } from '../context.js';

interface Known {
  members: Member[];
  localId: string | undefined;
  revision: number | undefined;
  leaderId: string | undefined;
}

export function OpsPage() {
  const { api, ask } = useShell();
  const [known, setKnown] = useState<Known>({ members: [], localId: undefined, revision: undefined, leaderId: undefined });
  const [compactRev, setCompactRev] = useState('');
  const [defragId, setDefragId] = useState('');
  const [target, setTarget] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);

  const load = async (): Promise<void> => {
    try {
      const list = await api.post<MemberListResponse>('/v3/cluster/member/list', {});
      const status = await api.post<StatusResponse>('/v3/maintenance/status', {});
      const members = list.members ?? [];
      setKnown({ members, localId: list.header.member_id, revision: int(status.header.revision), leaderId: status.leader });
      setDefragId((d) => d || list.header.member_id || '');
      setTarget((t) => t || members.find((m) => m.ID !== status.leader)?.ID || '');
    } catch (e) {
      setResult({ ok: false, text: errorText(e) });
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const baseOf = (id: string): string | undefined => {
    if (id === known.localId) return api.base;
    return known.members.find((m) => m.ID === id)?.clientURLs?.[0]?.replace(/\/+$/, '');
  };
  const nameOf = (id: string | undefined): string => {
    const m = known.members.find((x) => x.ID === id);
    return m ? `${m.name || '(unstarted)'} (${idHex(m.ID)})` : idHex(id);
  };

  /** Asks, runs, and shows the outcome; false from `question` means cancelled. */
  const run = async (question: string, detail: string | undefined, op: () => Promise<string>): Promise<void> => {
    if (!(await ask(question, detail))) return;
    setBusy(true);
    try {
      setResult({ ok: true, text: await op() });
    } catch (e) {
      setResult({ ok: false, text: errorText(e) });
    } finally {
      setBusy(false);
      void load();
    }
  };

  const compact = (): Promise<void> =>
    run(`Compact the keyspace to revision ${compactRev}?`, 'Values older than this revision are removed for good; watches and reads before it fail.', async () => {
      await api.post('/v3/kv/compaction', { revision: compactRev });
      return `compacted revision ${compactRev}`;
    });
  const defrag = (): Promise<void> =>
    run(`Defragment ${nameOf(defragId)}?`, 'The member blocks reads and writes while it rewrites its database.', async () => {
      const base = baseOf(defragId);
      if (base === undefined) throw new Error('this member has no client URL to reach it at');
      await api.post('/v3/maintenance/defragment', {}, { base, timeoutMs: 120_000 });
      return `finished defragmenting ${nameOf(defragId)}`;
    });
  const disarm = (): Promise<void> =>
    run('Disarm every alarm of the cluster?', undefined, async () => {
      const list = await api.post<AlarmResponse>('/v3/maintenance/alarm', { action: 'GET' });
      const alarms = list.alarms ?? [];
      if (alarms.length === 0) return 'there were no alarms to disarm';
      for (const a of alarms) await api.post('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: a.memberID, alarm: a.alarm ?? 'NONE' });
      return alarms.map((a) => `disarmed ${a.alarm ?? 'NONE'} of ${nameOf(a.memberID)}`).join('; ');
    });
  const moveLeader = (): Promise<void> =>
    run(`Move leadership to ${nameOf(target)}?`, undefined, async () => {
      // MoveLeader is served by the leader only: send it there.
      const leader = known.leaderId;
      const base = leader ? baseOf(leader) : api.base;
      await api.post('/v3/maintenance/transfer-leadership', { targetID: target }, base === api.base ? {} : { base });
      return `leadership moved from ${nameOf(leader)} to ${nameOf(target)}`;
    });

  return (
    <section class="ops">
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void compact();
        }}
      >
        <h2>Compact</h2>
        <p class="muted">Current revision: {known.revision ?? '…'}</p>
        <label>
          Revision
          <input data-testid="op-compact-revision" inputMode="numeric" pattern="[0-9]+" required value={compactRev} onInput={(e) => setCompactRev(e.currentTarget.value)} />
        </label>
        <button type="submit" class="danger" data-testid="op-compact" disabled={busy}>
          Compact
        </button>
      </form>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void defrag();
        }}
      >
        <h2>Defragment</h2>
        <label>
          Member
          <MemberSelect testId="op-defrag-member" members={known.members} value={defragId} onChange={setDefragId} />
        </label>
        <button type="submit" class="danger" data-testid="op-defrag" disabled={busy || !defragId}>
          Defragment
        </button>
      </form>
      <div class="card">
        <h2>Alarms</h2>
        <button type="button" class="danger" data-testid="op-alarm-disarm" disabled={busy} onClick={() => void disarm()}>
          Disarm all alarms
        </button>
      </div>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void moveLeader();
        }}
      >
        <h2>Move leadership</h2>
        <p class="muted">Leader now: {known.leaderId ? nameOf(known.leaderId) : '…'}</p>
        <label>
          New leader
          <MemberSelect testId="op-move-leader-target" members={known.members} value={target} onChange={setTarget} />
        </label>
        <button type="submit" class="danger" data-testid="op-move-leader" disabled={busy || !target}>
          Move leader
        </button>
      </form>
      <p class={result?.ok === false ? 'error result' : 'result'} role="status" data-testid="op-result">
        {result?.text ?? ''}
      </p>
    </section>
  );
}

/** A member picker: option values are member ids (decimal), labels their names. */
function MemberSelect({ testId, members, value, onChange }: { testId: string; members: Member[]; value: string; onChange: (id: string) => void }) {
  return (
    <select data-testid={testId} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      {members.map((m) => (
        <option key={m.ID} value={m.ID} title={idHex(m.ID)}>
          {m.name || idHex(m.ID)}
        </option>
      ))}
    </select>
  );
}
