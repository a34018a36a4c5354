import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  ConflictError,
  identityKeys as captureIdentityKeys,
  NotFoundError,
  RoleForbiddenError,
  ServiceUnavailableError,
  type Viewer,
} from '@leadflow/core';
import { queryContact } from '../contacts';
import { keys, privacyItem, privacyKeys } from '../items';
import { AuditLog } from './audit';
import type { DataContext } from './context';

/**
 * A data subject's rights over HTTP, for admins: everything stored about a contact (export) and the removal
 * of its personal data everywhere (erase), each recorded in the audit trail without the data itself.
 *
 * How every item is found, without a scan (the links are on the contact's own items):
 * - the contact: its id; a merged-away id resolves to the contact it was merged into, and the contacts merged
 *   into that one (`mergedFrom`, whose profiles still say `mergedInto`) are the same person;
 * - its partition: the profile, leads (each with the capture that opened it), timeline, notes and tasks;
 * - identity claims: the identities on the profiles, the unlisted and skipped ones on the timeline, the ones a
 *   merge record names, and those of every capture; only claims that point to one of the contacts are theirs;
 * - merge records (`MERGE#`): the merge id on merged-away profiles, on `merged`/`unmerged` entries and on every
 *   item a merge moved (`mergeUndo`);
 * - stored submissions (`SUB#<hash>`): gsi3 `SUBID#<submission id>`, for each capture's id (a lead's id, an
 *   inbound timeline entry's id); submissions stored before that link existed expire by their TTL;
 * - the notifier's send records (`NOTIFY#`): the notification ids routing and reassignment give
 *   (`<submission>:<kind>`, `<submission>:team_warning:<recipient>`, `<lead>:dequeued:…`, `<lead>:reassigned:<v>:…`),
 *   keyed as Powertools keys them with the notifier's fixed prefix;
 * - the acknowledgement ledger (`ACK#MAILBOX#`): the hash of each email address of the contact and its captures;
 * - raw inbound mail (S3): the delivery id on each email capture (`email.deliveryId`).
 */

type Item = Record<string, unknown>;

/** The most contacts one person can be made of (itself and everything merged into it), followed. */
const MAX_CONTACTS = 100;
const MAX_HOPS = 10;
/** Raw mail in an export: at most this much of one message, and of all of them together. */
const RAW_MAIL_PART_BYTES = 256 * 1024;
const RAW_MAIL_TOTAL_BYTES = 2 * 1024 * 1024;
/** The summary an erased timeline entry keeps. */
export const ERASED_SUMMARY = 'Erased';
/** SES message ids: what a capture's Message-ID may be when the mail had none (the raw object's key). */
const SES_MESSAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
/** Timeline entry ids that carry an identity or a conversation id in their sort key. */
const KEY_WITH_PII = /:(?:identity|skipped|retired):/;

/** Attribute names, written as words. */
const words = (text: string): readonly string[] => text.trim().split(/\s+/);

/** What is kept of each kind of item when its contact is erased: ids, structure, time, money; no text. */
const KEEP = {
  common: words(`
    pk sk type contactId leadId taskId interactionId createdAt updatedAt occurredAt version
    erasedAt mergeId mergeUndo
  `),
  profile: words(`
    ownerId mergedInto mergedAt mergedFrom separatedFrom duplicateOf leadCount channels
    sources lastLeadAt lastAcknowledgedAt profileVersion
  `),
  lead: words(`
    status channel sourceId teamId ownerId previousOwnerId queuedAt dequeuedAt assignedAt
    assignment rule possibleDuplicateOf priority score tags urgent capturedAt lastMessageAt
    messageCount capture gsi1pk gsi1sk gsi2pk gsi2sk gsi3pk gsi3sk touchedAt contactedAt
    qualifiedAt proposalAt wonAt lostAt closedAt amount currency acknowledgedAt
    acknowledgedBy firstResponseAt firstResponseBy firstResponseVia speedToLeadMs
  `),
  timeline: words(`
    channel direction mode event acknowledge notify assignment actor role from to strategy
    taskType dueAt assigneeId amount currency possibleDuplicate possibleDuplicateOf
    separatedFrom summary
  `),
  task: words(`
    teamId ownerId status dueAt assigneeId createdBy doneAt doneBy gsi1pk gsi1sk gsi3pk
    gsi3sk
  `),
  merge: words('survivorId loserId status startedAt completedAt undoneAt loser identities gained'),
};

