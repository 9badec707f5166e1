// The tenant's settings: the default language of the sign-in, account and console pages, and the
// passkey relying party. Everyone who may read them sees them; only an Admin changes them (the
// server's guard decides; the form is shown to Admins only). A changed relying-party id makes
// every registered passkey unusable, so saving one asks first.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Form, Input, Label, Text, TextArea, TextField } from 'react-aria-components';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useMe } from '../../permissions.tsx';
import { Confirm, ErrorMessage, Loading } from '../../ui.tsx';
import { SelectField } from '../../widgets/index.ts';

type Locale = 'en' | 'de' | 'fr';
type Attachment = 'any' | 'platform' | 'cross-platform';
type Verification = 'required' | 'preferred';
/** What the form holds: 'default' (or an empty text) follows the configuration. */
interface Draft {
  defaultLocale: Locale | 'default';
  rpId: string;
  origins: string;
  attachment: Attachment | 'default';
  userVerification: Verification | 'default';
}
interface Effective {
  defaultLocale: Locale;
  passkeys: { rpId: string; origins: string[]; attachment: Attachment; userVerification: Verification };
}
interface Saved {
  defaultLocale?: Locale;
  passkeys?: { rpId?: string; origins?: string[]; attachment?: Attachment; userVerification?: Verification };
}

/** Each language in its own name, as language pickers show them. */
const LANGUAGE_NAMES: Record<Locale, string> = {
  en: 'English',
  de: 'Deutsch',
  fr: 'Français',
};

function attachmentLabel(value: Attachment): string {
  if (value === 'platform') return t('Built into the device only');
  if (value === 'cross-platform') return t('Security keys only');
  return t('Any authenticator');
}

function verificationLabel(value: Verification): string {
  return value === 'required' ? t('Required (a passkey counts as two factors)') : t('Preferred');
}

function draftOf(saved: Saved): Draft {
  return {
    defaultLocale: saved.defaultLocale ?? 'default',
    rpId: saved.passkeys?.rpId ?? '',
    origins: (saved.passkeys?.origins ?? []).join('\n'),
    attachment: saved.passkeys?.attachment ?? 'default',
    userVerification: saved.passkeys?.userVerification ?? 'default',
  };
}

function bodyOf(draft: Draft): Saved {
  const origins = draft.origins
    .split(/\s+/)
    .map((o) => o.trim())
    .filter(Boolean);
  const passkeys = {
    ...(draft.rpId.trim() ? { rpId: draft.rpId.trim() } : {}),
    ...(origins.length ? { origins } : {}),
    ...(draft.attachment !== 'default' ? { attachment: draft.attachment } : {}),
    ...(draft.userVerification !== 'default' ? { userVerification: draft.userVerification } : {}),
  };
  return {
    ...(draft.defaultLocale !== 'default' ? { defaultLocale: draft.defaultLocale } : {}),
    ...(Object.keys(passkeys).length ? { passkeys } : {}),
  };
}

function Summary({ effective }: { effective: Effective }) {
  return (
    <dl>
      <dt>{t('Default language')}</dt>
      <dd>{LANGUAGE_NAMES[effective.defaultLocale]}</dd>
      <dt>{t('Relying-party id')}</dt>
      <dd>
        <code>{effective.passkeys.rpId}</code>
      </dd>
      <dt>{t('Origins')}</dt>
      <dd>{effective.passkeys.origins.join(', ')}</dd>
      <dt>{t('Allowed authenticators')}</dt>
      <dd>{attachmentLabel(effective.passkeys.attachment)}</dd>
      <dt>{t('User verification')}</dt>
      <dd>{verificationLabel(effective.passkeys.userVerification)}</dd>
    </dl>
  );
}

