// A small SVG line chart (no chart library: a few polylines and two axis
// labels). Gaps (undefined values) break a line.

export interface Series {
  name: string;
  points: { at: number; value: number | undefined }[];
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];
const W = 320;
const H = 120;
const PAD = { left: 56, right: 6, top: 8, bottom: 18 };

export function LineChart({ title, series, unit, windowMs }: { title: string; series: Series[]; unit: (v: number) => string; windowMs: number }) {
  const end = Math.max(Date.now(), ...series.flatMap((s) => s.points.map((p) => p.at)));
  const start = end - windowMs;
  const values = series.flatMap((s) => s.points.filter((p) => p.at >= start).map((p) => p.value)).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const max = Math.max(...values, 0) || 1;
  const x = (at: number): number => PAD.left + ((at - start) / windowMs) * (W - PAD.left - PAD.right);
  const y = (v: number): number => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const last = (s: Series): number | undefined => [...s.points].reverse().find((p) => p.value !== undefined)?.value;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title} over the last ${Math.round(windowMs / 1000)} seconds`}>
        <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} class="axis" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} class="axis" />
        <text x={PAD.left - 4} y={PAD.top + 8} class="tick" text-anchor="end">
          {values.length ? unit(max) : '–'}
        </text>
        <text x={PAD.left - 4} y={H - PAD.bottom} class="tick" text-anchor="end">
          0
        </text>
        <text x={W - PAD.right} y={H - 4} class="tick" text-anchor="end">
          now
        </text>
        {series.map((s, i) =>
          segments(s.points.filter((p) => p.at >= start)).map((seg, j) => (
            <polyline
              key={`${s.name}-${j}`}
              fill="none"
              stroke={COLORS[i % COLORS.length]}
              stroke-width="1.5"
              points={seg.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}
            />
          )),
        )}
      </svg>
      <ul class="legend">
        {series.map((s, i) => {
          const v = last(s);
          return (
            <li key={s.name}>
              <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} />
              {s.name}: {v === undefined ? '–' : unit(v)}
            </li>
          );
        })}
      </ul>
    </figure>
  );
}

function segments(points: Series['points']): { at: number; value: number }[][] {
  const out: { at: number; value: number }[][] = [];
  let cur: { at: number; value: number }[] = [];
  for (const p of points) {
    if (p.value === undefined || !Number.isFinite(p.value)) {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push({ at: p.at, value: p.value });
  }
  if (cur.length) out.push(cur);
  return out;
}
