import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  type AlertEvent,
  availabilityOf,
  businessHoursSchema,
  effectiveAlerts,
  type FieldIssue,
  type LeadflowConfig,
  ledManagers,
  type MePatch,
  managerSchema,
  NotFoundError,
  PreconditionFailedError,
  planAlertPreferences,
  RoleForbiddenError,
  ValidationError,
  type Viewer,
} from '@leadflow/core';
import { z } from 'zod';
import { readAlertPreferences, writeAlertPreferences } from '../alert-preferences';
import {
  ConfigInvalidError,
  type ConfigSnapshot,
  ConfigVersionConflictError,
  type RoutingSection,
} from '../config-store';
import { type DrainResult, drainQueue } from '../drain';
import { configItem, keys } from '../items';
import { readLoads } from '../leads';
import { AuditLog } from './audit';
import { actorOf, type DataContext } from './context';
import { decodeCursor, encodeCursor, type Page } from './pages';
import { dryRunLead, type ReplayResult, replay, replayWindow } from './routing-preview';

/**
 * Administration over the runtime configuration: the routing section (teams, managers, rules, scoring) read
 * and replaced whole under a version precondition, its history, one manager's settings, a manager's own
 * availability, and the routing preview. Every change is a new configuration version written through
 * `ConfigStore` (conditioned on the version it was made from) and an audit entry that names no customer.
 */

const isoWithOffset = z.iso.datetime({ offset: true });

/** `null` clears a setting; absent leaves it as it is. */
const clearable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

/** What an admin may change of a manager (a team lead: only `outOfOfficeUntil` and `workingHours`). */
export const managerPatchSchema = z
  .strictObject({
    active: managerSchema.shape.active.unwrap().optional(),
    weight: managerSchema.shape.weight.unwrap().optional(),
    /** Open leads at most; `null`: the team's capacity. */
    capacity: clearable(managerSchema.shape.capacity.unwrap()),
    /** The manager's own hours; `null`: none (always available as far as hours go). */
    workingHours: clearable(businessHoursSchema),
    /** ISO time with an offset, in the future; `null`: back now. */
    outOfOfficeUntil: clearable(isoWithOffset),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), {
    message: 'give at least one of active, weight, capacity, workingHours, outOfOfficeUntil',
  });
export type ManagerPatch = z.infer<typeof managerPatchSchema>;

/** What a manager may set of their own availability. */
export const availabilityPatchSchema = z
  .strictObject({
    /** ISO time with an offset, in the future and within a year; `null`: back now. */
    outOfOfficeUntil: clearable(isoWithOffset),
    workingHours: clearable(businessHoursSchema),
  })
  .refine((patch) => patch.outOfOfficeUntil !== undefined || patch.workingHours !== undefined, {
    message: 'give outOfOfficeUntil or workingHours',
  });
export type AvailabilityPatch = z.infer<typeof availabilityPatchSchema>;

/** The fields a team lead may change of the managers of the teams they lead. */
const TEAM_LEAD_FIELDS: ReadonlySet<string> = new Set(['outOfOfficeUntil', 'workingHours']);

/** The out-of-office a person may set for themselves reaches at most this far ahead. */
const MAX_OWN_OUT_OF_OFFICE_MS = 366 * 24 * 3_600_000;

/** The routing section as the API shows it, with its version (the `ETag`). */
export interface ConfigView {
  readonly version: number;
  readonly updatedAt?: string | undefined;
  readonly updatedBy?: string | undefined;
  readonly change?: string | undefined;
  readonly teams: RoutingSection['teams'];
  readonly routing?: RoutingSection['routing'];
  readonly scoring?: RoutingSection['scoring'];
}

/** One entry of the configuration's history: who, when, what change, which version. */
export interface ConfigVersionView {
  readonly version: number;
  readonly updatedAt?: string | undefined;
  readonly updatedBy?: string | undefined;
  readonly change?: string | undefined;
}

