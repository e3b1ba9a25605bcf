import { execFileSync } from 'node:child_process';

/** A zip entry as Python's zipfile reads it (a reader that is not the one that wrote it). */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  size: number;
  /** Where its data starts in the zip (after its local header). */
  dataOffset: number;
  sha256: string;
}

const SCRIPT = `
import hashlib, json, os, struct, sys, zipfile
path, out = sys.argv[1], sys.argv[2]
entries = []
with zipfile.ZipFile(path) as z, open(path, 'rb') as raw:
    for info in z.infolist():
        raw.seek(info.header_offset)
        header = raw.read(30)
        name_len, extra_len = struct.unpack('<HH', header[26:30])
        data = z.read(info)
        target = os.path.join(out, info.filename)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'wb') as f:
            f.write(data)
        entries.append({'name': info.filename, 'method': info.compress_type, 'size': info.file_size,
                        'dataOffset': info.header_offset + 30 + name_len + extra_len, 'sha256': hashlib.sha256(data).hexdigest()})
print(json.dumps(entries))
`;

/** Every entry of a zip, each extracted under `out` (CRCs checked by zipfile as it reads). */
export function readZip(path: string, out: string): ZipEntry[] {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', SCRIPT, path, out], { encoding: 'utf8' })) as ZipEntry[];
}
