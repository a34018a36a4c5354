import {
  type CaptureEvent,
  type FormConfig,
  IdempotencyKeyReuseError,
  LeadflowConfig,
  type LeadflowConfigInput,
  leadflowConfigSchema,
  type Manager,
  type Notification,
} from '@leadflow/core';
import raw from '../../config/leadflow.json' with { type: 'json' };

/** A fresh, validated copy of the demo configuration in config/leadflow.json. */
export function demoConfig(): LeadflowConfig {
  return new LeadflowConfig(structuredClone(raw));
}

/** The demo configuration as plain input, cloned so a test can change it freely. */
export function rawDemoConfig(): LeadflowConfigInput {
  return leadflowConfigSchema.parse(structuredClone(raw));
}

export function demoForm(id = 'demo-contact'): FormConfig {
  const form = demoConfig().forms.get(id);
  if (!form) throw new Error(`The demo config has no form ${id}`);
  return form;
}

export function demoManager(id = 'alice'): Manager {
  const manager = demoConfig().managers.get(id);
  if (!manager) throw new Error(`The demo config has no manager ${id}`);
  return manager;
}

/** A valid capture event as the router receives it; override what the test is about. */
export function captureFixture(overrides: Partial<CaptureEvent> = {}): CaptureEvent {
  return {
    version: 1,
    submissionId: '01JZ0000000000000000000001',
    channel: 'web_form',
    sourceId: 'demo-contact',
    teamId: 'sales',
    receivedAt: '2025-06-01T09:30:00.000Z',
    language: 'en',
    contact: {
      name: 'Kim Minsu',
      email: 'Kim.MinSu@example.com',
      emailKey: 'kim.minsu@example.com',
      phone: '+821012345678',
    },
    message: 'Hello,\nI would like a quote.',
    consent: true,
    urgent: false,
    answers: {},
    source: { utm: { utm_source: 'newsletter' }, pageUrl: 'https://www.example.com/pricing' },
    ...overrides,
  };
}

export function notificationFixture(
  kind: Exclude<
    Notification['kind'],
    'team_warning' | 'followup' | 'sla_warning' | 'sla_overdue' | 'task_reminder' | 'task_overdue'
  > = 'manager_alert',
  overrides: Partial<CaptureEvent> = {},
): Notification {
  return {
    kind,
    notificationId: `01JZ0000000000000000000001#${kind}`,
    leadId: '01JZLEAD000000000000000001',
    contactId: '01JZCONTACT000000000000001',
    capture: captureFixture(overrides),
    assignment: {
      ownerId: 'alice',
      teamId: 'sales',
      rule: 'round_robin',
      cursor: 1,
      reason: 'New contact: round robin in team sales, slot 1 of 2.',
    },
    returning: false,
  };
}

interface StoredRow {
  readonly requestHash: string;
  readonly capture: CaptureEvent;
  readonly windowEndsAt: number;
}

export interface StoreCall {
  readonly idempotencyHash: string;
  readonly requestHash: string;
  readonly windowSeconds: number;
  readonly capture: CaptureEvent;
  /** What the store answered; undefined when it threw. */
  readonly result?: { readonly submissionId: string; readonly replay: boolean };
}

/**
 * An in-memory stand-in for SubmissionStore.store: the first capture for an idempotency hash
 * stands inside its window; a repeat gets it back with replay true, unless its request hash
 * differs, which is a reused key.
 */
export class FakeSubmissionStore {
  readonly calls: StoreCall[] = [];
  private readonly rows = new Map<string, StoredRow>();
  now = Date.parse('2025-06-01T09:30:00.000Z');

  readonly store = async (input: {
    idempotencyHash: string;
    requestHash: string;
    windowSeconds: number;
    capture: CaptureEvent;
  }): Promise<{ capture: CaptureEvent; replay: boolean }> => {
    const existing = this.rows.get(input.idempotencyHash);
    if (existing && existing.windowEndsAt > this.now) {
      if (existing.requestHash !== input.requestHash) {
        this.calls.push({ ...input });
        throw new IdempotencyKeyReuseError('This Idempotency-Key was already used with a different request.');
      }
      this.calls.push({ ...input, result: { submissionId: existing.capture.submissionId, replay: true } });
      return { capture: existing.capture, replay: true };
    }
    this.rows.set(input.idempotencyHash, {
      requestHash: input.requestHash,
      capture: input.capture,
      windowEndsAt: this.now + input.windowSeconds * 1000,
    });
    this.calls.push({ ...input, result: { submissionId: input.capture.submissionId, replay: false } });
    return { capture: input.capture, replay: false };
  };

  get size(): number {
    return this.rows.size;
  }
}

/** Sequential, readable ids: id-1, id-2, … */
export function sequentialIds(prefix = 'id'): () => string {
  let next = 0;
  return () => `${prefix}-${++next}`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
export const CONTROL_OR_LINE_BREAK = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/;
