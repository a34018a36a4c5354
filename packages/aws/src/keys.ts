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
} as const;

/** The UTC day of an ISO timestamp, for daily counters. */
export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}
