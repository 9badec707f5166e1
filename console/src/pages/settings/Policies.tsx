// The tenant's policies: the password policy (length, composition, blocklists, history, expiry),
// lockout and IP throttling, when a second factor is required (everyone, per role, per
// application), and session lifetimes. Saved through PUT /password-policy and PUT
// /session-settings; the API checks every setting and its message is shown as it stands.
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { ErrorMessage, Field, Loading } from '../../ui.tsx';
import { Check, Choices, FieldsCard, ReadOnlyNotice, wholeNumber, type FieldKey } from './controls.tsx';
import { SaveFooter } from '../../widgets/index.ts';
import { RolePicker } from '../users/pickers.tsx';

interface PolicyForm {
  minLength: string;
  minLengthWithMfa: string;
  maxLength: string;
  requireLowercase: boolean;
  requireUppercase: boolean;
  requireDigit: boolean;
  requireSymbol: boolean;
  minCharacterClasses: string;
  blocklist: boolean;
  blockedWords: string;
  contextWords: boolean;
  historyCount: string;
  expiryDays: string;
  reminderDays: string;
  mfaRequired: boolean;
  mfaRoles: string[];
  mfaApplications: string[];
  lockoutThreshold: string;
  cooldownSeconds: string;
  maxCooldownSeconds: string;
  ipMaxFailures: string;
  ipWindowSeconds: string;
}

type Policy = Record<string, unknown>;

const text = (value: unknown) => (value === null || value === undefined ? '' : String(value));
const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);

function formOf(p: Policy): PolicyForm {
  const mfa = (p.mfa ?? {}) as Policy;
  const lockout = (p.lockout ?? {}) as Policy;
  const ip = (p.ipThrottle ?? {}) as Policy;
  return {
    minLength: text(p.minLength),
    minLengthWithMfa: text(p.minLengthWithMfa),
    maxLength: text(p.maxLength),
    requireLowercase: p.requireLowercase === true,
    requireUppercase: p.requireUppercase === true,
    requireDigit: p.requireDigit === true,
    requireSymbol: p.requireSymbol === true,
    minCharacterClasses: text(p.minCharacterClasses),
    blocklist: p.blocklist !== false,
    blockedWords: list(p.blockedWords).join(', '),
    contextWords: p.contextWords !== false,
    historyCount: text(p.historyCount),
    expiryDays: text(p.expiryDays),
    reminderDays: text(p.reminderDays),
    mfaRequired: mfa.required === true,
    mfaRoles: list(mfa.roles),
    mfaApplications: list(mfa.applications),
    lockoutThreshold: text(lockout.threshold),
    cooldownSeconds: text(lockout.cooldownSeconds),
    maxCooldownSeconds: text(lockout.maxCooldownSeconds),
    ipMaxFailures: text(ip.maxFailures),
    ipWindowSeconds: text(ip.windowSeconds),
  };
}

/** What is sent: numbers where the field holds one, else the text itself, which the API names as invalid. */
function policyOf(f: PolicyForm): Policy {
  const n = (value: string) => wholeNumber(value) ?? value;
  return {
    minLength: n(f.minLength),
    minLengthWithMfa: n(f.minLengthWithMfa),
    maxLength: n(f.maxLength),
    requireLowercase: f.requireLowercase,
    requireUppercase: f.requireUppercase,
    requireDigit: f.requireDigit,
    requireSymbol: f.requireSymbol,
    minCharacterClasses: n(f.minCharacterClasses),
    blocklist: f.blocklist,
    blockedWords: f.blockedWords
      .split(',')
      .map((w) => w.trim())
      .filter(Boolean),
    contextWords: f.contextWords,
    historyCount: n(f.historyCount),
    expiryDays: f.expiryDays.trim() === '' ? null : n(f.expiryDays),
    reminderDays: n(f.reminderDays),
    mfa: { required: f.mfaRequired, roles: f.mfaRoles, applications: f.mfaApplications },
    lockout: { threshold: n(f.lockoutThreshold), cooldownSeconds: n(f.cooldownSeconds), maxCooldownSeconds: n(f.maxCooldownSeconds) },
    ipThrottle: { maxFailures: n(f.ipMaxFailures), windowSeconds: n(f.ipWindowSeconds) },
  };
}

/**
 * The password policy's and the lockout's cards, from one table of their fields, each [card, form key,
 * label]: a text field, or a checkbox for a yes or no.
 */
