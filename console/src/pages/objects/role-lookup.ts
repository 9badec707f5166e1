// Roles read by id on a tenant that may hold thousands: each one by itself (roles:read) or, for
// someone who may list roles but not read one, found in the whole list.
import { useQueries, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { useCan } from '../../permissions.tsx';

const allRoles = () => unwrap(api.GET('/api/v1/roles'));
const oneRole = (id: string) => unwrap(api.GET('/api/v1/roles/{id}', { params: { path: { id } } }));

/** The query of the role with this id, for the roles' collection; it answers null when the list does not hold it. */
export function roleQuery(id: string, can: (permission: string) => boolean) {
  const mayRead = can('roles:read');
  return {
    queryKey: ['roles', id, mayRead ? 'read' : 'listed'],
    queryFn: async () => (mayRead ? oneRole(id) : ((await allRoles()).roles.find((r) => r.id === id) ?? null)),
  };
}

/** The names of these roles, as far as the person may read them. */
export function useRoleNames(ids: string[]): Map<string, string> {
  const can = useCan();
  const mayRead = can('roles:read');
  const each = useQueries({ queries: ids.map((id) => ({ queryKey: ['roles', id, 'read'], enabled: mayRead, queryFn: () => oneRole(id) })) });
  const listed = useQuery({ queryKey: ['roles'], enabled: !mayRead && can('roles:list') && ids.length > 0, queryFn: allRoles });
  const found = mayRead ? each.flatMap((r) => (r.data ? [r.data] : [])) : (listed.data?.roles ?? []);
  return new Map(found.map((r) => [r.id, r.name]));
}
