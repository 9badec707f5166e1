// One user: general information, status (activate, deactivate, unlock), clone, delete, its
// identities with roles, data scopes, groups and effective access, its sessions, security and
// audit trail. Each control shows only when the signed-in identity may use it.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';
import { Button } from 'react-aria-components';
import { api, unwrap } from '../api/client.ts';
import { t } from '../i18n.ts';
import { useCan } from '../permissions.tsx';
import { Confirm, ErrorMessage, Field, Loading } from '../ui.tsx';
import { AuditTrail } from './users/AuditTrail.tsx';
import { AddIdentity, IdentityCard } from './users/Identities.tsx';
import { statusLabel } from './users/labels.ts';
import { SecuritySection } from './users/Security.tsx';
import { UserSessions } from './users/UserSessions.tsx';
import { FormDialog, FormSection } from '../widgets/index.ts';

export function UserDetails() {
  const { id = '' } = useParams();
  const can = useCan();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const user = useQuery({ queryKey: ['user', id], queryFn: () => unwrap(api.GET('/api/v1/users/{id}', { params: { path: { id } } })) });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['user', id] });
    void queryClient.invalidateQueries({ queryKey: ['user-security', id] });
    void queryClient.invalidateQueries({ queryKey: ['effective-access'] });
    void queryClient.invalidateQueries({ queryKey: ['user-maintenance'] });
  };
  const status = useMutation({
    mutationFn: (action: 'activate' | 'deactivate' | 'unlock') =>
      action === 'unlock'
        ? unwrap(api.POST('/api/v1/users/{id}/unlock', { params: { path: { id } }, body: {} }))
        : unwrap(api.POST(action === 'activate' ? '/api/v1/users/{id}/activate' : '/api/v1/users/{id}/deactivate', { params: { path: { id } }, body: {} })),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1/users/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['user-maintenance'] });
      navigate('/users');
    },
  });
  if (user.isPending) return <Loading />;
  if (user.error) return <ErrorMessage error={user.error} />;
  const u = user.data;
  return (
    <>
      <p>
        <Link to="/users">{t('← Users')}</Link>
      </p>
      <div className="title-row">
        <h1>{u.name ?? u.username}</h1>
        <span className={`badge ${u.status}`}>{statusLabel(u.status)}</span>
      </div>
      <p className="muted small">{t('User id {id}', { id: u.id })}</p>
      <ErrorMessage error={status.error ?? remove.error} />
      <div className="actions">
        {u.status === 'inactive' && can('users:activate') && (
          <Button className="button" onPress={() => status.mutate('activate')}>
            {t('Activate')}
          </Button>
        )}
        {u.status === 'locked' && can('users:unlock') && (
          <Button className="button" onPress={() => status.mutate('unlock')}>
            {t('Unlock')}
          </Button>
        )}
        {u.status !== 'inactive' && can('users:deactivate') && (
          <Confirm label={t('Deactivate')} title={t('Deactivate {username}', { username: u.username })} confirmLabel={t('Deactivate')} danger onConfirm={() => status.mutate('deactivate')}>
            {t('{username} can no longer sign in, and their refresh tokens stop working.', { username: u.username })}
          </Confirm>
        )}
        {can('users:clone') && <CloneUser id={u.id} username={u.username} />}
        {can('users:delete') && (
          <Confirm label={t('Delete user')} title={t('Delete {username}', { username: u.username })} confirmLabel={t('Delete user')} danger onConfirm={() => remove.mutate()}>
            {t('Delete {username} with their identities, memberships, data scopes, sessions and grants? This cannot be undone.', { username: u.username })}
          </Confirm>
        )}
      </div>
      <GeneralInfo user={u} editable={can('users:update')} onSaved={refresh} />
      <section aria-labelledby="identities">
        <h2 id="identities">{t('Identities')}</h2>
        {u.identities.map((identity) => (
          <IdentityCard key={identity.id} identity={identity} onlyOne={u.identities.length === 1} onChanged={refresh} />
        ))}
        {can('identities:upsert') && <AddIdentity username={u.username} onAdded={refresh} />}
      </section>
      {can('user-sessions:list') && <UserSessions userId={id} username={u.username} />}
      {(can('users:read-security') || can('users:send-password-reset') || can('users:list-passkeys')) && <SecuritySection userId={id} username={u.username} hasEmail={Boolean(u.email)} />}
      {can('audit-events:list') && <AuditTrail userId={id} />}
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
    <FormSection id="general" title={t('General information')} save={save} editable={editable}>
      <Field label={t('Username')} name="username" value={user.username} onChange={() => {}} isReadOnly />
      <Field label={t('Name')} name="name" value={form.name} onChange={set('name')} isReadOnly={!editable} />
      <Field label={t('Email')} name="email" type="email" value={form.email} onChange={set('email')} isReadOnly={!editable} />
      <Field label={t('Phone')} name="phone" value={form.phone} onChange={set('phone')} isReadOnly={!editable} />
      <Field label={t('Department')} name="department" value={form.department} onChange={set('department')} isReadOnly={!editable} />
    </FormSection>
  );
}

/** A new user from this one: identities, direct roles, data scopes, groups and department; never credentials. */
function CloneUser({ id, username }: { id: string; username: string }) {
  const navigate = useNavigate();
  const [form, setForm] = useState({ username: '', name: '', email: '' });
  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));
  return (
    <FormDialog
      label={t('Clone')}
      look="plain"
      title={t('Clone {username}', { username })}
      submitLabel={t('Clone')}
      submit={() =>
        unwrap(
          api.POST('/api/v1/users/{id}/clone', {
            params: { path: { id } },
            body: { username: form.username, email: form.email, ...(form.name ? { name: form.name } : {}) },
          }),
        )
      }
      onSuccess={(created) => navigate(`/users/${created.id}`)}
    >
      <p className="small">{t('The new user gets the same identities, roles given directly, data scopes, groups and department; never a password or second factor.')}</p>
      <Field label={t('Username')} name="username" value={form.username} onChange={set('username')} isRequired />
      <Field label={t('Name')} name="name" value={form.name} onChange={set('name')} />
      <Field label={t('Email')} name="email" type="email" value={form.email} onChange={set('email')} isRequired />
    </FormDialog>
  );
}