function policyCards(): { id: string; title: string; fields: [FieldKey<PolicyForm>, string][] }[] {
  const fields: [string, FieldKey<PolicyForm>, string][] = [
    ['password-policy', 'minLength', t('Minimum length')],
    ['password-policy', 'minLengthWithMfa', t('Minimum length with a second factor')],
    ['password-policy', 'maxLength', t('Maximum length')],
    ['password-policy', 'minCharacterClasses', t('At least this many character classes (0-4)')],
    ['password-policy', 'historyCount', t('Passwords remembered (no reuse; 0: off)')],
    ['password-policy', 'expiryDays', t('Passwords expire after days (empty: never)')],
    ['password-policy', 'reminderDays', t('Reminder days before expiry')],
    ['password-policy', 'blockedWords', t('Blocked words (comma-separated)')],
    ['password-policy', 'requireLowercase', t('Require a lower-case letter')],
    ['password-policy', 'requireUppercase', t('Require an upper-case letter')],
    ['password-policy', 'requireDigit', t('Require a digit')],
    ['password-policy', 'requireSymbol', t('Require a symbol')],
    ['password-policy', 'blocklist', t('Refuse common passwords')],
    ['password-policy', 'contextWords', t('Refuse the username, email and name')],
    ['lockout-policy', 'lockoutThreshold', t('Failed sign-ins in a row before the account locks')],
    ['lockout-policy', 'cooldownSeconds', t('First lock (seconds; doubles with each further lock)')],
    ['lockout-policy', 'maxCooldownSeconds', t('Longest lock (seconds)')],
    ['lockout-policy', 'ipMaxFailures', t('Failed sign-ins from one IP address')],
    ['lockout-policy', 'ipWindowSeconds', t('Within seconds')],
  ];
  return [
    { id: 'password-policy', title: t('Password policy') },
    { id: 'lockout-policy', title: t('Lockout') },
  ].map((card) => ({ ...card, fields: fields.filter(([id]) => id === card.id).map(([, key, label]) => [key, label]) }));
}

export function PoliciesPage() {
  const can = useCan();
  return (
    <>
      <h1>{t('Policies')}</h1>
      {can('password-policy:read') && <PasswordPolicy editable={can('password-policy:replace')} />}
      {can('session-settings:read') && <SessionPolicy editable={can('session-settings:replace')} />}
    </>
  );
}

