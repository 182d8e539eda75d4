import uPlot from 'uplot';
import { h } from './dom';

/** Line colours with at least 3:1 contrast on the white plot area; dashes tell series apart without colour. */
const COLOURS = ['#0b63a8', '#c2410c', '#047857', '#7e22ce', '#a16207', '#be185d', '#334155', '#0e7490'];
const DASHES: (number[] | undefined)[] = [undefined, [6, 3], [2, 2], [10, 3, 2, 3]];

export interface ChartSeries {
  label: string;
  /** [epoch ms, value]; null leaves a gap. */
  points: [number, number | null][];
  /** 'y2' plots on the right-hand axis. */
  scale?: 'y' | 'y2';
}

export interface Marker {
  at: number;
  kind: 'alert-firing' | 'alert-change' | 'version';
  label: string;
}

export interface ChartOptions {
  /** Stable name, exposed as data-chart for tests and styling. */
  id: string;
  title: string;
  /** One sentence under the title: what is plotted, and how to read it. */
  description: string;
  series: ChartSeries[];
  markers: Marker[];
  range: [number, number];
  yLabel: string;
  y2Label?: string;
  /** Fixed y range (accuracy and rates: 0..1). */
  yRange?: [number, number];
  /** Log scale on y (p-values). */
  log?: boolean;
  format: (value: number) => string;
  format2?: (value: number) => string;
}

const MARKER_STYLE: Record<Marker['kind'], { colour: string; dash: number[] }> = {
  'alert-firing': { colour: '#b91c1c', dash: [] },
  'alert-change': { colour: '#6b7280', dash: [4, 4] },
  version: { colour: '#1d4ed8', dash: [8, 4] },
};

