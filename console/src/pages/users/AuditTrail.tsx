// The audit events whose target is the user, newest first, in keyset pages.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Button } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { ErrorMessage, formatDate } from '../../ui.tsx';

export function AuditTrail({ userId }: { userId: string }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const events = useQuery({
    queryKey: ['user-audit', userId, cursor],
    queryFn: () => unwrap(api.GET('/api/v1/audit-events', { params: { query: { target: userId, limit: 20, ...(cursor ? { cursor } : {}) } } })),
  });
  const items = events.data?.events ?? [];
  return (
    <section aria-labelledby="user-audit">
      <h2 id="user-audit">{t('Audit trail')}</h2>
      <ErrorMessage error={events.error} />
      {events.data && items.length === 0 && <p>{t('No event about this user.')}</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t('Audit trail')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('When')}</th>
                <th scope="col">{t('Action')}</th>
                <th scope="col">{t('Result')}</th>
                <th scope="col">{t('By')}</th>
                <th scope="col">{t('Address')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td>{formatDate(e.occurredAt)}</td>
                  <td className="mono">{e.action}</td>
                  <td>{e.result === 'success' ? t('success') : t('failure')}</td>
                  <td className="small">{e.actorId ? `${e.actorType} ${e.actorId}` : e.actorType}</td>
                  <td>{e.ip ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(cursors.length > 1 || events.data?.nextCursor) && (
        <nav className="pager" aria-label={t('Pages of audit events')}>
          <Button className="button" isDisabled={cursors.length === 1} onPress={() => setCursors((c) => c.slice(0, -1))}>
            {t('Newer events')}
          </Button>
          <Button className="button" isDisabled={!events.data?.nextCursor} onPress={() => setCursors((c) => [...c, events.data?.nextCursor ?? undefined])}>
            {t('Older events')}
          </Button>
        </nav>
      )}
    </section>
  );
}
