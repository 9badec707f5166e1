// Builds the oidc-provider instance. This and the other files in src/oidc/ are the only places
// that import oidc-provider values.
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../logger.ts';
import type { AuditService } from '../services/audit.ts';
import { keyedHashMatches } from '../services/secrets.ts';

export type { Provider, KoaContextWithOIDC };

export function createProvider(options: {
  issuer: string;
  configuration: Configuration;
  hashKey: Buffer;
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
  const hashKey = options.hashKey;
  const clientPrototype = (provider.Client as unknown as { prototype: { clientSecret?: string; compareClientSecret(actual: string): Promise<boolean> | boolean } }).prototype;
  clientPrototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    return typeof this.clientSecret === 'string' && typeof actual === 'string' && keyedHashMatches(hashKey, actual, this.clientSecret);
  };

  const { logger, audit, tenantId } = options;
  const requestInfo = (ctx: KoaContextWithOIDC) => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || null });

  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const accountId = ctx.oidc.session?.accountId;
    if (!accountId) return;
    void audit.record({ tenantId, action: 'user.signed_out', actorType: 'user', actorId: accountId, targetType: 'user', targetId: accountId, ...requestInfo(ctx), details: { clientId: ctx.oidc.client?.clientId ?? null } });
  });
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    logger.error({ err, route: ctx.oidc?.route }, 'oidc server error');
  });
  provider.on('grant.error', (_ctx: KoaContextWithOIDC, err: Error & { error?: string; error_description?: string }) => {
    logger.debug({ error: err.error, description: err.error_description }, 'token request refused');
  });
  return provider;
}
