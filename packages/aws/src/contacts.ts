import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  admitIdentities,
  admitMergedPoints,
  type CaptureIdentity,
  type ContactDetails,
  type IdentityClaim,
  type IdentityPlan,
  type KnownContact,
  MAX_IDENTITIES,
  MAX_OPEN_CONVERSATIONS,
  MAX_POSSIBLE_DUPLICATES,
  type MatchedBy,
  type OpenConversation,
  type Provenance,
  planConversationMerge,
  planIdentities,
  survivorOf,
} from '@leadflow/core';
import { settleDuplicateHygiene } from './crm/hygiene';
import {
  contactItem,
  identityItem,
  identityItemSchema,
  interactionItem,
  keys,
  mergeItem,
  parseItem,
  profileItemSchema,
} from './items';
import { NOT_MERGING } from './items/conditions';
import { FENCE_ATTRIBUTES, type MergeGains, type MergeRecordItem, withMergeUndo } from './merge-record';

export interface ContactProfile {
  readonly contactId: string;
  readonly createdAt: string;
  readonly updatedAt?: string;
  readonly name?: string;
  readonly ownerId?: string;
  readonly mergedInto?: string;
  /** Set first when a merge starts: the contact takes no new writes while it is moved. */
  readonly mergingInto?: string;
  readonly mergingAt?: string;
  /** On a contact merged away (or being merged): the merge's id, which its record is keyed by. */
  readonly mergeId?: string;
  /** On a survivor: merges fenced but not yet finished. */
  readonly pendingMerges?: Set<string>;
  /** On a survivor: the contacts merged into it. */
  readonly mergedFrom?: Set<string>;
  /** While an administrator undoes a merge of this contact: it cannot be merged away meanwhile. */
  readonly unmerging?: string;
  /** Erased (GDPR): a tombstone without personal data, never written to again. */
  readonly erasedAt?: string;
  /** At most `MAX_IDENTITIES`; identities claimed past that are recorded on the timeline instead. */
  readonly identities?: Set<string>;
  /** The listed identities a provider vouched for (a subset of `identities`); the others are claimed. */
  readonly verifiedIdentities?: Set<string>;
  readonly emails?: Set<string>;
  readonly phones?: Set<string>;
  /** A contact created for claimed identities that matched this one, which has verified identities. */
  readonly duplicateOf?: string;
  /** Contacts that may be the same person, for a manager to look at; never merged automatically. */
  readonly possibleDuplicates?: Set<string>;
  /** Contacts an administrator separated from this one by undoing a merge: never merged again. */
  readonly separatedFrom?: Set<string>;
  /**
   * Open conversations: conversation id → the lead it belongs to and its last message time. At most
   * `MAX_OPEN_CONVERSATIONS`; past that the oldest are retired.
   */
  readonly conversations?: Record<string, { leadId: string; lastAt: string; ownerId?: string }>;
  readonly lastAcknowledgedAt?: string;
  /** When the contact's latest lead was captured. */
  readonly lastLeadAt?: string;
}

/** The merges one resolution did. */
export interface MergeRecord {
  readonly survivorId: string;
  readonly mergedIds: readonly string[];
  /** The merge ids, in the order of `mergedIds`: each can be undone (`unmergeContacts`). */
  readonly mergeIds: readonly string[];
}

export interface ResolvedContact {
  readonly contactId: string;
  /** True when this capture created the contact (also a new contact linked as a possible duplicate). */
  readonly created: boolean;
  /**
   * The contact's profile as it stands after this resolution; undefined for a plain new contact. A new
   * contact linked to a match has one: it carries the match's owner, which routing keeps (sticky owner).
   */
  readonly profile?: ContactProfile;
  /** Contacts this capture proved to be the same person, merged into `contactId`. */
  readonly merged?: MergeRecord;
  /** New identities claimed for the contact but not listed on its profile, which is at its bound. */
  readonly unlisted?: readonly string[];
  /** Which identity found an existing contact, and whether it was verified on both sides. */
  readonly matchedBy?: MatchedBy;
  /** For a new contact made of claimed identities next to a match: the match it may duplicate. */
  readonly linkedTo?: string;
  /** Contacts this capture recorded as possible duplicates (of `contactId`, or of each other). */
  readonly possibleDuplicates?: readonly string[];
  /** New identities claimed for nobody: a verified capture's claimed identities for a verified contact. */
  readonly skipped?: readonly string[];
}

export interface ResolveOptions {
  readonly newContactId: () => string;
  readonly now: string;
  /** The capture's id and time: they key the timeline entries resolution writes, beside the capture's. */
  readonly interactionId?: string;
  readonly occurredAt?: string;
  /** The identities the capture's provider vouches for (`vouchedIdentities`); the rest are claimed. */
  readonly verified?: readonly string[];
  /** Ids of new merges; by default `merge-` and a new contact id. */
  readonly newMergeId?: () => string;
}

