/**
 * Bounds on what one contact's profile item accumulates. Anyone who knows a customer's email can post chat
 * messages with fresh visitor and session ids; unbounded, each post adds an identity and an open
 * conversation to that one item until DynamoDB refuses to write it (400 KB) and every later lead of the
 * customer is dead-lettered. The decisions here are pure: adapters read the state, plan, and commit.
 *
 * Worst case per profile (DynamoDB counts attribute names and UTF-8 values; all ids here are ASCII):
 * - identities: `email:` + 254 = 260 B each (a chat visitor is `chat:` + 128 = 133 B), and the address once
 *   more in `emails` (254 B) or the number in `phones` (16 B): 50 × (260 + 254) ≈ 26 KB;
 * - open conversations: a key of up to ~200 B (`chat:<widget>:<session>`) and a value
 *   `{ leadId, lastAt }` of 6 + 26 + 6 + 24 B plus map overhead ≈ 70 B; with room for longer lead ids,
 *   ≤ 500 B each: 50 × 500 = 25 KB;
 * - verified identities: a subset of the listed ones, again at most 50 × 260 B ≈ 13 KB;
 * - possible duplicates: contact ids (26 B): 50 × 26 ≈ 1.3 KB. Every public form with a customer's number
 *   and a fresh address makes a contact linked to the customer, so this set needs its bound too.
 * Together ≈ 65 KB, a sixth of the item limit, leaving ample room for the name, owner, counters and merge
 * marks. Fifty is far more than one person uses (a few addresses and numbers, one chat visitor per browser).
 */

/** Identities listed on one contact's profile (claims past it still point to the contact). */
export const MAX_IDENTITIES = 50;
/** Open conversations on one contact's profile; past it the oldest are retired. */
export const MAX_OPEN_CONVERSATIONS = 50;
/** Possible duplicates listed on one contact's profile; past it links are kept on the timeline only. */
export const MAX_POSSIBLE_DUPLICATES = 50;

/** An entry of a contact's map of open conversations. */
export interface OpenConversation {
  readonly leadId: string;
  readonly lastAt: string;
  /** Who holds the lead, so its messages reach them (a substitute, not the contact's usual owner). */
  readonly ownerId?: string | undefined;
}
export type OpenConversations = Readonly<Record<string, OpenConversation>>;

export interface IdentityAdmission {
  /** New identities to list on the profile, in the order given (strongest first). */
  readonly add: readonly string[];
  /** New identities past the bound: not listed. */
  readonly refused: readonly string[];
}

/**
 * Which of `incoming` join a set that already holds `current`: new ones in order until the set holds
 * `bound`, the rest refused. Ones already present are neither. A set already past the bound (grown before
 * bounds existed) takes none.
 */
export function admitIdentities(
  current: Iterable<string> | undefined,
  incoming: readonly string[],
  bound: number = MAX_IDENTITIES,
): IdentityAdmission {
  const present = new Set(current ?? []);
  const fresh = [...new Set(incoming)].filter((identity) => !present.has(identity));
  const room = Math.max(0, bound - present.size);
  return { add: fresh.slice(0, room), refused: fresh.slice(room) };
}

/** What a profile lists of a person: identity keys, and the addresses and numbers as written. */
export interface ContactPoints {
  readonly identities?: Iterable<string> | undefined;
  readonly emails?: Iterable<string> | undefined;
  readonly phones?: Iterable<string> | undefined;
}

export interface MergeAdmission {
  readonly identities: IdentityAdmission;
  readonly emails: readonly string[];
  readonly phones: readonly string[];
}

/**
 * What a survivor lists of a merged contact's points: its identities (`extra` are ones it claimed without
 * listing them) while there is room, and each email or phone only if the survivor then lists its identity
 * (`email:<address lowercased>`, `phone:<E.164>`), so those sets stay within the bound too.
 */
export function admitMergedPoints(
  survivor: ContactPoints,
  merged: ContactPoints,
  extra: readonly string[] = [],
  bound: number = MAX_IDENTITIES,
): MergeAdmission {
  const identities = admitIdentities(survivor.identities, [...(merged.identities ?? []), ...extra], bound);
  const listed = new Set([...(survivor.identities ?? []), ...identities.add]);
  const follow = (
    own: Iterable<string> | undefined,
    theirs: Iterable<string> | undefined,
    key: (v: string) => string,
  ) =>
    admitIdentities(
      own,
      [...(theirs ?? [])].filter((value) => listed.has(key(value))),
      bound,
    ).add;
  return {
    identities,
    emails: follow(survivor.emails, merged.emails, (email) => `email:${email.toLowerCase()}`),
    phones: follow(survivor.phones, merged.phones, (phone) => `phone:${phone}`),
  };
}

