// User Maintenance: search and filters, keyset pages, the columns the requirement names, bulk
// actions with a per-user report, CSV import and export, and creating a user.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { Button, Checkbox, Heading, Input, Label, SearchField } from 'react-aria-components';
import { api, unwrap } from '../api/client.ts';
import { BulkBar, BulkReport, runForEach, type BulkOutcome } from '../components/BulkBar.tsx';
import { formatNumber, language, t } from '../i18n.ts';
import { useCursorPages } from '../paging.tsx';
import { useCan } from '../permissions.tsx';
import { Confirm, DialogButton, ErrorMessage, Field, Loading } from '../ui.tsx';
import { ExportUsers, ImportUsers } from './users/ImportExport.tsx';
import { Choice, RolePicker, useGroups, useIdentityKinds } from './users/pickers.tsx';
import { statusLabel } from './users/labels.ts';
import { DataTable, FormDialog } from '../widgets/index.ts';

type Status = 'active' | 'inactive' | 'locked';
type BulkAction = 'activate' | 'deactivate' | 'role' | 'group' | 'delete';

interface Row {
  id: string;
  username: string;
  identities: { id: string; isDefault: boolean }[];
}

export function UsersPage() {
  const can = useCan();
  const queryClient = useQueryClient();
  const [q, setQ] = useState('');
  const [status, setStatus] = useState<Status | null>(null);
  const [kind, setKind] = useState<string | null>(null);
  const [group, setGroup] = useState<string | null>(null);
  const [role, setRole] = useState<string | null>(null);
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const [selected, setSelected] = useState<Map<string, Row>>(new Map());
  const [report, setReport] = useState<{ title: string; outcomes: BulkOutcome[] } | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const kinds = useIdentityKinds(can('identity-kinds:list'));
  const groups = useGroups(can('groups:list'));
  const filter = { ...(q ? { q } : {}), ...(status ? { status } : {}), ...(kind ? { identityKind: kind } : {}), ...(group ? { group } : {}), ...(role ? { role } : {}) };
  const list = useQuery({
    queryKey: ['user-maintenance', filter, cursor],
    queryFn: () => unwrap(api.GET('/api/v1/user-maintenance', { params: { query: { ...filter, cursor, limit: 25 } } })),
  });
  type Item = NonNullable<typeof list.data>['items'][number];
  /** A filter's change: it takes effect from the first page. */
  const refilter =
    <V,>(set: (value: V) => void) =>
    (value: V) => {
      set(value);
      pages.reset();
    };
  const toggle = (row: Row, on: boolean) =>
    setSelected((s) => {
      const next = new Map(s);
      if (on) next.set(row.id, row);
      else next.delete(row.id);
      return next;
    });

  const bulk = useMutation({
    mutationFn: async ({ action, targetId }: { action: BulkAction; targetId?: string }) => {
      const rows = [...selected.values()];
      const defaultIdentity = (row: Row) => (row.identities.find((i) => i.isDefault) ?? row.identities[0])?.id ?? '';
      setProgress(0);
      const outcomes = await runForEach({
        items: rows,
        labelOf: (row) => row.username,
        action: (row) => {
          const path = { params: { path: { id: row.id } } };
          switch (action) {
            case 'activate':
              return unwrap(api.POST('/api/v1/users/{id}/activate', { ...path, body: {} }));
            case 'deactivate':
              return unwrap(api.POST('/api/v1/users/{id}/deactivate', { ...path, body: {} }));
            case 'delete':
              return unwrap(api.DELETE('/api/v1/users/{id}', path));
            case 'role':
              return unwrap(api.POST('/api/v1/identities/{id}/roles', { params: { path: { id: defaultIdentity(row) } }, body: { roleIds: [targetId!] } }));
            case 'group':
              return unwrap(api.POST('/api/v1/groups/{id}/members', { params: { path: { id: targetId! } }, body: { identityIds: [defaultIdentity(row)] } }));
          }
        },
        onProgress: setProgress,
      });
      const titles: Record<BulkAction, string> = { activate: t('Activated'), deactivate: t('Deactivated'), role: t('Role assigned'), group: t('Added to the group'), delete: t('Deleted') };
      return { title: titles[action], outcomes };
    },
    onSuccess: (result) => {
      setReport(result);
      setSelected(new Map());
    },
    onSettled: () => {
      setProgress(null);
      void queryClient.invalidateQueries({ queryKey: ['user-maintenance'] });
    },
  });

  const bulkActions = {
    activate: can('users:activate'),
    deactivate: can('users:deactivate'),
    role: can('identity-roles:assign') && can('roles:list'),
    group: can('group-members:add') && can('groups:list'),
    delete: can('users:delete'),
  };
  const canBulk = Object.values(bulkActions).some(Boolean);
  const count = selected.size;

  return (
    <>
      <div className="title-row">
        <h1>{t('Users')}</h1>
        <div className="actions">
          {can('user-maintenance:export') && <ExportUsers filter={filter} />}
          {can('users:import') && <ImportUsers />}
          {can('users:create') && <CreateUser />}
        </div>
      </div>
      <form className="filters" role="search" aria-label={t('Find users')} onSubmit={(e) => e.preventDefault()}>
        <SearchField className="field" value={q} onChange={refilter(setQ)}>
          <Label>{t('Search username, email or name')}</Label>
          <Input />
        </SearchField>
        <Choice
          label={t('Status')}
          value={status}
          anyLabel={t('Any status')}
          onChange={refilter((v: string | null) => setStatus(v as Status | null))}
          options={(['active', 'inactive', 'locked'] as const).map((s) => ({ id: s, name: statusLabel(s) }))}
        />
        {kinds.data && <Choice label={t('Identity kind')} value={kind} anyLabel={t('Any kind')} onChange={refilter(setKind)} options={kinds.data.items.map((k) => ({ id: k.kind, name: k.label }))} />}
        {groups.data && <Choice label={t('Group')} value={group} anyLabel={t('Any group')} onChange={refilter(setGroup)} options={groups.data.groups.map((g) => ({ id: g.id, name: g.name }))} />}
        {can('roles:list') && <RolePicker label={t('Role')} roleId={role} onChange={refilter(setRole)} />}
      </form>
      {canBulk && (
        <BulkBar count={count} onClear={() => setSelected(new Map())}>
          {bulkActions.activate && (
            <Confirm label={t('Activate')} title={t('Activate users')} confirmLabel={t('Activate {count}', { count })} onConfirm={() => bulk.mutate({ action: 'activate' })}>
              {t('Activate {count} users? They can sign in again.', { count })}
            </Confirm>
          )}
          {bulkActions.deactivate && (
            <Confirm label={t('Deactivate')} title={t('Deactivate users')} confirmLabel={t('Deactivate {count}', { count })} danger onConfirm={() => bulk.mutate({ action: 'deactivate' })}>
              {t('Deactivate {count} users? They can no longer sign in and their refresh tokens stop working.', { count })}
            </Confirm>
          )}
          {bulkActions.role && <BulkAssign kind="role" count={count} onAssign={(id) => bulk.mutate({ action: 'role', targetId: id })} />}
          {bulkActions.group && groups.data && <BulkAssign kind="group" count={count} groups={groups.data.groups} onAssign={(id) => bulk.mutate({ action: 'group', targetId: id })} />}
          {bulkActions.delete && (
            <Confirm label={t('Delete')} title={t('Delete users')} confirmLabel={t('Delete {count}', { count })} danger onConfirm={() => bulk.mutate({ action: 'delete' })}>
              {t('Delete {count} users with their identities, memberships, data scopes and sessions? This cannot be undone.', { count })}
            </Confirm>
          )}
        </BulkBar>
      )}
      {progress !== null && <p role="status">{t('Working: {done} of {count} users…', { done: progress, count })}</p>}
      {report && <BulkReport title={report.title} outcomes={report.outcomes} onDismiss={() => setReport(null)} />}
      <ErrorMessage error={bulk.error ?? list.error} />
      {list.isPending ? (
        <Loading />
      ) : list.data ? (
        <>
          <DataTable
            caption={t('Users')}
            rows={list.data.items}
            rowKey={(u) => u.id}
            columns={[
              {
                key: 'select',
                shown: canBulk,
                header: t('Select'),
                cell: (u) => (
                  <Checkbox className="checkbox" aria-label={t('Select {username}', { username: u.username })} isSelected={selected.has(u.id)} onChange={(on) => toggle({ id: u.id, username: u.username, identities: u.identities }, on)}>
                    <span className="box" aria-hidden="true" />
                  </Checkbox>
                ),
              },
              {
                key: 'user',
                header: t('User ID'),
                cell: (u) => (
                  <>
                    <Link to={`/users/${u.id}`}>{u.username}</Link>
                    <div className="muted small mono">{u.id}</div>
                  </>
                ),
              },
              { key: 'name', header: t('Name'), cell: (u) => u.contact.name ?? '—' },
              {
                key: 'contact',
                header: t('Contact details'),
                cell: (u) => (
                  <>
                    {u.contact.email ?? '—'}
                    {u.contact.phone && <div className="small">{u.contact.phone}</div>}
                    {u.contact.department && <div className="small muted">{u.contact.department}</div>}
                  </>
                ),
              },
              { key: 'type', header: t('User type'), cell: (u) => u.userType ?? '—' },
              {
                key: 'identities',
                header: t('Identities and roles'),
                cell: (u) => (
                  <ul className="plain">
                    {u.identities.map((i) => (
                      <li key={i.id}>
                        <strong>{i.alias}</strong> ({i.kind}){i.roles.length > 0 && <>: {i.roles.join(', ')}</>}
                      </li>
                    ))}
                  </ul>
                ),
              },
              {
                key: 'associations',
                header: t('Associations'),
                className: 'small',
                cell: (u) =>
                  Object.entries(u.associations)
                    .map(([k, v]) => `${k}=${v.join(',')}`)
                    .join('; ') || '—',
              },
              { key: 'status', header: t('Status'), cell: (u) => <span className={`badge ${u.status}`}>{statusLabel(u.status)}</span> },
              {
                key: 'credentials',
                header: t('Credential state'),
                className: 'small',
                cell: (u) => (
                  <>
                    {u.credentials.passwordSet ? t('password set') : t('no password')}
                    {u.credentials.mfaEnrolled && <div>{t('authenticator app')}</div>}
                    {u.credentials.passwordExpiresAt && <div className="muted">{t('expires {date}', { date: new Date(u.credentials.passwordExpiresAt).toLocaleDateString(language) })}</div>}
                  </>
                ),
              },
            ]}
          />
          {list.data.items.length === 0 && <p>{t('No user matches.')}</p>}
          <nav className="pager" aria-label={t('Pages of users')}>
            <Button className="button" isDisabled={pages.page === 1} onPress={pages.previous}>
              {t('Previous page')}
            </Button>
            <span className="muted small">{t('Page {page}', { page: formatNumber(pages.page) })}</span>
            <Button className="button" isDisabled={!list.data.nextCursor} onPress={() => list.data.nextCursor && pages.next(list.data.nextCursor)}>
              {t('Next page')}
            </Button>
          </nav>
        </>
      ) : null}
    </>
  );
}