/** A contact that is being merged, or was, takes no new writes: they belong to the survivor. */
export { NOT_MERGING };

/** Another router fenced one of the contacts first; resolution starts over with fresh reads. */
class MergeFenceConflict extends Error {
  override readonly name = 'MergeFenceConflict';
}

/** Thrown when identities keep changing under us; the message is retried by the queue. */
export class ContactResolutionConflict extends Error {
  override readonly name = 'ContactResolutionConflict';
}

const MAX_ATTEMPTS = 5;

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * Finds or creates the contact a capture belongs to, as the pure identity planner (`planIdentities` in
 * core) decides from the capture's identities and their provenance: any identity finds a contact; a
 * claimed identity joins only a contact without verified identities, else the capture's new identities
 * make a new contact linked to the match as a possible duplicate, with the match's owner; contacts merge
 * only on verified evidence. Identities are claimed with conditional writes in one transaction with the
 * contact, so two concurrent captures of one person never make two contacts: the loser re-reads and
 * plans again. Every identity item records its provenance and the capture that first brought it.
 *
 * A profile lists at most `MAX_IDENTITIES`. A new identity past that is still claimed for the contact,
 * so it keeps finding this person without growing the profile item, and the claim is recorded on the
 * timeline (`interactionId`/`occurredAt` key that entry; pass the capture's, so it sits beside it).
 */
export async function resolveContact(
  doc: DynamoDBDocumentClient,
  tableName: string,
  identities: readonly string[],
  details: ContactDetails,
  options: ResolveOptions,
): Promise<ResolvedContact> {
  if (identities.length === 0) throw new Error('A capture without email, phone or handle cannot be resolved');
  const vouched = new Set(options.verified ?? []);
  const captured: CaptureIdentity[] = identities.map((key) => ({
    key,
    provenance: vouched.has(key) ? 'verified' : 'claimed',
  }));
  const newMergeId = options.newMergeId ?? (() => `merge-${options.newContactId()}`);
  const at = { now: options.now, entryAt: options.occurredAt ?? options.now };
  const entryId = options.interactionId ?? `resolve-${options.now}`;

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await readClaims(doc, tableName, identities);
    let contacts: Map<string, ContactProfile>;
    let liveOf: Map<string, string>;
    try {
      ({ contacts, liveOf } = await readMatchedContacts(doc, tableName, stored, options.now, newMergeId));
    } catch (error) {
      if (error instanceof MergeFenceConflict) continue;
      throw error;
    }
    const claims: IdentityClaim[] = stored.flatMap((claim) => {
      const contactId = claim.contactId && liveOf.get(claim.contactId);
      return contactId ? [{ key: claim.key, contactId, provenance: claim.provenance }] : [];
    });
    const plan = planIdentities({
      identities: captured,
      claims,
      contacts: [...contacts.values()].map(knownContact),
    });

    let merged: MergeRecord | undefined;
    let primary: ContactProfile | undefined;
    if (plan.kind === 'merge') {
      const survivor = contacts.get(plan.contactId) as ContactProfile;
      const mergeIds: string[] = [];
      try {
        for (const loserId of plan.losers) {
          const loser = contacts.get(loserId) as ContactProfile;
          mergeIds.push(await mergeInto(doc, tableName, survivor, loser, options.now, newMergeId()));
        }
      } catch (error) {
        if (error instanceof MergeFenceConflict) continue;
        throw error;
      }
      merged = { survivorId: survivor.contactId, mergedIds: plan.losers, mergeIds };
      primary = await getProfile(doc, tableName, survivor.contactId);
    } else if (plan.kind === 'join') primary = contacts.get(plan.contactId);

    const created = plan.kind === 'new' || plan.kind === 'new_linked';
    const contactId = created ? options.newContactId() : (primary?.contactId as string);
    const admission = admitIdentities(
      primary?.identities,
      plan.attach.map((identity) => identity.key),
      MAX_IDENTITIES,
    );
    const commit = commitItems(tableName, plan, {
      contactId,
      primary,
      matched: contacts,
      details,
      admission,
      at,
      entryId,
      captureId: options.interactionId,
    });
    try {
      if (commit.length > 0) await doc.send(new TransactWriteCommand({ TransactItems: commit }));
    } catch (error) {
      if (error instanceof TransactionCanceledException && isRace(error)) continue;
      throw error;
    }

    const linked = linkedContacts(plan);
    const extra = {
      ...(admission.refused.length > 0 ? { unlisted: admission.refused } : {}),
      ...(plan.matchedBy ? { matchedBy: plan.matchedBy } : {}),
      ...(linked.length > 0 ? { possibleDuplicates: linked } : {}),
      ...(plan.skipped.length > 0 ? { skipped: plan.skipped.map((identity) => identity.key) } : {}),
    };
    if (plan.kind === 'new') return { contactId, created, ...extra };
    const profile = await getProfile(doc, tableName, contactId);
    if (!profile) throw new Error(`Contact ${contactId} is referenced by an identity but does not exist`);
    if (plan.kind === 'new_linked') return { contactId, created, profile, linkedTo: plan.linkedTo, ...extra };
    return { contactId, created, profile, ...(merged ? { merged } : {}), ...extra };
  }
  throw new ContactResolutionConflict(`Identities kept changing after ${MAX_ATTEMPTS} attempts`);
}

