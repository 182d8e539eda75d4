import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Controller, Get, Module, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '@tripline/http';

/** Where `npm run build` writes the console (apps/console/build.js): dist/console. */
export const CONSOLE_DIRECTORY = path.resolve(__dirname, '..', '..', '..', '..', 'console');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The console's own scripts and styles only, and the API of this origin. Scan reports are shown
 * in a sandboxed srcdoc frame (no scripts, opaque origin), which inherits this policy; their
 * inline styles are why style-src allows 'unsafe-inline'. No framing of the console itself.
 */
export const CONSOLE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The built files, read once: a fixed set of names, so no request path ever reaches the file system. */
export function loadConsoleAssets(directory: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(directory)) return assets;
  for (const name of readdirSync(directory)) {
    const type = CONTENT_TYPES[path.extname(name)];
    const file = path.join(directory, name);
    if (!type || !/^[\w.-]+$/.test(name) || !statSync(file).isFile()) continue;
    const body = readFileSync(file);
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url')}"` });
  }
  return assets;
}

/**
 * The Tripline console: static files at `/` and `/console/<file>`, public like /health because they
 * hold no data. Everything the console shows comes from /v1 with the key its user pasted, so these
 * routes open nothing that a key guards.
 */
@Public()
@ApiExcludeController()
@Controller()
export class ConsoleController {
  private readonly assets = loadConsoleAssets(CONSOLE_DIRECTORY);

  @Get()
  index(@Req() request: Request, @Res() response: Response): void {
    this.send('index.html', request, response);
  }

  @Get('console/:file')
  asset(@Param('file') file: string, @Req() request: Request, @Res() response: Response): void {
    if (file === 'index.html') throw new NotFoundException();
    this.send(file, request, response);
  }

  private send(name: string, request: Request, response: Response): void {
    const asset = this.assets.get(name);
    if (!asset) {
      if (name === 'index.html')
        throw new NotFoundException(
          `the console is not built (no ${path.join(CONSOLE_DIRECTORY, name)}): run npm run build`,
        );
      throw new NotFoundException();
    }
    response.setHeader('Content-Security-Policy', CONSOLE_POLICY);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('X-Frame-Options', 'DENY');
    response.setHeader('Referrer-Policy', 'no-referrer');
    // Revalidated on every load (a new build must show at once); unchanged files cost a 304.
    response.setHeader('Cache-Control', 'no-cache');
    response.setHeader('ETag', asset.etag);
    if (request.headers['if-none-match'] === asset.etag) {
      response.status(304).end();
      return;
    }
    response.type(asset.type).send(asset.body);
  }
}

/** Serves the console; imported by the apps that serve the API (api, standalone). */
@Module({ controllers: [ConsoleController] })
export class ConsoleModule {}
