package io.ringbatch.io;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
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

        ChannelFile(Path path, FileChannel channel, long size, boolean direct, int align) {
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

    @Override
    OpenFile openFile(Path path, boolean direct) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (IOException e) {
            throw cannotOpen(path, e);
        }
        if (attributes.isDirectory()) {
            throw new IOException(path + ": is a directory: " + Errno.describe(Errno.EISDIR));
        }
        if (!attributes.isRegularFile()) {
            throw new IOException(path + ": not a regular file; only regular files are read");
        }
        if (direct) {
            try {
                int align = (int) Math.min(BufferPool.PAGE, Math.max(512, Files.getFileStore(path).getBlockSize()));
                FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
                return new ChannelFile(path, channel, channel.size(), true, align);
            } catch (IOException | UnsupportedOperationException e) {
                // the file system refuses O_DIRECT: read through the page cache
            }
        }
        try {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
            return new ChannelFile(path, channel, channel.size(), false, 1);
        } catch (IOException e) {
            throw cannotOpen(path, e);
        }
    }

    /** The Java exception as the io_uring engine would say it: with the errno it stands for. */
    private static IOException cannotOpen(Path path, IOException e) {
        String why = e instanceof java.nio.file.NoSuchFileException ? Errno.describe(Errno.ENOENT)
                : e instanceof java.nio.file.AccessDeniedException ? Errno.describe(Errno.EACCES)
                : e.getMessage();
        return new IOException(path + ": cannot open: " + why, e);
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
        closeReaders();
        readers.shutdown();
        try {
            readers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
