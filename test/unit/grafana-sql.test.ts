import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  expandMacros,
  grafanaSql,
  interpolateVariables,
  type GrafanaQueryContext,
} from '../support/grafana-sql';

const context: GrafanaQueryContext = {
  range: { from: Date.UTC(2026, 10, 13, 12, 0, 0, 250), to: Date.UTC(2026, 10, 20, 12, 0, 0, 999) },
  intervalMs: 90_500,
  variables: { model: 'sentiment', models: ['a', "o'brien"] },
};
const FROM_S = Date.UTC(2026, 10, 13, 12) / 1000;
const TO_S = Date.UTC(2026, 10, 20, 12) / 1000;

describe('Grafana ClickHouse SQL expansion (what the dashboards tests send to the engine)', () => {
  it('expands the time macros as the plugin backend does, in whole seconds', () => {
    assert.equal(
      expandMacros('WHERE $__timeFilter(timestamp)', context),
      `WHERE timestamp >= toDateTime(${FROM_S}) AND timestamp <= toDateTime(${TO_S})`,
    );
    assert.equal(expandMacros('$__fromTime|$__toTime', context), `toDateTime(${FROM_S})|toDateTime(${TO_S})`);
    assert.equal(
      expandMacros('$__fromTime_ms $__toTime_ms', context),
      `fromUnixTimestamp64Milli(${context.range.from}) fromUnixTimestamp64Milli(${context.range.to})`,
    );
    assert.equal(
      expandMacros('$__timeFilter_ms(t)', context),
      `t >= fromUnixTimestamp64Milli(${context.range.from}) AND t <= fromUnixTimestamp64Milli(${context.range.to})`,
    );
    assert.equal(
      expandMacros('$__dateFilter(d)', context),
      "d >= toDate('2026-11-13') AND d <= toDate('2026-11-20')",
    );
  });

  it('expands the interval macros with the panel interval, at least one second', () => {
    assert.equal(
      expandMacros('$__timeInterval(finished_at)', context),
      'toStartOfInterval(toDateTime(finished_at), INTERVAL 90 second)',
    );
    assert.equal(
      expandMacros('$__timeInterval_ms(t)', context),
      'toStartOfInterval(toDateTime64(t, 3), INTERVAL 90500 millisecond)',
    );
    assert.equal(expandMacros('count() / $__interval_s', context), 'count() / 90');
    assert.equal(expandMacros('$__interval_s', { ...context, intervalMs: 200 }), '1');
  });

  it('takes nested parentheses and quoted commas in macro arguments', () => {
    assert.equal(
      expandMacros("$__timeFilter(coalesce(a, parseDateTimeBestEffort('x, y)')))", context),
      `coalesce(a, parseDateTimeBestEffort('x, y)')) >= toDateTime(${FROM_S}) AND coalesce(a, parseDateTimeBestEffort('x, y)')) <= toDateTime(${TO_S})`,
    );
    assert.equal(
      expandMacros('$__dt(day, moment)', context),
      `(day >= toDate('2026-11-13') AND day <= toDate('2026-11-20')) AND (moment >= toDateTime(${FROM_S}) AND moment <= toDateTime(${TO_S}))`,
    );
  });

  it('substitutes variables in every Grafana syntax and format', () => {
    assert.equal(
      interpolateVariables("m = '$model' OR m = '${model}' OR m = '[[model]]'", context.variables),
      "m = 'sentiment' OR m = 'sentiment' OR m = 'sentiment'",
    );
    assert.equal(
      interpolateVariables('IN (${models:singlequote})', context.variables),
      "IN ('a','o\\'brien')",
    );
    assert.equal(interpolateVariables('IN (${models:sqlstring})', context.variables), "IN ('a','o''brien')");
    assert.equal(interpolateVariables('${models:csv}', context.variables), "a,o'brien");
    assert.equal(interpolateVariables('${model:singlequote}', context.variables), "'sentiment'");
  });

  it('runs variables first, then macros, as Grafana frontend and plugin backend do', () => {
    assert.equal(
      grafanaSql("SELECT 1 WHERE model_id = '${model}' AND $__timeFilter(ts)", context),
      `SELECT 1 WHERE model_id = 'sentiment' AND ts >= toDateTime(${FROM_S}) AND ts <= toDateTime(${TO_S})`,
    );
  });

  it('refuses what it does not know instead of passing it to the server', () => {
    assert.throws(() => grafanaSql('$__timeFilterr(ts)', context), /unknown macro \$__timeFilterr/);
    assert.throws(() => grafanaSql("WHERE m = '$modle'", context), /unknown template variable \$modle/);
    assert.throws(() => grafanaSql('IN (${models})', context), /several values; give it a format/);
    assert.throws(() => grafanaSql('${model:percentencode}', context), /not supported/);
    assert.throws(() => grafanaSql('$__timeFilter(a, b)', context), /expects 1 argument/);
    assert.throws(() => grafanaSql('$__timeFilter(a', context), /unbalanced/);
  });
});
