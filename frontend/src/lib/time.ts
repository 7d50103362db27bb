/** Times in the account time zone: the editor shows and takes local times there, the API stores instants. */

function zoneParts(instant: Date, timezone: string): Record<string, number> {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(instant)) if (part.type !== "literal") parts[part.type] = Number(part.value);
  return parts;
}

/** Minutes the zone is ahead of UTC at ``instant``. */
export function offsetMinutes(instant: Date, timezone: string): number {
  const p = zoneParts(instant, timezone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
}

function pad(value: number, width = 2): string {
  return String(Math.abs(value)).padStart(width, "0");
}

export function offsetText(minutes: number): string {
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

/** "2026-03-29T02:30" in ``timezone`` → ISO-8601 with that zone's offset (a time in a DST gap moves forward). */
export function localToIso(local: string, timezone: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!match) return local;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi, s || 0);
  let instant = wall - offsetMinutes(new Date(wall), timezone) * 60000;
  instant = wall - offsetMinutes(new Date(instant), timezone) * 60000;
  const offset = offsetMinutes(new Date(instant), timezone);
  const p = zoneParts(new Date(instant), timezone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${offsetText(offset)}`;
}

/** An ISO instant → "YYYY-MM-DDTHH:MM" on the wall clock of ``timezone`` (for <input type=datetime-local>). */
export function isoToLocal(iso: string, timezone: string): string {
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return "";
  const p = zoneParts(instant, timezone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

export type DurationUnit = "minutes" | "hours" | "days";
const UNIT_CODE: Record<DurationUnit, string> = { minutes: "M", hours: "H", days: "D" };

/** ISO-8601 durations the way the API writes them: P365D, PT2H, PT90M. Null when not one unit. */
export function parseDuration(value: string | null | undefined): { amount: number; unit: DurationUnit } | null {
  if (!value) return null;
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(value);
  if (!match || value === "P" || value === "PT") return null;
  const [days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  if (seconds) return null;
  const total = days * 1440 + hours * 60 + minutes;
  if (total % 1440 === 0) return { amount: total / 1440, unit: "days" };
  if (total % 60 === 0) return { amount: total / 60, unit: "hours" };
  return { amount: total, unit: "minutes" };
}

export function formatDuration(amount: number, unit: DurationUnit): string {
  return unit === "days" ? `P${amount}D` : `PT${amount}${UNIT_CODE[unit]}`;
}
