// The three states of a query on a page: loading, a readable refusal or error, or the data.
import type { ReactNode } from 'react';
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useCan } from '../permissions.tsx';
import { ErrorMessage, Loading } from '../ui.tsx';
import type { ObjectPages } from './Collection.ts';

export function QueryView<T>({ query, children }: { query: UseQueryResult<T>; children(data: T): ReactNode }) {
  if (query.isPending) return <Loading />;
  if (query.error) return <ErrorMessage error={query.error} />;
  return <>{children(query.data as T)}</>;
}

/**
 * An object's page: the way back to its collection's list, then the object the address's id names
 * (read by itself where the collection says how, else found in the list), or a readable alert when
 * there is no such object.
 */
export function ObjectDetails<T, O>(props: { of: ObjectPages<T, O>; children(object: O): ReactNode }) {
  const { id = '' } = useParams();
  const can = useCan();
  const { of } = props;
  const query = useQuery<unknown, Error, O | null>(of.one?.(id, can) ?? { queryKey: of.queryKey, queryFn: of.queryFn, select: (data) => of.rows(data as T).find((row) => of.id(row) === id) ?? null });
  return (
    <>
      <p>
        <Link to={of.path}>{of.labels.back()}</Link>
      </p>
      <QueryView query={query}>{(found) => (found === null ? <p role="alert">{of.labels.missing()}</p> : props.children(found))}</QueryView>
    </>
  );
}

/** The page component of a collection's objects: `view` shows the object the address names. */
export function objectDetails<T, O>(of: ObjectPages<T, O>, view: (object: O) => ReactNode) {
  return function Details() {
    return <ObjectDetails of={of}>{view}</ObjectDetails>;
  };
}
