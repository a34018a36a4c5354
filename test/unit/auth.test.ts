import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import {
  type LeadflowConfig,
  RoleForbiddenError,
  ServiceUnavailableError,
  UnauthorizedError,
} from '@leadflow/core';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type CryptoKey as JoseKey,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findLocalUser,
  LOCAL_CLIENT_ID,
  localIssuerApp,
  localIssuerUrl,
  localJwksUrl,
  localUsers,
  signLocalToken,
} from '../../local/issuer';
import { type Authenticator, createAuthenticator, groupsOf } from '../../packages/aws/src/auth';
import { demoConfig } from './support';

const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test1234';
const CLIENT_ID = '5example0clientid0000000000';
const NOW = new Date('2026-03-02T09:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);

let trusted: { privateKey: JoseKey; publicJwk: JWK };
let foreign: { privateKey: JoseKey };

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  trusted = {
    privateKey: pair.privateKey,
    publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'key-1' },
  };
  foreign = { privateKey: (await generateKeyPair('RS256')).privateKey };
});

/** A Cognito access token, as the user pool issues it; override what the test is about. */
function sign(
  claims: JWTPayload = {},
  {
    key = trusted.privateKey,
    kid = 'key-1',
    alg = 'RS256',
  }: { key?: JoseKey | Uint8Array; kid?: string; alg?: string } = {},
): Promise<string> {
  return new SignJWT({
    sub: '7a1b2c3d-0000-4000-8000-000000000001',
    username: 'bob',
    'cognito:groups': ['manager'],
    token_use: 'access',
    client_id: CLIENT_ID,
    scope: 'openid email profile',
    iss: ISSUER,
    iat: nowSeconds - 60,
    exp: nowSeconds + 3600,
    ...claims,
  })
    .setProtectedHeader({ alg, kid })
    .sign(key);
}

/** An authenticator over the trusted key only, with a clock the test moves, counting configuration reads. */
function authenticator(options: { config?: LeadflowConfig } = {}) {
  const clock = { now: NOW };
  const reads = { count: 0 };
  const config = options.config ?? demoConfig();
  const authenticate: Authenticator = createAuthenticator({
    issuer: ISSUER,
    jwksUrl: `${ISSUER}/.well-known/jwks.json`,
    clientId: CLIENT_ID,
    keys: createLocalJWKSet({ keys: [trusted.publicJwk] }),
    clock: () => clock.now,
    config: async () => {
      reads.count += 1;
      return config;
    },
  });
  return { authenticate, clock, reads };
}

const bearer = (token: string) => `Bearer ${token}`;

/** The error `promise` rejects with (the test fails if it resolves). */
async function refusal(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('Expected a refusal, but the token was accepted');
  return outcome;
}

async function expectUnauthorized(authorization: string | undefined, message: RegExp): Promise<void> {
  const error = await refusal(authenticator().authenticate(authorization));
  expect(error).toBeInstanceOf(UnauthorizedError);
  expect((error as UnauthorizedError).status).toBe(401);
  expect(error.message).toMatch(message);
  // Says what is wrong, never what the token is.
  const token = authorization?.replace(/^Bearer\s+/i, '') ?? '';
  if (token.length > 8) {
    for (const part of token.split('.').filter((segment) => segment.length > 8)) {
      expect(error.message).not.toContain(part);
    }
  }
}

describe('a valid access token', () => {
  it('makes a manager of a manager of the configuration, with their teams', async () => {
    const viewer = await authenticator().authenticate(bearer(await sign()));
    expect(viewer).toEqual({
      userId: '7a1b2c3d-0000-4000-8000-000000000001',
      username: 'bob',
      role: 'manager',
      managerId: 'bob',
      memberOf: ['sales'],
      leads: [],
    });
  });

  it('makes a team lead of the teams the configuration says they lead', async () => {
    const token = await sign({ username: 'alice', 'cognito:groups': ['manager', 'team_lead'] });
    const viewer = await authenticator().authenticate(bearer(token));
    expect(viewer).toMatchObject({ role: 'team_lead', managerId: 'alice', leads: ['sales', 'enterprise'] });
  });

  it('makes an admin of the admin group, without being a manager', async () => {
    const token = await sign({ username: 'admin@example.com', 'cognito:groups': ['admin'] });
    const viewer = await authenticator().authenticate(bearer(token));
    expect(viewer).toMatchObject({ role: 'admin', username: 'admin@example.com', managerId: undefined });
  });

  it('accepts the groups as the bracketed string API Gateway passes on', async () => {
    const token = await sign({ username: 'somchai', 'cognito:groups': '[manager team_lead]' });
    const viewer = await authenticator().authenticate(bearer(token));
    expect(viewer).toMatchObject({ role: 'team_lead', managerId: 'somchai', leads: ['thai'] });
  });

  it('reads the user from cognito:username when there is no username claim', async () => {
    const token = await sign({ username: undefined, 'cognito:username': 'carol' });
    expect(await authenticator().authenticate(bearer(token))).toMatchObject({ managerId: 'carol' });
  });

  it('finds a manager signed in by email address, in any case', async () => {
    const token = await sign({ username: 'Dave@Example.com' });
    expect(await authenticator().authenticate(bearer(token))).toMatchObject({
      role: 'manager',
      managerId: 'dave',
    });
  });

  it('accepts a token that expired within the 5 s clock tolerance, and the scheme in any case', async () => {
    const token = await sign({ exp: nowSeconds - 4 });
    expect(await authenticator().authenticate(`bearer ${token}`)).toMatchObject({ managerId: 'bob' });
  });
});