function SettingsForm({ saved, effective, defaults }: { saved: Saved; effective: Effective; defaults: Effective }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Draft>(() => draftOf(saved));
  const [done, setDone] = useState(false);
  useEffect(() => setDraft(draftOf(saved)), [saved]);
  const change =
    <K extends keyof Draft>(key: K) =>
    (value: Draft[K]) => {
      setDone(false);
      setDraft((d) => ({ ...d, [key]: value }));
    };
  const save = useMutation({
    mutationFn: () => unwrap(api.PUT('/api/v1/tenant-settings', { body: bodyOf(draft) })),
    onSuccess: (data) => {
      queryClient.setQueryData(['tenant-settings'], data);
      setDone(true);
    },
  });
  const newRpId = draft.rpId.trim().toLowerCase() || defaults.passkeys.rpId;
  const rpIdChanges = newRpId !== effective.passkeys.rpId;
  const defaultLabel = (value: string) => t('As configured ({value})', { value });
  return (
    <Form
      aria-labelledby="tenant-settings-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!rpIdChanges) save.mutate();
      }}
    >
      <h2 id="tenant-settings-form">{t('Change the settings')}</h2>
      <SelectField
        compact
        label={t('Default language')}
        value={draft.defaultLocale}
        onChange={change('defaultLocale')}
        choices={[{ id: 'default', label: defaultLabel(LANGUAGE_NAMES[defaults.defaultLocale]) }, ...(['en', 'de', 'fr'] as const).map((id) => ({ id, label: LANGUAGE_NAMES[id] }))]}
      />
      <TextField className="field" name="rpId" value={draft.rpId} onChange={change('rpId')}>
        <Label>{t('Relying-party id')}</Label>
        <Input />
        <Text slot="description" className="small muted">
          {t('Empty: as configured ({value}). The host of every origin or a domain it ends with.', { value: defaults.passkeys.rpId })}
        </Text>
      </TextField>
      <TextField className="field" name="origins" value={draft.origins} onChange={change('origins')}>
        <Label>{t('Origins, one per line')}</Label>
        <TextArea rows={3} />
        <Text slot="description" className="small muted">
          {t('Empty: as configured ({value}). https, or http on localhost only.', { value: defaults.passkeys.origins.join(', ') })}
        </Text>
      </TextField>
      <SelectField
        compact
        label={t('Allowed authenticators')}
        value={draft.attachment}
        onChange={change('attachment')}
        choices={[{ id: 'default', label: defaultLabel(attachmentLabel(defaults.passkeys.attachment)) }, ...(['any', 'platform', 'cross-platform'] as const).map((id) => ({ id, label: attachmentLabel(id) }))]}
      />
      <SelectField
        compact
        label={t('User verification')}
        value={draft.userVerification}
        onChange={change('userVerification')}
        choices={[{ id: 'default', label: defaultLabel(verificationLabel(defaults.passkeys.userVerification)) }, ...(['required', 'preferred'] as const).map((id) => ({ id, label: verificationLabel(id) }))]}
      />
      <div className="actions">
        {rpIdChanges ? (
          <Confirm label={t('Save settings')} title={t('Change the relying-party id?')} confirmLabel={t('Change it')} danger onConfirm={() => save.mutate()}>
            {t('Every passkey registered for {old} stops working: its users sign in with their password again and register a new passkey.', { old: effective.passkeys.rpId })}
          </Confirm>
        ) : (
          <Button className="button primary" type="submit" isDisabled={save.isPending}>
            {t('Save settings')}
          </Button>
        )}
        {done && (
          <span role="status" className="muted">
            {t('Saved. Every node uses the new settings now.')}
          </span>
        )}
      </div>
      <ErrorMessage error={save.error} />
    </Form>
  );
}

export function TenantSettingsPage() {
  const { me } = useMe();
  const isAdmin = me.roles.some((role) => role.toLowerCase() === 'admin');
  const settings = useQuery({ queryKey: ['tenant-settings'], queryFn: () => unwrap(api.GET('/api/v1/tenant-settings')) });
  return (
    <>
      <h1>{t('Tenant settings')}</h1>
      <p>{t('The language of the sign-in, account and console pages when a browser asks for none Gatehouse has, and where passkeys work.')}</p>
      <ErrorMessage error={settings.error} />
      {settings.isPending ? (
        <Loading />
      ) : (
        settings.data && (
          <>
            <section aria-labelledby="tenant-settings-now">
              <h2 id="tenant-settings-now">{t('In effect')}</h2>
              <Summary effective={settings.data.effective as Effective} />
            </section>
            {isAdmin ? <SettingsForm saved={settings.data.saved as Saved} effective={settings.data.effective as Effective} defaults={settings.data.defaults as Effective} /> : <p className="muted">{t('Only an Admin changes these settings.')}</p>}
          </>
        )
      )}
    </>
  );
}
