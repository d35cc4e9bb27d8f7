/**
 * C2SP tlog-tiles: tile paths, which tiles a tree of a given size has, and how node hashes map onto
 * tiles. A tile at tile level L, index N, width W (1..256) holds the hashes of tree level 8·L for
 * indexes N·256 … N·256+W-1, i.e. MTH(D[(N·256+i)·256^L : (N·256+i+1)·256^L]) (tlog-tiles "Merkle Tree").
 */
import { SignetError } from '../errors.js';
import { HASH_SIZE, nodeHash, toSafeIndex, type TreeIndex } from './hash.js';
import { isThenable, type HashReader } from './proof.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** tlog-tiles: "<L> … MUST be a decimal ASCII integer between 0 and 63". */
export const MAX_TILE_LEVEL = 63;

/** A tile: `width` is 256 for a full tile, 1..255 for a partial one. */
export interface TileRef {
  level: number;
  index: number;
  width: number;
}

export type ParsedTilePath = ({ kind: 'hashes' } & TileRef) | { kind: 'entries'; index: number; width: number };

function checkWidth(width: number): void {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new SignetError('INVALID_ARGUMENT', `tile width must be an integer from 1 to ${TILE_WIDTH}, got ${String(width)}`);
  }
}

/** tlog-tiles: N as zero-padded 3-digit path elements, all but the last prefixed with "x" (1234067 → x001/x234/067). */
export function formatTileIndex(index: TreeIndex): string {
  let n = toSafeIndex(index, 'tile index');
  const groups: string[] = [];
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function suffix(width: number): string {
  checkWidth(width);
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** "tile/<L>/<N>[.p/<W>]" for a hash tile. */
export function tilePath(level: number, index: TreeIndex, width: number = TILE_WIDTH): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new SignetError('INVALID_ARGUMENT', `tile level must be an integer from 0 to ${MAX_TILE_LEVEL}, got ${String(level)}`);
  }
  return `tile/${level}/${formatTileIndex(index)}${suffix(width)}`;
}

/** "tile/entries/<N>[.p/<W>]" for an entry bundle. */
export function entriesTilePath(index: TreeIndex, width: number = TILE_WIDTH): string {
  return `tile/entries/${formatTileIndex(index)}${suffix(width)}`;
}

const PATH = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * Parses a tile or entry-bundle path (relative to the log prefix). Rejects anything that is not the one
 * canonical spelling: levels above 63 or with leading zeros, index groups that are not 3 digits, a
 * missing "x", a leading all-zero group (x000/…), widths 0, ≥256 or with leading zeros, indexes beyond
 * Number.MAX_SAFE_INTEGER.
 */
export function parseTilePath(path: string): ParsedTilePath {
  const m = typeof path === 'string' && path.length <= 200 ? PATH.exec(path) : null;
  const bad = (why: string): never => {
    throw new SignetError('MALFORMED_INPUT', `not a tlog-tiles path (${why}): ${String(path).slice(0, 80)}`);
  };
  if (!m) return bad('expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]');
  const [, levelText, prefix, lastGroup, widthText] = m as unknown as [string, string, string, string, string | undefined];
  const groups = [...prefix.split('/').filter((g) => g !== '').map((g) => g.slice(1)), lastGroup];
  if (groups.length > 1 && groups[0] === '000') bad('index has a leading zero group');
  let index = 0;
  for (const g of groups) index = index * 1000 + Number(g);
  if (!Number.isSafeInteger(index)) bad('index too large');
  let width = TILE_WIDTH;
  if (widthText !== undefined) {
    width = Number(widthText);
    if (width >= TILE_WIDTH) bad(`partial width must be 1 to ${TILE_WIDTH - 1}`);
  }
  if (levelText === 'entries') return { kind: 'entries', index, width };
  const level = Number(levelText);
  if (level > MAX_TILE_LEVEL) bad(`level above ${MAX_TILE_LEVEL}`);
  return { kind: 'hashes', level, index, width };
}

/** The number of complete hashes at tree level 8·tileLevel in a tree of `treeSize`: floor(size / 256^L). */
export function tileLevelHashCount(treeSize: TreeIndex, tileLevel: number): number {
  return Math.floor(toSafeIndex(treeSize, 'tree size') / TILE_WIDTH ** tileLevel);
}

