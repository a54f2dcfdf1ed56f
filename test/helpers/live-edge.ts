/**
 * The fixture `live` stream's live edge as its origin lists it, for tests that ask which segments a
 * CDN was asked for after some moment: anything newer than the edge then was not yet handed out.
 */

/** The newest segment the origin's live playlists (both variants) list now. */
export async function originLiveEdge(originUrl: string): Promise<number> {
  let newest = -1;
  for (const v of ['v0', 'v1']) {
    const text = await (await fetch(`${originUrl}live/${v}/index.m3u8`)).text();
    for (const m of text.matchAll(/seg_(\d+)\.ts/g)) newest = Math.max(newest, Number(m[1]));
  }
  if (newest < 0) throw new Error('the origin live playlist lists no segment');
  return newest;
}

/** The media sequence number of a fixture live segment path (`.../seg_<n>.ts`), NaN for others. */
export const msnOf = (path: string): number => Number(/seg_(\d+)\.ts$/.exec(path)?.[1] ?? NaN);
