import type { Assignment } from '@leadflow/core';
import type { Key, PutOp, QueryOp, UpdateOp } from './operations';
import { keys } from './schema';

/**
 * The managers' writes and queries on leads, tasks and contact profiles: funnel changes guarded by the
 * lead's version, notes and tasks, reassignments, and the index queries the listings are made of.
 */

type Values = Record<string, unknown>;

/** The version condition: an item written before versions existed is version 1. */
function versionGuard(version: number): { condition: string; values: Values } {
  return version === 1
    ? { condition: '(attribute_not_exists(version) OR version = :version)', values: { ':version': 1 } }
    : { condition: 'version = :version', values: { ':version': version } };
}

/** `SET a = :a, b = :b` pieces for arbitrary attributes, with names escaped. */
function assignments(set: Readonly<Record<string, unknown>>, prefix: string) {
  const names: Record<string, string> = {};
  const values: Values = {};
  const parts: string[] = [];
  Object.entries(set).forEach(([name, value], index) => {
    names[`#${prefix}${index}`] = name;
    values[`:${prefix}${index}`] = value;
    parts.push(`#${prefix}${index} = :${prefix}${index}`);
  });
  return { parts, names, values };
}

/** A lead listing's index query: one partition, capture times within the range, before the cursor. */
export interface LeadIndexQuery {
  readonly index: 'gsi1' | 'gsi2';
  readonly partition: string;
  /** ISO bounds of the capture time (inclusive). */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** Only sort keys below this one (the cursor). */
  readonly before?: string | undefined;
}

export interface LeadFilter {
  readonly status?: readonly string[] | undefined;
  readonly channel?: readonly string[] | undefined;
  readonly priority?: readonly string[] | undefined;
  readonly tag?: string | undefined;
}

