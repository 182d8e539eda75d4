import type { ApiClient } from './api-client';

/**
 * What a command that talks to the HTTP API needs from the program: a client built from the
 * global --url and --key, and whether to print JSON. Functions, not values, because the global
 * options are parsed only when a command runs, after every command was registered.
 */
export interface ApiContext {
  client: () => ApiClient;
  json: () => boolean;
}
