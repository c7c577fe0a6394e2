/** "2026-Q4": the calendar quarter of a moment, in the window's time zone (where the operators are). */
export function quarterOf(date: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric' }).formatToParts(date);
  const year = parts.find((part) => part.type === 'year')!.value;
  const month = Number(parts.find((part) => part.type === 'month')!.value);
  return `${year}-Q${Math.ceil(month / 3)}`;
}
