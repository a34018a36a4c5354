import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { CaptureEvent } from './capture';
import { type BusinessHours, isOpen } from './hours';
import { clip } from './normalize';
import type { BaseConditions, FieldCondition, RoutingRules, RuleConditions } from './routing-config';
import type { Priority } from './vocabulary';

/** What the rules decided for one capture, with the reasoning a manager can read. */
export type RuleDecision = {
  teamId: string;
  /** The rule that chose the team, or `default` when none did and the capture's own team stays. */
  ruleId: string;
  priority: Priority;
  /** Deduplicated, in the order the rules added them, then the default tags. */
  tags: string[];
  /** Ids of all rules that applied, in order. */
  matched: string[];
  /** Whether the final team is open at `now`; undefined when it has no business hours. */
  inBusinessHours: boolean | undefined;
  trace: RuleTrace[];
};

/** One rule's outcome: `why` names the conditions that held, or the first that did not. */
export type RuleTrace = { ruleId: string; applied: boolean; why: string };

export type RuleInput = {
  routing: RoutingRules;
  capture: CaptureEvent;
  /** The lead's score, for `score` conditions (see `scoreCapture`). */
  score: number;
  now: Date;
  /** A team's business hours, or undefined when it has none (or is unknown). */
  teamHours: (teamId: string) => BusinessHours | undefined;
};

type Verdict = { holds: boolean; why: string };

/** What a condition set is evaluated against; `teamId` is the team the rule would send the lead to. */
type Subject = Omit<RuleInput, 'routing'> & { teamId: string };

/**
 * Runs the routing rules over a capture, in order.
 *
 * - The target starts as the capture's own team (its form's or channel's `teamId`).
 * - The first matching rule that names a team decides the team, and its priority when it sets one. Later
 *   rules that name a team do not apply at all, even when they match ("team already chosen by …").
 * - Rules without a team apply whenever they match: their tags accumulate, and their priority is taken
 *   only when no earlier rule set one.
 * - A `businessHours` condition tests the team the rule would send the lead to: its own team if it names
 *   one, else the target so far. A team without hours fails the condition, inside or outside.
 * - No priority from any rule: `urgent` for an urgent capture (a missed call), else the default's.
 *   The default's tags are always added.
 *
 * Pure: the clock is `now`, and the teams' hours come from `teamHours`.
 */
export function evaluateRules(input: RuleInput): RuleDecision {
  const { routing, capture, teamHours, now } = input;
  let teamId = capture.teamId;
  let teamRule: string | undefined;
  let teamPriority: Priority | undefined;
  let firstPriority: Priority | undefined;
  const tags: string[] = [];
  const matched: string[] = [];
  const trace: RuleTrace[] = [];

  for (const rule of routing.rules) {
    const target = rule.then.teamId ?? teamId;
    const verdict = conditionsHold(rule.when, { ...input, teamId: target });
    if (!verdict.holds) {
      trace.push({ ruleId: rule.id, applied: false, why: verdict.why });
      continue;
    }
    if (rule.then.teamId !== undefined && teamRule !== undefined) {
      trace.push({
        ruleId: rule.id,
        applied: false,
        why: `team already chosen by ${teamRule} (${verdict.why})`,
      });
      continue;
    }
    if (rule.then.teamId !== undefined) {
      teamId = rule.then.teamId;
      teamRule = rule.id;
      teamPriority = rule.then.priority;
    }
    firstPriority ??= rule.then.priority;
    tags.push(...rule.then.tags);
    matched.push(rule.id);
    trace.push({ ruleId: rule.id, applied: true, why: verdict.why });
  }

  const hours = teamHours(teamId);
  return {
    teamId,
    ruleId: teamRule ?? 'default',
    priority: teamPriority ?? firstPriority ?? (capture.urgent ? 'urgent' : routing.default.priority),
    tags: [...new Set([...tags, ...routing.default.tags])],
    matched,
    inBusinessHours: hours ? isOpen(hours, now) : undefined,
    trace,
  };
}