/** A manager's availability now, as `availabilityOf` decides it, with their load. */
export interface AvailabilityView {
  readonly available: boolean;
  readonly reason?: string | undefined;
  readonly detail?: string | undefined;
  readonly openLeads: number;
  readonly capacity?: number | undefined;
  readonly active: boolean;
  readonly outOfOfficeUntil?: string | undefined;
  readonly workingHours?: unknown;
}

/** What a change of a manager did. */
export interface ManagerChangeResult {
  readonly managerId: string;
  readonly teamId: string;
  readonly version: number;
  /** The manager's settings as written. */
  readonly manager: Record<string, unknown>;
  readonly availability: AvailabilityView;
  /** The team's queue, drained at once when the change may have made the manager available. */
  readonly drained?: DrainView | undefined;
}

export interface DrainView {
  readonly teamId: string;
  readonly assigned: { leadId: string; managerId: string }[];
  readonly stopped: DrainResult['stopped'];
  readonly reason?: string | undefined;
}

/** Who the caller is: the user, role, teams, the manager's availability now and language. */
export interface MeView {
  readonly userId: string;
  readonly username: string;
  readonly role: Viewer['role'];
  readonly managerId: string | null;
  readonly teams: { readonly memberOf: string[]; readonly leads: string[] };
  readonly availability: AvailabilityView | null;
  readonly language: string;
  /** Which events alert the manager by email (every one unless turned off); null when they are no manager. */
  readonly alerts: Record<AlertEvent, boolean> | null;
}

const historyItemSchema = z.looseObject({
  version: z.number().int().positive(),
  updatedAt: z.string().optional(),
  updatedBy: z.string().optional(),
  change: z.string().optional(),
});

const historyCursorSchema = z.object({ version: z.number().int().positive() });

/**
 * The `If-Match` of a configuration change: the versions it names (`"5"`, `W/"5"`, a list). Undefined when
 * the header is absent (the route answers 428); `*` is refused as well: a change names the version it was
 * made from.
 */