interface StoredClaim {
  readonly key: string;
  readonly contactId?: string;
  readonly provenance: Provenance;
}

/** The identity items of the capture's identities, as they stand (consistent reads). */
async function readClaims(
  doc: DynamoDBDocumentClient,
  tableName: string,
  identities: readonly string[],
): Promise<StoredClaim[]> {
  return Promise.all(
    identities.map(async (key) => {
      const { Item } = await doc.send(
        new GetCommand({ TableName: tableName, Key: keys.identity(key), ConsistentRead: true }),
      );
      const identity = Item ? parseItem(identityItemSchema, Item) : undefined;
      const contactId = identity?.contactId;
      // Claims made before provenance was recorded are claimed: nothing vouched for them.
      const provenance: Provenance = identity?.provenance === 'verified' ? 'verified' : 'claimed';
      return { key, ...(contactId ? { contactId } : {}), provenance };
    }),
  );
}

/**
 * The live contacts the claims point at (following merges), with every merge into one of them finished
 * first: a contact receiving a merge is planned on only once it holds everything, and cannot be merged
 * away before (`MAY_BE_MERGED_AWAY`).
 */
async function readMatchedContacts(
  doc: DynamoDBDocumentClient,
  tableName: string,
  stored: readonly StoredClaim[],
  now: string,
  newMergeId: () => string,
): Promise<{ contacts: Map<string, ContactProfile>; liveOf: Map<string, string> }> {
  const pointed = [...new Set(stored.flatMap((claim) => (claim.contactId ? [claim.contactId] : [])))];
  if (pointed.length === 0) return { contacts: new Map(), liveOf: new Map() };
  let live = await followToLive(doc, tableName, pointed);
  const receiving = [...live.contacts.values()].filter((profile) => (profile.pendingMerges?.size ?? 0) > 0);
  if (receiving.length > 0) {
    for (const survivor of receiving) await finishPending(doc, tableName, survivor, now, newMergeId);
    live = await followToLive(doc, tableName, pointed);
  }
  return live;
}

/** Each contact id → the live contact absorbing it (itself when it is not merged), and their profiles. */
async function followToLive(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactIds: readonly string[],
): Promise<{ contacts: Map<string, ContactProfile>; liveOf: Map<string, string> }> {
  const contacts = new Map<string, ContactProfile>();
  const liveOf = new Map<string, string>();
  const read = new Map<string, Promise<ContactProfile | undefined>>();
  const profileOf = (id: string) => {
    let profile = read.get(id);
    if (!profile) {
      profile = getProfile(doc, tableName, id);
      read.set(id, profile);
    }
    return profile;
  };
  await Promise.all(
    contactIds.map(async (start) => {
      let id = start;
      for (let hop = 0; hop < 6; hop++) {
        const profile = await profileOf(id);
        if (!profile) throw new Error(`Contact ${id} is referenced by an identity but does not exist`);
        const absorbedBy = profile.mergedInto ?? profile.mergingInto;
        if (!absorbedBy) {
          contacts.set(id, profile);
          liveOf.set(start, id);
          return;
        }
        id = absorbedBy;
      }
    }),
  );
  return { contacts, liveOf };
}

/** Finishes the merges fenced into `survivor` that a crashed or slower router has not finished. */
async function finishPending(
  doc: DynamoDBDocumentClient,
  tableName: string,
  survivor: ContactProfile,
  now: string,
  newMergeId: () => string,
): Promise<void> {
  for (const pending of survivor.pendingMerges ?? []) {
    const loser = await getProfile(doc, tableName, pending);
    if (loser) await mergeInto(doc, tableName, survivor, loser, now, loser.mergeId ?? newMergeId());
    else await clearPending(doc, tableName, survivor.contactId, pending);
  }
}

function knownContact(profile: ContactProfile): KnownContact {
  return {
    contactId: profile.contactId,
    createdAt: profile.createdAt,
    ownerId: profile.ownerId,
    verifiedIdentities: profile.verifiedIdentities,
    duplicateOf: profile.duplicateOf,
    possibleDuplicates: profile.possibleDuplicates,
    separatedFrom: profile.separatedFrom,
  };
}

/** Every contact the plan records as a possible duplicate (of the landing contact or of each other). */
function linkedContacts(plan: IdentityPlan): string[] {
  const ids = [...(plan.kind === 'new_linked' ? plan.duplicates : []), ...plan.links.flat()];
  return [...new Set(ids)];
}

