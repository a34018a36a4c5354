import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  ConflictError,
  type ContactField,
  canLead,
  canSeeContact,
  canSeeLead,
  etagOf,
  ifMatchHolds,
  type LeadflowConfig,
  NotFoundError,
  normalizeEmail,
  normalizePhone,
  PreconditionFailedError,
  RoleForbiddenError,
  ValidationError,
  type Viewer,
} from '@leadflow/core';
import { z } from 'zod';
import { getProfile, MergeRefused, mergeContactsManually, queryContact } from '../contacts';
import { crmContactItem, keys, leadItemSchema, parseItem, taskItemSchema } from '../items';
import {
  getMergeRecord,
  MergeAlreadyUndone,
  MergeNotFound,
  UnmergeRefused,
  unmergeContacts,
} from '../unmerge';
import { AuditLog } from './audit';
import type { DataContext } from './context';
import { leadView, taskView, timelineView } from './leads';

/** A contact's custom fields and tags as a client changes them (`PATCH /v1/contacts/{id}`). */
export const contactPatchSchema = z
  .object({
    /** Replaces the tags: lowercase letters, digits, `_ : -`. */
    tags: z
      .array(
        z
          .string()
          .trim()
          .toLowerCase()
          .regex(/^[a-z0-9][a-z0-9_:-]{0,62}$/, 'lowercase letters, digits, _ : -'),
      )
      .max(50)
      .optional(),
    /** Sets custom fields declared in configuration; `null` clears one. */
    fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  })
  .strict()
  .refine((patch) => patch.tags !== undefined || patch.fields !== undefined, 'give tags or fields');
export type ContactPatch = z.infer<typeof contactPatchSchema>;

/** Checks custom field values against their declarations; every problem is a field error. */
export function validateFields(
  declared: readonly ContactField[],
  current: Readonly<Record<string, unknown>>,
  patch: Readonly<Record<string, string | number | boolean | null>>,
): Record<string, unknown> {
  const byKey = new Map(declared.map((field) => [field.key, field]));
  const next: Record<string, unknown> = { ...current };
  const problems: { field: string; code: string; message: string }[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const field = byKey.get(key);
    const where = `fields.${key}`;
    if (!field) {
      problems.push({ field: where, code: 'unknown_field', message: `no custom field ${key} is declared` });
      continue;
    }
    if (value === null) {
      delete next[key];
      continue;
    }
    const wrong = (message: string) => problems.push({ field: where, code: 'invalid_value', message });
    switch (field.type) {
      case 'text':
        if (typeof value !== 'string') wrong('a text');
        else if (value.length > field.maxLength) wrong(`at most ${field.maxLength} characters`);
        else next[key] = value.normalize('NFC');
        break;
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) wrong('a number');
        else next[key] = value;
        break;
      case 'boolean':
        if (typeof value !== 'boolean') wrong('true or false');
        else next[key] = value;
        break;
      case 'date':
        if (
          typeof value !== 'string' ||
          !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
          Number.isNaN(Date.parse(value))
        )
          wrong('a date YYYY-MM-DD');
        else next[key] = value;
        break;
      case 'select':
        if (typeof value !== 'string' || !(field.options ?? []).includes(value))
          wrong(`one of ${(field.options ?? []).join(', ')}`);
        else next[key] = value;
        break;
    }
  }
  if (problems.length > 0) throw new ValidationError('Some custom fields are invalid.', problems);
  return next;
}

const list = (value: unknown): string[] =>
  value instanceof Set ? [...value].map(String).sort() : Array.isArray(value) ? value.map(String) : [];

/** A contact's profile as the API shows it: identities with their provenance, tags, custom fields. */
export function contactView(profile: Record<string, unknown>) {
  const verified = new Set(list(profile.verifiedIdentities));
  const version = typeof profile.profileVersion === 'number' ? profile.profileVersion : 0;
  return {
    contactId: String(profile.contactId),
    name: typeof profile.name === 'string' ? profile.name : undefined,
    emails: list(profile.emails),
    phones: list(profile.phones),
    identities: list(profile.identities).map((identity) => ({
      identity,
      provenance: verified.has(identity) ? ('verified' as const) : ('claimed' as const),
    })),
    ownerId: typeof profile.ownerId === 'string' ? profile.ownerId : undefined,
    tags: list(profile.tags),
    fields: (profile.fields && typeof profile.fields === 'object' ? profile.fields : {}) as Record<
      string,
      unknown
    >,
    channels: list(profile.channels),
    sources: list(profile.sources),
    possibleDuplicates: list(profile.possibleDuplicates),
    mergedFrom: list(profile.mergedFrom),
    // A permanent bounce or a complaint (the SES events function): which addresses, why, and when the last was.
    undeliverable:
      typeof profile.undeliverableAt === 'string'
        ? {
            at: profile.undeliverableAt,
            reason: typeof profile.undeliverableReason === 'string' ? profile.undeliverableReason : undefined,
            addresses: list(profile.undeliverableAddresses),
          }
        : undefined,
    /** When the contact unsubscribed from follow-ups (one-click or the unsubscribe page). */
    unsubscribedAt: typeof profile.unsubscribedAt === 'string' ? profile.unsubscribedAt : undefined,
    createdAt: String(profile.createdAt),
    updatedAt: typeof profile.updatedAt === 'string' ? profile.updatedAt : undefined,
    lastLeadAt: typeof profile.lastLeadAt === 'string' ? profile.lastLeadAt : undefined,
    erasedAt: profile.erasedAt,
    version,
    etag: etagOf(version),
  };
}