/** Asks for the role or group, then confirms with the number of users. */
function BulkAssign(props: { kind: 'role' | 'group'; count: number; groups?: { id: string; name: string }[]; onAssign(id: string): void }) {
  const [target, setTarget] = useState<string | null>(null);
  const isRole = props.kind === 'role';
  return (
    <DialogButton onOpenChange={(open) => !open && setTarget(null)} role="alertdialog" button={<Button className="button">{isRole ? t('Assign a role') : t('Add to a group')}</Button>}>
      {(close) => (
        <>
          <Heading slot="title">{isRole ? t('Assign a role to {count} users', { count: props.count }) : t('Add {count} users to a group', { count: props.count })}</Heading>
          <p>{t("It is given to each user's default identity.")}</p>
          {isRole ? <RolePicker label={t('Role')} roleId={target} onChange={setTarget} /> : <Choice label={t('Group')} value={target} placeholder={t('Choose a group')} onChange={setTarget} options={props.groups ?? []} />}
          <div className="actions">
            <Button className="button" onPress={close}>
              {t('Cancel')}
            </Button>
            <Button
              className="button primary"
              isDisabled={!target}
              onPress={() => {
                props.onAssign(target!);
                close();
              }}
            >
              {isRole ? t('Assign to {count}', { count: props.count }) : t('Add {count}', { count: props.count })}
            </Button>
          </div>
        </>
      )}
    </DialogButton>
  );
}

