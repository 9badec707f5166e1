// Applications (OIDC clients): the list, registering one (its secret shown once), and one
// application's page: settings, who may use it, session limits, secret rotation, delete.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Checkbox } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage, Field } from '../../ui.tsx';
import {
  objectDetails,
  useObjectForm,
  Checklist,
  ConfirmAction,
  FormDialog,
  LinesField,
  QueryView,
  SecretOnce,
  SelectField,
  lines,
  ObjectList,
  SaveFooter,
  FormSection,
  DeleteSection,
  useRefresh,
  ChoiceField,
  type ObjectOf,
} from '../../widgets/index.ts';
import { adminObjects } from './admin-objects.tsx';

type AppType = 'web' | 'spa' | 'native' | 'service';
type AccessMode = 'everyone' | 'restricted';

const applications = adminObjects('applications', {
  labels: { title: () => t('Applications'), empty: () => t('There is no application yet.'), back: () => t('← Applications'), missing: () => t('There is no such application.') },
  id: (a) => a.clientId,
  columns: () => [
    { key: 'clientId', header: t('Client id'), cell: (a) => <span className="mono">{a.clientId}</span> },
    { key: 'type', header: t('Type'), cell: (a) => typeLabel(a.type) },
    { key: 'access', header: t('Access'), cell: (a) => (a.accessMode === 'everyone' ? t('Everyone') : t('Restricted')) },
    { key: 'redirects', header: t('Redirect URIs'), cell: (a) => <span className="small">{a.redirectUris.join(' ') || '—'}</span> },
  ],
  deletion: { id: 'app-delete', label: () => t('Delete application'), title: (a) => t('Delete the application {name}?', { name: a.name }), note: () => t('Nobody can sign in to it any more, and its tokens stop working.') },
});

function typeLabel(type: AppType): string {
  return { web: t('Web application (confidential)'), spa: t('Single-page application (public)'), native: t('Native or mobile application (public)'), service: t('Service (confidential, no users)') }[type];
}

const typeChoices = () => (['web', 'spa', 'native', 'service'] as const).map((id) => ({ id, label: typeLabel(id) }));
const accessChoices = (): { id: AccessMode; label: string }[] => [
  { id: 'everyone', label: t('Everyone in the tenant') },
  { id: 'restricted', label: t('Only the listed users, groups and identity kinds') },
];

/** The tenant's identity kinds, when the person may read them. */
function useIdentityKinds() {
  const can = useCan();
  return useQuery({ queryKey: ['identity-kinds'], enabled: can('identity-kinds:list'), queryFn: () => unwrap(api.GET('/api/v1/identity-kinds')) });
}

/** Accepted identity kinds: any (null) or a chosen list. */
function AcceptedKinds(props: { value: string[] | null; onChange(value: string[] | null): void; isReadOnly?: boolean }) {
  const kinds = useIdentityKinds();
  const known = kinds.data?.items.map((k) => ({ id: k.kind, label: `${k.label} (${k.kind})` })) ?? [];
  const held = (props.value ?? []).filter((kind) => !known.some((k) => k.id === kind)).map((kind) => ({ id: kind, label: kind }));
  return (
    <fieldset className="plain">
      <legend>{t('Accepted identity kinds')}</legend>
      <Checkbox className="checkbox" isSelected={props.value === null} isReadOnly={props.isReadOnly} onChange={(any) => props.onChange(any ? null : [])}>
        <span className="box" aria-hidden="true" /> {t('Any kind')}
      </Checkbox>
      {props.value !== null && <Checklist label={t('Identity kinds that may sign in')} open choices={[...known, ...held]} selected={props.value} onChange={props.onChange} isReadOnly={props.isReadOnly} />}
    </fieldset>
  );
}

