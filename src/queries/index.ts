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
import { createSeedQueries } from './seed.ts';
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

/** Each table group's queries, built on first use: a transaction's bag builds only what it uses. */
const TABLE_GROUPS = {
  accountSecurity: createAccountSecurityQueries,
  administration: createAdministrationQueries,
  apiResources: createApiResourceQueries,
  applications: createApplicationQueries,
  audit: createAuditQueries,
  authorization: createAuthorizationQueries,
  dataScopes: createDataScopeQueries,
  grantIdentities: createGrantIdentityQueries,
  groups: createGroupQueries,
  identities: createIdentityQueries,
  identityProviders: createIdentityProviderQueries,
  invitations: createInvitationQueries,
  navigation: createNavigationQueries,
  oidcPayloads: createOidcPayloadQueries,
  overview: createOverviewQueries,
  passkeys: createPasskeyQueries,
  roles: createRoleQueries,
  scim: createScimQueries,
  seed: createSeedQueries,
  serviceAccounts: createServiceAccountQueries,
  sessions: createSessionQueries,
  signingKeys: createSigningKeyQueries,
  tenantSettings: createTenantSettingsQueries,
  userImport: createUserImportQueries,
  userMaintenance: createUserMaintenanceQueries,
  users: createUserQueries,
  webhooks: createWebhookQueries,
};

type TableGroups = { readonly [K in keyof typeof TABLE_GROUPS]: ReturnType<(typeof TABLE_GROUPS)[K]> };

function tables(db: Knex): TableGroups & { db: Executor; advisoryLock(key: number): Promise<void> } {
  const bag = {
    /** What this bag runs on: the pool, or the transaction it is bound to. */
    db: db as Executor,
    /** Takes a transaction-scoped advisory lock (released at commit or rollback). */
    async advisoryLock(key: number): Promise<void> {
      await db.raw('select pg_advisory_xact_lock(?)', [key]);
    },
  };
  for (const [name, create] of Object.entries(TABLE_GROUPS)) {
    let built: unknown;
    Object.defineProperty(bag, name, { enumerable: true, get: () => (built ??= create(db)) });
  }
  return bag as TableGroups & typeof bag;
}

export type Queries = ReturnType<typeof tables> & {
  /**
   * Runs `work` in a transaction, with a bag bound to it. `options` (a new transaction only):
   * its isolation level and whether it is read-only.
   */
  transaction<T>(work: (tx: TransactionQueries) => Promise<T>, options?: TransactionOptions): Promise<T>;
};

export interface TransactionOptions {
  isolationLevel?: 'read committed' | 'repeatable read' | 'serializable';
  readOnly?: boolean;
}

/** A bag bound to a transaction. */
export type TransactionQueries = Queries & { db: Transaction };

export function createQueries(db: Knex): Queries {
  // Not spread: the table groups are getters that build on first use.
  const transaction: Queries['transaction'] = (work, options) => db.transaction((trx) => work(createQueries(trx) as TransactionQueries), options);
  return Object.assign(tables(db), { transaction });
}
