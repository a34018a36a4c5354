import { Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  ConfigurationSet,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  MailFromBehaviorOnMxFailure,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface EmailProps {
  /** Domain verified in SES with Easy DKIM. */
  readonly domain: string;
  /** Sender address at `domain`. */
  readonly fromAddress: string;
  /** Sender of follow-ups (subscription mail) at `domain`: another address than `fromAddress`. */
  readonly followUpFromAddress: string;
}

/**
 * The SES domain identity and configuration set the notifier sends through, and where the set's bounces and
 * complaints go: an encrypted SNS topic, which the sesEvents function subscribes to.
 */
export class Email extends Construct {
  readonly identity: EmailIdentity;
  readonly configurationSet: ConfigurationSet;
  readonly configurationSetArn: string;
  readonly fromAddress: string;
  readonly followUpFromAddress: string;
  /** The configuration set's BOUNCE and COMPLAINT events (SES event publishing JSON). */
  readonly eventsTopic: Topic;
  /** Encrypts the events topic; SES may use it to publish. */
  readonly eventsKey: Key;
  /** Custom MAIL FROM subdomain, so SPF aligns with the From domain as bulk-sender rules require. */
  readonly mailFromDomain: string;

  constructor(scope: Construct, id: string, { domain, fromAddress, followUpFromAddress }: EmailProps) {
    super(scope, id);
    this.fromAddress = fromAddress;
    this.followUpFromAddress = followUpFromAddress;
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

    // Bounces and complaints, published to a topic the sesEvents function subscribes to: a permanent bounce or
    // a complaint marks the address undeliverable on its contact and stops every later send to it.
    const stack = Stack.of(this);
    this.eventsKey = new Key(this, 'EventsKey', {
      description: 'Encrypts the SES bounce and complaint events topic',
      enableKeyRotation: true,
    });
    // SES encrypts what it publishes to the topic with this key: only for this account's configuration set.
    this.eventsKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('ses.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': this.configurationSetArn },
        },
      }),
    );
    this.eventsTopic = new Topic(this, 'EventsTopic', {
      displayName: 'leadflow SES bounces and complaints',
      masterKey: this.eventsKey,
      enforceSSL: true,
    });
    // Adds the topic policy that lets SES publish for this configuration set (and this account) only.
    this.configurationSet.addEventDestination('BouncesAndComplaints', {
      destination: EventDestination.snsTopic(this.eventsTopic),
      events: [EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT],
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
