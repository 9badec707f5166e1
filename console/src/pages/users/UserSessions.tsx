// A user's active sessions, each with "end", and "end all".
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { Confirm, ErrorMessage } from '../../ui.tsx';
import { SessionTable } from '../sessions/SessionTable.tsx';

export function UserSessions({ userId, username }: { userId: string; username: string }) {
  const can = useCan();
  const sessions = useQuery({ queryKey: ['user-sessions', userId], queryFn: () => unwrap(api.GET('/api/v1/users/{id}/sessions', { params: { path: { id: userId } } })) });
  const refetch = () => void sessions.refetch();
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
      <ErrorMessage error={sessions.error ?? endAll.error} />
      {sessions.data && (
        <SessionTable
          items={items}
          caption={t('Sessions of {username}', { username })}
          device={(s) => [s.browser, s.os].filter(Boolean).join(' · ') || s.deviceType}
          endQuestion={() => t("End this session of {username}? Its applications' refresh tokens stop working at once.", { username })}
          onEnded={refetch}
        />
      )}
    </section>
  );
}
