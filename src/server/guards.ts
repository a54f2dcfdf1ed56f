import type { Logger } from 'pino';

/**
 * Process-level guards for `switchyard serve`: an error that escapes every handler (a callback that
 * throws, a promise nobody awaited) is logged and counted, and the process keeps serving the other
 * requests. Node's default is to exit; for a proxy in front of live video, one bad request taking every
 * session down is worse than a logged bug. Returns the function that removes the guards.
 */
export function installProcessGuards(
  logger: Logger,
  count: (kind: 'exception' | 'rejection') => void,
): () => void {
  const onException = (err: Error) => {
    count('exception');
    logger.error({ event: 'uncaught', kind: 'exception', err }, 'uncaught exception (process kept serving)');
  };
  const onRejection = (reason: unknown) => {
    count('rejection');
    logger.error(
      { event: 'uncaught', kind: 'rejection', err: reason },
      'unhandled promise rejection (process kept serving)',
    );
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
