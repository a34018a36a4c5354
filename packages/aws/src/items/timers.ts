import type { SlaRecord } from '@leadflow/core';
import type { Key, UpdateOp } from './operations';
import { keys } from './schema';

/**
 * The SLA clock's writes on a lead (its `sla` map) and the escalation's manager load. A clock step is
 * written only while the clock is exactly as the timer's plan read it: the same generation and step, not
 * stopped, the lead still `new`, unacknowledged and with the same owner. Anything that changed it in
 * between (an acknowledgement, a contact, a reassignment, another copy of the timer) makes the write fail,
 * and the timer re-reads and does nothing.
 */

/** The guard every clock write carries: the clock and the lead are as the plan read them. */
function clockGuard(input: { generation: number; step: number; ownerId: string }) {
  return {
    condition:
      'attribute_exists(pk) AND sla.generation = :generation AND sla.#step = :step AND attribute_not_exists(sla.stoppedAt) AND attribute_not_exists(acknowledgedAt) AND #status = :new AND ownerId = :clockOwner',
    names: { '#step': 'step', '#status': 'status' },
    values: {
      ':generation': input.generation,
      ':step': input.step,
      ':new': 'new',
      ':clockOwner': input.ownerId,
    },
  };
}

export const slaItem = {
  /**
   * The clock after the steps a timer took: its new step, level and next due time. The lead's version
   * does not move: a warning or a breach is not a change a manager holding the lead's ETag has to re-read.
   */
  stepped: (
    key: Key,
    input: { generation: number; step: number; ownerId: string; record: SlaRecord },
  ): UpdateOp => {
    const guard = clockGuard(input);
    return {
      Key: key,
      UpdateExpression: 'SET sla = :sla',
      ConditionExpression: guard.condition,
      ExpressionAttributeNames: guard.names,
      ExpressionAttributeValues: { ...guard.values, ':sla': input.record },
    };
  },
  /**
   * An escalation's reassignment: the lead goes to `ownerId` with a new clock, from the version read and
   * only while the old clock is as the plan read it.
   */
  escalated: (
    key: Key,
    input: {
      version: number;
      generation: number;
      step: number;
      previousOwner: string;
      ownerId: string;
      assignment: { teamId: string } & Record<string, unknown>;
      record: SlaRecord;
      now: string;
      leadId: string;
    },
  ): UpdateOp => {
    const guard = clockGuard({
      generation: input.generation,
      step: input.step,
      ownerId: input.previousOwner,
    });
    return {
      Key: key,
      UpdateExpression:
        'SET ownerId = :owner, gsi1pk = :ownerKey, teamId = :team, gsi2pk = :teamKey, assignment = :assignment, assignedAt = :now, version = :next, touchedAt = :now, gsi4pk = :openKey, gsi4sk = :openSk, sla = :sla REMOVE queuedAt',
      ConditionExpression: `${guard.condition} AND ${
        input.version === 1 ? '(attribute_not_exists(version) OR version = :version)' : 'version = :version'
      }`,
      ExpressionAttributeNames: guard.names,
      ExpressionAttributeValues: {
        ...guard.values,
        ':version': input.version,
        ':next': input.version + 1,
        ':owner': input.ownerId,
        ':ownerKey': keys.owner(input.ownerId),
        ':team': input.assignment.teamId,
        ':teamKey': keys.team(input.assignment.teamId),
        ':assignment': input.assignment,
        ':now': input.now,
        ':openKey': keys.open(input.assignment.teamId),
        ':openSk': keys.openSk(input.now, input.leadId),
        ':sla': input.record,
      },
    };
  },
  /**
   * A lead created before its clock was written (or whose clock write was lost): the clock, only if it has
   * none yet.
   */
  started: (key: Key, record: SlaRecord): UpdateOp => ({
    Key: key,
    UpdateExpression: 'SET sla = :sla',
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(sla)',
    ExpressionAttributeValues: { ':sla': record },
  }),
};

/**
 * One more open lead for a manager given a lead by escalation, without touching `lastAssignedAt`: an
 * escalated lead does not cost them their turn (least-loaded ties go to whoever waited longest).
 */
export const escalationLoad = (managerId: string): UpdateOp => ({
  Key: keys.managerLoad(managerId),
  UpdateExpression: 'SET managerId = :manager ADD openLeads :one',
  ExpressionAttributeValues: { ':manager': managerId, ':one': 1 },
});
