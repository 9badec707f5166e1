// Builds the oidc-provider instance. This and the other files in src/oidc/ are the only places
// that import oidc-provider values.
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../logger.ts';
import { isUnavailableError, markUnavailable } from '../services/availability.ts';
import type { AuditService } from '../services/audit.ts';
import { keyedHashMatches } from '../services/secrets.ts';
import { SERVICE_ACCOUNT_CLIENT_SECRET, type ServiceAccountService } from '../services/service-accounts.ts';
import { replaceClientSecretComparison } from './internals.ts';

export type { Provider, KoaContextWithOIDC };

export function createProvider(options: {
  issuer: string;
  configuration: Configuration;
  hashKey: Buffer;
  /** Checks a presented secret against a service account's usable access keys. */
  serviceAccounts: Pick<ServiceAccountService, 'verifySecret'>;
  trustProxy: boolean;
  logger: Logger;
  audit: AuditService;
  tenantId: string;
}): Provider {
  const provider = new Provider(options.issuer, options.configuration);
  provider.proxy = options.trustProxy;

  // Client secrets are stored as keyed hashes (never in clear), so the secret a client presents is
  // hashed and compared in constant time instead of oidc-provider's plain comparison. HS* algorithms
  // (which need the clear secret as a key) are not enabled, so nothing else reads client_secret.
  // A service account's client_secret is only a marker: the presented secret must be one of the
  // account's access keys that is neither revoked nor expired, looked up through a per-node
  // cache that every node drops when a key is created or revoked.
  const { hashKey, serviceAccounts } = options;
  replaceClientSecretComparison(provider, (client, actual) => {
    if (typeof client.clientSecret !== 'string' || typeof actual !== 'string') return false;
    if (client.clientSecret === SERVICE_ACCOUNT_CLIENT_SECRET) return serviceAccounts.verifySecret(client.clientId, actual);
    return keyedHashMatches(hashKey, actual, client.clientSecret);
  });

  const { logger, audit, tenantId } = options;
  const requestInfo = (ctx: KoaContextWithOIDC) => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || null });

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const accountId = ctx.oidc.session?.accountId;
    if (!accountId) return;
    void audit.record({ tenantId, action: 'user.signed_out', actorType: 'user', actorId: accountId, targetType: 'user', targetId: accountId, ...requestInfo(ctx), details: { clientId: ctx.oidc.client?.clientId ?? null } });
  });
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    // PostgreSQL or Redis away: answered as 503 by errorHandler, logged without the noise.
    if (isUnavailableError(err)) {
      markUnavailable(ctx);
      logger.warn({ route: ctx.oidc?.route, error: err.message }, 'storage unavailable');
      return;
    }
    logger.error({ err, route: ctx.oidc?.route }, 'oidc server error');
  });
  provider.on('grant.error', (_ctx: KoaContextWithOIDC, err: Error & { error?: string; error_description?: string }) => {
    logger.debug({ error: err.error, description: err.error_description }, 'token request refused');
  });
  return provider;
}