export interface ConversationWritePlan {
  /** Conversations to remove, oldest first; never the one written. */
  readonly retire: readonly string[];
  /** The written conversation is not in the map yet. */
  readonly isNew: boolean;
  /** The map's size after the write. */
  readonly size: number;
  /**
   * The commit's guard: the stored map may hold at most this many entries when the write commits (with
   * every retired entry still present, and the written one present unless `isNew`) for `size` to hold.
   */
  readonly maxSizeBefore: number;
}

/**
 * Setting `conversationId` in the map: retires the oldest others (by last message, then id) so the map
 * keeps at most `bound` entries. The written conversation is always kept. A map already past the bound
 * (grown before bounds existed) loses at most `bound` per write, so the commit stays small.
 */
export function planConversationWrite(
  current: OpenConversations | undefined,
  conversationId: string,
  bound: number = MAX_OPEN_CONVERSATIONS,
): ConversationWritePlan {
  const map = current ?? {};
  const isNew = !Object.hasOwn(map, conversationId);
  const others = Object.entries(map)
    .filter(([id]) => id !== conversationId)
    .sort(oldestFirst);
  const excess = others.length + 1 - bound;
  const retire = others.slice(0, Math.min(Math.max(0, excess), bound)).map(([id]) => id);
  const size = others.length + 1 - retire.length;
  return { retire, isNew, size, maxSizeBefore: Math.max(bound, size) + retire.length - (isNew ? 1 : 0) };
}

export interface ConversationMergePlan {
  /** The merged contact's conversations to set on the survivor. */
  readonly add: OpenConversations;
  /** The survivor's own conversations to remove, oldest first. */
  readonly retire: readonly string[];
  /** The merged contact's conversations not carried over, oldest first. */
  readonly dropped: readonly string[];
  /** The survivor's map size after the merge. */
  readonly size: number;
  /** The commit's guard, as for a write: the stored map's largest size for `size` to hold. */
  readonly maxSizeBefore: number;
}

/**
 * Carrying a merged contact's open conversations over to the survivor: of both maps together (the
 * survivor's entry wins when both have a conversation, ranked by the later of the two) the newest `bound`
 * stay open; the survivor's older
 * ones are retired and the merged contact's older ones are not carried over. A survivor already past the
 * bound retires at most `bound` per merge and takes only what then fits.
 */
export function planConversationMerge(
  current: OpenConversations | undefined,
  incoming: OpenConversations | undefined,
  bound: number = MAX_OPEN_CONVERSATIONS,
): ConversationMergePlan {
  const own = current ?? {};
  const theirs = incoming ?? {};
  const ownCount = Object.keys(own).length;
  // A conversation both had ranks by its later last message, so retiring the survivor's entry never
  // lets the merged contact's newer entry of it come back on a repeat of the merge.
  const rankOf = (id: string, entry: OpenConversation): OpenConversation => {
    const other = Object.hasOwn(theirs, id) ? theirs[id] : undefined;
    return other && timeOf(other.lastAt) > timeOf(entry.lastAt) ? other : entry;
  };
  const union = [
    ...Object.entries(own).map(([id, entry]) => ({ id, entry, rank: rankOf(id, entry), own: true })),
    ...Object.entries(theirs)
      .filter(([id]) => !Object.hasOwn(own, id))
      .map(([id, entry]) => ({ id, entry, rank: entry, own: false })),
  ].sort((a, b) => oldestFirst([a.id, a.rank], [b.id, b.rank]));
  const kept = new Set(union.slice(Math.max(0, union.length - bound)).map(({ id }) => id));
  const retire = union
    .filter(({ id, own }) => own && !kept.has(id))
    .slice(0, bound)
    .map(({ id }) => id);
  const room = Math.max(0, bound - (ownCount - retire.length));
  // Newest first, so whatever room is left goes to the merged contact's most recent conversations.
  const candidates = union.filter(({ id, own }) => !own && kept.has(id)).reverse();
  const added = candidates.slice(0, room);
  const addedIds = new Set(added.map(({ id }) => id));
  const add: Record<string, OpenConversation> = {};
  for (const { id, entry } of [...added].reverse()) add[id] = entry;
  const dropped = union.filter(({ id, own }) => !own && !addedIds.has(id)).map(({ id }) => id);
  const size = ownCount - retire.length + added.length;
  return {
    add,
    retire,
    dropped,
    size,
    maxSizeBefore: Math.max(bound, size) + retire.length - added.length,
  };
}

/** Oldest last message first, then by id, so every router orders a map the same way. */
function oldestFirst(a: readonly [string, OpenConversation], b: readonly [string, OpenConversation]): number {
  return timeOf(a[1].lastAt) - timeOf(b[1].lastAt) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/** An unreadable time sorts as the oldest, so it is retired first. */
function timeOf(iso: string): number {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}