/** Counts of what an erasure removed or scrubbed. */
export interface ErasureCounts {
  /** Profiles turned into tombstones (the contact and the contacts merged into it). */
  contacts: number;
  identities: number;
  leads: number;
  /** Timeline entries (notes among them) scrubbed, or deleted when their key names an identity. */
  timelineEntries: number;
  tasks: number;
  otherItems: number;
  submissions: number;
  notificationRecords: number;
  acknowledgementRecords: number;
  rawMailObjects: number;
  mergeRecords: number;
  /** Other contacts' entries that named this one (possible duplicates, undone merges), scrubbed. */
  linkedEntries: number;
}

export interface ErasureResult {
  /** The contact erased (the survivor, when the id asked for was merged into it). */
  readonly contactId: string;
  /** The id asked for, when it had been merged into `contactId`. */
  readonly resolvedFrom?: string;
  /** Contacts merged into this one, erased with it. */
  readonly mergedContacts: string[];
  /** When the contact was first erased. */
  readonly erasedAt: string;
  /** True when the contact was erased before: this run swept again (and found what its counts say). */
  readonly alreadyErased: boolean;
  /** What this run removed or scrubbed. */
  readonly erased: ErasureCounts;
}

export interface RawMailExport {
  /** The object's key in the raw-mail bucket. */
  readonly key: string;
  readonly status: 'found' | 'missing' | 'unreadable' | 'omitted';
  readonly size?: number;
  readonly encoding?: 'utf8' | 'base64';
  readonly content?: string;
  /** True when only the first part of the message is included. */
  readonly truncated?: boolean;
}

/** Everything stored about a contact: items as stored (sets as arrays), by kind. */
export interface ContactExport {
  readonly contactId: string;
  readonly resolvedFrom?: string;
  readonly exportedAt: string;
  readonly contact: Item;
  /** Profiles of the contacts merged into this one (what is left of them where they were). */
  readonly mergedContacts: Item[];
  readonly identities: Item[];
  readonly leads: Item[];
  /** Timeline entries other than notes, in time order. */
  readonly timeline: Item[];
  readonly notes: Item[];
  readonly tasks: Item[];
  /** Anything else in the contacts' partitions. */
  readonly otherItems: Item[];
  readonly merges: Item[];
  readonly submissions: Item[];
  readonly acknowledgements: Item[];
  readonly notifications: Item[];
  readonly rawMail: RawMailExport[];
}

/** What is stored about one person, gathered from the links on their items. */
interface Gathered {
  readonly contactId: string;
  readonly resolvedFrom?: string;
  /** Every contact that is this person, the survivor first, with its partition's items. */
  readonly partitions: Map<string, Item[]>;
  readonly merges: Item[];
  readonly identities: Item[];
  readonly submissions: Item[];
  readonly notifications: Item[];
  readonly acknowledgements: Item[];
  readonly rawMailIds: string[];
  /** Strings that are this person's data (identities, addresses, numbers, conversation ids). */
  readonly needles: string[];
}

/** Exports and erases contacts; admins only, whatever the route says. */
export class PrivacyRepository {
  private readonly audit: AuditLog;

  constructor(private readonly data: DataContext) {
    this.audit = new AuditLog(data);
  }

  /** Everything stored about the contact (a merged-away id answers for the contact it was merged into). */
  async export(viewer: Viewer, contactId: string): Promise<ContactExport> {
    requireAdmin(viewer, 'export a contact');
    const gathered = await this.gather(contactId);
    const all = [...gathered.partitions.values()].flat();
    const profiles = all.filter((item) => item.sk === 'PROFILE');
    const timeline = all.filter(isTimeline).sort(bySk);
    const result: ContactExport = {
      contactId: gathered.contactId,
      ...(gathered.resolvedFrom ? { resolvedFrom: gathered.resolvedFrom } : {}),
      exportedAt: this.data.clock().toISOString(),
      contact: plainItem(profiles.find((item) => item.contactId === gathered.contactId) ?? {}),
      mergedContacts: profiles.filter((item) => item.contactId !== gathered.contactId).map(plainItem),
      identities: gathered.identities.map(plainItem),
      leads: all.filter(isLead).map(plainItem),
      timeline: timeline.filter((item) => item.event !== 'note').map(plainItem),
      notes: timeline.filter((item) => item.event === 'note').map(plainItem),
      tasks: all.filter(isTask).map(plainItem),
      otherItems: all.filter((item) => kindOf(item) === 'other').map(plainItem),
      merges: gathered.merges.map(plainItem),
      submissions: gathered.submissions.map(plainItem),
      acknowledgements: gathered.acknowledgements.map(plainItem),
      notifications: gathered.notifications.map(plainItem),
      rawMail: await this.readRawMail(gathered.rawMailIds),
    };
    await this.audit.record(
      viewer,
      'contact.exported',
      `contact:${gathered.contactId}`,
      `Contact exported: ${result.leads.length} leads, ${timeline.length} timeline entries, ${result.rawMail.length} raw messages`,
      {
        ...(gathered.resolvedFrom ? { resolvedFrom: gathered.resolvedFrom } : {}),
        mergedContacts: result.mergedContacts.length,
        leads: result.leads.length,
        timelineEntries: timeline.length,
        submissions: result.submissions.length,
        rawMail: result.rawMail.length,
      },
    );
    return result;
  }

