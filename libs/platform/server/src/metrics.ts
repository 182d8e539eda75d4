import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/**
 * Node's default gauges that prom-client names with `_total`, which Prometheus reserves for
 * counters (`promtool check metrics` rejects them). Each is the sum of a per-type gauge of the same
 * name without the suffix (`nodejs_active_handles{type=...}`), so nothing is lost by dropping it.
 */
const MISNAMED_DEFAULT_GAUGES = [
  'tripline_nodejs_active_handles_total',
  'tripline_nodejs_active_requests_total',
  'tripline_nodejs_active_resources_total',
];

/** Every label a counter will be incremented with, each with the values it can take. */
export type KnownLabelValues<T extends string> = Record<T, readonly string[]>;

/**
 * The process's Prometheus registry. Features ask it for their instruments by name; asking twice
 * returns the same instrument, so modules composed into one process never collide.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  constructor() {
    this.registry.setDefaultLabels({ service: process.env.TRIPLINE_SERVICE ?? 'tripline' });
    collectDefaultMetrics({ register: this.registry, prefix: 'tripline_' });
    for (const name of MISNAMED_DEFAULT_GAUGES) this.registry.removeSingleMetric(name);
    this.gauge({
      name: 'tripline_build_info',
      help: 'Always 1; the labels say which Tripline build and Node.js runtime this process runs',
      labelNames: ['version', 'revision', 'nodejs_version'],
    }).set(
      {
        version: packageVersion(),
        revision: process.env.TRIPLINE_REVISION ?? 'unknown',
        nodejs_version: process.version,
      },
      1,
    );
  }

  /**
   * A counter; with `known`, every combination of the known label values is exported as 0 from the
   * start, so `increase()` and `rate()` see the first increment instead of a series appearing at 1.
   */
  counter<T extends string>(
    config: Omit<CounterConfiguration<T>, 'registers'>,
    known?: KnownLabelValues<T>,
  ): Counter<T> {
    const counter =
      (this.registry.getSingleMetric(config.name) as Counter<T>) ??
      new Counter({ ...config, registers: [this.registry] });
    if (known) for (const labels of combinations(known)) counter.inc(labels, 0);
    return counter;
  }

  gauge<T extends string>(config: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T> {
    return (
      (this.registry.getSingleMetric(config.name) as Gauge<T>) ??
      new Gauge({ ...config, registers: [this.registry] })
    );
  }

  histogram<T extends string>(config: Omit<HistogramConfiguration<T>, 'registers'>): Histogram<T> {
    return (
      (this.registry.getSingleMetric(config.name) as Histogram<T>) ??
      new Histogram({ ...config, registers: [this.registry] })
    );
  }
}

/** Every assignment of one value to each label. */
export function combinations<T extends string>(known: KnownLabelValues<T>): Record<T, string>[] {
  let result: Record<string, string>[] = [{}];
  for (const [label, values] of Object.entries(known) as [string, readonly string[]][]) {
    result = result.flatMap((partial) => values.map((value) => ({ ...partial, [label]: value })));
  }
  return result as Record<T, string>[];
}

function packageVersion(): string {
  // dist/libs/platform/server/src -> the repository (or installed package) root.
  for (const candidate of [
    path.resolve(__dirname, '..', '..', '..', '..', '..', 'package.json'),
    path.resolve(__dirname, '..', '..', '..', '..', 'package.json'),
  ]) {
    try {
      const { version } = JSON.parse(readFileSync(candidate, 'utf8')) as { version?: unknown };
      if (typeof version === 'string') return version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}
