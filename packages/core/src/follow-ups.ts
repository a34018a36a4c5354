import { z } from 'zod';
import type { CaptureEvent } from './capture';
import { normalizeEmail } from './normalize';
import { scaledDelay, type TimerOf } from './timers';

/**
 * Follow-up sequences: the mail a lead gets after the acknowledgement when nobody has closed the loop. A
 * sequence belongs to forms or routing rules (configuration `followUps`), and every step is subscription
 * mail: it needs the lead's consent, carries one-click unsubscribe, and is decided again when it is due,
 * from the lead's and the contact's state then, never from the timer that woke it.
 */

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

/** A step's delay (`30m`, `12h`, `3d`) in minutes. */
export function delayMinutes(delay: string): number {
  const amount = Number(delay.slice(0, -1));
  const unit = delay.at(-1);
  return unit === 'd' ? amount * DAY_MINUTES : unit === 'h' ? amount * 60 : amount;
}

/** `30m`, `12h`, `1d`: kept as written (the parsed configuration is valid input again). */
const delaySchema = z
  .string()
  .regex(/^\d{1,5}[mhd]$/, 'a delay such as 30m, 12h or 3d')
  .refine((delay) => {
    const minutes = delayMinutes(delay);
    return minutes >= 1 && minutes <= 90 * DAY_MINUTES;
  }, 'between 1 minute and 90 days');

/**
 * When a step still applies, besides the stops every step has: `not_contacted` (nobody has answered the
 * lead yet: no acknowledgement, no first response) or `no_reply` (only the common stops).
 */
export const FOLLOW_UP_CONDITIONS = ['not_contacted', 'no_reply'] as const;

export const followUpStepSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  /** How long after the lead's capture the step is due (`1d`, `3d`, `12h`, `30m`). */
  after: delaySchema,
  when: z.enum(FOLLOW_UP_CONDITIONS).default('no_reply'),
  /** A key of the `templates` section. */
  template: z.string().min(1),
});

export const followUpSequenceSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes'),
    /** Leads from these forms get the sequence. */
    forms: z.array(z.string().min(1)).default([]),
    /** Leads routed by these rules get it (the first sequence that names a lead's form or rule wins). */
    rules: z.array(z.string().min(1)).default([]),
    steps: z.array(followUpStepSchema).min(1).max(10),
  })
  .superRefine((sequence, ctx) => {
    if (sequence.forms.length + sequence.rules.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'a sequence names the forms or rules whose leads get it' });
    }
    sequence.steps.forEach((step, index) => {
      const before = sequence.steps[index - 1];
      if (before && delayMinutes(step.after) <= delayMinutes(before.after)) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'after'],
          message: `step ${step.id} must come after step ${before.id}`,
        });
      }
    });
    const ids = sequence.steps.map((step) => step.id);
    if (new Set(ids).size !== ids.length)
      ctx.addIssue({ code: 'custom', message: 'step ids must be unique' });
  });

export const followUpsSchema = z.object({ sequences: z.array(followUpSequenceSchema).default([]) });
export type FollowUps = z.infer<typeof followUpsSchema>;
export type FollowUpSequence = z.infer<typeof followUpSequenceSchema>;
export type FollowUpStep = z.infer<typeof followUpStepSchema>;

/**
 * The problems of the follow-ups' references: sequences, forms, rules and templates that do not exist.
 * `config.ts` reports each at load, so a typo fails `npm start`, `npm test` and `cdk synth`.
 */
