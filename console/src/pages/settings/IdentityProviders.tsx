// Upstream identity providers: the list; adding one from a preset (Google, Microsoft Entra ID,
// GitHub) or as a custom OpenID Connect provider found by issuer discovery; changing and removing
// one; and, per application, which providers its sign-in page offers. The client secret is
// write-only: the API never returns it, the form only replaces it.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Button } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import type { operations } from '../../api/schema';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { Confirm, ErrorMessage, Field, Loading } from '../../ui.tsx';
import { Check, Choices, ReadOnlyNotice, TextFields } from './controls.tsx';
import { FormActions, SaveFooter, SelectField, useChange } from '../../widgets/index.ts';
import { RolePicker } from '../users/pickers.tsx';
import { useRoleNames } from '../objects/role-lookup.ts';

type Provider = operations['getApiV1IdentityProviders']['responses'][200]['content']['application/json']['providers'][number];
type NewProvider = NonNullable<operations['postApiV1IdentityProviders']['requestBody']>['content']['application/json'];
type Preset = 'google' | 'entra' | 'github' | 'custom';

interface ProviderForm {
  preset: Preset;
  slug: string;
  name: string;
  issuer: string;
  entraTenant: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  username: string;
  email: string;
  displayName: string;
  groups: string;
  identityKind: string;
  defaultRoleIds: string[];
  managedGroupIds: string[];
  enabled: boolean;
}

/** What each preset fills in; the server applies the same defaults for fields left empty. */
function presetForm(preset: Preset): ProviderForm {
  const base = { preset, issuer: '', entraTenant: '', clientId: '', clientSecret: '', identityKind: 'internal', defaultRoleIds: [], managedGroupIds: [], enabled: true, groups: '' };
  switch (preset) {
    case 'google':
      return { ...base, slug: 'google', name: 'Google', scopes: 'openid email profile', username: 'email', email: 'email', displayName: 'name' };
    case 'entra':
      return { ...base, slug: 'entra', name: 'Microsoft', scopes: 'openid email profile', username: 'preferred_username', email: 'email', displayName: 'name', groups: 'groups' };
    case 'github':
      return { ...base, slug: 'github', name: 'GitHub', scopes: 'read:user user:email', username: 'login', email: 'email', displayName: 'name' };
    case 'custom':
      return { ...base, slug: '', name: '', scopes: 'openid email profile', username: 'preferred_username', email: 'email', displayName: 'name' };
  }
}

function formOf(p: Provider): ProviderForm {
  return {
    preset: p.protocol === 'github' ? 'github' : 'custom',
    slug: p.slug,
    name: p.name,
    issuer: p.issuer,
    entraTenant: '',
    clientId: p.clientId,
    clientSecret: '',
    scopes: p.scopes.join(' '),
    username: p.claimMapping.username,
    email: p.claimMapping.email,
    displayName: p.claimMapping.name,
    groups: p.claimMapping.groups ?? '',
    identityKind: p.identityKind,
    defaultRoleIds: p.defaultRoleIds,
    managedGroupIds: p.managedGroupIds,
    enabled: p.enabled,
  };
}

const scopeList = (text: string) => text.split(/[\s,]+/).filter(Boolean);
const mappingOf = (f: ProviderForm) => ({ username: f.username, email: f.email, name: f.displayName, ...(f.groups.trim() ? { groups: f.groups.trim() } : {}) });

function createBody(f: ProviderForm): NewProvider {
  return {
    preset: f.preset,
    slug: f.slug,
    name: f.name,
    clientId: f.clientId,
    ...(f.clientSecret ? { clientSecret: f.clientSecret } : {}),
    ...(f.preset === 'entra' ? { entraTenant: f.entraTenant } : {}),
    ...(f.preset === 'custom' || (f.preset === 'github' && f.issuer.trim()) ? { issuer: f.issuer.trim() } : {}),
    scopes: scopeList(f.scopes),
    claimMapping: mappingOf(f),
    identityKind: f.identityKind,
    defaultRoleIds: f.defaultRoleIds,
    managedGroupIds: f.managedGroupIds,
    enabled: f.enabled,
  };
}

