export { formatSnapshot } from './format.js';
export { parseSnapshot, type SnapshotFields } from './parse.js';
