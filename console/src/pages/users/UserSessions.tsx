// A user's active sessions, each with "end", and "end all".
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { Confirm, ErrorMessage, formatDate } from '../../ui.tsx';

export function UserSessions({ userId, username }: { userId: string; username: string }) {
  const can = useCan();
  const sessions = useQuery({ queryKey: ['user-sessions', userId], queryFn: () => unwrap(api.GET('/api/v1/users/{id}/sessions', { params: { path: { id: userId } } })) });
  const refetch = () => void sessions.refetch();
  const end = useMutation({ mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/sessions/{id}', { params: { path: { id } } })), onSuccess: refetch });
  const endAll = useMutation({ mutationFn: () => unwrap(api.DELETE('/api/v1/users/{id}/sessions', { params: { path: { id: userId } } })), onSuccess: refetch });
  const items = sessions.data?.items ?? [];
  return (
    <section aria-labelledby="user-sessions">
      <div className="title-row">
        <h2 id="user-sessions">{t('Sessions')}</h2>
        {can('user-sessions:end') && items.length > 0 && (
          <Confirm label={t('End all sessions')} title={t('End all sessions of {username}', { username })} confirmLabel={t('End {count} sessions', { count: items.length })} danger onConfirm={() => endAll.mutate()}>
            {t("End all {count} sessions of {username}? Their applications' refresh tokens stop working at once.", { count: items.length, username })}
          </Confirm>
        )}
      </div>
      <ErrorMessage error={sessions.error ?? end.error ?? endAll.error} />
      {sessions.data && items.length === 0 && <p>{t('No active session.')}</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t('Sessions of {username}', { username })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('Identity')}</th>
                <th scope="col">{t('Device')}</th>
                <th scope="col">{t('Address')}</th>
                <th scope="col">{t('Applications')}</th>
                <th scope="col">{t('Last active')}</th>
                {can('sessions:end') && <th scope="col">{t('End')}</th>}
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>{s.identity ? `${s.identity.alias} (${s.identity.kind})` : '—'}</td>
                  <td>
                    {[s.browser, s.os].filter(Boolean).join(' · ') || s.deviceType}
                    <div className="small muted">{s.deviceType}</div>
                  </td>
                  <td>{s.ip ?? '—'}</td>
                  <td>{s.applications.map((a) => a.name ?? a.clientId).join(', ') || '—'}</td>
                  <td>{formatDate(s.lastActiveAt)}</td>
                  {can('sessions:end') && (
                    <td>
                      <Confirm label={t('End')} title={t('End session')} confirmLabel={t('End session')} danger onConfirm={() => end.mutate(s.id)}>
                        {t("End this session of {username}? Its applications' refresh tokens stop working at once.", { username })}
                      </Confirm>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
