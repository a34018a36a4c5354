import type { Node } from 'constructs';
import { z } from 'zod';

/** Every stack parameter lives in CDK context under this prefix (see cdk.json). */
export const CONTEXT_PREFIX = 'leadflow:';

const domain = z
  .hostname()
  .refine((value) => value.includes('.'), 'Expected a fully qualified domain such as example.com');

// `cdk -c key=value` passes strings, cdk.json passes JSON values: coerce so both work.
const requestsPerSecond = z.coerce.number().int().positive();

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

export const contextSchema = z
  .object({
    sesFromAddress: z.email(),
    sesIdentityDomain: domain,
    leadLinkBaseUrl: z.url({ protocol: /^https$/ }),
    throttleRateLimit: requestsPerSecond,
    throttleBurstLimit: requestsPerSecond,
    alarmEmail: z.union([z.literal(''), z.email()]).default(''),
    /** Who SES receives mail for (an SES rule takes at most 100); mail to them becomes email leads. */
    inboundRecipients: z.preprocess(recipientList, z.array(recipient).min(1).max(100)),
    /** The public base URL providers call (a custom domain); empty means the API's own URL. */
    publicBaseUrl: z.union([z.literal(''), z.url({ protocol: /^https$/ })]).default(''),
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
  });

export type LeadflowContext = z.infer<typeof contextSchema>;

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
