/**
 * CPU time of server processes as the kernel accounts it: utime + stime from /proc/<pid>/stat, summed
 * over a process and its descendants (cluster workers), in microseconds. Linux only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of one process (all its threads), in microseconds; 0 once it has exited. */
export function processCpuUs(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / clockTicks();
}

/** The pids of a process's children (every thread's), from /proc/<pid>/task/<tid>/children. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') for (const c of text.split(' ')) out.push(Number(c));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...childPids(all[i] as number));
  return all;
}

/** CPU time of a process tree in microseconds (descendants that exited earlier are not counted). */
export function treeCpuUs(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) total += processCpuUs(p);
  return total;
}

/** Resident set size of one process in bytes, from /proc/<pid>/statm. */
export function processRssBytes(pid: number): number {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return pages * 4096;
  } catch {
    return 0;
  }
}

/**
 * CPU time the whole machine spent busy (every CPU's user, nice, system, irq, softirq and steal
 * ticks from /proc/stat), in microseconds: what a run cost every process together.
 */
export function machineBusyUs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return (busy * 1_000_000) / clockTicks();
}