export function ApplicationsPage() {
  const [secret, setSecret] = useState<{ clientId: string; name: string; value: string } | null>(null);
  return (
    <ObjectList of={applications} create={{ dialog: <CreateApplication onSecret={setSecret} /> }}>
      {secret && <SecretOnce title={t('Client secret of {name}', { name: secret.name })} label={t('Client secret')} value={secret.value} details={t('Client id: {clientId}', { clientId: secret.clientId })} onDismiss={() => setSecret(null)} />}
    </ObjectList>
  );
}

function CreateApplication({ onSecret }: { onSecret(secret: { clientId: string; name: string; value: string }): void }) {
  const refresh = useRefresh(applications);
  const blank = { name: '', type: 'web' as AppType, redirectUris: [''], acceptedIdentityKinds: null as string[] | null, accessMode: 'everyone' as AccessMode };
  const [form, setForm] = useState(blank);
  return (
    <FormDialog
      label={t('Register application')}
      title={t('Register application')}
      submitLabel={t('Register')}
      onOpen={() => setForm(blank)}
      submit={() =>
        unwrap(
          api.POST('/api/v1/applications', {
            body: { name: form.name, type: form.type, redirectUris: lines(form.redirectUris), acceptedIdentityKinds: form.acceptedIdentityKinds, accessMode: form.accessMode },
          }),
        )
      }
      onSuccess={(app) => {
        void refresh();
        if (app.clientSecret) onSecret({ clientId: app.clientId, name: app.name, value: app.clientSecret });
      }}
    >
      <Field label={t('Name')} name="name" value={form.name} onChange={(name) => setForm((f) => ({ ...f, name }))} isRequired />
      <SelectField label={t('Type')} choices={typeChoices()} value={form.type} onChange={(type) => setForm((f) => ({ ...f, type: type as AppType }))} />
      <LinesField label={t('Redirect URIs')} name="redirectUris" description={t('One address a line.')} value={form.redirectUris} onChange={(redirectUris) => setForm((f) => ({ ...f, redirectUris }))} />
      <AcceptedKinds value={form.acceptedIdentityKinds} onChange={(acceptedIdentityKinds) => setForm((f) => ({ ...f, acceptedIdentityKinds }))} />
      <SelectField label={t('Who may use it')} choices={accessChoices()} value={form.accessMode} onChange={(accessMode) => setForm((f) => ({ ...f, accessMode: accessMode as AccessMode }))} />
    </FormDialog>
  );
}

export const ApplicationDetails = objectDetails(applications, (app) => <ApplicationView app={app} />);

type AppData = ObjectOf<typeof applications>;

function ApplicationView({ app }: { app: AppData }) {
  const can = useCan();
  const refresh = useRefresh(applications);
  const [secret, setSecret] = useState<string | null>(null);
  const rotate = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/applications/{id}/secret', { params: { path: { id: app.clientId } } })),
    onSuccess: (result) => setSecret(result.clientSecret),
  });
  return (
    <>
      <div className="title-row">
        <h1>{app.name}</h1>
        <span className="badge">{typeLabel(app.type)}</span>
      </div>
      <p>
        {t('Client id')}: <span className="mono">{app.clientId}</span>
      </p>
      <ApplicationSettings app={app} />
      {can('applications:read') && <ApplicationAccess app={app} onSaved={refresh} />}
      {can('application-session-settings:read') && <SessionLimits clientId={app.clientId} />}
      {app.confidential && can('applications:rotate-secret') && (
        <section aria-labelledby="app-secret">
          <h2 id="app-secret">{t('Client secret')}</h2>
          {secret ? (
            <SecretOnce title={t('New client secret of {name}', { name: app.name })} label={t('Client secret')} value={secret} onDismiss={() => setSecret(null)} />
          ) : (
            <ConfirmAction label={t('Rotate secret')} title={t('Rotate the client secret of {name}?', { name: app.name })} confirmLabel={t('Rotate secret')} danger onConfirm={() => rotate.mutate()}>
              {t('The current secret stops working at once; the application needs the new one.')}
            </ConfirmAction>
          )}
          <ErrorMessage error={rotate.error} />
        </section>
      )}
      <DeleteSection of={applications} object={app} />
    </>
  );
}

