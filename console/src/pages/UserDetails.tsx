import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { Button, Label, ListBox, ListBoxItem, Popover, Select, SelectValue } from 'react-aria-components';
import { api, unwrap } from '../api/client.ts';
import { useCan } from '../permissions.tsx';
import { Confirm, ErrorMessage, Field, Loading, formatDate } from '../ui.tsx';
import { SessionTable } from './Sessions.tsx';

export function UserDetails() {
  const { id = '' } = useParams();
  const can = useCan();
  const queryClient = useQueryClient();
  const user = useQuery({ queryKey: ['user', id], queryFn: () => unwrap(api.GET('/api/v1/users/{id}', { params: { path: { id } } })) });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['user', id] });
  const status = useMutation({
    mutationFn: (action: 'activate' | 'deactivate') => unwrap(api.POST(action === 'activate' ? '/api/v1/users/{id}/activate' : '/api/v1/users/{id}/deactivate', { params: { path: { id } }, body: {} })),
    onSuccess: refresh,
  });
  if (user.isPending) return <Loading />;
  if (user.error) return <ErrorMessage error={user.error} />;
  const u = user.data;
  return (
    <>
      <p>
        <Link to="/users">← Users</Link>
      </p>
      <div className="title-row">
        <h1>{u.name ?? u.username}</h1>
        <span className={`badge ${u.status}`}>{u.status}</span>
      </div>
      <ErrorMessage error={status.error} />
      <div className="actions">
        {u.status !== 'active' && can('users:activate') && (
          <Button className="button" onPress={() => status.mutate('activate')}>
            Activate
          </Button>
        )}
        {u.status === 'active' && can('users:deactivate') && (
          <Confirm label="Deactivate" title={`Deactivate ${u.username}`} confirmLabel="Deactivate" danger onConfirm={() => status.mutate('deactivate')}>
            {u.username} can no longer sign in, and their refresh tokens stop working.
          </Confirm>
        )}
      </div>
      <GeneralInfo user={u} editable={can('users:update')} onSaved={refresh} />
      <section aria-labelledby="identities">
        <h2 id="identities">Identities</h2>
        {u.identities.map((identity) => (
          <IdentityCard key={identity.id} identity={identity} onChanged={refresh} />
        ))}
      </section>
      {can('user-sessions:list') && <UserSessions userId={id} />}
    </>
  );
}

interface UserView {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  department: string | null;
}

function GeneralInfo({ user, editable, onSaved }: { user: UserView; editable: boolean; onSaved(): void }) {
  const [form, setForm] = useState({ name: '', email: '', phone: '', department: '' });
  useEffect(() => setForm({ name: user.name ?? '', email: user.email ?? '', phone: user.phone ?? '', department: user.department ?? '' }), [user]);
  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/api/v1/users/{id}', {
          params: { path: { id: user.id } },
          body: { name: form.name || null, email: form.email || null, phone: form.phone || null, department: form.department || null },
        }),
      ),
    onSuccess: onSaved,
  });
  return (
    <section aria-labelledby="general">
      <h2 id="general">General information</h2>
      <form
        className="grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Field label="Username" name="username" value={user.username} onChange={() => {}} isReadOnly />
        <Field label="Name" name="name" value={form.name} onChange={set('name')} isReadOnly={!editable} />
        <Field label="Email" name="email" type="email" value={form.email} onChange={set('email')} isReadOnly={!editable} />
        <Field label="Phone" name="phone" value={form.phone} onChange={set('phone')} isReadOnly={!editable} />
        <Field label="Department" name="department" value={form.department} onChange={set('department')} isReadOnly={!editable} />
        {editable && (
          <div className="actions">
            <Button className="button primary" type="submit" isPending={save.isPending}>
              Save
            </Button>
            {save.isSuccess && <span role="status">Saved.</span>}
          </div>
        )}
      </form>
      <ErrorMessage error={save.error} />
    </section>
  );
}

