/** Timestamps in the formats the API expects. */

/** metav1.Time: RFC 3339 in UTC with second precision. */
export function metaTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (the API rejects other widths). */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
