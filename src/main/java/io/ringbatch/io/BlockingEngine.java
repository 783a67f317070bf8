package io.ringbatch.io;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fallback for where io_uring is refused: the same read-ahead, done by positional
 * {@link FileChannel} reads on a small pool of threads that only wait for the disk.
 */
public final class BlockingEngine extends AbstractEngine {
    private final ExecutorService readers;

    public BlockingEngine(IoOptions options) {
        super(options);
        AtomicInteger n = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "ringbatch-blocking-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.readers = Executors.newFixedThreadPool(options.blockingThreads(), threads);
    }

    @Override
    public String name() {
        return "blocking";
    }

    private static final class ChannelFile extends OpenFile {
        final FileChannel channel;

        ChannelFile(String path, FileChannel channel, long size, boolean direct, int align) {
            super(path, size, direct, align);
            this.channel = channel;
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // a read-only channel has nothing to flush
            }
        }
    }

    /**
     * Opens by descriptor beneath the root, non-blocking, and checks that descriptor ({@link InputFile});
     * the channel then reopens that same inode through {@code /proc/self/fd/N}, never the name, so a FIFO
     * or a link swapped in after the check cannot be what a blocking {@code FileChannel.open} meets.
     */
    /** Each range opened when it is asked for: a channel reopened through /proc cannot be checked again. */
    @Override
    public FileSequence sequence(java.util.Iterator<FileSequence.Range> upcoming, int held) {
        return FileSequence.onDemand(this, held);
    }

    @Override
    OpenFile openFile(InputFile input, boolean direct) throws IOException {
        InputFile.Opened opened = input.open();
        try {
            Path same = Dir.procPath(opened.fd());
            long size = opened.stat().size();
            if (direct) {
                try {
                    // the page is a multiple of every logical block size Linux supports (512 to 4096)
                    FileChannel channel = FileChannel.open(same, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
                    return new ChannelFile(input.name(), channel, size, true, BufferPool.PAGE);
                } catch (IOException | UnsupportedOperationException e) {
                    // the file system refuses O_DIRECT: read through the page cache
                }
            }
            try {
                FileChannel channel = FileChannel.open(same, StandardOpenOption.READ);
                return new ChannelFile(input.name(), channel, size, false, 1);
            } catch (IOException e) {
                throw new IOException(input.name() + ": cannot open: " + e.getMessage(), e);
            }
        } finally {
            Dir.closeFd(opened.fd());
        }
    }

    @Override
    void submit(PrefetchingReader.Slot slot) {
        readers.execute(() -> read(slot));
    }

    private void read(PrefetchingReader.Slot slot) {
        FileChannel channel = ((ChannelFile) slot.owner.file).channel;
        boolean again = true;
        while (again) {
            ByteBuffer into = pool.buffer(slot.buffer).duplicate();
            into.limit(slot.readLength).position(slot.got);
            int res;
            try {
                res = Math.max(0, channel.read(into, slot.offset()));
            } catch (IOException e) {
                slot.cause = e;
                res = -Errno.EIO;
            }
            again = slot.owner.complete(slot, res);
        }
    }

    @Override
    void flush(PrefetchingReader reader) {
        // each read was handed to the pool when it was submitted
    }

    @Override
    void await(PrefetchingReader reader, PrefetchingReader.Slot slot) throws IOException {
        reader.park(slot);
    }

    @Override
    void cancel(PrefetchingReader.Slot slot) {
        // a positional read cannot be cancelled; close waits for it
    }

    @Override
    public void close() {
        long deadline = closeDeadline(TimeUnit.SECONDS.toNanos(10));
        closeReaders(deadline);
        readers.shutdown();
        try {
            readers.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