/** Every condition given holds, and at least one `anyOf` alternative when there are any. */
function conditionsHold(conditions: RuleConditions, subject: Subject): Verdict {
  const { anyOf, ...all } = conditions;
  const base = baseHold(all, subject);
  if (!base.holds || anyOf === undefined) return base;
  const alternatives = anyOf.map((alternative) => baseHold(alternative, subject));
  const chosen = alternatives.find((verdict) => verdict.holds);
  if (!chosen) return { holds: false, why: alternatives.map((verdict) => verdict.why).join('; ') };
  return { holds: true, why: base.why === ALWAYS ? chosen.why : `${base.why}, ${chosen.why}` };
}

const ALWAYS = 'always';

/** The conditions are checked in a fixed order and the first that fails is the reason. */
function baseHold(conditions: BaseConditions, subject: Subject): Verdict {
  const { capture } = subject;
  const checks: (() => Verdict)[] = [];
  const { channel, sourceId, utmSource, utmMedium, utmCampaign, country, language, fields, keywords } =
    conditions;
  if (channel) checks.push(() => exact('channel', capture.channel, channel));
  if (sourceId) checks.push(() => exact('source', capture.sourceId, sourceId));
  if (utmSource) checks.push(() => utm('utm_source', capture, utmSource));
  if (utmMedium) checks.push(() => utm('utm_medium', capture, utmMedium));
  if (utmCampaign) checks.push(() => utm('utm_campaign', capture, utmCampaign));
  if (country) checks.push(() => countryHolds(capture, country));
  if (language) checks.push(() => exact('language', capture.language, language));
  for (const field of fields ?? []) checks.push(() => fieldHolds(answerOf(capture, field.field), field));
  if (keywords) checks.push(() => keywordsHold(capture, keywords));
  const { urgent, score, businessHours } = conditions;
  if (urgent !== undefined)
    checks.push(() => ({ holds: capture.urgent === urgent, why: capture.urgent ? 'urgent' : 'not urgent' }));
  if (score) checks.push(() => rangeHolds('score', subject.score, score));
  if (businessHours) checks.push(() => hoursHold(subject, businessHours));

  const reasons: string[] = [];
  for (const check of checks) {
    const verdict = check();
    if (!verdict.holds) return verdict;
    reasons.push(verdict.why);
  }
  return { holds: true, why: reasons.length > 0 ? reasons.join(', ') : ALWAYS };
}

/** A form answer by name; own keys only, so a field named `constructor` is not Object's. */
export function answerOf(capture: Pick<CaptureEvent, 'answers'>, field: string): string | undefined {
  return Object.hasOwn(capture.answers, field) ? capture.answers[field] : undefined;
}

function exact(what: string, value: string, allowed: readonly string[]): Verdict {
  return allowed.includes(value)
    ? { holds: true, why: `${what} ${value}` }
    : { holds: false, why: `${what} is ${value}, not ${alternativesText(allowed)}` };
}

function utm(key: string, capture: CaptureEvent, allowed: readonly string[]): Verdict {
  const value = capture.source.utm[key];
  if (value === undefined || value.trim() === '') return { holds: false, why: `no ${key}` };
  const folded = foldForMatching(value).trim();
  return allowed.some((candidate) => foldForMatching(candidate).trim() === folded)
    ? { holds: true, why: `${key} ${shown(value)}` }
    : { holds: false, why: `${key} is ${shown(value)}, not ${alternativesText(allowed)}` };
}

function countryHolds(capture: CaptureEvent, allowed: readonly string[]): Verdict {
  const phone = capture.contact.phone;
  if (!phone) return { holds: false, why: 'no phone number for a country' };
  const country = parsePhoneNumberFromString(phone)?.country;
  if (!country) return { holds: false, why: 'no country for the phone number' };
  return exact('country', country, allowed);
}

