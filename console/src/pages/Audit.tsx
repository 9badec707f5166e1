import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Button, Input, Label, SearchField } from 'react-aria-components';
import { api, unwrap } from '../api/client.ts';
import { ErrorMessage, Loading, formatDate } from '../ui.tsx';

export function AuditPage() {
  const [action, setAction] = useState('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const list = useQuery({
    queryKey: ['audit', action, cursor],
    queryFn: () => unwrap(api.GET('/api/v1/audit-events', { params: { query: { action: action || undefined, cursor, limit: 50 } } })),
  });
  return (
    <>
      <h1>Audit log</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <SearchField
          className="field"
          value={action}
          onChange={(v) => {
            setAction(v);
            setCursors([undefined]);
          }}
        >
          <Label>Action (e.g. user.created)</Label>
          <Input />
        </SearchField>
      </form>
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        list.data && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Action</th>
                  <th scope="col">Result</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Target</th>
                  <th scope="col">Address</th>
                </tr>
              </thead>
              <tbody>
                {list.data.events.map((e) => (
                  <tr key={e.id}>
                    <td>{formatDate(e.occurredAt)}</td>
                    <td className="mono">{e.action}</td>
                    <td>{e.result}</td>
                    <td className="small">
                      {e.actorType} {e.actorId ?? ''}
                    </td>
                    <td className="small">
                      {e.targetType ?? ''} {e.targetId ?? ''}
                    </td>
                    <td>{e.ip ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
      <nav className="pager" aria-label="Pages of audit events">
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
