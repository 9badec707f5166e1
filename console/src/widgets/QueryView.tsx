// The three states of a query on a page: loading, a readable refusal or error, or the data.
import type { ReactNode } from 'react';
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { ErrorMessage, Loading } from '../ui.tsx';
import type { ObjectPages } from './Collection.ts';

export function QueryView<T>({ query, children }: { query: UseQueryResult<T>; children(data: T): ReactNode }) {
  if (query.isPending) return <Loading />;
  if (query.error) return <ErrorMessage error={query.error} />;
  return <>{children(query.data as T)}</>;
}

/**
 * An object's page: the way back to its collection's list, then the object the address's id names,
 * or a readable alert when the list holds no such object.
 */
export function ObjectDetails<T, O>(props: { of: ObjectPages<T, O>; back: string; missing: string; children(object: O, data: T): ReactNode }) {
  const { id = '' } = useParams();
  const query = useQuery({ queryKey: props.of.queryKey, queryFn: props.of.queryFn });
  return (
    <>
      <p>
        <Link to={props.of.path}>{props.back}</Link>
      </p>
      <QueryView query={query}>
        {(data) => {
          const found = props.of.rows(data).find((row) => props.of.id(row) === id);
          return found === undefined ? <p role="alert">{props.missing}</p> : props.children(found, data);
        }}
      </QueryView>
    </>
  );
}
