import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type ActionLink,
  ConflictError,
  type LeadflowConfig,
  NotFoundError,
  ROLE_GROUPS,
  RoleForbiddenError,
  type Viewer,
  viewerFromClaims,
} from '@leadflow/core';
import { type LinkUseItem, linkUseItem, linkUseItemSchema, parseItem } from '../items';
import type { DataContext } from './context';
import { LeadRepository } from './leads';

/** A use record outlives its link by this long: a late second tap still hears who used it. */
const USE_RECORD_DAYS_AFTER_EXPIRY = 7;

/** The reason a lead passed on from the alert carries in its timeline and the audit trail. */
export const PASSED_ON_REASON = 'passed on from the alert';

/** Who used a link, when, and what it did. */
export interface LinkUse {
  readonly leadId: string;
  readonly action: ActionLink['action'];
  readonly managerId: string;
  readonly at: string;
  readonly outcome: LinkUseItem['outcome'];
  readonly passedTo?: string | undefined;
}

/** What acting on a verified link came to. Only `acknowledged`, `already_acknowledged` and `passed` used it. */
export type LinkActionResult =
  | { readonly kind: 'acknowledged'; readonly at: string }
  | { readonly kind: 'already_acknowledged'; readonly at: string }
  | { readonly kind: 'passed'; readonly to: string }
  | { readonly kind: 'used'; readonly use: LinkUse }
  | { readonly kind: 'not_yours' }
  | { readonly kind: 'closed' }
  | { readonly kind: 'nobody_available' };

/** The key of a token's use record: a hash, so the table never holds a token that would still work. */
export function linkTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/**
 * The alert's action links, acted on: each token is used at most once (a conditional put of its use
 * record claims it), by the manager it names and as that manager, through the same repository calls the
 * API makes. An action that changes nothing (the lead is no longer theirs, nobody can take it) gives the
 * claim back, so the page can say so and the link still works.
 */
export class ActionLinkRepository {
  private readonly leads: LeadRepository;

  constructor(private readonly data: DataContext) {
    this.leads = new LeadRepository(data);
  }

  /** The token's use, if it was used (a claim still being acted on counts: it is taken). */
  async findUse(token: string): Promise<LinkUse | undefined> {
    return this.useByHash(linkTokenHash(token));
  }

  private async useByHash(hash: string): Promise<LinkUse | undefined> {
    const { Item } = await this.data.doc.send(
      new GetCommand({ TableName: this.data.tableName, Key: linkUseItem.key(hash), ConsistentRead: true }),
    );
    return Item ? useOf(parseItem(linkUseItemSchema, Item)) : undefined;
  }

  /**
   * Performs a verified link's action as the manager it names (`acknowledge`, or `pass` to the next
   * available manager of the lead's team), once per token. The caller has checked the signature and the
   * expiry; this checks the rest against the lead as it is now.
   */
  async perform(token: string, link: ActionLink): Promise<LinkActionResult> {
    const config = await this.data.config();
    const viewer = viewerOf(link.managerId, config);
    // A manager removed from the configuration since the alert: their links act for nobody.
    if (!viewer) return { kind: 'not_yours' };
    const hash = linkTokenHash(token);
    const at = this.data.clock().toISOString();
    const taken = await this.claim(hash, link, at);
    if (taken) return { kind: 'used', use: taken };
    let result: LinkActionResult;
    try {
      result = await this.act(viewer, link);
    } catch (error) {
      await this.release(hash);
      throw error;
    }
    if (
      result.kind === 'acknowledged' ||
      result.kind === 'already_acknowledged' ||
      result.kind === 'passed'
    ) {
      // The action is committed and the claim already makes the link used: a failure to write what it did
      // must not tell the manager it failed (a second tap still hears it was used, by them, then).
      await this.settle(hash, result.kind, result.kind === 'passed' ? result.to : undefined).catch(
        () => undefined,
      );
    } else {
      await this.release(hash);
    }
    return result;
  }

  private async act(viewer: Viewer, link: ActionLink): Promise<LinkActionResult> {
    try {
      if (link.action === 'acknowledge') {
        const { lead, acknowledgedNow } = await this.leads.acknowledge(viewer, link.leadId);
        const at = lead.acknowledged?.at ?? this.data.clock().toISOString();
        return { kind: acknowledgedNow ? 'acknowledged' : 'already_acknowledged', at };
      }
      const lead = await this.leads.passOn(viewer, link.leadId, PASSED_ON_REASON);
      return { kind: 'passed', to: lead.ownerId ?? '' };
    } catch (error) {
      // The lead went to someone else, or is gone: the link is no authority over it any more.
      if (error instanceof NotFoundError || error instanceof RoleForbiddenError) return { kind: 'not_yours' };
      if (error instanceof ConflictError && error.code === 'lead_closed') return { kind: 'closed' };
      if (error instanceof ConflictError && error.code === 'nobody_available') {
        return { kind: 'nobody_available' };
      }
      throw error;
    }
  }

  /**
   * Claims the token's use; the use that was there first when it was taken already. A claim given back
   * between our write and our read is claimed again.
   */
  private async claim(hash: string, link: ActionLink, at: string): Promise<LinkUse | undefined> {
    const ttl = link.exp + USE_RECORD_DAYS_AFTER_EXPIRY * 24 * 60 * 60;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.data.doc.send(
          new PutCommand({
            TableName: this.data.tableName,
            ...linkUseItem.claim(hash, {
              leadId: link.leadId,
              action: link.action,
              managerId: link.managerId,
              at,
              ttl,
            }),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return undefined;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const use = error.Item
          ? useOf(parseItem(linkUseItemSchema, unmarshall(error.Item)))
          : await this.useByHash(hash);
        if (use || attempt >= 3)
          return use ?? useOf({ ...linkUseItem.key(hash), ...link, at, outcome: 'pending' });
      }
    }
  }

  private async settle(
    hash: string,
    outcome: 'acknowledged' | 'already_acknowledged' | 'passed',
    to?: string,
  ) {
    await this.data.doc.send(
      new UpdateCommand({ TableName: this.data.tableName, ...linkUseItem.settled(hash, outcome, to) }),
    );
  }

  private async release(hash: string): Promise<void> {
    try {
      await this.data.doc.send(
        new DeleteCommand({ TableName: this.data.tableName, ...linkUseItem.release(hash) }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

function useOf(item: LinkUseItem): LinkUse {
  return {
    leadId: item.leadId,
    action: item.action,
    managerId: item.managerId,
    at: item.at,
    outcome: item.outcome,
    ...(item.passedTo ? { passedTo: item.passedTo } : {}),
  };
}

/**
 * The viewer a link acts as: its manager, with the role the configuration gives them, and no more (the
 * repositories then let them act only on a lead they own). Undefined for a manager no longer configured.
 */
function viewerOf(managerId: string, config: LeadflowConfig): Viewer | undefined {
  const leadsATeam = [...config.teams.values()].some((team) => team.teamLead === managerId);
  const result = viewerFromClaims(
    {
      sub: `action-link:${managerId}`,
      username: managerId,
      groups: [leadsATeam ? ROLE_GROUPS.team_lead : ROLE_GROUPS.manager],
    },
    config,
  );
  return result.ok && result.viewer.managerId === managerId ? result.viewer : undefined;
}