export function IdentityProvidersPage() {
  const can = useCan();
  const providers = useQuery({ queryKey: ['identity-providers'], queryFn: () => unwrap(api.GET('/api/v1/identity-providers')) });
  const groups = useQuery({ queryKey: ['groups'], enabled: can('groups:list'), queryFn: () => unwrap(api.GET('/api/v1/groups')) });
  // Only the roles the providers give are read (a tenant may hold thousands); others are found by search.
  const roleNames = useRoleNames([...new Set(providers.data?.providers.flatMap((p) => p.defaultRoleIds) ?? [])]);
  const groupNames = new Map(groups.data?.groups.map((g) => [g.id, g.name]) ?? []);
  const lists = { groups: [...groupNames].map(([id, label]) => ({ id, label })), roleNames, groupNames };
  const mayChange = can('identity-providers:create') || can('identity-providers:update') || can('identity-providers:delete');
  return (
    <>
      <h1>{t('Identity providers')}</h1>
      <ReadOnlyNotice show={!mayChange} />
      <p className="muted">
        {t(
          "People sign in through these providers on the sign-in page of each application that offers them. A new user gets the identity kind and default roles below; with a groups claim mapped, each sign-in sets their membership of the provider's managed groups to match the claim.",
        )}
      </p>
      {can('identity-providers:create') && <CreateProvider lists={lists} />}
      <ErrorMessage error={providers.error} />
      {providers.isPending ? <Loading /> : providers.data && (providers.data.providers.length === 0 ? <p>{t('No identity provider is set up.')}</p> : providers.data.providers.map((p) => <ProviderCard key={p.id} provider={p} lists={lists} />))}
      {can('application-identity-providers:read') && can('applications:list') && providers.data && <ApplicationProviders providers={providers.data.providers} />}
    </>
  );
}

interface Lists {
  groups: { id: string; label: string }[];
  roleNames: Map<string, string>;
  groupNames: Map<string, string>;
}

function ProviderFields({ form, set, isNew, lists, readOnly }: { form: ProviderForm; set: <K extends keyof ProviderForm>(key: K) => (value: ProviderForm[K]) => void; isNew: boolean; lists: Lists; readOnly: boolean }) {
  const can = useCan();
  // The roles given when the form opened and those found by search since stay offered, ticked or not;
  // a role whose name cannot be read shows its id.
  const [offered, setOffered] = useState(() => new Map(form.defaultRoleIds.map((id) => [id, ''])));
  const [pickerKey, setPickerKey] = useState(0);
  const roleOptions = [...new Set([...offered.keys(), ...form.defaultRoleIds])].map((id) => ({ id, label: offered.get(id) || lists.roleNames.get(id) || id }));
  const groupOptions = [...lists.groups, ...form.managedGroupIds.filter((id) => !lists.groupNames.has(id)).map((id) => ({ id, label: id }))];
  return (
    <>
      {isNew && <Field label={t('Short name (in addresses)')} name="slug" value={form.slug} onChange={set('slug')} isRequired />}
      <Field label={t('Name on the sign-in button')} name="name" value={form.name} onChange={set('name')} isReadOnly={readOnly} isRequired />
      {form.preset === 'entra' && isNew && <Field label={t('Entra ID directory (tenant) id')} name="entraTenant" value={form.entraTenant} onChange={set('entraTenant')} isRequired />}
      {(form.preset === 'custom' || form.preset === 'github') && (
        <Field
          label={form.preset === 'github' ? t('GitHub Enterprise Server address (empty: github.com)') : t('Issuer (its discovery document is read at sign-in)')}
          name="issuer"
          type="url"
          value={form.issuer}
          onChange={set('issuer')}
          isReadOnly={readOnly || (!isNew && form.preset === 'github')}
          isRequired={form.preset === 'custom'}
        />
      )}
      <Field label={t('Client id')} name="clientId" value={form.clientId} onChange={set('clientId')} isReadOnly={readOnly} isRequired />
      {!readOnly && <Field label={isNew ? t('Client secret') : t('New client secret (empty: keep the current one)')} name="clientSecret" type="password" value={form.clientSecret} onChange={set('clientSecret')} />}
      <TextFields
        fields={[
          ['scopes', t('Scopes (space-separated)')],
          ['username', t('Claim for the username'), 'claimUsername'],
          ['email', t('Claim for the email'), 'claimEmail'],
          ['displayName', t('Claim for the name'), 'claimName'],
          ['groups', t('Claim for the groups (empty: groups are not read)'), 'claimGroups'],
          ['identityKind', t('Identity kind of a new user')],
        ]}
        form={form}
        set={set}
        isReadOnly={readOnly}
      />
      {(can('roles:list') || form.defaultRoleIds.length > 0) && <Choices label={t('Default roles of a new user')} options={roleOptions} value={form.defaultRoleIds} onChange={set('defaultRoleIds')} isReadOnly={readOnly} empty={t('No role.')} />}
      {!readOnly && can('roles:list') && (
        <RolePicker
          key={pickerKey}
          label={t('Add a default role')}
          roleId={null}
          exclude={roleOptions.map((o) => o.id)}
          onChange={(roleId, name) => {
            if (!roleId) return;
            setOffered((o) => new Map(o).set(roleId, name ?? ''));
            set('defaultRoleIds')([...form.defaultRoleIds, roleId]);
            setPickerKey((k) => k + 1);
          }}
        />
      )}
      {(can('groups:list') || form.managedGroupIds.length > 0) && (
        <Choices label={t('Groups this provider manages (membership follows the groups claim)')} options={groupOptions} value={form.managedGroupIds} onChange={set('managedGroupIds')} isReadOnly={readOnly} />
      )}
      <Check label={t('Enabled')} isSelected={form.enabled} onChange={set('enabled')} isReadOnly={readOnly} />
    </>
  );
}