export const crmLeadItem = {
  /** A lead by id alone (gsi3). */
  byId: (leadId: string): QueryOp => {
    const ref = keys.leadRef(leadId);
    return {
      KeyConditionExpression: 'gsi3pk = :ref AND gsi3sk = :kind',
      ExpressionAttributeValues: { ':ref': ref.gsi3pk, ':kind': ref.gsi3sk },
    };
  },
  /** One partition of a lead listing, newest first is the caller's `ScanIndexForward: false`. */
  list: (query: LeadIndexQuery): QueryOp => {
    const pk = `${query.index}pk`;
    const sk = `${query.index}sk`;
    const low = `LEAD#${query.from ?? ''}`;
    // `LEAD#<to>` sorts before `LEAD#<to>#<id>`: the upper bound is the next character after `#`.
    const high = query.to === undefined ? 'LEAD$' : `LEAD#${query.to}$`;
    const upper = query.before !== undefined && query.before < high ? query.before : high;
    return {
      KeyConditionExpression: `#pk = :pk AND #sk BETWEEN :low AND :high`,
      ExpressionAttributeNames: { '#pk': pk, '#sk': sk },
      ExpressionAttributeValues: { ':pk': query.partition, ':low': low, ':high': upper },
    };
  },
  /** The filter a listing applies to each partition's page. */
  filter: (
    filter: LeadFilter,
  ): { FilterExpression?: string; ExpressionAttributeNames?: Record<string, string>; values: Values } => {
    const parts: string[] = ['#type = :lead'];
    const names: Record<string, string> = { '#type': 'type' };
    const values: Values = { ':lead': 'lead' };
    const anyOf = (attribute: string, list: readonly string[] | undefined) => {
      if (!list || list.length === 0) return;
      names[`#${attribute}`] = attribute;
      const placeholders = list.map((value, index) => {
        values[`:${attribute}${index}`] = value;
        return `:${attribute}${index}`;
      });
      parts.push(`#${attribute} IN (${placeholders.join(', ')})`);
    };
    anyOf('status', filter.status);
    anyOf('channel', filter.channel);
    anyOf('priority', filter.priority);
    if (filter.tag) {
      names['#tags'] = 'tags';
      values[':tag'] = filter.tag;
      parts.push('contains(#tags, :tag)');
    }
    return { FilterExpression: parts.join(' AND '), ExpressionAttributeNames: names, values };
  },
  /**
   * A person's change to a lead (a stage change, an acknowledgement, a reassignment): the attributes, a
   * new version and touch time, only from the version read. An open lead keeps its place in its team's
   * open-by-touch index; a closed one leaves it.
   */
  changed: (
    key: Key,
    input: {
      version: number;
      set: Readonly<Record<string, unknown>>;
      now: string;
      leadId: string;
      /** Open after the change: the lead's `gsi4` entry moves to now; closed: it is removed. */
      open: boolean;
      /** Also only while not acknowledged (an acknowledgement). */
      unacknowledged?: boolean;
      /** The first response stops the lead's SLA clock (which the lead has, as read): when, and by what. */
      slaStop?: { stoppedAt: string; stoppedBy: 'acknowledged' | 'contacted' } | undefined;
    },
  ): UpdateOp => {
    const guard = versionGuard(input.version);
    const { parts, names, values } = assignments(input.set, 'a');
    if (input.slaStop) {
      // Into the clock's map, so a timer's concurrent step (which never moves the version) is not undone.
      parts.push('sla.stoppedAt = :slaStoppedAt', 'sla.stoppedBy = :slaStoppedBy');
      values[':slaStoppedAt'] = input.slaStop.stoppedAt;
      values[':slaStoppedBy'] = input.slaStop.stoppedBy;
    }
    const touch = input.open ? ', gsi4sk = :openSk' : '';
    const remove = input.open ? '' : ' REMOVE gsi4pk, gsi4sk';
    return {
      Key: key,
      UpdateExpression: `SET ${[...parts, 'version = :next', 'touchedAt = :now'].join(', ')}${touch}${remove}`,
      ConditionExpression: `attribute_exists(pk) AND ${guard.condition}${
        input.unacknowledged ? ' AND attribute_not_exists(acknowledgedAt)' : ''
      }`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ...values,
        ...guard.values,
        ':next': input.version + 1,
        ':now': input.now,
        ...(input.open ? { ':openSk': keys.openSk(input.now, input.leadId) } : {}),
      },
    };
  },
  /** Activity that does not change the lead's state (a note, a task): only its touch time. */
  touched: (key: Key, input: { now: string; leadId: string; open: boolean }): UpdateOp => ({
    Key: key,
    UpdateExpression: input.open ? 'SET touchedAt = :now, gsi4sk = :openSk' : 'SET touchedAt = :now',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: {
      ':now': input.now,
      ...(input.open ? { ':openSk': keys.openSk(input.now, input.leadId) } : {}),
    },
  }),
  /** The lead given to another manager: its owner index partition, team and assignment record. */
  reassigned: (
    key: Key,
    input: {
      version: number;
      ownerId: string;
      assignment: Assignment;
      now: string;
      leadId: string;
      open: boolean;
      /** The new owner's SLA clock, replacing the old one. */
      sla?: Record<string, unknown> | undefined;
    },
  ): UpdateOp => {
    const guard = versionGuard(input.version);
    return {
      Key: key,
      UpdateExpression: `SET ownerId = :owner, gsi1pk = :ownerKey, teamId = :team, gsi2pk = :teamKey, assignment = :assignment, assignedAt = :now, version = :next, touchedAt = :now${
        input.open ? ', gsi4pk = :openKey, gsi4sk = :openSk' : ''
      }${input.sla ? ', sla = :sla' : ''} REMOVE queuedAt`,
      ConditionExpression: `attribute_exists(pk) AND ${guard.condition}`,
      ExpressionAttributeValues: {
        ...guard.values,
        ':owner': input.ownerId,
        ':ownerKey': keys.owner(input.ownerId),
        ':team': input.assignment.teamId,
        ':teamKey': keys.team(input.assignment.teamId),
        ':assignment': input.assignment,
        ':now': input.now,
        ':next': input.version + 1,
        ...(input.open
          ? {
              ':openKey': keys.open(input.assignment.teamId),
              ':openSk': keys.openSk(input.now, input.leadId),
            }
          : {}),
        ...(input.sla ? { ':sla': input.sla } : {}),
      },
    };
  },
};