export function configVersionsOf(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  return header
    .split(',')
    .map((tag) =>
      tag
        .trim()
        .replace(/^W\//, '')
        .replace(/^"(.*)"$/, '$1'),
    )
    .filter((tag) => /^\d{1,10}$/.test(tag))
    .map(Number);
}

/** The administration: the configuration, managers, one's own availability and the routing preview. */
export class AdminRepository {
  private readonly audit: AuditLog;

  constructor(private readonly data: DataContext) {
    this.audit = new AuditLog(data);
  }

  /** The routing section in force with its version. Admins only. */
  async config(viewer: Viewer): Promise<ConfigView> {
    requireAdmin(viewer);
    return configView(await this.data.configStore.get());
  }

  /** The configuration's versions, newest first. Admins only. */
  async history(
    viewer: Viewer,
    options: { limit: number; cursor?: string | undefined },
  ): Promise<Page<ConfigVersionView>> {
    requireAdmin(viewer);
    const after = decodeCursor(options.cursor, historyCursorSchema);
    const { Items } = await this.data.doc.send(
      new QueryCommand({
        TableName: this.data.tableName,
        ...configItem.versions(),
        ScanIndexForward: false,
        // One more than asked: whether there is a next page, without an empty last one.
        Limit: options.limit + 1,
        ...(after ? { ExclusiveStartKey: keys.config(after.version) } : {}),
      }),
    );
    const versions = (Items ?? []).map((item) => {
      const { version, updatedAt, updatedBy, change } = historyItemSchema.parse(item);
      return { version, updatedAt, updatedBy, change };
    });
    const items = versions.slice(0, options.limit);
    const last = items.at(-1);
    return versions.length > options.limit && last
      ? { items, nextCursor: encodeCursor({ version: last.version }) }
      : { items };
  }

  /**
   * Replaces the routing section, if the version in force is one `ifMatch` names (else
   * `PreconditionFailedError`, nothing written). The section is validated whole with the bundled forms and
   * channels: an invalid one is a `ValidationError` with the fields' paths, nothing written. Admins only.
   */
  async replaceConfig(
    viewer: Viewer,
    section: RoutingSection,
    ifMatch: readonly number[],
  ): Promise<ConfigView> {
    requireAdmin(viewer);
    const before = await this.data.configStore.get();
    if (!ifMatch.includes(before.version)) throw stale(before.version);
    const change = describeSectionChange(before.section, section);
    let after: ConfigSnapshot;
    try {
      after = await this.data.configStore.put(section, before.version, {
        by: actorOf(viewer),
        change,
        at: this.data.clock(),
      });
    } catch (error) {
      if (error instanceof ConfigVersionConflictError) throw stale(before.version, error);
      throw invalidConfig(error);
    }
    await this.audit.record(viewer, 'config.changed', `config:v${after.version}`, change, {
      version: after.version,
      previousVersion: before.version,
    });
    return configView(after);
  }

  /**
   * Changes one manager's settings as a new configuration version (retrying on a concurrent change), records
   * `manager.changed`, and drains the manager's team's queue when the change may have made them available.
   * Admins change anything of anyone; a team lead only `outOfOfficeUntil` and `workingHours` of the managers
   * of the teams they lead (`RoleForbiddenError` otherwise). An unknown manager is a `NotFoundError`.
   */
  async changeManager(viewer: Viewer, managerId: string, patch: ManagerPatch): Promise<ManagerChangeResult> {
    if (viewer.role === 'manager') {
      throw new RoleForbiddenError("Changing a manager's settings needs the role admin or team_lead.");
    }
    this.checkOutOfOffice(patch.outOfOfficeUntil, false);
    const fields = Object.keys(patch).filter((field) => patch[field as keyof ManagerPatch] !== undefined);
    return this.applyToManager(viewer, managerId, patch, 'manager.changed', (config) => {
      if (viewer.role === 'admin') return;
      if (!ledManagers(viewer, config).has(managerId)) {
        throw new RoleForbiddenError(`${managerId} is not a manager of a team you lead.`);
      }
      const refused = fields.filter((field) => !TEAM_LEAD_FIELDS.has(field));
      if (refused.length > 0) {
        throw new RoleForbiddenError(
          `A team lead sets only outOfOfficeUntil and workingHours; not ${refused.join(', ')}.`,
        );
      }
    });
  }

  /**
   * A manager sets their own availability (out of office until a time within a year, or back; their working
   * hours), as a new configuration version with an `availability.changed` entry. `RoleForbiddenError` for a
   * user who is not a manager.
   */
  async setOwnAvailability(viewer: Viewer, patch: AvailabilityPatch): Promise<ManagerChangeResult> {
    const managerId = viewer.managerId;
    if (!managerId) throw new RoleForbiddenError('Only a manager has an availability to set.');
    this.checkOutOfOffice(patch.outOfOfficeUntil, true);
    return this.applyToManager(viewer, managerId, patch, 'availability.changed', () => {});
  }

  /** Who the viewer is, with their availability now (from the configuration in force and their load). */
  async me(viewer: Viewer): Promise<MeView> {
    const { config } = await this.data.configStore.get();
    const manager = viewer.managerId ? config.managers.get(viewer.managerId) : undefined;
    return {
      userId: viewer.userId,
      username: viewer.username,
      role: viewer.role,
      managerId: viewer.managerId ?? null,
      teams: { memberOf: [...viewer.memberOf], leads: [...viewer.leads] },
      availability: manager ? await this.availabilityNow(config, manager.id) : null,
      language: manager?.language ?? 'en',
      alerts: manager
        ? effectiveAlerts(await readAlertPreferences(this.data.doc, this.data.tableName, manager.id))
        : null,
    };
  }

  /**
   * A manager turns email alerts of some events on or off (`PATCH /v1/me`); the others stay as they are.
   * A team lead cannot turn escalations off (`ValidationError`, nothing written); a user who is no manager
   * has no alerts (`RoleForbiddenError`).
   */
  async setOwnAlerts(viewer: Viewer, patch: MePatch): Promise<MeView> {
    const managerId = viewer.managerId;
    const { config } = await this.data.configStore.get();
    if (!managerId || !config.managers.has(managerId)) {
      throw new RoleForbiddenError('Only a manager has alerts to set.');
    }
    const leadsATeam = [...config.teams.values()].some((team) => team.teamLead === managerId);
    const plan = planAlertPreferences(patch.alerts, { leadsATeam });
    if (!plan.ok) throw new ValidationError('The request has invalid fields.', plan.fields);
    await writeAlertPreferences(
      this.data.doc,
      this.data.tableName,
      managerId,
      plan.alerts,
      this.data.clock(),
    );
    return this.me(viewer);
  }

  /** Where real routing would send a lead now (or at `at`), written nowhere. Admins only. */
  async dryRun(viewer: Viewer, lead: unknown, at?: Date): Promise<Record<string, unknown>> {
    requireAdmin(viewer);
    const { config } = await this.data.configStore.get();
    return dryRunLead(lead, {
      doc: this.data.doc,
      tableName: this.data.tableName,
      config,
      at: at ?? this.data.clock(),
    });
  }

  /** A proposed rule set replayed over the leads of a period, written nowhere. Admins only. */
  async replay(viewer: Viewer, input: { from: string; to: string; rules: unknown }): Promise<ReplayResult> {
    requireAdmin(viewer);
    const { config } = await this.data.configStore.get();
    return replay({
      doc: this.data.doc,
      tableName: this.data.tableName,
      config,
      rules: input.rules,
      ...replayWindow(input.from, input.to),
    });
  }

  private checkOutOfOffice(until: string | null | undefined, own: boolean): void {
    if (until === undefined || until === null) return;
    const now = this.data.clock().getTime();
    const at = Date.parse(until);
    if (at <= now) {
      throw fieldError('outOfOfficeUntil', 'not_in_future', 'must be in the future; null clears it');
    }
    if (own && at - now > MAX_OWN_OUT_OF_OFFICE_MS) {
      throw fieldError('outOfOfficeUntil', 'too_far', 'must be within a year');
    }
  }

  private async applyToManager(
    viewer: Viewer,
    managerId: string,
    patch: ManagerPatch,
    action: 'manager.changed' | 'availability.changed',
    authorize: (config: LeadflowConfig) => void,
  ): Promise<ManagerChangeResult> {
    const described = describePatch(patch);
    const summary = `manager ${managerId}: ${described.join(', ')}`;
    let teamId = '';
    let manager: Record<string, unknown> = {};
    let after: ConfigSnapshot;
    try {
      ({ after } = await this.data.configStore.update(
        (section, current) => {
          // Decided on the version being changed: a retry after a concurrent change decides again.
          if (!current.config.managers.has(managerId)) throw new NotFoundError(`No manager ${managerId}.`);
          authorize(current.config);
          const found = managerEntry(section, managerId);
          teamId = found.teamId;
          applyPatch(found.manager, patch);
          manager = found.manager;
          return section;
        },
        { by: actorOf(viewer), change: summary, at: this.data.clock() },
      ));
    } catch (error) {
      if (error instanceof ConfigVersionConflictError) {
        throw new PreconditionFailedError('The configuration kept changing; retry.', [], { cause: error });
      }
      throw invalidConfig(error);
    }
    await this.audit.record(viewer, action, `manager:${managerId}`, `${summary} (config v${after.version})`, {
      version: after.version,
      teamId,
      fields: Object.keys(patch).filter((field) => patch[field as keyof ManagerPatch] !== undefined),
    });
    const drained = mayFree(patch) ? await this.drain(after.config, teamId) : undefined;
    return {
      managerId,
      teamId,
      version: after.version,
      manager,
      availability: await this.availabilityNow(after.config, managerId),
      ...(drained ? { drained } : {}),
    };
  }

  /** Assigns the leads waiting in a team's queue now, as `npm run -s admin -- drain` does. */
  private async drain(config: LeadflowConfig, teamId: string): Promise<DrainView> {
    const result = await drainQueue(
      {
        doc: this.data.doc,
        tableName: this.data.tableName,
        config,
        enqueueNotifications: this.data.enqueueNotifications,
        clock: this.data.clock,
        // A dequeued lead's owner gets an SLA clock.
        timers: this.data.timers,
      },
      teamId,
    );
    return {
      teamId: result.teamId,
      assigned: result.assigned.map(({ leadId, managerId }) => ({ leadId, managerId })),
      stopped: result.stopped,
      ...(result.reason === undefined ? {} : { reason: result.reason }),
    };
  }

  private async availabilityNow(config: LeadflowConfig, managerId: string): Promise<AvailabilityView> {
    const manager = config.managers.get(managerId);
    if (!manager) throw new NotFoundError(`No manager ${managerId}.`);
    const team = config.teamOf(managerId);
    const loads = await readLoads(this.data.doc, this.data.tableName, [managerId]);
    const availability = availabilityOf(manager, team, loads[managerId], this.data.clock());
    const capacity = manager.capacity ?? team?.capacity;
    return {
      available: availability.available,
      ...(availability.available ? {} : { reason: availability.reason, detail: availability.detail }),
      openLeads: loads[managerId]?.openLeads ?? 0,
      ...(capacity === undefined ? {} : { capacity }),
      active: manager.active,
      ...(manager.outOfOfficeUntil ? { outOfOfficeUntil: manager.outOfOfficeUntil } : {}),
      ...(manager.workingHours ? { workingHours: manager.workingHours } : {}),
    };
  }
}

function requireAdmin(viewer: Viewer): void {
  if (viewer.role !== 'admin') throw new RoleForbiddenError('The configuration is for admins.');
}

function configView(snapshot: ConfigSnapshot): ConfigView {
  const { version, updatedAt, updatedBy, change, section } = snapshot;
  return { version, updatedAt, updatedBy, change, ...section };
}

function stale(version: number, cause?: unknown): PreconditionFailedError {
  return new PreconditionFailedError(
    `The configuration is at version ${version}: re-read it (ETag "${version}") and decide again.`,
    [],
    cause === undefined ? undefined : { cause },
  );
}

function fieldError(field: string, code: string, message: string): ValidationError {
  return new ValidationError('The request has invalid fields.', [{ field, code, message }]);
}

/** A configuration `ConfigStore` refused, as field errors with their paths in the whole configuration. */
function invalidConfig(error: unknown): unknown {
  if (!(error instanceof ConfigInvalidError)) return error;
  const cause = error.cause;
  const fields: FieldIssue[] =
    cause instanceof z.ZodError
      ? cause.issues.map((issue) => ({
          field: issue.path.map(String).join('.') || '(request)',
          code: issue.code,
          message: issue.message,
        }))
      : [{ field: '(request)', code: 'invalid_config', message: error.issues }];
  return new ValidationError('The configuration is not valid; nothing changed.', fields, { cause: error });
}

/** The manager's entry in a section (to change in place) and their team. */
function managerEntry(section: RoutingSection, managerId: string) {
  for (const team of section.teams) {
    const manager = team.managers.find((entry) => entry.id === managerId);
    if (manager) return { teamId: team.id, manager: manager as Record<string, unknown> };
  }
  throw new NotFoundError(`No manager ${managerId}.`);
}

function applyPatch(manager: Record<string, unknown>, patch: ManagerPatch): void {
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) delete manager[field];
    else manager[field] = value;
  }
}

