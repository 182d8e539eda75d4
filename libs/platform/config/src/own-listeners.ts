/**
 * The ports this process itself serves on: its HTTP API and, in standalone mode, its embedded
 * PostgreSQL (which trusts every local connection). A model or webhook URL that points back at one
 * of them on this machine would let an API user reach the database or the API from the inside, so
 * the egress guard refuses them whatever the allow-list says.
 */
const listeners = new Map<number, string>();

export function registerOwnListener(port: number, what: string): void {
  if (Number.isInteger(port) && port > 0) listeners.set(port, what);
}

/** What serves on `port` in this process, if anything. */
export function ownListener(port: number): string | undefined {
  return listeners.get(port);
}
