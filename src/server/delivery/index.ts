import type { StreamConfig } from '../../config/schema';
import { redirectMode } from './redirect';
import { rewriteMode } from './rewrite';
import { steeringMode } from './steering';
import type { DeliveryMode } from './types';

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
