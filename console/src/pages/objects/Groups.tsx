// Groups (departments and teams): the list, creating one, and one group's page (name, type,
// description, members found by search, roles, delete).
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Button, Input, Label, SearchField } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage, Field } from '../../ui.tsx';
import { objectDetails, useObjectForm, useRefresh, useShowCreated, objectPages, FormDialog, SelectField, ObjectList, QueryTable, FormSection, DeleteSection, HeldList, ActionForm, type ObjectOf } from '../../widgets/index.ts';
import { type RoleRef } from './Roles.tsx';
import { RolePicker } from '../users/pickers.tsx';

type GroupType = 'department' | 'team';

const groups = objectPages(
  { queryKey: ['groups'], queryFn: () => unwrap(api.GET('/api/v1/groups')), rows: (data) => data.groups, id: (g) => g.id, path: '/groups', remove: (id) => unwrap(api.DELETE('/api/v1/groups/{id}', { params: { path: { id } } })) },
  { title: () => t('Groups'), empty: () => t('There is no group yet.'), back: () => t('← Groups'), missing: () => t('There is no such group.') },
);

function typeChoices() {
  return [
    { id: 'department', label: t('Department') },
    { id: 'team', label: t('Team') },
  ];
}

const typeLabel = (type: GroupType) => (type === 'department' ? t('Department') : t('Team'));

export function GroupsPage() {
  return (
    <ObjectList
      of={groups}
      create={{ permission: 'groups:create', dialog: <CreateGroup /> }}
      columns={[
        { key: 'name', header: t('Name'), cell: (g) => <Link to={`/groups/${g.id}`}>{g.name}</Link> },
        { key: 'type', header: t('Type'), cell: (g) => typeLabel(g.type) },
        { key: 'roles', header: t('Roles'), cell: (g) => g.roles.map((r) => r.name).join(', ') || '—' },
        { key: 'members', header: t('Members'), cell: (g) => g.memberCount },
      ]}
    />
  );
}

function CreateGroup() {
  const showCreated = useShowCreated(groups);
  const [form, setForm] = useState({ name: '', type: 'team' as GroupType, description: '' });
  return (
    <FormDialog
      label={t('Create group')}
      title={t('Create group')}
      submitLabel={t('Create')}
      onOpen={() => setForm({ name: '', type: 'team', description: '' })}
      submit={() => unwrap(api.POST('/api/v1/groups', { body: { name: form.name, type: form.type, description: form.description || null } }))}
      onSuccess={(group) => showCreated(group.id)}
    >
      <Field label={t('Name')} name="name" value={form.name} onChange={(name) => setForm((f) => ({ ...f, name }))} isRequired />
      <SelectField label={t('Type')} choices={typeChoices()} value={form.type} onChange={(type) => setForm((f) => ({ ...f, type: type as GroupType }))} />
      <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} />
    </FormDialog>
  );
}

export const GroupDetails = objectDetails(groups, (group) => <GroupView group={group} />);

type GroupData = ObjectOf<typeof groups>;

function GroupView({ group }: { group: GroupData }) {
  const can = useCan();
  const editable = can('groups:update');
  const { form, setForm, save, refresh } = useObjectForm(
    groups,
    group,
    () => ({ name: group.name, type: group.type, description: group.description ?? '' }),
    (values) => unwrap(api.PATCH('/api/v1/groups/{id}', { params: { path: { id: group.id } }, body: { name: values.name, type: values.type, description: values.description || null } })),
  );
  return (
    <>
      <div className="title-row">
        <h1>{group.name}</h1>
        <span className="badge">{typeLabel(group.type)}</span>
      </div>
      <FormSection id="group-general" title={t('General information')} save={save} editable={editable}>
        <Field label={t('Name')} name="name" value={form.name} onChange={(name) => setForm((f) => ({ ...f, name }))} isReadOnly={!editable} isRequired />
        {editable ? (
          <SelectField label={t('Type')} choices={typeChoices()} value={form.type} onChange={(type) => setForm((f) => ({ ...f, type: type as GroupType }))} />
        ) : (
          <Field label={t('Type')} name="type" value={typeLabel(group.type)} onChange={() => {}} isReadOnly />
        )}
        <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} isReadOnly={!editable} />
      </FormSection>
      <GroupRoles group={group} onChanged={refresh} />
      {can('group-members:list') && <GroupMembers group={group} onChanged={refresh} />}
      <DeleteSection of={groups} objectId={group.id} permission="groups:delete" id="group-delete" label={t('Delete group')} title={t('Delete the group {name}?', { name: group.name })}>
        {t('Its members lose the roles the group gave them.')}
      </DeleteSection>
    </>
  );
}

