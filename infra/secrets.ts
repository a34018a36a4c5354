import { SecretValue, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ChannelSecrets as ChannelSecretsValue } from '../packages/aws/src/secrets';

/**
 * What the secret holds when the stack creates it. Only `generic` is present: the schema the ingest
 * function loads it with (packages/aws/src/secrets.ts) refuses empty strings, and a missing key simply
 * leaves that channel off (its routes answer 404) until an operator fills it in.
 */
export const INITIAL_CHANNEL_SECRETS: ChannelSecretsValue = { generic: {} };

/** Webhook verification secrets of the channel providers, read once per ingest container. */
export class ChannelSecrets extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description:
        'leadflow channel secrets (JSON): twilioAuthToken, metaAppSecret, metaVerifyToken, ' +
        'telegramSecretToken, generic {"<source id>": "<HMAC key>"}. A missing key turns that channel off.',
      // Not secret: an empty template. The provider values are put in by an operator, never by the stack.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(INITIAL_CHANNEL_SECRETS)),
    });
    Validations.of(this.secret.node.defaultChild as Construct).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The values are issued by third parties (Twilio auth token, Meta app secret, Telegram and Meta ' +
        'verify tokens, partner HMAC keys) and must be changed in the provider console and here together; ' +
        'a rotation Lambda cannot change them on the provider side, so rotation is a documented manual step.',
    });
  }
}