function markerPlugin(markers: Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (plot) => {
          const { ctx, bbox } = plot;
          ctx.save();
          ctx.lineWidth = Math.max(1, devicePixelRatio * 1.5);
          for (const marker of markers) {
            const x = plot.valToPos(marker.at / 1000, 'x', true);
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            const style = MARKER_STYLE[marker.kind];
            ctx.strokeStyle = style.colour;
            ctx.setLineDash(style.dash.map((length) => length * devicePixelRatio));
            ctx.beginPath();
            ctx.moveTo(x, bbox.top);
            ctx.lineTo(x, bbox.top + bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** Merges the series onto one sorted time axis (uPlot's aligned data), in seconds. */
function align(series: ChartSeries[]): uPlot.AlignedData {
  const times = [...new Set(series.flatMap((entry) => entry.points.map(([at]) => at)))].sort((a, b) => a - b);
  const index = new Map(times.map((at, position) => [at, position]));
  const columns = series.map((entry) => {
    const column: (number | null)[] = new Array(times.length).fill(null);
    for (const [at, value] of entry.points) column[index.get(at)!] = value;
    return column;
  });
  return [times.map((at) => at / 1000), ...columns] as uPlot.AlignedData;
}

/**
 * A time-series chart with alert and version markers. The figure says what it holds in data
 * attributes (data-points, data-series, data-markers) and in a data table, so a reader without
 * the canvas (a screen reader, a test) gets the same numbers.
 */
export function timeChart(options: ChartOptions): HTMLElement {
  const data = align(options.series);
  const points = options.series.reduce(
    (sum, entry) => sum + entry.points.filter(([, value]) => value !== null).length,
    0,
  );
  const inRange = options.markers.filter(
    (marker) => marker.at >= options.range[0] && marker.at <= options.range[1],
  );
  const titleId = `chart-${options.id}-title`;
  const host = h('div', { class: 'plot' });
  const figure = h(
    'figure',
    {
      class: 'chart',
      'data-chart': options.id,
      'data-points': points,
      'data-series': options.series.length,
      'data-markers': inRange.length,
      'aria-labelledby': titleId,
    },
    h(
      'figcaption',
      {},
      h('h3', { id: titleId }, options.title),
      h('p', { class: 'hint' }, options.description),
    ),
  );
  if (points === 0) {
    figure.append(h('p', { class: 'empty' }, 'No data in this range.'));
    figure.dataset.rendered = 'true';
    return figure;
  }
  figure.append(
    h('div', { role: 'img', 'aria-label': describe(options, points, inRange.length) }, host),
    markerLegend(inRange),
    dataTable(options, data, inRange),
  );

  let plot: uPlot | undefined;
  const observer = new ResizeObserver(() => {
    const width = Math.floor(host.clientWidth);
    if (width <= 0) return;
    if (plot) return plot.setSize({ width, height: 240 });
    plot = new uPlot(plotOptions(options, inRange, shownRange(options, data, inRange), width), data, host);
    figure.dataset.rendered = 'true';
  });
  observer.observe(host);
  return figure;
}

/**
 * The x axis spans what there is to see: from the earliest point or marker (not the start of an
 * empty range) to the end of the range, with a little room before the first.
 */
function shownRange(options: ChartOptions, data: uPlot.AlignedData, inRange: Marker[]): [number, number] {
  const times = [...(data[0] as number[]).map((at) => at * 1000), ...inRange.map((marker) => marker.at)];
  const earliest = times.length ? Math.min(...times) : options.range[0];
  const span = options.range[1] - earliest;
  return [Math.max(options.range[0], earliest - Math.max(span * 0.05, 30_000)), options.range[1]];
}

/**
 * uPlot's options: scales (log for p-values, a fixed range for rates, a right-hand axis when asked),
 * axes with the chart's formats, and one line per series, colour and dash telling them apart.
 */
function plotOptions(
  options: ChartOptions,
  inRange: Marker[],
  shown: [number, number],
  width: number,
): uPlot.Options {
  return {
    width,
    height: 240,
    plugins: [markerPlugin(inRange)],
    scales: {
      x: { time: true, range: [shown[0] / 1000, shown[1] / 1000] },
      y: options.log
        ? { distr: 3 }
        : options.yRange
          ? { range: options.yRange }
          : { range: (_plot, min, max) => (min === max ? [min - 1, max + 1] : [min, max]) },
      ...(options.y2Label ? { y2: {} } : {}),
    },
    axes: [
      { space: 80 },
      {
        label: options.yLabel,
        values: (_plot, ticks) => ticks.map((tick) => (tick === null ? '' : options.format(tick))),
        size: 64,
      },
      ...(options.y2Label
        ? [
            {
              scale: 'y2',
              side: 1 as const,
              label: options.y2Label,
              grid: { show: false },
              size: 64,
              values: (_plot: uPlot, ticks: number[]) =>
                ticks.map((tick) => (tick === null ? '' : (options.format2 ?? options.format)(tick))),
            },
          ]
        : []),
    ],
    series: [
      {},
      ...options.series.map((entry, index) => ({
        label: entry.label,
        scale: entry.scale ?? 'y',
        stroke: COLOURS[index % COLOURS.length],
        dash: DASHES[Math.floor(index / COLOURS.length) % DASHES.length] ?? DASHES[index % DASHES.length],
        width: 2,
        spanGaps: true,
        points: { show: true, size: 5 },
        value: (_plot: uPlot, value: number | null) =>
          value === null
            ? '—'
            : (entry.scale === 'y2' ? (options.format2 ?? options.format) : options.format)(value),
      })),
    ],
  };
}

function describe(options: ChartOptions, points: number, markers: number): string {
  const latest = options.series
    .map((entry) => {
      const last = [...entry.points].reverse().find(([, value]) => value !== null);
      return last
        ? `${entry.label} latest ${(entry.scale === 'y2' ? (options.format2 ?? options.format) : options.format)(last[1]!)}`
        : null;
    })
    .filter(Boolean)
    .join('; ');
  return `${options.title}: ${points} data points in ${options.series.length} series, ${markers} markers. ${latest}. The data table below has every value.`;
}

function markerLegend(markers: Marker[]): HTMLElement {
  if (markers.length === 0) return h('p', { class: 'hint' }, 'No alert or version change in this range.');
  const shown = markers.slice(-8);
  return h(
    'ul',
    { class: 'markers', 'aria-label': 'Markers on this chart' },
    ...shown.map((marker) =>
      h(
        'li',
        { class: `marker marker-${marker.kind}` },
        `${new Date(marker.at).toLocaleString(undefined, { hour12: false })} — ${marker.label}`,
      ),
    ),
    markers.length > shown.length ? h('li', {}, `and ${markers.length - shown.length} earlier`) : null,
  );
}

function dataTable(options: ChartOptions, data: uPlot.AlignedData, markers: Marker[]): HTMLElement {
  const [times, ...columns] = data as [number[], ...(number | null)[][]];
  const rows = times.slice(-200).map((time, offset) => {
    const index = times.length - Math.min(times.length, 200) + offset;
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, new Date(time * 1000).toLocaleString(undefined, { hour12: false })),
      ...columns.map((column, series) => {
        const value = column[index];
        const format =
          options.series[series].scale === 'y2' ? (options.format2 ?? options.format) : options.format;
        return h('td', {}, value === null || value === undefined ? '—' : format(value));
      }),
    );
  });
  return h(
    'details',
    { class: 'data' },
    h(
      'summary',
      {},
      `Data table (${times.length} times${markers.length ? `, ${markers.length} markers` : ''})`,
    ),
    h(
      'table',
      {},
      h('caption', {}, options.title),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Time'),
          ...options.series.map((entry) => h('th', { scope: 'col' }, entry.label)),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}
