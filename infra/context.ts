import type { Node } from 'constructs';
import { z } from 'zod';

/** Every stack parameter lives in CDK context under this prefix (see cdk.json). */
export const CONTEXT_PREFIX = 'leadflow:';

const domain = z
  .hostname()
  .refine((value) => value.includes('.'), 'Expected a fully qualified domain such as example.com');

// `cdk -c key=value` passes strings, cdk.json passes JSON values: coerce so both work.
const requestsPerSecond = z.coerce.number().int().positive();

export const contextSchema = z
  .object({
    sesFromAddress: z.email(),
    sesIdentityDomain: domain,
    leadLinkBaseUrl: z.url({ protocol: /^https$/ }),
    throttleRateLimit: requestsPerSecond,
    throttleBurstLimit: requestsPerSecond,
    alarmEmail: z.union([z.literal(''), z.email()]).default(''),
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
