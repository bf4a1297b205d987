// #/cluster: every member with its status and health, refreshed every second
// while the page is open, and a live chart from the members' /metrics. Other
// members are asked at their own client URLs (the member list gives them; the
// gateway answers cross-origin requests by default, --cors "*"); a member that
// cannot be reached from this browser shows as unhealthy, with the reason.

import { useRef, useState } from 'preact/hooks';
import { errorText } from '../api/client.js';
import type { AlarmResponse, MemberListResponse, StatusResponse } from '../api/types.js';
import { LineChart, type Series } from '../components/line-chart.js';
import { ResponsiveTable } from '../components/table.js';
import { useShell } from '../context.js';
import { usePoll } from '../hooks.js';
import { formatBytes, memberRows, type MemberProbe, type MemberRow } from '../lib/cluster-view.js';
import { parseMetrics } from '../lib/metrics.js';
import { hasHandlingHistogram, ratePoint, type RatePoint, type Scrape } from '../lib/member-rates.js';

const REFRESH_MS = 1000;
const PROBE_TIMEOUT_MS = 1500;
const CHART_WINDOW_MS = 120_000;

interface ChartState {
  names: Map<string, string>;
  points: Map<string, RatePoint[]>;
  extensive: boolean;
}

export function ClusterPage() {
  const { api, showError } = useShell();
  const [rows, setRows] = useState<MemberRow[]>();
  const [chart, setChart] = useState<ChartState>({ names: new Map(), points: new Map(), extensive: false });
  const scrapes = useRef(new Map<string, Scrape>());
  const points = useRef(new Map<string, RatePoint[]>());

  usePoll(async () => {
    let list: MemberListResponse;
    try {
      list = await api.post<MemberListResponse>('/v3/cluster/member/list', {}, { timeoutMs: PROBE_TIMEOUT_MS * 2 });
      showError(undefined);
    } catch (e) {
      showError(`member list: ${errorText(e)}`);
      setRows((old) => old?.map((r) => ({ ...r, healthy: false, leader: false })));
      return;
    }
    const members = list.members ?? [];
    const localId = list.header.member_id;
    const baseOf = (id: string, urls: string[] | undefined): string | undefined => (id === localId ? api.base : urls?.[0]?.replace(/\/+$/, ''));
    const alarmsP = api.post<AlarmResponse>('/v3/maintenance/alarm', { action: 'GET' }, { timeoutMs: PROBE_TIMEOUT_MS }).catch(() => undefined);
    const probes = new Map<string, MemberProbe>();
    let extensive = false;
    await Promise.all(
      members.map(async (m) => {
        const base = baseOf(m.ID, m.clientURLs);
        if (base === undefined) {
          probes.set(m.ID, { status: undefined, healthy: false, error: 'not started (no client URLs yet)' });
          return;
        }
        const [status, health, metrics] = await Promise.allSettled([
          api.post<StatusResponse>('/v3/maintenance/status', {}, { base, timeoutMs: PROBE_TIMEOUT_MS, anonymous: base !== api.base }),
          api.getText('/health', base, PROBE_TIMEOUT_MS),
          api.getText('/metrics', base, PROBE_TIMEOUT_MS),
        ]);
        const healthy = health.status === 'fulfilled' && isHealthy(health.value) && status.status === 'fulfilled';
        const failure = [status, health].find((r): r is PromiseRejectedResult => r.status === 'rejected');
        probes.set(m.ID, {
          status: status.status === 'fulfilled' ? status.value : undefined,
          healthy,
          error: failure ? errorText(failure.reason) : healthy ? undefined : 'reports unhealthy',
        });
        if (metrics.status === 'fulfilled') {
          const scrape = { at: Date.now(), samples: parseMetrics(metrics.value) };
          extensive ||= hasHandlingHistogram(scrape.samples);
          const before = scrapes.current.get(m.ID);
          scrapes.current.set(m.ID, scrape);
          if (before) addPoint(points.current, m.ID, ratePoint(before, scrape));
        } else {
          scrapes.current.delete(m.ID);
          addPoint(points.current, m.ID, gap(Date.now()));
        }
      }),
    );
    const alarms = (await alarmsP)?.alarms ?? [];
    setRows(memberRows(members, probes, alarms));
    setChart({ names: new Map(members.map((m) => [m.ID, m.name || m.ID])), points: new Map(points.current), extensive });
  }, REFRESH_MS);

  const leader = rows?.find((r) => r.leader);
  return (
    <section>
      <p class="summary">
        Leader: <strong data-testid="cluster-leader">{leader ? leader.name || leader.idHex : rows ? 'none' : '…'}</strong>
        {rows && ` · ${rows.length} member${rows.length === 1 ? '' : 's'}`}
      </p>
      {rows === undefined ? (
        <p>Loading…</p>
      ) : (
        <ResponsiveTable name="members" columns={['Name', 'ID', 'Health', 'Role', 'Raft term', 'Raft index', 'Applied', 'DB size / in use', 'Version', 'Alarms', 'Peer URLs', 'Client URLs']}>
          {rows.map((r) => (
            <MemberRowView key={r.id} row={r} />
          ))}
        </ResponsiveTable>
      )}
      <Charts chart={chart} />
    </section>
  );
}

