import type { Response } from 'express';
import type { AuthenticatedRequest } from '@tripline/auth';
import { UploadRejected } from './dataset-upload';

/**
 * Caps how long an upload may take (the signal aborts with a 408 and the connection closes after
 * the answer), and lets the rest of a refused upload drain, within the same cap, so that the
 * client reads the answer instead of a reset connection.
 */
export function boundUpload(request: AuthenticatedRequest, response: Response, ms: number): AbortSignal {
  const deadline = new AbortController();
  const started = Date.now();
  // A client that hangs up mid-upload errors the request after the reading may have stopped;
  // the reading path reports what it saw, and nothing else needs to hear of it.
  request.on('error', () => undefined);
  const timer = setTimeout(() => {
    if (request.readableEnded) return;
    response.setHeader('connection', 'close');
    deadline.abort(
      new UploadRejected(
        [
          {
            line: 0,
            field: '(upload)',
            message: `not received within ${ms} ms (TRIPLINE_UPLOAD_TIMEOUT_MS)`,
          },
        ],
        408,
      ),
    );
  }, ms);
  response.once('close', () => clearTimeout(timer));
  response.once('finish', () => {
    clearTimeout(timer);
    if (request.readableEnded) return;
    if (deadline.signal.aborted) return void request.destroy();
    request.resume();
    const drain = setTimeout(() => request.destroy(), Math.max(0, ms - (Date.now() - started)));
    request.once('close', () => clearTimeout(drain));
  });
  return deadline.signal;
}
