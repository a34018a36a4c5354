import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';

/** Provider secrets the webhook routes verify requests with. Any may be absent: that channel is off. */
export const channelSecretsSchema = z.object({
  /** Twilio auth token: the HMAC-SHA1 key of X-Twilio-Signature. */
  twilioAuthToken: z.string().min(1).optional(),
  /** Meta app secret: the HMAC-SHA256 key of X-Hub-Signature-256. */
  metaAppSecret: z.string().min(1).optional(),
  /** The token Meta echoes in the hub.challenge verification. */
  metaVerifyToken: z.string().min(1).optional(),
  /** Telegram setWebhook secret_token, echoed in X-Telegram-Bot-Api-Secret-Token. */
  telegramSecretToken: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, 'Telegram allows 1-256 of A-Z a-z 0-9 _ -')
    .optional(),
  /** HMAC-SHA256 keys of the generic webhook, by source id. */
  generic: z.record(z.string(), z.string().min(16)).default({}),
  /** Per form: the keys a site's backend sends in X-Leadflow-Form-Key (several during rotation), the CAPTCHA secret. */
  forms: z
    .record(
      z.string(),
      z.object({
        keys: z.array(z.string().min(24, 'a form key needs at least 24 characters')).default([]),
        captchaSecret: z.string().min(1).optional(),
      }),
    )
    .optional(),
});
export type ChannelSecrets = z.infer<typeof channelSecretsSchema>;

/** Environment variables that carry the secrets locally (and on AWS, if no secret ARN is set). */
export const secretEnv = {
  twilioAuthToken: 'TWILIO_AUTH_TOKEN',
  metaAppSecret: 'META_APP_SECRET',
  metaVerifyToken: 'META_VERIFY_TOKEN',
  telegramSecretToken: 'TELEGRAM_SECRET_TOKEN',
  /** JSON object: `{"callcenter":"<secret>"}`. */
  generic: 'GENERIC_WEBHOOK_SECRETS',
  /** JSON object: `{"demo-backend":{"keys":["<form key>"]},"demo-captcha":{"captchaSecret":"…"}}`. */
  forms: 'FORM_SECRETS',
  /** On AWS: a Secrets Manager secret whose JSON has the keys of ChannelSecrets. */
  secretArn: 'CHANNEL_SECRETS_ARN',
} as const;

/**
 * Loads the channel secrets once, at init: from the Secrets Manager secret named by
 * CHANNEL_SECRETS_ARN when set (AWS), else from environment variables (local). Fails fast, naming
 * the variable or key that is wrong.
 */
export async function loadChannelSecrets(
  source: NodeJS.ProcessEnv = process.env,
  client: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): Promise<ChannelSecrets> {
  let raw: unknown;
  const arn = source[secretEnv.secretArn];
  if (arn) {
    const secrets = client();
    try {
      const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
      // An empty string means "not set", as for environment variables: a template can list every key.
      raw = Object.fromEntries(
        Object.entries(JSON.parse(SecretString ?? '{}') as Record<string, unknown>).filter(
          ([, value]) => value !== '',
        ),
      );
    } finally {
      secrets.destroy();
    }
  } else {
    const json = (name: string): unknown => {
      const text = source[name];
      if (!text) return {};
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`Configuration error: ${name} is not valid JSON`);
      }
    };
    raw = {
      twilioAuthToken: source[secretEnv.twilioAuthToken] || undefined,
      metaAppSecret: source[secretEnv.metaAppSecret] || undefined,
      metaVerifyToken: source[secretEnv.metaVerifyToken] || undefined,
      telegramSecretToken: source[secretEnv.telegramSecretToken] || undefined,
      generic: json(secretEnv.generic),
      forms: json(secretEnv.forms),
    };
  }
  const parsed = channelSecretsSchema.safeParse(raw);
  if (!parsed.success) {
    const where = arn ? `secret ${secretEnv.secretArn}` : 'environment';
    throw new Error(`Configuration error in ${where}: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
