// The audit events whose target is the user, newest first, in keyset pages.
import { useQuery } from '@tanstack/react-query';
import { Button } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCursorPages } from '../../paging.tsx';
import { ErrorMessage, formatDate } from '../../ui.tsx';
import { DataTable } from '../../widgets/index.ts';

export function AuditTrail({ userId }: { userId: string }) {
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const events = useQuery({
    queryKey: ['user-audit', userId, cursor],
    queryFn: () => unwrap(api.GET('/api/v1/audit-events', { params: { query: { target: userId, limit: 20, ...(cursor ? { cursor } : {}) } } })),
  });
  const nextCursor = events.data?.nextCursor;
  return (
    <section aria-labelledby="user-audit">
      <h2 id="user-audit">{t('Audit trail')}</h2>
      <ErrorMessage error={events.error} />
      {events.data &&
        (events.data.events.length === 0 ? (
          <p>{t('No event about this user.')}</p>
        ) : (
          <DataTable
            caption={t('Audit trail')}
            rows={events.data.events}
            rowKey={(e) => e.id}
            columns={[
              { key: 'when', header: t('When'), cell: (e) => formatDate(e.occurredAt) },
              { key: 'action', header: t('Action'), className: 'mono', cell: (e) => e.action },
              { key: 'result', header: t('Result'), cell: (e) => (e.result === 'success' ? t('success') : t('failure')) },
              { key: 'by', header: t('By'), className: 'small', cell: (e) => (e.actorId ? `${e.actorType} ${e.actorId}` : e.actorType) },
              { key: 'address', header: t('Address'), cell: (e) => e.ip ?? '—' },
            ]}
          />
        ))}
      {(pages.page > 1 || nextCursor) && (
        <nav className="pager" aria-label={t('Pages of audit events')}>
          <Button className="button" isDisabled={pages.page === 1} onPress={pages.previous}>
            {t('Newer events')}
          </Button>
          <Button className="button" isDisabled={!nextCursor} onPress={() => nextCursor && pages.next(nextCursor)}>
            {t('Older events')}
          </Button>
        </nav>
      )}
    </section>
  );
}
