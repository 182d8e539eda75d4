/**
 * One kafkajs log entry as one readable line. kafkajs puts the cause and the place in separate
 * fields (`error`, `broker`, `topic`, `groupId`, ...), and its message alone ("Response
 * ListOffsets(key: 2, version: 3)") says neither what went wrong nor where.
 */
export function describeKafkaLog(log: Record<string, unknown>, namespace: string): string {
  const text = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  const message = text(log.message) ?? '(no message)';
  const error = text(log.error);
  const where = [
    ['broker', log.broker],
    ['topic', log.topic],
    ['partition', log.partition],
    ['group', log.groupId],
    ['retry', log.retryCount],
  ]
    .map(([name, value]) => [name, text(value)] as const)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([name, value]) => `${name} ${value}`);
  return `${message}${error && !message.includes(error) ? `: ${error}` : ''}${where.length ? ` [${where.join(', ')}]` : ''} (${namespace})`;
}
