// The admin API's object kinds with a list page and a page per object in the console. A kind is
// listed whole at GET /api/v1/{kind}, its objects under the kind's name in camel case, each with an
// id (unless the kind says otherwise) and a name; an object is deleted at DELETE /api/v1/{kind}/{id}.
// The console shows the list at /{kind}, each object at /{kind}/{id}, and the list's first column is
// the object's name, linked to its page. The kind's permissions are named {kind}:{action}.
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client.ts';
import type { paths } from '../../api/schema';
import { t } from '../../i18n.ts';
import { objectPages, type Column, type ObjectPages, type ObjectPagesSource, type PageLabels } from '../../widgets/index.ts';

type Kind = 'applications' | 'groups' | 'roles' | 'service-accounts';

/** 'service-accounts' → 'serviceAccounts'. */
type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;

/** What GET /api/v1/{kind} answers, and one object of its list. */
type ListOf<K extends Kind> = paths[`/api/v1/${K}`]['get']['responses'][200]['content']['application/json'];
type RowOf<K extends Kind> = ListOf<K>[Camel<K> & keyof ListOf<K>] extends (infer R)[] ? R : never;

/** A row's id: said by the kind when its objects have none named `id`. */
type IdOf<R> = R extends { id: string } ? { id?(row: R): string } : { id(row: R): string };

/** What a kind says beyond its name: what its pages say (deleting an object too), the list's columns after the name, a row's id, and how it is paged or read one by one. */
type KindSource<K extends Kind> = { labels: PageLabels; columns(): Column<RowOf<K>>[] } & IdOf<RowOf<K>> & Pick<ObjectPagesSource<ListOf<K>, RowOf<K>>, 'deletion' | 'paged' | 'one'>;

export function adminObjects<K extends Kind>(kind: K, of: KindSource<K>): ObjectPages<ListOf<K>, RowOf<K>> {
  type R = RowOf<K>;
  const path = `/${kind}`;
  const key = kind.replace(/-(.)/g, (_, letter: string) => letter.toUpperCase());
  // The list path and its {id} path of one kind of the union above, as openapi-fetch types them.
  const list = `/api/v1/${kind}` as '/api/v1/groups';
  const one = `/api/v1/${kind}/{id}` as '/api/v1/groups/{id}';
  const field = (row: R, name: string) => (row as Record<string, string>)[name];
  const id = (of as { id?(row: R): string }).id ?? ((row: R) => field(row, 'id'));
  return objectPages<ListOf<K>, R>(
    {
      queryKey: [kind],
      queryFn: async () => (await unwrap(api.GET(list))) as unknown as ListOf<K>,
      rows: (data) => (data as unknown as Record<string, R[]>)[key],
      id,
      paged: of.paged,
      one: of.one,
      path,
      remove: (id) => unwrap(api.DELETE(one, { params: { path: { id } } })),
      permissions: { create: `${kind}:create`, update: `${kind}:update`, delete: `${kind}:delete` },
      deletion: of.deletion,
      columns: () => [{ key: 'name', header: t('Name'), cell: (row) => <Link to={`${path}/${encodeURIComponent(id(row))}`}>{field(row, 'name')}</Link> }, ...of.columns()],
    },
    of.labels,
  );
}