interface CommitContext {
  /** The contact the capture lands on: the new one for `new` and `new_linked`. */
  readonly contactId: string;
  /** Its profile as read (after any merge), for `join` and `merge`. */
  readonly primary: ContactProfile | undefined;
  /** The profiles of the contacts the capture's identities point at, as read. */
  readonly matched: ReadonlyMap<string, ContactProfile>;
  readonly details: ContactDetails;
  readonly admission: ReturnType<typeof admitIdentities>;
  readonly at: { readonly now: string; readonly entryAt: string };
  readonly entryId: string;
  readonly captureId: string | undefined;
}

/**
 * The one transaction that executes an identity plan (after any merge): the contact created or updated,
 * its new identity claims with their provenance, identities it now holds as verified, the unlisted
 * claims' entries, and possible-duplicate links on both profiles with a timeline entry on each. Empty
 * when the capture only joins a contact that already has everything.
 */
function commitItems(tableName: string, plan: IdentityPlan, context: CommitContext): TransactItem[] {
  const { contactId, primary, details, admission, at, entryId } = context;
  const provenanceOf = new Map(plan.attach.map((identity) => [identity.key, identity.provenance]));
  const listedAfter = (primary?.identities?.size ?? 0) + admission.add.length;
  const verifiedListed = [
    ...admission.add.filter((key) => provenanceOf.get(key) === 'verified'),
    ...plan.verify.filter((key) => primary?.identities?.has(key)),
  ];
  // Contact → the contacts it gains as possible duplicates.
  const linkAdds = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    const set = linkAdds.get(a) ?? new Set<string>();
    set.add(b);
    linkAdds.set(a, set);
  };
  const pairs: [string, string][] = plan.links.map(([a, b]) => [a, b]);
  if (plan.kind === 'new_linked') for (const other of plan.duplicates) pairs.push([contactId, other]);
  for (const [a, b] of pairs) {
    link(a, b);
    link(b, a);
  }

  const items: TransactItem[] = [];
  if (plan.kind === 'new' || plan.kind === 'new_linked') {
    linkAdds.delete(contactId); // the new profile is written with its links
    const owner = plan.kind === 'new_linked' ? plan.ownerId : undefined;
    items.push({
      Put: {
        TableName: tableName,
        ...contactItem.create(contactId, {
          type: 'contact',
          contactId,
          createdAt: at.now,
          updatedAt: at.now,
          conversations: {},
          // Every contact by creation time: an admin's segments and hygiene lists.
          gsi2pk: keys.contacts,
          gsi2sk: keys.contactsIndexSk(at.now, contactId),
          ...profileAttributes(details, admission.add),
          ...(verifiedListed.length > 0 ? { verifiedIdentities: new Set(verifiedListed) } : {}),
          ...(plan.kind === 'new_linked'
            ? { duplicateOf: plan.linkedTo, possibleDuplicates: new Set(plan.duplicates) }
            : {}),
          // The match's owner, so the lead goes where the match's leads go (routing keeps the owner).
          ...(owner
            ? { ownerId: owner, gsi1pk: keys.owner(owner), gsi1sk: keys.contactIndexSk(at.now) }
            : {}),
        }),
      },
    });
  } else {
    const duplicates = admitIdentities(
      primary?.possibleDuplicates,
      [...(linkAdds.get(contactId) ?? [])],
      MAX_POSSIBLE_DUPLICATES,
    ).add;
    linkAdds.delete(contactId);
    if (plan.attach.length > 0 || verifiedListed.length > 0 || duplicates.length > 0) {
      items.push({
        Update: {
          TableName: tableName,
          ...contactItem.claimIdentities(
            contactId,
            plan.attach.length > 0 ? details : {},
            admission.add,
            at.now,
            {
              verified: verifiedListed,
              duplicates,
            },
          ),
        },
      });
    }
  }
  for (const [other, adds] of linkAdds) {
    // A contact at its bound keeps further links on its timeline only (the entries below).
    const admitted = admitIdentities(
      context.matched.get(other)?.possibleDuplicates,
      [...adds],
      MAX_POSSIBLE_DUPLICATES,
    ).add;
    if (admitted.length === 0) continue;
    items.push({
      Update: {
        TableName: tableName,
        ...contactItem.linkDuplicates(other, at.now, admitted, MAX_POSSIBLE_DUPLICATES - admitted.length),
      },
    });
  }
  for (const identity of plan.attach) {
    items.push({
      Put: {
        TableName: tableName,
        ...identityItem.claim(identity.key, {
          type: 'identity',
          contactId,
          claimedAt: at.now,
          provenance: identity.provenance,
          firstSeenAt: at.entryAt,
          ...(context.captureId ? { firstCaptureId: context.captureId } : {}),
        }),
      },
    });
  }
  for (const key of plan.verify) {
    items.push({
      Update: {
        TableName: tableName,
        ...identityItem.verify(key, { at: at.entryAt, contactId, captureId: context.captureId }),
      },
    });
  }
  // In the transaction of the claim, which happens once: a redelivery records nothing again.
  for (const identity of admission.refused) {
    items.push({
      Put: {
        TableName: tableName,
        Item: unlistedIdentityEntry(
          contactId,
          identity,
          at.entryAt,
          `${entryId}:identity:${identity}`,
          listedAfter,
        ),
      },
    });
  }
  for (const [a, b] of pairs) {
    items.push({ Put: { TableName: tableName, Item: duplicateEntry(a, b, plan, at.entryAt, entryId) } });
    items.push({ Put: { TableName: tableName, Item: duplicateEntry(b, a, plan, at.entryAt, entryId) } });
  }
  for (const identity of plan.skipped) {
    items.push({
      Put: { TableName: tableName, Item: skippedEntry(contactId, identity, at.entryAt, entryId) },
    });
  }
  return items;
}

