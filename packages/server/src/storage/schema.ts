import type { ColumnType, Generated } from 'kysely';

/** Integers that may exceed 2^53 in principle are stored as BIGINT and read as string|number; callers convert. */
type BigIntColumn = ColumnType<number, number | bigint, number | bigint>;

export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  /** JSON array of repository globs, or null for all. */
  repositories: string | null;
  /** Hex SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  bootstrap: number;
}

export interface SecretsTable {
  name: string;
  /** AES-256-GCM sealed bytes (nonce ‖ ciphertext ‖ tag), base64. */
  sealed: string;
  created_at: string;
}

export interface TlogEntriesTable {
  idx: BigIntColumn;
  /** Hex RFC 6962 leaf hash of the body. */
  uuid: string;
  kind: string;
  api_version: string;
  /** The canonical (JCS) body, base64. */
  body: string;
  integrated_time: BigIntColumn;
  /** The signed entry timestamp (base64 DER ECDSA), made once when the entry was integrated. */
  set_sig: string;
}

export interface TlogIndexTable {
  id: Generated<number>;
  /** "sha256:<hex>", "pk:<hex sha256 of key>", "email:<addr>", "subject:<s>". */
  key: string;
  idx: BigIntColumn;
}

export interface TlogStateTable {
  id: number;
  size: BigIntColumn;
  root_hash: string;
  checkpoint: string;
  updated_at: string;
}

export interface TlogTilesTable {
  level: number;
  idx: BigIntColumn;
  width: number;
  data: Uint8Array;
}

export interface Database {
  api_tokens: ApiTokensTable;
  secrets: SecretsTable;
  tlog_entries: TlogEntriesTable;
  tlog_index: TlogIndexTable;
  tlog_state: TlogStateTable;
  tlog_tiles: TlogTilesTable;
}
