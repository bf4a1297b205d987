// A client's header blocks: a HEADERS frame and the CONTINUATIONs that finish
// it, joined, bounded and HPACK-decoded. Every block is decoded, even one whose
// stream is then refused or reset: the client's encoder has already counted its
// entries into the dynamic table both sides share.

import { ErrorCode, Flag, FrameReader, H2Error } from './frame.js';
import { HpackError } from './hpack.js';
import { HpackDecoder, type HeaderList } from './hpack-decoder.js';

/** A header block (HEADERS + CONTINUATION) larger than this closes the connection. */
export const MAX_HEADER_BLOCK_BYTES = 1 << 20;

export interface HeaderBlock {
  streamId: number;
  /** The HEADERS frame carried END_STREAM. */
  endStream: boolean;
  fields: HeaderList;
}

interface BlockInProgress {
  streamId: number;
  endStream: boolean;
  parts: Buffer[];
  bytes: number;
}

export class HeaderBlocks {
  private readonly decoder = new HpackDecoder();
  private open: BlockInProgress | undefined;

  /** The stream whose block is unfinished: until it is, only its CONTINUATION may arrive (§6.10). */
  get awaitingContinuationOf(): number | undefined {
    return this.open?.streamId;
  }

  /** A HEADERS frame: the decoded block, or undefined while CONTINUATIONs are to come. */
  headers(flags: number, streamId: number, payload: Buffer): HeaderBlock | undefined {
    const fragment = FrameReader.unpad(payload, flags, flags & Flag.PRIORITY ? 5 : 0);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) return { streamId, endStream, fields: this.decode(fragment) };
    // Copied: the frame reader's buffer is reused for the next frames.
    this.open = { streamId, endStream, parts: [Buffer.from(fragment)], bytes: fragment.length };
    return undefined;
  }

  /** A CONTINUATION frame: the decoded block once END_HEADERS arrives. */
  continuation(flags: number, payload: Buffer): HeaderBlock | undefined {
    const block = this.open;
    if (block === undefined) throw new H2Error(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
    block.bytes += payload.length;
    if (block.bytes > MAX_HEADER_BLOCK_BYTES) throw new H2Error(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
    block.parts.push(Buffer.from(payload));
    if (!(flags & Flag.END_HEADERS)) return undefined;
    this.open = undefined;
    return { streamId: block.streamId, endStream: block.endStream, fields: this.decode(Buffer.concat(block.parts)) };
  }

  /** The connection is gone: an unfinished block is dropped. */
  discard(): void {
    this.open = undefined;
  }

  private decode(block: Buffer): HeaderList {
    try {
      return this.decoder.decode(block);
    } catch (e) {
      if (e instanceof HpackError) throw new H2Error(ErrorCode.COMPRESSION_ERROR, e.message);
      throw e;
    }
  }
}
