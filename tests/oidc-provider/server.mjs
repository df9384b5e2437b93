// A certified OpenID provider (panva/oidc-provider 9), shaped like Authentik, for
// authgate's end-to-end tests. Started by the Rust test harness; never reached from
// outside the machine.
//
// - Listens on 127.0.0.1 (PORT, default 0 = any free port) and serves the provider
//   under /application/o/<SLUG>/, so its issuer is Authentik-shaped (trailing slash).
//   Its endpoint paths are oidc-provider's own (/auth, /token, /session/end, /jwks):
//   clients must use discovery.
// - One confidential client (client_secret_basic and client_secret_post both work),
//   RS256 and ES256 signing keys, refresh tokens (rotated), JWT access tokens whose
//   `aud` is the client id and that carry email, name, groups and organizationId
//   (as Authentik's do), and devInteractions so the login can be scripted.
// - Prints one JSON line {"issuer": ..., "port": ...} on stdout once it listens.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const env = (name, fallback) => process.env[name] ?? fallback;
const slug = env('SLUG', 'authgate');
const clientId = env('CLIENT_ID', 'authgate-e2e');
const clientSecret = env('CLIENT_SECRET', 'authgate-e2e-secret');
const redirectUris = env('REDIRECT_URIS', 'http://127.0.0.1/auth/callback').split(',');
const postLogoutUris = env('POST_LOGOUT_REDIRECT_URIS', 'http://127.0.0.1/').split(',');
// Where the provider POSTs back-channel logout tokens (the API's /auth/backchannel-logout).
const backchannelLogoutUri = env('BACKCHANNEL_LOGOUT_URI', '');
const prefix = `/application/o/${slug}`;

// Accounts the scripted login can use (login name = account id; any password).
const accounts = {
  admin: { email: 'admin@example.com', name: 'Ada Admin', groups: ['app-admins'], organizationId: 'org-1' },
  support: { email: 'support@example.com', name: 'Sam Support', groups: ['app-support'], organizationId: 'org-1' },
  user: { email: 'user@example.com', name: 'Uma User', groups: ['staff'] },
};

function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: 'e2e-rsa', alg: 'RS256', use: 'sig' },
    { ...ec, kid: 'e2e-ec', alg: 'ES256', use: 'sig' },
  ];
}

const accessTokenScopes = 'openid email profile offline_access goauthentik.io/api';

function configuration() {
  return {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogoutUris,
        ...(backchannelLogoutUri
          ? { backchannel_logout_uri: backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      },
      {
        // A second application, registered for client_secret_post and ES256 ID tokens.
        client_id: `${clientId}-post`,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogoutUris,
        ...(backchannelLogoutUri
          ? { backchannel_logout_uri: backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: signingKeys() },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'goauthentik.io/api'],
    claims: {
      openid: ['sub'],
      email: ['email'],
      profile: ['name', 'groups', 'organizationId'],
    },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      // RFC 7009: the API revokes the refresh token at logout.
      revocation: { enabled: true },
      // OIDC Back-Channel Logout 1.0, as Authentik sends it.
      backchannelLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Every access token is a JWT for "the API", audience = the client id, as in Authentik.
        defaultResource: () => 'urn:authgate:api',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource, client) => ({
          scope: accessTokenScopes,
          audience: client.clientId,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    // Authentik issues refresh tokens whenever the client may refresh; oidc-provider
    // otherwise drops offline_access unless prompt=consent.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    // The provider's outgoing calls (back-channel logout) go to the API under test on
    // loopback, which its SSRF guard refuses as a special-use address: drop the guard's
    // dispatcher here, in this loopback-only test provider.
    fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
    rotateRefreshToken: true,
    extraTokenClaims: async (ctx, token) => {
      const account = accounts[token.accountId];
      if (!account || token.kind !== 'AccessToken') return undefined;
      return { ...account, organizationId: account.organizationId };
    },
    findAccount: async (ctx, id) => {
      const account = accounts[id];
      if (!account) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, ...account }),
      };
    },
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      IdToken: 300,
      RefreshToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
}

let callback;
const server = http.createServer((req, res) => {
  if (req.url === prefix || req.url.startsWith(`${prefix}/`) || req.url.startsWith(`${prefix}?`)) {
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
    if (!req.url.startsWith('/')) req.url = `/${req.url}`;
    callback(req, res);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.listen(Number(env('PORT', '0')), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}${prefix}/`;
  const provider = new Provider(issuer, configuration());
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('backchannel.error', (ctx, err) => console.error('backchannel.error', err));
  callback = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
// Exit when the test harness that started us goes away.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
