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
 * The process's Prometheus registry. Features ask it for their instruments by name; asking twice
 * returns the same instrument, so modules composed into one process never collide.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  constructor() {
    this.registry.setDefaultLabels({ service: process.env.TRIPLINE_SERVICE ?? 'tripline' });
    collectDefaultMetrics({ register: this.registry, prefix: 'tripline_' });
  }

  counter<T extends string>(config: Omit<CounterConfiguration<T>, 'registers'>): Counter<T> {
    return (
      (this.registry.getSingleMetric(config.name) as Counter<T>) ??
      new Counter({ ...config, registers: [this.registry] })
    );
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
