import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LeadflowConfig } from '@leadflow/core';
import { Hono } from 'hono';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

/**
 * The local stand-in for the Cognito user pool: one RSA key pair, a JWKS endpoint, and Cognito-shaped
 * access tokens for the seeded users. The managers' API verifies these tokens with the same code as
 * Cognito's (packages/aws/src/auth.ts), so only the issuer URL differs between a laptop and AWS.
 */

/** The app client id of local tokens (AUTH_CLIENT_ID of the local system). */
export const LOCAL_CLIENT_ID = 'leadflow-local';
/** The seeded administrator (not a manager of any team). */
export const LOCAL_ADMIN = 'admin@example.com';
/** Where `npm start` and `npm run token` keep the key pair, so they agree (gitignored). */
export const DEFAULT_ISSUER_DIR = fileURLToPath(new URL('../.local/issuer', import.meta.url));
/** The issuer sub-app's path prefix on the API's own port. */
export const ISSUER_PATH = '/local-issuer';
const KEY_FILE = 'signing-key.jwk.json';

/** `http://localhost:<port>/local-issuer`: the `iss` of local tokens. */
export function localIssuerUrl(port: number): string {
  return `http://localhost:${port}${ISSUER_PATH}`;
}

/** Where the local issuer publishes its keys (AUTH_JWKS_URL of the local system). */
export function localJwksUrl(issuer: string): string {
  return `${issuer}/.well-known/jwks.json`;
}

interface SigningKey {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  readonly kid: string;
}

const loaded = new Map<string, Promise<SigningKey>>();

/**
 * The key pair under `dir`, generated on first use. Written with `wx`, so when `npm start` and a token
 * command race on a fresh clone, one key wins and both read it.
 */
export function localSigningKey(dir = DEFAULT_ISSUER_DIR): Promise<SigningKey> {
  let key = loaded.get(dir);
  if (!key) {
    key = loadOrCreate(dir);
    loaded.set(dir, key);
    key.catch(() => loaded.delete(dir));
  }
  return key;
}

async function loadOrCreate(dir: string): Promise<SigningKey> {
  const file = join(dir, KEY_FILE);
  let privateJwk = readJwk(file);
  if (!privateJwk) {
    const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const generated = await exportJWK(privateKey);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, `${JSON.stringify(generated)}\n`, { flag: 'wx', mode: 0o600 });
      privateJwk = generated;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      privateJwk = readJwk(file);
      if (!privateJwk) throw new Error(`${file} is being written by another process; try again`);
    }
  }
  const { kty, n, e } = privateJwk;
  if (kty !== 'RSA' || !n || !e) throw new Error(`${file} is not an RSA private key (JWK)`);
  const kid = await calculateJwkThumbprint({ kty, n, e });
  return { privateJwk, publicJwk: { kty, n, e, kid, alg: 'RS256', use: 'sig' }, kid };
}

function readJwk(file: string): JWK | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // An empty file is another process between creating and writing it.
  return text.trim() === '' ? undefined : (JSON.parse(text) as JWK);
}

/** The JWKS and discovery document under `/local-issuer/.well-known/`, to mount on the API's server. */
export function localIssuerApp(options: { issuer: string; dir?: string | undefined }): Hono {
  const app = new Hono();
  app.get(`${ISSUER_PATH}/.well-known/jwks.json`, async (c) => {
    const { publicJwk } = await localSigningKey(options.dir);
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ keys: [publicJwk] });
  });
  app.get(`${ISSUER_PATH}/.well-known/openid-configuration`, (c) =>
    c.json({
      issuer: options.issuer,
      jwks_uri: localJwksUrl(options.issuer),
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['openid', 'email', 'profile'],
      claims_supported: ['sub', 'username', 'cognito:groups', 'token_use', 'client_id', 'scope'],
    }),
  );
  return app;
}

export interface LocalTokenOptions {
  /** A manager id, or `admin@example.com`. */
  readonly username: string;
  readonly groups: readonly string[];
  /** Seconds until `exp`; 0 or less makes a token that has already expired (for tests). */
  readonly expiresInSeconds: number;
  readonly issuer: string;
  readonly clientId?: string;
  /** The key pair's folder; default `<repo>/.local/issuer`. */
  readonly dir?: string | undefined;
  readonly now?: Date;
}

/**
 * A Cognito-shaped access token: `sub`, `username`, `cognito:groups`, `token_use: "access"`,
 * `client_id`, `scope`, `iat`, `exp`, `jti`, and the key's `kid` in the header (no `aud`, as Cognito's).
 */
export async function signLocalToken(options: LocalTokenOptions): Promise<string> {
  const { privateJwk, kid } = await localSigningKey(options.dir);
  const key = await importJWK(privateJwk, 'RS256');
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({
    username: options.username,
    'cognito:groups': [...options.groups],
    token_use: 'access',
    client_id: options.clientId ?? LOCAL_CLIENT_ID,
    scope: 'openid email profile',
    auth_time: iat,
  })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setSubject(localSubject(options.username))
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.expiresInSeconds)
    .setJti(randomUUID())
    .sign(key);
}

/** A stable UUID-shaped subject per username, as Cognito gives every user one. */
function localSubject(username: string): string {
  const hex = createHash('sha256').update(`leadflow-local:${username}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface LocalUser {
  readonly username: string;
  readonly email: string;
  readonly groups: readonly string[];
}

/**
 * The seeded users: every manager of the configured teams (username = manager id; `manager`, plus
 * `team_lead` when a team names them its `teamLead`) and `admin@example.com` (`admin`).
 */
export function localUsers(config: LeadflowConfig): LocalUser[] {
  const teams = [...config.teams.values()];
  const managers = [...config.managers.values()].map((manager) => ({
    username: manager.id,
    email: manager.email,
    groups: teams.some((team) => team.teamLead === manager.id) ? ['manager', 'team_lead'] : ['manager'],
  }));
  return [...managers, { username: LOCAL_ADMIN, email: LOCAL_ADMIN, groups: ['admin'] }];
}

/** The seeded user a name stands for: a manager id, a manager's email (any case), or the admin. */
export function findLocalUser(config: LeadflowConfig, name: string): LocalUser | undefined {
  const wanted = name.trim().toLowerCase();
  return localUsers(config).find(
    (user) => user.username.toLowerCase() === wanted || user.email.toLowerCase() === wanted,
  );
}