  /**
   * Removes the contact's personal data everywhere and leaves a tombstone (`erasedAt`, ids and counts only).
   * Leads keep their ids, channel, source, status, times and amounts; the daily counters are untouched.
   * The items that hold the links are scrubbed last, so a run that stops midway is finished by the next;
   * repeating it is harmless and answers 200 again (`alreadyErased`). An id that never existed is a 404.
   */
  async erase(viewer: Viewer, contactId: string): Promise<ErasureResult> {
    requireAdmin(viewer, 'erase a contact');
    const gathered = await this.gather(contactId);
    const profiles = [...gathered.partitions.values()].flatMap((items) =>
      items.filter((item) => item.sk === 'PROFILE'),
    );
    const busy = profiles.find(
      (profile) =>
        // A merged-away contact keeps its fence (`mergingInto`) beside `mergedInto`: only a fence alone is busy.
        (profile.mergingInto !== undefined && profile.mergedInto === undefined) ||
        profile.unmerging !== undefined ||
        (profile.pendingMerges instanceof Set && profile.pendingMerges.size > 0),
    );
    if (busy) {
      throw new ConflictError(
        `Contact ${String(busy.contactId)} is being merged or separated; erase it once that is done.`,
        'merge_in_progress',
      );
    }
    if (gathered.rawMailIds.length > 0 && !this.data.rawMail) {
      throw new ServiceUnavailableError('The raw mail store is not configured here; nothing was erased.');
    }
    const survivor = profiles.find((profile) => profile.contactId === gathered.contactId);
    const alreadyErased = typeof survivor?.erasedAt === 'string';
    const erasedAt = alreadyErased ? String(survivor?.erasedAt) : this.data.clock().toISOString();
    const counts: ErasureCounts = {
      contacts: 0,
      identities: 0,
      leads: 0,
      timelineEntries: 0,
      tasks: 0,
      otherItems: 0,
      submissions: 0,
      notificationRecords: 0,
      acknowledgementRecords: 0,
      rawMailObjects: 0,
      mergeRecords: 0,
      linkedEntries: 0,
    };

    // 1. What lives outside the contacts' partitions, found through the links on their items.
    for (const identity of gathered.identities) {
      if (await this.deleteIdentity(identity)) counts.identities++;
    }
    for (const item of [...gathered.submissions, ...gathered.notifications, ...gathered.acknowledgements]) {
      await this.data.doc.send(
        new DeleteCommand({ TableName: this.data.tableName, ...privacyItem.remove(item) }),
      );
    }
    counts.submissions = gathered.submissions.length;
    counts.notificationRecords = gathered.notifications.length;
    counts.acknowledgementRecords = gathered.acknowledgements.length;
    for (const id of gathered.rawMailIds) await this.data.rawMail?.delete(id);
    counts.rawMailObjects = gathered.rawMailIds.length;
    const contactIds = new Set(gathered.partitions.keys());
    for (const record of gathered.merges) {
      if (await this.scrub(record, KEEP.merge, scrubbedMerge(record, erasedAt))) counts.mergeRecords++;
    }
    counts.linkedEntries = await this.scrubLinkedEntries(gathered, contactIds);

    // 2. The contacts' own items, the profiles (which hold the links) last.
    for (const items of gathered.partitions.values()) {
      for (const item of items) {
        const kind = kindOf(item);
        if (kind === 'profile') continue;
        if (kind === 'timeline' && keyNamesPerson(item, gathered.needles)) {
          await this.data.doc.send(
            new DeleteCommand({ TableName: this.data.tableName, ...privacyItem.remove(item) }),
          );
          counts.timelineEntries++;
          continue;
        }
        if (await this.scrubItem(item, kind, erasedAt)) {
          if (kind === 'lead') counts.leads++;
          else if (kind === 'timeline') counts.timelineEntries++;
          else if (kind === 'task') counts.tasks++;
          else counts.otherItems++;
        }
      }
    }
    const survivorFirstLast = [...profiles].sort(
      (a, b) => Number(a.contactId === gathered.contactId) - Number(b.contactId === gathered.contactId),
    );
    for (const profile of survivorFirstLast) {
      if (await this.scrub(profile, KEEP.profile, { erasedAt: stringOr(profile.erasedAt, erasedAt) })) {
        counts.contacts++;
      }
    }

    const mergedContacts = [...contactIds].filter((id) => id !== gathered.contactId);
    await this.audit.record(
      viewer,
      'contact.erased',
      `contact:${gathered.contactId}`,
      `Contact erased${alreadyErased ? ' again' : ''}: ${describeCounts(counts)}`,
      {
        ...(gathered.resolvedFrom ? { resolvedFrom: gathered.resolvedFrom } : {}),
        ...(mergedContacts.length > 0 ? { mergedContacts } : {}),
        alreadyErased,
        ...counts,
      },
    );
    return {
      contactId: gathered.contactId,
      ...(gathered.resolvedFrom ? { resolvedFrom: gathered.resolvedFrom } : {}),
      mergedContacts,
      erasedAt,
      alreadyErased,
      erased: counts,
    };
  }