/**
 * The managers' access to contacts, through a viewer: a contact is visible when its owner's leads or any
 * of its leads are (`canSeeContact`); what it shows of its leads and timeline is only what the viewer may
 * see of them. Anything else is `NotFoundError`.
 */
export class ContactRepository {
  private readonly audit: AuditLog;

  constructor(private readonly data: DataContext) {
    this.audit = new AuditLog(data);
  }

  /** The live contact an id names (following merges), with its partition, if the viewer may see it. */
  private async load(viewer: Viewer, contactId: string) {
    const config = await this.data.config();
    let id = contactId;
    let profile = await getProfile(this.data.doc, this.data.tableName, id);
    for (let hop = 0; profile && (profile.mergedInto || profile.mergingInto) && hop < 10; hop++) {
      id = (profile.mergedInto ?? profile.mergingInto) as string;
      profile = await getProfile(this.data.doc, this.data.tableName, id);
    }
    if (!profile) throw new NotFoundError(`No contact ${contactId}.`);
    const partition = await queryContact(this.data.doc, this.data.tableName, id);
    const leads = partition
      .filter((item) => item.type === 'lead')
      .map((item) => parseItem(leadItemSchema, item));
    const raw = partition.find((item) => item.sk === 'PROFILE') ?? {};
    if (!canSeeContact(viewer, profile, leads, config)) throw new NotFoundError(`No contact ${contactId}.`);
    return {
      id,
      profile: raw,
      partition,
      leads,
      config,
      resolvedFrom: id === contactId ? undefined : contactId,
    };
  }