/** The timeline entry of a possible-duplicate link, on `contactId`'s timeline. */
function duplicateEntry(
  contactId: string,
  other: string,
  plan: IdentityPlan,
  occurredAt: string,
  entryId: string,
) {
  const interactionId = `${entryId}:duplicate:${other}`;
  const by = plan.matchedBy;
  const why =
    plan.kind === 'new_linked'
      ? 'a capture matched by what it claims brought identities that may not be added to a contact with verified ones'
      : 'one capture’s identities point at both, but not with verified evidence for both';
  return interactionItem.system({
    contactId,
    occurredAt,
    interactionId,
    event: 'possible_duplicate',
    possibleDuplicate: other,
    ...(by ? { matchedBy: by } : {}),
    summary: `Possible duplicate of contact ${other}, not merged: ${why}${
      by ? ` (matched ${by.identity}, ${by.provenance}, on ${by.contactId})` : ''
    }`,
  });
}

function skippedEntry(contactId: string, identity: CaptureIdentity, occurredAt: string, entryId: string) {
  const interactionId = `${entryId}:skipped:${identity.key}`;
  return interactionItem.system({
    contactId,
    occurredAt,
    interactionId,
    event: 'identity_skipped',
    skippedIdentity: identity.key,
    summary: `Identity ${identity.key} not added: it is claimed, and this contact has verified identities`,
  });
}

export async function getProfile(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
): Promise<ContactProfile | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.contact(contactId), ConsistentRead: true }),
  );
  return Item ? (parseItem(profileItemSchema, Item) as ContactProfile) : undefined;
}

/**
 * The contact that survives a merge: one that has an owner, then the oldest, then the smallest id
 * (`survivorOf` in core, which the identity planner uses).
 */
export function chooseSurvivor(profiles: readonly ContactProfile[]): ContactProfile {
  return survivorOf(profiles);
}

/**
 * Moves everything of `loser` into `survivor`, recorded so that it can be undone (`unmergeContacts`).
 * First a fence, atomically: the loser is marked `mergingInto` with the merge's id (so routing writes to
 * it fail and are retried against the survivor) and the survivor records the pending merge; refused when
 * either side is already being merged, so two routers can never merge A into B and B into A, and when
 * the loser is itself receiving a merge (`pendingMerges`), so nothing still being copied into it can be
 * left behind. Then the merge record (`MERGE#<mergeId>`: the loser's profile and identities) is written
 * before anything moves; identities are re-pointed and leads and timeline entries moved, each carrying an
 * undo note; the survivor gains the loser's emails, phones, handles, verified marks and open
 * conversations (within the bounds: the newest conversations of both stay open, identities past the bound
 * stay claimed but unlisted) atomically with the merge's timeline entry and what it gained on the record;
 * the loser is marked `mergedInto`, and the pending mark is cleared last. Every step can be repeated: a
 * crash midway is finished by the next resolution that meets the survivor. Returns the merge id.
 */
