import { z } from 'zod';
import type { Manager, Team } from './config';
import { prioritySchema } from './vocabulary';

/** One manager the assignment looked at, and why they were or were not chosen. */
export const candidateSchema = z.object({
  managerId: z.string(),
  teamId: z.string(),
  chosen: z.boolean(),
  available: z.boolean(),
  why: z.string(),
});

/** Who took a lead and why, stored on the lead and its timeline entry and carried by its notifications. */
export const assignmentSchema = z.object({
  /** The manager who has the lead; absent while it waits in its team's queue. */
  ownerId: z.string().optional(),
  teamId: z.string(),
  /** The routing rule that chose the team (`default` when none did), or `conversation`. */
  rule: z.string(),
  /** `round_robin`, `weighted_round_robin`, `least_loaded`, `sticky_owner`, `substitution`, `queue`. */
  strategy: z.string().optional(),
  /** Human-readable why, stored on the lead and shown in the alert. */
  reason: z.string(),
  /** The round-robin cursor value this assignment consumed. */
  cursor: z.number().int().optional(),
  priority: prioritySchema.optional(),
  score: z.number().optional(),
  tags: z.array(z.string()).optional(),
  candidates: z.array(candidateSchema).optional(),
  /** A substitution: the contact's owner, who was unavailable and keeps the contact. */
  substitutedFor: z.string().optional(),
  /** Teams that had nobody available before this one. */
  fallbackFrom: z.array(z.string()).optional(),
});
export type Assignment = z.infer<typeof assignmentSchema>;
