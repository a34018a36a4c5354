import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../config';
import { createAuthenticator } from '../../packages/aws/src/auth';
import { person, startTestSystem, type TestSystem } from '../support/system';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

/** `npx tsx local/token.ts …` against the test system's issuer: its stdout, stderr and exit code. */
async function tokenCommand(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const port = new URL(system.urls.api).port;
  try {
    const { stdout, stderr } = await run(
      'npx',
      ['tsx', 'local/token.ts', ...args, '--port', port, '--dir', system.issuer.dir],
      { cwd: repoRoot, timeout: 30_000 },
    );
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

const me = (authorization?: string) =>
  fetch(`${system.urls.api}/v1/me`, authorization ? { headers: { authorization } } : {});

describe('the local issuer', () => {
  it('publishes its signing key and discovery document on the API port', async () => {
    const response = await fetch(`${system.urls.api}/local-issuer/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
    expect(keys[0]).not.toHaveProperty('d');
    expect(system.issuer.jwksUrl).toBe(`${system.issuer.url}/.well-known/jwks.json`);

    const discovery = await (
      await fetch(`${system.urls.api}/local-issuer/.well-known/openid-configuration`)
    ).json();
    expect(discovery).toMatchObject({ issuer: system.issuer.url, jwks_uri: system.issuer.jwksUrl });
  });

  it('hands the api function its issuer, JWKS and client id', () => {
    expect(system.env).toMatchObject({
      AUTH_ISSUER: system.issuer.url,
      AUTH_JWKS_URL: system.issuer.jwksUrl,
      AUTH_CLIENT_ID: 'leadflow-local',
    });
    expect(system.issuer.url).toBe(`http://localhost:${new URL(system.urls.api).port}/local-issuer`);
  });
});

describe('npm run -s token', () => {
  it('prints only a token, which the authenticator accepts through the running JWKS endpoint', async () => {
    const { stdout, code } = await tokenCommand('alice@example.com', '--expires-in', '15m');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ iss: system.issuer.url, username: 'alice', token_use: 'access' });
    expect(claims.exp - claims.iat).toBe(15 * 60);

    // The api function's own check, over HTTP against the system's issuer, as on AWS against Cognito.
    const authenticate = createAuthenticator({
      issuer: system.issuer.url,
      jwksUrl: system.issuer.jwksUrl,
      clientId: system.issuer.clientId,
      config: async () => config,
    });
    expect(await authenticate(`Bearer ${token}`)).toMatchObject({
      role: 'team_lead',
      managerId: 'alice',
      leads: ['sales', 'enterprise'],
    });
  });

  it('refuses an unknown user with the list of seeded users and exit code 2', async () => {
    const { stdout, stderr, code } = await tokenCommand('mallory');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    for (const user of ['alice', 'bob', 'somchai', 'nok', 'carol', 'dave', 'admin@example.com']) {
      expect(stderr).toContain(user);
    }
  });

  it('refuses a malformed --expires-in with exit code 2', async () => {
    const { stdout, code } = await tokenCommand('bob', '--expires-in', 'soon');
    expect(code).toBe(2);
    expect(stdout).toBe('');
  });
});

describe('the managers API behind the token', () => {
  it('answers a command-line token, and refuses none, an expired or a foreign-key token with 401', async () => {
    const { stdout } = await tokenCommand('admin@example.com');
    const ok = await me(`Bearer ${stdout.trim()}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ role: 'admin', username: 'admin@example.com' });

    const missing = await me();
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const expired = await me(`Bearer ${await system.token('bob', { expiresInSeconds: -60 })}`);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({
      error: 'unauthorized',
      message: expect.stringMatching(/expired/),
    });

    const { privateKey } = await generateKeyPair('RS256');
    const [header] = (await system.token('bob')).split('.');
    const kid = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')).kid as string;
    const foreign = await new SignJWT({
      username: 'bob',
      'cognito:groups': ['admin'],
      token_use: 'access',
      client_id: system.issuer.clientId,
    })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(system.issuer.url)
      .setSubject('bob')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await me(`Bearer ${foreign}`)).status).toBe(401);
  });

  it('answers 403 to a valid token of a user with no role', async () => {
    const response = await me(`Bearer ${await system.token('mallory', { groups: ['manager'] })}`);
    expect(response.status).toBe(403);
  });

  it('leaves the public form route to ingest, without a token', async () => {
    const lead = person('auth');
    const response = await system.post('/v1/forms/demo-contact', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: lead.name, email: lead.email, consent: 'on' }),
    });
    expect(response.status).toBe(202);
  });
});
