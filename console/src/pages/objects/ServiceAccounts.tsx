// Service accounts and their access keys: the list, creating one, and one account's page (name,
// description, status, delete, keys with their last use and expiry; a new key's secret is shown
// once; revoke).
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage, Field, formatDate } from '../../ui.tsx';
import { objectDetails, useObjectForm, ConfirmAction, FormDialog, SecretOnce, SelectField, ObjectList, QueryTable, FormSection, DeleteSection, objectPages, useRefresh, useShowCreated, type ObjectOf } from '../../widgets/index.ts';

type Status = 'active' | 'inactive';

const accounts = objectPages(
  {
    queryKey: ['service-accounts'],
    queryFn: () => unwrap(api.GET('/api/v1/service-accounts')),
    rows: (data) => data.serviceAccounts,
    id: (s) => s.id,
    path: '/service-accounts',
    remove: (id) => unwrap(api.DELETE('/api/v1/service-accounts/{id}', { params: { path: { id } } })),
  },
  { title: () => t('Service accounts'), empty: () => t('There is no service account yet.'), back: () => t('← Service accounts'), missing: () => t('There is no such service account.') },
);
const statusLabel = (status: Status) => (status === 'active' ? t('active') : t('inactive'));

export function ServiceAccountsPage() {
  return (
    <ObjectList
      of={accounts}
      create={{ permission: 'service-accounts:create', dialog: <CreateServiceAccount /> }}
      columns={[
        { key: 'name', header: t('Name'), cell: (s) => <Link to={`/service-accounts/${s.id}`}>{s.name}</Link> },
        { key: 'id', header: t('Client id'), cell: (s) => <span className="mono">{s.id}</span> },
        { key: 'status', header: t('Status'), cell: (s) => <span className={`badge ${s.status}`}>{statusLabel(s.status)}</span> },
        { key: 'created', header: t('Created'), cell: (s) => formatDate(s.createdAt) },
      ]}
    />
  );
}

function CreateServiceAccount() {
  const showCreated = useShowCreated(accounts);
  const [form, setForm] = useState({ name: '', description: '' });
  return (
    <FormDialog
      label={t('Create service account')}
      title={t('Create service account')}
      submitLabel={t('Create')}
      onOpen={() => setForm({ name: '', description: '' })}
      submit={() => unwrap(api.POST('/api/v1/service-accounts', { body: { name: form.name, description: form.description.trim() || null } }))}
      onSuccess={(account) => showCreated(account.id)}
    >
      <Field label={t('Name')} name="name" value={form.name} onChange={(name) => setForm((f) => ({ ...f, name }))} isRequired />
      <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} />
    </FormDialog>
  );
}

export const ServiceAccountDetails = objectDetails(accounts, (account) => <ServiceAccountView account={account} />);

type AccountData = ObjectOf<typeof accounts>;

function ServiceAccountView({ account }: { account: AccountData }) {
  const can = useCan();
  const editable = can('service-accounts:update');
  const { form, setForm, save } = useObjectForm(
    accounts,
    account,
    () => ({ name: account.name, description: account.description ?? '', status: account.status }),
    (values) => unwrap(api.PATCH('/api/v1/service-accounts/{id}', { params: { path: { id: account.id } }, body: { name: values.name, description: values.description.trim() || null, status: values.status } })),
  );
  const statusChoices = [
    { id: 'active', label: t('active') },
    { id: 'inactive', label: t('inactive') },
  ];
  return (
    <>
      <div className="title-row">
        <h1>{account.name}</h1>
        <span className={`badge ${account.status}`}>{statusLabel(account.status)}</span>
      </div>
      <p>
        {t('Client id')}: <span className="mono">{account.id}</span>
      </p>
      <FormSection id="sa-general" title={t('General information')} save={save} editable={editable}>
        <Field label={t('Name')} name="name" value={form.name} onChange={(name) => setForm((f) => ({ ...f, name }))} isReadOnly={!editable} isRequired />
        <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} isReadOnly={!editable} />
        {editable ? (
          <SelectField label={t('Status')} choices={statusChoices} value={form.status} onChange={(status) => setForm((f) => ({ ...f, status: status as Status }))} />
        ) : (
          <Field label={t('Status')} name="status" value={statusLabel(account.status)} onChange={() => {}} isReadOnly />
        )}
      </FormSection>
      {can('access-keys:list') && <AccessKeys account={account} />}
      <DeleteSection of={accounts} objectId={account.id} permission="service-accounts:delete" id="sa-delete" label={t('Delete service account')} title={t('Delete the service account {name}?', { name: account.name })}>
        {t('Its identity and access keys go with it.')}
      </DeleteSection>
    </>
  );
}

