import { type CaptureEvent, identityKeys } from './capture';

/**
 * How leadflow knows an identity belongs to the person: `verified` when the provider vouches that the
 * sender controls it (a caller ID, a WhatsApp wa_id, a Telegram, Messenger or Instagram id, a sender
 * whose DMARC verdict passed), `claimed` when someone typed it (a form, the chat widget, a partner's
 * webhook, a Reply-To, a sender that failed DMARC). Any identity finds a contact; only verified evidence
 * adds to a contact that has verified identities, or merges two contacts.
 */
export type Provenance = 'verified' | 'claimed';

export interface CaptureIdentity {
  readonly key: string;
  readonly provenance: Provenance;
}

/** Handle types only their own providers' adapters produce, each the platform's id of the sender. */
const PROVIDER_HANDLES = ['whatsapp', 'telegram', 'messenger', 'instagram'] as const;

/**
 * The identity keys the capture's provider vouches for. A capture that says (`verified`) is taken at its
 * word, within its own identities. A capture queued before captures said (no `verified`) is read by the
 * one rule that holds for every adapter: platform handles (WhatsApp, Telegram, Messenger, Instagram) are
 * the provider's ids of the sender, and so is the phone of a WhatsApp capture (its wa_id) or a Telegram
 * one (only the sender's own shared number is kept). Its SMS and call phones stay claimed, because the
 * generic webhook produces those channels too, and so do emails (the DMARC verdict was not kept).
 */
export function vouchedIdentities(capture: CaptureEvent): string[] {
  const keys = identityKeys(capture.contact, capture.handles);
  if (capture.verified) {
    const vouched = new Set(capture.verified);
    return keys.filter((key) => vouched.has(key));
  }
  const legacy = new Set<string>();
  for (const type of PROVIDER_HANDLES) {
    const handle = capture.handles?.[type];
    if (handle) legacy.add(`${type}:${handle}`);
  }
  if ((capture.channel === 'whatsapp' || capture.channel === 'telegram') && capture.contact.phone) {
    legacy.add(`phone:${capture.contact.phone}`);
  }
  return keys.filter((key) => legacy.has(key));
}

/** The capture's identities, strongest first, each with how the capture knows it. */
export function captureIdentities(capture: CaptureEvent): CaptureIdentity[] {
  const vouched = new Set(vouchedIdentities(capture));
  return identityKeys(capture.contact, capture.handles).map((key) => ({
    key,
    provenance: vouched.has(key) ? 'verified' : 'claimed',
  }));
}

/** A stored identity claim: which contact the identity points at (after following merges) and how. */
export interface IdentityClaim {
  readonly key: string;
  readonly contactId: string;
  /** As recorded on the identity; a claim made before provenance was recorded is `claimed`. */
  readonly provenance: Provenance;
}

/** What the identity plan needs to know of a live contact an identity points at. */
export interface KnownContact {
  readonly contactId: string;
  readonly createdAt: string;
  readonly ownerId?: string | undefined;
  /** The contact's listed identities that are verified. */
  readonly verifiedIdentities?: Iterable<string> | undefined;
  /** Set on a contact created for claimed identities near another: the contact it may duplicate. */
  readonly duplicateOf?: string | undefined;
  readonly possibleDuplicates?: Iterable<string> | undefined;
  /** Contacts an administrator separated from this one (an undone merge): never merged again. */
  readonly separatedFrom?: Iterable<string> | undefined;
}

export interface IdentityInput {
  /** The capture's identities, strongest first. */
  readonly identities: readonly CaptureIdentity[];
  /** The stored claims of those identities that exist. */
  readonly claims: readonly IdentityClaim[];
  /** Every contact a claim points at. */
  readonly contacts: readonly KnownContact[];
}

/** Which identity brought the capture to an existing contact, and whether both sides vouch for it. */
export interface MatchedBy {
  readonly identity: string;
  readonly contactId: string;
  /** `verified` when the capture's provider vouches for the identity and the contact records it verified. */
  readonly provenance: Provenance;
}

