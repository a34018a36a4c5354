import type { CountryCode } from 'libphonenumber-js';
import { getCountries } from 'libphonenumber-js';
import { z } from 'zod';

import { type Templates, templatesSchema } from './follow-up-templates';
import type { FollowUps } from './follow-ups';
import { followUpProblems, followUpsSchema } from './follow-ups';
import { businessHoursSchema } from './hours';
import { type RoutingRules, routingRulesSchema, type Scoring, scoringSchema } from './routing-config';
import { type SlaConfig, slaConfigSchema, slaReferenceIssues } from './sla';
import { languageSchema } from './vocabulary';

export { LANGUAGES, type Language, languageSchema } from './vocabulary';

const COUNTRIES = new Set<string>(getCountries());
const regionSchema = z
  .string()
  .refine((value) => COUNTRIES.has(value), { message: 'must be an ISO 3166-1 alpha-2 region such as KR' })
  .transform((value) => value as CountryCode);

const id = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes');

/** The roles a form field can play; `text` fields are kept as extra answers on the lead. */
export const fieldTypeSchema = z.enum(['name', 'email', 'phone', 'message', 'consent', 'text']);

export const formFieldSchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/),
  type: fieldTypeSchema,
  required: z.boolean().default(false),
  maxLength: z.number().int().positive().max(20_000).default(2_000),
  label: z.string().optional(),
});

/** The CAPTCHA providers whose siteverify APIs the door can call. */
export const CAPTCHA_PROVIDERS = ['turnstile', 'hcaptcha', 'recaptcha'] as const;
export const captchaProviderSchema = z.enum(CAPTCHA_PROVIDERS);
export type CaptchaProvider = z.infer<typeof captchaProviderSchema>;

/** A form's CAPTCHA: verified server-side before anything is stored. The secret is in the form secrets. */
export const captchaSchema = z.object({
  provider: captchaProviderSchema,
  /** The provider's siteverify URL; defaults to the provider's own. */
  verifyUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Hostnames the token must have been solved on (the provider reports it); empty accepts any. */
  hostnames: z.array(z.string().min(1)).default([]),
  /** reCAPTCHA v3 only: the lowest score accepted (0.0 bot … 1.0 human). */
  minScore: z.number().min(0).max(1).optional(),
});
export type CaptchaConfig = z.infer<typeof captchaSchema>;

/**
 * Who may post to a form: `public` (browsers, rate-limited, CAPTCHA if set); `public_and_backend` (also a
 * site's backend with the form key, which skips the per-client limit and the CAPTCHA); `backend` (only
 * posts with the form key).
 */
export const formAccessSchema = z.enum(['public', 'public_and_backend', 'backend']);
export type FormAccess = z.infer<typeof formAccessSchema>;

export const formSchema = z
  .object({
    id,
    name: z.string().min(1),
    teamId: id,
    fields: z.array(formFieldSchema).min(1),
    access: formAccessSchema.default('public'),
    /**
     * Requests per minute per client address (IPv4, or IPv6 /64) to this form; 0 turns the limit off.
     * Unset: the deployment's default (`RATE_LIMIT_PER_CLIENT`).
     */
    rateLimitPerClient: z.number().int().nonnegative().max(100_000).optional(),
    captcha: captchaSchema.optional(),
    /** Acknowledgements this form may send to one recipient domain per hour (mail-bombing guard). */
    acknowledgementDomainHourlyCap: z.number().int().nonnegative().max(100_000).default(30),
    allowedOrigins: z.array(z.url().or(z.literal('*'))).default([]),
    redirectUrl: z.url().optional(),
    honeypotField: z.string().min(1).optional(),
    defaultRegion: regionSchema,
    language: languageSchema,
    /** Brand name used in the acknowledgement email. */
    businessName: z.string().min(1),
  })
  .superRefine((form, ctx) => {
    const names = form.fields.map((field) => field.name);
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: 'custom', message: 'field names must be unique' });
    for (const type of ['name', 'email', 'phone', 'message', 'consent'] as const) {
      if (form.fields.filter((field) => field.type === type).length > 1) {
        ctx.addIssue({ code: 'custom', message: `at most one field of type ${type}` });
      }
    }
    if (!form.fields.some((field) => field.type === 'email' || field.type === 'phone')) {
      ctx.addIssue({ code: 'custom', message: 'a form needs an email or a phone field to reach the lead' });
    }
    if (form.honeypotField && names.includes(form.honeypotField)) {
      ctx.addIssue({ code: 'custom', message: 'the honeypot field must not be a real field' });
    }
  });

