import { StringDecoder } from 'node:string_decoder';
import type { OutputStream } from './target.js';

const MAX_LINE = 16 * 1024;

/** Keeps the last `limit` bytes of a stream and splits it into lines for a callback; memory stays bounded. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private partial = '';
  // A UTF-8 character split across chunks must not become two replacement characters in a line.
  private readonly decoder = new StringDecoder('utf8');
  truncated = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly limit: number,
    private readonly onLine?: (stream: OutputStream, line: string) => void,
  ) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > this.limit) this.truncated = true;
    // Drop whole chunks only while the rest still covers the limit, so exactly the last `limit` bytes stay.
    while (this.chunks.length > 1 && this.size - this.chunks[0].length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
    if (this.chunks.length === 1 && this.size > this.limit * 2) {
      // Copy, so that one huge chunk is not retained through a view of it.
      this.chunks = [Buffer.from(this.chunks[0].subarray(this.size - this.limit))];
      this.size = this.limit;
    }
    if (this.onLine) this.emitLines(this.decoder.write(chunk));
  }

  private emitLines(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > MAX_LINE) {
      lines.push(this.partial.slice(0, MAX_LINE) + '…');
      this.partial = '';
    }
    for (const line of lines) this.onLine!(this.stream, line.replace(/\r$/, ''));
  }

  finish(): string {
    if (this.onLine) {
      const last = this.partial + this.decoder.end();
      if (last) this.onLine(this.stream, last.replace(/\r$/, ''));
    }
    this.partial = '';
    const kept = Buffer.concat(this.chunks);
    return kept.subarray(Math.max(0, kept.length - this.limit)).toString('utf8');
  }
}
