import { ApiKeys1732440000000 } from './1732440000000-api-keys';

/** Every relational migration, in order. Append only. */
export const POSTGRES_MIGRATIONS = [ApiKeys1732440000000];
