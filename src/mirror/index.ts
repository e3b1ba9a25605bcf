export { MirrorServer, SITE_ROBOTS, type LoggedRequest, type MirrorOptions } from './mirror-server.js';
export type { Fault, FaultKind } from './faults.js';
export { articlePath, articleUrl, expectedSnapshot, type MirrorArticle } from './site-model.js';