interface KeyData {
  id: string;
  prefix: string;
  description: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function keyState(key: KeyData): string {
  if (key.revokedAt) return t('revoked {when}', { when: formatDate(key.revokedAt) });
  if (key.expiresAt && new Date(key.expiresAt) <= new Date()) return t('expired');
  return t('active');
}

function AccessKeys({ account }: { account: AccountData }) {
  const can = useCan();
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ['access-keys', account.id], queryFn: () => unwrap(api.GET('/api/v1/service-accounts/{id}/keys', { params: { path: { id: account.id } } })) });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['access-keys', account.id] });
  const [secret, setSecret] = useState<string | null>(null);
  const [form, setForm] = useState({ description: '', expires: '' });
  const revoke = useMutation({
    mutationFn: (keyId: string) => unwrap(api.DELETE('/api/v1/service-accounts/{id}/keys/{keyId}', { params: { path: { id: account.id, keyId } } })),
    onSuccess: refresh,
  });
  return (
    <section aria-labelledby="sa-keys">
      <div className="title-row">
        <h2 id="sa-keys">{t('Access keys')}</h2>
        {can('access-keys:create') && (
          <FormDialog
            label={t('Create access key')}
            title={t('Create access key')}
            submitLabel={t('Create')}
            onOpen={() => setForm({ description: '', expires: '' })}
            submit={() =>
              unwrap(
                api.POST('/api/v1/service-accounts/{id}/keys', {
                  params: { path: { id: account.id } },
                  body: { description: form.description.trim() || null, ...(form.expires ? { expiresAt: new Date(`${form.expires}T23:59:59`).toISOString() } : {}) },
                }),
              )
            }
            onSuccess={(created) => {
              setSecret(created.secret);
              void refresh();
            }}
          >
            <Field label={t('Description')} name="description" value={form.description} onChange={(description) => setForm((f) => ({ ...f, description }))} />
            <Field label={t('Expires on (empty: never)')} name="expires" type="date" value={form.expires} onChange={(expires) => setForm((f) => ({ ...f, expires }))} />
          </FormDialog>
        )}
      </div>
      {secret && (
        <SecretOnce
          title={t('New access key of {name}', { name: account.name })}
          label={t('Access key secret')}
          value={secret}
          details={t('Use it as the client secret with the client id {clientId}.', { clientId: account.id })}
          onDismiss={() => setSecret(null)}
        />
      )}
      <ErrorMessage error={revoke.error} />
      <QueryTable
        label={t('Access keys')}
        query={keys}
        rows={(data) => data.keys}
        rowKey={(k) => k.id}
        empty={t('The account has no access key.')}
        columns={[
          { key: 'prefix', header: t('Key'), cell: (k) => <span className="mono">{k.prefix}…</span> },
          { key: 'description', header: t('Description'), cell: (k) => k.description ?? '—' },
          { key: 'created', header: t('Created'), cell: (k) => formatDate(k.createdAt) },
          { key: 'lastUsed', header: t('Last used'), cell: (k) => (k.lastUsedAt ? formatDate(k.lastUsedAt) : t('never')) },
          { key: 'expires', header: t('Expires'), cell: (k) => (k.expiresAt ? formatDate(k.expiresAt) : t('never')) },
          { key: 'state', header: t('Status'), cell: keyState },
          ...(can('access-keys:revoke')
            ? [
                {
                  key: 'revoke',
                  header: t('Actions'),
                  cell: (k: KeyData) =>
                    k.revokedAt ? null : (
                      <ConfirmAction
                        label={t('Revoke')}
                        ariaLabel={t('Revoke the key {prefix}', { prefix: k.prefix })}
                        small
                        danger
                        title={t('Revoke the key {prefix}?', { prefix: k.prefix })}
                        confirmLabel={t('Revoke')}
                        onConfirm={() => revoke.mutate(k.id)}
                      >
                        {t('Every node refuses it at once; tokens already issued live out their short lifetime.')}
                      </ConfirmAction>
                    ),
                },
              ]
            : []),
        ]}
      />
    </section>
  );
}