  /** Follows the contact to the one it was merged into, and gathers everything stored about that person. */
  private async gather(contactId: string): Promise<Gathered> {
    const { id, resolvedFrom } = await this.resolve(contactId);
    const partitions = await this.partitionsOf(id);
    const all = [...partitions.values()].flat();
    const profiles = all.filter((item) => item.sk === 'PROFILE');
    const leads = all.filter(isLead);
    const timeline = all.filter(isTimeline);
    const captures = leads.flatMap((lead) => (isRecord(lead.capture) ? [lead.capture] : []));
    const inbound = timeline.filter((entry) => entry.direction === 'inbound');

    const merges = await this.mergesOf(all);
    const contactIds = new Set(partitions.keys());

    // Identity claims: wherever this person's identities are named.
    const identityKeys = new Set<string>();
    for (const profile of profiles) {
      for (const key of [...setOf(profile.identities), ...setOf(profile.verifiedIdentities)])
        identityKeys.add(key);
    }
    for (const entry of timeline) {
      for (const key of [entry.unlistedIdentity, entry.skippedIdentity]) {
        if (typeof key === 'string') identityKeys.add(key);
      }
    }
    for (const record of merges) {
      for (const key of [...setOf(record.identities), ...setOf(recordOf(record.gained).identities)]) {
        identityKeys.add(key);
      }
    }
    for (const capture of captures) {
      const contact = recordOf(capture.contact);
      const handles = recordOf(capture.handles) as Parameters<typeof captureIdentityKeys>[1];
      for (const key of captureIdentityKeys(contact as Parameters<typeof captureIdentityKeys>[0], handles)) {
        identityKeys.add(key);
      }
    }
    const identities = (await this.getMany([...identityKeys].map((key) => keys.identity(key)))).filter(
      (item) => contactIds.has(String(item.contactId)),
    );

    // Stored submissions: by each capture's id.
    const submissionIds = new Set<string>();
    for (const lead of leads) {
      submissionIds.add(String(lead.leadId));
      const submissionId = recordOf(lead.capture).submissionId;
      if (typeof submissionId === 'string') submissionIds.add(submissionId);
    }
    for (const entry of inbound)
      if (typeof entry.interactionId === 'string') submissionIds.add(entry.interactionId);
    const submissions = (
      await Promise.all([...submissionIds].map((submissionId) => this.submissionsOf(submissionId)))
    ).flat();

    // The notifier's send records, by the notification ids routing and reassignment give.
    const notificationIds = new Set<string>();
    for (const entry of inbound) {
      if (typeof entry.interactionId !== 'string') continue;
      for (const id of notificationIdsOf(entry.interactionId, entry)) notificationIds.add(id);
    }
    for (const lead of leads) {
      const leadId = String(lead.leadId);
      notificationIds.add(`${leadId}:dequeued:manager_alert`);
      const version = Math.min(Number(lead.version ?? 1), 500);
      for (let v = 2; v <= version; v++) notificationIds.add(`${leadId}:reassigned:${v}:manager_alert`);
    }
    const notifications = await this.getMany([...notificationIds].map(privacyKeys.notifyRecord));

    // The acknowledgement ledger: by each address the contact was written to.
    const addresses = new Set<string>();
    for (const profile of profiles) for (const email of setOf(profile.emails)) addresses.add(email);
    for (const capture of captures) {
      const email = recordOf(capture.contact).email;
      if (typeof email === 'string') addresses.add(email);
    }
    for (const record of merges) {
      for (const email of [
        ...setOf(recordOf(record.loser).emails),
        ...setOf(recordOf(record.gained).emails),
      ]) {
        addresses.add(email);
      }
    }
    const acknowledgements = await this.getMany(
      [...addresses].filter((address) => address.includes('@')).map(privacyKeys.ackMailbox),
    );

    // Raw inbound mail: the delivery id on each email capture.
    const rawMailIds = new Set<string>();
    for (const details of [
      ...captures.map((capture) => capture.email),
      ...timeline.map((entry) => entry.email),
    ]) {
      if (!isRecord(details)) continue;
      if (typeof details.deliveryId === 'string') rawMailIds.add(details.deliveryId);
      // Mail received before the delivery id was kept: without a Message-ID, the capture's id is SES's.
      else if (typeof details.messageId === 'string' && SES_MESSAGE_ID.test(details.messageId)) {
        rawMailIds.add(details.messageId);
      }
    }

    return {
      contactId: id,
      ...(resolvedFrom ? { resolvedFrom } : {}),
      partitions,
      merges,
      identities,
      submissions,
      notifications,
      acknowledgements,
      rawMailIds: [...rawMailIds],
      needles: needlesOf({ profiles, captures, timeline, merges, identityKeys, addresses }),
    };
  }

