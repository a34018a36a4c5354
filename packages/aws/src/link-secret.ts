import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ACTION_LINK_MIN_KEY_LENGTH } from '@leadflow/core';
import { env } from './resources';

/**
 * The key that signs the alert's action links, loaded once per container (at init, like the channel
 * secrets): on AWS the whole SecretString of the Secrets Manager secret LINK_SECRET_ARN names (the stack
 * generates it), locally LINK_SECRET. Fails fast, naming the variable, when neither gives a key of at least
 * 32 characters: a function that signs or checks links cannot work without one.
 */
export async function loadLinkSecret(
  settings: { readonly linkSecretArn?: string | undefined; readonly linkSecret?: string | undefined },
  client: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): Promise<string> {
  if (settings.linkSecretArn) {
    const secrets = client();
    let value: string | undefined;
    try {
      ({ SecretString: value } = await secrets.send(
        new GetSecretValueCommand({ SecretId: settings.linkSecretArn }),
      ));
    } finally {
      secrets.destroy();
    }
    if (value === undefined || value.length < ACTION_LINK_MIN_KEY_LENGTH) {
      // Never the value: only what is wrong with it.
      throw new Error(
        `Configuration error: the secret ${env.linkSecretArn} names holds no key of at least ${ACTION_LINK_MIN_KEY_LENGTH} characters`,
      );
    }
    return value;
  }
  if (settings.linkSecret) return settings.linkSecret;
  throw new Error(`Configuration error: ${env.linkSecretArn} or ${env.linkSecret} must be set`);
}
