package io.ringbatch.io;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A file opened for the io_uring engine: by descriptor beneath its root, non-blocking (so that a FIFO
 * cannot hang the open) and checked on the opened descriptor ({@link InputFile}). A buffered file keeps
 * {@code O_NONBLOCK}: io_uring still hands a read the page cache cannot serve at once to its workers when
 * the file system supports non-blocking reads ({@code FMODE_NOWAIT}: ext4, xfs, btrfs, tmpfs), so clearing
 * the flag was a {@code fcntl} per file for nothing; where a file system does not, the read completes with
 * EAGAIN and the flag is cleared then ({@link #makeBlocking}), once per file, and the read goes in again.
 * O_DIRECT is set with {@code fcntl(F_SETFL)} (which clears O_NONBLOCK too) and kept only where the file
 * system accepts it; its alignment comes from {@code STATX_DIOALIGN} (Linux 6.1), else the page size.
 */
final class NativeFile extends OpenFile {
    private static final int STATX_DIOALIGN = 0x2000;
    private static final int STATX_SIZE_OF = 256;
    private static final int STX_MASK = 0;
    private static final int STX_DIO_MEM_ALIGN = 152;
    private static final int STX_DIO_OFFSET_ALIGN = 156;

    private static final ThreadLocal<ByteBuffer> STATX = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(STATX_SIZE_OF + 8).order(ByteOrder.nativeOrder()));

    final int fd;
    private boolean closed;
    /** Whether the descriptor still has O_NONBLOCK (a buffered file until a read meets EAGAIN). */
    private volatile boolean nonBlocking;

    private NativeFile(String path, int fd, long size, boolean direct, int align, boolean nonBlocking) {
        super(path, size, direct, align);
        this.fd = fd;
        this.nonBlocking = nonBlocking;
    }

    static NativeFile open(InputFile input, boolean wantDirect) throws IOException {
        return of(input, input.open(), wantDirect, 0);
    }

    /**
     * As {@link #open(InputFile, boolean)}; a file of at most {@code oneRead} bytes is read in one request,
     * which brings in all its pages whatever the readahead, so it is not advised sequential (a system call
     * a file saved over many small files).
     */
    static NativeFile open(InputFile input, boolean wantDirect, long oneRead) throws IOException {
        return of(input, input.open(), wantDirect, oneRead);
    }

    /** The file of a descriptor already opened and checked ({@link InputFile#adopt}); takes it over. */
    static NativeFile of(InputFile input, InputFile.Opened opened, boolean wantDirect, long oneRead) throws IOException {
        int fd = opened.fd();
        String path = input.name();
        try {
            Arch arch = Arch.current();
            long size = opened.stat().size();
            boolean direct = false;
            int align = 1;
            if (wantDirect) {
                ByteBuffer stx = STATX.get();
                stx.putInt(STX_MASK, 0);
                stx.put(STATX_SIZE_OF, (byte) 0); // the empty path for AT_EMPTY_PATH
                long pathAddr = LibC.address(stx) + STATX_SIZE_OF;
                try {
                    LibC.syscall(arch.sysStatx, fd, pathAddr, LibC.AT_EMPTY_PATH, STATX_DIOALIGN, LibC.address(stx), 0);
                } catch (LastErrorException e) {
                    throw new IOException(path + ": cannot stat: " + Errno.describe(e.getErrorCode()));
                }
                int memAlign = BufferPool.PAGE;
                int offsetAlign = BufferPool.PAGE;
                boolean known = (stx.getInt(STX_MASK) & STATX_DIOALIGN) != 0;
                if (known) {
                    memAlign = stx.getInt(STX_DIO_MEM_ALIGN);
                    offsetAlign = stx.getInt(STX_DIO_OFFSET_ALIGN);
                }
                boolean possible = !known || (offsetAlign > 0 && memAlign > 0 && memAlign <= BufferPool.PAGE
                        && offsetAlign <= BufferPool.PAGE);
                if (possible && setFlags(fd, arch.oDirect)) {
                    direct = true;
                    align = Math.max(offsetAlign, 512);
                }
            }
            if (!direct && size > oneRead) {
                LibC.posix_fadvise(fd, 0, 0, LibC.POSIX_FADV_SEQUENTIAL);
            }
            // buffered: O_NONBLOCK stays until a read says the file system needs it cleared
            return new NativeFile(path, fd, size, direct, align, !direct);
        } catch (IOException | RuntimeException e) {
            Dir.closeFd(fd);
            throw e;
        }
    }

    /** Sets the file status flags (clearing O_NONBLOCK); false where the file system refuses them. */
    private static boolean setFlags(int fd, int flags) throws IOException {
        try {
            LibC.fcntl(fd, LibC.F_SETFL, flags);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINVAL && flags != 0) {
                return false;
            }
            throw new IOException("fcntl(F_SETFL) failed: " + Errno.describe(e.getErrorCode()));
        }
    }

    /**
     * A read of this file completed with EAGAIN: where the file system cannot read without blocking,
     * io_uring does not hand a read of an {@code O_NONBLOCK} file to its workers. Clears the flag, once;
     * true when it did, so that the read goes in again and now waits for its data.
     */
    @Override
    synchronized boolean makeBlocking() {
        if (!nonBlocking || closed) {
            return false;
        }
        try {
            setFlags(fd, 0);
        } catch (IOException e) {
            return false;
        }
        nonBlocking = false;
        return true;
    }

    /** Whether the descriptor has O_NONBLOCK still (tests). */
    boolean nonBlocking() {
        return nonBlocking;
    }

    @Override
    void recheck(InputFile input) throws IOException {
        input.recheck(fd);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Dir.closeFd(fd);
        }
    }
}
