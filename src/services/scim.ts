// The SCIM 2.0 service provider (RFC 7643 resources, RFC 7644 protocol): Gatehouse users and groups
// shown as SCIM resources and changed through the same services the admin API uses
// (directory-users.ts, groups.ts), with the caller as the requester, so every administration
// check applies to SCIM writes as well. Mapping:
// - User: userName ↔ username; name.formatted (else givenName and familyName joined, else
//   displayName) ↔ name; the primary (or first) email and phone number; active ↔ status (inactive ↔
//   false; a temporary lock stays active); the enterprise extension's department; Gatehouse's
//   extension lists the identities (kind, alias, direct roles, data scopes), read-only.
// - Group: displayName ↔ name; members are users (value = user id), held by their default identity.
// - Both: externalId (RFC 7643 §3.1), the provisioning client's own identifier, kept as sent
//   (caseExact) and filterable; a PUT without it removes it, as for any readWrite attribute.
// PATCH (RFC 7644 §3.5.2) is applied to the resource's JSON and the result saved like a PUT.
import { createHash } from 'node:crypto';
import type { UserIdentitySummary } from '../queries/identities.ts';
import type { Queries } from '../queries/index.ts';
import { ENTERPRISE_USER, UnsupportedFilterError } from '../queries/scim.ts';
import type { User } from '../queries/users.ts';
import type { DirectoryUserService, UserChangeStep, UserDetails } from './directory-users.ts';
import { assertMayManageIdentities, assertMayManageUser } from './administration.ts';
import { AppError } from './errors.ts';
import type { Group, GroupChangeStep, GroupService } from './groups.ts';
import type { ChangeRequest } from './roles.ts';
import { keyOf, matches, parseAttrPath, parseFilter, parsePatchPath, type AttrPath, type Filter } from './scim-filter.ts';

export const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: ENTERPRISE_USER,
  identities: 'urn:gatehouse:params:scim:schemas:extension:identities:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

/** RFC 7644 §3.4.2.4: the largest page; also announced in ServiceProviderConfig. */
export const MAX_RESULTS = 1000;
const DEFAULT_COUNT = 100;

type Json = Record<string, unknown>;

/** Resource ids are UUIDs; anything else names no resource. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function scimError(status: number, scimType: string, detail: string): AppError {
  return new AppError(`scim.${scimType}`, status, detail, { scimType });
}

/** Weak ETag of a resource's content (RFC 7644 §3.14), stable across nodes. */
function versionOf(resource: Json): string {
  const { meta: _meta, ...content } = resource;
  return `W/"${createHash('sha256').update(JSON.stringify(content)).digest('base64url').slice(0, 22)}"`;
}

function withMeta(resource: Json, meta: { resourceType: string; created: Date; lastModified: Date; location: string }): Json {
  return { ...resource, meta: { resourceType: meta.resourceType, created: meta.created.toISOString(), lastModified: meta.lastModified.toISOString(), location: meta.location, version: versionOf(resource) } };
}

function get(object: Json | undefined, name: string): unknown {
  if (!object) return undefined;
  const key = keyOf(object, name);
  return key === undefined ? undefined : object[key];
}

