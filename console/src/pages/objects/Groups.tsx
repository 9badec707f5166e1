// Groups (departments and teams): the list, creating one, and one group's page (name, type,
// description, members found by search, roles, delete).
import { useState, type Dispatch, type SetStateAction } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Button, Input, Label, SearchField } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage } from '../../ui.tsx';
import { objectDetails, useChange, useObjectForm, ChoiceField, objectList, collection, useRefresh, NameFields, CollectionTable, FormSection, DeleteSection, HeldList, ActionForm, choiceLabel, type ObjectOf } from '../../widgets/index.ts';
import { RolePicker } from '../users/pickers.tsx';
import { adminObjects } from './admin-objects.tsx';

type GroupType = 'department' | 'team';

const groups = adminObjects('groups', {
  labels: { title: () => t('Groups'), empty: () => t('There is no group yet.'), back: () => t('← Groups'), missing: () => t('There is no such group.') },
  columns: () => [
    { key: 'type', header: t('Type'), cell: (g) => choiceLabel(typeChoices(), g.type) },
    { key: 'roles', header: t('Roles'), cell: (g) => g.roles.map((r) => r.name).join(', ') || '—' },
    { key: 'members', header: t('Members'), cell: (g) => g.memberCount },
  ],
  deletion: { id: 'group-delete', label: () => t('Delete group'), title: (g) => t('Delete the group {name}?', { name: g.name }), note: () => t('Its members lose the roles the group gave them.') },
});

function typeChoices(): { id: GroupType; label: string }[] {
  return [
    { id: 'department', label: t('Department') },
    { id: 'team', label: t('Team') },
  ];
}

type GroupForm = { name: string; type: GroupType; description: string };

/** A group's fields, when it is created and on its page. */
function GroupFields(props: { form: GroupForm; setForm: Dispatch<SetStateAction<GroupForm>>; isReadOnly?: boolean }) {
  return (
    <NameFields {...props}>
      <ChoiceField label={t('Type')} name="type" choices={typeChoices()} value={props.form.type} onChange={(type) => props.setForm((f) => ({ ...f, type }))} isReadOnly={props.isReadOnly} />
    </NameFields>
  );
}

export const GroupsPage = objectList(groups, {
  label: () => t('Create group'),
  blank: { name: '', type: 'team', description: '' } as GroupForm,
  fields: GroupFields,
  submit: (form) => unwrap(api.POST('/api/v1/groups', { body: { name: form.name, type: form.type, description: form.description || null } })),
});

export const GroupDetails = objectDetails(groups, (group) => <GroupView group={group} />);

type GroupData = ObjectOf<typeof groups>;

function GroupView({ group }: { group: GroupData }) {
  const can = useCan();
  const { form, setForm, save, refresh, editable } = useObjectForm(
    groups,
    group,
    (): GroupForm => ({ name: group.name, type: group.type, description: group.description ?? '' }),
    (values) => unwrap(api.PATCH('/api/v1/groups/{id}', { params: { path: { id: group.id } }, body: { name: values.name, type: values.type, description: values.description || null } })),
  );
  return (
    <>
      <div className="title-row">
        <h1>{group.name}</h1>
        <span className="badge">{choiceLabel(typeChoices(), group.type)}</span>
      </div>
      <FormSection id="group-general" title={t('General information')} save={save} editable={editable}>
        <GroupFields form={form} setForm={setForm} isReadOnly={!editable} />
      </FormSection>
      <GroupRoles group={group} onChanged={refresh} />
      {can('group-members:list') && <GroupMembers group={group} onChanged={refresh} />}
      <DeleteSection of={groups} object={group} />
    </>
  );
}

function GroupRoles({ group, onChanged }: { group: GroupData; onChanged(): void }) {
  const can = useCan();
  const mayAssign = can('group-roles:assign') && can('roles:list');
  const [roleId, setRoleId] = useState<string | null>(null);
  const assign = useChange((id: string) => unwrap(api.POST('/api/v1/groups/{id}/roles', { params: { path: { id: group.id } }, body: { roleIds: [id] } })), {
    then: () => {
      setRoleId(null);
      onChanged();
    },
  });
  const unassign = useChange((roleId: string) => unwrap(api.DELETE('/api/v1/groups/{id}/roles/{roleId}', { params: { path: { id: group.id, roleId } } })), { then: onChanged });
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

/** A group's members, read up to 500 at once. */
const membersOf = (groupId: string) =>
  collection(
    { queryKey: ['group-members', groupId], queryFn: () => unwrap(api.GET('/api/v1/groups/{id}/members', { params: { path: { id: groupId }, query: { limit: 500 } } })), rows: (data) => data.members, id: (m) => m.identityId },
    { title: () => t('Members'), empty: () => t('The group has no member.') },
  );

function GroupMembers({ group, onChanged }: { group: GroupData; onChanged(): void }) {
  const can = useCan();
  const memberList = membersOf(group.id);
  const members = useQuery({ queryKey: memberList.queryKey, queryFn: memberList.queryFn });
  const refreshMembers = useRefresh(memberList);
  const changed = () => {
    void refreshMembers();
    onChanged();
  };
  const remove = useChange((identityId: string) => unwrap(api.DELETE('/api/v1/groups/{id}/members/{identityId}', { params: { path: { id: group.id, identityId } } })), { then: changed });
  return (
    <section aria-labelledby="group-members">
      <h2 id="group-members">{t('Members')}</h2>
      <CollectionTable
        of={memberList}
        query={members}
        columns={[
          { key: 'alias', header: t('Identity'), cell: (m) => m.alias },
          { key: 'kind', header: t('Kind'), cell: (m) => m.kind },
          { key: 'owner', header: t('User or service account'), cell: (m) => (m.userId ? <Link to={`/users/${m.userId}`}>{m.username}</Link> : (m.serviceAccountName ?? '—')) },
          {
            key: 'remove',
            shown: can('group-members:remove'),
            header: t('Actions'),
            cell: (m) => (
              <Button className="button small" aria-label={t('Remove {alias} from the group', { alias: m.alias })} onPress={() => remove.mutate(m.identityId)}>
                {t('Remove')}
              </Button>
            ),
          },
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
  const add = useChange((identityId: string) => unwrap(api.POST('/api/v1/groups/{id}/members', { params: { path: { id: group.id } }, body: { identityIds: [identityId] } })), { then: onAdded });
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
