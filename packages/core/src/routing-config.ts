import type { CountryCode } from 'libphonenumber-js';
import { getCountries } from 'libphonenumber-js';
import { z } from 'zod';
import { channelSchema, languageSchema, prioritySchema } from './vocabulary';

const COUNTRIES = new Set<string>(getCountries());
const countrySchema = z
  .string()
  .refine((value) => COUNTRIES.has(value), { message: 'must be an ISO 3166-1 alpha-2 region such as TH' })
  .transform((value) => value as CountryCode);

const ruleId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _')
  // A decision names `default` when no rule chose the team, so no rule may take that name.
  .refine((id) => id !== 'default', 'default is reserved for the default route');
const tag = z.string().regex(/^[a-z0-9][a-z0-9_:-]{0,62}$/, 'lowercase letters, digits, _ : -');
const nonEmpty = <T extends z.ZodType>(item: T) => z.array(item).min(1);

/** A condition on one answer of the form (or a generic source's `fields`), by field name. */
export const fieldConditionSchema = z
  .object({
    field: z.string().min(1),
    /** Equal, case-insensitively, after Unicode normalization. */
    equals: z.string().optional(),
    oneOf: nonEmpty(z.string()).optional(),
    /** Contains, case-insensitively, in any script. */
    contains: z.string().min(1).optional(),
    /** A number range, inclusive; the answer must read as a number. */
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .refine(
    (condition) =>
      [condition.equals, condition.oneOf, condition.contains].filter((test) => test !== undefined).length +
        (condition.min !== undefined || condition.max !== undefined ? 1 : 0) ===
      1,
    'a field condition tests one thing: equals, oneOf, contains, or a min/max range',
  )
  .refine(
    (condition) =>
      condition.min === undefined || condition.max === undefined || condition.min <= condition.max,
    'min is at most max',
  );
export type FieldCondition = z.infer<typeof fieldConditionSchema>;

const baseConditionsSchema = z.object({
  channel: nonEmpty(channelSchema).optional(),
  /** The form id, generic source id, widget id… (the capture's `sourceId`). */
  sourceId: nonEmpty(z.string().min(1)).optional(),
  /** UTM values, compared case-insensitively. */
  utmSource: nonEmpty(z.string().min(1)).optional(),
  utmMedium: nonEmpty(z.string().min(1)).optional(),
  utmCampaign: nonEmpty(z.string().min(1)).optional(),
  /** The country of the phone's E.164 number. */
  country: nonEmpty(countrySchema).optional(),
  language: nonEmpty(languageSchema).optional(),
  fields: nonEmpty(fieldConditionSchema).optional(),
  /** Any of these in the message (or an email's subject), in any script, ignoring case and width. */
  keywords: nonEmpty(z.string().min(1)).optional(),
  /** A missed call (or any capture flagged urgent by its channel). */
  urgent: z.boolean().optional(),
  score: z
    .object({ min: z.number().optional(), max: z.number().optional() })
    .refine((range) => range.min !== undefined || range.max !== undefined, 'give min, max or both')
    .refine(
      (range) => range.min === undefined || range.max === undefined || range.min <= range.max,
      'min is at most max',
    )
    .optional(),
  /** Inside or outside the business hours of the team this rule would send the lead to. */
  businessHours: z.enum(['inside', 'outside']).optional(),
});

/**
 * A rule's conditions: every one given must hold. `anyOf` adds alternatives, of which at least one
 * must hold (each itself a set of conditions that all must hold), e.g. "country TH, or language th".
 */
export const conditionsSchema = baseConditionsSchema.extend({
  anyOf: nonEmpty(baseConditionsSchema).optional(),
});
export type RuleConditions = z.infer<typeof conditionsSchema>;
export type BaseConditions = z.infer<typeof baseConditionsSchema>;

export const ruleActionsSchema = z
  .object({
    teamId: z.string().optional(),
    priority: prioritySchema.optional(),
    tags: z.array(tag).default([]),
  })
  .refine(
    (actions) => actions.teamId !== undefined || actions.priority !== undefined || actions.tags.length > 0,
    'a rule does something: a team, a priority or tags',
  );

/**
 * One routing rule. Rules are read in order: the first matching rule that names a team decides the team
 * (and its priority); later rules that only add tags or a priority still apply when they match, so
 * "after hours → tag" works with any team.
 */
export const ruleSchema = z.object({
  id: ruleId,
  description: z.string().optional(),
  when: conditionsSchema.default({}),
  // biome-ignore lint/suspicious/noThenProperty: `then` is the configuration's word, and a rule is never awaited
  then: ruleActionsSchema,
});
export type Rule = z.infer<typeof ruleSchema>;

export const routingRulesSchema = z
  .object({
    rules: z.array(ruleSchema).default([]),
    /**
     * When no rule names a team, the form's or channel's own `teamId` stays. The priority counts when no
     * rule set one (an urgent capture is `urgent` first); the tags are always added.
     */
    default: z
      .object({ priority: prioritySchema.default('normal'), tags: z.array(tag).default([]) })
      .default({ priority: 'normal', tags: [] }),
  })
  .superRefine((routing, ctx) => {
    const ids = routing.rules.map((rule) => rule.id);
    for (const [index, value] of ids.entries()) {
      if (ids.indexOf(value) !== index)
        ctx.addIssue({
          code: 'custom',
          path: ['rules', index, 'id'],
          message: `rule ${value} is defined twice`,
        });
    }
  });
export type RoutingRules = z.infer<typeof routingRulesSchema>;

/** Points that add up to a lead's score (clamped to 0–100), stored on the lead and usable in rules. */
export const scoringSchema = z
  .object({
    /** Per channel, e.g. a missed call scores high. */
    channel: z.partialRecord(channelSchema, z.number()).default({}),
    /** When the capture carries this: `email`, `phone`, `name`, `message`, or a form field's name. */
    fields: z.record(z.string(), z.number()).default({}),
    /** Per keyword found in the message or subject (each keyword counts once). */
    keywords: z.array(z.object({ keyword: z.string().min(1), points: z.number() })).default([]),
    /** Per `utm_source` value, case-insensitive. */
    utmSource: z.record(z.string(), z.number()).default({}),
    /** For a contact who already reached us within the period. */
    repeat: z.object({ withinDays: z.number().positive(), points: z.number() }).optional(),
  })
  .default({ channel: {}, fields: {}, keywords: [], utmSource: {} });
export type Scoring = z.infer<typeof scoringSchema>;
