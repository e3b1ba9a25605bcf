/** The folder of WARC files below the storage root. */
export const WARC_DIR = 'warc';
/** The suffix of a file still being written. */
export const OPEN_SUFFIX = '.open';
