/**
 * Text as a caller who may not learn the server's layout reads it: absolute filesystem paths (the
 * embedded data directory, a socket, a model folder) become "[path]"; what happened and why stays
 * readable.
 */
export function hidePaths(detail: string): string {
  return detail.replace(/(^|[\s'"(=])(?:[A-Za-z]:)?[\\/][^\s'"),;]*/g, '$1[path]');
}