function MemberRowView({ row: r }: { row: MemberRow }) {
  const n = (v: number | undefined): string => (v === undefined ? '–' : String(v));
  return (
    <tr data-testid="member-row" data-member-name={r.name} data-member-id={r.idHex} data-leader={String(r.leader)}>
      <td data-label="Name" data-testid="member-name">
        {r.name || '(unstarted)'}
      </td>
      <td data-label="ID">
        <code>{r.idHex}</code>
      </td>
      <td data-label="Health">
        <span class={r.healthy ? 'ok' : 'bad'} data-testid="member-health" title={r.error}>
          {r.healthy ? 'healthy' : 'unhealthy'}
        </span>
        {r.error && !r.healthy && <small class="why">{r.error}</small>}
      </td>
      <td data-label="Role">{r.leader ? 'leader' : r.learner ? 'learner' : 'follower'}</td>
      <td data-label="Raft term">{n(r.raftTerm)}</td>
      <td data-label="Raft index" data-testid="member-raft-index">
        {n(r.raftIndex)}
      </td>
      <td data-label="Applied">{n(r.appliedIndex)}</td>
      <td data-label="DB size / in use">
        {formatBytes(r.dbSize)} / {formatBytes(r.dbSizeInUse)}
      </td>
      <td data-label="Version">{r.version ?? '–'}</td>
      <td data-label="Alarms">{r.alarms.length ? r.alarms.join(', ') : 'none'}</td>
      <td data-label="Peer URLs">{lines(r.peerUrls)}</td>
      <td data-label="Client URLs">{lines(r.clientUrls)}</td>
    </tr>
  );
}

function Charts({ chart }: { chart: ChartState }) {
  const series = (pick: (p: RatePoint) => number | undefined, suffix = ''): Series[] =>
    [...chart.points].map(([id, pts]) => ({ name: (chart.names.get(id) ?? id) + suffix, points: pts.map((p) => ({ at: p.at, value: pick(p) })) }));
  const ms = (v: number): string => (v < 0.001 ? `${(v * 1e6).toFixed(0)} µs` : `${(v * 1000).toFixed(v < 0.01 ? 2 : 1)} ms`);
  const perSec = (v: number): string => `${v < 10 ? v.toFixed(1) : Math.round(v)}/s`;
  const count = (v: number): string => String(Math.round(v));
  return (
    <div class="charts" data-testid="cluster-chart">
      <LineChart title="Writes per second (proposals applied)" series={series((p) => p.writesPerSec)} unit={perSec} windowMs={CHART_WINDOW_MS} />
      {chart.extensive ? (
        <>
          <LineChart
            title="Read latency (Range) p50 / p99"
            series={[...series((p) => p.readP50, ' p50'), ...series((p) => p.readP99, ' p99')]}
            unit={ms}
            windowMs={CHART_WINDOW_MS}
          />
          <LineChart
            title="Write latency (Put, DeleteRange, Txn) p50 / p99"
            series={[...series((p) => p.writeP50, ' p50'), ...series((p) => p.writeP99, ' p99')]}
            unit={ms}
            windowMs={CHART_WINDOW_MS}
          />
        </>
      ) : (
        <p class="note">Read and write latency percentiles need <code>--metrics extensive</code> on the members; the WAL fsync latency is shown instead.</p>
      )}
      <LineChart title="WAL fsync latency p99" series={series((p) => p.fsyncP99)} unit={ms} windowMs={CHART_WINDOW_MS} />
      <LineChart title="Leader changes seen (total)" series={series((p) => p.leaderChanges)} unit={count} windowMs={CHART_WINDOW_MS} />
    </div>
  );
}

/** One URL per line (a URL never breaks inside). */
function lines(urls: string[]) {
  return urls.map((u, i) => (
    <span key={u}>
      {i > 0 && <br />}
      {u}
    </span>
  ));
}

function isHealthy(body: string): boolean {
  try {
    return (JSON.parse(body) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

function gap(at: number): RatePoint {
  return { at, writesPerSec: undefined, readP50: undefined, readP99: undefined, writeP50: undefined, writeP99: undefined, fsyncP99: undefined, leaderChanges: undefined };
}

function addPoint(all: Map<string, RatePoint[]>, id: string, p: RatePoint): void {
  const list = all.get(id) ?? [];
  list.push(p);
  while (list.length > 0 && list[0]!.at < p.at - CHART_WINDOW_MS) list.shift();
  all.set(id, list);
}
