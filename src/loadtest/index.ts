/** The load harness: `switchyard loadtest` and its parts, for embedding in other tools and tests. */
export { runLoadtest, buildEntries, cdnResolver, type LoadtestOptions, type LoadtestIo } from './run';
export { loadtestCommand, parseLoadtestArgs, LOADTEST_HELP } from './cli';
export { parseFault, faultTimeline, parseDurationMs, LoadtestUsageError, type Fault } from './faults';
export { buildReport, formatSummary, parseExpectation, timeToEvacuate, type LoadtestReport } from './report';
export { renderHtml } from './html';
export { startEmbeddedStack, type EmbeddedStack } from './embedded';