interface PlanParts {
  /**
   * New identities to claim for the contact the capture lands on: for `new` and `new_linked` the new
   * contact's identities, for `join` and `merge` the ones added to the existing contact.
   */
  readonly attach: readonly CaptureIdentity[];
  /** Identities the landing contact holds as claimed that this capture's provider now vouches for. */
  readonly verify: readonly string[];
  /** New identities claimed for nobody: claimed identities of a verified capture for a verified contact. */
  readonly skipped: readonly CaptureIdentity[];
  /** Existing contacts to record as possible duplicates of each other, each pair once. */
  readonly links: readonly (readonly [string, string])[];
  readonly matchedBy?: MatchedBy;
}

export type IdentityPlan =
  /** No identity is known: a new contact with all of them. */
  | ({ readonly kind: 'new' } & PlanParts)
  /** One existing contact takes the capture. */
  | ({ readonly kind: 'join'; readonly contactId: string } & PlanParts)
  /**
   * The capture matched `linkedTo` only by what it claims, and brings identities that may not be added
   * to it: a new contact takes them and the capture, linked to `linkedTo` as a possible duplicate and
   * owned by its owner (speed to lead is kept; a manager decides).
   */
  | ({
      readonly kind: 'new_linked';
      readonly linkedTo: string;
      /** Every contact the capture matched (`linkedTo` first): the new contact may duplicate each. */
      readonly duplicates: readonly string[];
      readonly ownerId?: string | undefined;
    } & PlanParts)
  /** The capture's verified identities point at several contacts that record them verified: one person. */
  | ({ readonly kind: 'merge'; readonly contactId: string; readonly losers: readonly string[] } & PlanParts);

/**
 * The contact that survives a merge: one that has an owner, then the oldest, then the smallest id.
 * Deterministic, so concurrent routers that discover the same duplicates merge the same way.
 */
export function survivorOf<T extends Pick<KnownContact, 'contactId' | 'createdAt' | 'ownerId'>>(
  contacts: readonly T[],
): T {
  const sorted = [...contacts].sort(
    (a, b) =>
      Number(!a.ownerId) - Number(!b.ownerId) ||
      compare(a.createdAt, b.createdAt) ||
      compare(a.contactId, b.contactId),
  );
  const survivor = sorted[0];
  if (!survivor) throw new Error('No contact to choose from');
  return survivor;
}

/**
 * Decides which contact a capture belongs to from its identities' provenance and the stored claims:
 * - any identity, verified or claimed, finds a contact, and the capture lands there (with its owner);
 * - a claimed identity is added only to a contact without verified identities; otherwise the capture's
 *   new identities make a new contact linked to the match as a possible duplicate;
 * - contacts merge only when the capture's verified identities point at two or more contacts that record
 *   those identities as verified; identities that merely point at two contacts link them instead.
 * A capture that proved which contact it is (a verified match) lands there; claimed identities it also
 * carries for a contact with verified identities are skipped (no channel sends such a mix today).
 * Pure and deterministic: the same capture and the same claims give the same plan, and a plan executed
 * and planned again gives the same contact with nothing more to do (a redelivery finds its own lead).
 */
