// The tenant's default account policy: roles every identity holds without being assigned them,
// either all identities of the tenant or only those of one kind. Replacing it is escalation-checked
// on what it adds: a role that reaches more identities than before is a grant, a role that stays or
// narrows is not.
import type { Queries } from '../queries/index.ts';
import { z } from 'zod';
import { type DefaultPolicyEntry } from '../queries/roles.ts';
import type { AuditService } from './audit.ts';
import type { AuthorizationService } from './authorization.ts';
import { AppError, parseInput } from './errors.ts';
import { type ChangeRequest } from './roles.ts';
import { assertMayGrantRoles, keepingAnAdmin } from './administration.ts';

export type { DefaultPolicyEntry };

export const defaultPolicySchema = z
  .object({
    roles: z
      .array(
        z
          .object({
            roleId: z.guid(),
            /** Absent or null: every identity of the tenant, whatever its kind. */
            identityKind: z.string().trim().min(1).max(40).nullable().optional(),
          })
          .strict(),
      )
      .max(200),
  })
  .strict();

export type DefaultPolicyInput = z.input<typeof defaultPolicySchema>;

export function createDefaultPolicyService(deps: { queries: Queries; audit: AuditService; authorization: AuthorizationService }) {
  const queries = deps.queries.roles;

  return {
    get: (tenantId: string) => queries.defaultPolicy(tenantId),

    async replace(input: DefaultPolicyInput, by: ChangeRequest): Promise<DefaultPolicyEntry[]> {
      const value = parseInput(defaultPolicySchema, input, 'default_policy.invalid');
      const entries = [
        ...new Map(
          value.roles.map((r) => {
            const entry = { roleId: r.roleId, identityKind: r.identityKind ?? null };
            return [`${entry.roleId}\u0000${entry.identityKind ?? ''}`, entry] as const;
          }),
        ).values(),
      ];
      const result = await deps.queries.transaction(async ({ db: trx }) => {
        const roleIds = [...new Set(entries.map((e) => e.roleId))];
        const roles = await queries.findByIds(by.tenantId, roleIds, trx);
        const missing = roleIds.filter((id) => !roles.some((r) => r.id === id));
        if (missing.length) throw new AppError('role.not_found', 404, `role not found: ${missing.join(', ')}`);
        const kinds = [...new Set(entries.flatMap((e) => (e.identityKind ? [e.identityKind] : [])))];
        const knownKinds = await queries.existingIdentityKinds(by.tenantId, kinds, trx);
        const unknownKinds = kinds.filter((k) => !knownKinds.includes(k));
        if (unknownKinds.length) throw new AppError('default_policy.unknown_kind', 400, `unknown identity kind: ${unknownKinds.join(', ')}`);

        const before = await queries.defaultPolicy(by.tenantId, trx);
        // An entry widens the policy unless the role already reached that kind (or every kind).
        const covered = (e: { roleId: string; identityKind: string | null }) => before.some((b) => b.roleId === e.roleId && (b.identityKind === null || b.identityKind === e.identityKind));
        for (const entry of entries.filter((e) => !covered(e))) {
          const role = roles.find((r) => r.id === entry.roleId)!;
          assertMayGrantRoles(by, [role], `role "${role.name}" to ${entry.identityKind ? `every "${entry.identityKind}" identity` : 'every identity'}`);
        }
        await keepingAnAdmin(trx, by.tenantId, () => queries.replaceDefaultPolicy(by.tenantId, entries, trx));
        const after = await queries.defaultPolicy(by.tenantId, trx);
        await deps.audit.record({ tenantId: by.tenantId, action: 'default_policy.replaced', ...by.actor, targetType: 'default_policy', targetId: by.tenantId, details: { before, after } }, trx);
        return after;
      });
      await deps.authorization.invalidateAll();
      return result;
    },
  };
}

export type DefaultPolicyService = ReturnType<typeof createDefaultPolicyService>;
