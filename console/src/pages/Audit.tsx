import { useMutation, useQuery } from '@tanstack/react-query';
import { Button } from 'react-aria-components';
import { ApiError, api, unwrap } from '../api/client.ts';
import { formatNumber, t } from '../i18n.ts';
import { FilterForm, PagingFooter, useFilteredPages } from '../paging.tsx';
import { useCan } from '../permissions.tsx';
import { ErrorMessage, Field, Loading, formatDate } from '../ui.tsx';
import { DataTable, SelectField } from '../widgets/index.ts';
import { fileNameOf, saveBlob } from './ops/download.ts';
import './ops/ops.css';

interface AuditFilters {
  action: string;
  actor: string;
  target: string;
  result: '' | 'success' | 'failure';
  /** datetime-local values, in the browser's time zone. */
  from: string;
  to: string;
}

const NO_FILTERS: AuditFilters = { action: '', actor: '', target: '', result: '', from: '', to: '' };

/** The API's query for the filters: empty fields left out, local times as ISO 8601 instants. */
function toQuery(filters: AuditFilters) {
  const instant = (local: string) => (local ? new Date(local).toISOString() : undefined);
  return {
    action: filters.action.trim() || undefined,
    actor: filters.actor.trim() || undefined,
    target: filters.target.trim() || undefined,
    result: filters.result || undefined,
    from: instant(filters.from),
    to: instant(filters.to),
  };
}

function resultLabel(result: 'success' | 'failure'): string {
  return result === 'success' ? t('Success') : t('Failure');
}

/** Verifies the hash chain on demand and says what it found. */
function ChainVerification() {
  const verify = useMutation({ mutationFn: () => unwrap(api.GET('/api/v1/audit-events/verification')) });
  const result = verify.data;
  return (
    <section className="chain" aria-labelledby="chain-heading">
      <h2 id="chain-heading">{t('Hash chain')}</h2>
      <div className="tools">
        <Button className="button" isDisabled={verify.isPending} onPress={() => verify.mutate()}>
          {verify.isPending ? t('Verifying…') : t('Verify the chain')}
        </Button>
        <span className="small muted">{t('Every event is linked to the one before it by a hash, so a changed or removed event breaks the chain.')}</span>
      </div>
      <div role="status">
        {result &&
          (result.intact ? (
            <p className="verification intact">{t('The chain is intact: {count} events of this tenant verified at {time}.', { count: formatNumber(result.checked), time: formatDate(result.verifiedAt) })}</p>
          ) : (
            <p className="verification broken">
              {result.brokenAt?.id
                ? t('The chain is broken at event {id}: {reason}', { id: result.brokenAt.id, reason: result.brokenAt.field === 'hash' ? t('its content was changed.') : t('an event before it was removed or reordered.') })
                : t("The chain is broken at another tenant's event; ask the operator to run gatehouse audit verify.")}
            </p>
          ))}
      </div>
      <ErrorMessage error={verify.error} />
    </section>
  );
}

type AuditEventRow = { id: string; occurredAt: string; action: string; result: 'success' | 'failure'; actorType: string; actorId: string | null; targetType: string | null; targetId: string | null; ip: string | null };

function EventTable({ events }: { events: AuditEventRow[] }) {
  if (events.length === 0) return <p>{t('No event matches these filters.')}</p>;
  return (
    <DataTable
      rows={events}
      rowKey={(e) => e.id}
      columns={[
        { key: 'when', header: t('When'), cell: (e) => formatDate(e.occurredAt) },
        { key: 'action', header: t('Action'), className: 'mono action', cell: (e) => e.action },
        { key: 'result', header: t('Result'), cell: (e) => resultLabel(e.result) },
        {
          key: 'actor',
          header: t('Actor'),
          className: 'small',
          cell: (e) => (
            <>
              {e.actorType} <span className="mono">{e.actorId ?? ''}</span>
            </>
          ),
        },
        {
          key: 'target',
          header: t('Target'),
          className: 'small',
          cell: (e) => (
            <>
              {e.targetType ?? ''} <span className="mono">{e.targetId ?? ''}</span>
            </>
          ),
        },
        { key: 'address', header: t('Address'), cell: (e) => e.ip ?? '—' },
      ]}
    />
  );
}

export function AuditPage() {
  const can = useCan();
  const { pages, draft, setDraft, filters, apply, clear } = useFilteredPages<AuditFilters>(NO_FILTERS);
  const query = toQuery(filters);
  const list = useQuery({
    queryKey: ['audit', query, pages.cursor],
    queryFn: () => unwrap(api.GET('/api/v1/audit-events', { params: { query: { ...query, cursor: pages.cursor, limit: 50 } } })),
  });
  const exporting = useMutation({
    mutationFn: async (format: 'csv' | 'json') => {
      const { data, error, response } = await api.GET('/api/v1/audit-events/export', { params: { query: { ...query, format } }, parseAs: 'blob' });
      if (error !== undefined || !response.ok || !data) throw new ApiError(response.status, 'export_failed', t('The export failed ({status}).', { status: response.status }));
      saveBlob(data, fileNameOf(response, `audit-events.${format}`));
    },
  });
  const set = (field: keyof AuditFilters) => (value: string) => setDraft({ ...draft, [field]: value });
  return (
    <>
      <h1>{t('Audit log')}</h1>
      <p>{t('Who did what, and when: newest first.')}</p>
      <FilterForm label={t('Filter audit events')} submitLabel={t('Search')} onApply={apply} onClear={clear}>
        <Field label={t('Action (e.g. user.created or user.*)')} name="action" value={draft.action} onChange={set('action')} />
        <Field label={t('Actor id')} name="actor" value={draft.actor} onChange={set('actor')} />
        <Field label={t('Target id')} name="target" value={draft.target} onChange={set('target')} />
        <SelectField
          compact
          label={t('Result')}
          value={draft.result || 'any'}
          choices={[
            { id: 'any', label: t('Any result') },
            { id: 'success', label: t('Success') },
            { id: 'failure', label: t('Failure') },
          ]}
          onChange={(v) => setDraft({ ...draft, result: v === 'any' ? '' : (v as 'success' | 'failure') })}
        />
        <Field label={t('From')} name="from" type="datetime-local" value={draft.from} onChange={set('from')} />
        <Field label={t('Until')} name="to" type="datetime-local" value={draft.to} onChange={set('to')} />
      </FilterForm>
      {can('audit-events:export') && (
        <div className="tools">
          <span className="muted">{t('Download the events matching these filters:')}</span>
          <Button className="button" isDisabled={exporting.isPending} onPress={() => exporting.mutate('csv')}>
            {t('Export CSV')}
          </Button>
          <Button className="button" isDisabled={exporting.isPending} onPress={() => exporting.mutate('json')}>
            {t('Export JSON')}
          </Button>
        </div>
      )}
      {can('audit-chain:read') && <ChainVerification />}
      <ErrorMessage error={list.error ?? exporting.error} />
      {list.isPending ? <Loading /> : list.data && <EventTable events={list.data.events} />}
      <PagingFooter pages={pages} nextCursor={list.data?.nextCursor} label={t('Pages of audit events')} />
    </>
  );
}
