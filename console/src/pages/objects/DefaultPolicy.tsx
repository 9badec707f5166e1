// The default account policy: roles every identity holds, or every identity of one kind. The
// whole policy is replaced at once.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Button } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage } from '../../ui.tsx';
import { DataTable, ActionForm, QueryView, SelectField } from '../../widgets/index.ts';
import { RolePicker } from '../users/pickers.tsx';

interface Entry {
  roleId: string;
  roleName: string;
  identityKind: string | null;
}

const EVERY_KIND = '*';

export function DefaultPolicyPage() {
  const can = useCan();
  const queryClient = useQueryClient();
  const policy = useQuery({ queryKey: ['default-policy'], queryFn: () => unwrap(api.GET('/api/v1/default-policy')) });
  const editable = can('default-policy:replace') && can('roles:list');
  const kinds = useQuery({ queryKey: ['identity-kinds'], enabled: editable && can('identity-kinds:list'), queryFn: () => unwrap(api.GET('/api/v1/identity-kinds')) });
  const [entries, setEntries] = useState<Entry[]>([]);
  useEffect(() => setEntries(policy.data?.roles ?? []), [policy.data]);
  const [adding, setAdding] = useState<{ roleId: string | null; roleName: string; kind: string }>({ roleId: null, roleName: '', kind: EVERY_KIND });
  const [pickerKey, setPickerKey] = useState(0);
  const save = useMutation({
    mutationFn: (next: Entry[]) => unwrap(api.PUT('/api/v1/default-policy', { body: { roles: next.map((e) => ({ roleId: e.roleId, identityKind: e.identityKind })) } })),
    onSuccess: (data) => queryClient.setQueryData(['default-policy'], data),
  });
  const kindLabel = (kind: string | null) => (kind === null ? t('Every identity') : t('Identities of kind {kind}', { kind }));
  const kindChoices = [{ id: EVERY_KIND, label: t('Every identity') }, ...(kinds.data?.items.map((k) => ({ id: k.kind, label: t('Identities of kind {kind}', { kind: k.kind }) })) ?? [])];
  return (
    <>
      <h1>{t('Default policy')}</h1>
      <p className="muted">{t('Roles every identity holds without being given them, or every identity of one kind.')}</p>
      <ErrorMessage error={save.error} />
      <QueryView query={policy}>
        {() => (
          <DataTable
            label={t('Default policy')}
            rows={entries}
            rowKey={(e) => `${e.roleId} ${e.identityKind ?? ''}`}
            empty={t('The policy gives no role.')}
            columns={[
              { key: 'role', header: t('Role'), cell: (e) => e.roleName },
              { key: 'kind', header: t('Given to'), cell: (e) => kindLabel(e.identityKind) },
              {
                key: 'remove',
                shown: editable,
                header: t('Actions'),
                cell: (e) => (
                  <Button className="button small" aria-label={t('Stop giving {role} to {who}', { role: e.roleName, who: kindLabel(e.identityKind) })} onPress={() => save.mutate(entries.filter((x) => x !== e))}>
                    {t('Remove')}
                  </Button>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {editable && (
        <ActionForm
          className="inline-form"
          label={t('Add a role to the default policy')}
          onSubmit={() => {
            if (!adding.roleId) return;
            save.mutate([...entries, { roleId: adding.roleId, roleName: adding.roleName, identityKind: adding.kind === EVERY_KIND ? null : adding.kind }], {
              onSuccess: () => {
                setAdding({ roleId: null, roleName: '', kind: EVERY_KIND });
                setPickerKey((k) => k + 1);
              },
            });
          }}
        >
          <RolePicker key={pickerKey} label={t('Role')} roleId={adding.roleId} onChange={(roleId, name) => setAdding((a) => ({ ...a, roleId, roleName: name ?? '' }))} />
          <SelectField label={t('Given to')} choices={kindChoices} value={adding.kind} onChange={(kind) => setAdding((a) => ({ ...a, kind }))} />
          <Button className="button primary" type="submit" isDisabled={!adding.roleId} isPending={save.isPending}>
            {t('Add to policy')}
          </Button>
        </ActionForm>
      )}
    </>
  );
}
