// Loopback OAuth 2.0 / OIDC peer for tok's tests: the real `oidc-provider`
// (npm, pinned in package-lock.json) with the client_credentials grant.
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
// Listens on 127.0.0.1 only (port 0 = a free port), issuer
// http://127.0.0.1:<port>. Prints exactly one line `LISTENING <port>` on
// stdout once ready; everything else (oidc-provider's notices and warnings)
// goes to stderr. Runs until SIGTERM/SIGINT.
//
// A token request with `resource=URI` gets a JWT access token (resource indicators); without
// one, an opaque token.
//
// Test-only extra (not part of oidc-provider): GET /__peer/stats returns
// {"token_requests": N, "tokens_issued": M} so tests can prove a cached
// token did not cost a request.

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
const clients = (cfg.clients ?? []).map((c) => {
  const client = {
    client_id: c.client_id,
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  };
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

const { default: Provider } = await import('oidc-provider');

const stats = { token_requests: 0, tokens_issued: 0 };
let handler = null;

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__peer/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.method === 'POST' && req.url.split('?')[0] === '/token') {
    stats.token_requests += 1;
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
        devInteractions: { enabled: false }, // no login UI needed; silences its warning
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
      ttl: { ClientCredentials: ttl },
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

  provider.on('grant.success', () => { stats.tokens_issued += 1; });
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