function IdentityCard({ identity, onChanged }: { identity: { id: string; kind: string; alias: string; isDefault: boolean; roles: { id: string; name: string }[] }; onChanged(): void }) {
  const can = useCan();
  const scopes = useQuery({
    queryKey: ['data-scopes', identity.id],
    enabled: can('data-scopes:read'),
    queryFn: () => unwrap(api.GET('/api/v1/identities/{id}/data-scopes', { params: { path: { id: identity.id } } })),
  });
  const unassign = useMutation({
    mutationFn: (roleId: string) => unwrap(api.DELETE('/api/v1/identities/{id}/roles/{roleId}', { params: { path: { id: identity.id, roleId } } })),
    onSuccess: onChanged,
  });
  return (
    <article className="card" aria-label={`Identity ${identity.alias}`}>
      <h3>
        {identity.alias} <span className="muted">({identity.kind})</span> {identity.isDefault && <span className="badge">default</span>}
      </h3>
      <h4>Roles given directly</h4>
      <ul className="plain">
        {identity.roles.map((role) => (
          <li key={role.id}>
            {role.name}{' '}
            {can('identity-roles:unassign') && (
              <Button className="button small" aria-label={`Remove role ${role.name} from ${identity.alias}`} onPress={() => unassign.mutate(role.id)}>
                Remove
              </Button>
            )}
          </li>
        ))}
        {identity.roles.length === 0 && <li className="muted">none</li>}
      </ul>
      {can('identity-roles:assign') && can('roles:list') && <AssignRole identityId={identity.id} alias={identity.alias} held={identity.roles.map((r) => r.id)} onChanged={onChanged} />}
      <ErrorMessage error={unassign.error} />
      {can('data-scopes:read') && (
        <>
          <h4>Data scopes</h4>
          {scopes.data && (
            <ul className="plain">
              {Object.entries(scopes.data).map(([key, values]) => (
                <li key={key}>
                  <span className="mono">{key}</span> = {values.join(', ')}
                </li>
              ))}
              {Object.keys(scopes.data).length === 0 && <li className="muted">none</li>}
            </ul>
          )}
          {can('data-scopes:set') && <SetScope identityId={identity.id} alias={identity.alias} onChanged={() => void scopes.refetch()} />}
        </>
      )}
    </article>
  );
}

function AssignRole({ identityId, alias, held, onChanged }: { identityId: string; alias: string; held: string[]; onChanged(): void }) {
  const roles = useQuery({ queryKey: ['roles'], queryFn: () => unwrap(api.GET('/api/v1/roles')) });
  const [roleId, setRoleId] = useState<string | null>(null);
  const assign = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/identities/{id}/roles', { params: { path: { id: identityId } }, body: { roleIds: [roleId!] } })),
    onSuccess: () => {
      setRoleId(null);
      onChanged();
    },
  });
  const available = (roles.data?.roles ?? []).filter((r) => !held.includes(r.id));
  return (
    <div className="inline-form">
      <Select className="field" selectedKey={roleId} onSelectionChange={(key) => setRoleId(key as string)} placeholder="Choose a role">
        <Label>Add a role to {alias}</Label>
        <Button className="button select">
          <SelectValue />
        </Button>
        <Popover>
          <ListBox className="listbox" items={available}>
            {(role) => <ListBoxItem id={role.id}>{role.name}</ListBoxItem>}
          </ListBox>
        </Popover>
      </Select>
      <Button className="button" isDisabled={!roleId} onPress={() => assign.mutate()}>
        Add role
      </Button>
      <ErrorMessage error={assign.error} />
    </div>
  );
}

function SetScope({ identityId, alias, onChanged }: { identityId: string; alias: string; onChanged(): void }) {
  const [key, setKey] = useState('');
  const [values, setValues] = useState('');
  const set = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/api/v1/identities/{id}/data-scopes/{key}', {
          params: { path: { id: identityId, key } },
          body: { values: values.split(',').map((v) => v.trim()).filter(Boolean) },
        }),
      ),
    onSuccess: () => {
      setKey('');
      setValues('');
      onChanged();
    },
  });
  return (
    <form
      className="inline-form"
      aria-label={`Set a data scope of ${alias}`}
      onSubmit={(e) => {
        e.preventDefault();
        set.mutate();
      }}
    >
      <Field label="Scope key" name="key" value={key} onChange={setKey} />
      <Field label="Values (comma-separated, * for all)" name="values" value={values} onChange={setValues} />
      <Button className="button" type="submit" isDisabled={!key || !values}>
        Set scope
      </Button>
      <ErrorMessage error={set.error} />
    </form>
  );
}

function UserSessions({ userId }: { userId: string }) {
  const can = useCan();
  const sessions = useQuery({ queryKey: ['user-sessions', userId], queryFn: () => unwrap(api.GET('/api/v1/users/{id}/sessions', { params: { path: { id: userId } } })) });
  const endAll = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1/users/{id}/sessions', { params: { path: { id: userId } } })),
    onSuccess: () => void sessions.refetch(),
  });
  return (
    <section aria-labelledby="user-sessions">
      <div className="title-row">
        <h2 id="user-sessions">Sessions</h2>
        {can('user-sessions:end') && (sessions.data?.items.length ?? 0) > 0 && (
          <Confirm label="End all sessions" title="End all sessions" confirmLabel={`End ${sessions.data?.items.length}`} danger onConfirm={() => endAll.mutate()}>
            End all {sessions.data?.items.length} sessions of this user? Their applications' refresh tokens stop working at once.
          </Confirm>
        )}
      </div>
      <ErrorMessage error={sessions.error ?? endAll.error} />
      {sessions.data && <SessionTable items={sessions.data.items} onEnded={() => void sessions.refetch()} />}
      <p className="muted small">Last checked {formatDate(new Date().toISOString())}</p>
    </section>
  );
}
