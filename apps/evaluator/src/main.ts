import 'reflect-metadata';
import { runApplication } from '@tripline/server';
import { EvaluatorModule } from './evaluator.module';

void runApplication(EvaluatorModule, { service: 'evaluator' });
