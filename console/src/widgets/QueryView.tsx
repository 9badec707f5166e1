// The three states of a query on a page: loading, a readable refusal or error, or the data.
import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { ErrorMessage, Loading } from '../ui.tsx';

export function QueryView<T>({ query, children }: { query: UseQueryResult<T>; children(data: T): ReactNode }) {
  if (query.isPending) return <Loading />;
  if (query.error) return <ErrorMessage error={query.error} />;
  return <>{children(query.data as T)}</>;
}

/**
 * A details page of an object from a list query: the way back to the list, then the object found
 * by the address's id, or a readable alert when the list holds no such object.
 */
export function ObjectDetails<T, O>(props: { back: { to: string; label: string }; query: UseQueryResult<T>; find(data: T, id: string): O | undefined; missing: string; children(object: O, data: T): ReactNode }) {
  const { id = '' } = useParams();
  return (
    <>
      <p>
        <Link to={props.back.to}>{props.back.label}</Link>
      </p>
      <QueryView query={props.query}>
        {(data) => {
          const found = props.find(data, id);
          return found === undefined ? <p role="alert">{props.missing}</p> : props.children(found, data);
        }}
      </QueryView>
    </>
  );
}
