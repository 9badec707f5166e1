// One read table for every list of the console: a named table of columns, each a header and a
// cell renderer (with the class of its cells), optionally a footer row, and a line said when there
// are no rows.
import type { ReactNode } from 'react';
import './widgets.css';

export interface Column<T> {
  /** Stable key of the column. */
  key: string;
  header: string;
  cell(row: T): ReactNode;
  /** Class of the column's cells. */
  className?: string;
  /** The column names its row: its cells are row headers. */
  rowHeader?: boolean;
  /** The column's cell in the footer row; a table shows that row when a column has one. */
  foot?: ReactNode;
  /** false leaves the column out (e.g. an action the caller may not take); shown by default. */
  shown?: boolean;
}

export interface DataTableProps<T> {
  /** Names the table for screen readers (aria-label); a table alone on its page may go without. */
  label?: string;
  /** Names the table by a caption instead, visually hidden unless `showCaption`. */
  caption?: string;
  showCaption?: boolean;
  columns: Column<T>[];
  rows: T[];
  rowKey(row: T): string;
  /** Said instead of the table when there are no rows; without it the table shows with none. */
  empty?: string;
}

function Cell<T>({ column, children }: { column: Column<T>; children: ReactNode }) {
  return column.rowHeader ? (
    <th scope="row" className={column.className}>
      {children}
    </th>
  ) : (
    <td className={column.className}>{children}</td>
  );
}

export function DataTable<T>(props: DataTableProps<T>) {
  if (props.rows.length === 0 && props.empty !== undefined) return <p className="muted">{props.empty}</p>;
  const columns = props.columns.filter((column) => column.shown !== false);
  const hasFoot = columns.some((column) => column.foot !== undefined);
  return (
    <div className="table-wrap">
      <table aria-label={props.label}>
        {props.caption !== undefined && <caption className={props.showCaption ? undefined : 'visually-hidden'}>{props.caption}</caption>}
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column.key}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)}>
              {columns.map((column) => (
                <Cell key={column.key} column={column}>
                  {column.cell(row)}
                </Cell>
              ))}
            </tr>
          ))}
        </tbody>
        {hasFoot && (
          <tfoot>
            <tr>
              {columns.map((column) => (
                <Cell key={column.key} column={column}>
                  {column.foot}
                </Cell>
              ))}
            </tr>
          </tfoot>
        )}
      </table>
    </div>
  );
}
