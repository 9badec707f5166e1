// A list of objects read by one query: the title row (the heading and its create action), what
// the page says before the list, then the labelled table or the query's loading or error state.
import type { ReactNode } from 'react';
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import type { Collection } from './Collection.ts';
import { DataTable, type Column } from './DataTable.tsx';
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

/** A list page of a collection: the title names the page (its h1) and the table. */
export function ObjectList<T, R>(props: { of: Collection<T, R>; columns: Column<R>[]; empty: string; title: string; action?: ReactNode; children?: ReactNode }) {
  const query = useQuery({ queryKey: props.of.queryKey, queryFn: props.of.queryFn });
  return (
    <>
      <div className="title-row">
        <h1>{props.title}</h1>
        {props.action}
      </div>
      {props.children}
      <QueryTable label={props.title} query={query} rows={props.of.rows} rowKey={props.of.id} empty={props.empty} columns={props.columns} />
    </>
  );
}