async function mergeInto(
  doc: DynamoDBDocumentClient,
  tableName: string,
  survivor: ContactProfile,
  loser: ContactProfile,
  now: string,
  proposedMergeId: string,
): Promise<string> {
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              ...contactItem.fence(loser.contactId, survivor.contactId, now, proposedMergeId),
            },
          },
          {
            Update: {
              TableName: tableName,
              ...contactItem.mergePending(survivor.contactId, loser.contactId),
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (error instanceof TransactionCanceledException && isRace(error)) {
      // Already merged by an earlier attempt: only the pending mark may be left to clear.
      const current = await getProfile(doc, tableName, loser.contactId);
      if (current?.mergedInto === survivor.contactId) {
        await clearPending(doc, tableName, survivor.contactId, loser.contactId);
        return current.mergeId ?? proposedMergeId;
      }
      throw new MergeFenceConflict(
        `Contact ${loser.contactId} or ${survivor.contactId} is being merged elsewhere`,
      );
    }
    throw error;
  }

  // Read after the fence: nothing can be added to the loser any more, so this copy is complete.
  const items = await queryContact(doc, tableName, loser.contactId);
  const profile = (items.find((item) => item.sk === 'PROFILE') ?? {}) as ContactProfile &
    Record<string, unknown>;
  // The fence keeps the first id: every router finishing this merge records and moves under it.
  const mergeId = profile.mergeId ?? proposedMergeId;
  const mergeAt = profile.mergingAt ?? now;
  const owner = survivor.ownerId;
  const identities = [...(profile.identities ?? [])];
  // Identities the loser claimed past its bound are listed only on its timeline: re-pointed before
  // those entries move, so a crash midway cannot lose track of them.
  const unlisted = items.flatMap((item) =>
    item.sk !== 'PROFILE' && typeof item.unlistedIdentity === 'string' ? [item.unlistedIdentity] : [],
  );
  await recordMerge(doc, tableName, {
    ...keys.merge(mergeId),
    type: 'merge',
    mergeId,
    survivorId: survivor.contactId,
    loserId: loser.contactId,
    status: 'started',
    startedAt: mergeAt,
    loser: Object.fromEntries(
      Object.entries(profile).filter(([name]) => !(FENCE_ATTRIBUTES as readonly string[]).includes(name)),
    ),
    identities,
  });
  for (const identity of new Set([...unlisted, ...identities])) {
    await repoint(doc, tableName, identity, loser.contactId, survivor.contactId, mergeId);
  }
  for (const item of items) {
    if (item.sk === 'PROFILE') continue;
    const changes: Record<string, unknown> = {
      pk: keys.contact(survivor.contactId).pk,
      contactId: survivor.contactId,
    };
    // A queued lead (no owner yet) moves as it is and stays in its team's queue, to be drained as usual.
    if (item.type === 'lead' && owner && typeof item.ownerId === 'string' && item.ownerId !== owner) {
      Object.assign(changes, {
        ...(typeof item.ownerId === 'string' ? { previousOwnerId: item.ownerId } : {}),
        ownerId: owner,
        gsi1pk: keys.owner(owner),
      });
    }
    await moveItem(doc, tableName, item, withMergeUndo(item, changes, mergeId), survivor.contactId);
  }

  const summary = `Merged contact ${loser.contactId} (created ${loser.createdAt}${
    loser.ownerId ? `, owner ${loser.ownerId}` : ''
  }) as ${mergeId}: ${identities.length} identities, ${items.length - 1} timeline items and leads; undo with \`admin -- unmerge ${mergeId}\``;
  for (let attempt = 1; ; attempt++) {
    // The survivor as it stands now: concurrent captures may have added identities or conversations.
    const current = await getProfile(doc, tableName, survivor.contactId);
    if (!current) throw new Error(`Contact ${survivor.contactId} vanished while merging`);
    const plan = planMergeUpdate(current, profile, unlisted, now);
    // Refusals only grow as the survivor fills, so recording them ahead of the update stays true.
    const unlistedEntries: string[] = [];
    for (const identity of plan.refused) {
      if (unlisted.includes(identity)) continue; // already on the moved timeline
      const entryId = `${mergeId}:identity:${identity}`;
      unlistedEntries.push(entryId);
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: unlistedIdentityEntry(survivor.contactId, identity, mergeAt, entryId, plan.listedAfter),
        }),
      );
    }
    const gained: MergeGains = {
      ...plan.gained,
      conversationsRetired: Object.fromEntries(
        plan.retired.flatMap((id) => {
          const entry = current.conversations?.[id];
          return entry ? [[id, entry satisfies OpenConversation]] : [];
        }),
      ),
      unlistedEntries,
      updatedAt: { ...(current.updatedAt ? { before: current.updatedAt } : {}), after: now },
    };
    try {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: tableName,
                ...plan.update,
              },
            },
            {
              // Written once, with the update it describes: a repeat of the merge finds it and stops.
              Put: {
                TableName: tableName,
                ...interactionItem.put(
                  interactionItem.system({
                    contactId: survivor.contactId,
                    occurredAt: mergeAt,
                    interactionId: mergeId,
                    event: 'merged',
                    mergeId,
                    summary: `${summary}${plan.summary}`,
                    merge: {
                      mergeId,
                      survivorId: survivor.contactId,
                      mergedId: loser.contactId,
                      identities,
                      ...plan.record,
                    },
                  }),
                ),
              },
            },
            {
              Update: {
                TableName: tableName,
                ...mergeItem.done(mergeId, now, gained),
              },
            },
          ],
        }),
      );
      break;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [update, entry] = error.CancellationReasons ?? [];
      if (entry?.Code === 'ConditionalCheckFailed') break; // an earlier attempt of this merge did it
      if (update?.Code !== 'ConditionalCheckFailed' && !isRace(error)) throw error;
      if (attempt >= MAX_ATTEMPTS) {
        throw new MergeFenceConflict(`Contact ${survivor.contactId} kept changing while merging`);
      }
    }
  }
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      ...contactItem.merged(loser.contactId, survivor.contactId, now),
    }),
  );
  await clearPending(doc, tableName, survivor.contactId, loser.contactId);
  // A merge may resolve the survivor's last possible duplicate: then it leaves the admins' hygiene list.
  await settleDuplicateHygiene(doc, tableName, survivor.contactId);
  return mergeId;
}