/** The width of tile (tileLevel, tileIndex) in a tree of `treeSize`: 256, 1..255 (partial) or 0 (absent). */
export function tileWidth(treeSize: TreeIndex, tileLevel: number, tileIndex: number): number {
  const c = tileLevelHashCount(treeSize, tileLevel);
  return Math.max(0, Math.min(TILE_WIDTH, c - tileIndex * TILE_WIDTH));
}

/**
 * Every tile of a tree of `treeSize`, level by level: the full tiles, then the partial right-edge tile of
 * the level if there is one (tlog-tiles "Partial Tiles": floor(s / 256^l) mod 256 hashes). A tree of 70,000
 * gives 273 full + 1 partial (112) at level 0, 1 full + 1 partial (17) at level 1, 1 partial (1) at level 2.
 */
export function tilesForTreeSize(treeSize: TreeIndex): TileRef[] {
  const out: TileRef[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const c = tileLevelHashCount(treeSize, level);
    if (c === 0) break;
    const full = Math.floor(c / TILE_WIDTH);
    for (let index = 0; index < full; index++) out.push({ level, index, width: TILE_WIDTH });
    if (c % TILE_WIDTH) out.push({ level, index: full, width: c % TILE_WIDTH });
  }
  return out;
}

/** The partial right-edge tile of each level of a tree of `treeSize` (the tiles a new checkpoint adds). */
export function partialTiles(treeSize: TreeIndex): TileRef[] {
  const out: TileRef[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const c = tileLevelHashCount(treeSize, level);
    if (c === 0) break;
    if (c % TILE_WIDTH) out.push({ level, index: Math.floor(c / TILE_WIDTH), width: c % TILE_WIDTH });
  }
  return out;
}

/**
 * The tiles that change when a tree grows from `oldSize` to `newSize`: every tile of the new tree whose
 * width differs from the old tree's (new full tiles, and the new partial right edges).
 */
export function tilesToWrite(oldSize: TreeIndex, newSize: TreeIndex): TileRef[] {
  const o = toSafeIndex(oldSize, 'old size');
  const n = toSafeIndex(newSize, 'new size');
  if (o > n) throw new SignetError('INVALID_ARGUMENT', `old size ${o} is larger than new size ${n}`);
  const out: TileRef[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const c = tileLevelHashCount(n, level);
    if (c === 0) break;
    const first = Math.floor(tileLevelHashCount(o, level) / TILE_WIDTH);
    for (let index = first; index * TILE_WIDTH < c; index++) {
      const width = tileWidth(n, level, index);
      if (width !== tileWidth(o, level, index)) out.push({ level, index, width });
    }
  }
  return out;
}

/** Where a complete node's hash comes from: hashes [start, start+count) of the tile, folded as a perfect subtree. */
export interface NodeInTile {
  tile: { level: number; index: number };
  start: number;
  count: number;
}

/** Locates complete node (level, index) in the tiles: tile level floor(level/8), 2^(level mod 8) hashes. */
export function nodeInTile(level: number, index: number): NodeInTile {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const count = 2 ** (level % TILE_HEIGHT);
  const first = index * count; // index at tree level 8·tileLevel
  return { tile: { level: tileLevel, index: Math.floor(first / TILE_WIDTH) }, start: first % TILE_WIDTH, count };
}

/** The root of the perfect subtree over tile hashes [start, start+count), count a power of two. */
export function tileSubtreeHash(tile: Uint8Array, start: number, count: number): Uint8Array {
  if ((start + count) * HASH_SIZE > tile.length) throw new SignetError('MALFORMED_INPUT', 'the tile is too short for the requested hashes');
  let row: Uint8Array[] = [];
  for (let i = start; i < start + count; i++) row.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
    row = next;
  }
  return row[0]!.slice();
}

/** The bytes of tile (tileLevel, tileIndex, width) read from a HashReader (a server writing tiles). */
export async function readTile(reader: HashReader, tileLevel: number, tileIndex: number, width: number = TILE_WIDTH): Promise<Uint8Array> {
  checkWidth(width);
  const level = tileLevel * TILE_HEIGHT;
  const raw = Array.from({ length: width }, (_, i) => reader.getHash(level, tileIndex * TILE_WIDTH + i));
  const hashes = raw.some(isThenable) ? await Promise.all(raw) : (raw as Uint8Array[]);
  const out = new Uint8Array(width * HASH_SIZE);
  hashes.forEach((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new SignetError('MALFORMED_INPUT', 'the hash reader returned no 32-byte hash');
    out.set(h, i * HASH_SIZE);
  });
  return out;
}

