import type { Node } from 'constructs';
import { z } from 'zod';

/** Every stack parameter lives in CDK context under this prefix (see cdk.json). */
export const CONTEXT_PREFIX = 'leadflow:';

const domain = z
  .hostname()
  .refine((value) => value.includes('.'), 'Expected a fully qualified domain such as example.com');

// `cdk -c key=value` passes strings, cdk.json passes JSON values: coerce so both work.
const requestsPerSecond = z.coerce.number().int().positive();

// An empty `-c key=` would coerce to 0, which here means "off": make it an error instead.
const requestsPerMinute = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  z.coerce.number().int().nonnegative(),
);

// An SES receipt rule recipient: an address, a domain (every address at it), or `.domain` (its subdomains).
const recipient = z
  .string()
  .trim()
  .refine(
    (value) => z.email().safeParse(value).success || domain.safeParse(value.replace(/^\./, '')).success,
    'Expected an email address, a domain such as example.com, or .example.com for its subdomains',
  );

/** `-c` passes `a@x.com,b@x.com` or a JSON list as text; cdk.json may hold a real list. */
function recipientList(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      return value;
    }
  }
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

// Cognito accepts https callback URLs, and http only for localhost.
const callbackUrl = z
  .url()
  .refine(
    (value) => value.startsWith('https://') || /^http:\/\/localhost(:\d+)?\//.test(value),
    'Expected an https URL (http is accepted for localhost only)',
  );

// Cognito's rules for a hosted domain prefix: lowercase letters, digits and hyphens, no reserved words.
const domainPrefix = z
  .string()
  .trim()
  .regex(/^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)?$/, 'Expected lowercase letters, digits and hyphens')
  .refine((value) => !/aws|amazon|cognito/.test(value), 'Must not contain aws, amazon or cognito');

/** Each route limit and the stage default it may not exceed. */
const ROUTE_LIMITS = [
  ['anonymousThrottleRateLimit', 'throttleRateLimit'],
  ['anonymousThrottleBurstLimit', 'throttleBurstLimit'],
  ['webhookThrottleRateLimit', 'throttleRateLimit'],
  ['webhookThrottleBurstLimit', 'throttleBurstLimit'],
] as const;

export const contextSchema = z
  .object({
    sesFromAddress: z.email(),
    sesIdentityDomain: domain,
    /**
     * The sender of follow-ups (subscription mail), another address than `sesFromAddress` as Gmail asks;
     * empty means `news@<sesIdentityDomain>`.
     */
    sesFollowUpFromAddress: z.union([z.literal(''), z.email()]).default(''),
    leadLinkBaseUrl: z.url({ protocol: /^https$/ }),
    /** The stage default: every route without its own limits below ($default: health, 404s). */
    throttleRateLimit: requestsPerSecond,
    throttleBurstLimit: requestsPerSecond,
    /** Form posts and chat messages (and their CORS preflights), each route on its own. */
    anonymousThrottleRateLimit: requestsPerSecond,
    anonymousThrottleBurstLimit: requestsPerSecond,
    /** Provider webhooks (Twilio, Meta, Telegram, generic), so a form flood cannot starve them. */
    webhookThrottleRateLimit: requestsPerSecond,
    webhookThrottleBurstLimit: requestsPerSecond,
    /** Default requests per minute per client address per form or chat widget; 0 turns the limit off. */
    rateLimitPerClient: requestsPerMinute,
    alarmEmail: z.union([z.literal(''), z.email()]).default(''),
    /** Who SES receives mail for (an SES rule takes at most 100); mail to them becomes email leads. */
    inboundRecipients: z.preprocess(recipientList, z.array(recipient).min(1).max(100)),
    /** The public base URL providers call (a custom domain); empty means the API's own URL. */
    publicBaseUrl: z.union([z.literal(''), z.url({ protocol: /^https$/ })]).default(''),
    /** Days raw provider payloads (stored submissions) are kept before DynamoDB's TTL removes them. */
    rawPayloadRetentionDays: z.coerce.number().int().min(1).max(3650).default(30),
    /**
     * Where the Cognito sign-in returns the code (the console's callback); empty means the API's own
     * `/console/callback` (under publicBaseUrl when set).
     */
    authCallbackUrls: z.preprocess((value) => recipientList(value ?? []), z.array(callbackUrl).max(100)),
    /** Prefix of the Cognito-hosted sign-in domain; empty creates none. */
    authDomainPrefix: domainPrefix.default(''),
  })
  .superRefine((context, issues) => {
    const fromDomain = context.sesFromAddress.split('@').at(-1)?.toLowerCase() ?? '';
    const identity = context.sesIdentityDomain.toLowerCase();
    // SES only sends from the verified domain or its subdomains; catching it here beats a runtime 400.
    if (fromDomain !== identity && !fromDomain.endsWith(`.${identity}`)) {
      issues.addIssue({
        code: 'custom',
        path: ['sesFromAddress'],
        message: `Must be an address at ${context.sesIdentityDomain} (the SES identity domain)`,
      });
    }
    const followUp = followUpFromAddressOf(context).toLowerCase();
    const followUpDomain = followUp.split('@').at(-1) ?? '';
    if (followUpDomain !== identity && !followUpDomain.endsWith(`.${identity}`)) {
      issues.addIssue({
        code: 'custom',
        path: ['sesFollowUpFromAddress'],
        message: `Must be an address at ${context.sesIdentityDomain} (the SES identity domain)`,
      });
    }
    if (followUp === context.sesFromAddress.toLowerCase()) {
      issues.addIssue({
        code: 'custom',
        path: ['sesFollowUpFromAddress'],
        message:
          'Must differ from sesFromAddress: follow-ups are subscription mail, sent from another address than the transactional mail',
      });
    }
    for (const [route, stage] of ROUTE_LIMITS) {
      if (context[route] > context[stage]) {
        issues.addIssue({
          code: 'custom',
          path: [route],
          message:
            `Must not exceed ${CONTEXT_PREFIX}${stage} (${context[stage]}), the stage default. API Gateway ` +
            "applies a route's own limit in place of the stage default, so the stage would not cap it: " +
            'lower this limit or raise the stage default.',
        });
      }
    }
  });

export type LeadflowContext = z.infer<typeof contextSchema>;

/** The follow-ups' sender: the one configured, else `news@<sesIdentityDomain>`. */
export function followUpFromAddressOf(context: {
  readonly sesFollowUpFromAddress: string;
  readonly sesIdentityDomain: string;
}): string {
  return context.sesFollowUpFromAddress || `news@${context.sesIdentityDomain}`;
}

/** Raw context values as they appear in cdk.json or `-c`, keyed without the prefix. */
export type RawContext = Partial<Record<keyof LeadflowContext, unknown>>;

/** Reads and validates the `leadflow:*` context, throwing an error that names each bad parameter. */
export function readContext(node: Node): LeadflowContext {
  const raw = Object.fromEntries(
    Object.keys(contextSchema.shape).map((key) => [key, node.tryGetContext(`${CONTEXT_PREFIX}${key}`)]),
  );
  const result = contextSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `  ${CONTEXT_PREFIX}${issue.path.join('.')}: ${issue.message}`,
  );
  throw new Error(`Invalid CDK context:\n${problems.join('\n')}`);
}
