/**
 * Single-table key design. Every item has `pk`/`sk`; manager-facing listings use `gsi1`.
 *
 * | entity      | pk                         | sk                         | gsi1pk          | gsi1sk              |
 * |-------------|----------------------------|----------------------------|-----------------|---------------------|
 * | submission  | SUB#<idempotency hash>     | SUB                        |                 |                     |
 * | identity    | IDENT#<email:…/phone:…>    | IDENT                      |                 |                     |
 * | contact     | CONTACT#<contactId>        | PROFILE                    | OWNER#<manager> | CONTACT#<createdAt> |
 * | lead        | CONTACT#<contactId>        | LEAD#<leadId>              | OWNER#<manager> | LEAD#<createdAt>    |
 * | interaction | CONTACT#<contactId>        | TL#<occurredAt>#<id>       |                 |                     |
 * | rr cursor   | TEAM#<teamId>              | CURSOR                     |                 |                     |
 * | counters    | STATS#<dimension>          | DAY#<yyyy-mm-dd>           |                 |                     |
 * | send ledger | NOTIFY#<function>          | <hash of notification id>  |                 |                     |
 * | lead queued | CONTACT#<contactId>        | LEAD#<leadId>              | QUEUE#<team>    | LEAD#<capturedAt>   |
 * | mgr load    | MANAGER#<managerId>        | LOAD                       |                 |                     |
 * | rate window | RATE#<scope>#<client key>  | MIN#<window start, epoch s>|                 |                     |
 * | ack mailbox | ACK#MAILBOX#<hash>         | ACK                        |                 |                     |
 * | ack domain  | ACK#DOMAIN#<form>#<domain> | HOUR#<yyyy-mm-ddThh>       |                 |                     |
 * | merge       | MERGE#<mergeId>            | RECORD                     |                 |                     |
 * | config      | CONFIG#routing             | CURRENT                    |                 |                     |
 * | config hist | CONFIG#routing             | V#<version, 10 digits>     |                 |                     |
 *
 * The routing configuration (teams, managers, rules, scoring) lives in `CONFIG#routing`: `CURRENT` is the
 * one routing reads, and every accepted change also writes its version as `V#…`, the change history.
 */
export const keys = {
  submission: (idempotencyHash: string) => ({ pk: `SUB#${idempotencyHash}`, sk: 'SUB' }),
  identity: (identity: string) => ({ pk: `IDENT#${identity}`, sk: 'IDENT' }),
  contact: (contactId: string) => ({ pk: `CONTACT#${contactId}`, sk: 'PROFILE' }),
  lead: (contactId: string, leadId: string) => ({ pk: `CONTACT#${contactId}`, sk: `LEAD#${leadId}` }),
  interaction: (contactId: string, occurredAt: string, interactionId: string) => ({
    pk: `CONTACT#${contactId}`,
    sk: `TL#${occurredAt}#${interactionId}`,
  }),
  cursor: (teamId: string) => ({ pk: `TEAM#${teamId}`, sk: 'CURSOR' }),
  stats: (dimension: string, day: string) => ({ pk: `STATS#${dimension}`, sk: `DAY#${day}` }),
  owner: (managerId: string) => `OWNER#${managerId}`,
  /** The gsi1 partition of a team's queue of leads waiting for an available manager. */
  queue: (teamId: string) => `QUEUE#${teamId}`,
  /** A manager's open-lead count and last assignment, maintained on write. */
  managerLoad: (managerId: string) => ({ pk: `MANAGER#${managerId}`, sk: 'LOAD' }),
  /** One client's requests to one form or widget in one minute (the client key is an IP or an IPv6 /64). */
  rate: (scope: string, client: string, windowStart: number) => ({
    pk: `RATE#${scope}#${client}`,
    sk: `MIN#${windowStart}`,
  }),
  /** What one merge of two contacts moved, so it can be undone. */
  merge: (mergeId: string) => ({ pk: `MERGE#${mergeId}`, sk: 'RECORD' as const }),
  /** The last acknowledgement sent to a mailbox (hashed: the key names no address). */
  ackMailbox: (mailboxHash: string) => ({ pk: `ACK#MAILBOX#${mailboxHash}`, sk: 'ACK' }),
  /** Acknowledgements one form sent to one recipient domain in one hour. */
  ackDomain: (formId: string, domain: string, hour: string) => ({
    pk: `ACK#DOMAIN#${formId}#${domain}`,
    sk: `HOUR#${hour}`,
  }),
  /**
   * The runtime routing configuration: `CURRENT` without a version, else that version's history item
   * (zero-padded, so the history sorts by version).
   */
  config: (version?: number) => ({
    pk: 'CONFIG#routing',
    sk: version === undefined ? 'CURRENT' : `V#${String(version).padStart(10, '0')}`,
  }),
} as const;

/** The UTC day of an ISO timestamp, for daily counters. */
export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}
