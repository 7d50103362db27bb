import { describe, expect, test } from "vitest";
import { formatDuration, isoToLocal, localToIso, parseDuration } from "./time";

describe("account time zone", () => {
  test("a local time becomes an instant with the zone's offset, summer and winter", () => {
    expect(localToIso("2026-01-15T09:30", "Europe/Riga")).toBe("2026-01-15T09:30:00+02:00");
    expect(localToIso("2026-07-15T09:30", "Europe/Riga")).toBe("2026-07-15T09:30:00+03:00");
    expect(localToIso("2026-07-15T09:30", "UTC")).toBe("2026-07-15T09:30:00+00:00");
  });

  test("an instant is shown on the zone's wall clock", () => {
    expect(isoToLocal("2026-07-15T06:30:00Z", "Europe/Riga")).toBe("2026-07-15T09:30");
    expect(isoToLocal("2026-07-15T09:30:00+03:00", "America/New_York")).toBe("2026-07-15T02:30");
  });
});

describe("durations", () => {
  test.each([
    ["P365D", { amount: 365, unit: "days" }],
    ["PT2H", { amount: 2, unit: "hours" }],
    ["PT90M", { amount: 90, unit: "minutes" }],
    ["P1DT1H", { amount: 25, unit: "hours" }],
  ])("%s", (iso, parsed) => {
    expect(parseDuration(iso)).toEqual(parsed);
  });

  test("round trip and refusals", () => {
    expect(formatDuration(365, "days")).toBe("P365D");
    expect(formatDuration(90, "minutes")).toBe("PT90M");
    expect(parseDuration("PT5S")).toBeNull();
    expect(parseDuration("P1Y")).toBeNull();
    expect(parseDuration(null)).toBeNull();
  });
});
