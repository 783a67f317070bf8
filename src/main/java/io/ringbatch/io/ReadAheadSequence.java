package io.ringbatch.io;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * {@link FileSequence} of the engines: a window of up to {@link #WINDOW} ranges opened ahead of the
 * consumer, each a {@link PrefetchingReader} whose first read is prepared but not yet submitted; once the
 * window is refilled, one flush hands all the new reads to the kernel (io_uring: one {@code io_uring_enter}
 * for the batch, where the kernel copies page-cached data at once, or starts device reads of several files
 * side by side). The window is refilled when half of it has been taken, so a consumer of small files makes
 * one submission per {@code WINDOW / 2} files.
 * <p>
 * Pool buffers: a reader opened ahead holds at most its one first read's buffer, and takes it only while
 * more than half of the pool is free ({@link PrefetchingReader#prime}); otherwise its read starts when the
 * consumer takes it, as any reader's does. So the readers opened ahead never hold the buffers that readers
 * in use wait for.
 * <p>
 * Opening ahead moves each file's open (beneath its root, no link followed, checked on the opened
 * descriptor) earlier by at most the window; it opens the same files in the same way, and an open that
 * fails is reported when the consumer asks for that range. A reader taken from the window has its
 * descriptor checked against the plan once more ({@code statx} of it), so a file changed after it was
 * opened ahead and before its range is reached fails as changed, as it would have if opened then. Only
 * the io_uring engine opens ahead; the blocking engine (whose channel cannot be checked again) opens each
 * range when it is asked for.
 */
final class ReadAheadSequence implements FileSequence {
    /** Ranges opened ahead of the consumer at most. */
    static final int WINDOW = 16;

    private final AbstractEngine engine;
    private final Iterator<Range> upcoming;
    private final int held;
    private final ArrayDeque<Ahead> window = new ArrayDeque<>(WINDOW);
    private boolean closed;

    /** A range opened ahead: its reader, or why it could not be opened. */
    private record Ahead(Range range, PrefetchingReader reader, IOException failure) {
    }

    ReadAheadSequence(AbstractEngine engine, Iterator<Range> upcoming, int held) {
        this.engine = engine;
        this.upcoming = upcoming;
        this.held = held;
    }

    @Override
    public BlockReader open(InputFile file, long start, long end) throws IOException {
        if (closed) {
            throw new IOException(file.name() + ": the sequence is closed");
        }
        if (window.size() <= WINDOW / 2) {
            fill();
        }
        int at = 0;
        for (Ahead a : window) {
            if (a.range.file().sameAs(file) && a.range.start() == start && a.range.end() == end) {
                break;
            }
            at++;
        }
        if (at < window.size()) {
            // the ranges before it were passed over (the consumer left them out): not wanted any more
            for (int i = 0; i < at; i++) {
                Ahead skipped = window.pollFirst();
                if (skipped.reader != null) {
                    skipped.reader.close();
                }
            }
            Ahead next = window.pollFirst();
            if (next.failure != null) {
                throw new IOException(next.failure.getMessage(), next.failure);
            }
            try {
                // checked again now that it is reached: a file changed since it was opened ahead fails as
                // changed, as it would have if opened now (the read already done is thrown away)
                next.reader.file.recheck(next.range.file());
            } catch (IOException | RuntimeException e) {
                next.reader.close();
                throw e;
            }
            return next.reader;
        }
        // not among the ranges opened ahead (the rest of a range's last line, say): opened now
        return engine.open(file, start, end, held);
    }

    /** Opens ranges until the window is full, their first reads prepared, then submits them all at once. */
    private void fill() throws IOException {
        PrefetchingReader last = null;
        while (window.size() < WINDOW && upcoming.hasNext()) {
            Range r = upcoming.next();
            PrefetchingReader reader;
            try {
                reader = (PrefetchingReader) engine.open(r.file(), r.start(), r.end(), held);
            } catch (IOException e) {
                window.add(new Ahead(r, null, e));
                continue;
            }
            window.add(new Ahead(r, reader, null));
            try {
                if (reader.prime()) {
                    last = reader;
                }
            } catch (IOException e) {
                // the reader keeps its failure and reports it at its first next(), as it would have then
            }
        }
        if (last != null) {
            last.flushPrimed();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        while (!window.isEmpty()) {
            Ahead a = window.pollFirst();
            if (a.reader != null) {
                a.reader.close();
            }
        }
    }
}