describe('a refused token answers 401', () => {
  it('when there is no Authorization header', async () => {
    await expectUnauthorized(undefined, /Send an Authorization header/);
    await expectUnauthorized('', /Send an Authorization header/);
  });

  it('when the header is not Bearer <token>', async () => {
    const token = await sign();
    await expectUnauthorized(
      `Basic ${Buffer.from('bob:secret').toString('base64')}`,
      /not of the form Bearer/,
    );
    await expectUnauthorized('Bearer', /not of the form Bearer/);
    await expectUnauthorized(`Bearer ${token} ${token}`, /not of the form Bearer/);
    await expectUnauthorized(token, /not of the form Bearer/);
  });

  it('when the token is not a signed JWT', async () => {
    await expectUnauthorized('Bearer not-a-jwt', /not a well-formed signed JWT/);
    await expectUnauthorized('Bearer a.b.c', /not a well-formed signed JWT/);
  });

  it('when it has expired', async () => {
    await expectUnauthorized(bearer(await sign({ exp: nowSeconds - 6 })), /expired/);
  });

  it('when its payload was changed after signing', async () => {
    const [header, payload, signature] = (await sign()).split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, 'cognito:groups': ['admin'] })).toString(
      'base64url',
    );
    await expectUnauthorized(bearer(`${header}.${forged}.${signature}`), /signature does not verify/);
  });

  it('when another key signed it under the trusted key id', async () => {
    await expectUnauthorized(
      bearer(await sign({}, { key: foreign.privateKey })),
      /signature does not verify/,
    );
  });

  it('when another key signed it under a key id the issuer does not publish', async () => {
    const token = await sign({}, { key: foreign.privateKey, kid: 'key-2' });
    await expectUnauthorized(bearer(token), /key the issuer does not publish/);
  });

  it('when it is signed with a shared secret instead of RS256', async () => {
    const token = await sign({}, { key: new TextEncoder().encode('x'.repeat(32)), alg: 'HS256' });
    await expectUnauthorized(bearer(token), /not signed with RS256/);
  });

  it('when another issuer issued it', async () => {
    await expectUnauthorized(bearer(await sign({ iss: 'https://issuer.example.com' })), /another issuer/);
  });

  it('when it was issued to another app client', async () => {
    await expectUnauthorized(bearer(await sign({ client_id: 'someone-else' })), /another app client/);
  });

  it('when it is an ID token', async () => {
    const token = await sign({ token_use: 'id', client_id: undefined, aud: CLIENT_ID });
    await expectUnauthorized(bearer(token), /ID token/);
  });

  it('when it says nothing of its use, or lacks exp, sub or a username', async () => {
    await expectUnauthorized(bearer(await sign({ token_use: undefined })), /not an access token/);
    await expectUnauthorized(bearer(await sign({ exp: undefined })), /no exp claim/);
    await expectUnauthorized(bearer(await sign({ sub: undefined })), /no sub claim/);
    await expectUnauthorized(bearer(await sign({ username: undefined })), /names no user/);
  });
});

describe('a valid token without a role answers 403', () => {
  it.each([
    ['a user who is no manager of any team', { username: 'mallory', 'cognito:groups': ['manager'] }],
    ['a manager in no group', { username: 'bob', 'cognito:groups': undefined }],
    ['a manager in an unknown group only', { username: 'bob', 'cognito:groups': ['support'] }],
  ])('%s', async (_, claims) => {
    const error = await refusal(authenticator().authenticate(bearer(await sign(claims))));
    expect(error).toBeInstanceOf(RoleForbiddenError);
    expect((error as RoleForbiddenError).status).toBe(403);
  });
});

