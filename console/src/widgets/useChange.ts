// A change sent to the admin API and what follows once it succeeds: the queries it touched are read
// again, then the page does what comes next.
import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';

/**
 * `send`s a change; once it succeeds, the queries under each key of `reads` are read again and `then`
 * runs with the answer. The change counts as pending until both have finished.
 */
export function useChange<V = void, A = unknown>(send: (value: V) => Promise<A>, after: { reads?: QueryKey[]; then?(answer: A): unknown }) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: send,
    onSuccess: (answer) => Promise.all([...(after.reads ?? []).map((queryKey) => queryClient.invalidateQueries({ queryKey })), after.then?.(answer)]),
  });
}
