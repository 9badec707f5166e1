// Sign-ins per hour or day as an SVG bar chart (succeeded below, failed stacked on top), named and
// summed up for screen readers, with the same figures as a table. Colours and sizes come from
// ops.css classes and SVG attributes: the console's CSP allows no inline style.
import { useId } from 'react';
import { formatNumber, language, t } from '../../i18n.ts';
import { DataTable } from '../../widgets/index.ts';

export interface ActivityBucket {
  start: string;
  succeeded: number;
  failed: number;
}

const WIDTH = 720;
const HEIGHT = 240;
const LEFT = 44;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 28;

/** A round upper bound for the y axis with four whole-numbered steps of 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  const raw = Math.max(1, value / 4);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].find((m) => m * power >= raw)! * power;
  return Math.max(1, Math.ceil(step)) * 4;
}

export function bucketLabel(start: string, bucket: 'hour' | 'day'): string {
  const date = new Date(start);
  return bucket === 'hour' ? date.toLocaleTimeString(language, { hour: '2-digit', minute: '2-digit' }) : date.toLocaleDateString(language, { month: 'short', day: 'numeric' });
}

function periodLabel(start: string, bucket: 'hour' | 'day'): string {
  const date = new Date(start);
  return bucket === 'hour' ? date.toLocaleString(language, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : date.toLocaleDateString(language, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function SignInChart({ buckets, bucket, title }: { buckets: ActivityBucket[]; bucket: 'hour' | 'day'; title: string }) {
  const id = useId();
  const succeeded = buckets.reduce((n, b) => n + b.succeeded, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.succeeded + b.failed)));
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = plotWidth / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot * 0.7);
  const y = (value: number) => TOP + plotHeight - (value / max) * plotHeight;
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max];
  // About eight labels along the x axis, whatever the number of buckets.
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 8));
  const summary = t('{succeeded} succeeded and {failed} failed sign-ins from {from} to {to}.', {
    succeeded: formatNumber(succeeded),
    failed: formatNumber(failed),
    from: buckets[0] ? periodLabel(buckets[0].start, bucket) : '—',
    to: buckets.length ? periodLabel(buckets[buckets.length - 1]!.start, bucket) : '—',
  });
  return (
    <figure className="chart-figure">
      <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${id}-title ${id}-desc`}>
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{summary}</desc>
        {ticks.map((tick) => (
          <g key={tick}>
            <line className="grid" x1={LEFT} x2={WIDTH - RIGHT} y1={y(tick)} y2={y(tick)} />
            <text className="tick" x={LEFT - 6} y={y(tick) + 4} textAnchor="end">
              {formatNumber(tick)}
            </text>
          </g>
        ))}
        <line className="axis" x1={LEFT} x2={WIDTH - RIGHT} y1={TOP + plotHeight} y2={TOP + plotHeight} />
        {buckets.map((b, i) => {
          const x = LEFT + i * slot + (slot - barWidth) / 2;
          const okTop = y(b.succeeded);
          const failTop = y(b.succeeded + b.failed);
          return (
            <g key={b.start}>
              {b.succeeded > 0 && <rect className="succeeded" x={x} y={okTop} width={barWidth} height={TOP + plotHeight - okTop} />}
              {b.failed > 0 && <rect className="failed" x={x} y={failTop} width={barWidth} height={okTop - failTop} />}
              {i % labelEvery === 0 && (
                <text className="tick" x={x + barWidth / 2} y={HEIGHT - 8} textAnchor="middle">
                  {bucketLabel(b.start, bucket)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className="legend">
          <li>
            <span className="swatch succeeded" aria-hidden="true" />
            {t('Succeeded: {count}', { count: formatNumber(succeeded) })}
          </li>
          <li>
            <span className="swatch failed" aria-hidden="true" />
            {t('Failed: {count}', { count: formatNumber(failed) })}
          </li>
        </ul>
      </figcaption>
      <details>
        <summary>{t('Show the figures as a table')}</summary>
        <DataTable
          caption={title}
          rows={buckets}
          rowKey={(b) => b.start}
          columns={[
            { key: 'period', header: bucket === 'hour' ? t('Hour') : t('Day'), rowHeader: true, cell: (b) => periodLabel(b.start, bucket), foot: t('Total') },
            { key: 'succeeded', header: t('Succeeded'), cell: (b) => formatNumber(b.succeeded), foot: formatNumber(succeeded) },
            { key: 'failed', header: t('Failed'), cell: (b) => formatNumber(b.failed), foot: formatNumber(failed) },
          ]}
        />
      </details>
    </figure>
  );
}