function fieldHolds(answer: string | undefined, condition: FieldCondition): Verdict {
  const { field } = condition;
  if (answer === undefined || answer.trim() === '') return { holds: false, why: `no answer for ${field}` };
  const folded = foldForMatching(answer).trim();
  const quoted = shown(answer);
  if (condition.equals !== undefined || condition.oneOf !== undefined) {
    const allowed = condition.oneOf ?? [condition.equals ?? ''];
    const expected = alternativesText(allowed.map((value) => JSON.stringify(value)));
    return allowed.some((value) => foldForMatching(value).trim() === folded)
      ? { holds: true, why: `${field} is ${quoted}` }
      : { holds: false, why: `${field} is ${quoted}, not ${expected}` };
  }
  if (condition.contains !== undefined) {
    const holds = folded.includes(foldForMatching(condition.contains));
    return { holds, why: `${field} ${holds ? 'contains' : 'lacks'} ${JSON.stringify(condition.contains)}` };
  }
  const number = readAnswerNumber(answer);
  if (number === undefined) return { holds: false, why: `${field} is ${quoted}, not a number` };
  return rangeHolds(field, number, condition);
}

function keywordsHold(capture: CaptureEvent, keywords: readonly string[]): Verdict {
  const found = keywords.find((keyword) => mentionsKeyword(capture, keyword));
  return found !== undefined
    ? { holds: true, why: `mentions ${JSON.stringify(found)}` }
    : {
        holds: false,
        why: `mentions none of ${keywords.map((keyword) => JSON.stringify(keyword)).join(', ')}`,
      };
}

function rangeHolds(what: string, value: number, range: { min?: number; max?: number }): Verdict {
  if (range.min !== undefined && value < range.min)
    return { holds: false, why: `${what} ${value} < ${range.min}` };
  if (range.max !== undefined && value > range.max)
    return { holds: false, why: `${what} ${value} > ${range.max}` };
  const bounds =
    range.min !== undefined && range.max !== undefined
      ? `in ${range.min}–${range.max}`
      : range.min !== undefined
        ? `≥ ${range.min}`
        : `≤ ${range.max}`;
  return { holds: true, why: `${what} ${value} ${bounds}` };
}

function hoursHold(subject: Subject, wanted: 'inside' | 'outside'): Verdict {
  const hours = subject.teamHours(subject.teamId);
  if (!hours) return { holds: false, why: `team ${subject.teamId} has no business hours` };
  const where = isOpen(hours, subject.now) ? 'inside' : 'outside';
  return {
    holds: where === wanted,
    why: `${where} ${hours.timeZone} business hours of team ${subject.teamId}`,
  };
}

/** What the sender wrote, quoted and cut short: a trace is for reading, and may be logged. */
function shown(value: string): string {
  return JSON.stringify(clip(value, 40, '…'));
}

function alternativesText(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

// Drawn nothing, they only hide a match: soft hyphen, Arabic letter mark, zero-width space (Thai writers
// put it between words), joiners, LRM/RLM, bidi controls, word joiner, invisible operators, BOM.
const INVISIBLE = /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

/**
 * Text as rules compare it: NFKC (full-width and compatibility forms, composed Hangul, Thai SARA AM),
 * case-folded (upper then lower, so `ß` meets `SS`), invisible characters dropped, white space as one
 * space.
 */
export function foldForMatching(text: string): string {
  return text
    .replace(INVISIBLE, '')
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
    .replace(/\s+/g, ' ');
}

/**
 * Whether the capture's message or email subject contains the keyword, compared with `foldForMatching`. A
 * substring, not a word: Korean and Thai do not put spaces between words.
 */
export function mentionsKeyword(capture: Pick<CaptureEvent, 'message' | 'email'>, keyword: string): boolean {
  const needle = foldForMatching(keyword);
  if (needle.trim() === '') return false;
  return [capture.message, capture.email?.subject].some(
    (text) => text !== undefined && foldForMatching(text).includes(needle),
  );
}

const THAI_ZERO = 0x0e50;

/**
 * An answer read as a number: full-width and Thai digits, thousands grouped by commas ("1,200") or
 * spaces, an optional sign and decimals. Anything else (units, currency, "about 5") is not a number.
 */
export function readAnswerNumber(answer: string): number | undefined {
  const text = answer
    .normalize('NFKC')
    .replace(/[\u0E50-\u0E59]/g, (digit) => String((digit.codePointAt(0) ?? THAI_ZERO) - THAI_ZERO))
    .replace(/\s+/g, '');
  if (!/^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$/.test(text)) return undefined;
  return Number(text.replaceAll(',', ''));
}
