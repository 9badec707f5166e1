// Declarative, idempotent import of users, applications and API resources from JSON or YAML.
// Running the same file twice changes nothing the second time.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { GatehouseContext } from '../context.ts';
import type { Actor } from './actor.ts';
import { apiResourceSchema } from './api-resources.ts';
import { newApplicationSchema } from './applications.ts';
import { isAdminRole } from './administration.ts';
import { AppError } from './errors.ts';
import { newUserSchema } from './users.ts';
import { passwordPolicySchema } from './password-policy.ts';
import { navigationItemsSchema } from './navigation.ts';

const seedIdentitySchema = z.object({
  kind: z.string().regex(/^[a-z][a-z0-9_-]{1,39}$/, 'kind: lowercase letters, digits, "_" or "-"'),
  alias: z.string().trim().min(1).max(200),
  roles: z.array(z.string().min(1)).default([]),
  dataScope: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/), z.array(z.string().min(1).max(200)).min(1)).default({}),
});

// passwordHash: a bcrypt, PBKDF2 or argon2 hash brought from another system (upgraded at sign-in).
const seedUserSchema = newUserSchema.extend({ passwordHash: z.string().min(20).max(500).optional(), identities: z.array(seedIdentitySchema).default([]) });
const seedApplicationSchema = z.intersection(newApplicationSchema, z.object({ acceptedIdentityKinds: z.array(z.string()).min(1).nullable().optional() }));

export const seedSchema = z
  .object({
    dataScopeKeys: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/)).default([]),
    identityKinds: z.array(z.object({ kind: z.string().regex(/^[a-z][a-z0-9_-]{1,39}$/), label: z.string().min(1).max(100) })).default([]),
    roles: z
      .array(
        z.object({
          name: z.string().trim().min(1).max(100),
          description: z.string().max(500).optional(),
          permissions: z.array(z.object({ resource: z.string().min(1), permission: z.string().min(1) })).default([]),
          assignableRoles: z.array(z.string().trim().min(1).max(100)).default([]).describe('roles its holders may assign without holding their permissions (never Admin)'),
        }),
      )
      .default([]),
    users: z.array(seedUserSchema).default([]),
    applications: z.array(seedApplicationSchema).default([]),
    apiResources: z.array(apiResourceSchema).default([]),
    /** The tenant's password policy; omitted settings take the NIST defaults. Checked when applied. */
    passwordPolicy: passwordPolicySchema.optional(),
    /** Menu items per application (by client_id); permissions under "gatehouse" are the admin API's. */
    navigation: z.array(z.object({ application: z.string().min(1).max(200), items: navigationItemsSchema }).strict()).default([]),
  })
  .strict();

export type SeedInput = z.input<typeof seedSchema>;

export interface SeedReport {
  passwordPolicy?: 'updated' | 'unchanged';
  users: { created: string[]; unchanged: string[] };
  applications: { created: string[]; updated: string[]; unchanged: string[] };
  apiResources: { created: string[]; updated: string[]; unchanged: string[] };
  navigation: { updated: string[]; unchanged: string[] };
  /** Secrets generated for new confidential applications: shown once. */
  clientSecrets: { clientId: string; clientSecret: string }[];
}

export async function readSeedFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError('seed.unreadable', 400, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new AppError('seed.unparsable', 400, `${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

export function parseSeed(input: unknown): z.output<typeof seedSchema> {
  const parsed = seedSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new AppError('seed.invalid', 400, `the seed file has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
  }
  return parsed.data;
}

export interface SeedOptions {
  /** Gatehouse's own permission catalog (from the admin API's route table): navigation items may require one. */
  adminCatalog?: readonly string[];
}

