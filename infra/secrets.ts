import { SecretValue, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ChannelSecrets as ChannelSecretsValue } from '../packages/aws/src/secrets';

/**
 * What the secret holds when the stack creates it. Only `generic` is present: the schema the ingest
 * function loads it with (packages/aws/src/secrets.ts) refuses empty strings, and a missing key simply
 * leaves that channel off (its routes answer 404) until an operator fills it in. `forms` is optional and
 * listed in the description instead.
 *
 * Never change this value on a deployed stack: CloudFormation writes a changed SecretString as a new
 * current version, replacing whatever the operator has put in. A description change leaves the value alone.
 */
export const INITIAL_CHANNEL_SECRETS: ChannelSecretsValue = { generic: {} };

/** Webhook verification secrets of the channel providers and per-form keys, read once per ingest container. */
export class ChannelSecrets extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description:
        'leadflow channel secrets (JSON): twilioAuthToken, metaAppSecret, metaVerifyToken, ' +
        'telegramSecretToken, generic {"<source id>": "<HMAC key>"}, ' +
        'forms {"<form id>": {"keys": ["<form key, 24+ chars>"], "captchaSecret": "<CAPTCHA secret>"}}. ' +
        'A missing provider key turns that channel off; a form with no keys refuses backend posts.',
      // Not secret: an empty template. The provider values are put in by an operator, never by the stack.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(INITIAL_CHANNEL_SECRETS)),
    });
    Validations.of(this.secret.node.defaultChild as Construct).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The values are issued by or shared with third parties (Twilio auth token, Meta app secret, Telegram ' +
        'and Meta verify tokens, partner HMAC keys, CAPTCHA secrets, form keys held by site backends) and must ' +
        'be changed on the other side and here together; a rotation Lambda cannot change them there, so ' +
        'rotation is a documented manual step (form keys allow several at once for that).',
    });
  }
}