function GroupRoles({ group, onChanged }: { group: GroupData; onChanged(): void }) {
  const can = useCan();
  const mayAssign = can('group-roles:assign') && can('roles:list');
  const [roleId, setRoleId] = useState<string | null>(null);
  const assign = useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/v1/groups/{id}/roles', { params: { path: { id: group.id } }, body: { roleIds: [id] } })),
    onSuccess: () => {
      setRoleId(null);
      onChanged();
    },
  });
  const unassign = useMutation({
    mutationFn: (roleId: string) => unwrap(api.DELETE('/api/v1/groups/{id}/roles/{roleId}', { params: { path: { id: group.id, roleId } } })),
    onSuccess: onChanged,
  });
  return (
    <section aria-labelledby="group-roles">
      <h2 id="group-roles">{t('Roles')}</h2>
      <p className="muted">{t('Every member holds these roles.')}</p>
      <HeldList items={group.roles} removeLabel={(role) => t('Take the role {role} from the group', { role: role.name })} onRemove={can('group-roles:unassign') ? (role) => unassign.mutate(role.id) : undefined} empty={t('No role.')} />
      <ErrorMessage error={unassign.error} />
      {mayAssign && (
        <ActionForm className="inline-form" label={t('Give the group a role')} onSubmit={() => roleId && assign.mutate(roleId)}>
          <RolePicker label={t('Role to give')} roleId={roleId} onChange={setRoleId} exclude={group.roles.map((held) => held.id)} />
          <Button className="button" type="submit" isDisabled={!roleId} isPending={assign.isPending}>
            {t('Give role')}
          </Button>
        </ActionForm>
      )}
      <ErrorMessage error={assign.error} />
    </section>
  );
}

function GroupMembers({ group, onChanged }: { group: GroupData; onChanged(): void }) {
  const can = useCan();
  const queryClient = useQueryClient();
  const members = useQuery({
    queryKey: ['group-members', group.id],
    queryFn: () => unwrap(api.GET('/api/v1/groups/{id}/members', { params: { path: { id: group.id }, query: { limit: 500 } } })),
  });
  const changed = () => {
    void queryClient.invalidateQueries({ queryKey: ['group-members', group.id] });
    onChanged();
  };
  const remove = useMutation({
    mutationFn: (identityId: string) => unwrap(api.DELETE('/api/v1/groups/{id}/members/{identityId}', { params: { path: { id: group.id, identityId } } })),
    onSuccess: changed,
  });
  return (
    <section aria-labelledby="group-members">
      <h2 id="group-members">{t('Members')}</h2>
      <QueryTable
        label={t('Members')}
        query={members}
        rows={(data) => data.members}
        rowKey={(m) => m.identityId}
        empty={t('The group has no member.')}
        columns={[
          { key: 'alias', header: t('Identity'), cell: (m) => m.alias },
          { key: 'kind', header: t('Kind'), cell: (m) => m.kind },
          { key: 'owner', header: t('User or service account'), cell: (m) => (m.userId ? <Link to={`/users/${m.userId}`}>{m.username}</Link> : (m.serviceAccountName ?? '—')) },
          ...(can('group-members:remove')
            ? [
                {
                  key: 'remove',
                  header: t('Actions'),
                  cell: (m: { identityId: string; alias: string }) => (
                    <Button className="button small" aria-label={t('Remove {alias} from the group', { alias: m.alias })} onPress={() => remove.mutate(m.identityId)}>
                      {t('Remove')}
                    </Button>
                  ),
                },
              ]
            : []),
        ]}
      />
      <ErrorMessage error={remove.error} />
      {can('group-members:add') && can('users:list') && <AddMember group={group} members={members.data?.members.map((m) => m.identityId) ?? []} onAdded={changed} />}
    </section>
  );
}

function AddMember({ group, members, onAdded }: { group: GroupData; members: string[]; onAdded(): void }) {
  const [search, setSearch] = useState('');
  const found = useQuery({
    queryKey: ['identity-search', search],
    enabled: search.trim().length > 0,
    queryFn: () => unwrap(api.GET('/api/v1/users', { params: { query: { q: search.trim(), limit: 20 } } })),
  });
  const add = useMutation({
    mutationFn: (identityId: string) => unwrap(api.POST('/api/v1/groups/{id}/members', { params: { path: { id: group.id } }, body: { identityIds: [identityId] } })),
    onSuccess: onAdded,
  });
  const candidates = (found.data?.items ?? []).flatMap((user) => user.identities.map((identity) => ({ ...identity, username: user.username })));
  return (
    <div>
      <h3>{t('Add members')}</h3>
      <SearchField className="field" value={search} onChange={setSearch}>
        <Label>{t('Find identities by username, email or name')}</Label>
        <Input />
      </SearchField>
      {found.error ? <ErrorMessage error={found.error} /> : null}
      {search.trim() && found.data && (
        <ul className="plain picker-results" aria-label={t('Identities found')}>
          {candidates.map((c) => (
            <li key={c.id}>
              <span>
                {c.username} · {c.alias} <span className="muted">({c.kind})</span>
              </span>
              {members.includes(c.id) ? (
                <span className="muted">{t('member')}</span>
              ) : (
                <Button className="button small" aria-label={t('Add {alias} of {username} to the group', { alias: c.alias, username: c.username })} onPress={() => add.mutate(c.id)}>
                  {t('Add')}
                </Button>
              )}
            </li>
          ))}
          {candidates.length === 0 && <li className="muted">{t('No identity matches.')}</li>}
        </ul>
      )}
      <ErrorMessage error={add.error} />
    </div>
  );
}
