import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client.ts';
import { ErrorMessage, Loading } from '../ui.tsx';

/** Roles with their permissions grouped by API resource ("gatehouse" is the admin API). */
export function RolesPage() {
  const roles = useQuery({ queryKey: ['roles'], queryFn: () => unwrap(api.GET('/api/v1/roles')) });
  if (roles.isPending) return <Loading />;
  if (roles.error) return <ErrorMessage error={roles.error} />;
  return (
    <>
      <h1>Roles</h1>
      {roles.data.roles.map((role) => {
        const byResource = new Map<string, string[]>();
        for (const p of role.permissions) byResource.set(p.resource, [...(byResource.get(p.resource) ?? []), p.permission]);
        return (
          <article className="card" key={role.id} aria-labelledby={`role-${role.id}`}>
            <h2 id={`role-${role.id}`}>
              {role.name} {role.system && <span className="badge">system, read-only</span>}
            </h2>
            {role.description && <p>{role.description}</p>}
            {[...byResource].map(([resource, permissions]) => (
              <details key={resource}>
                <summary>
                  {resource} — {permissions.length} {permissions.length === 1 ? 'permission' : 'permissions'}
                </summary>
                <p className="mono small">{permissions.join(' ')}</p>
              </details>
            ))}
            {byResource.size === 0 && <p className="muted">No permission.</p>}
          </article>
        );
      })}
    </>
  );
}
