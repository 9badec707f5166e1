// Admin API: the tenant's settings (default page language, passkey relying party). Thin handlers
// over services/tenant-settings.ts, which validates, guards (Admin only) and audits.
import { z } from 'zod';
import { tenantSettingsSchema, TENANT_LOCALES, type TenantSettings, type TenantSettingsView } from '../../services/tenant-settings.ts';
import { defineRoute, type ApiRoute } from './framework.ts';
import type { ApiServices } from './index.ts';
import { changeRequestOf } from './roles.ts';

const effectiveView = z.object({
  defaultLocale: z.enum(TENANT_LOCALES),
  passkeys: z.object({
    rpId: z.string(),
    origins: z.array(z.string()),
    attachment: z.enum(['any', 'platform', 'cross-platform']),
    userVerification: z.enum(['required', 'preferred']),
  }),
});
const settingsView = z.object({
  effective: effectiveView.describe('what applies now'),
  saved: tenantSettingsSchema.describe('what the tenant has set; anything absent follows the defaults'),
  defaults: effectiveView.describe('the configuration (GATEHOUSE_DEFAULT_LOCALE, GATEHOUSE_PASSKEY_*, the issuer)'),
});

const presentSettings = (s: TenantSettings): z.infer<typeof effectiveView> => ({
  defaultLocale: s.defaultLocale,
  passkeys: { rpId: s.passkeys.rpId, origins: s.passkeys.origins, attachment: s.passkeys.attachment, userVerification: s.passkeys.userVerification },
});
const present = (v: TenantSettingsView): z.infer<typeof settingsView> => ({ effective: presentSettings(v.effective), saved: v.saved, defaults: presentSettings(v.defaults) });

export function tenantSettingsRoutes(services: Pick<ApiServices, 'tenantSettings'>): ApiRoute[] {
  const { tenantSettings } = services;
  return [
    defineRoute({
      method: 'get',
      path: '/tenant-settings',
      permission: 'tenant-settings:read',
      summary: "Read the tenant's settings: the default page language and the passkey relying party (id, origins, allowed authenticators, user verification), as they apply, as saved and as configured",
      tag: 'tenant-settings',
      response: settingsView,
      async handler({ caller }) {
        return present(await tenantSettings.view(caller.tenantId));
      },
    }),
    defineRoute({
      method: 'put',
      path: '/tenant-settings',
      permission: 'tenant-settings:replace',
      summary:
        "Replace the tenant's settings (Admin only); a key left out follows the configuration again. The relying-party id must be the host of every origin or a registrable suffix of it, origins https (http only on loopback). Changing the relying-party id makes every registered passkey unusable. Every node applies the change at once.",
      tag: 'tenant-settings',
      body: tenantSettingsSchema,
      response: settingsView,
      async handler({ body, caller, ctx }) {
        return present(await tenantSettings.replace(body, changeRequestOf(caller, ctx)));
      },
    }),
  ];
}
