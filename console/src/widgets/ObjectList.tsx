// A list of objects read by one query: the title row (the heading and its create action), what
// the page says before the list, then the labelled table or the query's loading or error state.
import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
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

/** A list page: the title names the page (its h1) and the table; `footer` goes under it (a pager). */
export function ObjectList<T, R>(props: TableOf<T, R> & { title: string; action?: ReactNode; children?: ReactNode; footer?: ReactNode }) {
  return (
    <>
      <div className="title-row">
        <h1>{props.title}</h1>
        {props.action}
      </div>
      {props.children}
      <QueryTable label={props.title} query={props.query} rows={props.rows} rowKey={props.rowKey} empty={props.empty} columns={props.columns} />
      {props.footer}
    </>
  );
}