/** Writes the merge's record once; a router finishing the same merge finds it written. */
async function recordMerge(doc: DynamoDBDocumentClient, tableName: string, record: MergeRecordItem) {
  await doc
    .send(
      new PutCommand({
        TableName: tableName,
        ...mergeItem.record(record),
      }),
    )
    .catch((error: unknown) => {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    });
}

/**
 * Moves one item of the loser to the survivor's partition, atomically: the copy and the delete commit
 * together, only while the original is still there (a router finishing the same merge may have moved it)
 * and while the survivor is not itself being merged away (which a slow router's stale copy must not reach).
 * A conflict with another router's write is tried again.
 */
async function moveItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  original: Record<string, unknown>,
  moved: Record<string, unknown>,
  survivorId: string,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: { TableName: tableName, ...contactItem.notMerging(survivorId) },
            },
            { Put: { TableName: tableName, Item: moved } },
            {
              Delete: {
                TableName: tableName,
                ...mergeItem.deleteOriginal(original),
              },
            },
          ],
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [survivor, , source] = error.CancellationReasons ?? [];
      if (survivor?.Code === 'ConditionalCheckFailed' || source?.Code === 'ConditionalCheckFailed') return;
      if (!isRace(error) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

async function clearPending(
  doc: DynamoDBDocumentClient,
  tableName: string,
  survivorId: string,
  loserId: string,
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      ...contactItem.mergeCleared(survivorId, loserId),
    }),
  );
}

/**
 * Points a claimed identity at the survivor, with an undo note, unless a third merge already took it
 * elsewhere (or a router finishing the same merge already re-pointed it).
 */
async function repoint(
  doc: DynamoDBDocumentClient,
  tableName: string,
  identity: string,
  loserId: string,
  survivorId: string,
  mergeId: string,
): Promise<void> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.identity(identity), ConsistentRead: true }),
  );
  if (!Item || Item.contactId !== loserId) return;
  const changed = withMergeUndo(Item, { contactId: survivorId, mergedFrom: loserId }, mergeId);
  await doc
    .send(
      new UpdateCommand({
        TableName: tableName,
        ...identityItem.repoint(identity, { loserId, survivorId, undo: changed.mergeUndo }),
      }),
    )
    .catch((error: unknown) => {
      // Re-pointed meanwhile (by a router finishing this merge, or a third merge).
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    });
}

/**
 * The survivor's update for a merge, within the bounds: the loser's identities, emails and phones while
 * the survivor has room, and the newest open conversations of both. Guarded so that a concurrent capture
 * growing the survivor meanwhile makes the update fail and be planned again.
 */
function planMergeUpdate(
  survivor: ContactProfile,
  loser: ContactProfile,
  unlisted: readonly string[],
  now: string,
) {
  const admitted = admitMergedPoints(survivor, loser, unlisted, MAX_IDENTITIES);
  // Verified stays verified: a subset of the identities added, so within their bound.
  const verified = admitted.identities.add.filter((identity) => loser.verifiedIdentities?.has(identity));
  // Contacts an administrator separated from the loser stay apart from what it is now part of.
  const separated = [...(loser.separatedFrom ?? [])].filter(
    (id) => id !== survivor.contactId && !survivor.separatedFrom?.has(id),
  );
  const conversations = planConversationMerge(survivor.conversations, loser.conversations);
  const update = contactItem.mergeSurvivor({
    survivorId: survivor.contactId,
    loserId: loser.contactId,
    now,
    bounded: {
      identities: admitted.identities.add,
      emails: admitted.emails,
      phones: admitted.phones,
    },
    bound: MAX_IDENTITIES,
    verified,
    separated,
    conversationsAdded: Object.entries(conversations.add).map(([conversationId, entry]) => {
      // The merge gives the moved leads the survivor's owner, so their conversations follow that owner too.
      const { ownerId: _movedOwner, ...moved } = entry as OpenConversation;
      return [conversationId, survivor.ownerId ? { ...moved, ownerId: survivor.ownerId } : moved] as const;
    }),
    conversationsRetired: conversations.retire,
    conversationsBefore: conversations.maxSizeBefore,
  });
  const refused = admitted.identities.refused;
  const listedAfter = (survivor.identities?.size ?? 0) + admitted.identities.add.length;
  const notes = [
    ...(conversations.retire.length + conversations.dropped.length > 0
      ? [
          `${conversations.retire.length} oldest open conversations retired and ${conversations.dropped.length} not carried over: the contact keeps at most ${MAX_OPEN_CONVERSATIONS}`,
        ]
      : []),
    ...(refused.length > 0
      ? [`${refused.length} identities not added: the contact has ${listedAfter} identities`]
      : []),
  ];
  return {
    update,
    refused,
    listedAfter,
    retired: conversations.retire,
    gained: {
      identities: admitted.identities.add,
      emails: admitted.emails,
      phones: admitted.phones,
      verifiedIdentities: verified,
      separatedFrom: separated,
      conversationsAdded: Object.keys(conversations.add),
    },
    summary: notes.length > 0 ? `; ${notes.join('; ')}` : '',
    record: {
      ...(conversations.retire.length > 0 ? { retiredConversations: conversations.retire } : {}),
      // Bounded: the loser's profile keeps its map, so the full list is never lost.
      ...(conversations.dropped.length > 0
        ? { droppedConversations: conversations.dropped.slice(-MAX_OPEN_CONVERSATIONS) }
        : {}),
      ...(refused.length > 0 ? { unlistedIdentities: refused.slice(0, MAX_IDENTITIES) } : {}),
    },
  };
}