/** A change that may make a manager available: the team's queue is drained after it. */
function mayFree(patch: ManagerPatch): boolean {
  return (
    patch.active === true ||
    patch.outOfOfficeUntil === null ||
    patch.capacity !== undefined ||
    patch.workingHours !== undefined
  );
}

/** The change in words, as the admin command writes it (`out of office until …`, `back`, `weight 2`). */
function describePatch(patch: ManagerPatch): string[] {
  const parts: string[] = [];
  if (patch.outOfOfficeUntil === null) parts.push('back');
  else if (patch.outOfOfficeUntil !== undefined) parts.push(`out of office until ${patch.outOfOfficeUntil}`);
  if (patch.active !== undefined) parts.push(patch.active ? 'active' : 'inactive');
  if (patch.capacity === null) parts.push("capacity: the team's");
  else if (patch.capacity !== undefined) parts.push(`capacity ${patch.capacity}`);
  if (patch.weight !== undefined) parts.push(`weight ${patch.weight}`);
  if (patch.workingHours === null) parts.push('working hours: none');
  else if (patch.workingHours !== undefined) parts.push(`working hours in ${patch.workingHours.timeZone}`);
  return parts;
}

/** JSON with sorted keys: equal values compare equal whatever order their keys were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}

type Identified = { readonly id: string };

/**
 * `added x`, `removed y`, `changed z` of two lists of things with ids; `reordered` when only the order of
 * the same entries changed (rules: the first that matches decides).
 */
