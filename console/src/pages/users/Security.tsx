// A user's account security: lock and second factor, a reset link by mail, and passkeys.
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client.ts';
import { t } from '../../i18n.ts';
import { useCan } from '../../permissions.tsx';
import { Confirm, ErrorMessage, formatDate } from '../../ui.tsx';
import { DataTable } from '../../widgets/index.ts';

export function SecuritySection({ userId, username, hasEmail }: { userId: string; username: string; hasEmail: boolean }) {
  const can = useCan();
  const state = useQuery({
    queryKey: ['user-security', userId],
    enabled: can('users:read-security'),
    queryFn: () => unwrap(api.GET('/api/v1/users/{id}/security', { params: { path: { id: userId } } })),
  });
  const resetMfa = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1/users/{id}/mfa', { params: { path: { id: userId } } })),
    onSuccess: () => void state.refetch(),
  });
  const sendReset = useMutation({ mutationFn: () => unwrap(api.POST('/api/v1/users/{id}/password-reset', { params: { path: { id: userId } }, body: {} })) });
  const s = state.data;
  const totpLabel = { none: t('none'), pending: t('being set up'), enabled: t('enabled') };
  return (
    <section aria-labelledby="security">
      <h2 id="security">{t('Security')}</h2>
      <ErrorMessage error={state.error} />
      {s && (
        <dl>
          <dt>{t('Failed sign-ins in a row')}</dt>
          <dd>{s.consecutiveFailures}</dd>
          <dt>{t('Locked until')}</dt>
          <dd>{formatDate(s.lockedUntil)}</dd>
          <dt>{t('Password changed')}</dt>
          <dd>{formatDate(s.passwordChangedAt)}</dd>
          <dt>{t('Password expires')}</dt>
          <dd>{formatDate(s.passwordExpiresAt)}</dd>
          <dt>{t('Authenticator app')}</dt>
          <dd>{totpLabel[s.totp]}</dd>
          <dt>{t('Recovery codes left')}</dt>
          <dd>{s.recoveryCodesLeft}</dd>
        </dl>
      )}
      <div className="actions">
        {can('users:reset-mfa') && s && s.totp !== 'none' && (
          <Confirm label={t('Reset second factor')} title={t('Reset the second factor of {username}', { username })} confirmLabel={t('Reset second factor')} danger onConfirm={() => resetMfa.mutate()}>
            {t("Remove {username}'s authenticator app and recovery codes? They set up a new one at their next sign-in, and are told by mail.", { username })}
          </Confirm>
        )}
        {can('users:send-password-reset') && hasEmail && (
          <Confirm label={t('Send password reset mail')} title={t('Send a password reset mail')} confirmLabel={t('Send')} onConfirm={() => sendReset.mutate()}>
            {t('Send {username} a single-use link to choose a new password?', { username })}
          </Confirm>
        )}
        {sendReset.isSuccess && <span role="status">{t('The reset mail is on its way.')}</span>}
        {resetMfa.isSuccess && <span role="status">{t('The second factor was removed.')}</span>}
      </div>
      <ErrorMessage error={resetMfa.error ?? sendReset.error} />
      {can('users:list-passkeys') && <Passkeys userId={userId} />}
    </section>
  );
}

function Passkeys({ userId }: { userId: string }) {
  const can = useCan();
  const passkeys = useQuery({ queryKey: ['user-passkeys', userId], queryFn: () => unwrap(api.GET('/api/v1/users/{id}/passkeys', { params: { path: { id: userId } } })) });
  const remove = useMutation({
    mutationFn: (passkeyId: string) => unwrap(api.DELETE('/api/v1/users/{id}/passkeys/{passkeyId}', { params: { path: { id: userId, passkeyId } } })),
    onSuccess: () => void passkeys.refetch(),
  });
  const items = passkeys.data?.items ?? [];
  return (
    <>
      <h3>{t('Passkeys')}</h3>
      <ErrorMessage error={passkeys.error ?? remove.error} />
      {passkeys.data && (
        <DataTable
          label={t('Passkeys')}
          rows={items}
          rowKey={(p) => p.id}
          empty={t('No passkey.')}
          columns={[
            { key: 'name', header: t('Name'), cell: (p) => p.name },
            { key: 'created', header: t('Registered'), cell: (p) => formatDate(p.createdAt) },
            { key: 'lastUsed', header: t('Last used'), cell: (p) => formatDate(p.lastUsedAt) },
            { key: 'synced', header: t('Synced'), cell: (p) => (p.synced ? t('yes') : t('no')) },
            {
              key: 'remove',
              shown: can('users:remove-passkey'),
              header: t('Remove'),
              cell: (p) => (
                <Confirm label={t('Remove')} title={t('Remove passkey {name}', { name: p.name })} confirmLabel={t('Remove passkey')} danger onConfirm={() => remove.mutate(p.id)}>
                  {t('Remove the passkey {name}? It can no longer be used to sign in.', { name: p.name })}
                </Confirm>
              ),
            },
          ]}
        />
      )}
      {!can('users:remove-passkey') && items.length > 0 && <p className="muted small">{t('You may see these passkeys but not remove them.')}</p>}
    </>
  );
}
