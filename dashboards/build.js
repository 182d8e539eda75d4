#!/usr/bin/env node
'use strict';
/**
 * The Grafana dashboards, written once here and emitted as the JSON files Grafana provisions
 * (dashboards/tripline/*.json), together with the columns every ClickHouse panel query must return
 * (dashboards/panel-columns.json) — what test/integration/dashboards.test.ts checks against the real
 * engine. One source keeps ids, grid positions and datasource references consistent across five
 * dashboards; the JSON stays the artefact Grafana loads and operators read.
 *
 *   node dashboards/build.js           write the files
 *   node dashboards/build.js --check   exit 1 when the committed files are not what this script builds
 *
 * Queries follow the grafana-clickhouse-datasource (v4) SQL editor model and use its macros:
 * $__timeFilter(column), $__fromTime, $__toTime, $__timeInterval(column), $__interval_s.
 * Tables are ReplacingMergeTrees deduplicated on their idempotency keys: panels that count exact
 * history read with FINAL; rates over the raw event stream do not (a redelivery not yet merged
 * away is rare, and FINAL over the largest table would cost more than it corrects).
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = __dirname;
const OUTPUT = path.join(ROOT, 'tripline');
const COLUMNS_FILE = path.join(ROOT, 'panel-columns.json');

/** The datasources the provisioning files declare (dashboards/provisioning/datasources/). */
const CLICKHOUSE = { type: 'grafana-clickhouse-datasource', uid: 'tripline-clickhouse' };
const PROMETHEUS = { type: 'prometheus', uid: 'tripline-prometheus' };
/** The plugin version the queries are written for; 4.x reads pluginVersion to skip its v3 migration. */
const PLUGIN_VERSION = '4.13.0';
const SCHEMA_VERSION = 39;

/**
 * A SQL template: strips the indentation template literals carry, so rawSql reads well in
 * Grafana's editor, and indents a multi-line interpolated fragment to where it is placed.
 */
function sql(strings, ...values) {
  let text = strings[0];
  values.forEach((value, index) => {
    const indent = /[ ]*$/.exec(text.slice(text.lastIndexOf('\n') + 1))[0];
    text += String(value).split('\n').join(`\n${indent}`) + strings[index + 1];
  });
  text = text.replace(/^\n/, '').replace(/\s+$/, '');
  const lines = text.split('\n');
  const margin = Math.min(...lines.filter((line) => line.trim()).map((line) => /^ */.exec(line)[0].length));
  return lines.map((line) => line.slice(margin)).join('\n');
}

const MODELS_IN = 'model_id IN (${model:singlequote})';
const ONE_MODEL = "model_id = '${model}'";

function modelVariable({ multi }) {
  return {
    name: 'model',
    label: 'Model',
    description: 'Models seen in the live stream or evaluated in the dashboard time range',
    type: 'query',
    datasource: CLICKHOUSE,
    query: {
      refId: 'model',
      editorType: 'sql',
      queryType: 'sql',
      rawSql: sql`
        SELECT model_id
        FROM
        (
          SELECT DISTINCT model_id FROM tripline.inference_events WHERE $__timeFilter(timestamp)
          UNION ALL
          SELECT DISTINCT model_id FROM tripline.eval_runs WHERE $__timeFilter(started_at)
        )
        GROUP BY model_id
        ORDER BY model_id`,
    },
    refresh: 2,
    sort: 1,
    multi,
    includeAll: multi,
    ...(multi ? { current: { text: ['All'], value: ['$__all'] } } : {}),
    options: [],
  };
}

function clickHouseTarget(queryType, rawSql, columns, refId = 'A') {
  return {
    target: {
      refId,
      datasource: CLICKHOUSE,
      editorType: 'sql',
      queryType,
      // sqlds result format: 0 = time series (long rows become one series per label), 1 = table.
      format: queryType === 'timeseries' ? 0 : 1,
      rawSql,
      pluginVersion: PLUGIN_VERSION,
    },
    columns,
  };
}
const table = (rawSql, columns, refId) => clickHouseTarget('table', rawSql, columns, refId);
const series = (rawSql, columns, refId) => clickHouseTarget('timeseries', rawSql, columns, refId);
const prometheus = (expr, legendFormat, refId = 'A') => ({
  target: { refId, datasource: PROMETHEUS, editorMode: 'code', expr, legendFormat, range: true },
});

const ratio = { unit: 'percentunit', min: 0, max: 1 };
function thresholds(...steps) {
  return {
    mode: 'absolute',
    steps: steps.map(([color, value]) => ({ color, value: value ?? null })),
  };
}
const HIGH_IS_BAD = thresholds(['green'], ['orange', 0.1], ['red', 0.2]);

const PANEL_OPTIONS = {
  stat: {
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    colorMode: 'value',
    graphMode: 'none',
    justifyMode: 'auto',
    orientation: 'auto',
    textMode: 'auto',
  },
  table: { showHeader: true, cellHeight: 'sm' },
  timeseries: {
    legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
    tooltip: { mode: 'multi', sort: 'none' },
  },
  text: { mode: 'markdown' },
  heatmap: {
    calculate: false,
    cellGap: 1,
    color: {
      mode: 'scheme',
      scheme: 'Oranges',
      fill: 'dark-orange',
      scale: 'exponential',
      exponent: 0.5,
      steps: 64,
      reverse: false,
    },
    yAxis: { axisPlacement: 'left', reverse: false },
    rowsFrame: { layout: 'auto' },
    cellValues: { decimals: 2 },
    legend: { show: true },
    tooltip: { mode: 'single', yHistogram: false, showColorScale: true },
    showValue: 'never',
  },
};

/** A panel; `queries` are clickHouseTarget / prometheus results. */
function panel(type, title, description, { w, h, queries = [], defaults = {}, custom, content }) {
  return {
    type,
    title,
    description,
    w,
    h,
    queries,
    fieldConfig: {
      defaults: { ...defaults, ...(custom ? { custom } : {}) },
      overrides: [],
    },
    options: content ? { ...PANEL_OPTIONS.text, content } : PANEL_OPTIONS[type],
  };
}