/** Fetches a tile's bytes (for instance from storage or over HTTP by the caller). */
export type TileFetcher = (tile: TileRef) => Uint8Array | Promise<Uint8Array>;

/**
 * A HashReader over the tiles of one tree size: each complete node is computed from the tile that holds
 * it. Tiles are fetched at the width this tree size has, checked for length and cached for the reader's
 * lifetime (make one reader per tree size or per request).
 */
export class TileHashReader implements HashReader {
  private readonly size: number;
  private readonly cache = new Map<string, Uint8Array | Promise<Uint8Array>>();

  constructor(
    private readonly fetchTile: TileFetcher,
    treeSize: TreeIndex,
  ) {
    this.size = toSafeIndex(treeSize, 'tree size');
  }

  getHash(level: number, index: number): Uint8Array | Promise<Uint8Array> {
    if (!Number.isInteger(level) || level < 0 || !Number.isSafeInteger(index) || index < 0 || (index + 1) * 2 ** level > this.size) {
      throw new SignetError('INVALID_ARGUMENT', `node (level ${level}, index ${index}) is not a complete subtree of a tree of ${this.size} leaves`);
    }
    const loc = nodeInTile(level, index);
    const ref: TileRef = { ...loc.tile, width: tileWidth(this.size, loc.tile.level, loc.tile.index) };
    const tile = this.tile(ref);
    return isThenable(tile) ? Promise.resolve(tile).then((t) => tileSubtreeHash(t, loc.start, loc.count)) : tileSubtreeHash(tile, loc.start, loc.count);
  }

  private tile(ref: TileRef): Uint8Array | Promise<Uint8Array> {
    const key = `${ref.level}/${ref.index}/${ref.width}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const check = (t: Uint8Array): Uint8Array => {
      if (!(t instanceof Uint8Array) || t.length !== ref.width * HASH_SIZE) {
        this.cache.delete(key);
        throw new SignetError('MALFORMED_INPUT', `${tilePath(ref.level, ref.index, ref.width)} must be ${ref.width * HASH_SIZE} bytes`);
      }
      return t;
    };
    const got = this.fetchTile(ref);
    const value = isThenable(got) ? Promise.resolve(got).then(check) : check(got);
    this.cache.set(key, value);
    if (value instanceof Promise) value.catch(() => this.cache.delete(key));
    return value;
  }
}

/** tlog-tiles entry bundle: each entry prefixed with its big-endian uint16 length. */
export function encodeEntryBundle(entries: Uint8Array[]): Uint8Array {
  if (entries.length < 1 || entries.length > TILE_WIDTH) throw new SignetError('INVALID_ARGUMENT', `an entry bundle holds 1 to ${TILE_WIDTH} entries`);
  let total = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw new SignetError('INVALID_ARGUMENT', 'an entry in a bundle can be at most 65535 bytes');
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const e of entries) {
    out[o] = e.length >> 8;
    out[o + 1] = e.length & 0xff;
    out.set(e, o + 2);
    o += 2 + e.length;
  }
  return out;
}

/** Splits an entry bundle; with `width`, the bundle must hold exactly that many entries. */
export function parseEntryBundle(bundle: Uint8Array, width?: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < bundle.length) {
    if (o + 2 > bundle.length) throw new SignetError('MALFORMED_INPUT', 'entry bundle ends inside a length prefix');
    const len = (bundle[o]! << 8) | bundle[o + 1]!;
    if (o + 2 + len > bundle.length) throw new SignetError('MALFORMED_INPUT', 'entry bundle ends inside an entry');
    out.push(bundle.slice(o + 2, o + 2 + len));
    o += 2 + len;
    if (out.length > TILE_WIDTH) throw new SignetError('MALFORMED_INPUT', `entry bundle holds more than ${TILE_WIDTH} entries`);
  }
  if (width !== undefined && out.length !== width) throw new SignetError('MALFORMED_INPUT', `entry bundle holds ${out.length} entries, expected ${width}`);
  return out;
}