function ApplicationSettings({ app }: { app: AppData }) {
  const { form, setForm, save, editable } = useObjectForm(
    applications,
    app,
    () => ({
      name: app.name,
      redirectUris: app.redirectUris.length ? app.redirectUris : [''],
      postLogoutRedirectUris: app.postLogoutRedirectUris.length ? app.postLogoutRedirectUris : [''],
      backchannelLogoutUri: app.backchannelLogoutUri ?? '',
      refreshTokenReuseGraceSeconds: String(app.refreshTokenReuseGraceSeconds),
      acceptedIdentityKinds: app.acceptedIdentityKinds,
    }),
    (values) =>
      unwrap(
        api.PATCH('/api/v1/applications/{id}', {
          params: { path: { id: app.clientId } },
          body: {
            name: values.name,
            redirectUris: lines(values.redirectUris),
            postLogoutRedirectUris: lines(values.postLogoutRedirectUris),
            backchannelLogoutUri: values.backchannelLogoutUri.trim() || null,
            refreshTokenReuseGraceSeconds: Number(values.refreshTokenReuseGraceSeconds),
            acceptedIdentityKinds: values.acceptedIdentityKinds,
          },
        }),
      ),
  );
  return (
    <FormSection id="app-settings" title={t('Settings')} save={save} editable={editable}>
      <Field label={t('Name')} name="name" value={form.name} onChange={(name) => setForm((f) => ({ ...f, name }))} isReadOnly={!editable} isRequired />
      <Field label={t('Type')} name="type" value={typeLabel(app.type)} onChange={() => {}} isReadOnly />
      <LinesField label={t('Redirect URIs')} name="redirectUris" description={t('One address a line.')} value={form.redirectUris} onChange={(redirectUris) => setForm((f) => ({ ...f, redirectUris }))} isReadOnly={!editable} />
      <LinesField label={t('Post-logout redirect URIs')} name="postLogoutRedirectUris" value={form.postLogoutRedirectUris} onChange={(postLogoutRedirectUris) => setForm((f) => ({ ...f, postLogoutRedirectUris }))} isReadOnly={!editable} />
      <Field label={t('Back-channel logout URI')} name="backchannelLogoutUri" value={form.backchannelLogoutUri} onChange={(backchannelLogoutUri) => setForm((f) => ({ ...f, backchannelLogoutUri }))} isReadOnly={!editable} />
      <Field
        label={t('Refresh token reuse grace (seconds, 0-60)')}
        name="refreshTokenReuseGraceSeconds"
        type="number"
        value={form.refreshTokenReuseGraceSeconds}
        onChange={(refreshTokenReuseGraceSeconds) => setForm((f) => ({ ...f, refreshTokenReuseGraceSeconds }))}
        isReadOnly={!editable}
      />
      <AcceptedKinds value={form.acceptedIdentityKinds} onChange={(acceptedIdentityKinds) => setForm((f) => ({ ...f, acceptedIdentityKinds }))} isReadOnly={!editable} />
    </FormSection>
  );
}

