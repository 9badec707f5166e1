// Roles: the list, creating one with permissions from the catalogs, and one role's page (name,
// description, permissions grouped by API resource, the roles its holders may assign, delete).
// System roles are shown read-only; so is everything the signed-in person may not change.
import { useEffect, useState, type Dispatch, type SetStateAction } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage } from '../../ui.tsx';
import { objectDetails, useChange, useObjectForm, Checklist, objectList, NameFields, QueryView, SaveFooter, FormSection, DeleteSection } from '../../widgets/index.ts';
import { RolePicker } from '../users/pickers.tsx';
import { adminObjects } from './admin-objects.tsx';
import { roleQuery } from './role-lookup.ts';

export interface RoleRef {
  id: string;
  name: string;
  system: boolean;
}

interface Permission {
  resource: string;
  permission: string;
}

/** Gatehouse's own admin API, as roles name it. */
const GATEHOUSE = 'gatehouse';

const keyOf = (p: Permission) => `${p.resource} ${p.permission}`;
const fromKey = (key: string): Permission => {
  const at = key.indexOf(' ');
  return { resource: key.slice(0, at), permission: key.slice(at + 1) };
};

/** Roles listed on a page; a tenant may hold thousands, so the list is searched and paged on the server and a role's page reads that role alone. */
const ROLES_PER_PAGE = 50;

const roles = adminObjects('roles', {
  labels: { title: () => t('Roles'), empty: () => t('There is no role yet.'), back: () => t('← Roles'), missing: () => t('There is no such role.') },
  columns: () => [
    { key: 'description', header: t('Description'), cell: (role) => role.description ?? '—' },
    { key: 'permissions', header: t('Permissions'), cell: (role) => role.permissions.length },
    { key: 'system', header: t('Kind'), cell: (role) => (role.system ? <span className="badge">{t('system, read-only')}</span> : t('custom')) },
  ],
  deletion: { id: 'role-delete', label: () => t('Delete role'), title: (role) => t('Delete the role {name}?', { name: role.name }), note: () => t('Every identity, group and default policy entry that holds this role loses it.') },
  paged: { size: ROLES_PER_PAGE, queryFn: (query) => unwrap(api.GET('/api/v1/roles', { params: { query } })), nextCursor: (data) => data.nextCursor },
  one: roleQuery,
});

function resourceLabel(resource: string): string {
  return resource === GATEHOUSE ? t('Gatehouse admin API') : resource;
}

/**
 * The catalogs the picker offers, one group per API resource, with any permission a role holds
 * that its catalog no longer lists kept in its group so that saving never drops it unseen.
 */
function useCatalog(held: Permission[]) {
  const can = useCan();
  const catalog = useQuery({ queryKey: ['permissions'], enabled: can('permissions:list'), queryFn: () => unwrap(api.GET('/api/v1/permissions')) });
  const groups = new Map<string, Set<string>>();
  const add = (resource: string, permission: string) => groups.set(resource, (groups.get(resource) ?? new Set()).add(permission));
  if (catalog.data) {
    for (const p of catalog.data.gatehouse) add(GATEHOUSE, p.name);
    for (const r of catalog.data.resources) for (const p of r.permissions) add(r.resource, p);
  }
  for (const p of held) add(p.resource, p.permission);
  return { catalog, groups: [...groups].map(([resource, permissions]) => ({ resource, permissions: [...permissions].sort() })) };
}

export function PermissionPicker(props: { selected: string[]; onChange?(selected: string[]): void; held: Permission[]; isReadOnly?: boolean }) {
  const { catalog, groups } = useCatalog(props.held);
  return (
    <div>
      <ErrorMessage error={catalog.error} />
      {groups.map((group) => (
        <Checklist
          key={group.resource}
          label={resourceLabel(group.resource)}
          choices={group.permissions.map((permission) => ({ id: keyOf({ resource: group.resource, permission }), label: permission }))}
          selected={props.selected}
          isReadOnly={props.isReadOnly}
          onChange={(chosen) => {
            const others = props.selected.filter((key) => fromKey(key).resource !== group.resource);
            props.onChange?.([...others, ...chosen]);
          }}
        />
      ))}
      {groups.length === 0 && <p className="muted">{t('No permission.')}</p>}
    </div>
  );
}

export const RolesPage = objectList(
  roles,
  {
    label: () => t('Create role'),
    blank: { name: '', description: '', permissions: [] as string[] },
    fields: NewRoleFields,
    submit: (form) => unwrap(api.POST('/api/v1/roles', { body: { name: form.name, ...(form.description ? { description: form.description } : {}), permissions: form.permissions.map(fromKey) } })),
  },
  () => ({ form: t('Find roles'), field: t('Search role names'), pages: t('Pages of roles') }),
);

