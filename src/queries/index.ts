// The queries bag: every table group's queries over one executor, built once in the composition
// root and handed to the services. `transaction(work)` runs `work` with a bag bound to a new
// transaction (a savepoint when the bag is already bound to one), committed when `work` resolves
// and rolled back when it throws.
import type { Knex } from 'knex';
import { createAccountSecurityQueries } from './account-security.ts';
import { createAdministrationQueries } from './administration.ts';
import { createApiResourceQueries } from './api-resources.ts';
import { createApplicationQueries } from './applications.ts';
import { createAuditQueries } from './audit.ts';
import { createAuthorizationQueries } from './authorization.ts';
import { createDataScopeQueries } from './data-scopes.ts';
import { createGrantIdentityQueries } from './grant-identities.ts';
import { createGroupQueries } from './groups.ts';
import { createIdentityQueries } from './identities.ts';
import { createIdentityProviderQueries } from './identity-providers.ts';
import { createInvitationQueries } from './invitations.ts';
import { createNavigationQueries } from './navigation.ts';
import { createOidcPayloadQueries } from './oidc-payloads.ts';
import { createOverviewQueries } from './overview.ts';
import { createPasskeyQueries } from './passkeys.ts';
import { createRoleQueries } from './roles.ts';
import { createScimQueries } from './scim.ts';
import { createServiceAccountQueries } from './service-accounts.ts';
import { createSessionQueries } from './sessions.ts';
import { createSigningKeyQueries } from './signing-keys.ts';
import { createTenantSettingsQueries } from './tenant-settings.ts';
import { createUserImportQueries } from './user-import.ts';
import { createUserMaintenanceQueries } from './user-maintenance.ts';
import { createUserQueries } from './users.ts';
import { createWebhookQueries } from './webhooks.ts';

/**
 * A connection pool or a transaction. Services hold one only to hand it on (to the audit log or
 * the administration guard inside the same transaction); they never query it themselves.
 */
export type Executor = Knex;
/** An open transaction: what a transaction-bound bag runs on. */
export type Transaction = Knex.Transaction;

function tables(db: Knex) {
  return {
    /** What this bag runs on: the pool, or the transaction it is bound to. */
    db: db as Executor,
    accountSecurity: createAccountSecurityQueries(db),
    administration: createAdministrationQueries(db),
    apiResources: createApiResourceQueries(db),
    applications: createApplicationQueries(db),
    audit: createAuditQueries(db),
    authorization: createAuthorizationQueries(db),
    dataScopes: createDataScopeQueries(db),
    grantIdentities: createGrantIdentityQueries(db),
    groups: createGroupQueries(db),
    identities: createIdentityQueries(db),
    identityProviders: createIdentityProviderQueries(db),
    invitations: createInvitationQueries(db),
    navigation: createNavigationQueries(db),
    oidcPayloads: createOidcPayloadQueries(db),
    overview: createOverviewQueries(db),
    passkeys: createPasskeyQueries(db),
    roles: createRoleQueries(db),
    scim: createScimQueries(db),
    serviceAccounts: createServiceAccountQueries(db),
    sessions: createSessionQueries(db),
    signingKeys: createSigningKeyQueries(db),
    tenantSettings: createTenantSettingsQueries(db),
    userImport: createUserImportQueries(db),
    userMaintenance: createUserMaintenanceQueries(db),
    users: createUserQueries(db),
    webhooks: createWebhookQueries(db),
    /** Takes a transaction-scoped advisory lock (released at commit or rollback). */
    async advisoryLock(key: number): Promise<void> {
      await db.raw('select pg_advisory_xact_lock(?)', [key]);
    },
  };
}

export type Queries = ReturnType<typeof tables> & {
  /** Runs `work` in a transaction, with a bag bound to it. */
  transaction<T>(work: (tx: TransactionQueries) => Promise<T>): Promise<T>;
};

/** A bag bound to a transaction. */
export type TransactionQueries = Queries & { db: Transaction };

export function createQueries(db: Knex): Queries {
  return {
    ...tables(db),
    transaction: (work) => db.transaction((trx) => work({ ...createQueries(trx), db: trx })),
  };
}
