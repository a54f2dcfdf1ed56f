import { parseMediaPlaylist } from '../../src/loadtest/hls';
import {
  blockingTimeoutMs,
  dashReloadDelayMs,
  hlsReloadPlan,
  retryDelayMs,
  vodSegmentDueAt,
} from '../../src/loadtest/schedule';

const URL_ = 'http://127.0.0.1:1/s/tok/live/v0/index.m3u8';

function live(seq: number, count: number, td = 6): string {
  const lines = ['#EXTM3U', `#EXT-X-TARGETDURATION:${td}`, `#EXT-X-MEDIA-SEQUENCE:${seq}`];
  for (let i = 0; i < count; i++) lines.push(`#EXTINF:${td}.0,`, `seg_${seq + i}.ts`);
  return lines.join('\n') + '\n';
}

const LLHLS = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:4
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=24.0
#EXT-X-PART-INF:PART-TARGET=0.33334
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-SKIP:SKIPPED-SEGMENTS=3
#EXTINF:4.00008,
fileSequence269.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart270.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart270.1.mp4"
#EXTINF:4.00008,
fileSequence270.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart271.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart271.1.mp4"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart271.2.mp4"
`;

describe('HLS reload schedule (RFC 8216 §6.3.4)', () => {
  it('waits one target duration after the first load and after a changed playlist', () => {
    const first = parseMediaPlaylist(live(10, 5), URL_);
    expect(hlsReloadPlan(undefined, first)).toEqual({ delayMs: 6000, query: [], blocking: false });
    const next = parseMediaPlaylist(live(11, 5), URL_);
    expect(hlsReloadPlan(first, next)?.delayMs).toBe(6000);
  });

  it('waits half the target duration after an unchanged reload', () => {
    const a = parseMediaPlaylist(live(10, 5, 4), URL_);
    const b = parseMediaPlaylist(live(10, 5, 4), URL_);
    expect(hlsReloadPlan(a, b)?.delayMs).toBe(2000);
  });

  it('does not reload a playlist with ENDLIST', () => {
    const vod = parseMediaPlaylist(live(0, 3) + '#EXT-X-ENDLIST\n', URL_);
    expect(hlsReloadPlan(undefined, vod)).toBeNull();
  });

  it('retries a failed load after half a target duration, 1 s before one is known', () => {
    expect(retryDelayMs(6)).toBe(3000);
    expect(retryDelayMs(undefined)).toBe(1000);
  });
});

describe('LL-HLS blocking reloads', () => {
  const snap = parseMediaPlaylist(LLHLS, URL_);

  it('numbers segments after a delta update from media sequence + skipped segments', () => {
    expect(snap.segments.map((s) => s.msn)).toEqual([269, 270]);
    expect(snap.lastMsn).toBe(270);
    expect(snap.trailingParts).toBe(2);
    expect(snap.canBlockReload).toBe(true);
  });

  it('asks at once for the next part of the segment being written, with a delta update', () => {
    expect(hlsReloadPlan(undefined, snap)).toEqual({
      delayMs: 0,
      blocking: true,
      query: [
        ['_HLS_msn', '271'],
        ['_HLS_part', '2'],
        ['_HLS_skip', 'YES'],
      ],
    });
  });

  it('asks for part 0 of the next segment when the newest segment is complete', () => {
    const complete = LLHLS.replace(/#EXT-X-PART:DURATION=0.33334,URI="filePart271[^\n]*\n/g, '');
    const plan = hlsReloadPlan(undefined, parseMediaPlaylist(complete, URL_));
    expect(plan?.query.slice(0, 2)).toEqual([
      ['_HLS_msn', '271'],
      ['_HLS_part', '0'],
    ]);
  });

  it('falls back to target-duration reloads when blocking is off', () => {
    expect(hlsReloadPlan(undefined, snap, { blockingReloads: false })).toEqual({
      delayMs: 4000,
      query: [],
      blocking: false,
    });
  });

  it('holds a blocking request at most three target durations (plus slack)', () => {
    expect(blockingTimeoutMs(4)).toBe(14_000);
  });
});

describe('DASH refresh (minimumUpdatePeriod)', () => {
  it('refreshes a dynamic MPD every minimumUpdatePeriod', () => {
    expect(dashReloadDelayMs({ dynamic: true, minimumUpdatePeriodMs: 2000, segmentDurationS: 4 })).toBe(2000);
  });
  it('refreshes once a segment duration when minimumUpdatePeriod is 0', () => {
    expect(dashReloadDelayMs({ dynamic: true, minimumUpdatePeriodMs: 0, segmentDurationS: 4 })).toBe(4000);
  });
  it('never refreshes a static MPD, or a dynamic one without minimumUpdatePeriod', () => {
    expect(
      dashReloadDelayMs({ dynamic: false, minimumUpdatePeriodMs: 2000, segmentDurationS: 4 }),
    ).toBeNull();
    expect(
      dashReloadDelayMs({ dynamic: true, minimumUpdatePeriodMs: undefined, segmentDurationS: 4 }),
    ).toBeNull();
  });
});

describe('VOD pacing', () => {
  it('fetches a segment when it comes within the buffer-ahead of the playhead', () => {
    expect(vodSegmentDueAt(1000, 0, 6)).toBe(1000);
    expect(vodSegmentDueAt(1000, 4, 6)).toBe(1000);
    expect(vodSegmentDueAt(1000, 10, 6)).toBe(5000);
  });
});
