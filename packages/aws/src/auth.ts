import { createHash } from 'node:crypto';
import {
  type LeadflowConfig,
  RoleForbiddenError,
  ServiceUnavailableError,
  UnauthorizedError,
  type Viewer,
  viewerFromClaims,
} from '@leadflow/core';
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';

export interface AuthenticatorOptions {
  /** The `iss` every accepted token carries: a Cognito user pool's URL, or the local issuer's. */
  readonly issuer: string;
  /** Where the issuer publishes its signing keys (`{issuer}/.well-known/jwks.json`). */
  readonly jwksUrl: string;
  /** The app client whose access tokens are accepted (Cognito access tokens carry `client_id`, no `aud`). */
  readonly clientId: string;
  /** The runtime configuration the user is looked up in (teams, managers, who leads which team). */
  readonly config: () => Promise<LeadflowConfig>;
  readonly clock?: () => Date;
  /** The signing keys; default: fetched from `jwksUrl` and cached (tests pass `createLocalJWKSet`). */
  readonly keys?: JWTVerifyGetKey;
  /** The longest a token's viewer is reused before the configuration is read again (default 60 s). */
  readonly cacheSeconds?: number;
}

/** Turns a request's `Authorization` header into the viewer it stands for, or throws 401/403. */
export type Authenticator = (authorization: string | undefined) => Promise<Viewer>;

/** Clock skew accepted on `exp`, `nbf` and `iat` between the issuer and this function. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** Viewers cached at once; beyond this, expired entries go first, then the oldest. */
const CACHE_LIMIT = 1000;

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;

/**
 * The bearer-token check of the managers' API, the same on AWS and locally: an RS256 access token from
 * `issuer` for `clientId`, not expired, whose user is an admin or a configured manager. Groups come from
 * `cognito:groups`, as a JSON array (the token itself) or the bracketed `"[a b]"` string API Gateway hands
 * a Lambda. The viewer is cached per token (by its hash) until the token expires, at most `cacheSeconds`,
 * so the configuration is read once per token, not once per request. Messages say what is wrong with the
 * token, never what it contains.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const clock = options.clock ?? (() => new Date());
  const keys = options.keys ?? createRemoteJWKSet(new URL(options.jwksUrl));
  const cacheMs = (options.cacheSeconds ?? 60) * 1000;
  const cache = new Map<string, { viewer: Viewer; until: number }>();
  const pending = new Map<string, Promise<Viewer>>();

  const remember = (key: string, viewer: Viewer, expiresAtMs: number) => {
    const now = clock().getTime();
    if (cache.size >= CACHE_LIMIT) {
      for (const [k, entry] of cache) if (entry.until <= now) cache.delete(k);
      // Still full: drop the oldest (a Map iterates in insertion order).
      for (const k of cache.keys()) {
        if (cache.size < CACHE_LIMIT) break;
        cache.delete(k);
      }
    }
    cache.set(key, { viewer, until: Math.min(expiresAtMs, now + cacheMs) });
  };

  const resolve = async (token: string, key: string): Promise<Viewer> => {
    const payload = await verify(token, keys, options, clock());
    const claims = accessTokenClaims(payload, options.clientId);
    const result = viewerFromClaims(claims, await options.config());
    if (!result.ok) throw new RoleForbiddenError(`This user has no role in leadflow: ${result.reason}`);
    remember(key, result.viewer, (payload.exp ?? 0) * 1000);
    return result.viewer;
  };

  return async (authorization) => {
    const token = bearerToken(authorization);
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = cache.get(key);
    if (cached) {
      if (clock().getTime() < cached.until) return cached.viewer;
      cache.delete(key);
    }
    // Concurrent requests with one token share one verification and one configuration read.
    let inFlight = pending.get(key);
    if (!inFlight) {
      inFlight = resolve(token, key).finally(() => pending.delete(key));
      pending.set(key, inFlight);
    }
    return inFlight;
  };
}

function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === '') {
    throw new UnauthorizedError('Send an Authorization header: Bearer <access token>.');
  }
  const match = BEARER.exec(authorization.trim());
  if (!match?.[1]) throw new UnauthorizedError('The Authorization header is not of the form Bearer <token>.');
  return match[1];
}

async function verify(
  token: string,
  keys: JWTVerifyGetKey,
  options: AuthenticatorOptions,
  now: Date,
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: options.issuer,
      algorithms: ['RS256'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
      requiredClaims: ['exp', 'sub'],
    });
    return payload;
  } catch (error) {
    throw unauthorized(error);
  }
}

/** Why jose refused a token, in words that name the problem and nothing of the token's content. */
function unauthorized(error: unknown): Error {
  if (error instanceof errors.JWTExpired) return new UnauthorizedError('The token has expired.');
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new UnauthorizedError(
      'The token signature does not verify: it was altered or signed by another key.',
    );
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new UnauthorizedError('The token is signed by a key the issuer does not publish.');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new UnauthorizedError('The token is not signed with RS256.');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new UnauthorizedError('The token was issued by another issuer.');
    if (error.reason === 'missing') return new UnauthorizedError(`The token has no ${error.claim} claim.`);
    if (error.claim === 'nbf') return new UnauthorizedError('The token is not valid yet.');
    return new UnauthorizedError(`The token's ${error.claim} claim is invalid.`);
  }
  // The issuer's keys could not be read: not the caller's fault, and a retry may succeed.
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError)
  ) {
    return new ServiceUnavailableError(
      "The token issuer's signing keys could not be read; retry shortly.",
      'auth_unavailable',
    );
  }
  return new UnauthorizedError('The bearer token is not a well-formed signed JWT.');
}

/** The claims of a verified Cognito-shaped access token for `clientId`. */
function accessTokenClaims(payload: JWTPayload, clientId: string) {
  if (payload.token_use === 'id') {
    throw new UnauthorizedError('This is an ID token; send the access token instead.');
  }
  if (payload.token_use !== 'access') throw new UnauthorizedError('The token is not an access token.');
  if (payload.client_id !== clientId)
    throw new UnauthorizedError('The token was issued to another app client.');
  const username = [payload.username, payload['cognito:username']].find(
    (value): value is string => typeof value === 'string' && value.trim() !== '',
  );
  if (!username) throw new UnauthorizedError('The token names no user.');
  return { sub: payload.sub ?? username, username, groups: groupsOf(payload['cognito:groups']) };
}

/**
 * `cognito:groups` as a list: a JSON array in the token, or `"[admin manager]"` as API Gateway's JWT
 * authorizer passes array claims on.
 */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((group): group is string => typeof group === 'string');
  if (typeof claim !== 'string') return [];
  return claim
    .trim()
    .replace(/^\[(.*)\]$/s, '$1')
    .split(/[\s,]+/)
    .filter((group) => group !== '');
}
