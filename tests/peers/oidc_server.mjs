// Loopback OAuth 2.0 / OIDC peer for tok's tests: the real `oidc-provider`
// (npm, pinned in package-lock.json) with the client_credentials grant, and, for `tok login`,
// people's grants: device_code, authorization_code, refresh_token with rotation, revocation.
//
// Usage: node oidc_server.mjs CLIENTS_JSON_FILE
//
//   {"port": 0, "ttl": 600, "scopes": ["api:read", "api:write"],
//    "clients": [{"client_id": "...", "client_secret": "...",
//                 "token_endpoint_auth_method": "client_secret_basic"},
//                {"client_id": "...", "token_endpoint_auth_method": "private_key_jwt",
//                 "public_key_pem": "-----BEGIN PUBLIC KEY-----...", "alg": "RS256"}]}
//
// A private_key_jwt client is registered with its public key as a JWK (converted here).
//
// A login client names its grants: {"client_id": "cli", "token_endpoint_auth_method": "none",
// "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "authorization_code",
// "refresh_token"], "redirect_uris": ["http://127.0.0.1/callback"]} (a native client: any
// loopback port, RFC 8252 7.3). With any login client the provider's own development login and
// consent pages are on (any user name, any password), refresh tokens are issued to every client
// allowed the refresh_token grant and rotated on every use; reusing a consumed one revokes the
// whole grant (oidc-provider's theft rule). "login_ttl" (seconds) is the access token lifetime
// of a login (device or code grant), "ttl" of every other grant, refreshes included, so a test
// can have a login's first token expire at once. "device_interval" (seconds) is added to device
// authorization answers as `interval` (oidc-provider names none, so clients poll every 5 s); a
// client's "device_ttl" (seconds) is the lifetime of its device codes (default 600). "id_ttl"
// (seconds) is the lifetime of ID tokens (default oidc-provider's, 1 h); they are signed RS256
// with the keys at /jwks.
//
// Listens on 127.0.0.1 only (port 0 = a free port), issuer
// http://127.0.0.1:<port>. Prints exactly one line `LISTENING <port>` on
// stdout once ready; everything else (oidc-provider's notices and warnings)
// goes to stderr. Runs until SIGTERM/SIGINT.
//
// A token request with `resource=URI` gets a JWT access token (resource indicators); without
// one, an opaque token.
//
// Test-only extra (not part of oidc-provider): GET /__peer/stats returns
// {"token_requests": N, "tokens_issued": M, "revocations": R} so tests can prove a cached
// token did not cost a request (R: revocation requests oidc-provider answered). GET
// /__peer/revocation?status=503 makes the revocation endpoint answer that status, unread, until
// ?status=0. GET /__peer/devices returns the device logins started since the last call,
// [{"user_code": ..., "verification_uri_complete": ...}], and forgets them (at most 16 are kept):
// how scripts/try.py approves a login someone started in another shell.

import http from 'node:http';
import { createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

// oidc-provider prints NOTICEs with console.info (stdout). stdout belongs to
// the LISTENING handshake, so send all console output to stderr. This must
// happen before oidc-provider is imported (it warns at import time).
for (const name of ['log', 'info', 'debug']) {
  console[name] = console.error;
}

function die(msg) {
  process.stderr.write(`oidc_server: ${msg}\n`);
  process.exit(2);
}

if (process.argv.length !== 3) {
  die('usage: node oidc_server.mjs CLIENTS_JSON_FILE');
}

let cfg;
try {
  cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (err) {
  die(`cannot read ${process.argv[2]}: ${err.message}`);
}

const port = Number(cfg.port ?? 0);
const ttl = Number(cfg.ttl ?? 600);
const scopes = Array.isArray(cfg.scopes) ? cfg.scopes : [];
const loginTtl = Number(cfg.login_ttl ?? ttl);
const idTtl = cfg.id_ttl === undefined ? undefined : Number(cfg.id_ttl);
const deviceInterval = cfg.device_interval === undefined ? undefined : Number(cfg.device_interval);
const deviceTtls = new Map();
const clients = (cfg.clients ?? []).map((c) => {
  const grantTypes = c.grant_types ?? ['client_credentials'];
  const client = {
    client_id: c.client_id,
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    grant_types: grantTypes,
    redirect_uris: c.redirect_uris ?? [],
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
  };
  if (grantTypes.includes('authorization_code')) client.application_type = 'native';
  if (c.device_ttl !== undefined) deviceTtls.set(c.client_id, Number(c.device_ttl));
  if (c.client_secret !== undefined) client.client_secret = c.client_secret;
  if (c.public_key_pem !== undefined) {
    const jwk = createPublicKey(c.public_key_pem).export({ format: 'jwk' });
    client.jwks = { keys: [{ ...jwk, use: 'sig', alg: c.alg ?? 'RS256' }] };
    client.token_endpoint_auth_signing_alg = c.alg ?? 'RS256';
  }
  if (c.scope !== undefined) client.scope = c.scope; // optional allow-list
  return client;
});
if (!Number.isInteger(port) || port < 0 || port > 65535) die(`bad port ${cfg.port}`);
if (!Number.isInteger(ttl) || ttl <= 0) die(`bad ttl ${cfg.ttl}`);
if (!Number.isInteger(loginTtl) || loginTtl <= 0) die(`bad login_ttl ${cfg.login_ttl}`);
const logins = clients.some((c) => c.grant_types.some((g) => g !== 'client_credentials'));

const { default: Provider } = await import('oidc-provider');

const stats = { token_requests: 0, tokens_issued: 0, grants: {}, revocations: 0 };
let handler = null;
let revocationFailure = 0;
const startedDevices = [];

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__peer/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.method === 'GET' && req.url.startsWith('/__peer/revocation?')) {
    revocationFailure = Number(new URL(req.url, 'http://x').searchParams.get('status') ?? 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: revocationFailure }));
    return;
  }
  if (req.method === 'GET' && req.url === '/__peer/devices') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(startedDevices.splice(0)));
    return;
  }
  if (req.method === 'POST' && req.url.split('?')[0] === '/token') {
    stats.token_requests += 1;
  }
  if (req.method === 'POST' && req.url.split('?')[0] === '/token/revocation') {
    if (revocationFailure) {
      res.writeHead(revocationFailure, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'revocation is failing' }));
      return;
    }
    stats.revocations += 1;
  }
  handler(req, res);
});

