import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';

const present = z.string().min(1);
const telegramSecretToken = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,256}$/, 'Telegram allows 1-256 of A-Z a-z 0-9 _ -');
const genericSecret = z.string().min(16, 'a generic webhook secret needs at least 16 characters');
const formSecret = z.object({
  keys: z.array(z.string().min(24, 'a form key needs at least 24 characters')).default([]),
  captchaSecret: z.string().min(1, 'a CAPTCHA secret cannot be empty').optional(),
});
/** A chat webhook URL is a bearer credential: anyone holding it posts to the channel. */
const chatWebhook = z.object({ webhookUrl: z.url({ protocol: /^https?$/ }) });
const teamIntegrations = z.object({ slack: chatWebhook.optional(), teams: chatWebhook.optional() });

/** Provider secrets the webhook routes verify requests with. Any may be absent: that channel is off. */
export const channelSecretsSchema = z.object({
  /** Twilio auth token: the HMAC-SHA1 key of X-Twilio-Signature. */
  twilioAuthToken: present.optional(),
  /** Meta app secret: the HMAC-SHA256 key of X-Hub-Signature-256. */
  metaAppSecret: present.optional(),
  /** The token Meta echoes in the hub.challenge verification. */
  metaVerifyToken: present.optional(),
  /** Telegram setWebhook secret_token, echoed in X-Telegram-Bot-Api-Secret-Token. */
  telegramSecretToken: telegramSecretToken.optional(),
  /** HMAC-SHA256 keys of the generic webhook, by source id. */
  generic: z.record(z.string(), genericSecret).default({}),
  /** Per form: the keys a site's backend sends in X-Leadflow-Form-Key (several during rotation), the CAPTCHA secret. */
  forms: z.record(z.string(), formSecret).optional(),
  /** Per team: its Slack incoming webhook and Microsoft Teams Workflows webhook (`{"sales":{"slack":{"webhookUrl":…}}}`). */
  integrations: z.record(z.string(), teamIntegrations).optional(),
});

/**
 * A unit whose secret can be disabled on its own: a provider, one generic source (`generic/callcenter`)
 * or one form's key and CAPTCHA secret (`forms/demo-backend`).
 */
export type SecretChannel =
  | 'twilio'
  | 'meta'
  | 'telegram'
  | `generic/${string}`
  | `forms/${string}`
  | `integrations/${string}`;

export type ChannelSecrets = z.infer<typeof channelSecretsSchema> & {
  /**
   * What was left out at init because it is malformed, and why (never the value): keyed by SecretChannel,
   * or `generic` / `forms` when the whole map was unreadable. Read it with `secretProblem`.
   */
  readonly disabled?: Readonly<Record<string, string>>;
};

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
  /** JSON object: `{"sales":{"slack":{"webhookUrl":"https://hooks.slack.com/…"},"teams":{"webhookUrl":"…"}}}`. */
  integrations: 'INTEGRATION_SECRETS',
  /** On AWS: a Secrets Manager secret whose JSON has the keys of ChannelSecrets. */
  secretArn: 'CHANNEL_SECRETS_ARN',
} as const;

/** Why `channel`'s secret was left out at init, if it was malformed; undefined when usable or simply unset. */
export function secretProblem(
  secrets: ChannelSecrets | undefined,
  channel: SecretChannel,
): string | undefined {
  const disabled = secrets?.disabled;
  if (!disabled) return undefined;
  const family = channel.split('/')[0] ?? channel;
  return disabled[channel] ?? (family !== channel ? disabled[family] : undefined);
}

/** One input value and the name an operator knows it by (an env variable, or a key of the secret). */
interface Entry {
  readonly value: unknown;
  readonly label: string;
}

/** What a source offers, before validation; `unreadable` says why a JSON value could not be read. */
type RawSecrets = Record<
  | 'twilioAuthToken'
  | 'metaAppSecret'
  | 'metaVerifyToken'
  | 'telegramSecretToken'
  | 'generic'
  | 'forms'
  | 'integrations',
  Entry & { readonly unreadable?: string }
>;

/**
 * Loads the channel secrets once, at init: from the Secrets Manager secret named by
 * CHANNEL_SECRETS_ARN when set (AWS), else from environment variables (local). Each channel is checked
 * on its own: a malformed secret is left out and named in `disabled` (that channel answers 503, the
 * others keep working). Only a failure to read the Secrets Manager secret at all throws.
 */
export async function loadChannelSecrets(
  source: NodeJS.ProcessEnv = process.env,
  client: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): Promise<ChannelSecrets> {
  const arn = source[secretEnv.secretArn];
  return validate(arn ? await fromSecret(arn, client) : fromEnv(source));
}

