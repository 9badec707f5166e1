// API resources (RFC 8707 audiences) and their permission catalogs, from which custom roles take
// their permissions: the list, registering one, and changing one.
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { Field } from '../../ui.tsx';
import { createOrEdit, FormDialog, LinesField, SelectField, lines, ObjectList, collection, useRefresh } from '../../widgets/index.ts';

const resources = collection(
  { queryKey: ['api-resources'], queryFn: () => unwrap(api.GET('/api/v1/api-resources')), rows: (data) => data.resources, id: (r) => r.id },
  { title: () => t('API resources'), empty: () => t('There is no API resource yet.') },
);

interface Resource {
  identifier: string;
  name: string;
  scopes: string[];
  accessTokenFormat: 'jwt' | 'opaque';
  accessTokenTtl: number | null;
}

export function ApiResourcesPage() {
  const can = useCan();
  const editable = can('api-resources:upsert');
  return (
    <ObjectList
      of={resources}
      create={{ permission: 'api-resources:upsert', dialog: <ResourceDialog /> }}
      columns={[
        { key: 'name', header: t('Name'), cell: (r) => r.name },
        { key: 'identifier', header: t('Identifier'), cell: (r) => <span className="mono">{r.identifier}</span> },
        { key: 'scopes', header: t('Permission catalog'), cell: (r) => <span className="mono small">{r.scopes.join(' ') || '—'}</span> },
        { key: 'format', header: t('Token format'), cell: (r) => (r.accessTokenFormat === 'jwt' ? t('JWT') : t('Opaque')) },
        { key: 'edit', shown: editable, header: t('Actions'), cell: (r) => <ResourceDialog resource={r} /> },
      ]}
    >
      <p className="muted">{t('The APIs applications ask tokens for, each with the permissions roles may give for it.')}</p>
    </ObjectList>
  );
}

function ResourceDialog({ resource }: { resource?: Resource }) {
  const queryClient = useQueryClient();
  const refresh = useRefresh(resources);
  const initial = () => ({
    identifier: resource?.identifier ?? '',
    name: resource?.name ?? '',
    scopes: resource?.scopes.length ? resource.scopes : [''],
    accessTokenFormat: resource?.accessTokenFormat ?? 'jwt',
    accessTokenTtl: resource?.accessTokenTtl?.toString() ?? '',
  });
  const [form, setForm] = useState(initial);
  return (
    <FormDialog
      {...createOrEdit(t('Register API resource'), resource && t('Edit {name}', { name: resource.name }))}
      submitLabel={t('Save')}
      onOpen={() => setForm(initial())}
      submit={() =>
        unwrap(
          api.PUT('/api/v1/api-resources', {
            body: {
              identifier: form.identifier.trim(),
              name: form.name,
              scopes: lines(form.scopes),
              accessTokenFormat: form.accessTokenFormat,
              accessTokenTtl: form.accessTokenTtl.trim() ? Number(form.accessTokenTtl) : null,
            },
          }),
        )
      }
      onSuccess={() => {
        void refresh();
        void queryClient.invalidateQueries({ queryKey: ['permissions'] });
      }}
    >
      <Field label={t('Identifier (an absolute URI)')} name="identifier" value={form.identifier} onChange={(identifier) => setForm((f) => ({ ...f, identifier }))} isReadOnly={!!resource} isRequired />
      <Field label={t('Name')} name="name" value={form.name} onChange={(name) => setForm((f) => ({ ...f, name }))} isRequired />
      <LinesField label={t('Permission catalog')} name="scopes" description={t('One permission a line, e.g. bookings:read.')} value={form.scopes} onChange={(scopes) => setForm((f) => ({ ...f, scopes }))} />
      <SelectField
        label={t('Token format')}
        choices={[
          { id: 'jwt', label: t('JWT') },
          { id: 'opaque', label: t('Opaque') },
        ]}
        value={form.accessTokenFormat}
        onChange={(accessTokenFormat) => setForm((f) => ({ ...f, accessTokenFormat: accessTokenFormat as 'jwt' | 'opaque' }))}
      />
      <Field label={t('Access token lifetime (seconds, empty: default)')} name="accessTokenTtl" type="number" value={form.accessTokenTtl} onChange={(accessTokenTtl) => setForm((f) => ({ ...f, accessTokenTtl }))} />
    </FormDialog>
  );
}
