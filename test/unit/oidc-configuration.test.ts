// The cookie and POST-method choices buildConfiguration makes from the issuer's scheme.
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.ts';
import { buildConfiguration, type ConfigurationDeps } from '../../src/oidc/configuration.ts';

function configurationFor(issuer: string) {
  // Only the issuer and the configuration values are read while building; the services are
  // called later, per request.
  const deps = { config: loadConfig({}), issuer, jwks: [], cookieKeys: ['k'], identityFlow: {}, sessions: {}, mfaRequired: async () => false } as unknown as ConfigurationDeps;
  return buildConfiguration(deps);
}

describe('oidc configuration: POST on /auth and /session/end', () => {
  it('with an https issuer, enables oidc-provider POST methods with SameSite=None session cookies', () => {
    const configuration = configurationFor('https://id.example.com');
    assert.equal(configuration.enableHttpPostMethods, true);
    assert.equal(configuration.cookies?.long?.sameSite, 'none');
  });

  it('with a plain-http issuer keeps SameSite=Lax (browsers drop SameSite=None without Secure) and leaves POST to postAsGet', () => {
    const configuration = configurationFor('http://localhost:3000');
    assert.equal(configuration.enableHttpPostMethods, false);
    assert.equal(configuration.cookies?.long?.sameSite, 'lax');
  });
});