export function followUpProblems(
  followUps: FollowUps,
  known: { forms: ReadonlySet<string>; rules: ReadonlySet<string>; templates: ReadonlySet<string> },
): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const ids = new Set<string>();
  followUps.sequences.forEach((sequence, index) => {
    const at = (...rest: (string | number)[]) => ['followUps', 'sequences', index, ...rest];
    if (ids.has(sequence.id))
      problems.push({ path: at('id'), message: `sequence ${sequence.id} is defined twice` });
    ids.add(sequence.id);
    for (const form of sequence.forms) {
      if (!known.forms.has(form))
        problems.push({ path: at('forms'), message: `sequence ${sequence.id}: unknown form ${form}` });
    }
    for (const rule of sequence.rules) {
      if (!known.rules.has(rule))
        problems.push({ path: at('rules'), message: `sequence ${sequence.id}: unknown rule ${rule}` });
    }
    sequence.steps.forEach((step, stepIndex) => {
      if (!known.templates.has(step.template)) {
        problems.push({
          path: at('steps', stepIndex, 'template'),
          message: `sequence ${sequence.id} step ${step.id}: unknown template ${step.template}`,
        });
      }
    });
  });
  return problems;
}

/**
 * The sequence a new lead gets, if any: a lead that gave an email and its consent, from a form or a rule a
 * sequence names. Without consent there is no subscription mail at all (the acknowledgement of the
 * person's own request is the only mail they get).
 */
export function followUpSequenceFor(
  followUps: FollowUps,
  lead: { readonly capture: CaptureEvent; readonly rule?: string | undefined },
): FollowUpSequence | undefined {
  const { capture } = lead;
  if (!capture.consent || !capture.contact.email) return undefined;
  const formId = capture.channel === 'web_form' ? capture.sourceId : undefined;
  return followUps.sequences.find(
    (sequence) =>
      (formId !== undefined && sequence.forms.includes(formId)) ||
      (lead.rule !== undefined && sequence.rules.includes(lead.rule)),
  );
}

/** When step `index` of a sequence is due: its delay after the capture, under the time scale. */
export function followUpDueAt(
  sequence: FollowUpSequence,
  index: number,
  capturedAt: string,
  timeScale: number,
): string {
  const step = sequence.steps[index];
  if (!step) throw new Error(`Sequence ${sequence.id} has no step ${index}`);
  return new Date(
    Date.parse(capturedAt) + scaledDelay(delayMinutes(step.after) * MINUTE_MS, timeScale),
  ).toISOString();
}

/** The timer that wakes step `step` of a lead's sequence, at its due time under the time scale. */
export function followUpTimer(input: {
  readonly sequence: FollowUpSequence;
  readonly step: number;
  readonly leadId: string;
  readonly contactId: string;
  readonly capturedAt: string;
  readonly timeScale: number;
}): Omit<TimerOf<'followup'>, 'hops'> {
  return {
    kind: 'followup',
    timerId: `followup:${input.leadId}:${input.sequence.id}:${input.step}`,
    dueAt: followUpDueAt(input.sequence, input.step, input.capturedAt, input.timeScale),
    leadId: input.leadId,
    contactId: input.contactId,
    sequenceId: input.sequence.id,
    step: input.step,
  };
}

/**
 * The first step's timer of a new lead's sequence, if it gets one (`followUpSequenceFor`): what the router
 * schedules beside the lead's alert. Everything is checked again when it fires.
 */
export function firstFollowUpTimers(
  followUps: FollowUps,
  lead: {
    readonly capture: CaptureEvent;
    readonly leadId: string;
    readonly contactId: string;
    readonly rule?: string | undefined;
  },
  timeScale: number,
): Omit<TimerOf<'followup'>, 'hops'>[] {
  const sequence = followUpSequenceFor(followUps, lead);
  if (!sequence) return [];
  return [
    followUpTimer({
      sequence,
      step: 0,
      leadId: lead.leadId,
      contactId: lead.contactId,
      capturedAt: lead.capture.receivedAt,
      timeScale,
    }),
  ];
}

/** The lead a step is about, as the adapter read it when the step fell due. */
export interface FollowUpLeadState {
  readonly status: string;
  readonly capturedAt: string;
  readonly consent: boolean;
  /** The address the lead gave (the capture's). */
  readonly email?: string | undefined;
  readonly acknowledgedAt?: string | undefined;
  readonly firstResponseAt?: string | undefined;
  readonly erasedAt?: string | undefined;
}

