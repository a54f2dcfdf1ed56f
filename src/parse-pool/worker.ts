/**
 * A parse worker thread: parses one manifest at a time with the same parseManifest the main thread
 * uses inline, and answers it packed (./wire.ts), its ArrayBuffers transferred. Any error, a bug's
 * included, is answered as data; only running out of its heap (resourceLimits) or being terminated
 * for its time budget ends the thread, and the pool replaces it.
 */
import { parentPort } from 'node:worker_threads';
import { parseManifest } from '../manifest/load';
import { packManifest, toWireError, transferList, type ParseRequest, type WorkerMessage } from './wire';

const port = parentPort;
if (port === null) throw new Error('src/parse-pool/worker is a worker thread entry, not a module to import');

port.on('message', (req: ParseRequest) => {
  const started = performance.now();
  let answer: WorkerMessage;
  let transfer: ArrayBuffer[] = [];
  try {
    const parsed = parseManifest(
      req.text,
      req.manifestUrl,
      req.originBase,
      req.contentType,
      req.limits,
      req.now ?? Date.now(),
    );
    const packed = packManifest(parsed);
    transfer = transferList(packed);
    answer = { type: 'parsed', id: req.id, packed, parseMs: performance.now() - started };
  } catch (err) {
    answer = { type: 'failed', id: req.id, error: toWireError(err), parseMs: performance.now() - started };
  }
  port.postMessage(answer, transfer);
});

port.postMessage({ type: 'ready' } satisfies WorkerMessage);