function useForm(initial: () => ProviderForm) {
  const [form, setForm] = useState<ProviderForm>(initial);
  const set =
    <K extends keyof ProviderForm>(key: K) =>
    (value: ProviderForm[K]) =>
      setForm((f) => ({ ...f, [key]: value }));
  return { form, setForm, set };
}

function CreateProvider({ lists }: { lists: Lists }) {
  const { form, setForm, set } = useForm(() => presetForm('google'));
  const create = useChange(() => unwrap(api.POST('/api/v1/identity-providers', { body: createBody(form) })), { reads: [['identity-providers']] });
  const presets: { id: Preset; label: string }[] = [
    { id: 'google', label: t('Google') },
    { id: 'entra', label: t('Microsoft Entra ID') },
    { id: 'github', label: t('GitHub (OAuth 2.0)') },
    { id: 'custom', label: t('Other OpenID Connect provider') },
  ];
  const [open, setOpen] = useState(false);
  // On the page rather than in a dialog: the form is longer than a small screen.
  if (!open) {
    return (
      <Button className="button primary" aria-expanded={false} onPress={() => setOpen(true)}>
        {t('Add an identity provider')}
      </Button>
    );
  }
  const close = () => {
    create.reset();
    setForm(presetForm('google'));
    setOpen(false);
  };
  return (
    <section className="card" aria-labelledby="add-provider">
      <h2 id="add-provider">{t('Add an identity provider')}</h2>
      <form
        className="grid-form"
        aria-labelledby="add-provider"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(undefined, { onSuccess: close });
        }}
      >
        <SelectField
          compact
          label={t('Preset')}
          value={form.preset}
          choices={presets}
          onChange={(preset) => {
            create.reset();
            setForm(presetForm(preset));
          }}
        />
        {form.preset === 'github' && <p className="muted small">{t('GitHub is OAuth 2.0 only: it issues no ID token, so the user is read from the GitHub API (the numeric user id is the subject; the primary verified email is used).')}</p>}
        <ProviderFields form={form} set={set} isNew lists={lists} readOnly={false} />
        <FormActions change={create} submitLabel={t('Add')} onCancel={close} />
      </form>
    </section>
  );
}

