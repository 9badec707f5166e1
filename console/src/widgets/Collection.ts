// An object kind the console lists on one page: how the list is read (whole, or a page at a time),
// its rows and a row's id; with `path`, the list page's address, each object's page being
// `${path}/${id}`. The list page, an object's page and the changes made there all follow from it.
import { useEffect, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useCan } from '../permissions.tsx';
import type { Column } from './DataTable.tsx';

/** One page of a list searched on the server: names containing `q`, `limit` of them, after the page `cursor` names. */
export interface PageQuery {
  q?: string;
  limit: number;
  cursor?: string;
}

/** What a list page says: its title (the h1 and the table's name) and the line shown when the list is empty. Functions, so that they are translated when shown. */
export interface ListLabels {
  title(): string;
  empty(): string;
}

/** How a collection is read. */
export interface CollectionSource<D, R> {
  queryKey: string[];
  queryFn(): Promise<D>;
  rows(data: D): R[];
  id(row: R): string;
  /**
   * For a kind a tenant may hold thousands of: the list page reads `size` rows a page, searched and
   * paged on the server, instead of the whole list.
   */
  paged?: { size: number; queryFn(query: PageQuery): Promise<D>; nextCursor(data: D): string | null };
  /** The list page's columns, when the collection says them itself. */
  columns?(): Column<R>[];
}

export interface Collection<D, R> extends CollectionSource<D, R> {
  labels: ListLabels;
}

/**
 * The "Delete" section of an object's page: its id, the button's label (the confirmation's too), the
 * question asked first, and what it says follows.
 */
export interface Deletion<R> {
  id: string;
  label(): string;
  title(object: R): string;
  note(): string;
}

/** Besides the list page's: an object's page's link back to the list, and the alert when there is no such object. */
export interface PageLabels extends ListLabels {
  back(): string;
  missing(): string;
}

export interface ObjectPagesSource<D, R> extends CollectionSource<D, R> {
  path: string;
  /** Deletes the object `id` names. */
  remove(id: string): Promise<unknown>;
  /** The permissions to create an object, to change one on its page and to delete one. */
  permissions: { create: string; update: string; delete: string };
  /** What deleting an object says on its page. */
  deletion: Deletion<R>;
  /**
   * The query that reads one object for its page, instead of finding it in the whole list; `can`
   * tells what the signed-in person may do. It answers null when there is no such object.
   */
  one?(id: string, can: (permission: string) => boolean): { queryKey: unknown[]; queryFn(): Promise<R | null> };
}

export interface ObjectPages<D, R> extends ObjectPagesSource<D, R> {
  labels: PageLabels;
}

/** The type of a collection's objects. */
export type ObjectOf<C> = C extends { id(row: infer R): string } ? R : never;

/** A collection and what its list page says, its types inferred from the query and the rows. */
export function collection<D, R>(of: CollectionSource<D, R>, labels: ListLabels): Collection<D, R> {
  return { ...of, labels };
}

/** A collection with a list page and a page per object, and what those pages say. */
export function objectPages<D, R>(of: ObjectPagesSource<D, R>, labels: PageLabels): ObjectPages<D, R> {
  return { ...of, labels };
}

/** The list read again, e.g. after an object changed. */
export function useRefresh(of: { queryKey: string[] }) {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: of.queryKey });
}

/**
 * The form that changes an object on its page: its fields start from the object, and again whenever
 * the object is read again; saving `store`s them, then the list is read again. It is `editable` for
 * whoever holds the collection's permission to change an object.
 */
export function useObjectForm<D, R, F>(of: ObjectPages<D, R>, object: object, fields: () => F, store: (form: F) => Promise<unknown>) {
  const can = useCan();
  const refresh = useRefresh(of);
  const [form, setForm] = useState(fields);
  useEffect(() => setForm(fields()), [object]);
  const save = useMutation({ mutationFn: () => store(form), onSuccess: refresh });
  return { form, setForm, save, refresh, editable: can(of.permissions.update) };
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

/** Deleting the object `id` names: then the list read again and shown. */
export function useDeleteObject<D, R>(of: ObjectPages<D, R>, id: string) {
  const refresh = useRefresh(of);
  const navigate = useNavigate();
  return useMutation({
    mutationFn: () => of.remove(id),
    onSuccess: async () => {
      await refresh();
      navigate(of.path);
    },
  });
}
