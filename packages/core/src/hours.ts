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

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The offset of a time zone at an instant, in minutes east of UTC (Seoul +540, New York −300/−240). */
function offsetMinutes(instant: number, timeZone: string): number {
  const local = localTime(new Date(instant), timeZone);
  return Math.round((wallClock(local.date, local.minute) - Math.floor(instant / MINUTE) * MINUTE) / MINUTE);
}

/** A local date and minute read as if it were UTC: the "wall clock" in milliseconds. */
function wallClock(date: string, minute: number): number {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number);
  return Date.UTC(year, month - 1, day) + minute * MINUTE;
}

/**
 * Every instant at which the zone's clock reads `date` at `minute`, earliest first: one on most days,
 * none in a DST gap, two in a repeated hour (or half hour, as on Lord Howe Island). The offsets a day
 * before and a day after are the only candidates, as in Temporal's `GetPossibleEpochNanoseconds`.
 */
function instantsAt(date: string, minute: number, timeZone: string): number[] {
  const wall = wallClock(date, minute);
  const offsets = new Set([offsetMinutes(wall - DAY, timeZone), offsetMinutes(wall + DAY, timeZone)]);
  return [...offsets]
    .map((offset) => wall - offset * MINUTE)
    .filter((instant) => {
      const back = localTime(new Date(instant), timeZone);
      return back.date === date && back.minute === minute;
    })
    .sort((a, b) => a - b);
}

/**
 * The instant a local wall-clock time happens in a zone, resolved as Temporal's `compatible` does: a
 * time skipped by a DST change (02:30 on the spring-forward night) moves forward by the gap (03:30), a
 * repeated one (01:30 on the fall-back night) is its first occurrence.
 */
export function zonedInstant(date: string, minute: number, timeZone: string): Date {
  const [first] = instantsAt(date, minute, timeZone);
  if (first !== undefined) return new Date(first);
  // In a gap the wall time does not exist: read it with the offset before the gap, which moves it forward.
  const wall = wallClock(date, minute);
  return new Date(wall - offsetMinutes(wall - DAY, timeZone) * MINUTE);
}

function addDays(date: string, days: number): string {
  return new Date(wallClock(date, 0) + days * DAY).toISOString().slice(0, 10);
}

function weekdayOf(date: string): Weekday {
  return WEEKDAYS[(new Date(wallClock(date, 0)).getUTCDay() + 6) % 7] as Weekday;
}

/**
 * The instant the zone's offset changes between `from` and `to` (to the minute), if it does; a zone
 * changes its offset at most once in the day and a half this is asked about.
 */
function offsetChange(from: number, to: number, timeZone: string): number | undefined {
  let low = Math.floor(from / MINUTE) * MINUTE;
  let high = Math.ceil(to / MINUTE) * MINUTE;
  const before = offsetMinutes(low, timeZone);
  if (offsetMinutes(high, timeZone) === before) return undefined;
  while (high - low > MINUTE) {
    const middle = low + Math.floor((high - low) / MINUTE / 2) * MINUTE;
    if (offsetMinutes(middle, timeZone) === before) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The next instant at or after `now` when the hours are open, within `horizonDays`; undefined if never.
 * A block opens when its start shows on the clock (both times in a repeated hour), or at a DST change
 * that moves the clock into it: a block starting at 02:30 on the spring-forward night opens at 03:00.
 */
export function nextOpening(hours: BusinessHours, now: Date, horizonDays = 14): Date | undefined {
  if (isOpen(hours, now)) return now;
  const { timeZone } = hours;
  const today = localTime(now, timeZone).date;
  for (let offset = 0; offset <= horizonDays; offset++) {
    const date = addDays(today, offset);
    if (hours.holidays.includes(date)) continue;
    const blocks = hours.weekly[weekdayOf(date)] ?? [];
    if (blocks.length === 0) continue;
    const candidates = blocks.flatMap((block) => {
      const start = minutesOf(block.split('-')[0] ?? '');
      const instants = instantsAt(date, start, timeZone);
      return instants.length > 0 ? instants : [zonedInstant(date, start, timeZone).getTime()];
    });
    // Offsets run from −12 to +14 hours, so the day's instants lie within this span around its UTC midnight.
    const change = offsetChange(
      wallClock(date, 0) - 14 * 60 * MINUTE,
      wallClock(date, 0) + 36 * 60 * MINUTE,
      timeZone,
    );
    if (change !== undefined && localTime(new Date(change), timeZone).date === date) candidates.push(change);
    const opening = candidates
      .sort((a, b) => a - b)
      .find((instant) => instant > now.getTime() && isOpen(hours, new Date(instant)));
    if (opening !== undefined) return new Date(opening);
  }
  return undefined;
}
