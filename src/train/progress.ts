/**
 * Progress text for training and sampling: a one-line bar for terminals (redrawn in place) and
 * plain lines for logs. Pure formatting, browser-safe; the CLI decides where the text goes.
 */
import type { StepProgress, LogRecord } from './trainer.ts';

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--:--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

/** A number in about 4 significant digits (scientific notation when very small or large). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toPrecision(4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/**
 * The bar: ` 412/1500 |█████████▌              |  27% loss 0.4121  · lr 9.8e-4 ·  23.1 it/s · 0:18 < 0:47`
 * (`width` is the whole line's width in characters).
 */
export function progressBar(p: StepProgress, width = 100): string {
  const frac = p.total > 0 ? Math.min(1, p.step / p.total) : 0;
  const count = `${String(p.step).padStart(String(p.total).length)}/${p.total}`;
  // fixed-width fields, so that the bar does not jitter as the numbers change
  const tail = ` ${String(Math.floor(frac * 100)).padStart(3)}% loss ${formatNumber(p.loss).padEnd(7)} · lr ${p.lr.toExponential(1)} · ${p.stepsPerSec.toFixed(1).padStart(5)} it/s · ${formatDuration(p.elapsedSec)} < ${formatDuration(p.etaSec)}`;
  const barWidth = Math.max(10, Math.min(40, width - count.length - tail.length - 4));
  const cells = frac * barWidth;
  const full = Math.floor(cells);
  const partial = ' ▏▎▍▌▋▊▉'[Math.floor((cells - full) * 8)] ?? '';
  const bar = '█'.repeat(full) + (full < barWidth ? partial : '') + ' '.repeat(Math.max(0, barWidth - full - 1));
  return `${count} |${bar.slice(0, barWidth)}|${tail}`;
}

/** One plain line per logging step (for CI and log files). */
export function logLine(r: LogRecord, total: number): string {
  const ev = Object.entries(r.eval ?? {}).map(([k, v]) => ` · ${k} ${formatNumber(v)}`).join('');
  return `step ${String(r.step).padStart(String(total).length)}/${total} · loss ${formatNumber(r.loss)} · lr ${formatNumber(r.lr)} · ${r.stepsPerSec.toFixed(1)} it/s · ${formatDuration(r.elapsedSec)}${ev}`;
}