/**
 * A manager, with what decides whether they can take a lead now: `active`, their own working hours
 * (when set; the team's business hours only tag and time leads, they never hold one back), out of office
 * until a time, and a capacity of open leads. `weight` counts in weighted round robin.
 */
export const managerSchema = z.object({
  id,
  name: z.string().min(1),
  email: z.email(),
  language: languageSchema.default('en'),
  active: z.boolean().default(true),
  weight: z.number().int().min(1).max(100).default(1),
  /** Open leads at most; unset: the team's `capacity`, else no cap. */
  capacity: z.number().int().min(1).max(10_000).optional(),
  workingHours: businessHoursSchema.optional(),
  outOfOfficeUntil: z.iso.datetime({ offset: true }).optional(),
});

export const STRATEGIES = ['round_robin', 'weighted_round_robin', 'least_loaded'] as const;
export const strategySchema = z.enum(STRATEGIES);
export type Strategy = z.infer<typeof strategySchema>;

export const teamSchema = z.object({
  id,
  name: z.string().min(1),
  strategy: strategySchema.default('round_robin'),
  /** The manager who leads the team (may belong to another team): warnings and escalations go to them. */
  teamLead: id.optional(),
  /** The team's opening hours: rules can test them, and managers without their own hours keep them. */
  businessHours: businessHoursSchema.optional(),
  /** Default open-lead capacity of each manager. */
  capacity: z.number().int().min(1).max(10_000).optional(),
  /** When nobody is available: the lead waits in the team's queue, or goes to another team. */
  whenNobodyAvailable: z
    .discriminatedUnion('action', [
      z.object({ action: z.literal('queue') }),
      z.object({ action: z.literal('fallback'), teamId: id }),
    ])
    .default({ action: 'queue' }),
  managers: z
    .array(managerSchema)
    .min(1)
    .refine((managers) => managers.some((manager) => manager.active), {
      message: 'a team needs at least one active manager, or its leads could not be assigned',
    }),
});

/** Where a non-form channel's leads go, and how to read them. */
export const channelSourceSchema = z.object({
  teamId: id,
  language: languageSchema.default('en'),
  /** Region for national-format numbers this channel reports. */
  defaultRegion: regionSchema.default('US'),
});

export const chatWidgetSchema = channelSourceSchema.extend({
  id,
  name: z.string().min(1),
  allowedOrigins: z.array(z.url().or(z.literal('*'))).default([]),
  /** Messages per minute per client address to this widget; 0 turns the limit off. Unset: the default. */
  rateLimitPerClient: z.number().int().nonnegative().max(100_000).optional(),
});

export const genericSourceSchema = channelSourceSchema.extend({
  id,
  name: z.string().min(1),
  /** Which capture channel the provider's events become. */
  channel: z.enum(['phone_call', 'sms', 'chat', 'web_form']).default('phone_call'),
});

export const channelsSchema = z
  .object({
    /** Messages in one conversation within this many minutes join its open lead instead of opening a new one. */
    conversationWindowMinutes: z
      .number()
      .int()
      .positive()
      .default(24 * 60),
    twilio: channelSourceSchema.extend({ smsAutoReply: z.string().max(320).optional() }).optional(),
    generic: z.array(genericSourceSchema).default([]),
    meta: channelSourceSchema.optional(),
    telegram: channelSourceSchema.optional(),
    chatWidgets: z.array(chatWidgetSchema).default([]),
    email: channelSourceSchema
      .extend({
        /**
         * Our own mailboxes: mail to them becomes a lead (never from them). An entry may name its own team,
         * e.g. `{"address": "sales-th@example.com", "teamId": "thai-desk"}`; others go to the channel's team.
         */
        recipients: z.array(z.union([z.email(), z.object({ address: z.email(), teamId: id })])).default([]),
      })
      .transform(({ recipients, ...source }) => ({
        ...source,
        recipients: recipients.map((entry) => (typeof entry === 'string' ? entry : entry.address)),
        /** Lowercased recipient address → the team its mail goes to, for entries that name one. */
        recipientTeams: Object.fromEntries(
          recipients.flatMap((entry) =>
            typeof entry === 'string' ? [] : [[entry.address.toLowerCase(), entry.teamId] as const],
          ),
        ) as Record<string, string>,
      }))
      .optional(),
  })
  .default({ conversationWindowMinutes: 24 * 60, generic: [], chatWidgets: [] });

