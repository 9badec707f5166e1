import { useMutation, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client.ts';
import { t } from '../i18n.ts';
import { FilterForm, PagingFooter, useFilteredPages } from '../paging.tsx';
import { useCan } from '../permissions.tsx';
import { Confirm, ErrorMessage, Field, Loading } from '../ui.tsx';
import { SelectField } from '../widgets/index.ts';
import './ops/ops.css';
import { SessionTable, type SessionRow } from './sessions/SessionTable.tsx';

function device(s: SessionRow): string {
  if (s.browser && s.os) return t('{browser} on {os}', { browser: s.browser, os: s.os });
  return s.browser ?? s.os ?? s.deviceType;
}

interface SessionFilters {
  username: string;
  identityKind: string;
  clientId: string;
}

const NO_FILTERS: SessionFilters = { username: '', identityKind: '', clientId: '' };
const ANY = '*';

/** The application filter: a choice among the tenant's applications when the caller may list them, else their client id. */
function ApplicationFilter({ value, onChange }: { value: string; onChange(value: string): void }) {
  const can = useCan();
  const apps = useQuery({ queryKey: ['applications'], queryFn: () => unwrap(api.GET('/api/v1/applications')), enabled: can('applications:list') });
  if (!apps.data) return <Field label={t('Application (client id)')} name="clientId" value={value} onChange={onChange} />;
  const options = [{ id: ANY, label: t('Any application') }, ...apps.data.applications.map((a) => ({ id: a.clientId, label: a.name }))];
  return <SelectField compact label={t('Application')} value={value || ANY} choices={options} onChange={(v) => onChange(v === ANY ? '' : v)} />;
}

export function SessionsPage() {
  const can = useCan();
  const { pages, draft, setDraft, filters, apply, clear } = useFilteredPages<SessionFilters>(NO_FILTERS);
  const query = {
    username: filters.username || undefined,
    identityKind: filters.identityKind || undefined,
    clientId: filters.clientId || undefined,
    cursor: pages.cursor,
    limit: 50,
  };
  const list = useQuery({ queryKey: ['sessions', query], queryFn: () => unwrap(api.GET('/api/v1/sessions', { params: { query } })) });
  const endAll = useMutation({
    mutationFn: (userId: string) => unwrap(api.DELETE('/api/v1/users/{id}/sessions', { params: { path: { id: userId } } })),
    onSuccess: () => void list.refetch(),
  });
  // Filtered by one username, every row is that user's: offer to end them all.
  const onlyUser = filters.username && list.data?.items.length ? list.data.items[0] : undefined;
  return (
    <>
      <h1>{t('Sessions')}</h1>
      <p>{t('Every active session, most recently active first.')}</p>
      <FilterForm label={t('Filter sessions')} submitLabel={t('Filter')} onApply={apply} onClear={clear}>
        <Field label={t('Username')} name="username" value={draft.username} onChange={(username) => setDraft({ ...draft, username })} />
        <Field label={t('Identity kind')} name="identityKind" value={draft.identityKind} onChange={(identityKind) => setDraft({ ...draft, identityKind })} />
        <ApplicationFilter value={draft.clientId} onChange={(clientId) => setDraft({ ...draft, clientId })} />
      </FilterForm>
      {onlyUser && can('user-sessions:end') && (
        <div className="tools">
          <Confirm label={t('End all sessions of {user}', { user: onlyUser.username ?? onlyUser.userId })} title={t('End all sessions')} confirmLabel={t('End all sessions')} danger onConfirm={() => endAll.mutate(onlyUser.userId)}>
            {t('End every session of {user}? They are signed out everywhere, and their applications must sign in again.', { user: onlyUser.username ?? onlyUser.userId })}
          </Confirm>
        </div>
      )}
      {endAll.data && <p role="status">{t('{count} sessions ended.', { count: endAll.data.ended })}</p>}
      <ErrorMessage error={list.error ?? endAll.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        list.data && (
          <SessionTable
            items={list.data.items}
            showUser
            device={device}
            endQuestion={(s) => t("End this session of {user}? Its applications' refresh tokens stop working at once.", { user: s.username ?? s.userId })}
            onEnded={() => void list.refetch()}
          />
        )
      )}
      <PagingFooter pages={pages} nextCursor={list.data?.nextCursor} label={t('Pages of sessions')} />
    </>
  );
}