function ApplicationAccess({ app, onSaved }: { app: AppData; onSaved(): void }) {
  const can = useCan();
  const editable = can('applications:set-access');
  const detail = useQuery({ queryKey: ['application', app.clientId], queryFn: () => unwrap(api.GET('/api/v1/applications/{id}', { params: { path: { id: app.clientId } } })) });
  const groups = useQuery({ queryKey: ['groups'], enabled: can('groups:list'), queryFn: () => unwrap(api.GET('/api/v1/groups')) });
  const kinds = useIdentityKinds();
  const [form, setForm] = useState({ accessMode: app.accessMode as AccessMode, groups: [] as string[], identityKinds: [] as string[], users: [] as string[] });
  useEffect(() => {
    if (detail.data) setForm({ accessMode: detail.data.access.accessMode, groups: detail.data.access.groups, identityKinds: detail.data.access.identityKinds, users: detail.data.access.users });
  }, [detail.data]);
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: () => unwrap(api.PUT('/api/v1/applications/{id}/access', { params: { path: { id: app.clientId } }, body: form })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['application', app.clientId] });
      onSaved();
    },
  });
  const groupChoices = [...(groups.data?.groups.map((g) => ({ id: g.id, label: g.name })) ?? []), ...form.groups.filter((id) => !groups.data?.groups.some((g) => g.id === id)).map((id) => ({ id, label: id }))];
  const kindChoices = [...(kinds.data?.items.map((k) => ({ id: k.kind, label: `${k.label} (${k.kind})` })) ?? []), ...form.identityKinds.filter((kind) => !kinds.data?.items.some((k) => k.kind === kind)).map((kind) => ({ id: kind, label: kind }))];
  return (
    <section aria-labelledby="app-access">
      <h2 id="app-access">{t('Who may use it')}</h2>
      <QueryView query={detail}>
        {() => (
          <>
            <ChoiceField label={t('Access')} name="accessMode" choices={accessChoices()} value={form.accessMode} onChange={(accessMode) => setForm((f) => ({ ...f, accessMode }))} isReadOnly={!editable} />
            {form.accessMode === 'restricted' && (
              <>
                <Checklist label={t('Groups whose members may use it')} open choices={groupChoices} selected={form.groups} onChange={(groups) => setForm((f) => ({ ...f, groups }))} isReadOnly={!editable} />
                <Checklist label={t('Identity kinds that may use it')} open choices={kindChoices} selected={form.identityKinds} onChange={(identityKinds) => setForm((f) => ({ ...f, identityKinds }))} isReadOnly={!editable} />
                <p className="muted">{t('Users listed one by one: {count}', { count: form.users.length })}</p>
              </>
            )}
            {editable && <SaveFooter save={save} label={t('Save access')} onPress={() => save.mutate()} />}
            <ErrorMessage error={save.error} />
          </>
        )}
      </QueryView>
    </section>
  );
}

function SessionLimits({ clientId }: { clientId: string }) {
  const can = useCan();
  const editable = can('application-session-settings:replace');
  const queryClient = useQueryClient();
  const settings = useQuery({
    queryKey: ['application-session-settings', clientId],
    queryFn: () => unwrap(api.GET('/api/v1/applications/{id}/session-settings', { params: { path: { id: clientId } } })),
  });
  const [form, setForm] = useState({ idle: '', absolute: '' });
  useEffect(() => {
    if (settings.data) setForm({ idle: settings.data.idleTimeoutSeconds?.toString() ?? '', absolute: settings.data.absoluteLifetimeSeconds?.toString() ?? '' });
  }, [settings.data]);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/api/v1/applications/{id}/session-settings', {
          params: { path: { id: clientId } },
          body: { idleTimeoutSeconds: form.idle.trim() ? Number(form.idle) : null, absoluteLifetimeSeconds: form.absolute.trim() ? Number(form.absolute) : null },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['application-session-settings', clientId] }),
  });
  return (
    <section aria-labelledby="app-sessions">
      <h2 id="app-sessions">{t('Session limits')}</h2>
      <p className="muted">{t('Stricter limits for this application only; empty: the tenant-wide limit applies.')}</p>
      <QueryView query={settings}>
        {() => (
          <form
            className="grid-form"
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <Field label={t('Idle timeout (seconds)')} name="idleTimeoutSeconds" type="number" value={form.idle} onChange={(idle) => setForm((f) => ({ ...f, idle }))} isReadOnly={!editable} />
            <Field label={t('Absolute lifetime (seconds)')} name="absoluteLifetimeSeconds" type="number" value={form.absolute} onChange={(absolute) => setForm((f) => ({ ...f, absolute }))} isReadOnly={!editable} />
            {editable && <SaveFooter save={save} label={t('Save session limits')} />}
          </form>
        )}
      </QueryView>
      <ErrorMessage error={save.error} />
    </section>
  );
}