/**
 * A custom field on contacts, declared here so `PATCH /v1/contacts/{id}` validates what it stores:
 * `text` (at most `maxLength`), `number`, `boolean`, `date` (YYYY-MM-DD) or `select` (one of `options`).
 */
export const contactFieldSchema = z
  .object({
    key: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,39}$/, 'lowercase letters, digits and _, starting with a letter'),
    label: z.string().min(1).max(100),
    type: z.enum(['text', 'number', 'boolean', 'date', 'select']),
    options: z.array(z.string().min(1).max(100)).min(1).optional(),
    maxLength: z.number().int().min(1).max(2000).default(500),
  })
  .refine((field) => (field.type === 'select') === (field.options !== undefined), {
    message: 'a select field has options, and only a select field',
    path: ['options'],
  });
export type ContactField = z.infer<typeof contactFieldSchema>;

export const leadflowConfigSchema = z
  .object({
    /** The business's own time zone: analytics days and the console's default. */
    timeZone: z
      .string()
      .refine((zone) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone such as Asia/Seoul')
      .default('UTC'),
    /** Custom fields managers may set on contacts. */
    contactFields: z.array(contactFieldSchema).default([]),
    forms: z.array(formSchema),
    teams: z.array(teamSchema).min(1),
    channels: channelsSchema,
    routing: routingRulesSchema.default({ rules: [], default: { priority: 'normal', tags: [] } }),
    scoring: scoringSchema,
    /** First-response SLA policies and escalation (packages/core/src/sla.ts); unset: no clocks. */
    sla: slaConfigSchema.optional(),
    /** Follow-up sequences after the acknowledgement, per form or rule (subscription mail: consent only). */
    followUps: followUpsSchema.default({ sequences: [] }),
    /** Lead-facing templates: subject, text and HTML per language, versioned. */
    templates: templatesSchema.default({}),
  })
  .superRefine((config, ctx) => {
    // Every reference is checked here, so a typo fails `npm start`, `npm test` and `cdk synth`, not routing.
    const teams = new Set(config.teams.map((team) => team.id));
    const team = (where: string, teamId: string, path: (string | number)[]) => {
      if (!teams.has(teamId))
        ctx.addIssue({ code: 'custom', path, message: `${where}: unknown team ${teamId}` });
    };
    config.forms.forEach((form, index) => {
      team(`form ${form.id}`, form.teamId, ['forms', index, 'teamId']);
    });
    const { channels } = config;
    for (const name of ['twilio', 'meta', 'telegram', 'email'] as const) {
      const source = channels[name];
      if (source) team(`channels.${name}`, source.teamId, ['channels', name, 'teamId']);
    }
    channels.generic.forEach((source, index) => {
      team(`generic source ${source.id}`, source.teamId, ['channels', 'generic', index, 'teamId']);
    });
    channels.chatWidgets.forEach((widget, index) => {
      team(`chat widget ${widget.id}`, widget.teamId, ['channels', 'chatWidgets', index, 'teamId']);
    });
    for (const [address, teamId] of Object.entries(channels.email?.recipientTeams ?? {})) {
      team(`email recipient ${address}`, teamId, ['channels', 'email', 'recipients']);
    }
    const unique = (what: string, ids: readonly string[]) => {
      const seen = new Set<string>();
      for (const value of ids) {
        if (seen.has(value)) ctx.addIssue({ code: 'custom', message: `${what} ${value} is defined twice` });
        seen.add(value);
      }
    };
    unique(
      'form',
      config.forms.map((form) => form.id),
    );
    unique(
      'team',
      config.teams.map((t) => t.id),
    );
    unique(
      'chat widget',
      channels.chatWidgets.map((widget) => widget.id),
    );
    unique(
      'generic source',
      channels.generic.map((source) => source.id),
    );
    const managers = config.teams.flatMap((team) => team.managers.map((manager) => manager.id));
    if (new Set(managers).size !== managers.length)
      ctx.addIssue({ code: 'custom', message: 'manager ids must be unique' });
    const managerIds = new Set(managers);
    config.teams.forEach((t, index) => {
      if (t.teamLead && !managerIds.has(t.teamLead)) {
        ctx.addIssue({
          code: 'custom',
          path: ['teams', index, 'teamLead'],
          message: `team ${t.id}: unknown team lead ${t.teamLead}`,
        });
      }
      if (t.whenNobodyAvailable.action === 'fallback') {
        team(`team ${t.id} fallback`, t.whenNobodyAvailable.teamId, ['teams', index, 'whenNobodyAvailable']);
      }
    });
    // A fallback chain must end: a team that falls back to itself, directly or not, would never settle.
    const fallbackOf = new Map(
      config.teams.flatMap((t) =>
        t.whenNobodyAvailable.action === 'fallback' ? [[t.id, t.whenNobodyAvailable.teamId] as const] : [],
      ),
    );
    for (const start of fallbackOf.keys()) {
      const seen = new Set<string>([start]);
      for (let at = fallbackOf.get(start); at !== undefined; at = fallbackOf.get(at)) {
        if (seen.has(at)) {
          ctx.addIssue({ code: 'custom', message: `team ${start}: the fallback chain loops back to ${at}` });
          break;
        }
        seen.add(at);
      }
    }
    config.routing.rules.forEach((rule, index) => {
      if (rule.then.teamId)
        team(`rule ${rule.id}`, rule.then.teamId, ['routing', 'rules', index, 'then', 'teamId']);
    });
    if (config.sla) {
      const known = { teams, rules: new Set(config.routing.rules.map((rule) => rule.id)) };
      for (const issue of slaReferenceIssues(config.sla, known)) ctx.addIssue({ code: 'custom', ...issue });
    }
    for (const problem of followUpProblems(config.followUps, {
      forms: new Set(config.forms.map((form) => form.id)),
      rules: new Set(config.routing.rules.map((rule) => rule.id)),
      templates: new Set(Object.keys(config.templates)),
    })) {
      ctx.addIssue({ code: 'custom', ...problem });
    }
  });

export type FormField = z.infer<typeof formFieldSchema>;
export type FormConfig = z.infer<typeof formSchema>;
export type Manager = z.infer<typeof managerSchema>;
export type Team = z.infer<typeof teamSchema>;
export type WhenNobodyAvailable = Team['whenNobodyAvailable'];
export type LeadflowConfigInput = z.input<typeof leadflowConfigSchema>;
export type ChannelSource = z.infer<typeof channelSourceSchema>;
export type ChannelsConfig = z.infer<typeof channelsSchema>;
export type ChatWidget = z.infer<typeof chatWidgetSchema>;
export type GenericSource = z.infer<typeof genericSourceSchema>;

/** Validated configuration with lookups; build it once per process. */
export class LeadflowConfig {
  readonly forms: ReadonlyMap<string, FormConfig>;
  readonly teams: ReadonlyMap<string, Team>;
  readonly managers: ReadonlyMap<string, Manager>;
  readonly channels: ChannelsConfig;
  readonly routing: RoutingRules;
  readonly scoring: Scoring;
  readonly timeZone: string;
  readonly contactFields: readonly ContactField[];
  /** The SLA policies (bundled with the forms); undefined: leads run no first-response clock. */
  readonly sla: SlaConfig | undefined;
  readonly followUps: FollowUps;
  readonly templates: Templates;
  /**
   * The configuration as it was given (validated), to derive a changed copy from: `new LeadflowConfig({
   * ...config.raw, routing })`. The input, not the parsed output, so transforms apply once.
   */
  readonly raw: LeadflowConfigInput;

  constructor(input: unknown) {
    const parsed = leadflowConfigSchema.safeParse(input);
    if (!parsed.success) throw new Error(`Invalid leadflow configuration: ${z.prettifyError(parsed.error)}`);
    this.forms = new Map(parsed.data.forms.map((form) => [form.id, form]));
    this.teams = new Map(parsed.data.teams.map((team) => [team.id, team]));
    this.managers = new Map(parsed.data.teams.flatMap((team) => team.managers.map((m) => [m.id, m])));
    this.channels = parsed.data.channels;
    this.routing = parsed.data.routing;
    this.scoring = parsed.data.scoring;
    this.timeZone = parsed.data.timeZone;
    this.contactFields = parsed.data.contactFields;
    this.sla = parsed.data.sla;
    this.followUps = parsed.data.followUps;
    this.templates = parsed.data.templates;
    this.raw = structuredClone(input) as LeadflowConfigInput;
  }

  /** The team a manager belongs to. */
  teamOf(managerId: string): Team | undefined {
    return [...this.teams.values()].find((team) => team.managers.some((manager) => manager.id === managerId));
  }

  team(teamId: string): Team {
    const team = this.teams.get(teamId);
    if (!team) throw new Error(`Unknown team ${teamId}`);
    return team;
  }
}