describe('the viewer cache', () => {
  it('reads the configuration once per token, then again after 60 s', async () => {
    const { authenticate, clock, reads } = authenticator();
    const token = bearer(await sign());
    await Promise.all([authenticate(token), authenticate(token), authenticate(token)]);
    await authenticate(token);
    expect(reads.count).toBe(1);
    clock.now = new Date(NOW.getTime() + 59_000);
    await authenticate(token);
    expect(reads.count).toBe(1);
    clock.now = new Date(NOW.getTime() + 61_000);
    await authenticate(token);
    expect(reads.count).toBe(2);
    // Another token is another entry.
    await authenticate(bearer(await sign({ username: 'alice' })));
    expect(reads.count).toBe(3);
  });

  it('never outlives the token: an expired token is refused even though its viewer was cached', async () => {
    const { authenticate, clock } = authenticator();
    const token = bearer(await sign({ exp: nowSeconds + 10 }));
    expect(await authenticate(token)).toMatchObject({ managerId: 'bob' });
    clock.now = new Date(NOW.getTime() + 16_000);
    expect(await refusal(authenticate(token))).toBeInstanceOf(UnauthorizedError);
  });

  it('keeps no refusal: a token refused for its role is looked up again next time', async () => {
    const { authenticate, reads } = authenticator();
    const token = bearer(await sign({ username: 'mallory' }));
    await refusal(authenticate(token));
    await refusal(authenticate(token));
    expect(reads.count).toBe(2);
  });
});

describe('groupsOf', () => {
  it('reads a JSON array, the bracketed string form, and a bare list', () => {
    expect(groupsOf(['admin', 'manager'])).toEqual(['admin', 'manager']);
    expect(groupsOf('[admin manager]')).toEqual(['admin', 'manager']);
    expect(groupsOf('[manager]')).toEqual(['manager']);
    expect(groupsOf('[]')).toEqual([]);
    expect(groupsOf('team_lead manager')).toEqual(['team_lead', 'manager']);
    expect(groupsOf(undefined)).toEqual([]);
    expect(groupsOf(42)).toEqual([]);
  });
});

describe('the local issuer, through the remote JWKS path Cognito tokens take', () => {
  let dir: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leadflow-issuer-test-'));
    // The port is needed before the app (it is in the issuer URL), so listen first and route after.
    const apps: { fetch?: (request: Request) => Response | Promise<Response> } = {};
    server = await new Promise<Server>((resolve) => {
      const started = serve(
        { fetch: (request) => apps.fetch?.(request) ?? new Response('starting', { status: 503 }), port: 0 },
        () => resolve(started as Server),
      ) as Server;
    });
    port = (server.address() as AddressInfo).port;
    apps.fetch = localIssuerApp({ issuer: localIssuerUrl(port), dir }).fetch;
  });

  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  });

  const remote = (jwksUrl = localJwksUrl(localIssuerUrl(port))) =>
    createAuthenticator({
      issuer: localIssuerUrl(port),
      jwksUrl,
      clientId: LOCAL_CLIENT_ID,
      config: async () => demoConfig(),
    });

  it('publishes its key and a discovery document', async () => {
    const jwks = (await (await fetch(localJwksUrl(localIssuerUrl(port)))).json()) as { keys: JWK[] };
    expect(jwks.keys).toEqual([
      expect.objectContaining({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) }),
    ]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const discovery = await (await fetch(`${localIssuerUrl(port)}/.well-known/openid-configuration`)).json();
    expect(discovery).toMatchObject({
      issuer: localIssuerUrl(port),
      jwks_uri: localJwksUrl(localIssuerUrl(port)),
    });
  });

  it('signs Cognito-shaped access tokens that the authenticator accepts', async () => {
    const alice = findLocalUser(demoConfig(), 'ALICE@example.com');
    expect(alice).toEqual({
      username: 'alice',
      email: 'alice@example.com',
      groups: ['manager', 'team_lead'],
    });
    const token = await signLocalToken({
      username: 'alice',
      groups: alice?.groups ?? [],
      expiresInSeconds: 900,
      issuer: localIssuerUrl(port),
      dir,
    });
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(payload).toMatchObject({
      sub: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: 'alice',
      'cognito:groups': ['manager', 'team_lead'],
      token_use: 'access',
      client_id: LOCAL_CLIENT_ID,
      scope: expect.any(String),
      jti: expect.any(String),
    });
    expect(payload.exp - payload.iat).toBe(900);
    expect(payload).not.toHaveProperty('aud');
    expect(await remote()(bearer(token))).toMatchObject({ role: 'team_lead', managerId: 'alice' });
  });

  it('seeds every demo manager and the admin', () => {
    expect(localUsers(demoConfig()).map((user) => [user.username, user.groups.join('+')])).toEqual([
      ['alice', 'manager+team_lead'],
      ['bob', 'manager'],
      ['somchai', 'manager+team_lead'],
      ['nok', 'manager'],
      ['carol', 'manager'],
      ['dave', 'manager'],
      ['admin@example.com', 'admin'],
    ]);
  });

  it('answers 503, not 401, when the signing keys cannot be fetched', async () => {
    const token = await signLocalToken({
      username: 'bob',
      groups: ['manager'],
      expiresInSeconds: 60,
      issuer: localIssuerUrl(port),
      dir,
    });
    const error = await refusal(
      remote('http://127.0.0.1:9/local-issuer/.well-known/jwks.json')(bearer(token)),
    );
    expect(error).toBeInstanceOf(ServiceUnavailableError);
  });
});
