import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from './db.js';

/**
 * Private keys at rest are sealed with AES-256-GCM under a 32-byte master key (the secret's name is the
 * associated data, so a sealed value cannot be moved to another name). The master key comes from the
 * configuration or from `<dataDir>/master.key` (mode 0600), created at first start.
 */
export class SecretStore {
  private readonly key: Buffer;

  constructor(
    private readonly db: Db,
    masterKey: Buffer,
  ) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
    this.key = masterKey;
  }

  static loadMasterKey(dataDir: string, configured?: string): Buffer {
    if (configured) return Buffer.from(configured, 'base64');
    const path = join(dataDir, 'master.key');
    if (existsSync(path)) {
      const k = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
      if (k.length !== 32) throw new Error(`${path} must hold base64 of 32 bytes`);
      return k;
    }
    mkdirSync(dataDir, { recursive: true });
    const k = randomBytes(32);
    writeFileSync(path, `${k.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return k;
  }

  seal(name: string, plaintext: Uint8Array): string {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(name, 'utf8'));
    const body = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64');
  }

  open(name: string, sealed: string): Uint8Array {
    const b = Buffer.from(sealed, 'base64');
    const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(0, 12));
    d.setAAD(Buffer.from(name, 'utf8'));
    d.setAuthTag(b.subarray(b.length - 16));
    try {
      return new Uint8Array(Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]));
    } catch {
      throw new Error(`secret "${name}" cannot be opened: wrong master key, or the stored value is corrupted`);
    }
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    const row = await this.db.selectFrom('secrets').select('sealed').where('name', '=', name).executeTakeFirst();
    return row ? this.open(name, row.sealed) : undefined;
  }

  /** Stores a secret once; returns the stored value (another process may have won the race). */
  async putIfAbsent(name: string, value: Uint8Array): Promise<Uint8Array> {
    await this.db
      .insertInto('secrets')
      .values({ name, sealed: this.seal(name, value), created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return (await this.get(name)) as Uint8Array;
  }
}
