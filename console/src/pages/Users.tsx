import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { Button, Checkbox, Dialog, DialogTrigger, Heading, Label, ListBox, ListBoxItem, Modal, Popover, SearchField, Input, Select, SelectValue } from 'react-aria-components';
import { api, unwrap } from '../api/client.ts';
import { useCan } from '../permissions.tsx';
import { Confirm, ErrorMessage, Field, Loading } from '../ui.tsx';

type Status = 'active' | 'inactive' | 'locked';

export function UsersPage() {
  const can = useCan();
  const queryClient = useQueryClient();
  const [q, setQ] = useState('');
  const [status, setStatus] = useState<Status | 'any'>('any');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const list = useQuery({
    queryKey: ['user-maintenance', q, status, cursor],
    queryFn: () => unwrap(api.GET('/api/v1/user-maintenance', { params: { query: { q: q || undefined, status: status === 'any' ? undefined : status, cursor, limit: 25 } } })),
  });
  const bulk = useMutation({
    mutationFn: async (action: 'activate' | 'deactivate') => {
      for (const id of selected) await unwrap(api.POST(action === 'activate' ? '/api/v1/users/{id}/activate' : '/api/v1/users/{id}/deactivate', { params: { path: { id } }, body: {} }));
    },
    onSettled: () => {
      setSelected(new Set());
      void queryClient.invalidateQueries({ queryKey: ['user-maintenance'] });
    },
  });
  const reset = () => setCursors([undefined]);
  const toggle = (id: string, on: boolean) => setSelected((s) => new Set(on ? [...s, id] : [...s].filter((x) => x !== id)));
  const canBulk = can('users:activate') && can('users:deactivate');

  return (
    <>
      <div className="title-row">
        <h1>Users</h1>
        {can('users:create') && <CreateUser />}
      </div>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <SearchField
          className="field"
          value={q}
          onChange={(v) => {
            setQ(v);
            reset();
          }}
        >
          <Label>Search username, email or name</Label>
          <Input />
        </SearchField>
        <Select
          className="field"
          selectedKey={status}
          onSelectionChange={(key) => {
            setStatus(key as Status | 'any');
            reset();
          }}
        >
          <Label>Status</Label>
          <Button className="button select">
            <SelectValue />
          </Button>
          <Popover>
            <ListBox className="listbox">
              <ListBoxItem id="any">Any status</ListBoxItem>
              <ListBoxItem id="active">Active</ListBoxItem>
              <ListBoxItem id="inactive">Inactive</ListBoxItem>
              <ListBoxItem id="locked">Locked</ListBoxItem>
            </ListBox>
          </Popover>
        </Select>
      </form>
      {canBulk && selected.size > 0 && (
        <div className="bulk" aria-live="polite">
          <span>{selected.size} selected</span>
          <Confirm label="Activate" title="Activate users" confirmLabel={`Activate ${selected.size}`} onConfirm={() => bulk.mutate('activate')}>
            Activate {selected.size} {selected.size === 1 ? 'user' : 'users'}?
          </Confirm>
          <Confirm label="Deactivate" title="Deactivate users" confirmLabel={`Deactivate ${selected.size}`} danger onConfirm={() => bulk.mutate('deactivate')}>
            Deactivate {selected.size} {selected.size === 1 ? 'user' : 'users'}? They can no longer sign in and their refresh tokens stop working.
          </Confirm>
        </div>
      )}
      <ErrorMessage error={bulk.error ?? list.error} />
      {list.isPending ? (
        <Loading />
      ) : list.data ? (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Users</caption>
              <thead>
                <tr>
                  {canBulk && <th scope="col">Select</th>}
                  <th scope="col">User</th>
                  <th scope="col">Contact</th>
                  <th scope="col">Type</th>
                  <th scope="col">Identities and roles</th>
                  <th scope="col">Associations</th>
                  <th scope="col">Status</th>
                  <th scope="col">Credentials</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((u) => (
                  <tr key={u.id}>
                    {canBulk && (
                      <td>
                        <Checkbox className="checkbox" aria-label={`Select ${u.username}`} isSelected={selected.has(u.id)} onChange={(on) => toggle(u.id, on)}>
                          <span className="box" aria-hidden="true" />
                        </Checkbox>
                      </td>
                    )}
                    <td>
                      <Link to={`/users/${u.id}`}>{u.username}</Link>
                      <div className="muted small">{u.contact.name}</div>
                    </td>
                    <td>
                      {u.contact.email ?? '—'}
                      {u.contact.phone && <div className="small">{u.contact.phone}</div>}
                      {u.contact.department && <div className="small muted">{u.contact.department}</div>}
                    </td>
                    <td>{u.userType ?? '—'}</td>
                    <td>
                      <ul className="plain">
                        {u.identities.map((i) => (
                          <li key={i.id}>
                            <strong>{i.alias}</strong> ({i.kind}){i.roles.length > 0 && <>: {i.roles.join(', ')}</>}
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td className="small">
                      {Object.entries(u.associations)
                        .map(([k, v]) => `${k}=${v.join(',')}`)
                        .join('; ') || '—'}
                    </td>
                    <td>
                      <span className={`badge ${u.status}`}>{u.status}</span>
                    </td>
                    <td className="small">
                      {u.credentials.passwordSet ? 'password' : 'no password'}
                      {u.credentials.mfaEnrolled ? ', two-step' : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {list.data.items.length === 0 && <p>No user matches.</p>}
          <nav className="pager" aria-label="Pages of users">
            <Button className="button" isDisabled={cursors.length === 1} onPress={() => setCursors((c) => c.slice(0, -1))}>
              Previous page
            </Button>
            <Button className="button" isDisabled={!list.data.nextCursor} onPress={() => setCursors((c) => [...c, list.data.nextCursor ?? undefined])}>
              Next page
            </Button>
          </nav>
        </>
      ) : null}
    </>
  );
}

function CreateUser() {
  const navigate = useNavigate();
  const [form, setForm] = useState({ username: '', name: '', email: '', password: '', kind: 'internal', alias: '' });
  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));
  const create = useMutation({
    mutationFn: () =>
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
      ),
    onSuccess: (user) => navigate(`/users/${user.id}`),
  });
  return (
    <DialogTrigger>
      <Button className="button primary">Create user</Button>
      <Modal className="modal" isDismissable>
        <Dialog className="dialog">
          {({ close }) => (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                create.mutate(undefined, { onSuccess: close });
              }}
            >
              <Heading slot="title">Create user</Heading>
              <Field label="Username" name="username" value={form.username} onChange={set('username')} isRequired />
              <Field label="Name" name="name" value={form.name} onChange={set('name')} />
              <Field label="Email" name="email" type="email" value={form.email} onChange={set('email')} />
              <Field label="Password" name="password" type="password" value={form.password} onChange={set('password')} />
              <Field label="First identity: kind" name="kind" value={form.kind} onChange={set('kind')} isRequired />
              <Field label="First identity: alias" name="alias" value={form.alias} onChange={set('alias')} />
              <ErrorMessage error={create.error} />
              <div className="actions">
                <Button className="button" onPress={close}>
                  Cancel
                </Button>
                <Button className="button primary" type="submit" isPending={create.isPending}>
                  Create
                </Button>
              </div>
            </form>
          )}
        </Dialog>
      </Modal>
    </DialogTrigger>
  );
}
