import { z } from 'zod';

/** Days as `Intl` names them in English (`weekday: 'short'`), Monday first. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const TIME = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

/** `"09:00-12:00"`: a block of one day, local time; `24:00` ends at midnight. Overnight blocks are two. */
const blockSchema = z
  .string()
  .regex(/^\d{2}:\d{2}-\d{2}:\d{2}$/, 'a block is "HH:MM-HH:MM", e.g. "09:00-18:00"')
  .refine((block) => block.split('-').every((time) => TIME.test(time)), 'times run from 00:00 to 24:00')
  .refine((block) => {
    const [start = '', end = ''] = block.split('-');
    return minutesOf(start) < minutesOf(end);
  }, 'a block ends after it starts (split an overnight shift at 24:00)');

/** An IANA time zone the runtime knows, e.g. `Asia/Seoul`; never a fixed offset. */
export const timeZoneSchema = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return !/^(UTC|GMT)?[+-]\d/.test(zone);
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Asia/Seoul');

/**
 * Opening hours: a time zone, the blocks of each weekday (several a day, so a lunch break is two
 * blocks; a day left out is closed), and holidays as local dates, closed all day.
 */
export const businessHoursSchema = z.object({
  timeZone: timeZoneSchema,
  weekly: z.partialRecord(z.enum(WEEKDAYS), z.array(blockSchema)),
  holidays: z.array(z.iso.date()).default([]),
});
export type BusinessHours = z.infer<typeof businessHoursSchema>;

function minutesOf(time: string): number {
  const [hours = 0, minutes = 0] = time.split(':').map(Number);
  return hours * 60 + minutes;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock date, weekday and minute of the day of an instant in a time zone (via `Intl`). */
export function localTime(now: Date, timeZone: string): { date: string; weekday: Weekday; minute: number } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(now).map((part) => [part.type, part.value]));
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: String(parts.weekday).toLowerCase() as Weekday,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** True when `now` falls inside an opening block in the hours' own time zone, and not on a holiday. */
export function isOpen(hours: BusinessHours, now: Date): boolean {
  const local = localTime(now, hours.timeZone);
  if (hours.holidays.includes(local.date)) return false;
  return (hours.weekly[local.weekday] ?? []).some((block) => {
    const [start = '', end = ''] = block.split('-');
    return local.minute >= minutesOf(start) && local.minute < minutesOf(end);
  });
}

/** The offset of a time zone at an instant, in minutes east of UTC (Seoul +540, New York −300/−240). */
function offsetMinutes(instant: number, timeZone: string): number {
  const local = localTime(new Date(instant), timeZone);
  const [year = 0, month = 1, day = 1] = local.date.split('-').map(Number);
  const asUtc = Date.UTC(year, month - 1, day) + local.minute * 60_000;
  return Math.round((asUtc - Math.floor(instant / 60_000) * 60_000) / 60_000);
}

/**
 * The instant a local wall-clock time happens in a zone, resolved as Temporal's `compatible` does: a
 * time skipped by a DST change (02:30 on the spring-forward night) moves forward by the gap (03:30), a
 * repeated one (01:30 on the fall-back night) is its first occurrence.
 */
export function zonedInstant(date: string, minute: number, timeZone: string): Date {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number);
  const wall = Date.UTC(year, month - 1, day) + minute * 60_000;
  let guess = wall - offsetMinutes(wall, timeZone) * 60_000;
  guess = wall - offsetMinutes(guess, timeZone) * 60_000;
  const back = localTime(new Date(guess), timeZone);
  if (back.date === date && back.minute === minute) {
    // Of a repeated hour, the earlier instant.
    const earlier = guess - 60 * 60_000;
    const again = localTime(new Date(earlier), timeZone);
    return again.date === date && again.minute === minute ? new Date(earlier) : new Date(guess);
  }
  // In a gap the wall time does not exist: shift it forward by the gap, with the offset before it.
  return new Date(wall - offsetMinutes(wall - 12 * 60 * 60_000, timeZone) * 60_000);
}

function addDays(date: string, days: number): string {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

function weekdayOf(date: string): Weekday {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number);
  return WEEKDAYS[(new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7] as Weekday;
}

/** The next instant at or after `now` when the hours are open, within `horizonDays`; undefined if never. */
export function nextOpening(hours: BusinessHours, now: Date, horizonDays = 14): Date | undefined {
  if (isOpen(hours, now)) return now;
  const today = localTime(now, hours.timeZone).date;
  for (let offset = 0; offset <= horizonDays; offset++) {
    const date = addDays(today, offset);
    if (hours.holidays.includes(date)) continue;
    const starts = (hours.weekly[weekdayOf(date)] ?? [])
      .map((block) => minutesOf(block.split('-')[0] ?? ''))
      .sort((a, b) => a - b);
    for (const start of starts) {
      const at = zonedInstant(date, start, hours.timeZone);
      if (at.getTime() > now.getTime()) return at;
    }
  }
  return undefined;
}
