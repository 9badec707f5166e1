// A list of objects read by one query: the title row (the heading and its create action), what
// the page says before the list, then the labelled table or the query's loading or error state;
// a list read a page at a time has its search form above the table and its pager under it.
import { useState, type ReactNode } from 'react';
import { keepPreviousData, useQuery, type UseQueryResult } from '@tanstack/react-query';
import { Input, Label, SearchField } from 'react-aria-components';
import { PagingFooter, useCursorPages } from '../paging.tsx';
import { useCan } from '../permissions.tsx';
import { ActionForm } from './ActionForm.tsx';
import type { Collection, ObjectPages } from './Collection.ts';
import { DataTable, type Column } from './DataTable.tsx';
import { CreateDialog, type CreateSpec } from './FormDialog.tsx';
import { QueryView } from './QueryView.tsx';

interface TableOf<T, R> {
  query: UseQueryResult<T>;
  rows(data: T): R[];
  rowKey(row: R): string;
  columns: Column<R>[];
  empty: string;
}

/** The table of a query's rows, once the query has answered. */
export function QueryTable<T, R>(props: TableOf<T, R> & { label: string }) {
  return <QueryView query={props.query}>{(data) => <DataTable label={props.label} rows={props.rows(data)} rowKey={props.rowKey} empty={props.empty} columns={props.columns} />}</QueryView>;
}

/** The table of a collection's rows once `query` has read them, named by the collection's title, or the collection's line for no rows. */
export function CollectionTable<T, R>(props: { of: Collection<T, R>; query: UseQueryResult<T>; columns: Column<R>[] }) {
  const { of } = props;
  return <QueryTable label={of.labels.title()} query={props.query} rows={of.rows} rowKey={of.id} empty={of.labels.empty()} columns={props.columns} />;
}

/** The names of a paged list's search form, its search field and its pager. */
export interface SearchLabels {
  form: string;
  field: string;
  pages: string;
}

/**
 * A list page of a collection: the collection's title names the page (its h1) and the table, whose
 * columns are `columns` or else the collection's own; `create` is the dialog that adds an object,
 * shown beside the title to whoever holds its permission (by default the collection's permission to
 * create). A paged collection is searched by name with the `search` form above the table and paged
 * with the pager under it.
 */
export function ObjectList<T, R>(props: { of: Collection<T, R> & { permissions?: { create: string } }; columns?: Column<R>[]; create?: { permission?: string; dialog: ReactNode }; children?: ReactNode; search?: SearchLabels }) {
  const { paged, labels } = props.of;
  const can = useCan();
  const title = labels.title();
  const createPermission = props.create && (props.create.permission ?? props.of.permissions?.create);
  const [q, setQ] = useState('');
  const pages = useCursorPages();
  const page = { ...(q.trim() ? { q: q.trim() } : {}), limit: paged?.size ?? 0, ...(pages.cursor ? { cursor: pages.cursor } : {}) };
  const query = useQuery({
    queryKey: paged ? [...props.of.queryKey, 'page', page] : props.of.queryKey,
    queryFn: paged ? () => paged.queryFn(page) : props.of.queryFn,
    placeholderData: paged ? keepPreviousData : undefined,
  });
  return (
    <>
      <div className="title-row">
        <h1>{title}</h1>
        {props.create && createPermission && can(createPermission) && props.create.dialog}
      </div>
      {props.children}
      {paged && props.search && (
        <ActionForm className="filters" role="search" label={props.search.form} onSubmit={() => {}}>
          <SearchField
            className="field"
            value={q}
            onChange={(v) => {
              setQ(v);
              pages.reset();
            }}
          >
            <Label>{props.search.field}</Label>
            <Input />
          </SearchField>
        </ActionForm>
      )}
      <CollectionTable of={props.of} query={query} columns={props.columns ?? props.of.columns?.() ?? []} />
      {paged && <PagingFooter pages={pages} nextCursor={query.data && paged.nextCursor(query.data)} label={props.search?.pages ?? title} />}
    </>
  );
}

/**
 * The list page component of a collection with a page per object: its create dialog makes an object
 * as `create` says and shows the new object's page; a paged collection's search form is named by `search`.
 */
export function objectList<D, R, F>(of: ObjectPages<D, R>, create: CreateSpec<F>, search?: () => SearchLabels) {
  return function List() {
    return <ObjectList of={of} create={{ dialog: <CreateDialog of={of} create={create} /> }} search={search?.()} />;
  };
}