/** Grid layout: panels flow left to right, 24 columns wide, wrapping to a new row when full. */
function dashboard({ uid, title, description, tags, multiModel, panels }) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const columns = {};
  const built = panels.map((spec, index) => {
    if (x + spec.w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { h: spec.h, w: spec.w, x, y };
    x += spec.w;
    rowHeight = Math.max(rowHeight, spec.h);
    const datasource = spec.queries[0]?.target.datasource;
    for (const query of spec.queries) {
      if (query.columns) (columns[spec.title] ??= {})[query.target.refId] = query.columns;
    }
    return {
      id: index + 1,
      type: spec.type,
      title: spec.title,
      description: spec.description,
      gridPos,
      ...(datasource ? { datasource } : {}),
      ...(spec.queries.length ? { targets: spec.queries.map((query) => query.target) } : {}),
      fieldConfig: spec.fieldConfig,
      options: spec.options,
    };
  });
  return {
    json: {
      uid,
      title,
      description,
      tags: ['tripline', ...tags],
      editable: true,
      graphTooltip: 1,
      schemaVersion: SCHEMA_VERSION,
      version: 1,
      time: { from: 'now-7d', to: 'now' },
      timezone: 'utc',
      refresh: '1m',
      links: [
        {
          title: 'Tripline',
          type: 'dashboards',
          tags: ['tripline'],
          asDropdown: true,
          includeVars: true,
          keepTime: true,
          icon: 'external link',
          targetBlank: false,
          tooltip: 'Other Tripline dashboards',
          url: '',
        },
      ],
      templating: { list: [modelVariable({ multi: multiModel })] },
      annotations: { list: [] },
      panels: built,
    },
    columns,
  };
}

/** Latest state of every alert, from its state changes: latest = (state, severity, model_id). */
const ALERT_STATE = sql`
  SELECT alert_id, argMax((state, severity, model_id), (timestamp, recorded_at)) AS latest
  FROM tripline.alert_events
  WHERE ${MODELS_IN} OR model_id = ''
  GROUP BY alert_id`;

/** The trigger with the highest attack-success rate in a per_trigger_attack_success map. */
const worstTrigger = (map) =>
  `if(empty(${map}), '', mapKeys(${map})[indexOf(mapValues(${map}), arrayMax(mapValues(${map})))])`;

function fleetOverview() {
  return dashboard({
    uid: 'tripline-fleet',
    title: 'Tripline · Fleet overview',
    description: "Every model's health at a glance: evaluations against baseline, canaries, alerts, traffic",
    tags: ['fleet'],
    multiModel: true,
    panels: [
      panel('stat', 'Models reporting', 'Models with inference events in the time range', {
        w: 4,
        h: 4,
        queries: [
          table(
            sql`
              SELECT uniqExact(model_id) AS models
              FROM tripline.inference_events
              WHERE $__timeFilter(timestamp) AND ${MODELS_IN}`,
            ['models'],
          ),
        ],
      }),
      panel(
        'stat',
        'Open alerts',
        'Alerts whose latest state is firing or acknowledged, whenever they opened',
        {
          w: 6,
          h: 4,
          defaults: { thresholds: thresholds(['green'], ['red', 1]) },
          queries: [
            table(
              sql`
              SELECT countIf(latest.1 = 'firing') AS firing, countIf(latest.1 = 'acknowledged') AS acknowledged
              FROM
              (
                ${ALERT_STATE}
              )`,
              ['firing', 'acknowledged'],
            ),
          ],
        },
      ),
      panel('stat', 'Evaluations', 'Evaluation runs finished in the time range, by outcome', {
        w: 6,
        h: 4,
        queries: [
          table(
            sql`
              SELECT countIf(status = 'succeeded') AS succeeded, countIf(status != 'succeeded') AS failed
              FROM tripline.eval_runs FINAL
              WHERE $__timeFilter(finished_at) AND ${MODELS_IN}`,
            ['succeeded', 'failed'],
          ),
        ],
      }),
      panel(
        'stat',
        'Worst attack-success rate',
        "Highest attack-success rate among the models' latest canary runs: how often a trigger forces the target label",
        {
          w: 8,
          h: 4,
          defaults: { ...ratio, thresholds: HIGH_IS_BAD },
          queries: [
            table(
              sql`
                SELECT max(attack_success_rate) AS worst_attack_success_rate
                FROM
                (
                  SELECT model_id, argMax(attack_success_rate, finished_at) AS attack_success_rate
                  FROM tripline.eval_runs FINAL
                  WHERE dataset_kind = 'canary' AND status = 'succeeded' AND ${MODELS_IN}
                  GROUP BY model_id
                )`,
              ['worst_attack_success_rate'],
            ),
          ],
        },
      ),
      panel(
        'table',
        'Model health',
        'Per model: the latest evaluation, clean accuracy against the baseline run it was compared with, the latest canary attack-success rate and its worst trigger, open alerts, and traffic in the time range',
        {
          w: 24,
          h: 9,
          queries: [
            table(
              sql`
                WITH
                  runs AS
                  (
                    SELECT run_id, model_id, dataset_kind, status, finished_at, accuracy, attack_success_rate,
                      per_trigger_attack_success, baseline_run_id
                    FROM tripline.eval_runs FINAL
                    WHERE ${MODELS_IN}
                  ),
                  traffic AS
                  (
                    SELECT model_id, count() AS events, max(timestamp) AS last_event
                    FROM tripline.inference_events
                    WHERE $__timeFilter(timestamp) AND ${MODELS_IN}
                    GROUP BY model_id
                  )
                SELECT
                  models.model_id AS model_id,
                  latest.last_evaluation AS last_evaluation,
                  clean.accuracy AS accuracy,
                  baseline.accuracy AS baseline_accuracy,
                  clean.accuracy - baseline.accuracy AS accuracy_change,
                  canary.attack_success_rate AS attack_success_rate,
                  ${worstTrigger('canary.per_trigger')} AS worst_trigger,
                  ifNull(alerts.open_alerts, 0) AS open_alerts,
                  ifNull(traffic.events, 0) AS events,
                  traffic.last_event AS last_event
                FROM (SELECT DISTINCT model_id FROM (SELECT model_id FROM runs UNION ALL SELECT model_id FROM traffic)) AS models
                LEFT JOIN (SELECT model_id, max(finished_at) AS last_evaluation FROM runs GROUP BY model_id) AS latest
                  ON latest.model_id = models.model_id
                LEFT JOIN
                (
                  SELECT model_id, argMax(accuracy, finished_at) AS accuracy, argMax(baseline_run_id, finished_at) AS baseline_run_id
                  FROM runs
                  WHERE dataset_kind = 'clean' AND status = 'succeeded'
                  GROUP BY model_id
                ) AS clean ON clean.model_id = models.model_id
                LEFT JOIN (SELECT run_id, accuracy FROM runs) AS baseline ON baseline.run_id = clean.baseline_run_id
                LEFT JOIN
                (
                  SELECT model_id, argMax(attack_success_rate, finished_at) AS attack_success_rate,
                    argMax(per_trigger_attack_success, finished_at) AS per_trigger
                  FROM runs
                  WHERE dataset_kind = 'canary' AND status = 'succeeded'
                  GROUP BY model_id
                ) AS canary ON canary.model_id = models.model_id
                LEFT JOIN
                (
                  SELECT latest.3 AS model_id, count() AS open_alerts
                  FROM
                  (
                    ${ALERT_STATE}
                  )
                  WHERE latest.1 IN ('firing', 'acknowledged')
                  GROUP BY model_id
                ) AS alerts ON alerts.model_id = models.model_id
                LEFT JOIN traffic ON traffic.model_id = models.model_id
                ORDER BY open_alerts DESC, attack_success_rate DESC, model_id
                SETTINGS join_use_nulls = 1`,
              [
                'model_id',
                'last_evaluation',
                'accuracy',
                'baseline_accuracy',
                'accuracy_change',
                'attack_success_rate',
                'worst_trigger',
                'open_alerts',
                'events',
                'last_event',
              ],
            ),
          ],
        },
      ),
      panel('timeseries', 'Clean accuracy', 'Accuracy of scheduled clean-set replays, per model', {
        w: 12,
        h: 8,
        defaults: ratio,
        queries: [
          series(
            sql`
              SELECT $__timeInterval(finished_at) AS time, model_id, avg(accuracy) AS accuracy
              FROM tripline.eval_runs FINAL
              WHERE $__timeFilter(finished_at) AND dataset_kind = 'clean' AND status = 'succeeded' AND ${MODELS_IN}
              GROUP BY time, model_id
              ORDER BY time`,
            ['time', 'model_id', 'accuracy'],
          ),
        ],
      }),
      panel(
        'timeseries',
        'Attack-success rate',
        'Worst-trigger attack-success rate of canary replays, per model',
        {
          w: 12,
          h: 8,
          defaults: { ...ratio, thresholds: HIGH_IS_BAD },
          custom: { thresholdsStyle: { mode: 'line' } },
          queries: [
            series(
              sql`
                SELECT $__timeInterval(finished_at) AS time, model_id, max(attack_success_rate) AS attack_success_rate
                FROM tripline.eval_runs FINAL
                WHERE $__timeFilter(finished_at) AND dataset_kind = 'canary' AND status = 'succeeded' AND ${MODELS_IN}
                GROUP BY time, model_id
                ORDER BY time`,
              ['time', 'model_id', 'attack_success_rate'],
            ),
          ],
        },
      ),
      panel('timeseries', 'Inference events per second', 'Live traffic per model, by event time', {
        w: 24,
        h: 7,
        defaults: { unit: 'reqps' },
        queries: [
          series(
            sql`
              SELECT $__timeInterval(timestamp) AS time, model_id, count() / $__interval_s AS events_per_second
              FROM tripline.inference_events
              WHERE $__timeFilter(timestamp) AND ${MODELS_IN}
              GROUP BY time, model_id
              ORDER BY time`,
            ['time', 'model_id', 'events_per_second'],
          ),
        ],
      }),
    ],
  });
}

