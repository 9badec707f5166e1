// The SCIM 2.0 service provider's endpoints (RFC 7644 §3) at /scim/v2, served from the admin API's
// route table so their permissions (one per route, `scim-users:create` …) are in Gatehouse's
// catalog and the OpenAPI document. Callers authenticate like every admin-API caller: a bearer token Gatehouse
// issued for `{issuer}/api` (typically a service account's, by client credentials). Bodies are
// application/scim+json (plain JSON accepted), answers application/scim+json; errors use SCIM's
// error schema (middleware/error-handler.ts).
import type { Context } from 'koa';
import { z } from 'zod';
import { createScimService, listParamsOf, MAX_RESULTS, SCHEMA, scimError, type ScimService } from '../../services/scim.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf } from './roles.ts';

const SCIM_MEDIA = 'application/scim+json';
const idParams = z.object({ id: z.string().min(1).max(200) });
const anyQuery = z.record(z.string(), z.string());
const resourceBody = z.record(z.string(), z.unknown());
const resourceView = z.record(z.string(), z.unknown());

type Json = Record<string, unknown>;

/** RFC 7644 §3.4.2.5: `attributes` keeps only the named ones, `excludedAttributes` drops them. */
function project(resource: Json, query: Record<string, string>): Json {
  const names = (text: string | undefined) =>
    text
      ? text
          .split(',')
          .map((a) => a.trim().split('.')[0]!.toLowerCase())
          .filter(Boolean)
      : [];
  const only = names(query.attributes);
  const without = names(query.excludedAttributes);
  if (!only.length && !without.length) return resource;
  const always = ['id', 'schemas', 'meta'];
  return Object.fromEntries(
    Object.entries(resource).filter(([key]) => {
      const lower = key.toLowerCase();
      if (always.includes(lower)) return true;
      if (only.length) return only.includes(lower);
      return !without.includes(lower);
    }),
  );
}

/** A single resource's answer: its ETag (RFC 7644 §3.14) and SCIM's media type. */
function single(ctx: Context, resource: Json, query: Record<string, string> = {}): Json {
  ctx.type = SCIM_MEDIA;
  const meta = resource.meta as { version?: string; location?: string } | undefined;
  if (meta?.version) ctx.set('etag', meta.version);
  return project(resource, query);
}

function list(ctx: Context, response: Json, query: Record<string, string>): Json {
  ctx.type = SCIM_MEDIA;
  return { ...response, Resources: (response.Resources as Json[]).map((r) => project(r, query)) };
}

function created(ctx: Context, resource: Json): Json {
  const meta = resource.meta as { location: string };
  ctx.set('location', meta.location);
  return single(ctx, resource);
}

function ifMatch(ctx: Context): string | undefined {
  return ctx.get('if-match') || undefined;
}

// --- discovery (RFC 7644 §4, RFC 7643 §5–§7) ---

function serviceProviderConfig(base: string): Json {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: `${base.replace(/\/scim\/v2$/, '')}/api/v1/openapi.json`,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'An access token Gatehouse issued for its admin API (a service account by client credentials) whose identity holds the scim-* permissions', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

function resourceTypes(base: string): Json[] {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'Gatehouse users',
      schema: SCHEMA.user,
      schemaExtensions: [
        { schema: SCHEMA.enterprise, required: false },
        { schema: SCHEMA.identities, required: false },
      ],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Gatehouse groups (departments and teams)',
      schema: SCHEMA.group,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

type Attribute = {
  name: string;
  type: string;
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: string;
  returned?: string;
  uniqueness?: string;
  subAttributes?: Attribute[];
  description?: string;
  referenceTypes?: string[];
};

function attr(name: string, type = 'string', more: Partial<Attribute> = {}): Attribute {
  return { name, type, multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...more };
}

function schemas(base: string): Json[] {
  const multi = (name: string, description: string) => attr(name, 'complex', { multiValued: true, description, subAttributes: [attr('value'), attr('type'), attr('primary', 'boolean')] });
  const definitions: { id: string; name: string; description: string; attributes: Attribute[] }[] = [
    {
      id: SCHEMA.user,
      name: 'User',
      description: 'User account',
      attributes: [
        attr('userName', 'string', { required: true, uniqueness: 'server', description: 'Unique; compared case-insensitively' }),
        attr('name', 'complex', { subAttributes: [attr('formatted'), attr('givenName'), attr('familyName')], description: 'Stored as one full name: givenName and familyName are joined' }),
        attr('displayName'),
        multi('emails', 'One email address (the primary one is kept)'),
        multi('phoneNumbers', 'One phone number (the primary one is kept)'),
        attr('active', 'boolean', { description: 'false: the account is inactive and its sessions are ended' }),
        attr('password', 'string', { mutability: 'writeOnly', returned: 'never', caseExact: true }),
      ],
    },
    { id: SCHEMA.enterprise, name: 'EnterpriseUser', description: 'Enterprise User', attributes: [attr('department')] },
    {
      id: SCHEMA.identities,
      name: 'GatehouseIdentities',
      description: "The user's identities in Gatehouse, each with its direct roles and data scopes",
      attributes: [
        attr('identities', 'complex', {
          multiValued: true,
          mutability: 'readOnly',
          subAttributes: [
            attr('id', 'string', { mutability: 'readOnly', caseExact: true }),
            attr('kind', 'string', { mutability: 'readOnly' }),
            attr('alias', 'string', { mutability: 'readOnly' }),
            attr('default', 'boolean', { mutability: 'readOnly' }),
            attr('roles', 'complex', { multiValued: true, mutability: 'readOnly', subAttributes: [attr('value'), attr('display')] }),
            attr('dataScopes', 'complex', { mutability: 'readOnly', description: 'data-scope key → values' }),
          ],
        }),
      ],
    },
    {
      id: SCHEMA.group,
      name: 'Group',
      description: 'Group',
      attributes: [
        attr('displayName', 'string', { required: true, uniqueness: 'server' }),
        attr('members', 'complex', {
          multiValued: true,
          subAttributes: [
            attr('value', 'string', { mutability: 'immutable', caseExact: true }),
            attr('display', 'string', { mutability: 'readOnly' }),
            attr('type', 'string', { mutability: 'immutable' }),
            attr('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User'] }),
          ],
        }),
      ],
    },
  ];
  return definitions.map((d) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], ...d, meta: { resourceType: 'Schema', location: `${base}/Schemas/${d.id}` } }));
}