export const taskItem = {
  key: keys.task,
  /** A new task, written once, listed under its assignee (gsi1) and readable by id (gsi3). */
  put: (task: {
    contactId: string;
    taskId: string;
    assigneeId: string;
    dueAt: string;
    [attribute: string]: unknown;
  }): PutOp => ({
    Item: {
      ...keys.task(task.contactId, task.taskId),
      ...task,
      type: 'task',
      version: 1,
      gsi1pk: keys.owner(task.assigneeId),
      gsi1sk: keys.taskIndexSk(task.dueAt, task.taskId),
      ...keys.taskRef(task.taskId),
    },
    ConditionExpression: 'attribute_not_exists(pk)',
  }),
  byId: (taskId: string): QueryOp => {
    const ref = keys.taskRef(taskId);
    return {
      KeyConditionExpression: 'gsi3pk = :ref AND gsi3sk = :kind',
      ExpressionAttributeValues: { ':ref': ref.gsi3pk, ':kind': ref.gsi3sk },
    };
  },
  /** A task's status or due time changed, from the version read. */
  changed: (
    key: Key,
    input: { version: number; set: Readonly<Record<string, unknown>>; remove?: string[] },
  ): UpdateOp => {
    const guard = versionGuard(input.version);
    const { parts, names, values } = assignments(input.set, 't');
    const removals = (input.remove ?? []).map((name, index) => {
      names[`#r${index}`] = name;
      return `#r${index}`;
    });
    return {
      Key: key,
      UpdateExpression: `SET ${[...parts, 'version = :next'].join(', ')}${
        removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''
      }`,
      ConditionExpression: `attribute_exists(pk) AND ${guard.condition}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ...values, ...guard.values, ':next': input.version + 1 },
    };
  },
  /** An assignee's tasks by due time (gsi1). */
  assigned: (managerId: string, after?: string): QueryOp => ({
    KeyConditionExpression:
      after === undefined
        ? 'gsi1pk = :owner AND begins_with(gsi1sk, :task)'
        : 'gsi1pk = :owner AND gsi1sk BETWEEN :after AND :end',
    ExpressionAttributeValues: {
      ':owner': keys.owner(managerId),
      ...(after === undefined ? { ':task': 'TASK#' } : { ':after': `${after}\u0000`, ':end': 'TASK$' }),
    },
  }),
  /** The tasks of a contact's partition. */
  ofContact: (contactId: string): QueryOp => ({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :task)',
    ExpressionAttributeValues: { ':pk': keys.contact(contactId).pk, ':task': 'TASK#' },
  }),
};

export const crmContactItem = {
  /** A contact's leads (its partition's `LEAD#…` items). */
  leads: (contactId: string): QueryOp => ({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :lead)',
    ExpressionAttributeValues: { ':pk': keys.contact(contactId).pk, ':lead': 'LEAD#' },
  }),
  /** Tags and custom fields, replaced whole, from the profile version read. */
  patched: (
    contactId: string,
    input: {
      version: number;
      tags?: readonly string[] | undefined;
      fields?: Readonly<Record<string, unknown>> | undefined;
      now: string;
    },
  ): UpdateOp => {
    const sets = ['profileVersion = :next', 'updatedAt = :now'];
    const removes: string[] = [];
    const values: Values = { ':next': input.version + 1, ':now': input.now };
    if (input.tags !== undefined) {
      if (input.tags.length > 0) {
        sets.push('tags = :tags');
        values[':tags'] = new Set(input.tags);
      } else removes.push('tags');
    }
    if (input.fields !== undefined) {
      sets.push('#fields = :fields');
      values[':fields'] = input.fields;
    }
    return {
      Key: keys.contact(contactId),
      UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression:
        input.version === 0
          ? 'attribute_exists(pk) AND attribute_not_exists(profileVersion) AND attribute_not_exists(mergedInto) AND attribute_not_exists(mergingInto)'
          : 'attribute_exists(pk) AND profileVersion = :version AND attribute_not_exists(mergedInto) AND attribute_not_exists(mergingInto)',
      ...(input.fields !== undefined ? { ExpressionAttributeNames: { '#fields': 'fields' } } : {}),
      ExpressionAttributeValues: { ...values, ...(input.version === 0 ? {} : { ':version': input.version }) },
    };
  },
};

/** A manager's open-lead count, one fewer (a lead closed or taken away). */
export const managerReleased = (managerId: string): UpdateOp => ({
  Key: keys.managerLoad(managerId),
  UpdateExpression: 'SET managerId = :manager ADD openLeads :minusOne',
  ExpressionAttributeValues: { ':manager': managerId, ':minusOne': -1 },
});
