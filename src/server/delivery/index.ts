import type { StreamConfig } from '../../config/schema';
import { redirectMode } from './redirect';
import { rewriteMode } from './rewrite';
import { steeringMode } from './steering';
import type { DeliveryMode, DocumentJob, DocumentResult, DocumentRoute } from './types';

export type { Choice, DeliveryMode, DocumentJob, DocumentResult, DocumentRoute, ManifestJob } from './types';

/** Every delivery mode, by the name a stream's config gives it (streams[].mode). */
export const DELIVERY_MODES: Readonly<Record<StreamConfig['mode'], DeliveryMode>> = {
  rewrite: rewriteMode,
  redirect: redirectMode,
  steering: steeringMode,
};

/** The mode a stream is delivered in. */
export function deliveryModeOf(stream: StreamConfig): DeliveryMode {
  return DELIVERY_MODES[stream.mode];
}

type DocumentHandler = (job: DocumentJob) => DocumentResult;

const DOCUMENT_ROUTES: readonly DocumentRoute[] = ['segment', 'steering'];

/** Which mode answers each session document route (each route belongs to exactly one mode). */
const DOCUMENTS: ReadonlyMap<DocumentRoute, DocumentHandler> = (() => {
  const handlers = new Map<DocumentRoute, DocumentHandler>();
  for (const mode of Object.values(DELIVERY_MODES)) {
    for (const route of DOCUMENT_ROUTES) {
      const handler = mode.documents?.[route];
      if (handler === undefined) continue;
      if (handlers.has(route)) throw new Error(`delivery modes: two modes serve the ${route} route`);
      handlers.set(route, handler);
    }
  }
  return handlers;
})();

/** The handler of a session document route, or undefined when no mode serves it. */
export function documentHandler(route: DocumentRoute): DocumentHandler | undefined {
  return DOCUMENTS.get(route);
}