/** The lead's contact, as the adapter read it when the step fell due. */
export interface FollowUpContactState {
  readonly unsubscribedAt?: string | undefined;
  /** Lowercased addresses found undeliverable (a permanent bounce or a complaint). */
  readonly undeliverableAddresses: readonly string[];
  readonly erasedAt?: string | undefined;
  /** The latest inbound interaction on any channel after the lead's own capture, if any. */
  readonly lastInboundAt?: string | undefined;
}

export interface FollowUpStepInput {
  readonly sequence: FollowUpSequence;
  /** The step that fell due (0 is the first step after the acknowledgement). */
  readonly step: number;
  /** Undefined when the lead is gone. */
  readonly lead: FollowUpLeadState | undefined;
  readonly contact: FollowUpContactState | undefined;
  /** The lead's address is on the suppression list (bounced or complained, on any contact). */
  readonly suppressed: boolean;
  readonly timeScale: number;
}

/**
 * Why a sequence ends without sending: the lead or its contact is gone, there is no consent or no address,
 * the person unsubscribed or their address bounces (or they complained), the lead moved on from `new`,
 * or the person wrote again on any channel.
 */
export const FOLLOW_UP_STOPS = [
  'lead_gone',
  'no_consent',
  'no_email',
  'unsubscribed',
  'undeliverable',
  'status_changed',
  'replied',
  'unknown_step',
] as const;
export type FollowUpStop = (typeof FOLLOW_UP_STOPS)[number];

/** A later step, and when it is due. */
export interface NextFollowUp {
  readonly step: number;
  readonly dueAt: string;
}

export type FollowUpDecision =
  | { readonly action: 'send'; readonly step: FollowUpStep; readonly next?: NextFollowUp }
  /** This step's own condition does not hold (the lead was answered); the sequence goes on. */
  | {
      readonly action: 'skip';
      readonly step: FollowUpStep;
      readonly reason: 'contacted';
      readonly next?: NextFollowUp;
    }
  | { readonly action: 'stop'; readonly reason: FollowUpStop };

/**
 * Decides, when a step falls due, whether it sends, is skipped (the sequence goes on) or ends the sequence.
 * Every stop is checked every time: a status change beyond `new`, a reply on any channel since the lead's
 * capture, an unsubscribe, an undeliverable or suppressed address, no consent.
 */
export function planFollowUpStep(input: FollowUpStepInput): FollowUpDecision {
  const { sequence, lead, contact } = input;
  const step = sequence.steps[input.step];
  if (!step) return { action: 'stop', reason: 'unknown_step' };
  if (!lead || lead.erasedAt !== undefined || !contact || contact.erasedAt !== undefined) {
    return { action: 'stop', reason: 'lead_gone' };
  }
  if (!lead.consent) return { action: 'stop', reason: 'no_consent' };
  const email = lead.email === undefined ? undefined : normalizeEmail(lead.email);
  if (!email?.ok) return { action: 'stop', reason: 'no_email' };
  if (contact.unsubscribedAt !== undefined) return { action: 'stop', reason: 'unsubscribed' };
  if (input.suppressed || contact.undeliverableAddresses.includes(email.value.key)) {
    return { action: 'stop', reason: 'undeliverable' };
  }
  if (lead.status !== 'new') return { action: 'stop', reason: 'status_changed' };
  if (
    contact.lastInboundAt !== undefined &&
    Date.parse(contact.lastInboundAt) > Date.parse(lead.capturedAt)
  ) {
    return { action: 'stop', reason: 'replied' };
  }
  const following = sequence.steps[input.step + 1];
  const next: NextFollowUp | undefined = following
    ? {
        step: input.step + 1,
        dueAt: followUpDueAt(sequence, input.step + 1, lead.capturedAt, input.timeScale),
      }
    : undefined;
  if (
    step.when === 'not_contacted' &&
    (lead.acknowledgedAt !== undefined || lead.firstResponseAt !== undefined)
  ) {
    return { action: 'skip', step, reason: 'contacted', ...(next ? { next } : {}) };
  }
  return { action: 'send', step, ...(next ? { next } : {}) };
}
