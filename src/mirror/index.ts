export { MirrorServer, SITE_ROBOTS, type Fault, type FaultKind, type LoggedRequest, type MirrorOptions } from './mirror-server.js';
export { articlePath, articleUrl, expectedSnapshot, type MirrorArticle } from './site-model.js';
