// Opens what both the server and the CLI need: database, key-value store, derived secrets and
// the services on top of them. The caller closes it.
import type { Config } from './config/index.ts';
import { createDatabase } from './db/index.ts';
import type { Database } from './db/types.ts';
import { migrateLatest } from './db/migrate.ts';
import type { Logger } from './logger.ts';
import { createQueries } from './queries/index.ts';
import { createApiResourceService } from './services/api-resources.ts';
import { createApplicationService } from './services/applications.ts';
import { createAuditService } from './services/audit.ts';
import { createNavigationService } from './services/navigation.ts';
import { createAuthorizationService } from './services/authorization.ts';
import { createGrantIdentityService } from './services/grant-identities.ts';
import { createAppAccessService } from './services/app-access.ts';
import { createServiceAccountService } from './services/service-accounts.ts';
import { createPasswordHasher, limitPasswordConcurrency } from './services/passwords.ts';
import { deriveKeys, loadOrCreateSecret, type DerivedKeys } from './services/secrets.ts';
import { createUserAccountCache, createUserService } from './services/users.ts';
import { createDirectoryUserService } from './services/directory-users.ts';
import { createIdentityService } from './services/identities.ts';
import { createDataScopeService } from './services/data-scopes.ts';
import { createRoleService } from './services/roles.ts';
import { createGroupService } from './services/groups.ts';
import { createIdentityProviderService } from './services/identity-providers.ts';
import { createFederationService } from './services/federation.ts';
import { createDefaultPolicyService } from './services/default-policy.ts';
import { createUserImportService } from './services/user-import.ts';
import { createScheduler } from './services/scheduler.ts';
import { createUserEvents } from './services/user-events.ts';
import { createSessionService } from './services/sessions.ts';
import { createSessionArtefacts } from './oidc/artefacts.ts';
import { createStore } from './store/index.ts';
import { createPasswordPolicyService } from './services/password-policy.ts';
import { createLockoutService } from './services/lockout.ts';
import { createMfaService } from './services/mfa.ts';
import { createPasskeyService } from './services/passkeys.ts';
import { createTenantSettingsService } from './services/tenant-settings.ts';
import { createCredentialService } from './services/credentials.ts';
import { createMailer } from './services/mail.ts';
import { accountMailsOnUserEvent } from './services/account-mail.ts';
import { createPasswordExpiryService } from './services/password-expiry.ts';
import { createPasswordResetService } from './services/password-reset.ts';
import { createSignInService } from './services/sign-in.ts';
import { createInvitationService } from './services/invitations.ts';
import { createUserMaintenanceService } from './services/user-maintenance.ts';
import { createAccessEvaluationService } from './services/access-evaluation.ts';
import { createWebhookService } from './services/webhooks.ts';
import { userEventSubscriptions } from './wiring.ts';
import type { KeyValueStore } from './store/types.ts';
import { instrumentKnex, instrumentStore } from './telemetry/instrument.ts';

export const DEFAULT_TENANT = 'default';

export interface ContextOptions {
  purpose: string;
  migrate: boolean;
  /** Clock of the session rules (epoch ms); tests move it instead of waiting for timeouts. */
  now?: () => number;
}