async function fromSecret(arn: string, client: () => SecretsManagerClient): Promise<RawSecrets> {
  const secrets = client();
  let text: string | undefined;
  try {
    ({ SecretString: text } = await secrets.send(new GetSecretValueCommand({ SecretId: arn })));
  } finally {
    secrets.destroy();
  }
  let json: unknown;
  let unreadable: string | undefined;
  try {
    json = JSON.parse(text ?? '{}');
  } catch {
    // The parser's message quotes the text, which is the secret: say only what is wrong.
    unreadable = `the secret ${secretEnv.secretArn} is not valid JSON`;
  }
  if (unreadable === undefined && !isObject(json)) {
    unreadable = `the secret ${secretEnv.secretArn} is not a JSON object`;
  }
  const object = isObject(json) ? json : {};
  const entry = (key: keyof RawSecrets): RawSecrets[keyof RawSecrets] => ({
    // An empty string means "not set", as for environment variables: a template can list every key.
    value: object[key] === '' ? undefined : object[key],
    label: `${secretEnv.secretArn} key ${key}`,
    ...(unreadable === undefined ? {} : { unreadable }),
  });
  return {
    twilioAuthToken: entry('twilioAuthToken'),
    metaAppSecret: entry('metaAppSecret'),
    metaVerifyToken: entry('metaVerifyToken'),
    telegramSecretToken: entry('telegramSecretToken'),
    generic: entry('generic'),
    forms: entry('forms'),
    integrations: entry('integrations'),
  };
}

function fromEnv(source: NodeJS.ProcessEnv): RawSecrets {
  const text = (key: keyof typeof secretEnv): Entry => ({
    value: source[secretEnv[key]] || undefined,
    label: secretEnv[key],
  });
  const json = (key: 'generic' | 'forms' | 'integrations'): RawSecrets['generic'] => {
    const name = secretEnv[key];
    const value = source[name];
    if (!value) return { value: undefined, label: name };
    try {
      return { value: JSON.parse(value), label: name };
    } catch {
      return { value: undefined, label: name, unreadable: `${name} is not valid JSON` };
    }
  };
  return {
    twilioAuthToken: text('twilioAuthToken'),
    metaAppSecret: text('metaAppSecret'),
    metaVerifyToken: text('metaVerifyToken'),
    telegramSecretToken: text('telegramSecretToken'),
    generic: json('generic'),
    forms: json('forms'),
    integrations: json('integrations'),
  };
}

/** Checks each channel on its own; what fails is left out and recorded in `disabled`. */
function validate(raw: RawSecrets): ChannelSecrets {
  const disabled: Record<string, string> = {};
  const single = <T>(channel: SecretChannel, entry: RawSecrets[keyof RawSecrets], schema: z.ZodType<T>) => {
    if (entry.unreadable !== undefined) {
      disabled[channel] ??= entry.unreadable;
      return undefined;
    }
    if (entry.value === undefined) return undefined;
    const parsed = schema.safeParse(entry.value);
    if (parsed.success) return parsed.data;
    disabled[channel] ??= problem(entry.label, parsed.error);
    return undefined;
  };
  const twilioAuthToken = single('twilio', raw.twilioAuthToken, present);
  const metaAppSecret = single('meta', raw.metaAppSecret, present);
  const metaVerifyToken = single('meta', raw.metaVerifyToken, present);
  const telegram = single('telegram', raw.telegramSecretToken, telegramSecretToken);

  /** A map by source or form id: an unreadable map disables the family, a bad entry only itself. */
  const byId = <T>(
    family: 'generic' | 'forms' | 'integrations',
    schema: z.ZodType<T>,
  ): Record<string, T> | undefined => {
    const entry = raw[family];
    if (entry.unreadable !== undefined) {
      disabled[family] = entry.unreadable;
      return undefined;
    }
    if (entry.value === undefined) return undefined;
    if (!isObject(entry.value)) {
      disabled[family] =
        `${entry.label}: must be a JSON object by ${family === 'generic' ? 'source' : family === 'forms' ? 'form' : 'team'} id`;
      return undefined;
    }
    const kept: Record<string, T> = {};
    for (const [id, value] of Object.entries(entry.value)) {
      const parsed = schema.safeParse(value);
      if (parsed.success) kept[id] = parsed.data;
      else disabled[`${family}/${id}`] = problem(`${entry.label}.${id}`, parsed.error);
    }
    return kept;
  };
  const generic = byId('generic', genericSecret) ?? {};
  const forms = byId('forms', formSecret);
  const integrations = byId('integrations', teamIntegrations);

  // A channel with one bad secret is off as a whole, even if its other secret parsed.
  const usable = (channel: SecretChannel) => disabled[channel] === undefined;
  return {
    ...(twilioAuthToken !== undefined && usable('twilio') ? { twilioAuthToken } : {}),
    ...(metaAppSecret !== undefined && usable('meta') ? { metaAppSecret } : {}),
    ...(metaVerifyToken !== undefined && usable('meta') ? { metaVerifyToken } : {}),
    ...(telegram !== undefined && usable('telegram') ? { telegramSecretToken: telegram } : {}),
    generic,
    ...(forms !== undefined ? { forms } : {}),
    ...(integrations !== undefined ? { integrations } : {}),
    disabled,
  };
}

/** `LABEL.path: message` from zod's first issue: its messages describe the rule, never the value. */
function problem(label: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.length ? `.${issue.path.join('.')}` : '';
  return `${label}${path}: ${issue?.message ?? 'invalid'}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
