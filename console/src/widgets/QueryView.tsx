// The three states of a query on a page: loading, a readable refusal or error, or the data.
import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { ErrorMessage, Loading } from '../ui.tsx';

export function QueryView<T>({ query, children }: { query: UseQueryResult<T>; children(data: T): ReactNode }) {
  if (query.isPending) return <Loading />;
  if (query.error) return <ErrorMessage error={query.error} />;
  return <>{children(query.data as T)}</>;
}
