// Service accounts and their access keys: the list, creating one, and one account's page (name,
// description, status, delete, keys with their last use and expiry; a new key's secret is shown
// once; revoke).
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage, Field, formatDate } from '../../ui.tsx';
import {
  objectDetails,
  useChange,
  useObjectForm,
  ChoiceField,
  ConfirmAction,
  objectList,
  FormDialog,
  NameFields,
  SecretOnce,
  CollectionTable,
  collection,
  useRefresh,
  FormSection,
  DeleteSection,
  choiceLabel,
  type ObjectOf,
} from '../../widgets/index.ts';
import { adminObjects } from './admin-objects.tsx';

type Status = 'active' | 'inactive';

const accounts = adminObjects('service-accounts', {
  labels: { title: () => t('Service accounts'), empty: () => t('There is no service account yet.'), back: () => t('← Service accounts'), missing: () => t('There is no such service account.') },
  columns: () => [
    { key: 'id', header: t('Client id'), cell: (s) => <span className="mono">{s.id}</span> },
    { key: 'status', header: t('Status'), cell: (s) => <span className={`badge ${s.status}`}>{choiceLabel(statusChoices(), s.status)}</span> },
    { key: 'created', header: t('Created'), cell: (s) => formatDate(s.createdAt) },
  ],
  deletion: { id: 'sa-delete', label: () => t('Delete service account'), title: (s) => t('Delete the service account {name}?', { name: s.name }), note: () => t('Its identity and access keys go with it.') },
});
const statusChoices = (): { id: Status; label: string }[] => [
  { id: 'active', label: t('active') },
  { id: 'inactive', label: t('inactive') },
];

export const ServiceAccountsPage = objectList(accounts, {
  label: () => t('Create service account'),
  blank: { name: '', description: '' },
  fields: NameFields,
  submit: (form) => unwrap(api.POST('/api/v1/service-accounts', { body: { name: form.name, description: form.description.trim() || null } })),
});

export const ServiceAccountDetails = objectDetails(accounts, (account) => <ServiceAccountView account={account} />);

type AccountData = ObjectOf<typeof accounts>;

function ServiceAccountView({ account }: { account: AccountData }) {
  const can = useCan();
  const { form, setForm, save, editable } = useObjectForm(
    accounts,
    account,
    () => ({ name: account.name, description: account.description ?? '', status: account.status }),
    (values) => unwrap(api.PATCH('/api/v1/service-accounts/{id}', { params: { path: { id: account.id } }, body: { name: values.name, description: values.description.trim() || null, status: values.status } })),
  );
  return (
    <>
      <div className="title-row">
        <h1>{account.name}</h1>
        <span className={`badge ${account.status}`}>{choiceLabel(statusChoices(), account.status)}</span>
      </div>
      <p>
        {t('Client id')}: <span className="mono">{account.id}</span>
      </p>
      <FormSection id="sa-general" title={t('General information')} save={save} editable={editable}>
        <NameFields form={form} setForm={setForm} isReadOnly={!editable} />
        <ChoiceField label={t('Status')} name="status" choices={statusChoices()} value={form.status} onChange={(status) => setForm((f) => ({ ...f, status }))} isReadOnly={!editable} />
      </FormSection>
      {can('access-keys:list') && <AccessKeys account={account} />}
      <DeleteSection of={accounts} object={account} />
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

/** A service account's access keys. */
const keysOf = (accountId: string) =>
  collection(
    { queryKey: ['access-keys', accountId], queryFn: () => unwrap(api.GET('/api/v1/service-accounts/{id}/keys', { params: { path: { id: accountId } } })), rows: (data) => data.keys, id: (k) => k.id },
    { title: () => t('Access keys'), empty: () => t('The account has no access key.') },
  );

function AccessKeys({ account }: { account: AccountData }) {
  const can = useCan();
  const keyList = keysOf(account.id);
  const keys = useQuery({ queryKey: keyList.queryKey, queryFn: keyList.queryFn });
  const refresh = useRefresh(keyList);
  const [secret, setSecret] = useState<string | null>(null);
  const [form, setForm] = useState({ description: '', expires: '' });
  const revoke = useChange((keyId: string) => unwrap(api.DELETE('/api/v1/service-accounts/{id}/keys/{keyId}', { params: { path: { id: account.id, keyId } } })), { then: refresh });
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
      <CollectionTable
        of={keyList}
        query={keys}
        columns={[
          { key: 'prefix', header: t('Key'), cell: (k) => <span className="mono">{k.prefix}…</span> },
          { key: 'description', header: t('Description'), cell: (k) => k.description ?? '—' },
          { key: 'created', header: t('Created'), cell: (k) => formatDate(k.createdAt) },
          { key: 'lastUsed', header: t('Last used'), cell: (k) => (k.lastUsedAt ? formatDate(k.lastUsedAt) : t('never')) },
          { key: 'expires', header: t('Expires'), cell: (k) => (k.expiresAt ? formatDate(k.expiresAt) : t('never')) },
          { key: 'state', header: t('Status'), cell: keyState },
          {
            key: 'revoke',
            shown: can('access-keys:revoke'),
            header: t('Actions'),
            cell: (k) =>
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
        ]}
      />
    </section>
  );
}
