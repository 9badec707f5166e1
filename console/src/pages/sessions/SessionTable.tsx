// The table of open sessions shared by the sessions dashboard and a user's page: identity, device,
// address, applications, last activity and, for whoever may, an "end" that asks first.
import { useMutation } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { Confirm, ErrorMessage, formatDate } from '../../ui.tsx';

export interface SessionRow {
  id: string;
  userId: string;
  username: string | null;
  identity: { alias: string; kind: string } | null;
  deviceType: string;
  browser: string | null;
  os: string | null;
  ip: string | null;
  lastActiveAt: string;
  applications: { clientId: string; name?: string }[];
}

export function SessionTable(props: {
  items: SessionRow[];
  onEnded(): void;
  /** A user column, for a list of many users' sessions. */
  showUser?: boolean;
  /** A caption for screen readers. */
  caption?: string;
  /** The device a session runs on, as the page names it. */
  device(session: SessionRow): string;
  /** The question the "end" button asks. */
  endQuestion(session: SessionRow): string;
}) {
  const can = useCan();
  const end = useMutation({ mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/sessions/{id}', { params: { path: { id } } })), onSuccess: props.onEnded });
  return (
    <>
      <ErrorMessage error={end.error} />
      {props.items.length === 0 ? (
        <p>{t('No active session.')}</p>
      ) : (
        <div className="table-wrap">
          <table>
            {props.caption && <caption className="visually-hidden">{props.caption}</caption>}
            <thead>
              <tr>
                {props.showUser && <th scope="col">{t('User')}</th>}
                <th scope="col">{t('Identity')}</th>
                <th scope="col">{t('Device')}</th>
                <th scope="col">{t('Address')}</th>
                <th scope="col">{t('Applications')}</th>
                <th scope="col">{t('Last active')}</th>
                {can('sessions:end') && <th scope="col">{t('End')}</th>}
              </tr>
            </thead>
            <tbody>
              {props.items.map((s) => (
                <tr key={s.id}>
                  {props.showUser && (
                    <td>
                      <Link to={`/users/${s.userId}`}>{s.username ?? s.userId}</Link>
                    </td>
                  )}
                  <td>{s.identity ? `${s.identity.alias} (${s.identity.kind})` : '—'}</td>
                  <td>
                    {props.device(s)}
                    <div className="small muted">{s.deviceType}</div>
                  </td>
                  <td>{s.ip ?? '—'}</td>
                  <td>{s.applications.map((a) => a.name ?? a.clientId).join(', ') || '—'}</td>
                  <td>{formatDate(s.lastActiveAt)}</td>
                  {can('sessions:end') && (
                    <td>
                      <Confirm label={t('End')} title={t('End session')} confirmLabel={t('End session')} danger onConfirm={() => end.mutate(s.id)}>
                        {props.endQuestion(s)}
                      </Confirm>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