/** A new role's fields: its name and description, and its permissions from the catalogs for whoever may list them. */
function NewRoleFields({ form, setForm }: { form: { name: string; description: string; permissions: string[] }; setForm: Dispatch<SetStateAction<{ name: string; description: string; permissions: string[] }>> }) {
  const can = useCan();
  return (
    <>
      <NameFields form={form} setForm={setForm} />
      {can('permissions:list') && (
        <>
          <h3>{t('Permissions')}</h3>
          <PermissionPicker selected={form.permissions} held={[]} onChange={(permissions) => setForm((f) => ({ ...f, permissions }))} />
        </>
      )}
    </>
  );
}

export const RoleDetails = objectDetails(roles, (role) => <RoleView role={role} />);

interface RoleData extends RoleRef {
  description: string | null;
  permissions: Permission[];
}

function RoleView({ role }: { role: RoleData }) {
  const can = useCan();
  const general = useObjectForm(
    roles,
    role,
    () => ({ name: role.name, description: role.description ?? '' }),
    (values) => unwrap(api.PATCH('/api/v1/roles/{id}', { params: { path: { id: role.id } }, body: { name: values.name, description: values.description || null } })),
  );
  const editable = !role.system && general.editable;
  return (
    <>
      <div className="title-row">
        <h1>{role.name}</h1>
        {role.system && <span className="badge">{t('system, read-only')}</span>}
      </div>
      {role.system && <p className="muted">{t('A system role comes with Gatehouse: its permissions follow the admin API, and it cannot be renamed or deleted.')}</p>}
      <FormSection id="role-general" title={t('General information')} save={general.save} editable={editable}>
        <NameFields form={general.form} setForm={general.setForm} isReadOnly={!editable} />
      </FormSection>
      <RolePermissions role={role} onSaved={general.refresh} />
      {can('roles:read-assignable-roles') && <AssignableRoles role={role} />}
      {!role.system && <DeleteSection of={roles} object={role} />}
    </>
  );
}

function RolePermissions({ role, onSaved }: { role: RoleData; onSaved(): void }) {
  const can = useCan();
  const editable = !role.system && can('roles:set-permissions') && can('permissions:list');
  const [selected, setSelected] = useState(role.permissions.map(keyOf));
  useEffect(() => setSelected(role.permissions.map(keyOf)), [role]);
  const save = useMutation({
    mutationFn: () => unwrap(api.PUT('/api/v1/roles/{id}/permissions', { params: { path: { id: role.id } }, body: { permissions: selected.map(fromKey) } })),
    onSuccess: onSaved,
  });
  return (
    <section aria-labelledby="role-permissions">
      <h2 id="role-permissions">{t('Permissions')}</h2>
      <PermissionPicker selected={selected} held={role.permissions} onChange={setSelected} isReadOnly={!editable} />
      {editable && <SaveFooter save={save} label={t('Save permissions')} onPress={() => save.mutate()} />}
      <ErrorMessage error={save.error} />
    </section>
  );
}

/** The roles the holders may assign, each a checkbox; more are added by searching them on the server. */
function AssignableRoles({ role }: { role: RoleData }) {
  const can = useCan();
  const editable = !role.system && can('roles:set-assignable-roles');
  const assignable = useQuery({
    queryKey: ['assignable-roles', role.id],
    queryFn: () => unwrap(api.GET('/api/v1/roles/{id}/assignable-roles', { params: { path: { id: role.id } } })),
  });
  const [selected, setSelected] = useState<string[]>([]);
  const [added, setAdded] = useState<{ id: string; name: string }[]>([]);
  const [pickerKey, setPickerKey] = useState(0);
  useEffect(() => {
    setSelected(assignable.data?.roles.map((r) => r.id) ?? []);
    setAdded([]);
  }, [assignable.data]);
  const save = useChange(() => unwrap(api.PUT('/api/v1/roles/{id}/assignable-roles', { params: { path: { id: role.id } }, body: { roleIds: selected } })), { reads: [['assignable-roles', role.id]] });
  const choices = [...(assignable.data?.roles ?? []), ...added].map((r) => ({ id: r.id, label: r.name }));
  return (
    <section aria-labelledby="role-assignable">
      <h2 id="role-assignable">{t('Roles its holders may assign')}</h2>
      <p className="muted">{t('Holders of this role may give these roles to others without holding their permissions.')}</p>
      <QueryView query={assignable}>{() => <Checklist label={t('Assignable roles')} open choices={choices} selected={selected} onChange={setSelected} isReadOnly={!editable} />}</QueryView>
      {editable && can('roles:list') && (
        <RolePicker
          key={pickerKey}
          label={t('Add a role its holders may assign')}
          roleId={null}
          exclude={[role.id, ...choices.map((c) => c.id)]}
          onChange={(roleId, name) => {
            if (!roleId || !name) return;
            setAdded((a) => [...a, { id: roleId, name }]);
            setSelected((s) => [...s, roleId]);
            setPickerKey((k) => k + 1);
          }}
        />
      )}
      {editable && <SaveFooter save={save} label={t('Save assignable roles')} onPress={() => save.mutate()} />}
      <ErrorMessage error={save.error} />
    </section>
  );
}