function asObject(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/** The primary value of a multi-valued attribute, else the first (RFC 7643 §2.4). */
function primaryValue(list: unknown): string | null | undefined {
  if (list === undefined) return undefined;
  if (list === null) return null;
  if (!Array.isArray(list)) throw scimError(400, 'invalidValue', 'emails and phoneNumbers are lists');
  const items = list.map(asObject).filter((v): v is Json => !!v);
  const chosen = items.find((i) => get(i, 'primary') === true || get(i, 'primary') === 'true') ?? items[0];
  const value = chosen ? get(chosen, 'value') : undefined;
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw scimError(400, 'invalidValue', 'a value of emails or phoneNumbers must be a string');
  return value;
}

/** Entra ID sends booleans as the strings "True" and "False". */
function booleanOf(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw scimError(400, 'invalidValue', `${name} must be true or false`);
}

function stringOrNull(value: unknown, name: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw scimError(400, 'invalidValue', `${name} must be a string`);
  return value;
}

/** The largest externalId kept: identifiers of provisioning clients are far shorter. */
export const EXTERNAL_ID_MAX = 1024;

/** A resource's externalId (RFC 7643 §3.1), null when it has none. */
export function externalIdOf(resource: Json): string | null {
  const value = get(resource, 'externalId');
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw scimError(400, 'invalidValue', 'externalId must be a string');
  if (value.length > EXTERNAL_ID_MAX) throw scimError(400, 'invalidValue', `externalId must be at most ${EXTERNAL_ID_MAX} characters`);
  return value;
}

/** Gatehouse's fields from a whole SCIM User (create, replace, or the result of a PATCH). */
export function userFieldsOf(resource: Json): { username: string; name: string | null; email: string | null; phone: string | null; department: string | null; active: boolean; password?: string } {
  const username = get(resource, 'userName');
  if (typeof username !== 'string' || !username.trim()) throw scimError(400, 'invalidValue', 'userName is required');
  const name = asObject(get(resource, 'name'));
  const given = stringOrNull(get(name, 'givenName'), 'name.givenName');
  const family = stringOrNull(get(name, 'familyName'), 'name.familyName');
  const joined = [given, family].filter(Boolean).join(' ') || null;
  const fullName = stringOrNull(get(name, 'formatted'), 'name.formatted') ?? joined ?? stringOrNull(get(resource, 'displayName'), 'displayName');
  const enterprise = asObject(get(resource, ENTERPRISE_USER));
  const activeValue = get(resource, 'active');
  const password = get(resource, 'password');
  if (password !== undefined && typeof password !== 'string') throw scimError(400, 'invalidValue', 'password must be a string');
  return {
    username: username.trim(),
    name: fullName,
    email: primaryValue(get(resource, 'emails')) ?? null,
    phone: primaryValue(get(resource, 'phoneNumbers')) ?? null,
    department: stringOrNull(get(enterprise, 'department'), `${ENTERPRISE_USER}:department`),
    active: activeValue === undefined || activeValue === null ? true : booleanOf(activeValue, 'active'),
    ...(password ? { password } : {}),
  };
}

// --- PATCH (RFC 7644 §3.5.2) applied to a resource's JSON ---

function mergeInto(target: Json, value: Json): void {
  for (const [k, v] of Object.entries(value)) {
    const existing = keyOf(target, k);
    const current = existing === undefined ? undefined : target[existing];
    if (asObject(current) && asObject(v)) mergeInto(current as Json, v as Json);
    else target[existing ?? k] = v;
  }
}

function containerOf(resource: Json, path: AttrPath, create: boolean): Json | undefined {
  if (!path.schema) return resource;
  const key = keyOf(resource, path.schema);
  if (key) return asObject(resource[key]);
  if (!create) return undefined;
  const schemaName = path.schema === ENTERPRISE_USER.toLowerCase() ? ENTERPRISE_USER : path.schema === SCHEMA.identities.toLowerCase() ? SCHEMA.identities : path.schema;
  resource[schemaName] = {};
  return resource[schemaName] as Json;
}

function applyOperation(resource: Json, op: string, pathText: string | undefined, value: unknown, readOnly: Set<string>): void {
  if (pathText === undefined || pathText === '') {
    // §3.5.2.1/§3.5.2.3 without a path: the value is an object of attributes. Entra ID and Okta
    // send keys that are themselves paths (`name.givenName`, an extension URN with its attribute).
    if (op === 'remove') throw scimError(400, 'noTarget', 'remove requires a path');
    const object = asObject(value);
    if (!object) throw scimError(400, 'invalidValue', 'an operation without a path needs an object value');
    for (const [k, v] of Object.entries(object)) {
      // Okta repeats the resource's id in a path-less replace: the same value is no change.
      if (readOnly.has(k.toLowerCase()) && JSON.stringify(get(resource, k)) === JSON.stringify(v)) continue;
      if (/^urn:/i.test(k) && asObject(v) && !k.includes(':', k.lastIndexOf(':') + 1) && [SCHEMA.enterprise, SCHEMA.identities, SCHEMA.user, SCHEMA.group].some((s) => s.toLowerCase() === k.toLowerCase())) {
        for (const [sub, subValue] of Object.entries(v as Json)) applyOperation(resource, op, `${k}:${sub}`, subValue, readOnly);
      } else {
        applyOperation(resource, op, k, v, readOnly);
      }
    }
    return;
  }
  const target = parsePatchPath(pathText);
  const { path } = target;
  if (readOnly.has(path.attr) || path.schema === SCHEMA.identities.toLowerCase()) throw scimError(400, 'mutability', `"${pathText}" is read-only`);
  const container = containerOf(resource, path, op !== 'remove');
  if (!container) return;
  const key = keyOf(container, path.attr) ?? path.attr;
  const current = container[key];

  if (target.filter) {
    // attr[filter] or attr[filter].sub: the matching values of a multi-valued attribute.
    const list = Array.isArray(current) ? (current as unknown[]) : [];
    const hits = list.filter((item) => asObject(item) && matches(item as Json, target.filter!, () => false));
    if (op === 'remove') {
      if (target.sub) for (const hit of hits) delete (hit as Json)[keyOf(hit as Json, target.sub) ?? target.sub];
      else container[key] = list.filter((item) => !hits.includes(item));
      return;
    }
    if (!hits.length) {
      // Entra ID replaces `emails[type eq "work"].value` on a user without one: add that value.
      const seed: Json = {};
      const filter = target.filter;
      if (filter.op === 'eq' && filter.path.attr !== 'value') seed[filter.path.attr] = filter.value;
      const item = target.sub ? { ...seed, [target.sub]: value } : { ...seed, ...(asObject(value) ?? { value }) };
      container[key] = [...list, item];
      return;
    }
    for (const hit of hits) {
      if (target.sub) (hit as Json)[keyOf(hit as Json, target.sub) ?? target.sub] = value;
      else if (asObject(value)) mergeInto(hit as Json, value as Json);
    }
    return;
  }

  if (path.sub) {
    let parent = asObject(current);
    if (op === 'remove') {
      if (parent) delete parent[keyOf(parent, path.sub) ?? path.sub];
      return;
    }
    if (!parent) {
      parent = {};
      container[key] = parent;
    }
    parent[keyOf(parent, path.sub) ?? path.sub] = value;
    return;
  }

  if (op === 'remove') {
    delete container[key];
    return;
  }
  if (op === 'add' && Array.isArray(current)) {
    // §3.5.2.1: values added to a multi-valued attribute join the existing ones.
    container[key] = [...current, ...(Array.isArray(value) ? value : [value])];
  } else if (asObject(current) && asObject(value)) {
    mergeInto(current as Json, value as Json);
  } else {
    container[key] = value;
  }
}

export function applyPatch(resource: Json, body: Json, readOnly: string[] = ['id', 'meta', 'schemas']): Json {
  const schemas = get(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.includes(SCHEMA.patch)) throw scimError(400, 'invalidSyntax', `a PATCH request has the schema ${SCHEMA.patch}`);
  const operations = get(body, 'Operations');
  if (!Array.isArray(operations) || operations.length === 0) throw scimError(400, 'invalidSyntax', 'Operations must be a non-empty list');
  if (operations.length > 1000) throw scimError(400, 'tooMany', 'at most 1000 operations per request');
  const copy = structuredClone(resource);
  const readOnlySet = new Set(readOnly.map((r) => r.toLowerCase()));
  for (const raw of operations) {
    const operation = asObject(raw);
    const op = get(operation, 'op');
    // Entra ID capitalises the operation ("Replace"); names compare case-insensitively.
    if (typeof op !== 'string' || !['add', 'replace', 'remove'].includes(op.toLowerCase())) throw scimError(400, 'invalidSyntax', 'op must be add, replace or remove');
    const path = get(operation, 'path');
    if (path !== undefined && typeof path !== 'string') throw scimError(400, 'invalidPath', 'path must be a string');
    applyOperation(copy, op.toLowerCase(), path, get(operation, 'value'), readOnlySet);
  }
  return copy;
}

// --- listing parameters (RFC 7644 §3.4.2) ---

export interface ListParams {
  filter?: Filter;
  sortBy?: AttrPath;
  descending: boolean;
  /** 1-based (§3.4.2.4); values below 1 count as 1. */
  startIndex: number;
  count: number;
}

export function listParamsOf(query: Record<string, string | undefined>): ListParams {
  const intOf = (name: string, fallback: number) => {
    const text = query[name];
    if (text === undefined || text === '') return fallback;
    if (!/^-?\d{1,9}$/.test(text)) throw scimError(400, 'invalidValue', `${name} must be an integer`);
    return Number(text);
  };
  const order = query.sortOrder?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') throw scimError(400, 'invalidValue', 'sortOrder is ascending or descending');
  return {
    filter: query.filter ? parseFilter(query.filter) : undefined,
    sortBy: query.sortBy ? parseAttrPath(query.sortBy, 'invalidValue') : undefined,
    descending: order === 'descending',
    startIndex: Math.max(1, intOf('startIndex', 1)),
    // §3.4.2.4: a negative count is 0; above the maximum, the maximum.
    count: Math.min(MAX_RESULTS, Math.max(0, intOf('count', DEFAULT_COUNT))),
  };
}

function listResponse(resources: Json[], total: number, startIndex: number): Json {
  return { schemas: [SCHEMA.list], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

export function createScimService(deps: { queries: Queries; directoryUsers: DirectoryUserService; groups: GroupService; baseUrl: string }) {
  const scimQueries = deps.queries.scim;
  const identityQueries = deps.queries.identities;
  const scopeQueries = deps.queries.dataScopes;

  function present(
    user: Pick<User, 'id' | 'username' | 'name' | 'email' | 'phone' | 'department' | 'status' | 'defaultIdentityId' | 'createdAt' | 'updatedAt'>,
    identities: UserIdentitySummary[] | UserDetails['identities'],
    scopes: Map<string, Record<string, string[]>>,
    externalId: string | undefined,
  ): Json {
    const resource: Json = {
      schemas: [SCHEMA.user, SCHEMA.enterprise, SCHEMA.identities],
      id: user.id,
      ...(externalId ? { externalId } : {}),
      userName: user.username,
      ...(user.name ? { name: { formatted: user.name }, displayName: user.name } : {}),
      ...(user.email ? { emails: [{ value: user.email, type: 'work', primary: true }] } : {}),
      ...(user.phone ? { phoneNumbers: [{ value: user.phone, type: 'work', primary: true }] } : {}),
      active: user.status !== 'inactive',
      [SCHEMA.enterprise]: user.department ? { department: user.department } : {},
      [SCHEMA.identities]: {
        identities: identities.map((i) => ({ id: i.id, kind: i.kind, alias: i.alias, default: i.id === user.defaultIdentityId, roles: i.roles.map((r) => ({ value: r.id, display: r.name })), dataScopes: scopes.get(i.id) ?? {} })),
      },
    };
    return withMeta(resource, { resourceType: 'User', created: user.createdAt, lastModified: user.updatedAt, location: `${deps.baseUrl}/Users/${user.id}` });
  }

  /** What `load` reads for the resource `id`; SCIM's 404 notFound when there is none (RFC 7644 §3.12). */
  async function found<T>(resourceType: 'user' | 'group', id: string, load: () => Promise<T>): Promise<T> {
    if (!UUID.test(id)) throw scimError(404, 'notFound', `${resourceType} ${id} not found`);
    try {
      return await load();
    } catch (error) {
      if (error instanceof AppError && error.status === 404) throw scimError(404, 'notFound', `${resourceType} ${id} not found`);
      throw error;
    }
  }

  async function readUser(tenantId: string, id: string): Promise<Json> {
    const user = await found('user', id, () => deps.directoryUsers.get(tenantId, id));
    const scopes = await scopeQueries.forIdentities(user.identities.map((i) => i.id));
    const externalIds = await scimQueries.externalIds(tenantId, 'user', [user.id]);
    return present(user, user.identities, scopes, externalIds.get(user.id));
  }

  /** RFC 7644 §3.14: a write with If-Match proceeds only on the current version. */
  function checkVersion(current: Json, ifMatch: string | undefined): void {
    if (!ifMatch || ifMatch.trim() === '*') return;
    const version = (current.meta as Json).version as string;
    const strip = (tag: string) => tag.trim().replace(/^W\//, '');
    if (!ifMatch.split(',').some((tag) => strip(tag) === strip(version))) throw scimError(412, 'versionMismatch' as string, 'the resource has changed: its version does not match If-Match');
  }

  /**
   * Saves the desired Gatehouse fields of a user through the directory service, in one
   * transaction: the fields, the status and `step` (in one of its own when nothing else changes)
   * commit together, so a failing part leaves the user as it was.
   */
  async function saveUser(id: string, before: Json, desired: ReturnType<typeof userFieldsOf>, by: ChangeRequest, step: UserChangeStep | undefined): Promise<void> {
    const now = userFieldsOf(before);
    const patch: Record<string, string | null> = {};
    for (const field of ['username', 'name', 'email', 'phone', 'department'] as const) {
      if (desired[field] !== now[field]) patch[field] = desired[field];
    }
    if (patch.username === null) delete patch.username;
    const statusChange = desired.active !== now.active ? deps.directoryUsers.statusStep(desired.active ? 'active' : 'inactive', 'SCIM', by) : undefined;
    if (Object.keys(patch).length) {
      // The fields, the status and the caller's step: one transaction.
      await deps.directoryUsers.update(id, patch, by, chainSteps(statusChange?.step, step));
      await statusChange?.committed(id);
    } else if (desired.active !== now.active) {
      if (desired.active) await deps.directoryUsers.activate(id, 'SCIM', by, step);
      else await deps.directoryUsers.deactivate(id, 'SCIM', by, step);
    } else if (step) await runAlone(id, step);
  }

  function presentGroup(group: Group, members: { value: string; display: string }[], externalId: string | undefined): Json {
    const resource: Json = {
      schemas: [SCHEMA.group],
      id: group.id,
      ...(externalId ? { externalId } : {}),
      displayName: group.name,
      members: members.map((m) => ({ value: m.value, display: m.display, type: 'User', $ref: `${deps.baseUrl}/Users/${m.value}` })),
    };
    return withMeta(resource, { resourceType: 'Group', created: group.createdAt, lastModified: group.updatedAt, location: `${deps.baseUrl}/Groups/${group.id}` });
  }

  async function groupMembers(tenantId: string, groupId: string): Promise<{ value: string; display: string; identityId: string }[]> {
    const members = await deps.groups.members(tenantId, groupId, { limit: 100_000, offset: 0 });
    return members.filter((m) => m.userId).map((m) => ({ value: m.userId!, display: m.username ?? m.alias, identityId: m.identityId }));
  }

  async function readGroup(tenantId: string, id: string): Promise<Json> {
    const group = await found('group', id, () => deps.groups.get(tenantId, id));
    const externalIds = await scimQueries.externalIds(tenantId, 'group', [group.id]);
    return presentGroup(group, await groupMembers(tenantId, id), externalIds.get(group.id));
  }

  /** The user ids of a Group's `members` (only users can be members through SCIM). */
  function memberIdsOf(resource: Json): string[] {
    const members = get(resource, 'members');
    if (members === undefined || members === null) return [];
    if (!Array.isArray(members)) throw scimError(400, 'invalidValue', 'members must be a list');
    return [
      ...new Set(
        members.map((m) => {
          const value = get(asObject(m), 'value');
          if (typeof value !== 'string') throw scimError(400, 'invalidValue', 'each member needs a value (a user id)');
          return value;
        }),
      ),
    ];
  }

  /** Default identities of `users`, each checked to be a user of the tenant. */
  async function memberIdentities(tenantId: string, users: string[]): Promise<string[]> {
    const identities: string[] = [];
    for (const userId of users) {
      if (!UUID.test(userId)) throw scimError(400, 'invalidValue', `member ${userId} is not a user id`);
      let user: UserDetails;
      try {
        user = await deps.directoryUsers.get(tenantId, userId);
      } catch (error) {
        if (error instanceof AppError && error.status === 404) throw scimError(400, 'invalidValue', `member ${userId} is not a user`);
        throw error;
      }
      if (!user.defaultIdentityId) throw scimError(400, 'invalidValue', `user ${userId} has no identity to add`);
      identities.push(user.defaultIdentityId);
    }
    return identities;
  }

  /**
   * Makes the group's members exactly `wanted`. Every member added or removed is checked with the
   * administration guard before anything is written, so a refusal leaves the group as it was;
   * the group service checks again inside each write's transaction.
   */
  async function saveGroupMembers(tenantId: string, groupId: string, wanted: string[], by: ChangeRequest): Promise<void> {
    const current = await groupMembers(tenantId, groupId);
    const currentUsers = new Set(current.map((m) => m.value));
    const toAdd = await memberIdentities(
      tenantId,
      wanted.filter((u) => !currentUsers.has(u)),
    );
    const keep = new Set(wanted);
    const toRemove = current.filter((m) => !keep.has(m.value)).map((m) => m.identityId);
    if (toAdd.length || toRemove.length) await assertMayManageIdentities(deps.queries.db, by, [...toAdd, ...toRemove], 'these group members');
    if (toAdd.length) await deps.groups.addMembers(groupId, toAdd, by);
    for (const identityId of toRemove) await deps.groups.removeMember(groupId, identityId, by);
  }

  /**
   * The write keeping `wanted` as the resource's externalId, to run inside the transaction that
   * creates or changes the resource; none when it stays `had`. A user's is changed only by a
   * caller that may manage the user, checked in that transaction.
   */
  function externalIdStep(kind: 'user' | 'group', had: string | null, wanted: string | null, by: ChangeRequest): UserChangeStep | undefined {
    if (had === wanted) return undefined;
    return async (tx, id) => {
      if (kind === 'user') await assertMayManageUser(tx.db, by, id);
      await tx.scim.setExternalId(by.tenantId, kind, id, wanted);
    };
  }

  /** The steps given, one after the other, as one step (undefined when none is). */
  function chainSteps(...steps: (UserChangeStep | undefined)[]): UserChangeStep | undefined {
    const present = steps.filter((s): s is UserChangeStep => s !== undefined);
    if (present.length <= 1) return present[0];
    return async (tx, id) => {
      for (const s of present) await s(tx, id);
    };
  }

  /** Runs a step on its own when no other write of the request carries it. */
  async function runAlone(id: string, step: UserChangeStep | GroupChangeStep): Promise<void> {
    await deps.queries.transaction((tx) => step(tx, id));
  }

  return {
    readUser,

    async listUsers(tenantId: string, params: ListParams): Promise<Json> {
      let found: Awaited<ReturnType<typeof scimQueries.searchUsers>>;
      try {
        found = await scimQueries.searchUsers(tenantId, { filter: params.filter, sortBy: params.sortBy, descending: params.descending, offset: params.startIndex - 1, limit: params.count });
      } catch (error) {
        if (error instanceof UnsupportedFilterError) throw scimError(400, 'invalidFilter', error.message);
        throw error;
      }
      const { users, total } = found;
      const identities = await identityQueries.summariesForUsers(
        tenantId,
        users.map((u) => u.id),
      );
      const scopes = await scopeQueries.forIdentities(identities.map((i) => i.id));
      const externalIds = await scimQueries.externalIds(
        tenantId,
        'user',
        users.map((u) => u.id),
      );
      return listResponse(
        users.map((u) =>
          present(
            u,
            identities.filter((i) => i.userId === u.id),
            scopes,
            externalIds.get(u.id),
          ),
        ),
        total,
        params.startIndex,
      );
    },

    async createUser(body: Json, by: ChangeRequest): Promise<Json> {
      const fields = userFieldsOf(body);
      const externalId = externalIdOf(body);
      // active=false: the user is created and deactivated in one transaction.
      const deactivation = fields.active ? undefined : deps.directoryUsers.statusStep('inactive', 'SCIM', by);
      const created = await deps.directoryUsers.create(
        {
          username: fields.username,
          ...(fields.email ? { email: fields.email } : {}),
          ...(fields.name ? { name: fields.name } : {}),
          ...(fields.phone ? { phone: fields.phone } : {}),
          ...(fields.department ? { department: fields.department } : {}),
          ...(fields.password ? { password: fields.password } : {}),
        },
        by,
        chainSteps(externalIdStep('user', null, externalId, by), deactivation?.step),
      );
      await deactivation?.committed(created.id);
      return readUser(by.tenantId, created.id);
    },

    async replaceUser(id: string, body: Json, ifMatch: string | undefined, by: ChangeRequest): Promise<Json> {
      const before = await readUser(by.tenantId, id);
      checkVersion(before, ifMatch);
      const externalId = externalIdOf(body);
      await saveUser(id, before, userFieldsOf(body), by, externalIdStep('user', externalIdOf(before), externalId, by));
      return readUser(by.tenantId, id);
    },

    async patchUser(id: string, body: Json, ifMatch: string | undefined, by: ChangeRequest): Promise<Json> {
      const before = await readUser(by.tenantId, id);
      checkVersion(before, ifMatch);
      const after = applyPatch(before, body, ['id', 'meta', 'schemas', SCHEMA.identities]);
      // One stored name: a change to displayName alone, or to givenName/familyName alone, is the new name.
      const nameOf = (r: Json) => JSON.stringify(get(r, 'name') ?? null);
      const nameKey = keyOf(after, 'name');
      if (nameOf(after) === nameOf(before) && get(after, 'displayName') !== get(before, 'displayName')) {
        if (nameKey) delete after[nameKey];
      } else if (nameKey && asObject(after[nameKey])) {
        const name = after[nameKey] as Json;
        const formattedKey = keyOf(name, 'formatted');
        if (formattedKey && name[formattedKey] === get(asObject(get(before, 'name')), 'formatted') && (get(name, 'givenName') !== undefined || get(name, 'familyName') !== undefined)) delete name[formattedKey];
      }
      const externalId = externalIdOf(after);
      await saveUser(id, before, userFieldsOf(after), by, externalIdStep('user', externalIdOf(before), externalId, by));
      return readUser(by.tenantId, id);
    },

    async deleteUser(id: string, ifMatch: string | undefined, by: ChangeRequest): Promise<void> {
      checkVersion(await readUser(by.tenantId, id), ifMatch);
      await deps.directoryUsers.remove(id, by);
    },

    readGroup,

    async listGroups(tenantId: string, params: ListParams, withMembers: boolean): Promise<Json> {
      const groups = await deps.groups.list(tenantId);
      const externalIds = await scimQueries.externalIds(
        tenantId,
        'group',
        groups.map((g) => g.id),
      );
      let resources = await Promise.all(groups.map(async (g) => presentGroup(g, withMembers || params.filter ? await groupMembers(tenantId, g.id) : [], externalIds.get(g.id))));
      // RFC 7643 §3.1: id and externalId compare case-sensitively.
      if (params.filter) resources = resources.filter((r) => matches(r, params.filter!, (p) => p.attr === 'id' || p.attr === 'externalid'));
      if (params.sortBy) {
        const key = params.sortBy.attr;
        resources.sort((a, b) =>
          String(get(a, key) ?? '')
            .toLowerCase()
            .localeCompare(String(get(b, key) ?? '').toLowerCase()),
        );
        if (params.descending) resources.reverse();
      }
      const page = resources.slice(params.startIndex - 1, params.startIndex - 1 + params.count);
      return listResponse(withMembers ? page : page.map(({ members: _m, ...rest }) => rest), resources.length, params.startIndex);
    },

    async createGroup(body: Json, by: ChangeRequest): Promise<Json> {
      const name = get(body, 'displayName');
      if (typeof name !== 'string' || !name.trim()) throw scimError(400, 'invalidValue', 'displayName is required');
      const members = memberIdsOf(body);
      // A new group holds no roles, so its members gain nothing: the one check is that the caller
      // may manage each of them, made before the group exists so a refusal writes nothing.
      const identities = await memberIdentities(by.tenantId, members);
      if (identities.length) await assertMayManageIdentities(deps.queries.db, by, identities, 'these group members');
      const externalId = externalIdOf(body);
      const group = await deps.groups.create({ name }, by, externalIdStep('group', null, externalId, by));
      if (members.length) await saveGroupMembers(by.tenantId, group.id, members, by);
      return readGroup(by.tenantId, group.id);
    },

    async replaceGroup(id: string, body: Json, ifMatch: string | undefined, by: ChangeRequest): Promise<Json> {
      const before = await readGroup(by.tenantId, id);
      checkVersion(before, ifMatch);
      await saveGroup(id, before, body, by);
      return readGroup(by.tenantId, id);
    },

    async patchGroup(id: string, body: Json, ifMatch: string | undefined, by: ChangeRequest): Promise<Json> {
      const before = await readGroup(by.tenantId, id);
      checkVersion(before, ifMatch);
      await saveGroup(id, before, applyPatch(before, body), by);
      return readGroup(by.tenantId, id);
    },

    async deleteGroup(id: string, ifMatch: string | undefined, by: ChangeRequest): Promise<void> {
      checkVersion(await readGroup(by.tenantId, id), ifMatch);
      await deps.groups.remove(id, by);
    },
  };

  async function saveGroup(id: string, before: Json, after: Json, by: ChangeRequest): Promise<void> {
    const name = get(after, 'displayName');
    if (typeof name !== 'string' || !name.trim()) throw scimError(400, 'invalidValue', 'displayName is required');
    const wanted = memberIdsOf(after);
    const had = memberIdsOf(before);
    const externalId = externalIdOf(after);
    // Members first: their checks are the ones that refuse; the rename comes last.
    if (wanted.length !== had.length || wanted.some((w) => !had.includes(w))) await saveGroupMembers(by.tenantId, id, wanted, by);
    // The externalId is written with the rename, or on its own when the name stays.
    const step = externalIdStep('group', externalIdOf(before), externalId, by);
    if (name !== before.displayName) await deps.groups.update(id, { name }, by, step);
    else if (step) await runAlone(id, step);
  }
}

export type ScimService = ReturnType<typeof createScimService>;
