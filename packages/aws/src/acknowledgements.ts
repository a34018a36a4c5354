import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ACKNOWLEDGEMENT_INTERVAL_MS, hourOf, mailboxKey, sha256 } from '@leadflow/core';
import { ackLedgerItem } from './items';

export interface AcknowledgementRequest {
  /** The address the acknowledgement would go to. */
  readonly address: string;
  readonly formId: string;
  /** The form's cap of acknowledgements per recipient domain and hour. */
  readonly domainHourlyCap: number;
  /** The notification being sent: a retry of the same one may re-use its own reservation. */
  readonly notificationId: string;
}

export type AcknowledgementDecision =
  | { readonly send: true }
  | { readonly send: false; readonly reason: 'mailbox_recent' | 'domain_cap' };

/**
 * The ledger that keeps the public forms from being used as a mail relay: at most one acknowledgement
 * per mailbox a day (case and `+tags` folded, so `victim+1@…` … `victim+5@…` are one mailbox, whatever
 * contact they became), and at most the form's cap per recipient domain an hour. Both are reserved in
 * one transaction before the send, so concurrent notifiers cannot both pass.
 */
export class AcknowledgementLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async reserve(request: AcknowledgementRequest, now: Date = new Date()): Promise<AcknowledgementDecision> {
    if (request.domainHourlyCap <= 0) return { send: false, reason: 'domain_cap' };
    const { mailbox, domain } = mailboxKey(request.address);
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const intervalSeconds = ACKNOWLEDGEMENT_INTERVAL_MS / 1000;
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                // Hashed: the ledger names no address.
                ...ackLedgerItem.mailbox(sha256(`mailbox\n${mailbox}`), {
                  at: now.toISOString(),
                  since: new Date(now.getTime() - ACKNOWLEDGEMENT_INTERVAL_MS).toISOString(),
                  notificationId: request.notificationId,
                  ttl: nowSeconds + 2 * intervalSeconds,
                }),
              },
            },
            {
              Update: {
                TableName: this.tableName,
                ...ackLedgerItem.domain(request.formId, domain, hourOf(now), {
                  cap: request.domainHourlyCap,
                  ttl: nowSeconds + 7200,
                }),
              },
            },
          ],
        }),
      );
      return { send: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [mailboxCheck, domainCheck] = error.CancellationReasons ?? [];
      if (mailboxCheck?.Code === 'ConditionalCheckFailed') return { send: false, reason: 'mailbox_recent' };
      if (domainCheck?.Code === 'ConditionalCheckFailed') return { send: false, reason: 'domain_cap' };
      // A transaction conflict with a concurrent reservation: the message is retried, and decides again.
      throw error;
    }
  }
}
