import { Stack } from 'aws-cdk-lib';
import {
  ConfigurationSet,
  EmailIdentity,
  Identity,
  MailFromBehaviorOnMxFailure,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface EmailProps {
  /** Domain verified in SES with Easy DKIM. */
  readonly domain: string;
  /** Sender address at `domain`. */
  readonly fromAddress: string;
}

/** The SES domain identity and configuration set the notifier sends through. */
export class Email extends Construct {
  readonly identity: EmailIdentity;
  readonly configurationSet: ConfigurationSet;
  readonly configurationSetArn: string;
  readonly fromAddress: string;
  /** Custom MAIL FROM subdomain, so SPF aligns with the From domain as bulk-sender rules require. */
  readonly mailFromDomain: string;

  constructor(scope: Construct, id: string, { domain, fromAddress }: EmailProps) {
    super(scope, id);
    this.fromAddress = fromAddress;
    this.mailFromDomain = `mail.${domain}`;

    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
      reputationMetrics: true,
      // Stop sending to addresses that bounced or complained: protects the domain's reputation.
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    this.configurationSetArn = Stack.of(this).formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: this.configurationSet.configurationSetName,
    });

    // Also the default set, so a send without ConfigurationSetName is still tracked and suppressed.
    this.identity = new EmailIdentity(this, 'Identity', {
      identity: Identity.domain(domain),
      configurationSet: this.configurationSet,
      // Until its MX record exists SES falls back to amazonses.com, so mail still goes out meanwhile.
      mailFromDomain: this.mailFromDomain,
      mailFromBehaviorOnMxFailure: MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
    });
  }
}