export async function openContext(config: Config, logger: Logger, options: ContextOptions) {
  const db: Database = await createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolMax: config.databasePoolMax,
    purpose: options.purpose,
    log: { warn: (message) => logger.warn({ message }, 'database'), error: (message) => logger.error({ message }, 'database') },
  });
  let store: KeyValueStore | undefined;
  try {
    if (options.migrate) {
      const applied = await migrateLatest(db, { log: (message: string) => logger.info(message) });
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
    instrumentKnex(db.knex, db.kind);
    store = instrumentStore(await createStore({ redis: config.redis, prefix: config.redisPrefix }), config.redis ? 'redis' : 'memory');
    const { secret, generated } = await loadOrCreateSecret({ secret: config.secret, production: config.production, dataDir: config.dataDir });
    if (generated) logger.warn({ file: `${config.dataDir}/secret` }, 'GATEHOUSE_SECRET is not set: generated one and kept it in the data directory (refused in production)');
    const keys: DerivedKeys = deriveKeys(secret);
    const tenantId = DEFAULT_TENANT;
    const knex = db.knex;
    // Every table group's queries, built once; services receive the bag (or the part they use).
    const queries = createQueries(knex);
    const audit = createAuditService(queries, logger, { retentionDays: config.auditRetentionDays });
    const passwords = limitPasswordConcurrency(createPasswordHasher(config.argon2), config.passwordHashConcurrency, config.passwordHashQueue);
    // Reactions to user changes: the table in src/wiring.ts, registered below.
    const events = createUserEvents();
    // The server registers the jobs of src/wiring.ts and starts the timers; CLI commands never do.
    const scheduler = createScheduler({ store, logger });
    // Account security: policy, lockout, MFA, password changes, mail, reset, sign-in steps.
    const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir, logger });
    if (!config.smtpUrl && config.production) logger.warn({ outbox: `${config.dataDir}/outbox` }, "SMTP_URL is not set: reset links, lock notices and expiry reminders are written to this node's local outbox instead of being sent");
    const passwordPolicies = await createPasswordPolicyService({ queries, store, audit });
    const lockout = createLockoutService({ queries, store, audit, events });
    const mfa = createMfaService({ queries, store, audit, events, encryptionKey: keys.encryptionKey, hashKey: keys.hashKey, issuerName: config.issuer ? new URL(config.issuer).host : 'Gatehouse' });
    const credentials = createCredentialService({ queries, audit, passwords, policies: passwordPolicies, mfa, events, lockout });
    const passwordExpiry = createPasswordExpiryService({ queries, mailer, logger });
    const passwordReset = createPasswordResetService({ queries, store, audit, mailer, logger, credentials, mfa, lockout, policies: passwordPolicies, hashKey: keys.hashKey, ttlSeconds: config.resetTokenTtl });
    // Per-tenant settings (default language, passkey relying party); the configuration gives the defaults.
    const tenantSettings = await createTenantSettingsService({ queries, store, audit, issuer: config.issuer, configured: { defaultLocale: config.defaultLocale, passkeys: config.passkeys } });
    const passkeys = createPasskeyService({ queries, store, audit, events, settingsOf: (tenant) => tenantSettings.passkeysOf(tenant) });
    const signIn = createSignInService({ queries, store, passwords, policies: passwordPolicies, lockout, mfa, credentials, passkeys });
    const accounts = await createUserAccountCache({ db, users: queries.users, store, tenantId });
    // Before the session service's own subscription (below), so caches let go first.
    for (const subscription of userEventSubscriptions({ accountMails: accountMailsOnUserEvent({ queries, mailer, logger }), accounts })) events.on(subscription.react);
    const users = createUserService({ queries, audit, passwords, tenantId, events, credentials, accounts });
    const applications = await createApplicationService({ queries, store, audit, hashKey: keys.hashKey, tenantId });
    const apiResources = await createApiResourceService({ queries, store, audit, tenantId });
    const payloads = queries.oidcPayloads;
    const authorization = await createAuthorizationService({ queries, store });
    const grantIdentities = createGrantIdentityService({ queries, store, tenantId });
    const appAccess = createAppAccessService({
      queries,
      tenantId,
      readers: {
        application: (clientId) => applications.findForOidc(clientId),
        accessRules: (clientId) => applications.cachedAccessRules(clientId),
        authorization: (identityId) => authorization.forIdentity(identityId),
        userStatus: async (userId) => (await users.findForOidc(userId))?.status,
      },
    });
    // Directory services (identity model) register below.
    const navigation = await createNavigationService({ queries, store, audit, applications, apiResources });
    const serviceAccounts = await createServiceAccountService({ queries, store, audit, authorization, hashKey: keys.hashKey, tenantId, logger, now: options.now });
    const roles = createRoleService({ queries, audit, authorization, apiResources });
    const groups = createGroupService({ queries, audit, authorization });
    const defaultPolicy = createDefaultPolicyService({ queries, audit, authorization });
    const identityProviders = createIdentityProviderService({ queries, audit, encryptionKey: keys.encryptionKey });
    const federation = createFederationService({ queries, store, audit, users, authorization, identityProviders, signIn });
    const directoryUsers = createDirectoryUserService({ queries, audit, authorization, users, events, lockout });
    const identities = createIdentityService({ queries, audit, authorization, users, events });
    const dataScopes = createDataScopeService({ queries, audit, authorization });
    // Sessions subscribe to the user events above (password change, deactivation, deletion,
    // lock, identity removal) and register their cleanup job with the scheduler.
    const sessions = await createSessionService({
      queries,
      store,
      audit,
      events,
      scheduler,
      logger,
      artefacts: createSessionArtefacts({ store, payloads }),
      applicationExists: async (clientId) => (await applications.findById(clientId))?.tenantId === tenantId,
      defaults: { idleTimeoutSeconds: config.sessionIdleTimeout, absoluteLifetimeSeconds: config.sessionTtl },
      maxLifetimeSeconds: config.sessionTtl,
      now: options.now,
    });
    const userMaintenance = createUserMaintenanceService({ queries, directoryUsers, authorization, passwordPolicies });
    const invitations = createInvitationService({ queries, mailer, passwordReset, logger });
    const userImport = createUserImportService({ queries, audit, authorization, invitations });
    // AuthZEN decisions for other modules, through the same caches as the tokens.
    const accessEvaluation = createAccessEvaluationService({ tenantId, authorization, users, serviceAccounts });
    // Webhooks from the audit outbox (the jobs that deliver and purge them: src/wiring.ts).
    const webhooks = createWebhookService({ queries, audit, logger, encryptionKey: keys.encryptionKey, allowPrivate: config.backchannelAllowPrivate, now: options.now });
    const openedStore = store;
    return {
      config,
      logger,
      db,
      knex,
      queries,
      store: openedStore,
      keys,
      tenantId,
      audit,
      events,
      scheduler,
      navigation,
      passwords,
      users,
      applications,
      apiResources,
      payloads,
      authorization,
      grantIdentities,
      appAccess,
      serviceAccounts,
      roles,
      groups,
      defaultPolicy,
      identityProviders,
      federation,
      directoryUsers,
      identities,
      dataScopes,
      mailer,
      passwordPolicies,
      lockout,
      mfa,
      passkeys,
      tenantSettings,
      credentials,
      passwordExpiry,
      passwordReset,
      signIn,
      sessions,
      invitations,
      userMaintenance,
      userImport,
      accessEvaluation,
      webhooks,
      async close() {
        scheduler.stop();
        await passwordReset.idle();
        await mailer.close();
        await sessions.close();
        await accounts.close();
        await passwordPolicies.cache.close();
        await tenantSettings.cache.close();
        await authorization.cache.close();
        await navigation.cache.close();
        await audit.drain();
        await applications.cache.close();
        await applications.rulesCache.close();
        await apiResources.cache.close();
        await serviceAccounts.cache.close();
        await openedStore.close();
        await db.close();
      },
    };
  } catch (error) {
    await store?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
}

export type GatehouseContext = Awaited<ReturnType<typeof openContext>>;
/** What the routes receive: the context without its database handles (routes reach data through services). */
export type RouteContext = Omit<GatehouseContext, 'knex' | 'db'>;