  /** The live contact an id stands for: itself, or the one it was (or is being) merged into. */
  private async resolve(contactId: string): Promise<{ id: string; resolvedFrom?: string }> {
    let id = contactId;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const profile = await this.get(keys.contact(id));
      if (!profile) {
        if (hop === 0) throw new NotFoundError(`No contact ${contactId}.`);
        throw new ConflictError(`Contact ${contactId} was merged into ${id}, which does not exist.`);
      }
      const next = stringOr(profile.mergedInto, stringOr(profile.mergingInto, ''));
      if (next === '') return id === contactId ? { id } : { id, resolvedFrom: contactId };
      id = next;
    }
    throw new ConflictError(`Contact ${contactId} was merged more than ${MAX_HOPS} times over.`);
  }

  /** The partitions of the contact and of every contact merged into it (theirs say `mergedInto` it). */
  private async partitionsOf(contactId: string): Promise<Map<string, Item[]>> {
    const partitions = new Map<string, Item[]>();
    const queue = [contactId];
    while (queue.length > 0 && partitions.size < MAX_CONTACTS) {
      const id = queue.shift() as string;
      if (partitions.has(id)) continue;
      const items = await queryContact(this.data.doc, this.data.tableName, id);
      partitions.set(id, items);
      const profile = items.find((item) => item.sk === 'PROFILE');
      for (const loserId of setOf(profile?.mergedFrom)) {
        if (partitions.has(loserId)) continue;
        const loser = await this.get(keys.contact(loserId));
        if (loser?.mergedInto === id) queue.push(loserId);
      }
    }
    return partitions;
  }

  /** The merge records named on the contacts' items (merged-away profiles, merge entries, moved items). */
  private async mergesOf(items: readonly Item[]): Promise<Item[]> {
    const ids = new Set<string>();
    const collect = (value: unknown, depth: number) => {
      if (!isRecord(value) || depth > 20) return;
      if (typeof value.mergeId === 'string') ids.add(value.mergeId);
      collect(value.merge, depth + 1);
      collect(value.mergeUndo, depth + 1);
      collect(recordOf(value.mergeUndo).set, depth + 1);
    };
    for (const item of items) collect(item, 0);
    return this.getMany([...ids].map((mergeId) => keys.merge(mergeId)));
  }

  private async submissionsOf(submissionId: string): Promise<Item[]> {
    const { Items } = await this.data.doc.send(
      new QueryCommand({
        TableName: this.data.tableName,
        IndexName: 'gsi3',
        ...privacyItem.submissions(submissionId),
      }),
    );
    return (Items ?? []).filter((item) => item.submissionId === submissionId);
  }

  /**
   * Scrubs the other contacts' entries that name this person: possible-duplicate links (what matched them)
   * and the `merged` entry an undone merge left on the contact it was merged into.
   */
  private async scrubLinkedEntries(gathered: Gathered, contactIds: ReadonlySet<string>): Promise<number> {
    let scrubbed = 0;
    const profiles = [...gathered.partitions.values()].flatMap((items) =>
      items.filter((item) => item.sk === 'PROFILE'),
    );
    const others = new Set<string>();
    for (const profile of profiles) {
      for (const id of setOf(profile.possibleDuplicates)) others.add(id);
      if (typeof profile.duplicateOf === 'string') others.add(profile.duplicateOf);
    }
    for (const other of others) {
      if (contactIds.has(other)) continue;
      for (const mentioned of contactIds) {
        const { Items } = await this.data.doc.send(
          new QueryCommand({
            TableName: this.data.tableName,
            ...privacyItem.duplicateMentions(other, mentioned),
          }),
        );
        for (const entry of Items ?? []) {
          const summary = `Possible duplicate of contact ${mentioned}, since erased`;
          if (await this.scrubSome(entry, ['matchedBy'], { summary })) scrubbed++;
        }
      }
    }
    for (const record of gathered.merges) {
      const survivorId = String(record.survivorId);
      if (contactIds.has(survivorId) || typeof record.startedAt !== 'string') continue;
      const entry = await this.get(keys.interaction(survivorId, record.startedAt, String(record.mergeId)));
      const summary = `Merged contact ${String(record.loserId)} as ${String(record.mergeId)}, since erased`;
      if (entry && (await this.scrubSome(entry, ['merge'], { summary }))) scrubbed++;
    }
    return scrubbed;
  }

  /** Scrubs one of the contact's items as its kind keeps it; false when it was clean already. */
  private scrubItem(item: Item, kind: ItemKind, erasedAt: string): Promise<boolean> {
    const at = stringOr(item.erasedAt, erasedAt);
    if (kind === 'lead') {
      // A lead waiting in its team's queue leaves it: nobody is to be given an erased person's lead. Open or
      // not, it leaves the stale-lead index too; its place in its owner's and team's listings stays.
      const queued = typeof item.teamId === 'string' && item.gsi1pk === keys.queue(item.teamId);
      const keep = queued ? KEEP.lead.filter((name) => name !== 'gsi1pk' && name !== 'gsi1sk') : KEEP.lead;
      return this.scrub(item, keep, {
        erasedAt: at,
        ...(isRecord(item.capture) ? { capture: scrubbedCapture(item.capture) } : {}),
      });
    }
    if (kind === 'timeline')
      return this.scrub(item, KEEP.timeline, { erasedAt: at, summary: ERASED_SUMMARY });
    if (kind === 'task') return this.scrub(item, KEEP.task, { erasedAt: at });
    return this.scrub(item, [], { erasedAt: at });
  }

  /**
   * Updates an item so that it holds only the common attributes, `keep` and `set`: false (and no write) when it
   * does already.
   */
  private async scrub(item: Item, keep: readonly string[], set: Item): Promise<boolean> {
    const kept = new Set<string>([...KEEP.common, ...keep]);
    const remove = Object.keys(item).filter((name) => !kept.has(name) && !(name in set));
    const changed = Object.fromEntries(
      Object.entries(set).filter(([name, value]) => !same(item[name], value)),
    );
    if (remove.length === 0 && Object.keys(changed).length === 0) return false;
    return this.update(item, changed, remove);
  }

  /** Removes the named attributes and sets others; false when there was nothing to change. */
  private async scrubSome(item: Item, remove: readonly string[], set: Item): Promise<boolean> {
    const present = remove.filter((name) => item[name] !== undefined);
    const changed = Object.fromEntries(
      Object.entries(set).filter(([name, value]) => !same(item[name], value)),
    );
    if (present.length === 0 && Object.keys(changed).length === 0) return false;
    return this.update(item, changed, present);
  }

  private async update(item: Item, set: Item, remove: readonly string[]): Promise<boolean> {
    try {
      await this.data.doc.send(
        new UpdateCommand({ TableName: this.data.tableName, ...privacyItem.scrub(item, { set, remove }) }),
      );
      return true;
    } catch (error) {
      // Moved or deleted meanwhile (a merge moving a timeline item): nothing of it is left here to scrub.
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private async deleteIdentity(identity: Item): Promise<boolean> {
    try {
      await this.data.doc.send(
        new DeleteCommand({
          TableName: this.data.tableName,
          ...privacyItem.removeClaim(identity, String(identity.contactId)),
        }),
      );
      return true;
    } catch (error) {
      // Gone, or re-pointed to someone else by a merge meanwhile: not this person's to delete.
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private async readRawMail(ids: readonly string[]): Promise<RawMailExport[]> {
    const store = this.data.rawMail;
    let budget = RAW_MAIL_TOTAL_BYTES;
    const result: RawMailExport[] = [];
    for (const id of ids) {
      const key = store?.key(id) ?? id;
      if (!store) {
        result.push({ key, status: 'unreadable' });
        continue;
      }
      if (budget <= 0) {
        result.push({ key, status: 'omitted' });
        continue;
      }
      try {
        const part = await store.readPart(id, Math.min(RAW_MAIL_PART_BYTES, budget));
        if (!part) {
          result.push({ key, status: 'missing' });
          continue;
        }
        budget -= part.bytes.length;
        const text = utf8(part.bytes);
        result.push({
          key,
          status: 'found',
          size: part.size,
          encoding: text === undefined ? 'base64' : 'utf8',
          content: text ?? Buffer.from(part.bytes).toString('base64'),
          truncated: part.bytes.length < part.size,
        });
      } catch {
        // Anything but "no such object" (a permission, an outage): named in the export, never hidden.
        result.push({ key, status: 'unreadable' });
      }
    }
    return result;
  }

  private async get(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const { Item } = await this.data.doc.send(
      new GetCommand({ TableName: this.data.tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  /** Reads many items by key (100 per request, unprocessed keys retried); the ones that exist. */
  private async getMany(itemKeys: readonly { pk: string; sk: string }[]): Promise<Item[]> {
    const unique = [...new Map(itemKeys.map((key) => [`${key.pk}\n${key.sk}`, key])).values()];
    const found: Item[] = [];
    for (let index = 0; index < unique.length; index += 100) {
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined =
        {
          [this.data.tableName]: { Keys: unique.slice(index, index + 100), ConsistentRead: true },
        };
      for (let round = 0; request; round++) {
        const result: BatchGetCommandOutput = await this.data.doc.send(
          new BatchGetCommand({ RequestItems: request }),
        );
        found.push(...(result.Responses?.[this.data.tableName] ?? []));
        const left = result.UnprocessedKeys?.[this.data.tableName]?.Keys ?? [];
        if (left.length === 0) break;
        if (round >= 8) throw new Error('DynamoDB kept items unprocessed; try again');
        await new Promise((done) => setTimeout(done, 2 ** round * 20));
        request = { [this.data.tableName]: { Keys: left, ConsistentRead: true } };
      }
    }
    return found;
  }
}

function requireAdmin(viewer: Viewer, what: string): void {
  if (viewer.role !== 'admin') throw new RoleForbiddenError(`Only an admin may ${what}.`);
}

type ItemKind = 'profile' | 'lead' | 'timeline' | 'task' | 'other';

function kindOf(item: Item): ItemKind {
  const sk = String(item.sk);
  if (sk === 'PROFILE') return 'profile';
  if (item.type === 'lead') return 'lead';
  if (sk.startsWith(keys.timelinePrefix)) return 'timeline';
  if (item.type === 'task') return 'task';
  return 'other';
}

const isLead = (item: Item) => kindOf(item) === 'lead';
const isTimeline = (item: Item) => kindOf(item) === 'timeline';
const isTask = (item: Item) => kindOf(item) === 'task';
const bySk = (a: Item, b: Item) => String(a.sk).localeCompare(String(b.sk));

/** A timeline entry whose key names an identity or a conversation: it is deleted, not scrubbed. */
function keyNamesPerson(item: Item, needles: readonly string[]): boolean {
  const key = `${String(item.sk)}\n${String(item.interactionId ?? '')}`;
  return KEY_WITH_PII.test(key) || needles.some((needle) => key.includes(needle));
}

/**
 * The notification ids of a routed capture, as routing gives them: from the kinds recorded on its entry, or,
 * on entries written before those were recorded, the kinds routing sent then.
 */
function notificationIdsOf(submissionId: string, entry: Item): string[] {
  const notify = Array.isArray(entry.notify)
    ? (entry.notify as unknown[]).filter(isRecord)
    : entry.mode === 'message'
      ? [{ kind: 'message_alert' }]
      : [{ kind: 'manager_alert' }, { kind: 'acknowledgement' }];
  return notify.map((note) =>
    note.kind === 'team_warning'
      ? `${submissionId}:team_warning:${String(note.recipientId)}`
      : `${submissionId}:${String(note.kind)}`,
  );
}

/** What an erased lead keeps of its capture: what analytics and the schema need, no person and no text. */
function scrubbedCapture(capture: Item): Item {
  const source = recordOf(capture.source);
  const utm = recordOf(source.utm);
  const kept = Object.fromEntries(
    ['utm_source', 'utm_medium', 'utm_campaign'].flatMap((name) =>
      typeof utm[name] === 'string' ? [[name, utm[name]]] : [],
    ),
  );
  return {
    version: capture.version,
    submissionId: capture.submissionId,
    channel: capture.channel,
    sourceId: capture.sourceId,
    teamId: capture.teamId,
    receivedAt: capture.receivedAt,
    language: capture.language,
    contact: {},
    consent: capture.consent,
    urgent: capture.urgent ?? false,
    answers: {},
    source: { utm: kept },
  };
}

/** A merge record without the merged contact's profile, identities, addresses or conversations. */
function scrubbedMerge(record: Item, erasedAt: string): Item {
  const loser = recordOf(record.loser);
  const gained = isRecord(record.gained) ? record.gained : undefined;
  return {
    erasedAt: stringOr(record.erasedAt, erasedAt),
    loser: Object.fromEntries(
      ['pk', 'sk', 'type', 'contactId', 'createdAt'].flatMap((name) =>
        loser[name] === undefined ? [] : [[name, loser[name]]],
      ),
    ),
    identities: [],
    ...(gained
      ? {
          gained: {
            identities: [],
            emails: [],
            phones: [],
            verifiedIdentities: [],
            separatedFrom: Array.isArray(gained.separatedFrom) ? gained.separatedFrom : [],
            conversationsAdded: [],
            conversationsRetired: {},
            unlistedEntries: [],
            updatedAt: gained.updatedAt,
          },
        }
      : {}),
  };
}

/** The strings that are this person's data, for finding them in item keys (short ones would match anything). */
function needlesOf(input: {
  profiles: readonly Item[];
  captures: readonly Item[];
  timeline: readonly Item[];
  merges: readonly Item[];
  identityKeys: ReadonlySet<string>;
  addresses: ReadonlySet<string>;
}): string[] {
  const needles = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string' && value.length >= 6) needles.add(value);
  };
  for (const key of input.identityKeys) {
    add(key);
    add(key.slice(key.indexOf(':') + 1));
  }
  for (const address of input.addresses) {
    add(address);
    add(address.toLowerCase());
  }
  for (const profile of input.profiles) {
    for (const phone of setOf(profile.phones)) add(phone);
    for (const conversationId of Object.keys(recordOf(profile.conversations))) add(conversationId);
  }
  for (const record of input.merges) {
    for (const conversationId of Object.keys(recordOf(recordOf(record.loser).conversations)))
      add(conversationId);
  }
  for (const item of [...input.captures, ...input.timeline]) {
    add(item.conversationId);
    add(recordOf(item.contact).phone);
    add(recordOf(item.retired).conversationId);
  }
  return [...needles];
}

function describeCounts(counts: ErasureCounts): string {
  const parts = Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count} ${name}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing left to remove';
}

/** An item as JSON can carry it: sets as sorted arrays, all the way down. */
export function plainItem(value: unknown): Item {
  return JSON.parse(
    JSON.stringify(value, (_, inner) => (inner instanceof Set ? [...inner].sort() : inner)),
  ) as Item;
}

/** UTF-8 text, or undefined when the bytes are not (a message part in another charset, binary). */
function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Equal as stored: maps compared whatever their key order, sets as sorted lists. */
function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (value instanceof Set) return canonical([...value].sort());
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    const entries = Object.keys(value)
      .filter((name) => value[name] !== undefined)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonical(value[name])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function isRecord(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Set);
}

function recordOf(value: unknown): Item {
  return isRecord(value) ? value : {};
}

function setOf(value: unknown): string[] {
  if (value instanceof Set) return [...value].filter((entry): entry is string => typeof entry === 'string');
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === 'string');
  return [];
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}