/**
 * The timeline entry of an identity claimed for a contact but not listed on its profile. The entry is
 * also how a later merge of this contact finds the claim to re-point it.
 */
function unlistedIdentityEntry(
  contactId: string,
  identity: string,
  occurredAt: string,
  interactionId: string,
  listed: number,
) {
  return interactionItem.system({
    contactId,
    occurredAt,
    interactionId,
    event: 'identity_unlisted',
    unlistedIdentity: identity,
    summary: `Identity ${identity} not added: the contact has ${listed} identities, at most ${MAX_IDENTITIES} are kept; captures with it still reach this contact`,
  });
}

/** Every item of a contact's partition (its profile, leads and timeline). */
export async function queryContact(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        ...contactItem.partition(contactId),
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

function profileAttributes(details: ContactDetails, identities: readonly string[]) {
  return {
    ...(details.name ? { name: details.name } : {}),
    identities: new Set(identities),
    ...(details.email && identities.some((identity) => identity.startsWith('email:'))
      ? { emails: new Set([details.email]) }
      : {}),
    ...(details.phone && identities.some((identity) => identity.startsWith('phone:'))
      ? { phones: new Set([details.phone]) }
      : {}),
  };
}

/** True when a transaction failed only because a condition lost a race (not throttling or errors). */
export function isConditionalConflict(error: TransactionCanceledException): boolean {
  const reasons = error.CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');
}

/**
 * True when a transaction lost a race: a condition failed, or another transaction held an item. Either
 * way, reading again and trying again is the answer.
 */
function isRace(error: TransactionCanceledException): boolean {
  const reasons = error.CancellationReasons ?? [];
  return reasons.some(
    (reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict',
  );
}

/** A merge a person asked for was refused: the contacts are already one, or one is being merged. */
export class MergeRefused extends Error {
  override readonly name = 'MergeRefused';
}

/**
 * Merges `loserId` into `survivorId` because a person decided they are the same customer (a possible
 * duplicate resolved): the same recorded, undoable merge routing performs on proof. Returns the merge id.
 */
export async function mergeContactsManually(
  doc: DynamoDBDocumentClient,
  tableName: string,
  survivorId: string,
  loserId: string,
  options: { readonly now: string; readonly newMergeId: () => string },
): Promise<string> {
  if (survivorId === loserId) throw new MergeRefused('A contact cannot be merged into itself.');
  const [survivor, loser] = await Promise.all([
    getProfile(doc, tableName, survivorId),
    getProfile(doc, tableName, loserId),
  ]);
  if (!survivor || !loser)
    throw new MergeRefused(`Contact ${survivor ? loserId : survivorId} does not exist.`);
  for (const profile of [survivor, loser]) {
    if (profile.mergedInto || profile.mergingInto) {
      throw new MergeRefused(
        `Contact ${profile.contactId} was merged into ${profile.mergedInto ?? profile.mergingInto}.`,
      );
    }
    if (profile.unmerging) throw new MergeRefused(`Contact ${profile.contactId} is being separated.`);
  }
  if ((loser.pendingMerges?.size ?? 0) > 0 || (survivor.pendingMerges?.size ?? 0) > 0) {
    throw new MergeRefused('One of the contacts is still receiving a merge; try again in a moment.');
  }
  try {
    return await mergeInto(doc, tableName, survivor, loser, options.now, options.newMergeId());
  } catch (error) {
    if (error instanceof MergeFenceConflict) throw new MergeRefused(error.message);
    throw error;
  }
}
