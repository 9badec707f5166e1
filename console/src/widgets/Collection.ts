// An object kind the console lists on one page: how the list is read (whole, or a page at a time),
// its rows and a row's id; with `path`, the list page's address, each object's page being
// `${path}/${id}`. The list page, an object's page and the changes made there all follow from it.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';

/** One page of a list searched on the server: names containing `q`, `limit` of them, after the page `cursor` names. */
export interface PageQuery {
  q?: string;
  limit: number;
  cursor?: string;
}

export interface Collection<D, R> {
  queryKey: string[];
  queryFn(): Promise<D>;
  rows(data: D): R[];
  id(row: R): string;
  /**
   * For a kind a tenant may hold thousands of: the list page reads `size` rows a page, searched and
   * paged on the server, instead of the whole list.
   */
  paged?: { size: number; queryFn(query: PageQuery): Promise<D>; nextCursor(data: D): string | null };
}

export interface ObjectPages<D, R> extends Collection<D, R> {
  path: string;
  /**
   * The query that reads one object for its page, instead of finding it in the whole list; `can`
   * tells what the signed-in person may do. It answers null when there is no such object.
   */
  one?(id: string, can: (permission: string) => boolean): { queryKey: unknown[]; queryFn(): Promise<R | null> };
}

/** A collection, its types inferred from the query and the rows. */
export function collection<D, R>(of: Collection<D, R>): Collection<D, R> {
  return of;
}

/** A collection with a list page and a page per object. */
export function objectPages<D, R>(of: ObjectPages<D, R>): ObjectPages<D, R> {
  return of;
}

/** The list read again, e.g. after an object changed. */
export function useRefresh(of: { queryKey: string[] }) {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: of.queryKey });
}

/** After creating an object: the list read again and the new object's page shown. */
export function useShowCreated<D, R>(of: ObjectPages<D, R>) {
  const refresh = useRefresh(of);
  const navigate = useNavigate();
  return (id: string) => {
    void refresh();
    navigate(`${of.path}/${id}`);
  };
}

/** Deleting the object of a page (`remove`): then the list read again and shown. */
export function useDeleteObject<D, R>(of: ObjectPages<D, R>, remove: () => Promise<unknown>) {
  const refresh = useRefresh(of);
  const navigate = useNavigate();
  return useMutation({
    mutationFn: remove,
    onSuccess: async () => {
      await refresh();
      navigate(of.path);
    },
  });
}
