// Bulk actions over a selection: the bar that says how many are selected and holds the actions,
// a runner that applies one call per item and keeps every item's outcome, and the report of
// those outcomes with each refusal in the API's own words.
import type { ReactNode } from 'react';
import { Button } from 'react-aria-components';
import { ApiError } from '../api/client.ts';
import { t } from '../i18n.ts';

export interface BulkOutcome {
  /** What the item is called on screen (a username). */
  label: string;
  ok: boolean;
  message?: string;
}

export interface BulkRun<T> {
  items: T[];
  labelOf(item: T): string;
  action(item: T): Promise<unknown>;
  onProgress?(done: number): void;
}

/** Runs `action` for each item, one after another, and reports each outcome (never stops at a refusal). */
export async function runForEach<T>({ items, labelOf, action, onProgress }: BulkRun<T>): Promise<BulkOutcome[]> {
  const outcomes: BulkOutcome[] = [];
  for (const item of items) {
    try {
      await action(item);
      outcomes.push({ label: labelOf(item), ok: true });
    } catch (error) {
      const message = error instanceof ApiError ? (error.status === 403 ? t('Not allowed: {reason}', { reason: error.message }) : error.message) : (error as Error).message;
      outcomes.push({ label: labelOf(item), ok: false, message });
    }
    onProgress?.(outcomes.length);
  }
  return outcomes;
}

export function BulkBar(props: { count: number; onClear(): void; children: ReactNode }) {
  if (props.count === 0) return null;
  return (
    <div className="bulk" role="region" aria-label={t('Bulk actions')}>
      <span aria-live="polite">{t('{count} selected', { count: props.count })}</span>
      {props.children}
      <Button className="button small" onPress={props.onClear}>
        {t('Clear selection')}
      </Button>
    </div>
  );
}

export function BulkReport(props: { title: string; outcomes: BulkOutcome[]; onDismiss(): void }) {
  const refused = props.outcomes.filter((o) => !o.ok);
  return (
    <section className="card" aria-label={props.title}>
      <h2>{props.title}</h2>
      <p role="status">{t('{done} done, {refused} refused.', { done: props.outcomes.length - refused.length, refused: refused.length })}</p>
      {refused.length > 0 && (
        <ul className="plain">
          {refused.map((o, i) => (
            <li key={`${o.label}-${i}`}>
              <strong>{o.label}</strong>
              {': '}
              <span className="error">{o.message}</span>
            </li>
          ))}
        </ul>
      )}
      <Button className="button small" onPress={props.onDismiss}>
        {t('Dismiss')}
      </Button>
    </section>
  );
}
