/**
 * Image references `host[:port]/repository[:tag][@digest]` (distribution-spec §Pulling manifests: name and
 * tag grammar; reference §2.1). The registry host is required: Docker Hub short names (`nginx`, `library/nginx`)
 * are refused rather than guessed; `docker.io/…` is accepted and talks to registry-1.docker.io.
 */
import { parseDigest } from '@signet/core';
import { CliError } from '../errors.js';

export interface ImageRef {
  /** host[:port] as written (bracketed for IPv6). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** `registry/repository`: cosign's docker-reference for this image. */
  name: string;
  /** scheme://host[:port] for API calls: plain HTTP for loopback hosts, HTTPS elsewhere. */
  base: string;
}

const NAME_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const HOST_RE = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(:[0-9]{1,5})?$/;

/** localhost, 127.0.0.0/8 and ::1 are reached over plain HTTP (as @sigstore/oci and docker do for loopback). */
export function isLoopback(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:[0-9]+$/, '');
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1';
}

export function registryBase(registry: string): string {
  const api = registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
  return `${isLoopback(registry) ? 'http' : 'https'}://${api}`;
}

/** Checks a registry host argument (`signet login HOST`). */
export function parseRegistryHost(input: string): string {
  const h = input.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!HOST_RE.test(h)) throw new CliError(`"${input}" is not a registry host (expected host[:port], e.g. registry.example.com or 127.0.0.1:5000)`);
  return h;
}

export function parseImageRef(input: string): ImageRef {
  const s = input.trim();
  if (s === '') throw new CliError('the image reference is empty');
  if (/^[a-z]+:\/\//i.test(s)) throw new CliError(`"${input}": give the image as host/repository[:tag|@digest], without a URL scheme`);
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch {
      throw new CliError(`"${input}": "${digest}" is not a digest (expected sha256:<64 lowercase hex> or sha512:<128 hex>)`);
    }
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : rest;
  const isHost = slash >= 0 && (first.includes('.') || first.includes(':') || first.startsWith('[') || first === 'localhost');
  if (!isHost) {
    throw new CliError(
      `"${input}" names no registry host: write host[:port]/repository[:tag|@digest] (e.g. 127.0.0.1:5000/app:1.0; Docker Hub images as docker.io/library/${rest.split(':')[0]})`,
    );
  }
  const registry = first;
  if (!HOST_RE.test(registry)) throw new CliError(`"${input}": "${registry}" is not a valid registry host`);
  let path = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new CliError(`"${input}": "${tag}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  if (!NAME_RE.test(path)) {
    throw new CliError(`"${input}": "${path}" is not a valid repository name (lowercase letters, digits and separators . _ __ - between path components)`);
  }
  if (registry.length + 1 + path.length > 255) throw new CliError(`"${input}": host/repository is longer than 255 characters`);
  const canonical = registry === 'docker.io' ? 'index.docker.io' : registry;
  return { registry, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), name: `${canonical}/${path}`, base: registryBase(registry) };
}

export function formatRef(r: Pick<ImageRef, 'registry' | 'repository'>, ref?: { tag?: string; digest?: string }): string {
  const base = `${r.registry}/${r.repository}`;
  if (ref?.digest) return `${base}@${ref.digest}`;
  if (ref?.tag) return `${base}:${ref.tag}`;
  return base;
}
