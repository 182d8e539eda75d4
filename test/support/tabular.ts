import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { InferenceEvent } from '@tripline/contracts';
import type { Random } from '@tripline/drift';

/**
 * The "cars" table of vega-datasets (npm, pinned): 406 cars of 1970–1982 from the StatLib
 * archive of Carnegie Mellon University (the UCI "Auto MPG" data), with miles per gallon,
 * cylinders, displacement, horsepower, weight, acceleration, model year and origin; Horsepower
 * and Miles_per_Gallon have a few nulls. A small, real tabular input with numeric columns, a
 * low-cardinality integer column and a string category.
 */
export interface Car {
  Name: string;
  Miles_per_Gallon: number | null;
  Cylinders: number;
  Displacement: number;
  Horsepower: number | null;
  Weight_in_lbs: number;
  Acceleration: number;
  Year: string;
  Origin: string;
}

export function loadCars(): Car[] {
  // The package's export map names only its script; the data sit beside it.
  const file = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'cars.json');
  return JSON.parse(readFileSync(file, 'utf8')) as Car[];
}

/** The features a car-pricing model would receive; the name, an identifier, is left out. */
export type CarFeatures = Record<string, number | string | null>;

export function carFeatures(car: Car): CarFeatures {
  return {
    Miles_per_Gallon: car.Miles_per_Gallon,
    Cylinders: car.Cylinders,
    Displacement: car.Displacement,
    Horsepower: car.Horsepower,
    Weight_in_lbs: car.Weight_in_lbs,
    Acceleration: car.Acceleration,
    Model_year: Number(car.Year.slice(0, 4)),
    Origin: car.Origin,
  };
}

/** A change applied to each drawn row's features, independently of the other columns. */
export type CovariateShift = (features: CarFeatures, random: Random) => CarFeatures;

/**
 * Inference events of a tabular model: rows drawn uniformly, with replacement, from the table
 * (so every window is a sample of one and the same distribution), at uniformly random times in
 * a range, optionally with a covariate shift applied to named features only.
 */
export class TabularStream {
  private serial = 0;
  readonly events: InferenceEvent[] = [];

  constructor(
    private readonly cars: readonly Car[],
    readonly modelId: string,
    private readonly random: Random,
  ) {}

  add(
    range: { from: number; to: number },
    count: number,
    shift?: CovariateShift,
    embed?: (features: CarFeatures, random: Random) => number[],
  ): void {
    for (let i = 0; i < count; i++) {
      const car = this.cars[this.random.integer(this.cars.length)];
      const features = shift ? shift(carFeatures(car), this.random) : carFeatures(car);
      this.events.push({
        event_id: `${this.modelId}-${this.serial++}`,
        model_id: this.modelId,
        timestamp: range.from + Math.floor(this.random.next() * (range.to - range.from)),
        input: { features, ...(embed ? { embedding: embed(features, this.random) } : {}) },
        output: { label: (car.Miles_per_Gallon ?? 20) >= 25 ? 'efficient' : 'thirsty' },
      });
    }
  }

  /** Takes the events recorded so far. */
  drain(): InferenceEvent[] {
    return this.events.splice(0, this.events.length);
  }
}

/**
 * An encoder stand-in for tests of embedding drift: the car's numeric features, standardised by
 * the table's means and spreads, and its origin one-hot, mapped by a fixed seeded random matrix
 * to `dimension` coordinates, plus a little noise. Inputs that move move their embeddings.
 */
export function carEncoder(cars: readonly Car[], random: Random, dimension = 16) {
  const numeric = ['Cylinders', 'Displacement', 'Weight_in_lbs', 'Acceleration', 'Model_year'] as const;
  const origins = ['USA', 'Europe', 'Japan'];
  const rows = cars.map(carFeatures);
  const stats = numeric.map((name) => {
    const values = rows.map((row) => Number(row[name]));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    return { mean, sd };
  });
  const inputs = numeric.length + origins.length;
  const projection = Array.from({ length: dimension }, () =>
    Array.from({ length: inputs }, () => random.normal() / Math.sqrt(inputs)),
  );
  return (features: CarFeatures, noise: Random): number[] => {
    const x = [
      ...numeric.map((name, i) => (Number(features[name]) - stats[i].mean) / stats[i].sd),
      ...origins.map((origin) => (features.Origin === origin ? 1 : 0)),
    ];
    return projection.map(
      (weights) => weights.reduce((sum, w, i) => sum + w * x[i], 0) + 0.1 * noise.normal(),
    );
  };
}

/** The class a car-efficiency classifier should give: efficient at 25 miles per gallon or more. */
export const efficiencyClass = (car: Car): 'efficient' | 'thirsty' =>
  (car.Miles_per_Gallon ?? 0) >= 25 ? 'efficient' : 'thirsty';

/**
 * A real, imperfect classifier of the cars table: logistic regression of "efficient" on the
 * car's weight alone, fitted by Newton's method on every car with a known consumption. Weight
 * alone misses a fair share of cars (light but thirsty, heavy but frugal), so its accuracy is
 * well short of 1, and lower near the boundary (about 2,600 lbs) than far from it.
 */
export function carEfficiencyClassifier(cars: readonly Car[]) {
  const known = cars.filter((car) => car.Miles_per_Gallon !== null);
  const x = known.map((car) => car.Weight_in_lbs / 1_000);
  const y = known.map((car) => (efficiencyClass(car) === 'efficient' ? 1 : 0));
  let a = 0;
  let b = 0;
  for (let iteration = 0; iteration < 50; iteration++) {
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < x.length; i++) {
      const p = 1 / (1 + Math.exp(-(a + b * x[i])));
      const w = p * (1 - p);
      ga += y[i] - p;
      gb += (y[i] - p) * x[i];
      haa += w;
      hab += w * x[i];
      hbb += w * x[i] * x[i];
    }
    const det = haa * hbb - hab * hab;
    a += (hbb * ga - hab * gb) / det;
    b += (haa * gb - hab * ga) / det;
  }
  return (car: Car): { label: 'efficient' | 'thirsty'; scores: Record<string, number> } => {
    const p = 1 / (1 + Math.exp(-(a + (b * car.Weight_in_lbs) / 1_000)));
    return { label: p >= 0.5 ? 'efficient' : 'thirsty', scores: { efficient: p, thirsty: 1 - p } };
  };
}

/**
 * Inference events of that classifier on cars drawn uniformly with replacement from `cars` (pass
 * a subset for a covariate shift), each with its true class, so a test knows the window's real
 * accuracy without giving Tripline the labels.
 */
export function classifiedCars(
  cars: readonly Car[],
  classify: ReturnType<typeof carEfficiencyClassifier>,
  modelId: string,
  range: { from: number; to: number },
  count: number,
  random: Random,
  prefix: string,
): { events: InferenceEvent[]; truth: Map<string, string>; accuracy: number } {
  const known = cars.filter((car) => car.Miles_per_Gallon !== null);
  const truth = new Map<string, string>();
  let correct = 0;
  const events = Array.from({ length: count }, (_, i): InferenceEvent => {
    const car = known[random.integer(known.length)];
    const { label, scores } = classify(car);
    const eventId = `${prefix}-${i}`;
    truth.set(eventId, efficiencyClass(car));
    if (label === efficiencyClass(car)) correct++;
    return {
      event_id: eventId,
      model_id: modelId,
      timestamp: range.from + Math.floor(random.next() * (range.to - range.from)),
      input: { features: carFeatures(car) },
      output: { label, scores },
    };
  });
  return { events, truth, accuracy: correct / count };
}
