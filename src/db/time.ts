/**
 * ISO 8601 from a timestamptz as either driver path returns it: Drizzle's typed selects give a
 * Date, raw queries give PostgreSQL's text form ("2030-01-01 10:00:00.123+00").
 */
export function isoTime(value: Date | string): string {
  if (value instanceof Date) return value.toISOString();
  return new Date(value.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00")).toISOString();
}

export function isoTimeOrNull(value: Date | string | null | undefined): string | null {
  return value == null ? null : isoTime(value);
}
