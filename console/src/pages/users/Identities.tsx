// A user's identities: add one (the upsert), and per identity its direct roles, data scopes,
// groups and the effective-access view (each permission with where it comes from).
import { useState, type ReactNode } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Button, Disclosure, DisclosurePanel, Heading } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import type { paths } from '../../api/schema';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { Confirm, ErrorMessage, Field } from '../../ui.tsx';
import { DataTable, HeldList, ActionForm, useChange } from '../../widgets/index.ts';
import { Choice, RolePicker, useGroups, useIdentityKinds } from './pickers.tsx';

/** One of a user's identities as the user details answer gives it. */
export type IdentityView = paths['/api/v1/users/{id}']['get']['responses'][200]['content']['application/json']['identities'][number];

export function AddIdentity({ username, onAdded }: { username: string; onAdded(): void }) {
  const can = useCan();
  const kinds = useIdentityKinds(can('identity-kinds:list'));
  const [kind, setKind] = useState<string | null>(null);
  const [alias, setAlias] = useState('');
  const add = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/identities', { body: { username, kind: kind!, alias } })),
    onSuccess: () => {
      setKind(null);
      setAlias('');
      onAdded();
    },
  });
  return (
    <ActionForm className="inline-form" label={t('Add an identity')} onSubmit={() => add.mutate()}>
      {kinds.data ? (
        <Choice label={t('Kind')} value={kind} placeholder={t('Choose a kind')} onChange={setKind} options={kinds.data.items.filter((k) => k.kind !== 'service').map((k) => ({ id: k.kind, name: k.label }))} />
      ) : (
        <Field label={t('Kind')} name="kind" value={kind ?? ''} onChange={(v) => setKind(v || null)} />
      )}
      <Field label={t('Alias')} name="alias" value={alias} onChange={setAlias} />
      <Button className="button" type="submit" isDisabled={!kind || !alias.trim()} isPending={add.isPending}>
        {t('Add identity')}
      </Button>
      <ErrorMessage error={add.error} />
    </ActionForm>
  );
}

export function IdentityCard({ identity, onlyOne, onChanged }: { identity: IdentityView; onlyOne: boolean; onChanged(): void }) {
  const can = useCan();
  const scopes = useQuery({
    queryKey: ['data-scopes', identity.id],
    enabled: can('data-scopes:read'),
    queryFn: () => unwrap(api.GET('/api/v1/identities/{id}/data-scopes', { params: { path: { id: identity.id } } })),
  });
  const unassign = useChange((roleId: string) => unwrap(api.DELETE('/api/v1/identities/{id}/roles/{roleId}', { params: { path: { id: identity.id, roleId } } })), { then: onChanged });
  const removeScope = useChange((key: string) => unwrap(api.DELETE('/api/v1/identities/{id}/data-scopes/{key}', { params: { path: { id: identity.id, key } } })), { then: () => void scopes.refetch() });
  const leave = useChange((groupId: string) => unwrap(api.DELETE('/api/v1/groups/{id}/members/{identityId}', { params: { path: { id: groupId, identityId: identity.id } } })), { then: onChanged });
  const remove = useChange(() => unwrap(api.DELETE('/api/v1/identities/{id}', { params: { path: { id: identity.id } } })), { then: onChanged });
  return (
    <article className="card" aria-label={t('Identity {alias}', { alias: identity.alias })}>
      <div className="title-row">
        <h3>
          {identity.alias} <span className="muted">({identity.kind})</span> {identity.isDefault && <span className="badge">{t('default')}</span>}
        </h3>
        {can('identities:delete') && !onlyOne && (
          <Confirm label={t('Delete identity')} title={t('Delete identity {alias}', { alias: identity.alias })} confirmLabel={t('Delete identity')} danger onConfirm={() => remove.mutate()}>
            {t('Delete the identity {alias} with its roles, memberships and data scopes?', { alias: identity.alias })}
          </Confirm>
        )}
      </div>
      <ErrorMessage error={remove.error} />
      <Held title={t('Roles given directly')} items={identity.roles} removeLabel={(role) => t('Remove role {role} from {alias}', { role: role.name, alias: identity.alias })} permission="identity-roles:unassign" remove={unassign} />
      {can('identity-roles:assign') && can('roles:list') && <AssignRole identityId={identity.id} alias={identity.alias} held={identity.roles.map((r) => r.id)} onChanged={onChanged} />}
      <ErrorMessage error={unassign.error} />
      {can('data-scopes:read') && (
        <>
          <Held
            title={t('Data scopes')}
            items={scopes.data && scopeItems(scopes.data)}
            removeLabel={(scope) => t('Remove data scope {key} from {alias}', { key: scope.id, alias: identity.alias })}
            permission="data-scopes:remove"
            remove={removeScope}
          />
          <ErrorMessage error={scopes.error ?? removeScope.error} />
          {can('data-scopes:set') && <SetScope identityId={identity.id} alias={identity.alias} onChanged={() => void scopes.refetch()} />}
        </>
      )}
      <Held title={t('Groups')} items={identity.groups} removeLabel={(group) => t('Remove {alias} from group {group}', { alias: identity.alias, group: group.name })} permission="group-members:remove" remove={leave} />
      <ErrorMessage error={leave.error} />
      {can('group-members:add') && can('groups:list') && <JoinGroup identityId={identity.id} alias={identity.alias} held={identity.groups.map((g) => g.id)} onChanged={onChanged} />}
      {can('identity-roles:effective-access') && <EffectiveAccess identityId={identity.id} alias={identity.alias} />}
    </article>
  );
}

