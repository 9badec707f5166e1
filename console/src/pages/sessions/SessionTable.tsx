// The table of open sessions shared by the sessions dashboard and a user's page: identity, device,
// address, applications, last activity and, for whoever may, an "end" that asks first.
import { useMutation } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { Confirm, ErrorMessage, formatDate } from '../../ui.tsx';
import { DataTable } from '../../widgets/index.ts';

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
  /** The table's name for screen readers. */
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
      <DataTable
        label={props.caption}
        rows={props.items}
        rowKey={(s) => s.id}
        empty={t('No active session.')}
        columns={[
          { key: 'user', shown: props.showUser === true, header: t('User'), cell: (s) => <Link to={`/users/${s.userId}`}>{s.username ?? s.userId}</Link> },
          { key: 'identity', header: t('Identity'), cell: (s) => (s.identity ? `${s.identity.alias} (${s.identity.kind})` : '—') },
          {
            key: 'device',
            header: t('Device'),
            cell: (s) => (
              <>
                {props.device(s)}
                <div className="small muted">{s.deviceType}</div>
              </>
            ),
          },
          { key: 'ip', header: t('Address'), cell: (s) => s.ip ?? '—' },
          { key: 'applications', header: t('Applications'), cell: (s) => s.applications.map((a) => a.name ?? a.clientId).join(', ') || '—' },
          { key: 'lastActive', header: t('Last active'), cell: (s) => formatDate(s.lastActiveAt) },
          {
            key: 'end',
            shown: can('sessions:end'),
            header: t('End'),
            cell: (s) => (
              <Confirm label={t('End')} title={t('End session')} confirmLabel={t('End session')} danger onConfirm={() => end.mutate(s.id)}>
                {props.endQuestion(s)}
              </Confirm>
            ),
          },
        ]}
      />
    </>
  );
}
