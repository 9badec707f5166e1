// An application as oidc-provider's client metadata (OIDC Dynamic Client Registration §2 names;
// RFC 7591): what the adapter hands oidc-provider when it looks a client up.
import { backchannelLogoutUriOf, type Application } from '../services/applications.ts';

export function toClientMetadata(app: Application): Record<string, unknown> {
  const logoutUri = backchannelLogoutUriOf(app);
  const base: Record<string, unknown> = {
    client_id: app.id,
    client_name: app.name,
    // The logout token always carries `sid` (the session uid) as well as `sub`.
    ...(logoutUri && app.type !== 'service' ? { backchannel_logout_uri: logoutUri, backchannel_logout_session_required: true } : {}),
  };
  switch (app.type) {
    case 'service':
      return {
        ...base,
        client_secret: app.clientSecretHash,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      };
    case 'web':
      return {
        ...base,
        client_secret: app.clientSecretHash,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: app.redirectUris,
        post_logout_redirect_uris: app.postLogoutRedirectUris,
        token_endpoint_auth_method: typeof app.metadata.tokenEndpointAuthMethod === 'string' ? app.metadata.tokenEndpointAuthMethod : 'client_secret_basic',
        application_type: 'web',
      };
    case 'spa':
    case 'native':
      return {
        ...base,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: app.redirectUris,
        post_logout_redirect_uris: app.postLogoutRedirectUris,
        token_endpoint_auth_method: 'none',
        application_type: app.type === 'native' ? 'native' : 'web',
      };
  }
}
