// Data-scope keys: the kinds of rows a tenant restricts identities to (e.g. "client"). A key's
// name is what scopes and tokens carry, so only its description changes; a key in use cannot be
// deleted.
import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage, Field } from '../../ui.tsx';
import { createOrEdit, ConfirmAction, FormDialog, ObjectList, collection, useRefresh } from '../../widgets/index.ts';

const keys = collection(
  { queryKey: ['data-scope-keys'], queryFn: () => unwrap(api.GET('/api/v1/data-scope-keys')), rows: (data) => data.items, id: (k) => k.key },
  { title: () => t('Data-scope keys'), empty: () => t('There is no data-scope key yet.') },
);

interface Key {
  key: string;
  description: string | null;
}

export function DataScopeKeysPage() {
  const can = useCan();
  const refresh = useRefresh(keys);
  const remove = useMutation({
    mutationFn: (key: string) => unwrap(api.DELETE('/api/v1/data-scope-keys/{key}', { params: { path: { key } } })),
    onSuccess: refresh,
  });
  const actions = can('data-scope-keys:update') || can('data-scope-keys:delete');
  return (
    <ObjectList
      of={keys}
      create={{ permission: 'data-scope-keys:create', dialog: <KeyDialog /> }}
      columns={[
        { key: 'key', header: t('Key'), cell: (k) => <span className="mono">{k.key}</span> },
        { key: 'description', header: t('Description'), cell: (k) => k.description ?? '—' },
        {
          key: 'actions',
          shown: actions,
          header: t('Actions'),
          cell: (k) => (
            <div className="actions">
              {can('data-scope-keys:update') && <KeyDialog existing={k} />}
              {can('data-scope-keys:delete') && (
                <ConfirmAction label={t('Delete')} ariaLabel={t('Delete the key {key}', { key: k.key })} small danger title={t('Delete the key {key}?', { key: k.key })} confirmLabel={t('Delete')} onConfirm={() => remove.mutate(k.key)}>
                  {t('Only a key that no identity holds values for can be deleted.')}
                </ConfirmAction>
              )}
            </div>
          ),
        },
      ]}
    >
      <p className="muted">{t('Each key names a kind of data an identity may be restricted to, with values given per identity.')}</p>
      <ErrorMessage error={remove.error} />
    </ObjectList>
  );
}

function KeyDialog({ existing }: { existing?: Key }) {
  const refresh = useRefresh(keys);
  const [form, setForm] = useState({ key: '', description: '' });
  return (
    <FormDialog
      {...createOrEdit(t('Create key'), existing && t('Edit the key {key}', { key: existing.key }))}
      submitLabel={existing ? t('Save') : t('Create')}
      onOpen={() => setForm({ key: existing?.key ?? '', description: existing?.description ?? '' })}
      submit={() =>
        existing
          ? unwrap(api.PATCH('/api/v1/data-scope-keys/{key}', { params: { path: { key: existing.key } }, body: { description: form.description.trim() || null } }))
          : unwrap(api.POST('/api/v1/data-scope-keys', { body: { key: form.key.trim(), description: form.description.trim() || null } }))
      }
      onSuccess={() => void refresh()}
    >
      <Field label={t('Key')} name="key" value={form.key} onChange={(key) => setForm((f) => ({ ...f, key }))} isReadOnly={!!existing} isRequired />
      <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} />
    </FormDialog>
  );
}
