/**
 * Jest's own runner, marked serial: Jest runs the files of a serial runner one at a time (in band),
 * before or after the parallel group, never beside it. The "heavy" project uses it (jest.config.js).
 */
import TestRunner from 'jest-runner';

export default class SerialRunner extends TestRunner {
  override readonly isSerial = true;
}
