import type { LeadflowConfig } from './config';

/**
 * Who is asking, and what they may see. Roles merge most-permissive (as EspoCRM's levels do): an admin
 * sees everything; a team lead sees everything of the teams they lead, plus their own leads; a manager
 * sees their own leads and contacts. The data access layer is handed a viewer on every call and queries
 * only the index partitions `leadScope` names, then checks every read by id with `canSeeLead`.
 */
export const ROLES = ['admin', 'team_lead', 'manager'] as const;
export type Role = (typeof ROLES)[number];

/** The identity provider groups that grant a role (Cognito groups, or the local issuer's). */
export const ROLE_GROUPS: Readonly<Record<Role, string>> = {
  admin: 'admin',
  team_lead: 'team_lead',
  manager: 'manager',
};

export interface Viewer {
  /** The token's subject: stable per user. */
  readonly userId: string;
  /** The sign-in name (a manager id or an email address); for the audit trail. */
  readonly username: string;
  readonly role: Role;
  /** The manager this user is, when they are one (an admin may not be). */
  readonly managerId?: string | undefined;
  /** Teams the manager belongs to. */
  readonly memberOf: readonly string[];
  /** Teams the user leads (team leads only); an admin's scope is everything regardless. */
  readonly leads: readonly string[];
}

/** The token claims a viewer is derived from (already verified). */
export interface ViewerClaims {
  readonly sub: string;
  readonly username: string;
  readonly groups: readonly string[];
}

export type ViewerResult = { ok: true; viewer: Viewer } | { ok: false; reason: string };

/**
 * The viewer a verified token stands for, looked up in the configuration: the username is a manager id or
 * a manager's email (case-insensitive). The `admin` group makes an admin; the `team_lead` group makes a
 * team lead of the teams the configuration says they lead (`teamLead`); else a manager. A user who is
 * neither an admin nor a configured manager has no role here.
 */
export function viewerFromClaims(claims: ViewerClaims, config: LeadflowConfig): ViewerResult {
  const name = claims.username.trim().toLowerCase();
  const manager = [...config.managers.values()].find(
    (candidate) => candidate.id === claims.username || candidate.email.toLowerCase() === name,
  );
  const groups = new Set(claims.groups);
  const memberOf = manager
    ? [...config.teams.values()]
        .filter((team) => team.managers.some((m) => m.id === manager.id))
        .map((team) => team.id)
    : [];
  const leads = manager
    ? [...config.teams.values()].filter((team) => team.teamLead === manager.id).map((team) => team.id)
    : [];
  const base = { userId: claims.sub, username: claims.username, memberOf };
  if (groups.has(ROLE_GROUPS.admin)) {
    return { ok: true, viewer: { ...base, role: 'admin', managerId: manager?.id, leads } };
  }
  if (!manager) return { ok: false, reason: 'The user is not a manager of any team.' };
  if (groups.has(ROLE_GROUPS.team_lead) && leads.length > 0) {
    return { ok: true, viewer: { ...base, role: 'team_lead', managerId: manager.id, leads } };
  }
  if (groups.has(ROLE_GROUPS.manager) || groups.has(ROLE_GROUPS.team_lead)) {
    return { ok: true, viewer: { ...base, role: 'manager', managerId: manager.id, leads: [] } };
  }
  return { ok: false, reason: 'The user is in none of the groups admin, team_lead or manager.' };
}

/**
 * The index partitions a viewer's lead listing may read: everything (every team's partition), the teams
 * they lead plus their own owner partition, or their own owner partition only.
 */
export type LeadScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'teams'; readonly teams: readonly string[]; readonly managerId?: string | undefined }
  | { readonly kind: 'owner'; readonly managerId: string };

export function leadScope(viewer: Viewer): LeadScope {
  if (viewer.role === 'admin') return { kind: 'all' };
  if (viewer.role === 'team_lead') return { kind: 'teams', teams: viewer.leads, managerId: viewer.managerId };
  if (!viewer.managerId) throw new Error('A manager viewer without a manager id');
  return { kind: 'owner', managerId: viewer.managerId };
}

/** What visibility is decided on: a lead's team and owner. */
export interface Owned {
  readonly teamId?: string | undefined;
  readonly ownerId?: string | undefined;
}

/**
 * Whether the viewer may see a lead (or a task, or a timeline entry of a lead): an admin always; a team
 * lead when the lead is in a team they lead, owned by a manager of such a team, or their own; a manager
 * when they own it. A queued lead (no owner) is seen by its team's lead and admins only.
 */
export function canSeeLead(viewer: Viewer, lead: Owned, config?: LeadflowConfig): boolean {
  if (viewer.role === 'admin') return true;
  if (lead.ownerId !== undefined && lead.ownerId === viewer.managerId) return true;
  if (viewer.role !== 'team_lead') return false;
  if (lead.teamId !== undefined && viewer.leads.includes(lead.teamId)) return true;
  return lead.ownerId !== undefined && config !== undefined && ledManagers(viewer, config).has(lead.ownerId);
}

/** The managers of the teams a team lead leads (their own team members included when they lead it). */
export function ledManagers(viewer: Viewer, config: LeadflowConfig): Set<string> {
  const ids = new Set<string>();
  for (const teamId of viewer.leads) {
    for (const manager of config.teams.get(teamId)?.managers ?? []) ids.add(manager.id);
  }
  return ids;
}

/**
 * Whether the viewer may see a contact: when they may see its owner's leads (the contact's owner is
 * theirs, or in their teams) or any one of its leads. A contact is never more visible than its leads
 * and its owner make it.
 */
export function canSeeContact(
  viewer: Viewer,
  contact: { readonly ownerId?: string | undefined },
  leads: readonly Owned[],
  config?: LeadflowConfig,
): boolean {
  if (viewer.role === 'admin') return true;
  if (contact.ownerId !== undefined && canSeeLead(viewer, { ownerId: contact.ownerId }, config)) return true;
  return leads.some((lead) => canSeeLead(viewer, lead, config));
}

/** Whether the viewer may act as a team lead over this lead (reassign it, merge its contact). */
export function canLead(viewer: Viewer, lead: Owned, config: LeadflowConfig): boolean {
  if (viewer.role === 'admin') return true;
  if (viewer.role !== 'team_lead') return false;
  if (lead.teamId !== undefined && viewer.leads.includes(lead.teamId)) return true;
  return lead.ownerId !== undefined && ledManagers(viewer, config).has(lead.ownerId);
}
