export { Discovery, type DiscoveryOptions, type SourceResult } from './discovery.js';
export { ALLOW_ALL, DISALLOW_ALL, parseRobots, type RobotsRules } from './robots.js';
export { XmlLocStream } from './xml-locs.js';
