import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { registerOwnListener } from '@tripline/config';

/**
 * PostgreSQL for standalone mode: PGlite (Postgres compiled to WebAssembly) persisted under the
 * data directory and served on a loopback port, so TypeORM talks to it through the ordinary `pg`
 * driver exactly as it talks to a server.
 */
export class EmbeddedPostgres {
  private readonly logger = new Logger('EmbeddedPostgres');
  private server?: { stop(): Promise<void> };
  private database?: { close(): Promise<void> };

  constructor(private readonly directory: string) {}

  /** Starts the engine and returns a connection URL for it. */
  async start(): Promise<string> {
    const directory = path.resolve(this.directory);
    mkdirSync(directory, { recursive: true });
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const database = await PGlite.create(directory);
    const server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0 });
    await server.start();
    this.database = database;
    this.server = server;
    const url = `postgres://postgres@${server.getServerConn()}/postgres`;
    registerOwnListener(Number(server.getServerConn().split(':').pop()), 'the embedded PostgreSQL');
    this.logger.log(`embedded PostgreSQL serving ${directory} on ${server.getServerConn()}`);
    return url;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    await this.database?.close();
    this.server = undefined;
    this.database = undefined;
  }
}