function CreateUser() {
  const navigate = useNavigate();
  const can = useCan();
  const kinds = useIdentityKinds(can('identity-kinds:list'));
  const [form, setForm] = useState({ username: '', name: '', email: '', password: '', kind: 'internal', alias: '' });
  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));
  return (
    <FormDialog
      label={t('Create user')}
      title={t('Create user')}
      submitLabel={t('Create')}
      submit={() =>
        unwrap(
          api.POST('/api/v1/users', {
            body: {
              username: form.username,
              ...(form.name ? { name: form.name } : {}),
              ...(form.email ? { email: form.email } : {}),
              ...(form.password ? { password: form.password } : {}),
              identity: { kind: form.kind, ...(form.alias ? { alias: form.alias } : {}) },
            },
          }),
        )
      }
      onSuccess={(user) => navigate(`/users/${user.id}`)}
    >
      <Field label={t('Username')} name="username" value={form.username} onChange={set('username')} isRequired />
      <Field label={t('Name')} name="name" value={form.name} onChange={set('name')} />
      <Field label={t('Email')} name="email" type="email" value={form.email} onChange={set('email')} />
      <Field label={t('Password')} name="password" type="password" value={form.password} onChange={set('password')} />
      {kinds.data ? (
        <Choice label={t('First identity: kind')} value={form.kind} onChange={(v) => set('kind')(v ?? 'internal')} options={kinds.data.items.filter((k) => k.kind !== 'service').map((k) => ({ id: k.kind, name: k.label }))} />
      ) : (
        <Field label={t('First identity: kind')} name="kind" value={form.kind} onChange={set('kind')} isRequired />
      )}
      <Field label={t('First identity: alias')} name="alias" value={form.alias} onChange={set('alias')} />
    </FormDialog>
  );
}