function modelDetail() {
  const clean = `${ONE_MODEL} AND dataset_kind = 'clean' AND status = 'succeeded'`;
  const canary = `${ONE_MODEL} AND dataset_kind = 'canary' AND status = 'succeeded'`;
  return dashboard({
    uid: 'tripline-model',
    title: 'Tripline · Model detail',
    description:
      'One model: evaluations against baseline, canary trigger response, drift detectors, confidence and feedback accuracy',
    tags: ['model'],
    multiModel: false,
    panels: [
      panel(
        'stat',
        'Clean accuracy vs baseline',
        'Latest clean-set replay and the baseline run it was compared with',
        {
          w: 8,
          h: 4,
          defaults: ratio,
          queries: [
            table(
              sql`
              SELECT latest.accuracy AS accuracy, baseline.accuracy AS baseline_accuracy,
                latest.macro_f1 AS macro_f1, baseline.macro_f1 AS baseline_macro_f1
              FROM
              (
                SELECT argMax(accuracy, finished_at) AS accuracy, argMax(macro_f1, finished_at) AS macro_f1,
                  argMax(baseline_run_id, finished_at) AS baseline_run_id
                FROM tripline.eval_runs FINAL
                WHERE ${clean}
              ) AS latest
              LEFT JOIN (SELECT run_id, accuracy, macro_f1 FROM tripline.eval_runs FINAL WHERE ${ONE_MODEL}) AS baseline
                ON baseline.run_id = latest.baseline_run_id
              SETTINGS join_use_nulls = 1`,
              ['accuracy', 'baseline_accuracy', 'macro_f1', 'baseline_macro_f1'],
            ),
          ],
        },
      ),
      panel(
        'stat',
        'Canary response',
        'Latest canary replay: worst-trigger attack-success rate and pooled flip rate',
        {
          w: 8,
          h: 4,
          defaults: { ...ratio, thresholds: HIGH_IS_BAD },
          queries: [
            table(
              sql`
              SELECT argMax(attack_success_rate, finished_at) AS attack_success_rate,
                argMax(flip_rate, finished_at) AS flip_rate
              FROM tripline.eval_runs FINAL
              WHERE ${canary}`,
              ['attack_success_rate', 'flip_rate'],
            ),
          ],
        },
      ),
      panel(
        'stat',
        'Feedback accuracy',
        'Share of labelled events in the time range whose prediction matched the ground truth that came back',
        {
          w: 8,
          h: 4,
          defaults: ratio,
          queries: [
            table(
              sql`
                SELECT avg(events.output_label = truth.label) AS feedback_accuracy, count() AS labelled
                FROM
                (
                  SELECT event_id, output_label FROM tripline.inference_events FINAL
                  WHERE ${ONE_MODEL} AND $__timeFilter(timestamp)
                ) AS events
                INNER JOIN
                (
                  SELECT event_id, argMax(label, ingested_at) AS label FROM tripline.feedback
                  WHERE ${ONE_MODEL} AND timestamp >= $__fromTime
                  GROUP BY event_id
                ) AS truth USING (event_id)`,
              ['feedback_accuracy', 'labelled'],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Accuracy and macro-F1 against baseline',
        'Each clean-set replay next to the baseline run it was compared with',
        {
          w: 12,
          h: 8,
          defaults: ratio,
          queries: [
            series(
              sql`
                SELECT runs.finished_at AS time, runs.accuracy AS accuracy, runs.macro_f1 AS macro_f1,
                  baseline.accuracy AS baseline_accuracy, baseline.macro_f1 AS baseline_macro_f1
                FROM
                (
                  SELECT finished_at, accuracy, macro_f1, baseline_run_id FROM tripline.eval_runs FINAL
                  WHERE ${clean} AND $__timeFilter(finished_at)
                ) AS runs
                LEFT JOIN (SELECT run_id, accuracy, macro_f1 FROM tripline.eval_runs FINAL WHERE ${ONE_MODEL}) AS baseline
                  ON baseline.run_id = runs.baseline_run_id
                ORDER BY time
                SETTINGS join_use_nulls = 1`,
              ['time', 'accuracy', 'macro_f1', 'baseline_accuracy', 'baseline_macro_f1'],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Attack-success rate per trigger',
        'Canary replays: share of triggered inputs that reached the target label, one series per trigger',
        {
          w: 12,
          h: 8,
          defaults: { ...ratio, thresholds: HIGH_IS_BAD },
          custom: { thresholdsStyle: { mode: 'line' } },
          queries: [
            series(
              sql`
                SELECT finished_at AS time, canary_trigger, attack_success_rate
                FROM tripline.eval_runs FINAL
                ARRAY JOIN
                  mapKeys(per_trigger_attack_success) AS canary_trigger,
                  mapValues(per_trigger_attack_success) AS attack_success_rate
                WHERE ${canary} AND $__timeFilter(finished_at)
                ORDER BY time, canary_trigger`,
              ['time', 'canary_trigger', 'attack_success_rate'],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Drift p-values',
        'p-value of each stream detector per window (log scale); below 0.01 the detector calls drift',
        {
          w: 12,
          h: 8,
          defaults: { min: 0, max: 1, thresholds: thresholds(['red'], ['green', 0.01]) },
          custom: { scaleDistribution: { type: 'log', log: 10 }, thresholdsStyle: { mode: 'line' } },
          queries: [
            series(
              sql`
                SELECT window_end AS time, concat(metric, ' · ', detector) AS series, p_value
                FROM tripline.drift_metrics FINAL
                WHERE ${ONE_MODEL} AND $__timeFilter(window_end) AND verdict != 'insufficient-data'
                  AND p_value IS NOT NULL
                ORDER BY time, series`,
              ['time', 'series', 'p_value'],
            ),
          ],
        },
      ),
      panel(
        'table',
        'Drift detectors',
        'Latest window of each detector, and how many windows in the time range called drift',
        {
          w: 12,
          h: 8,
          queries: [
            table(
              sql`
                SELECT metric, detector, latest.1 AS window_end, latest.2 AS statistic, latest.3 AS p_value,
                  latest.4 AS effect_size, latest.5 AS sample_size, latest.6 AS reference_size, latest.7 AS verdict,
                  drift_windows
                FROM
                (
                  SELECT metric, detector, countIf(verdict = 'drift') AS drift_windows,
                    argMax((window_end, statistic, p_value, effect_size, sample_size, reference_size, verdict), window_end)
                      AS latest
                  FROM tripline.drift_metrics FINAL
                  WHERE ${ONE_MODEL} AND $__timeFilter(window_end)
                  GROUP BY metric, detector
                )
                ORDER BY drift_windows DESC, metric, detector`,
              [
                'metric',
                'detector',
                'window_end',
                'statistic',
                'p_value',
                'effect_size',
                'sample_size',
                'reference_size',
                'verdict',
                'drift_windows',
              ],
            ),
          ],
        },
      ),
      panel(
        'heatmap',
        'Feature drift heat map',
        'Per-feature drift effect size by window: Wasserstein distance in reference standard deviations (numeric features) or Jensen-Shannon distance (categorical); 0.1 and above with a BH-adjusted p-value under the FDR is drift',
        {
          w: 12,
          h: 8,
          defaults: { min: 0, unit: 'none' },
          queries: [
            series(
              sql`
                SELECT window_end AS time, labels['feature'] AS feature, effect_size
                FROM tripline.drift_metrics FINAL
                WHERE ${ONE_MODEL} AND $__timeFilter(window_end) AND startsWith(metric, 'feature.')
                  AND effect_size IS NOT NULL
                ORDER BY time, feature`,
              ['time', 'feature', 'effect_size'],
            ),
          ],
        },
      ),
      panel(
        'table',
        'Feature drift',
        "Each input feature's latest window: its test, BH-adjusted p-value, effect size, missing-value change, and how many windows in the range called drift; the dataset row gives the share of drifted features",
        {
          w: 12,
          h: 8,
          queries: [
            table(
              sql`
                SELECT feature, any_type AS feature_type, latest.1 AS window_end, latest.2 AS detector,
                  latest.3 AS adjusted_p_value, latest.4 AS effect_size, latest.5 AS verdict,
                  latest_missing_change AS missing_change, drift_windows
                FROM
                (
                  SELECT if(metric = 'dataset_share', '(dataset share)', labels['feature']) AS feature,
                    anyIf(labels['feature_type'], metric != 'dataset_share') AS any_type,
                    countIf(verdict = 'drift' AND NOT startsWith(metric, 'feature_missing.')) AS drift_windows,
                    argMaxIf((window_end, detector, p_value, effect_size, verdict), window_end,
                      NOT startsWith(metric, 'feature_missing.')) AS latest,
                    argMaxIf(effect_size, window_end, startsWith(metric, 'feature_missing.')) AS latest_missing_change
                  FROM tripline.drift_metrics FINAL
                  WHERE ${ONE_MODEL} AND $__timeFilter(window_end)
                    AND (startsWith(metric, 'feature.') OR startsWith(metric, 'feature_missing.') OR metric = 'dataset_share')
                  GROUP BY feature
                )
                ORDER BY drift_windows DESC, feature`,
              [
                'feature',
                'feature_type',
                'window_end',
                'detector',
                'adjusted_p_value',
                'effect_size',
                'verdict',
                'missing_change',
                'drift_windows',
              ],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Estimated performance (CBPE)',
        "Accuracy and macro-F1 estimated without labels from the model's scores, calibrated on the reference window's feedback (confidence-based performance estimation), with the 95% interval of the accuracy estimate and the reference's realised accuracy; windows whose estimate the window's own feedback contradicts count in estimate_contradicted (concept drift or label shift: trust the feedback accuracy)",
        {
          w: 24,
          h: 8,
          defaults: ratio,
          queries: [
            series(
              sql`
                SELECT window_end AS time,
                  maxIf(statistic, metric = 'estimated_accuracy') AS estimated_accuracy,
                  maxIf(JSONExtract(details, 'interval', 'Array(Float64)')[1], metric = 'estimated_accuracy') AS accuracy_low,
                  maxIf(JSONExtract(details, 'interval', 'Array(Float64)')[2], metric = 'estimated_accuracy') AS accuracy_high,
                  maxIf(statistic - effect_size, metric = 'estimated_accuracy') AS reference_accuracy,
                  maxIf(statistic, metric = 'estimated_macro_f1') AS estimated_macro_f1,
                  maxIf(JSONExtractString(details, 'validity') = 'contradicted-by-feedback', metric = 'estimated_accuracy')
                    AS estimate_contradicted
                FROM tripline.drift_metrics FINAL
                WHERE ${ONE_MODEL} AND $__timeFilter(window_end) AND detector = 'cbpe'
                  AND verdict != 'insufficient-data'
                GROUP BY time
                ORDER BY time`,
              [
                'time',
                'estimated_accuracy',
                'accuracy_low',
                'accuracy_high',
                'reference_accuracy',
                'estimated_macro_f1',
                'estimate_contradicted',
              ],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Prediction confidence',
        'Quantiles of the score of the predicted label, live stream',
        {
          w: 8,
          h: 8,
          defaults: ratio,
          queries: [
            series(
              sql`
              SELECT $__timeInterval(timestamp) AS time,
                quantile(0.1)(confidence) AS p10, quantile(0.5)(confidence) AS p50, quantile(0.9)(confidence) AS p90
              FROM tripline.inference_events
              WHERE ${ONE_MODEL} AND $__timeFilter(timestamp) AND confidence IS NOT NULL
              GROUP BY time
              ORDER BY time`,
              ['time', 'p10', 'p50', 'p90'],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Feedback accuracy over time',
        'Events joined with the ground truth that came back for them, by event time',
        {
          w: 8,
          h: 8,
          defaults: ratio,
          queries: [
            series(
              sql`
                SELECT $__timeInterval(events.timestamp) AS time, avg(events.output_label = truth.label) AS feedback_accuracy
                FROM
                (
                  SELECT event_id, timestamp, output_label FROM tripline.inference_events FINAL
                  WHERE ${ONE_MODEL} AND $__timeFilter(timestamp)
                ) AS events
                INNER JOIN
                (
                  SELECT event_id, argMax(label, ingested_at) AS label FROM tripline.feedback
                  WHERE ${ONE_MODEL} AND timestamp >= $__fromTime
                  GROUP BY event_id
                ) AS truth USING (event_id)
                GROUP BY time
                ORDER BY time`,
              ['time', 'feedback_accuracy'],
            ),
          ],
        },
      ),
      panel('timeseries', 'Predicted labels', 'Live predictions per interval, one series per label', {
        w: 8,
        h: 8,
        custom: { stacking: { mode: 'percent', group: 'A' }, fillOpacity: 60 },
        queries: [
          series(
            sql`
              SELECT $__timeInterval(timestamp) AS time, output_label AS label, count() AS predictions
              FROM tripline.inference_events
              WHERE ${ONE_MODEL} AND $__timeFilter(timestamp)
              GROUP BY time, label
              ORDER BY time, label`,
            ['time', 'label', 'predictions'],
          ),
        ],
      }),
    ],
  });
}

function canariesAndScans() {
  const canaryRuns = `dataset_kind = 'canary' AND status = 'succeeded' AND ${MODELS_IN}`;
  return dashboard({
    uid: 'tripline-canaries',
    title: 'Tripline · Canaries and scans',
    description:
      'Backdoor evidence: canary trigger response, live-stream trigger scan, behavioural fingerprints',
    tags: ['poisoning'],
    multiModel: true,
    panels: [
      panel(
        'timeseries',
        'Canary response',
        'Worst-trigger attack-success rate and pooled flip rate of each canary replay',
        {
          w: 12,
          h: 8,
          defaults: ratio,
          queries: [
            series(
              sql`
                SELECT finished_at AS time, model_id, attack_success_rate, flip_rate
                FROM tripline.eval_runs FINAL
                WHERE ${canaryRuns} AND $__timeFilter(finished_at)
                ORDER BY time`,
              ['time', 'model_id', 'attack_success_rate', 'flip_rate'],
            ),
          ],
        },
      ),
      panel(
        'table',
        'Triggers: latest canary run against baseline',
        "Per trigger, the latest run's attack-success rate next to the baseline run's",
        {
          w: 12,
          h: 8,
          queries: [
            table(
              sql`
                SELECT latest.model_id AS model_id, latest.canary_trigger AS canary_trigger,
                  latest.attack_success_rate AS attack_success_rate,
                  if(mapContains(baseline.per_trigger, canary_trigger), baseline.per_trigger[canary_trigger], NULL)
                    AS baseline_attack_success_rate,
                  attack_success_rate - baseline_attack_success_rate AS change
                FROM
                (
                  SELECT model_id, canary_trigger, attack_success_rate, baseline_run_id
                  FROM
                  (
                    SELECT model_id, argMax(per_trigger_attack_success, finished_at) AS per_trigger,
                      argMax(baseline_run_id, finished_at) AS baseline_run_id
                    FROM tripline.eval_runs FINAL
                    WHERE ${canaryRuns}
                    GROUP BY model_id
                  )
                  ARRAY JOIN mapKeys(per_trigger) AS canary_trigger, mapValues(per_trigger) AS attack_success_rate
                ) AS latest
                LEFT JOIN
                (
                  SELECT run_id, per_trigger_attack_success AS per_trigger FROM tripline.eval_runs FINAL
                  WHERE dataset_kind = 'canary' AND ${MODELS_IN}
                ) AS baseline ON baseline.run_id = latest.baseline_run_id
                ORDER BY attack_success_rate DESC, model_id, canary_trigger
                SETTINGS join_use_nulls = 1`,
              ['model_id', 'canary_trigger', 'attack_success_rate', 'baseline_attack_success_rate', 'change'],
            ),
          ],
        },
      ),
      panel('table', 'Canary runs', 'Every canary replay in the time range, newest first', {
        w: 24,
        h: 8,
        queries: [
          table(
            sql`
              SELECT
                runs.finished_at AS finished_at,
                runs.model_id AS model_id,
                runs.model_version AS model_version,
                runs.run_id AS run_id,
                runs.sample_count AS samples,
                runs.attack_success_rate AS attack_success_rate,
                baseline.attack_success_rate AS baseline_attack_success_rate,
                ${worstTrigger('runs.per_trigger_attack_success')} AS worst_trigger,
                runs.flip_rate AS flip_rate,
                runs.confidence_shift AS confidence_shift
              FROM
              (
                SELECT * FROM tripline.eval_runs FINAL
                WHERE ${canaryRuns} AND $__timeFilter(finished_at)
              ) AS runs
              LEFT JOIN
              (
                SELECT run_id, attack_success_rate FROM tripline.eval_runs FINAL
                WHERE dataset_kind = 'canary' AND ${MODELS_IN}
              ) AS baseline ON baseline.run_id = runs.baseline_run_id
              ORDER BY finished_at DESC
              LIMIT 200
              SETTINGS join_use_nulls = 1`,
            [
              'finished_at',
              'model_id',
              'model_version',
              'run_id',
              'samples',
              'attack_success_rate',
              'baseline_attack_success_rate',
              'worst_trigger',
              'flip_rate',
              'confidence_shift',
            ],
          ),
        ],
      }),
      panel(
        'table',
        'Canary samples that reached the target label',
        'Triggered inputs the model answered with the attacker-chosen label (most recent 100)',
        {
          w: 24,
          h: 8,
          queries: [
            table(
              sql`
                SELECT timestamp, model_id, run_id, trigger, input_text, expected_label, target_label,
                  predicted_label, confidence
                FROM tripline.eval_samples FINAL
                WHERE ${MODELS_IN} AND $__timeFilter(timestamp) AND trigger != ''
                  AND target_label != '' AND predicted_label = target_label
                ORDER BY timestamp DESC
                LIMIT 100`,
              [
                'timestamp',
                'model_id',
                'run_id',
                'trigger',
                'input_text',
                'expected_label',
                'target_label',
                'predicted_label',
                'confidence',
              ],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Live-stream trigger scan',
        'Tokens per window that are rare in the reference yet pin the output to one label (trigger_response detector)',
        {
          w: 12,
          h: 8,
          defaults: { min: 0, decimals: 0 },
          custom: { drawStyle: 'bars', fillOpacity: 80 },
          queries: [
            series(
              sql`
                SELECT window_end AS time, model_id, statistic AS flagged_tokens
                FROM tripline.drift_metrics FINAL
                WHERE metric = 'trigger_response' AND ${MODELS_IN} AND $__timeFilter(window_end)
                  AND statistic IS NOT NULL
                ORDER BY time`,
              ['time', 'model_id', 'flagged_tokens'],
            ),
          ],
        },
      ),
      panel(
        'table',
        'Tokens pinning the output',
        'Windows where the live-stream scan flagged tokens: which tokens, the label they force, the adjusted p-value and lift',
        {
          w: 12,
          h: 8,
          queries: [
            table(
              sql`
                SELECT window_end, model_id, labels['trigger_tokens'] AS trigger_tokens,
                  labels['target_labels'] AS target_labels, p_value AS adjusted_p_value, effect_size AS lift,
                  sample_size AS events
                FROM tripline.drift_metrics FINAL
                WHERE metric = 'trigger_response' AND verdict = 'drift' AND ${MODELS_IN}
                  AND $__timeFilter(window_end)
                ORDER BY window_end DESC
                LIMIT 200`,
              [
                'window_end',
                'model_id',
                'trigger_tokens',
                'target_labels',
                'adjusted_p_value',
                'lift',
                'events',
              ],
            ),
          ],
        },
      ),
      panel(
        'table',
        'Behavioural fingerprints',
        'Probe-set replays. A fingerprint that changes while the registered version stays the same points at a silent model swap.',
        {
          w: 24,
          h: 8,
          queries: [
            table(
              sql`
                SELECT finished_at, model_id, model_version, fingerprint, previous_fingerprint,
                  previous_fingerprint != '' AND fingerprint != previous_fingerprint AS fingerprint_changed,
                  fingerprint_changed AND model_version = previous_version AS silent_swap
                FROM
                (
                  -- Over the whole history, so the first run in the range still knows its predecessor.
                  SELECT finished_at, model_id, model_version, fingerprint,
                    lagInFrame(fingerprint, 1, '') OVER w AS previous_fingerprint,
                    lagInFrame(model_version, 1, '') OVER w AS previous_version
                  FROM tripline.eval_runs FINAL
                  WHERE dataset_kind = 'probe' AND status = 'succeeded' AND ${MODELS_IN}
                  WINDOW w AS (PARTITION BY model_id ORDER BY finished_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                )
                WHERE $__timeFilter(finished_at)
                ORDER BY silent_swap DESC, finished_at DESC
                LIMIT 200`,
              [
                'finished_at',
                'model_id',
                'model_version',
                'fingerprint',
                'previous_fingerprint',
                'fingerprint_changed',
                'silent_swap',
              ],
            ),
          ],
        },
      ),
      panel('text', 'On-demand scans', 'Where the other scan results live', {
        w: 24,
        h: 3,
        content:
          'Trigger scans started with `POST /v1/scans` (vocabulary or library candidates) keep their flagged tokens with the run in PostgreSQL: `GET /v1/scans/{id}` or `tripline runs show <id>`. This dashboard shows what reaches ClickHouse: canary replays, the live-stream trigger scan and probe-set fingerprints.',
      }),
    ],
  });
}

function ingestionHealth() {
  // ingested_at is not the partition key; bounding event time as well lets ClickHouse skip old
  // partitions. Events more than a day late are left out of these panels.
  const ingestedIn = sql`
    $__timeFilter(ingested_at) AND timestamp >= $__fromTime - INTERVAL 1 DAY AND ${MODELS_IN}`;
  const promRate = (metric, by) => `sum by (${by}) (rate(${metric}[$__rate_interval]))`;
  return dashboard({
    uid: 'tripline-ingestion',
    title: 'Tripline · Ingestion health',
    description:
      'What arrives, how fast, how late; Kafka consumer lag and dead letters from the apps’ Prometheus metrics',
    tags: ['ingestion'],
    multiModel: true,
    panels: [
      panel(
        'timeseries',
        'Events ingested per second',
        'Inference events written to ClickHouse, by ingestion time',
        {
          w: 12,
          h: 8,
          defaults: { unit: 'reqps' },
          queries: [
            series(
              sql`
              SELECT $__timeInterval(ingested_at) AS time, model_id, count() / $__interval_s AS events_per_second
              FROM tripline.inference_events
              WHERE ${ingestedIn}
              GROUP BY time, model_id
              ORDER BY time`,
              ['time', 'model_id', 'events_per_second'],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Ingestion delay',
        'Time from an event’s own timestamp to its row in ClickHouse: producer delay, Kafka, batching and insert together',
        {
          w: 12,
          h: 8,
          defaults: { unit: 's', min: 0 },
          queries: [
            series(
              sql`
                SELECT $__timeInterval(ingested_at) AS time,
                  quantile(0.5)(delay) AS p50_seconds, quantile(0.99)(delay) AS p99_seconds, max(delay) AS max_seconds
                FROM
                (
                  SELECT ingested_at, dateDiff('millisecond', timestamp, ingested_at) / 1000 AS delay
                  FROM tripline.inference_events
                  WHERE ${ingestedIn}
                )
                GROUP BY time
                ORDER BY time`,
              ['time', 'p50_seconds', 'p99_seconds', 'max_seconds'],
            ),
          ],
        },
      ),
      panel('timeseries', 'Feedback ingested per second', 'Ground-truth labels written to ClickHouse', {
        w: 12,
        h: 7,
        defaults: { unit: 'reqps' },
        queries: [
          series(
            sql`
              SELECT $__timeInterval(ingested_at) AS time, model_id, count() / $__interval_s AS feedback_per_second
              FROM tripline.feedback
              WHERE ${ingestedIn}
              GROUP BY time, model_id
              ORDER BY time`,
            ['time', 'model_id', 'feedback_per_second'],
          ),
        ],
      }),
      panel(
        'table',
        'Freshness per model',
        'Newest event per model and traffic in the last hour of the range; a silent producer shows here first',
        {
          w: 12,
          h: 7,
          queries: [
            table(
              sql`
                SELECT model_id, max(timestamp) AS last_event, max(ingested_at) AS last_ingested,
                  countIf(timestamp >= $__toTime - INTERVAL 1 HOUR) AS events_last_hour, count() AS events
                FROM tripline.inference_events
                WHERE $__timeFilter(timestamp) AND ${MODELS_IN}
                GROUP BY model_id
                ORDER BY last_event`,
              ['model_id', 'last_event', 'last_ingested', 'events_last_hour', 'events'],
            ),
          ],
        },
      ),
      panel(
        'table',
        'History tables',
        'Rows each ClickHouse table received in the time range (by write time) and the newest one',
        {
          w: 24,
          h: 7,
          queries: [
            table(
              sql`
                SELECT table_name, rows, newest
                FROM
                (
                  SELECT 'inference_events' AS table_name, count() AS rows, max(ingested_at) AS newest
                  FROM tripline.inference_events WHERE ${ingestedIn}
                  UNION ALL
                  SELECT 'feedback', count(), max(ingested_at)
                  FROM tripline.feedback WHERE ${ingestedIn}
                  UNION ALL
                  SELECT 'eval_runs', count(), max(recorded_at)
                  FROM tripline.eval_runs WHERE $__timeFilter(recorded_at) AND ${MODELS_IN}
                  UNION ALL
                  SELECT 'eval_samples', count(), max(timestamp)
                  FROM tripline.eval_samples WHERE $__timeFilter(timestamp) AND ${MODELS_IN}
                  UNION ALL
                  SELECT 'drift_metrics', count(), max(recorded_at)
                  FROM tripline.drift_metrics WHERE $__timeFilter(recorded_at) AND ${MODELS_IN}
                  UNION ALL
                  SELECT 'alert_events', count(), max(recorded_at)
                  FROM tripline.alert_events WHERE $__timeFilter(recorded_at) AND (${MODELS_IN} OR model_id = '')
                )
                ORDER BY table_name`,
              ['table_name', 'rows', 'newest'],
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'Kafka consumer lag',
        'Messages the ingestor has not yet committed, per topic (tripline_consumer_lag_messages, Prometheus)',
        {
          w: 12,
          h: 8,
          defaults: { unit: 'short', min: 0 },
          queries: [prometheus('sum by (topic) (tripline_consumer_lag_messages)', '{{topic}}')],
        },
      ),
      panel(
        'timeseries',
        'Dead-lettered messages',
        'Messages refused by validation and sent to the DLQ topic, per source topic (Prometheus)',
        {
          w: 12,
          h: 8,
          defaults: { unit: 'reqps', min: 0 },
          queries: [prometheus(promRate('tripline_ingest_dead_letters_total', 'topic'), '{{topic}}')],
        },
      ),
      panel('timeseries', 'Rows written', 'Rows the sink inserted into ClickHouse, per table (Prometheus)', {
        w: 8,
        h: 8,
        defaults: { unit: 'reqps', min: 0 },
        queries: [prometheus(promRate('tripline_ingest_rows_written_total', 'table'), '{{table}}')],
      }),
      panel(
        'timeseries',
        'Batch insert latency',
        'p99 duration of one batch insert, and failed inserts (retried) per second (Prometheus)',
        {
          w: 8,
          h: 8,
          defaults: { unit: 's', min: 0 },
          queries: [
            prometheus(
              'histogram_quantile(0.99, sum by (le, table) (rate(tripline_ingest_batch_write_seconds_bucket[$__rate_interval])))',
              'p99 {{table}}',
              'A',
            ),
            prometheus(
              promRate('tripline_ingest_write_failures_total', 'table'),
              'failures/s {{table}}',
              'B',
            ),
          ],
        },
      ),
      panel(
        'timeseries',
        'HTTP ingest',
        'Items received by POST /v1/events and /v1/feedback, by outcome (Prometheus)',
        {
          w: 8,
          h: 8,
          defaults: { unit: 'reqps', min: 0 },
          queries: [
            prometheus(promRate('tripline_http_ingest_items_total', 'kind, outcome'), '{{kind}} {{outcome}}'),
          ],
        },
      ),
    ],
  });
}

function alerts() {
  const inScope = `(${MODELS_IN} OR model_id = '')`;
  return dashboard({
    uid: 'tripline-alerts',
    title: 'Tripline · Alerts',
    description:
      'Alert state changes from ClickHouse alert_events: what is open, what fired, how long it took to resolve',
    tags: ['alerts'],
    multiModel: true,
    panels: [
      panel('stat', 'Open now', 'Alerts whose latest state is firing or acknowledged', {
        w: 8,
        h: 4,
        defaults: { thresholds: thresholds(['green'], ['red', 1]) },
        queries: [
          table(
            sql`
              SELECT countIf(latest.1 = 'firing') AS firing, countIf(latest.1 = 'acknowledged') AS acknowledged,
                countIf(latest.1 = 'firing' AND latest.2 = 'critical') AS critical_firing
              FROM
              (
                ${ALERT_STATE}
              )`,
            ['firing', 'acknowledged', 'critical_firing'],
          ),
        ],
      }),
      panel('stat', 'Raised in range', 'Alerts that started firing in the time range, by severity', {
        w: 16,
        h: 4,
        queries: [
          table(
            sql`
              SELECT countIf(severity = 'critical') AS critical, countIf(severity = 'warning') AS warning,
                countIf(severity = 'info') AS info
              FROM tripline.alert_events FINAL
              WHERE state = 'firing' AND $__timeFilter(timestamp) AND ${inScope}`,
            ['critical', 'warning', 'info'],
          ),
        ],
      }),
      panel('table', 'Open alerts', 'Firing or acknowledged, most severe first', {
        w: 24,
        h: 8,
        queries: [
          table(
            sql`
              SELECT alert_id, latest.1 AS rule_name, latest.2 AS model_id, latest.3 AS severity, latest.4 AS state,
                latest.5 AS metric, latest.6 AS value, latest.7 AS threshold, latest.8 AS baseline, opened_at,
                last_change, latest.9 AS summary
              FROM
              (
                SELECT alert_id, minIf(timestamp, state = 'firing') AS opened_at, max(timestamp) AS last_change,
                  argMax((rule_name, model_id, severity, state, metric, value, threshold, baseline, summary),
                    (timestamp, recorded_at)) AS latest
                FROM tripline.alert_events FINAL
                WHERE ${inScope}
                GROUP BY alert_id
              )
              WHERE state IN ('firing', 'acknowledged')
              ORDER BY indexOf(['critical', 'warning', 'info'], severity), opened_at`,
            [
              'alert_id',
              'rule_name',
              'model_id',
              'severity',
              'state',
              'metric',
              'value',
              'threshold',
              'baseline',
              'opened_at',
              'last_change',
              'summary',
            ],
          ),
        ],
      }),
      panel('timeseries', 'Alerts raised', 'Alerts that started firing per interval, by severity', {
        w: 12,
        h: 8,
        defaults: { min: 0, decimals: 0 },
        custom: { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: 'normal', group: 'A' } },
        queries: [
          series(
            sql`
              SELECT $__timeInterval(timestamp) AS time, severity, count() AS alerts
              FROM tripline.alert_events FINAL
              WHERE state = 'firing' AND $__timeFilter(timestamp) AND ${inScope}
              GROUP BY time, severity
              ORDER BY time`,
            ['time', 'severity', 'alerts'],
          ),
        ],
      }),
      panel(
        'table',
        'Rules',
        'Per rule: alerts raised in the range, how many resolved, and the mean time to resolve',
        {
          w: 12,
          h: 8,
          queries: [
            table(
              sql`
              SELECT rule.1 AS rule_name, rule.2 AS severity, count() AS raised, countIf(resolved_at IS NOT NULL) AS resolved,
                round(avgIf(dateDiff('second', opened_at, resolved_at), resolved_at IS NOT NULL) / 60, 1)
                  AS mean_minutes_to_resolve
              FROM
              (
                SELECT alert_id, any((rule_name, severity)) AS rule, minIf(timestamp, state = 'firing') AS opened_at,
                  minIfOrNull(timestamp, state = 'resolved') AS resolved_at
                FROM tripline.alert_events FINAL
                WHERE ${inScope}
                GROUP BY alert_id
              )
              WHERE $__timeFilter(opened_at)
              GROUP BY rule_name, severity
              ORDER BY raised DESC, rule_name`,
              ['rule_name', 'severity', 'raised', 'resolved', 'mean_minutes_to_resolve'],
            ),
          ],
        },
      ),
      panel('table', 'History', 'Every alert state change in the time range, newest first', {
        w: 24,
        h: 10,
        queries: [
          table(
            sql`
              SELECT timestamp, alert_id, rule_name, model_id, state, severity, metric, value, threshold, baseline, summary
              FROM tripline.alert_events FINAL
              WHERE $__timeFilter(timestamp) AND ${inScope}
              ORDER BY timestamp DESC
              LIMIT 500`,
            [
              'timestamp',
              'alert_id',
              'rule_name',
              'model_id',
              'state',
              'severity',
              'metric',
              'value',
              'threshold',
              'baseline',
              'summary',
            ],
          ),
        ],
      }),
    ],
  });
}

/** Every dashboard file and the expected-columns sidecar, as text. */
function build() {
  const dashboards = {
    'fleet-overview.json': fleetOverview(),
    'model-detail.json': modelDetail(),
    'canaries-and-scans.json': canariesAndScans(),
    'ingestion-health.json': ingestionHealth(),
    'alerts.json': alerts(),
  };
  const files = {};
  const columns = {};
  for (const [file, { json, columns: panelColumns }] of Object.entries(dashboards)) {
    files[path.join(OUTPUT, file)] = `${JSON.stringify(json, null, 2)}\n`;
    columns[json.uid] = panelColumns;
  }
  files[COLUMNS_FILE] = `${JSON.stringify(columns, null, 2)}\n`;
  return files;
}

function main() {
  const files = build();
  if (process.argv.includes('--check')) {
    const stale = Object.entries(files).filter(
      ([file, text]) => !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text,
    );
    for (const [file] of stale) console.error(`out of date: ${path.relative(process.cwd(), file)}`);
    if (stale.length) console.error('run: node dashboards/build.js');
    process.exit(stale.length ? 1 : 0);
  }
  fs.mkdirSync(OUTPUT, { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(file, text);
  console.error(`wrote ${Object.keys(files).length} files`);
}

module.exports = { build, CLICKHOUSE, PROMETHEUS };
if (require.main === module) main();