function listOf(resources: Json[]): Json {
  return { schemas: [SCHEMA.list], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
}

export function scimRoutes(services: Pick<ApiServices, 'directoryUsers' | 'groups' | 'issuer' | 'queries'>): ApiRoute[] {
  const base = () => `${services.issuer}/scim/v2`;
  let scim: ScimService | undefined;
  const service = () => (scim ??= createScimService({ queries: services.queries, directoryUsers: services.directoryUsers, groups: services.groups, baseUrl: base() }));
  const route = (r: { method: 'get' | 'post' | 'put' | 'patch' | 'delete'; path: string; permission: string; summary: string; body?: boolean; handler: ApiRoute['handler']; status?: number }) =>
    defineRoute<unknown, Record<string, string>, Json>({
      method: r.method,
      path: `/scim/v2${r.path}`,
      absolute: true,
      permission: r.permission,
      summary: r.summary,
      tag: 'scim',
      ...(r.path.includes(':id') ? { params: idParams as z.ZodType<unknown> } : {}),
      query: anyQuery,
      ...(r.body ? { body: resourceBody, bodyType: 'scim' as const } : {}),
      response: resourceView,
      ...(r.status ? { status: r.status } : {}),
      handler: r.handler as never,
    });
  type In = { params: { id: string }; query: Record<string, string>; body: Json; caller: Parameters<typeof changeRequestOf>[0]; ctx: Context };
  const h = (fn: (input: In) => Promise<unknown>) => fn as unknown as ApiRoute['handler'];

  return [
    route({
      method: 'get',
      path: '/Users',
      permission: 'scim-users:list',
      summary: 'SCIM: list users (RFC 7644 §3.4.2): filter, sortBy, sortOrder, startIndex, count, attributes, excludedAttributes',
      handler: h(async ({ query, caller, ctx }) => list(ctx, await service().listUsers(caller.tenantId, listParamsOf(query)), query)),
    }),
    route({ method: 'get', path: '/Users/:id', permission: 'scim-users:read', summary: 'SCIM: read a user', handler: h(async ({ params, query, caller, ctx }) => single(ctx, await service().readUser(caller.tenantId, params.id), query)) }),
    route({
      method: 'post',
      path: '/Users',
      permission: 'scim-users:create',
      summary: 'SCIM: create a user (RFC 7644 §3.3)',
      body: true,
      status: 201,
      handler: h(async ({ body, caller, ctx }) => created(ctx, await service().createUser(body, changeRequestOf(caller, ctx)))),
    }),
    route({
      method: 'put',
      path: '/Users/:id',
      permission: 'scim-users:replace',
      summary: 'SCIM: replace a user (RFC 7644 §3.5.1); If-Match honoured',
      body: true,
      handler: h(async ({ params, body, caller, ctx }) => single(ctx, await service().replaceUser(params.id, body, ifMatch(ctx), changeRequestOf(caller, ctx)))),
    }),
    route({
      method: 'patch',
      path: '/Users/:id',
      permission: 'scim-users:update',
      summary: 'SCIM: modify a user (RFC 7644 §3.5.2: add, replace, remove, with or without path); active=false deactivates the user and ends its sessions; If-Match honoured',
      body: true,
      handler: h(async ({ params, body, caller, ctx }) => single(ctx, await service().patchUser(params.id, body, ifMatch(ctx), changeRequestOf(caller, ctx)))),
    }),
    route({
      method: 'delete',
      path: '/Users/:id',
      permission: 'scim-users:delete',
      summary: 'SCIM: delete a user (RFC 7644 §3.6)',
      handler: h(async ({ params, caller, ctx }) => {
        await service().deleteUser(params.id, ifMatch(ctx), changeRequestOf(caller, ctx));
        return undefined;
      }),
    }),

    route({
      method: 'get',
      path: '/Groups',
      permission: 'scim-groups:list',
      summary: 'SCIM: list groups: filter (e.g. displayName eq "…"), sortBy, startIndex, count, excludedAttributes=members',
      handler: h(async ({ query, caller, ctx }) => {
        const withMembers = !/(^|,)\s*members\s*(,|$)/i.test(query.excludedAttributes ?? '') && (!query.attributes || /(^|,)\s*members/i.test(query.attributes));
        return list(ctx, await service().listGroups(caller.tenantId, listParamsOf(query), withMembers), query);
      }),
    }),
    route({
      method: 'get',
      path: '/Groups/:id',
      permission: 'scim-groups:read',
      summary: 'SCIM: read a group with its members',
      handler: h(async ({ params, query, caller, ctx }) => single(ctx, await service().readGroup(caller.tenantId, params.id), query)),
    }),
    route({
      method: 'post',
      path: '/Groups',
      permission: 'scim-groups:create',
      summary: 'SCIM: create a group (a team) with members',
      body: true,
      status: 201,
      handler: h(async ({ body, caller, ctx }) => created(ctx, await service().createGroup(body, changeRequestOf(caller, ctx)))),
    }),
    route({
      method: 'put',
      path: '/Groups/:id',
      permission: 'scim-groups:replace',
      summary: 'SCIM: replace a group: its name and exactly these members',
      body: true,
      handler: h(async ({ params, body, caller, ctx }) => single(ctx, await service().replaceGroup(params.id, body, ifMatch(ctx), changeRequestOf(caller, ctx)))),
    }),
    route({
      method: 'patch',
      path: '/Groups/:id',
      permission: 'scim-groups:update',
      summary: 'SCIM: modify a group: displayName, members add/remove (incl. members[value eq "…"])',
      body: true,
      handler: h(async ({ params, body, caller, ctx }) => single(ctx, await service().patchGroup(params.id, body, ifMatch(ctx), changeRequestOf(caller, ctx)))),
    }),
    route({
      method: 'delete',
      path: '/Groups/:id',
      permission: 'scim-groups:delete',
      summary: 'SCIM: delete a group',
      handler: h(async ({ params, caller, ctx }) => {
        await service().deleteGroup(params.id, ifMatch(ctx), changeRequestOf(caller, ctx));
        return undefined;
      }),
    }),

    route({ method: 'get', path: '/ServiceProviderConfig', permission: 'scim-config:read', summary: 'SCIM: what this service provider supports (RFC 7643 §5)', handler: h(async ({ ctx }) => single(ctx, serviceProviderConfig(base()))) }),
    route({ method: 'get', path: '/ResourceTypes', permission: 'scim-resource-types:list', summary: 'SCIM: the resource types (RFC 7643 §6)', handler: h(async ({ query, ctx }) => list(ctx, listOf(resourceTypes(base())), query)) }),
    route({
      method: 'get',
      path: '/ResourceTypes/:id',
      permission: 'scim-resource-types:read',
      summary: 'SCIM: one resource type',
      handler: h(async ({ params, ctx }) => {
        const found = resourceTypes(base()).find((r) => r.id === params.id);
        if (!found) throw scimError(404, 'notFound', `resource type ${params.id} not found`);
        return single(ctx, found);
      }),
    }),
    route({ method: 'get', path: '/Schemas', permission: 'scim-schemas:list', summary: 'SCIM: the schemas (RFC 7643 §7)', handler: h(async ({ query, ctx }) => list(ctx, listOf(schemas(base())), query)) }),
    route({
      method: 'get',
      path: '/Schemas/:id',
      permission: 'scim-schemas:read',
      summary: 'SCIM: one schema, by its URN',
      handler: h(async ({ params, ctx }) => {
        const found = schemas(base()).find((s) => String(s.id).toLowerCase() === params.id.toLowerCase());
        if (!found) throw scimError(404, 'notFound', `schema ${params.id} not found`);
        return single(ctx, found);
      }),
    }),
  ];
}
