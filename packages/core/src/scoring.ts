import type { CaptureEvent } from './capture';
import type { Scoring } from './routing-config';
import { answerOf, foldForMatching, mentionsKeyword } from './rules';

/** A lead's score and the points that made it up. */
export type ScoreResult = {
  /** An integer from 0 to 100. */
  score: number;
  /** Every non-zero contribution, in the order: channel, fields, keywords, utm_source, repeat contact. */
  reasons: { points: number; why: string }[];
};

export type ScoreInput = {
  capture: CaptureEvent;
  scoring: Scoring;
  /** When the same contact last reached us (ISO 8601), if they did. */
  previousLeadAt?: string | undefined;
  now: Date;
};

const DAY = 24 * 60 * 60 * 1000;

/**
 * Scores a capture from the configured points: its channel; each filled field (`email`, `phone`, `name`
 * and `message` are the capture's own, any other name a non-blank form answer); each keyword found, once,
 * in the message or email subject (compared as rules compare them, in any script); its `utm_source`,
 * ignoring case; and a repeat contact whose previous lead is within `repeat.withinDays` of `now` (either
 * side, so clock skew between writers does not lose it). The sum is rounded and clamped to 0–100; the
 * reasons keep the raw points. Pure: the clock is `now`.
 */
export function scoreCapture({ capture, scoring, previousLeadAt, now }: ScoreInput): ScoreResult {
  const reasons: ScoreResult['reasons'] = [];
  const add = (points: number | undefined, why: string) => {
    if (points !== undefined && points !== 0) reasons.push({ points, why });
  };

  add(scoring.channel[capture.channel], `channel ${capture.channel}`);
  for (const [field, points] of Object.entries(scoring.fields)) {
    if (filled(capture, field)) add(points, `${field} given`);
  }
  for (const { keyword, points } of scoring.keywords) {
    if (mentionsKeyword(capture, keyword)) add(points, `mentions ${JSON.stringify(keyword)}`);
  }
  const utmSource = capture.source.utm.utm_source;
  if (utmSource !== undefined && utmSource.trim() !== '') {
    const wanted = foldForMatching(utmSource).trim();
    const entry = Object.entries(scoring.utmSource).find(
      ([value]) => foldForMatching(value).trim() === wanted,
    );
    if (entry) add(entry[1], `utm_source ${utmSource}`);
  }
  if (scoring.repeat && previousLeadAt !== undefined) {
    const since = Math.abs(now.getTime() - Date.parse(previousLeadAt));
    if (since <= scoring.repeat.withinDays * DAY)
      add(scoring.repeat.points, `repeat contact within ${scoring.repeat.withinDays} days`);
  }

  const total = reasons.reduce((sum, reason) => sum + reason.points, 0);
  return { score: Math.min(100, Math.max(0, Math.round(total))), reasons };
}

function filled(capture: CaptureEvent, field: string): boolean {
  const value =
    field === 'email' || field === 'phone' || field === 'name'
      ? capture.contact[field]
      : field === 'message'
        ? capture.message
        : answerOf(capture, field);
  return value !== undefined && value.trim() !== '';
}
