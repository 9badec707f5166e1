// Read views of groups, applications and service accounts.
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client.ts';
import { ErrorMessage, Loading, formatDate } from '../ui.tsx';

export function GroupsPage() {
  const groups = useQuery({ queryKey: ['groups'], queryFn: () => unwrap(api.GET('/api/v1/groups')) });
  return (
    <>
      <h1>Groups</h1>
      <ErrorMessage error={groups.error} />
      {groups.isPending ? (
        <Loading />
      ) : (
        groups.data && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Members</th>
                </tr>
              </thead>
              <tbody>
                {groups.data.groups.map((g) => (
                  <tr key={g.id}>
                    <td>{g.name}</td>
                    <td>{g.type}</td>
                    <td>{g.roles.map((r) => r.name).join(', ') || '—'}</td>
                    <td>{g.memberCount}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
    </>
  );
}

export function ApplicationsPage() {
  const apps = useQuery({ queryKey: ['applications'], queryFn: () => unwrap(api.GET('/api/v1/applications')) });
  return (
    <>
      <h1>Applications</h1>
      <ErrorMessage error={apps.error} />
      {apps.isPending ? (
        <Loading />
      ) : (
        apps.data && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Client id</th>
                  <th scope="col">Type</th>
                  <th scope="col">Redirect URIs</th>
                </tr>
              </thead>
              <tbody>
                {apps.data.applications.map((a) => (
                  <tr key={a.clientId}>
                    <td>{a.name}</td>
                    <td className="mono">{a.clientId}</td>
                    <td>
                      {a.type}
                      {a.confidential ? ', confidential' : ', public'}
                    </td>
                    <td className="small">{a.redirectUris.join(' ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
    </>
  );
}

export function ServiceAccountsPage() {
  const accounts = useQuery({ queryKey: ['service-accounts'], queryFn: () => unwrap(api.GET('/api/v1/service-accounts')) });
  return (
    <>
      <h1>Service accounts</h1>
      <ErrorMessage error={accounts.error} />
      {accounts.isPending ? (
        <Loading />
      ) : (
        accounts.data && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Client id</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {accounts.data.serviceAccounts.map((s) => (
                  <tr key={s.id}>
                    <td>{s.name}</td>
                    <td className="mono">{s.id}</td>
                    <td>{s.status}</td>
                    <td>{formatDate(s.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
    </>
  );
}