function ProviderCard({ provider, lists }: { provider: Provider; lists: Lists }) {
  const can = useCan();
  const queryClient = useQueryClient();
  const { form, setForm, set } = useForm(() => formOf(provider));
  useEffect(() => setForm(formOf(provider)), [provider, setForm]);
  const [editing, setEditing] = useState(false);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['identity-providers'] });
  const update = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/api/v1/identity-providers/{id}', {
          params: { path: { id: provider.id } },
          body: {
            name: form.name,
            ...(provider.protocol === 'oidc' ? { issuer: form.issuer } : {}),
            clientId: form.clientId,
            ...(form.clientSecret ? { clientSecret: form.clientSecret } : {}),
            scopes: scopeList(form.scopes),
            claimMapping: mappingOf(form),
            identityKind: form.identityKind,
            defaultRoleIds: form.defaultRoleIds,
            managedGroupIds: form.managedGroupIds,
            enabled: form.enabled,
          },
        }),
      ),
    onSuccess: () => {
      setEditing(false);
      void refresh();
    },
  });
  const remove = useMutation({ mutationFn: () => unwrap(api.DELETE('/api/v1/identity-providers/{id}', { params: { path: { id: provider.id } } })), onSuccess: refresh });
  const mayUpdate = can('identity-providers:update');
  const discovery = useMutation({ mutationFn: () => unwrap(api.GET('/api/v1/identity-providers/{id}/discovery', { params: { path: { id: provider.id } } })) });
  return (
    <article className="card" aria-label={t('Identity provider {name}', { name: provider.name })}>
      <div className="title-row">
        <h2>{provider.name}</h2>
        <span className="mono small">{provider.slug}</span>
        <span className={`badge ${provider.enabled ? 'active' : 'inactive'}`}>{provider.enabled ? t('enabled') : t('disabled')}</span>
      </div>
      <p className="small">
        {provider.protocol === 'github' ? t('GitHub (OAuth 2.0)') : t('OpenID Connect')} · <span className="mono">{provider.issuer}</span> · {provider.hasClientSecret ? t('client secret set') : t('no client secret')}
      </p>
      {editing ? (
        <form
          className="grid-form"
          aria-label={t('Change {name}', { name: provider.name })}
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate();
          }}
        >
          <ProviderFields form={form} set={set} isNew={false} lists={lists} readOnly={false} />
          <div className="actions">
            <Button
              className="button"
              onPress={() => {
                setForm(formOf(provider));
                setEditing(false);
              }}
            >
              {t('Cancel')}
            </Button>
            <Button className="button primary" type="submit" isPending={update.isPending}>
              {t('Save')}
            </Button>
          </div>
        </form>
      ) : (
        <dl className="small">
          <dt>{t('Client id')}</dt>
          <dd className="mono">{provider.clientId}</dd>
          <dt>{t('Scopes')}</dt>
          <dd className="mono">{provider.scopes.join(' ')}</dd>
          <dt>{t('Claims')}</dt>
          <dd className="mono">
            {t('username: {username}, email: {email}, name: {name}, groups: {groups}', { username: provider.claimMapping.username, email: provider.claimMapping.email, name: provider.claimMapping.name, groups: provider.claimMapping.groups ?? '—' })}
          </dd>
          <dt>{t('A new user gets')}</dt>
          <dd>{t('identity kind {kind}; roles: {roles}', { kind: provider.identityKind, roles: provider.defaultRoleIds.map((id) => lists.roleNames.get(id) ?? id).join(', ') || '—' })}</dd>
          <dt>{t('Managed groups')}</dt>
          <dd>{provider.managedGroupIds.map((id) => lists.groupNames.get(id) ?? id).join(', ') || '—'}</dd>
        </dl>
      )}
      <ErrorMessage error={update.error ?? remove.error ?? discovery.error} />
      {discovery.data && (
        <section aria-label={t('Endpoints found at {issuer}', { issuer: discovery.data.issuer })} className="small">
          <p role="status">{t('Endpoints found at {issuer}', { issuer: discovery.data.issuer })}</p>
          <dl>
            <dt>{t('Authorization endpoint')}</dt>
            <dd className="mono">{discovery.data.authorizationEndpoint ?? '—'}</dd>
            <dt>{t('Token endpoint')}</dt>
            <dd className="mono">{discovery.data.tokenEndpoint ?? '—'}</dd>
            <dt>{t('User information')}</dt>
            <dd className="mono">{discovery.data.userinfoEndpoint ?? '—'}</dd>
            <dt>{t('Signing keys')}</dt>
            <dd className="mono">{discovery.data.jwksUri ?? '—'}</dd>
          </dl>
        </section>
      )}
      {!editing && (
        <div className="actions">
          {can('identity-providers:check-discovery') && (
            <Button className="button" isPending={discovery.isPending} onPress={() => discovery.mutate()}>
              {t('Check discovery')}
            </Button>
          )}
          {mayUpdate && (
            <Button className="button" onPress={() => setEditing(true)}>
              {t('Change')}
            </Button>
          )}
          {can('identity-providers:delete') && (
            <Confirm label={t('Delete')} title={t('Delete the identity provider {name}', { name: provider.name })} confirmLabel={t('Delete')} danger onConfirm={() => remove.mutate()}>
              {t('Every account link to this provider is removed; its users then sign in with a password, or not at all if they have none.')}
            </Confirm>
          )}
        </div>
      )}
    </article>
  );
}

