// One read table for every object list of the console: a labelled table of columns, each a header
// and a cell renderer, with a line said when there are no rows.
import type { ReactNode } from 'react';
import './widgets.css';

export interface Column<T> {
  /** Stable key of the column. */
  key: string;
  header: string;
  cell(row: T): ReactNode;
}

/** `label` names the table for screen readers; a table alone on its page may go without. */
export function DataTable<T>(props: { label?: string; columns: Column<T>[]; rows: T[]; rowKey(row: T): string; empty: string }) {
  if (props.rows.length === 0) return <p className="muted">{props.empty}</p>;
  return (
    <div className="table-wrap">
      <table aria-label={props.label}>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col" key={column.key}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)}>
              {props.columns.map((column) => (
                <td key={column.key}>{column.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
