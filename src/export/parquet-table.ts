import { fileWriter, ParquetWriter } from 'hyparquet-writer';

/** A column's type, as the dataset card names it and DuckDB reads it. */
export type ColumnKind = 'string' | 'timestamp' | 'int32' | 'int64' | 'boolean' | 'double';

export interface Column {
  name: string;
  kind: ColumnKind;
  /** Never null. */
  required?: boolean;
  /** Text with few distinct values (a state, a type): dictionary-encoded. Other text is written plain. */
  repeats?: boolean;
  /** One line for the dataset card. */
  doc: string;
}

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

/**
 * The Parquet schema element of a column: text is UTF-8 (`STRING`), an instant is INT64
 * `TIMESTAMP(MILLIS, isAdjustedToUTC)`, read as TIMESTAMP WITH TIME ZONE; never INT96.
 */
function element(c: Column): SchemaElement {
  const repetition_type = c.required ? 'REQUIRED' : 'OPTIONAL';
  switch (c.kind) {
    case 'string':
      return { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
    case 'timestamp':
      return { name: c.name, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' }, repetition_type };
    case 'int32':
      return { name: c.name, type: 'INT32', repetition_type };
    case 'int64':
      return { name: c.name, type: 'INT64', repetition_type };
    case 'boolean':
      return { name: c.name, type: 'BOOLEAN', repetition_type };
    case 'double':
      return { name: c.name, type: 'DOUBLE', repetition_type };
  }
}

/** The type as the dataset card and DuckDB's DESCRIBE name it. */
export function sqlType(kind: ColumnKind): string {
  return { string: 'VARCHAR', timestamp: 'TIMESTAMP WITH TIME ZONE', int32: 'INTEGER', int64: 'BIGINT', boolean: 'BOOLEAN', double: 'DOUBLE' }[kind];
}

type Value = string | number | bigint | boolean | Date | null;
export type Row = Record<string, Value>;

/**
 * One Parquet file written a row group at a time: rows are held until `groupBytes` of text (or
 * `groupRows` rows), then encoded as one row group (snappy pages) and appended, so a table of
 * 100 000 bodies costs the memory of one group.
 */
export class ParquetTable {
  private readonly writer: ParquetWriter;
  private readonly groupRows: number;
  private readonly groupBytes: number;
  private rows: Row[] = [];
  private bytes = 0;
  rowCount = 0;
  groups = 0;

  constructor(
    readonly path: string,
    private readonly columns: readonly Column[],
    o: { createdBy: string; kv: Record<string, string>; groupRows?: number; groupBytes?: number },
  ) {
    this.groupRows = o.groupRows ?? 100_000;
    this.groupBytes = o.groupBytes ?? 8 * 1024 * 1024;
    this.writer = new ParquetWriter({
      writer: fileWriter(path),
      schema: [{ name: 'root', num_children: columns.length }, ...columns.map(element)],
      codec: 'SNAPPY',
      createdBy: o.createdBy,
      kvMetadata: Object.entries(o.kv).map(([key, value]) => ({ key, value })),
    });
  }

  add(row: Row): void {
    this.rows.push(row);
    for (const c of this.columns) {
      const v = row[c.name];
      this.bytes += typeof v === 'string' ? v.length : 8;
    }
    if (this.rows.length >= this.groupRows || this.bytes >= this.groupBytes) this.flush();
  }

  /** Writes what is held, then the footer. */
  close(): void {
    this.flush();
    this.writer.finish();
  }

  private flush(): void {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    // Bodies and titles are nearly all distinct: a dictionary would not pay, and trying one costs a pass over them.
    const columnData = this.columns.map((c) => ({ name: c.name, data: rows.map((r) => r[c.name] ?? null), ...(c.kind === 'string' && !c.repeats ? { encoding: 'PLAIN' } : {}) }));
    // One write, one row group: its size is the rows held.
    void this.writer.write({ columnData: columnData as never, rowGroupSize: rows.length });
    this.rowCount += rows.length;
    this.groups++;
    this.rows = [];
    this.bytes = 0;
  }
}