function listChange(what: string, before: readonly Identified[], after: readonly Identified[]): string[] {
  const old = new Map(before.map((entry) => [entry.id, canonical(entry)]));
  const now = new Map(after.map((entry) => [entry.id, canonical(entry)]));
  const added = [...now.keys()].filter((id) => !old.has(id));
  const removed = [...old.keys()].filter((id) => !now.has(id));
  const changed = [...now.keys()].filter((id) => old.has(id) && old.get(id) !== now.get(id));
  const parts: string[] = [];
  if (added.length > 0) parts.push(`${what} added: ${added.join(', ')}`);
  if (removed.length > 0) parts.push(`${what} removed: ${removed.join(', ')}`);
  if (changed.length > 0) parts.push(`${what} changed: ${changed.join(', ')}`);
  const order = (ids: Iterable<string>) => [...ids].filter((id) => old.has(id) && now.has(id)).join('\n');
  if (parts.length === 0 && order(old.keys()) !== order(now.keys())) parts.push(`${what} reordered`);
  return parts;
}

/**
 * One line saying what a replacement of the routing section changes, by id only (teams, managers, rules,
 * the default, scoring): the history's `change` and the audit summary, never a person's address.
 */
export function describeSectionChange(before: RoutingSection, after: RoutingSection): string {
  const teamsOf = (section: RoutingSection) =>
    (Array.isArray(section.teams) ? section.teams : []).filter(
      (team): team is RoutingSection['teams'][number] => typeof team?.id === 'string',
    );
  const withoutManagers = (section: RoutingSection) =>
    teamsOf(section).map(({ managers: _managers, ...team }) => team);
  const managersOf = (section: RoutingSection) =>
    teamsOf(section).flatMap((team) =>
      (Array.isArray(team.managers) ? team.managers : []).filter((m) => typeof m?.id === 'string'),
    );
  const rulesOf = (section: RoutingSection) =>
    ((section.routing as { rules?: Identified[] } | undefined)?.rules ?? []).filter(
      (rule) => typeof rule?.id === 'string',
    );
  const parts = [
    ...listChange('teams', withoutManagers(before), withoutManagers(after)),
    ...listChange('managers', managersOf(before), managersOf(after)),
    ...listChange('rules', rulesOf(before), rulesOf(after)),
  ];
  const defaultOf = (section: RoutingSection) =>
    canonical((section.routing as { default?: unknown } | undefined)?.default ?? null);
  if (defaultOf(before) !== defaultOf(after)) parts.push('default rule changed');
  if (canonical(before.scoring ?? null) !== canonical(after.scoring ?? null)) parts.push('scoring changed');
  return parts.length > 0 ? parts.join('; ') : 'no change';
}