/** An identity's data scopes, each named by its key and values. */
function scopeItems(scopes: Record<string, string[]>) {
  return Object.entries(scopes).map(([key, values]) => ({
    id: key,
    name: (
      <>
        <span className="mono">{key}</span> = {values.join(', ')}
      </>
    ),
  }));
}

/** A heading, then what the identity holds of one sort (once it is read), each removable by whoever holds `permission`. */
function Held<T extends { id: string; name: ReactNode }>(props: { title: string; items: T[] | undefined; removeLabel(item: T): string; permission: string; remove: { mutate(id: string): void } }) {
  const can = useCan();
  const { remove } = props;
  return (
    <>
      <h4>{props.title}</h4>
      {props.items && <HeldList items={props.items} removeLabel={props.removeLabel} onRemove={can(props.permission) ? (item) => remove.mutate(item.id) : undefined} empty={t('none')} />}
    </>
  );
}

function AssignRole({ identityId, alias, held, onChanged }: { identityId: string; alias: string; held: string[]; onChanged(): void }) {
  const [roleId, setRoleId] = useState<string | null>(null);
  const [key, setKey] = useState(0);
  const assign = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/identities/{id}/roles', { params: { path: { id: identityId } }, body: { roleIds: [roleId!] } })),
    onSuccess: () => {
      setRoleId(null);
      setKey((k) => k + 1);
      onChanged();
    },
  });
  return (
    <div className="inline-form">
      <RolePicker key={key} label={t('Add a role to {alias}', { alias })} roleId={roleId} onChange={setRoleId} exclude={held} />
      <Button className="button" isDisabled={!roleId} onPress={() => assign.mutate()}>
        {t('Add role')}
      </Button>
      <ErrorMessage error={assign.error} />
    </div>
  );
}

function JoinGroup({ identityId, alias, held, onChanged }: { identityId: string; alias: string; held: string[]; onChanged(): void }) {
  const groups = useGroups(true);
  const [groupId, setGroupId] = useState<string | null>(null);
  const join = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/groups/{id}/members', { params: { path: { id: groupId! } }, body: { identityIds: [identityId] } })),
    onSuccess: () => {
      setGroupId(null);
      onChanged();
    },
  });
  const available = (groups.data?.groups ?? []).filter((g) => !held.includes(g.id));
  if (available.length === 0) return null;
  return (
    <div className="inline-form">
      <Choice label={t('Add {alias} to a group', { alias })} value={groupId} placeholder={t('Choose a group')} onChange={setGroupId} options={available.map((g) => ({ id: g.id, name: g.name }))} />
      <Button className="button" isDisabled={!groupId} onPress={() => join.mutate()}>
        {t('Add to group')}
      </Button>
      <ErrorMessage error={join.error} />
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
          body: {
            values: values
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean),
          },
        }),
      ),
    onSuccess: () => {
      setKey('');
      setValues('');
      onChanged();
    },
  });
  return (
    <ActionForm className="inline-form" label={t('Set a data scope of {alias}', { alias })} onSubmit={() => set.mutate()}>
      <Field label={t('Scope key')} name="key" value={key} onChange={setKey} />
      <Field label={t('Values (comma-separated, * for all)')} name="values" value={values} onChange={setValues} />
      <Button className="button" type="submit" isDisabled={!key || !values}>
        {t('Set scope')}
      </Button>
      <ErrorMessage error={set.error} />
    </ActionForm>
  );
}

function sourceText(source: { type: 'direct' } | { type: 'group'; groupName: string } | { type: 'default_policy'; identityKind: string | null }): string {
  if (source.type === 'direct') return t('direct');
  if (source.type === 'group') return t('group {name}', { name: source.groupName });
  return source.identityKind ? t('default policy for {kind}', { kind: source.identityKind }) : t('default policy');
}

/** Each permission the identity holds, with the roles that give it and how the identity has them. */
function EffectiveAccess({ identityId, alias }: { identityId: string; alias: string }) {
  const [open, setOpen] = useState(false);
  const access = useQuery({
    queryKey: ['effective-access', identityId],
    enabled: open,
    queryFn: () => unwrap(api.GET('/api/v1/identities/{id}/effective-access', { params: { path: { id: identityId } } })),
  });
  return (
    <Disclosure isExpanded={open} onExpandedChange={setOpen}>
      <Heading level={4}>
        <Button slot="trigger" className="button small">
          {open ? t('Hide effective access of {alias}', { alias }) : t('Show effective access of {alias}', { alias })}
        </Button>
      </Heading>
      <DisclosurePanel>
        <ErrorMessage error={access.error} />
        {access.data && access.data.permissions.length === 0 && <p className="muted">{t('This identity holds no permission.')}</p>}
        {access.data && access.data.permissions.length > 0 && (
          <DataTable
            caption={t('Effective access of {alias}', { alias })}
            showCaption
            rows={access.data.permissions}
            rowKey={(p) => `${p.resource} ${p.permission}`}
            columns={[
              { key: 'resource', header: t('Resource'), className: 'mono small', cell: (p) => p.resource },
              { key: 'permission', header: t('Permission'), className: 'mono', cell: (p) => p.permission },
              { key: 'via', header: t('Comes from'), className: 'small', cell: (p) => p.via.map((v) => t('role {role} ({sources})', { role: v.roleName, sources: v.sources.map(sourceText).join(', ') })).join('; ') },
            ]}
          />
        )}
      </DisclosurePanel>
    </Disclosure>
  );
}
