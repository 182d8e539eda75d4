/**
 * What Grafana does to a ClickHouse panel's SQL before the server sees it, so dashboards can be
 * run without Grafana: the frontend substitutes template variables, then the
 * grafana-clickhouse-datasource backend (pkg/macros/macros.go, v4) expands its macros. The macro
 * texts below are the plugin's; anything this file does not know is an error, never passed through,
 * so a typo in a dashboard fails its test instead of failing in front of an operator.
 */

export interface TimeRange {
  /** Epoch milliseconds. */
  from: number;
  to: number;
}

export interface GrafanaQueryContext {
  range: TimeRange;
  /** The panel interval Grafana computed ($__interval), in milliseconds. */
  intervalMs: number;
  /** Template variables: one value, or the selected values of a multi-value / "All" variable. */
  variables: Record<string, string | readonly string[]>;
}

/** Grafana's variable formats that make sense in SQL. */
function format(name: string, value: string | readonly string[], formatName: string | undefined): string {
  const values = typeof value === 'string' ? [value] : value;
  switch (formatName) {
    case undefined:
    case 'raw':
      if (typeof value !== 'string')
        throw new Error(
          `variable ${name} has several values; give it a format such as \${${name}:singlequote}`,
        );
      return value;
    case 'singlequote':
      return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',');
    case 'doublequote':
      return values.map((v) => `"${v.replace(/"/g, '\\"')}"`).join(',');
    case 'sqlstring':
      return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
    case 'csv':
      return values.join(',');
    default:
      throw new Error(`variable format ${formatName} (in \${${name}:${formatName}}) is not supported here`);
  }
}

/** Substitutes `$name`, `${name}`, `${name:format}` and `[[name]]`; `$__macros` are left for the backend. */
export function interpolateVariables(sql: string, variables: GrafanaQueryContext['variables']): string {
  const lookup = (name: string) => {
    if (!(name in variables)) throw new Error(`unknown template variable $${name}`);
    return variables[name];
  };
  return sql
    .replace(/\$\{([A-Za-z_]\w*)(?::(\w+))?\}/g, (_, name: string, formatName?: string) =>
      name.startsWith('__') ? _ : format(name, lookup(name), formatName),
    )
    .replace(/\[\[([A-Za-z_]\w*)\]\]/g, (_, name: string) => format(name, lookup(name), undefined))
    .replace(/\$(?!__)([A-Za-z_]\w*)/g, (_, name: string) => format(name, lookup(name), undefined));
}

/** The arguments of a macro call starting at `open` (an opening parenthesis), split at top-level commas. */
function callArguments(sql: string, open: number): { args: string[]; end: number } {
  let depth = 0;
  let quote: string | null = null;
  let start = open + 1;
  const args: string[] = [];
  for (let index = open; index < sql.length; index++) {
    const char = sql[index];
    if (quote) {
      if (char === '\\') index++;
      else if (char === quote) quote = null;
      continue;
    }
    if (char === "'" || char === '"' || char === '`') quote = char;
    else if (char === '(') depth++;
    else if (char === ')') {
      depth--;
      if (depth === 0) {
        args.push(sql.slice(start, index).trim());
        return { args: args.filter((arg, i) => arg !== '' || i > 0), end: index + 1 };
      }
    } else if (char === ',' && depth === 1) {
      args.push(sql.slice(start, index).trim());
      start = index + 1;
    }
  }
  throw new Error(`unbalanced parentheses after ${sql.slice(Math.max(0, open - 20), open + 20)}`);
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

type Macro = (args: string[], context: GrafanaQueryContext) => string;

function arity(name: string, args: string[], count: number): void {
  if (args.length !== count) throw new Error(`$__${name} expects ${count} argument(s), got ${args.length}`);
}

/** The plugin's macros, with the same expansions as its backend. */
export const CLICKHOUSE_MACROS: Record<string, Macro> = {
  fromTime: (_, { range }) => `toDateTime(${seconds(range.from)})`,
  toTime: (_, { range }) => `toDateTime(${seconds(range.to)})`,
  fromTime_ms: (_, { range }) => `fromUnixTimestamp64Milli(${range.from})`,
  toTime_ms: (_, { range }) => `fromUnixTimestamp64Milli(${range.to})`,
  timeFilter: (args, { range }) => {
    arity('timeFilter', args, 1);
    return `${args[0]} >= toDateTime(${seconds(range.from)}) AND ${args[0]} <= toDateTime(${seconds(range.to)})`;
  },
  timeFilter_ms: (args, { range }) => {
    arity('timeFilter_ms', args, 1);
    return `${args[0]} >= fromUnixTimestamp64Milli(${range.from}) AND ${args[0]} <= fromUnixTimestamp64Milli(${range.to})`;
  },
  dateFilter: (args, { range }) => {
    arity('dateFilter', args, 1);
    return `${args[0]} >= toDate('${date(range.from)}') AND ${args[0]} <= toDate('${date(range.to)}')`;
  },
  dateTimeFilter: (args, { range }) => {
    arity('dateTimeFilter', args, 2);
    const [day, moment] = args;
    return `(${day} >= toDate('${date(range.from)}') AND ${day} <= toDate('${date(range.to)}')) AND (${moment} >= toDateTime(${seconds(range.from)}) AND ${moment} <= toDateTime(${seconds(range.to)}))`;
  },
  timeInterval: (args, { intervalMs }) => {
    arity('timeInterval', args, 1);
    return `toStartOfInterval(toDateTime(${args[0]}), INTERVAL ${Math.max(seconds(intervalMs), 1)} second)`;
  },
  timeInterval_ms: (args, { intervalMs }) => {
    arity('timeInterval_ms', args, 1);
    return `toStartOfInterval(toDateTime64(${args[0]}, 3), INTERVAL ${Math.max(Math.floor(intervalMs), 1)} millisecond)`;
  },
  interval_s: (_, { intervalMs }) => String(Math.max(seconds(intervalMs), 1)),
};
CLICKHOUSE_MACROS.dt = CLICKHOUSE_MACROS.dateTimeFilter;

/** Expands `$__name` and `$__name(args)`; an unknown macro is an error. */
export function expandMacros(sql: string, context: GrafanaQueryContext): string {
  let output = '';
  let index = 0;
  const pattern = /\$__([A-Za-z0-9_]+)/g;
  for (let match = pattern.exec(sql); match; match = pattern.exec(sql)) {
    const [whole, name] = match;
    const macro = CLICKHOUSE_MACROS[name];
    if (!macro) throw new Error(`unknown macro $__${name}`);
    output += sql.slice(index, match.index);
    let end = match.index + whole.length;
    let args: string[] = [];
    if (sql[end] === '(') ({ args, end } = callArguments(sql, end));
    // Arguments may hold macros or variables of their own.
    output += macro(
      args.map((arg) => expandMacros(arg, context)),
      context,
    );
    index = end;
    pattern.lastIndex = end;
  }
  return output + sql.slice(index);
}

/** The SQL the ClickHouse server receives for a panel target. */
export function grafanaSql(rawSql: string, context: GrafanaQueryContext): string {
  return expandMacros(interpolateVariables(rawSql, context.variables), context);
}
