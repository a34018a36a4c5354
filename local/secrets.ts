/**
 * Provider secrets the local system uses when the variables are unset (documented in the README);
 * `npm start` gives them to the handlers and `npm run sign` signs with them.
 */
export const LOCAL_SECRET_DEFAULTS = {
  TWILIO_AUTH_TOKEN: 'local-twilio-auth-token',
  META_APP_SECRET: 'local-meta-app-secret',
  META_VERIFY_TOKEN: 'local-meta-verify-token',
  TELEGRAM_SECRET_TOKEN: 'local-telegram-secret-token',
  GENERIC_WEBHOOK_SECRETS: '{"callcenter":"local-generic-callcenter-secret"}',
  /** The `demo-backend` form's key, sent by a site's backend as X-Leadflow-Form-Key. */
  FORM_SECRETS: '{"demo-backend":{"keys":["local-demo-backend-form-key-0001"]}}',
  /** Signs the alert's action links (`/a/<token>`); on AWS a generated Secrets Manager secret (LINK_SECRET_ARN). */
  LINK_SECRET: 'local-link-secret-for-npm-start-only-0001',
} as const;

/** The local secrets: each variable from `env` when set, else its default. */
export function localSecrets(
  env: NodeJS.ProcessEnv = process.env,
): Record<keyof typeof LOCAL_SECRET_DEFAULTS, string> {
  return Object.fromEntries(
    Object.entries(LOCAL_SECRET_DEFAULTS).map(([name, fallback]) => [name, env[name] || fallback]),
  ) as Record<keyof typeof LOCAL_SECRET_DEFAULTS, string>;
}
