export { formatSnapshot } from './format.js';
export { Manifest, type ManifestRecord } from './manifest.js';
export { SnapshotStore, type StoredSnapshot } from './snapshot-store.js';
export { StorageError } from './storage-error.js';