export async function applySeed(context: GatehouseContext, input: unknown, actor: Actor, options: SeedOptions = {}): Promise<SeedReport> {
  // Validate everything before writing anything.
  const seed = parseSeed(input);
  const report: SeedReport = {
    users: { created: [], unchanged: [] },
    applications: { created: [], updated: [], unchanged: [] },
    apiResources: { created: [], updated: [], unchanged: [] },
    navigation: { updated: [], unchanged: [] },
    clientSecrets: [],
  };

  const { queries, tenantId } = context;
  // Every role an identity names must exist or be defined in this file: checked before any write.
  const defined = new Set(seed.roles.map((r) => r.name.toLowerCase()));
  const referenced = [...new Set(seed.users.flatMap((u) => u.identities.flatMap((i) => i.roles)))].filter((name) => !defined.has(name.toLowerCase()));
  if (referenced.length) {
    const existing = await queries.seed.existingRoleNames(
      tenantId,
      referenced.map((n) => n.toLowerCase()),
    );
    const known = new Set(existing.map((name) => name.toLowerCase()));
    const unknown = referenced.filter((name) => !known.has(name.toLowerCase()));
    if (unknown.length) throw new AppError('seed.unknown_role', 400, `the seed file names role(s) that do not exist: ${unknown.join(', ')} (define them under "roles")`);
  }
  for (const key of seed.dataScopeKeys) await queries.seed.addDataScopeKey(tenantId, key);
  for (const k of seed.identityKinds) await queries.seed.addIdentityKind(tenantId, k);
  for (const role of seed.roles) {
    let roleId = await queries.seed.roleId(tenantId, role.name);
    if (!roleId) {
      roleId = randomUUID();
      await queries.seed.insertRole({ id: roleId, tenantId, name: role.name, description: role.description ?? null });
    }
    if (role.permissions.length) await queries.seed.addRolePermissions(tenantId, roleId, role.permissions);
  }
  // Delegated administration (administration.ts): the roles each role's holders may assign.
  for (const role of seed.roles.filter((r) => r.assignableRoles.length)) {
    const holderId = (await queries.seed.roleId(tenantId, role.name))!;
    for (const name of role.assignableRoles) {
      if (isAdminRole({ name })) throw new AppError('seed.invalid', 400, `role "${role.name}": Admin cannot be made assignable (only an Admin grants Admin)`);
      const targetId = await queries.seed.roleId(tenantId, name);
      if (!targetId) throw new AppError('seed.unknown_role', 400, `role "${role.name}" names assignable role "${name}", which does not exist`);
      await queries.seed.addAssignableRole(tenantId, holderId, targetId);
    }
  }
  for (const resource of seed.apiResources) {
    const existed = await context.apiResources.findByIdentifier(resource.identifier);
    const { changed } = await context.apiResources.upsertReportingChange(resource, actor);
    (!existed ? report.apiResources.created : changed ? report.apiResources.updated : report.apiResources.unchanged).push(resource.identifier);
  }
  for (const user of seed.users) {
    let existing = await context.users.findByUsername(user.username);
    if (existing) {
      report.users.unchanged.push(user.username);
    } else {
      const first = user.identities[0];
      const { identities: _identities, ...fields } = user;
      existing = await context.users.create({ ...fields, identityKind: first?.kind, identityAlias: first?.alias }, actor);
      report.users.created.push(user.username);
    }
    for (const identity of user.identities) await applySeedIdentity(context, existing.id, identity);
  }
  await context.authorization.invalidateAll();
  for (const app of seed.applications) {
    const existing = app.clientId ? await context.applications.findById(app.clientId) : await context.applications.findByName(app.name);
    if (!existing) {
      const { application, clientSecret } = await context.applications.create(app, actor);
      report.applications.created.push(application.id);
      if (clientSecret && !app.clientSecret) report.clientSecrets.push({ clientId: application.id, clientSecret });
      continue;
    }
    const changed = await context.applications.updateFromSeed(existing, app, actor);
    (changed ? report.applications.updated : report.applications.unchanged).push(existing.id);
  }
  if (seed.passwordPolicy) {
    // Idempotent like the rest: only a policy that differs is written (and audited).
    const before = await context.passwordPolicies.get(tenantId);
    if (JSON.stringify(before) === JSON.stringify(seed.passwordPolicy)) {
      report.passwordPolicy = 'unchanged';
    } else {
      await context.passwordPolicies.replace(tenantId, seed.passwordPolicy, actor);
      report.passwordPolicy = 'updated';
    }
  }
  for (const app of seed.applications) {
    if (app.acceptedIdentityKinds === undefined) continue;
    const id = app.clientId ?? (await context.applications.findByName(app.name))?.id;
    if (!id) continue;
    await queries.seed.setAcceptedIdentityKinds(tenantId, id, app.acceptedIdentityKinds);
    await context.applications.cache.invalidate(id);
  }
  for (const menu of seed.navigation) {
    const before = JSON.stringify(await context.navigation.definition(tenantId, menu.application));
    const after = JSON.stringify(await context.navigation.replace(menu.application, menu.items, { tenantId, actor }, options.adminCatalog ?? []));
    (before === after ? report.navigation.unchanged : report.navigation.updated).push(menu.application);
  }
  return report;
}

/** Adds the identity (by user, kind and alias) with its roles and data scopes if missing: idempotent. */
async function applySeedIdentity(context: GatehouseContext, userId: string, identity: z.output<typeof seedIdentitySchema>): Promise<void> {
  const { queries, tenantId } = context;
  await queries.transaction(async ({ seed }) => {
    let identityId = await seed.identityId(userId, identity.kind, identity.alias);
    if (!identityId) {
      identityId = randomUUID();
      await seed.insertIdentity({ id: identityId, tenantId, userId, kind: identity.kind, alias: identity.alias });
    }
    for (const name of identity.roles) {
      const roleId = await seed.roleId(tenantId, name);
      if (!roleId) throw new AppError('seed.unknown_role', 400, `role "${name}" does not exist (define it under "roles")`);
      await seed.addIdentityRole(tenantId, identityId, roleId);
    }
    for (const [key, values] of Object.entries(identity.dataScope)) {
      await seed.addDataScopeKey(tenantId, key);
      await seed.setIdentityDataScope(tenantId, identityId, key, values);
    }
  });
}