  /** The contact with the leads, timeline and tasks the viewer may see. */
  async get(viewer: Viewer, contactId: string) {
    const { profile, partition, leads, config, resolvedFrom } = await this.load(viewer, contactId);
    const visible = new Set(
      leads.filter((lead) => canSeeLead(viewer, lead, config)).map((lead) => lead.leadId),
    );
    return {
      contact: contactView(profile),
      ...(resolvedFrom ? { resolvedFrom } : {}),
      leads: leads.filter((lead) => visible.has(lead.leadId)).map(leadView),
      tasks: partition
        .filter((item) => item.type === 'task' && visible.has(String(item.leadId)))
        .map((item) => taskView(parseItem(taskItemSchema, item))),
      timeline: partition
        .filter((item) => String(item.sk).startsWith(keys.timelinePrefix))
        .filter((item) => typeof item.leadId !== 'string' || visible.has(item.leadId))
        .map(timelineView)
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)),
    };
  }

  /**
   * Contacts by an email address or phone number written any way: normalized as the door does (the
   * phone in `region` when it has no country code), looked up by identity, and shown only if visible.
   */
  async find(
    viewer: Viewer,
    query: { email?: string | undefined; phone?: string | undefined; region?: string | undefined },
  ) {
    const config = await this.data.config();
    const identities: string[] = [];
    const problems: { field: string; code: string; message: string }[] = [];
    if (query.email !== undefined) {
      const email = normalizeEmail(query.email);
      if (email.ok) identities.push(`email:${email.value.key}`);
      else problems.push({ field: 'email', code: email.code, message: email.message });
    }
    if (query.phone !== undefined) {
      const region = (query.region ?? defaultRegion(config)).toUpperCase() as Parameters<
        typeof normalizePhone
      >[1];
      const phone = normalizePhone(query.phone, region);
      if (phone.ok) identities.push(`phone:${phone.value}`);
      else problems.push({ field: 'phone', code: phone.code, message: phone.message });
    }
    if (problems.length > 0) throw new ValidationError('The search terms are not valid.', problems);
    if (identities.length === 0) {
      throw new ValidationError('Search by email or phone.', [
        { field: 'email', code: 'required', message: 'give email or phone' },
      ]);
    }
    const found = new Map<string, ReturnType<typeof contactView>>();
    for (const identity of identities) {
      const { Item } = await this.data.doc.send(
        new GetCommand({
          TableName: this.data.tableName,
          Key: keys.identity(identity),
          ConsistentRead: true,
        }),
      );
      if (!Item || typeof Item.contactId !== 'string') continue;
      try {
        const { profile } = await this.load(viewer, Item.contactId);
        const view = contactView(profile);
        found.set(view.contactId, view);
      } catch (error) {
        // Someone else's customer: the search finds nothing, exactly as for a stranger.
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    return { items: [...found.values()], normalized: identities };
  }

  /** Replaces tags and sets custom fields (declared in configuration), guarded by `If-Match`. */
  async patch(viewer: Viewer, contactId: string, patch: ContactPatch, ifMatch: string | undefined) {
    const { id, profile, config } = await this.load(viewer, contactId);
    const view = contactView(profile);
    if (!ifMatchHolds(ifMatch, view.version)) {
      throw new PreconditionFailedError(`The contact changed since you read it: it is now at ${view.etag}.`);
    }
    const fields =
      patch.fields === undefined
        ? undefined
        : validateFields(config.contactFields, view.fields, patch.fields);
    try {
      await this.data.doc.send(
        new UpdateCommand({
          TableName: this.data.tableName,
          ...crmContactItem.patched(id, {
            version: view.version,
            tags: patch.tags === undefined ? undefined : [...new Set(patch.tags)],
            fields,
            now: this.data.clock().toISOString(),
          }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new PreconditionFailedError('The contact changed while you saved: read it again.');
      }
      throw error;
    }
    return (await this.get(viewer, id)).contact;
  }

  /** The possible duplicates the viewer may see (others are not revealed, only counted). */
  async duplicates(viewer: Viewer, contactId: string) {
    const { profile } = await this.load(viewer, contactId);
    const items: ReturnType<typeof contactView>[] = [];
    let hidden = 0;
    for (const other of list(profile.possibleDuplicates)) {
      try {
        items.push(contactView((await this.load(viewer, other)).profile));
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        hidden++;
      }
    }
    return { items, hidden };
  }

  /** Merges `otherId` into `contactId` (team leads over both, admins); recorded, and undoable. */
  async merge(viewer: Viewer, contactId: string, otherId: string) {
    if (viewer.role === 'manager')
      throw new RoleForbiddenError('Merging contacts is for team leads and admins.');
    const survivor = await this.load(viewer, contactId);
    const other = await this.load(viewer, otherId);
    this.mayLead(viewer, survivor);
    this.mayLead(viewer, other);
    if (survivor.id === other.id)
      throw new ConflictError('These are already the same contact.', 'already_merged');
    let mergeId: string;
    try {
      mergeId = await mergeContactsManually(this.data.doc, this.data.tableName, survivor.id, other.id, {
        now: this.data.clock().toISOString(),
        newMergeId: () => `merge-${this.data.newId()}`,
      });
    } catch (error) {
      if (error instanceof MergeRefused) throw new ConflictError(error.message, 'merge_refused');
      if (error instanceof TransactionCanceledException) {
        throw new ConflictError('One of the contacts is being changed; try again.', 'merge_refused');
      }
      throw error;
    }
    await this.audit.record(
      viewer,
      'contact.merged',
      `contact:${survivor.id}`,
      `Merged ${other.id} into ${survivor.id} (${mergeId})`,
      {
        mergeId,
        survivorId: survivor.id,
        mergedId: other.id,
      },
    );
    return { mergeId, survivorId: survivor.id, mergedId: other.id };
  }

  /** Undoes a merge exactly (team leads over the survivor, admins). */
  async undoMerge(viewer: Viewer, mergeId: string) {
    if (viewer.role === 'manager')
      throw new RoleForbiddenError('Undoing merges is for team leads and admins.');
    const record = await getMergeRecord(this.data.doc, this.data.tableName, mergeId).catch(() => undefined);
    if (!record) throw new NotFoundError(`No merge ${mergeId}.`);
    const survivor = await this.load(viewer, record.survivorId);
    this.mayLead(viewer, survivor);
    try {
      const result = await unmergeContacts(this.data.doc, this.data.tableName, mergeId, {
        now: this.data.clock().toISOString(),
      });
      await this.audit.record(
        viewer,
        'merge.undone',
        `merge:${mergeId}`,
        `Separated ${result.loserId} from ${result.survivorId}`,
        {
          survivorId: result.survivorId,
          restoredId: result.loserId,
        },
      );
      return result;
    } catch (error) {
      if (error instanceof MergeNotFound) throw new NotFoundError(error.message);
      if (error instanceof MergeAlreadyUndone) throw new ConflictError(error.message, 'already_undone');
      if (error instanceof UnmergeRefused) throw new ConflictError(error.message, 'undo_refused');
      throw error;
    }
  }

  /** A team lead acts on a contact only when they lead its owner's team, or every lead's team. */
  private mayLead(
    viewer: Viewer,
    loaded: {
      profile: Record<string, unknown>;
      leads: readonly { teamId?: string; ownerId?: string }[];
      config: LeadflowConfig;
    },
  ) {
    if (viewer.role === 'admin') return;
    const owner = typeof loaded.profile.ownerId === 'string' ? loaded.profile.ownerId : undefined;
    const ownerOk = owner === undefined || canLead(viewer, { ownerId: owner }, loaded.config);
    const leadsOk = loaded.leads.every((lead) => canLead(viewer, lead, loaded.config));
    if (!ownerOk || !leadsOk)
      throw new RoleForbiddenError(
        "Only a team lead over all of the contact's leads, or an admin, does this.",
      );
  }
}

/** The region phone searches read national numbers in: the most common among the forms. */
function defaultRegion(config: LeadflowConfig): string {
  const counts = new Map<string, number>();
  for (const form of config.forms.values())
    counts.set(form.defaultRegion, (counts.get(form.defaultRegion) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'US';
}
