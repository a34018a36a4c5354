import { z } from 'zod';
import { env } from './resources';

type EnvKey = keyof typeof env;

const schemas = {
  tableName: z.string().min(3),
  leadsQueueUrl: z.url(),
  notificationsQueueUrl: z.url(),
  sesFromAddress: z.string().min(3),
  sesConfigurationSet: z.string().optional(),
  leadLinkBaseUrl: z.url(),
  publicBaseUrl: z.url().optional(),
  // S3 bucket naming rules: 3-63 lowercase letters, digits, dots and dashes.
  rawMailBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
  rawMailPrefix: z.string().max(1024).default(''),
  rateLimitPerClient: z.coerce.number().int().nonnegative().default(60),
  trustedProxyHeaders: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .filter((name) => name !== ''),
    )
    .pipe(z.array(z.enum(['x-forwarded-host', 'x-forwarded-proto']))),
  captchaVerifyUrl: z.url().optional(),
  configCacheSeconds: z.coerce.number().int().nonnegative().max(300).default(10),
  authIssuer: z.url(),
  authJwksUrl: z.url(),
  authClientId: z.string().min(1),
  authDomainUrl: z.url({ protocol: /^https?$/ }).optional(),
  rawPayloadRetentionDays: z.coerce.number().int().min(1).max(3650).default(30),
  timersQueueUrl: z.url(),
  deliveriesQueueUrl: z.url(),
  slaTimeScale: z.coerce.number().positive().max(1).default(1),
  sesFollowUpFromAddress: z.string().min(3).optional(),
  linkSecretArn: z.string().min(20).optional(),
  linkSecret: z.string().min(32).optional(),
} satisfies Record<EnvKey, z.ZodType>;

type EnvOf<K extends EnvKey> = { [P in K]: z.infer<(typeof schemas)[P]> };

/**
 * Reads and validates the named settings from the environment once, at init, and fails fast
 * with the variable's name: a misconfigured function should not get as far as a lead.
 */
export function readEnv<K extends EnvKey>(
  keys: readonly K[],
  source: NodeJS.ProcessEnv = process.env,
): EnvOf<K> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const name = env[key];
    const raw = source[name];
    const parsed = schemas[key].safeParse(raw === '' ? undefined : raw);
    if (parsed.success) values[key] = parsed.data;
    else problems.push(`${name} ${raw === undefined ? 'is not set' : 'is invalid'}`);
  }
  if (problems.length > 0) throw new Error(`Configuration error: ${problems.join('; ')}`);
  return values as EnvOf<K>;
}