server.on('error', (err) => die(`listen failed: ${err.message}`));

server.listen(port, '127.0.0.1', async () => {
  const actualPort = server.address().port;
  const issuer = `http://127.0.0.1:${actualPort}`;

  let provider;
  try {
    provider = new Provider(issuer, {
      clients,
      scopes: ['openid', ...scopes],
      features: {
        clientCredentials: { enabled: true },
        // The development login and consent pages: what a login test fills in (plain HTTP or a
        // browser). Off otherwise, which also silences its warning.
        devInteractions: { enabled: logins },
        deviceFlow: { enabled: logins },
        revocation: { enabled: logins },
        introspection: { enabled: true },
        // A request that names a resource (RFC 8707) gets a JWT access token for it, as
        // resource servers that validate tokens themselves want (tok status --claims reads it);
        // without one, tokens stay opaque.
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined,
          useGrantedResource: () => true,
          getResourceServerInfo: (ctx, resourceIndicator) => ({
            scope: scopes.join(' '),
            audience: resourceIndicator,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
          }),
        },
      },
      ttl: {
        ClientCredentials: ttl,
        DeviceCode: (ctx, token, client) => deviceTtls.get(client?.clientId) ?? 600,
        AccessToken: (ctx) => (['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code']
          .includes(ctx?.oidc?.params?.grant_type) ? loginTtl : ttl),
        // "id_ttl" (seconds): the ID tokens' lifetime (oidc-provider's default, 1 h, unset).
        ...(idTtl !== undefined ? { IdToken: idTtl } : {}),
      },
      pkce: { required: () => true },
      issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
      rotateRefreshToken: true,
      // The user's name as the subject, so a test can check who tok says is logged in.
      findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
      cookies: { keys: [randomBytes(32).toString('hex')] },
      // Let oidc-provider's own error handling answer; don't dump stacks.
      renderError(ctx, out) {
        ctx.type = 'json';
        ctx.body = out;
      },
    });
  } catch (err) {
    die(`bad configuration: ${err.message}`);
  }

  // Each token request by grant_type, answered or refused (a herd of callers must cost one
  // refresh_token grant).
  const countGrant = (ctx) => {
    const grant = ctx.oidc?.params?.grant_type ?? 'unknown';
    stats.grants[grant] = (stats.grants[grant] ?? 0) + 1;
  };
  provider.on('grant.success', (ctx) => { stats.tokens_issued += 1; countGrant(ctx); });
  provider.on('grant.error', countGrant);
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`oidc_server: server_error: ${err.stack ?? err}\n`);
  });
  provider.on('grant.error', (ctx, err) => {
    process.stderr.write(`oidc_server: grant.error: ${err.message} ${err.error_description ?? ''}\n`);
  });

  // Static clients are only validated when first used; validate them now so
  // a bad clients file fails at startup rather than as a confusing 400 later
  // (e.g. oidc-provider rejects any client_id/secret character outside
  // %x20-7E, RFC 6749 Appendix A VSCHAR).
  for (const { client_id: id } of clients) {
    try {
      if (!(await provider.Client.find(id))) die(`client ${JSON.stringify(id)} not found`);
    } catch (err) {
      die(`client ${JSON.stringify(id)} rejected: ${err.message} ${err.error_description ?? ''}`);
    }
  }

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      const { user_code: userCode, verification_uri_complete: uri } = ctx.body;
      if (startedDevices.length >= 16) startedDevices.shift();
      startedDevices.push({ user_code: userCode, verification_uri_complete: uri });
    }
  });

  if (deviceInterval !== undefined) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
        ctx.body = { ...ctx.body, interval: deviceInterval };
      }
    });
  }

  handler = provider.callback();
  process.stdout.write(`LISTENING ${actualPort}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