export function planIdentities(input: IdentityInput): IdentityPlan {
  const claims = new Map(input.claims.map((claim) => [claim.key, claim]));
  const contacts = new Map(input.contacts.map((contact) => [contact.contactId, contact]));
  const contactOf = (id: string): KnownContact => {
    const contact = contacts.get(id);
    if (!contact) throw new Error(`Contact ${id} is claimed but not known to the plan`);
    return contact;
  };
  const identities = dedupe(input.identities);
  const matches = identities.flatMap((identity) => {
    const claim = claims.get(identity.key);
    if (!claim) return [];
    contactOf(claim.contactId);
    const provenance: Provenance =
      identity.provenance === 'verified' && claim.provenance === 'verified' ? 'verified' : 'claimed';
    return [{ identity, contactId: claim.contactId, stored: claim.provenance, provenance }];
  });
  const fresh = identities.filter((identity) => !claims.has(identity.key));
  if (matches.length === 0) return { kind: 'new', attach: fresh, verify: [], skipped: [], links: [] };

  const matched = unique(matches.map((match) => match.contactId));
  const verifiedMatches = unique(
    matches.filter((match) => match.provenance === 'verified').map((match) => match.contactId),
  );
  let primary: string;
  let losers: string[] = [];
  if (verifiedMatches.length > 0) {
    primary = survivorOf(verifiedMatches.map(contactOf)).contactId;
    const merging = [primary];
    for (const id of verifiedMatches) {
      if (id === primary || merging.some((other) => separated(contactOf(other), contactOf(id)))) continue;
      merging.push(id);
      losers.push(id);
    }
    losers = losers.sort(compare);
  } else {
    // Claimed only: a contact made for these claims next to another one (a redelivery, or the same
    // person again) is where they live, the last made of a chain of such; else the one the strongest
    // identity finds.
    const depth = (id: string): number => {
      let steps = 0;
      for (let of = contactOf(id).duplicateOf; of !== undefined && matched.includes(of); steps++) {
        if (steps >= matched.length) break; // a cycle: never written, but never loop on one
        of = contactOf(of).duplicateOf;
      }
      return steps;
    };
    const depths = matched.map(depth);
    const deepest = Math.max(...depths);
    primary = matched[depths.indexOf(deepest)] as string;
  }
  const viaVerified = verifiedMatches.length > 0;
  const landing = new Set([primary, ...losers]);
  const hasVerified =
    [...landing].some((id) => !isEmpty(contactOf(id).verifiedIdentities)) ||
    matches.some((match) => landing.has(match.contactId) && match.stored === 'verified');
  // Only a capture that proved it is this contact, or a contact that nothing vouches for yet, takes more.
  const mayAdd = (identity: CaptureIdentity) =>
    identity.provenance === 'verified' ? viaVerified || !hasVerified : !hasVerified;

  const attach = fresh.filter(mayAdd);
  const refused = fresh.filter((identity) => !mayAdd(identity));
  const verify = unique(
    matches
      .filter(
        (match) =>
          landing.has(match.contactId) &&
          match.identity.provenance === 'verified' &&
          match.stored === 'claimed' &&
          mayAdd(match.identity),
      )
      .map((match) => match.identity.key),
  );
  const links = unique(matched.filter((id) => !landing.has(id)))
    .filter((id) => !separated(contactOf(primary), contactOf(id)))
    .filter((id) => !includes(contactOf(primary).possibleDuplicates, id))
    .map((id) => [primary, id] as const);
  const by =
    matches.find((match) => match.contactId === primary && match.provenance === 'verified') ??
    matches.find((match) => match.contactId === primary) ??
    matches.find((match) => landing.has(match.contactId));
  const matchedBy: MatchedBy | undefined = by && {
    identity: by.identity.key,
    contactId: by.contactId,
    provenance: by.provenance,
  };

  if (refused.length > 0 && !viaVerified) {
    const linkedTo = contactOf(primary);
    return {
      kind: 'new_linked',
      linkedTo: primary,
      duplicates: [primary, ...matched.filter((id) => id !== primary)],
      ...(linkedTo.ownerId ? { ownerId: linkedTo.ownerId } : {}),
      attach: refused,
      verify: [],
      skipped: [],
      links,
      ...(matchedBy ? { matchedBy } : {}),
    };
  }
  const parts = { attach, verify, skipped: refused, links, ...(matchedBy ? { matchedBy } : {}) };
  return losers.length > 0
    ? { kind: 'merge', contactId: primary, losers, ...parts }
    : { kind: 'join', contactId: primary, ...parts };
}

function separated(a: KnownContact, b: KnownContact): boolean {
  return includes(a.separatedFrom, b.contactId) || includes(b.separatedFrom, a.contactId);
}

function includes(values: Iterable<string> | undefined, value: string): boolean {
  for (const each of values ?? []) if (each === value) return true;
  return false;
}

function isEmpty(values: Iterable<string> | undefined): boolean {
  for (const _ of values ?? []) return false;
  return true;
}

/** The first of each key: a capture names an identity once. */
function dedupe(identities: readonly CaptureIdentity[]): CaptureIdentity[] {
  const seen = new Set<string>();
  return identities.filter((identity) => !seen.has(identity.key) && seen.add(identity.key) !== undefined);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