/** Which providers an application's sign-in page offers, in the order chosen. */
function ApplicationProviders({ providers }: { providers: Provider[] }) {
  const can = useCan();
  const queryClient = useQueryClient();
  const apps = useQuery({ queryKey: ['applications'], queryFn: () => unwrap(api.GET('/api/v1/applications')) });
  const [clientId, setClientId] = useState('');
  useEffect(() => {
    if (!clientId && apps.data?.applications[0]) setClientId(apps.data.applications[0].clientId);
  }, [apps.data, clientId]);
  const offered = useQuery({
    queryKey: ['application-identity-providers', clientId],
    enabled: clientId !== '',
    queryFn: () => unwrap(api.GET('/api/v1/applications/{id}/identity-providers', { params: { path: { id: clientId } } })),
  });
  const [chosen, setChosen] = useState<string[]>([]);
  useEffect(() => {
    if (offered.data) setChosen(offered.data.providers.map((p) => p.id));
  }, [offered.data]);
  const save = useMutation({
    mutationFn: () => unwrap(api.PUT('/api/v1/applications/{id}/identity-providers', { params: { path: { id: clientId } }, body: { providerIds: chosen } })),
    onSuccess: (data) => queryClient.setQueryData(['application-identity-providers', clientId], data),
  });
  const editable = can('application-identity-providers:set');
  return (
    <section aria-labelledby="per-application" className="card">
      <h2 id="per-application">{t("Providers on each application's sign-in page")}</h2>
      <ErrorMessage error={apps.error ?? offered.error} />
      {apps.data && <SelectField compact label={t('Application')} value={clientId || null} choices={apps.data.applications.map((a) => ({ id: a.clientId, label: a.name }))} onChange={setClientId} />}
      {offered.data && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate();
          }}
        >
          <Choices
            label={t('Offered providers')}
            options={providers.map((p) => ({ id: p.id, label: p.enabled ? p.name : t('{name} (disabled)', { name: p.name }) }))}
            value={chosen}
            onChange={(value) => {
              save.reset();
              // Keeps the order: what was offered stays in place, what is added comes last.
              setChosen([...chosen.filter((id) => value.includes(id)), ...value.filter((id) => !chosen.includes(id))]);
            }}
            isReadOnly={!editable}
            empty={t('No identity provider is set up.')}
          />
          <ErrorMessage error={save.error} />
          {editable && <SaveFooter save={save} label={t("Save the sign-in page's providers")} />}
        </form>
      )}
    </section>
  );
}