function PasswordPolicy({ editable }: { editable: boolean }) {
  const can = useCan();
  const queryClient = useQueryClient();
  const policy = useQuery({ queryKey: ['password-policy'], queryFn: () => unwrap(api.GET('/api/v1/password-policy')) });
  const apps = useQuery({ queryKey: ['applications'], enabled: can('applications:list'), queryFn: () => unwrap(api.GET('/api/v1/applications')) });
  const [form, setForm] = useState<PolicyForm | undefined>();
  const [pickerKey, setPickerKey] = useState(0);
  useEffect(() => {
    if (policy.data) setForm(formOf(policy.data.policy));
  }, [policy.data]);
  const save = useMutation({
    mutationFn: (f: PolicyForm) => unwrap(api.PUT('/api/v1/password-policy', { body: policyOf(f) })),
    onSuccess: (data) => queryClient.setQueryData(['password-policy'], data),
  });
  if (policy.isPending) return <Loading />;
  if (policy.error) return <ErrorMessage error={policy.error} />;
  if (!form) return <Loading />;
  const set =
    <K extends keyof PolicyForm>(key: K) =>
    (value: PolicyForm[K]) => {
      save.reset();
      setForm((f) => (f ? { ...f, [key]: value } : f));
    };
  const readOnly = !editable;
  const fieldProps = { form, set, isReadOnly: readOnly };
  // The roles the stored policy names and those added since, each a checkbox; a tenant may hold
  // thousands of roles, so more are added by searching them on the server.
  const roleOptions = [...new Set([...formOf(policy.data.policy).mfaRoles, ...form.mfaRoles])].map((name) => ({ id: name, label: name }));
  const appOptions = [
    ...new Map([...(apps.data?.applications.map((a) => [a.clientId, `${a.name} (${a.clientId})`] as const) ?? []), ...form.mfaApplications.filter((id) => !apps.data?.applications.some((a) => a.clientId === id)).map((id) => [id, id] as const)]),
  ].map(([id, label]) => ({ id, label }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(form);
  };
  return (
    <form aria-labelledby="password-policy" onSubmit={submit}>
      <ReadOnlyNotice show={readOnly} />
      {policyCards().map((card) => (
        <FieldsCard key={card.id} {...card} {...fieldProps} />
      ))}
      <section aria-labelledby="mfa-policy" className="card">
        <h2 id="mfa-policy">{t('Multi-factor authentication')}</h2>
        <Check label={t('Require a second factor from everyone')} isSelected={form.mfaRequired} onChange={set('mfaRequired')} isReadOnly={readOnly} />
        <Choices label={t('Require it from holders of these roles')} options={roleOptions} value={form.mfaRoles} onChange={set('mfaRoles')} isReadOnly={readOnly} empty={t('No role.')} />
        {editable && can('roles:list') && (
          <RolePicker
            key={pickerKey}
            label={t('Add a role that must use a second factor')}
            roleId={null}
            exclude={[]}
            onChange={(_roleId, name) => {
              if (!name) return;
              if (!form.mfaRoles.includes(name)) set('mfaRoles')([...form.mfaRoles, name]);
              setPickerKey((k) => k + 1);
            }}
          />
        )}
        <Choices label={t('Require it when signing in to these applications')} options={appOptions} value={form.mfaApplications} onChange={set('mfaApplications')} isReadOnly={readOnly} />
      </section>
      {policy.data.departuresFromNist.length > 0 && (
        <section aria-labelledby="departures" className="card">
          <h2 id="departures">{t('Departures from NIST SP 800-63B')}</h2>
          <ul>
            {policy.data.departuresFromNist.map((d) => (
              <li key={d.setting}>
                <span className="mono">{d.setting}</span>: {d.reason}
              </li>
            ))}
          </ul>
        </section>
      )}
      <ErrorMessage error={save.error} />
      {editable && <SaveFooter save={save} label={t('Save password policy')} />}
    </form>
  );
}

function SessionPolicy({ editable }: { editable: boolean }) {
  const queryClient = useQueryClient();
  const settings = useQuery({ queryKey: ['session-settings'], queryFn: () => unwrap(api.GET('/api/v1/session-settings')) });
  const [form, setForm] = useState({ idle: '', absolute: '', endOnPasswordChange: true });
  useEffect(() => {
    if (settings.data) setForm({ idle: String(settings.data.idleTimeoutSeconds), absolute: String(settings.data.absoluteLifetimeSeconds), endOnPasswordChange: settings.data.endSessionsOnPasswordChange });
  }, [settings.data]);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT('/api/v1/session-settings', {
          // A field that is not a whole number goes as it is: the API names it.
          body: { idleTimeoutSeconds: (wholeNumber(form.idle) ?? form.idle) as number, absoluteLifetimeSeconds: (wholeNumber(form.absolute) ?? form.absolute) as number, endSessionsOnPasswordChange: form.endOnPasswordChange },
        }),
      ),
    onSuccess: (data) => queryClient.setQueryData(['session-settings'], data),
  });
  // One loading notice for the page: the password policy's.
  if (settings.isPending) return null;
  if (settings.error) return <ErrorMessage error={settings.error} />;
  const readOnly = !editable;
  return (
    <form
      aria-labelledby="session-policy"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <section aria-labelledby="session-policy" className="card">
        <h2 id="session-policy">{t('Sessions')}</h2>
        {settings.data.source === 'default' && <p className="muted">{t("The server configuration's defaults apply until these are saved.")}</p>}
        <div className="grid-form">
          <Field label={t('Idle timeout (seconds)')} name="idleTimeoutSeconds" value={form.idle} onChange={(idle) => setForm((f) => ({ ...f, idle }))} isReadOnly={readOnly} />
          <Field label={t('Absolute lifetime (seconds)')} name="absoluteLifetimeSeconds" value={form.absolute} onChange={(absolute) => setForm((f) => ({ ...f, absolute }))} isReadOnly={readOnly} />
        </div>
        <Check label={t("A password change ends the user's other sessions")} isSelected={form.endOnPasswordChange} onChange={(endOnPasswordChange) => setForm((f) => ({ ...f, endOnPasswordChange }))} isReadOnly={readOnly} />
      </section>
      <ErrorMessage error={save.error} />
      {editable && <SaveFooter save={save} label={t('Save session settings')} />}
    </form>
  );
}
