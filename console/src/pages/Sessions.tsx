import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Button } from 'react-aria-components';
import { api, unwrap } from '../api/client.ts';
import { useCan } from '../permissions.tsx';
import { Confirm, ErrorMessage, Loading, formatDate } from '../ui.tsx';

interface SessionRow {
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

export function SessionTable({ items, onEnded, showUser = false }: { items: SessionRow[]; onEnded(): void; showUser?: boolean }) {
  const can = useCan();
  const end = useMutation({ mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/sessions/{id}', { params: { path: { id } } })), onSuccess: onEnded });
  if (items.length === 0) return <p>No active session.</p>;
  return (
    <>
      <ErrorMessage error={end.error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              {showUser && <th scope="col">User</th>}
              <th scope="col">Identity</th>
              <th scope="col">Device</th>
              <th scope="col">Address</th>
              <th scope="col">Applications</th>
              <th scope="col">Last active</th>
              {can('sessions:end') && <th scope="col">End</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id}>
                {showUser && (
                  <td>
                    <Link to={`/users/${s.userId}`}>{s.username ?? s.userId}</Link>
                  </td>
                )}
                <td>{s.identity ? `${s.identity.alias} (${s.identity.kind})` : '—'}</td>
                <td>
                  {[s.browser, s.os].filter(Boolean).join(' on ') || s.deviceType}
                  <div className="small muted">{s.deviceType}</div>
                </td>
                <td>{s.ip ?? '—'}</td>
                <td>{s.applications.map((a) => a.name ?? a.clientId).join(', ') || '—'}</td>
                <td>{formatDate(s.lastActiveAt)}</td>
                {can('sessions:end') && (
                  <td>
                    <Confirm label="End" title="End session" confirmLabel="End session" danger onConfirm={() => end.mutate(s.id)}>
                      End this session of {s.username ?? 'the user'}? Its applications' refresh tokens stop working at once.
                    </Confirm>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function SessionsPage() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const list = useQuery({ queryKey: ['sessions', cursor], queryFn: () => unwrap(api.GET('/api/v1/sessions', { params: { query: { cursor, limit: 50 } } })) });
  return (
    <>
      <h1>Sessions</h1>
      <p>Every active session, most recently active first.</p>
      <ErrorMessage error={list.error} />
      {list.isPending ? <Loading /> : list.data && <SessionTable items={list.data.items} showUser onEnded={() => void list.refetch()} />}
      <nav className="pager" aria-label="Pages of sessions">
        <Button className="button" isDisabled={cursors.length === 1} onPress={() => setCursors((c) => c.slice(0, -1))}>
          Previous page
        </Button>
        <Button className="button" isDisabled={!list.data?.nextCursor} onPress={() => setCursors((c) => [...c, list.data?.nextCursor ?? undefined])}>
          Next page
        </Button>
      </nav>
    </>
  );
}
