import { BadRequestException, type PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { findUnsafeValue } from '@tripline/contracts';

/** One validation problem, phrased for the person who sent the request. */
export interface FieldProblem {
  field: string;
  message: string;
}

export function describeZodIssues(error: z.ZodError, input: unknown): FieldProblem[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
    const received = valueAt(input, issue.path);
    const got = received === undefined ? 'it is missing' : `got ${preview(received)}`;
    return { field, message: `${issue.message} (${got})` };
  });
}

/** Validates and parses a request part with a zod schema; answers 400 naming each bad field. */
export class ZodValidationPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown): z.infer<T> {
    const unsafe = findUnsafeValue(value);
    if (unsafe) {
      const problems = [unsafe];
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: [`${unsafe.field}: ${unsafe.message}`],
        problems,
      });
    }
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const problems = describeZodIssues(result.error, value);
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: problems.map((problem) => `${problem.field}: ${problem.message}`),
      problems,
    });
  }
}

function valueAt(input: unknown, pathParts: PropertyKey[]): unknown {
  let current = input;
  for (const part of pathParts) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
