/** ClickHouse DateTime64(3) text in UTC, unambiguous under any server time zone setting. */
export function clickHouseTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
