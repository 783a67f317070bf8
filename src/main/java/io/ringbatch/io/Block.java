package io.ringbatch.io;

import java.nio.ByteBuffer;

/**
 * A run of file bytes handed out by a {@link BlockReader}, in file order. {@link #data()} is valid
 * until {@link #release()}, which lets the reader reuse the buffer for a read further ahead; a block
 * that is never released is reclaimed when its reader closes.
 */
public final class Block {
    private final ByteBuffer data;
    private final long offset;
    private final Runnable onRelease;
    private boolean released;

    Block(ByteBuffer data, long offset, Runnable onRelease) {
        this.data = data;
        this.offset = offset;
        this.onRelease = onRelease;
    }

    /**
     * The bytes, from position 0 to the limit. A plain direct buffer, not a read-only view: consumers'
     * loops then see one buffer class, whichever engine or reader fed them, and the JIT keeps them
     * monomorphic. Writing into it changes only this block's copy of the file.
     */
    public ByteBuffer data() {
        return data;
    }

    /** The file offset of {@code data().get(0)}. */
    public long offset() {
        return offset;
    }

    public int length() {
        return data.limit();
    }

    /** The file offset just past this block. */
    public long end() {
        return offset + data.limit();
    }

    public void release() {
        if (!released) {
            released = true;
            onRelease.run();
        }
    }
}
