package io.ringbatch.io;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.io.IOException;
import java.nio.ByteOrder;

import static io.ringbatch.io.Uring.*;

/**
 * One io_uring instance: the kernel's submission and completion queues mapped into this process.
 * <p>
 * Not thread-safe: one thread at a time may prepare and publish submissions, and one thread at a
 * time may reap completions (the two may be different threads, as in liburing). The indexes follow
 * liburing's {@code queue.c}: the CQ tail, written by the kernel, is loaded with acquire semantics;
 * our stores of the CQ head and the SQ tail are releases, through VarHandle views of the mapping.
 * <p>
 * Set-up negotiates: it asks for the best flags and drops, one by one, those the kernel refuses with
 * EINVAL ({@link #OPTIONAL_FLAGS}), so that a ring runs on every kernel from 5.6 on.
 */
final class Ring implements AutoCloseable {
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    /**
     * Set-up flags asked for when the kernel takes them, dropped in this order when it answers EINVAL:
     * {@code IORING_SETUP_SUBMIT_ALL} (5.18: a failing SQE does not stop the batch behind it, which every
     * read's own completion reports anyway), then {@code IORING_SETUP_CLAMP} (5.6: sizes above the
     * kernel's maximum are clamped, not refused; queue-depth is at most 4096, within every maximum).
     */
    static final int[] OPTIONAL_FLAGS = {SETUP_SUBMIT_ALL, SETUP_CLAMP};

    /** An {@code io_uring_enter} that failed, with its errno. */
    static final class EnterException extends IOException {
        final int errno;

        EnterException(int errno) {
            super("io_uring_enter failed: " + Errno.describe(errno));
            this.errno = errno;
        }
    }

    /** Receives each completion: the user data given at submission and the kernel's result. */
    @FunctionalInterface
    interface CompletionHandler {
        void complete(long userData, int res);
    }

    private final Arch arch;
    final int fd;
    final int sqEntries;
    final int cqEntries;
    final int features;
    /** The set-up flags the kernel took. */
    final int setupFlags;

    private final long sqRingAddr;
    private final long sqRingLen;
    private final long cqRingAddr;
    private final long cqRingLen;
    private final long sqesAddr;
    private final long sqesLen;
    private final ByteBuffer sq;
    private final ByteBuffer cq;
    private final ByteBuffer sqes;

    private final int sqHead;
    private final int sqTail;
    private final int sqMask;
    private final int cqHead;
    private final int cqTail;
    private final int cqMask;
    private final int cqes;

    /** Our copy of the SQ tail: SQEs prepared up to here, published to the kernel at {@link #publish}. */
    private int sqeTail;
    private volatile boolean closed;
    private final Faults.Mangler mangler = new Faults.Mangler();
    /** Where a timed wait's {@code io_uring_getevents_arg} and timespec are written, one per thread. */
    private static final ThreadLocal<ByteBuffer> WAIT_ARG = ThreadLocal.withInitial(() ->
            ByteBuffer.allocateDirect(GETEVENTS_ARG_SIZE + TIMESPEC_SIZE).order(ByteOrder.nativeOrder()));
    /** The timespec of an {@code IORING_OP_TIMEOUT}; the kernel copies it when it takes the SQE. */
    private final ByteBuffer timeoutSpec = ByteBuffer.allocateDirect(TIMESPEC_SIZE).order(ByteOrder.nativeOrder());

    /**
     * A ring with the best of {@link #OPTIONAL_FLAGS} this kernel takes (or, with {@code flags >= 0},
     * exactly those: later rings of an engine reuse what the first one negotiated).
     */
    static Ring open(int entries, int cqEntries, int flags) throws IOException {
        if (flags >= 0) {
            return new Ring(entries, cqEntries, flags);
        }
        int wanted = SETUP_CLAMP | SETUP_SUBMIT_ALL;
        for (int drop = 0; ; drop++) {
            try {
                return new Ring(entries, cqEntries, wanted);
            } catch (IoUringUnavailableException e) {
                if (e.errno() != Errno.EINVAL || drop >= OPTIONAL_FLAGS.length) {
                    throw e;
                }
                wanted &= ~OPTIONAL_FLAGS[drop];
            }
        }
    }

    /**
     * Sets up a ring of {@code entries} submission slots (rounded up to a power of two by the kernel,
     * clamped to its maximum) and at least {@code cqEntries} completion slots.
     */
    private Ring(int entries, int cqEntries, int flags) throws IOException {
        this.arch = Arch.current();
        ByteBuffer params = ByteBuffer.allocateDirect(PARAMS_SIZE).order(ByteOrder.nativeOrder());
        if (cqEntries > 0) {
            flags |= SETUP_CQSIZE;
            params.putInt(P_CQ_ENTRIES, cqEntries);
        }
        params.putInt(P_FLAGS, flags);
        this.setupFlags = flags;
        Faults faults = Faults.active;
        if (faults != null && (flags & faults.refusedSetupFlags) != 0) {
            throw new IoUringUnavailableException("io_uring_setup", Errno.EINVAL);
        }
        int ringFd;
        try {
            ringFd = (int) LibC.syscall(arch.sysIoUringSetup, entries, LibC.address(params), 0, 0, 0, 0);
        } catch (LastErrorException e) {
            throw new IoUringUnavailableException("io_uring_setup", e.getErrorCode());
        }
        this.fd = ringFd;
        this.sqEntries = params.getInt(P_SQ_ENTRIES);
        this.cqEntries = params.getInt(P_CQ_ENTRIES);
        this.features = params.getInt(P_FEATURES) & (faults == null ? ~0 : ~faults.hiddenFeatures);

        int sqArray = params.getInt(P_SQ_OFF + SQ_OFF_ARRAY);
        this.sqHead = params.getInt(P_SQ_OFF + SQ_OFF_HEAD);
        this.sqTail = params.getInt(P_SQ_OFF + SQ_OFF_TAIL);
        int sqMaskOff = params.getInt(P_SQ_OFF + SQ_OFF_RING_MASK);
        this.cqHead = params.getInt(P_CQ_OFF + CQ_OFF_HEAD);
        this.cqTail = params.getInt(P_CQ_OFF + CQ_OFF_TAIL);
        int cqMaskOff = params.getInt(P_CQ_OFF + CQ_OFF_RING_MASK);
        this.cqes = params.getInt(P_CQ_OFF + CQ_OFF_CQES);

        long sqSize = sqArray + 4L * sqEntries;
        long cqSize = cqes + (long) CQE_SIZE * this.cqEntries;
        boolean single = (features & FEAT_SINGLE_MMAP) != 0;
        long sqAddr = 0;
        long cqAddr = 0;
        long sqeAddr = 0;
        try {
            if (single) {
                sqSize = Math.max(sqSize, cqSize);
                cqSize = sqSize;
            }
            sqAddr = map(sqSize, OFF_SQ_RING);
            cqAddr = single ? sqAddr : map(cqSize, OFF_CQ_RING);
            sqeAddr = map((long) SQE_SIZE * sqEntries, OFF_SQES);
        } catch (IOException e) {
            unmapQuietly(sqeAddr, (long) SQE_SIZE * sqEntries);
            if (!single) {
                unmapQuietly(cqAddr, cqSize);
            }
            unmapQuietly(sqAddr, sqSize);
            closeQuietly(ringFd);
            throw e;
        }
        this.sqRingAddr = sqAddr;
        this.sqRingLen = sqSize;
        this.cqRingAddr = single ? 0 : cqAddr;
        this.cqRingLen = single ? 0 : cqSize;
        this.sqesAddr = sqeAddr;
        this.sqesLen = (long) SQE_SIZE * sqEntries;
        this.sq = view(sqAddr, sqSize);
        this.cq = single ? sq : view(cqAddr, cqSize);
        this.sqes = view(sqeAddr, sqesLen);
        this.sqMask = sq.getInt(sqMaskOff);
        this.cqMask = cq.getInt(cqMaskOff);
        // The SQ array maps ring positions to SQE indexes; identity, set once, as liburing does.
        for (int i = 0; i < sqEntries; i++) {
            sq.putInt(sqArray + 4 * i, i);
        }
        this.sqeTail = (int) INT.getAcquire(sq, sqTail);
    }

    private long map(long length, long offset) throws IOException {
        try {
            return LibC.mmap(0, length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_POPULATE,
                    fd, offset);
        } catch (LastErrorException e) {
            throw new IOException("mmap of io_uring region at offset 0x" + Long.toHexString(offset) + " failed: "
                    + Errno.describe(e.getErrorCode()));
        }
    }

    private static ByteBuffer view(long addr, long len) {
        return new Pointer(addr).getByteBuffer(0, len).order(ByteOrder.nativeOrder());
    }

    /** Whether the kernel keeps completions that do not fit the CQ instead of dropping them. */
    boolean noDrop() {
        return (features & FEAT_NODROP) != 0;
    }

    /** Whether {@code io_uring_enter} can wait with a time-out ({@code IORING_ENTER_EXT_ARG}, Linux 5.11). */
    boolean timedWait() {
        return (features & FEAT_EXT_ARG) != 0;
    }

    boolean closed() {
        return closed;
    }

    /** Completions a test's faults held back, due at the next {@link #reap}. */
    boolean held() {
        return mangler.pending();
    }

    /** SQEs that may still be prepared before the kernel consumes some. */
    int sqSpace() {
        return sqEntries - (sqeTail - (int) INT.getAcquire(sq, sqHead));
    }

    /** Prepares a read of {@code len} bytes at {@code offset} of {@code fileFd} into {@code bufAddr}. */
    boolean prepRead(int fileFd, long bufAddr, int len, long offset, long userData) {
        int sqe = prepare(OP_READ, userData);
        if (sqe < 0) {
            return false;
        }
        Faults faults = Faults.active;
        if (faults != null && (faults.readsHang || faults.readsStuck)) {
            fileFd = faults.hangFd();
            offset = -1; // a pipe has no position
        }
        sqes.putInt(sqe + SQE_FD, fileFd);
        sqes.putLong(sqe + SQE_OFF, offset);
        sqes.putLong(sqe + SQE_ADDR, bufAddr);
        sqes.putInt(sqe + SQE_LEN, len);
        return true;
    }

    /** Prepares a cancellation of the request submitted with {@code target} as its user data. */
    boolean prepCancel(long target, long userData) {
        Faults faults = Faults.active;
        boolean stuck = faults != null && faults.readsStuck;
        int sqe = prepare(stuck ? OP_NOP : OP_ASYNC_CANCEL, userData);
        if (sqe < 0) {
            return false;
        }
        sqes.putInt(sqe + SQE_FD, -1);
        if (!stuck) {
            sqes.putLong(sqe + SQE_ADDR, target);
        }
        return true;
    }

    /**
     * Prepares an {@code IORING_OP_TIMEOUT} that completes (with -ETIME) after {@code nanos}, whatever
     * else completes: the bound on a wait for kernels without {@link #timedWait}.
     */
    boolean prepTimeout(long nanos, long userData) {
        int sqe = prepare(OP_TIMEOUT, userData);
        if (sqe < 0) {
            return false;
        }
        timeoutSpec.putLong(0, nanos / 1_000_000_000L).putLong(8, nanos % 1_000_000_000L);
        sqes.putInt(sqe + SQE_FD, -1);
        sqes.putLong(sqe + SQE_ADDR, LibC.address(timeoutSpec));
        sqes.putInt(sqe + SQE_LEN, 1);
        sqes.putLong(sqe + SQE_OFF, 0); // no completion count: a pure timer
        return true;
    }

    /**
     * Prepares an {@code IORING_OP_OPENAT2} of the NUL-terminated path at {@code pathAddr} relative to
     * {@code dirFd}, with the {@code struct open_how} at {@code howAddr}. Both stay valid until the
     * completion.
     */
    boolean prepOpenat2(int dirFd, long pathAddr, long howAddr, long userData) {
        int sqe = prepare(OP_OPENAT2, userData);
        if (sqe < 0) {
            return false;
        }
        sqes.putInt(sqe + SQE_FD, dirFd);
        sqes.putLong(sqe + SQE_ADDR, pathAddr);
        sqes.putInt(sqe + SQE_LEN, OPEN_HOW_SIZE);
        sqes.putLong(sqe + SQE_OFF, howAddr);
        return true;
    }

    /**
     * Prepares an {@code IORING_OP_STATX} of {@code fd} itself ({@code AT_EMPTY_PATH} with the empty path
     * at {@code emptyPathAddr}) into the {@code struct statx} at {@code statxAddr}, valid until the completion.
     */
    boolean prepStatx(int fd, long emptyPathAddr, int mask, long statxAddr, long userData) {
        int sqe = prepare(OP_STATX, userData);
        if (sqe < 0) {
            return false;
        }
        sqes.putInt(sqe + SQE_FD, fd);
        sqes.putLong(sqe + SQE_ADDR, emptyPathAddr);
        sqes.putInt(sqe + SQE_LEN, mask);
        sqes.putLong(sqe + SQE_OFF, statxAddr);
        sqes.putInt(sqe + SQE_RW_FLAGS, LibC.AT_EMPTY_PATH);
        return true;
    }

    /** Prepares an {@code IORING_OP_CLOSE} of {@code fd}. */
    boolean prepClose(int fd, long userData) {
        int sqe = prepare(OP_CLOSE, userData);
        if (sqe < 0) {
            return false;
        }
        sqes.putInt(sqe + SQE_FD, fd);
        return true;
    }

    /** Prepares a no-op, which completes at once with result 0. */
    boolean prepNop(long userData) {
        int sqe = prepare(OP_NOP, userData);
        if (sqe < 0) {
            return false;
        }
        sqes.putInt(sqe + SQE_FD, -1);
        return true;
    }

    private int prepare(byte opcode, long userData) {
        checkOpen();
        if (sqSpace() <= 0) {
            return -1;
        }
        int sqe = (sqeTail & sqMask) * SQE_SIZE;
        for (int i = 0; i < SQE_SIZE; i += 8) {
            sqes.putLong(sqe + i, 0L);
        }
        sqes.put(sqe + SQE_OPCODE, opcode);
        sqes.putLong(sqe + SQE_USER_DATA, userData);
        sqeTail++;
        return sqe;
    }

    /**
     * Publishes the prepared SQEs (store-release of the SQ tail) and returns how many the kernel has
     * not consumed yet: the {@code to_submit} for {@link #enter}.
     */
    int publish() {
        checkOpen();
        INT.setRelease(sq, sqTail, sqeTail);
        return sqeTail - (int) INT.getAcquire(sq, sqHead);
    }

    /** SQEs published to the kernel that it has not consumed yet. */
    int unsubmitted() {
        return (int) INT.getAcquire(sq, sqTail) - (int) INT.getAcquire(sq, sqHead);
    }

    /**
     * {@code io_uring_enter}: submits up to {@code toSubmit} published SQEs and, with
     * {@code minComplete > 0}, waits for that many completions. Retried on EINTR; EAGAIN and EBUSY
     * (the kernel is short of resources or holds overflowed completions) are returned as 0 so that the
     * caller reaps and tries again.
     */
    int enter(int toSubmit, int minComplete) throws IOException {
        return enter(toSubmit, minComplete, 0);
    }

    /**
     * As {@link #enter}; with {@code waitNanos > 0} and {@link #timedWait}, the wait for completions ends
     * after that long at the latest (ETIME is returned as 0). The caller need not hold the ring's lock:
     * the kernel serialises submissions itself, and this touches none of the mapping.
     */
    int enter(int toSubmit, int minComplete, long waitNanos) throws IOException {
        if (closed) {
            throw new IOException("the io_uring ring is closed");
        }
        int flags = minComplete > 0 ? ENTER_GETEVENTS : 0;
        long arg = 0;
        long argSize = 0;
        if (minComplete > 0 && waitNanos > 0 && timedWait()) {
            ByteBuffer a = WAIT_ARG.get();
            long ts = LibC.address(a) + GETEVENTS_ARG_SIZE;
            a.putLong(0, 0L).putInt(8, 0).putInt(12, 0).putLong(GETEVENTS_ARG_TS, ts);
            a.putLong(GETEVENTS_ARG_SIZE, waitNanos / 1_000_000_000L).putLong(GETEVENTS_ARG_SIZE + 8,
                    waitNanos % 1_000_000_000L);
            flags |= ENTER_EXT_ARG;
            arg = LibC.address(a);
            argSize = GETEVENTS_ARG_SIZE;
        }
        while (true) {
            try {
                Faults faults = Faults.active;
                int injected = faults == null ? 0 : faults.nextEnterErrno();
                if (injected != 0) {
                    throw new LastErrorException(injected);
                }
                return (int) LibC.syscall(arch.sysIoUringEnter, fd, toSubmit, minComplete, flags, arg, argSize);
            } catch (LastErrorException e) {
                int errno = e.getErrorCode();
                if (errno == Errno.EINTR) {
                    toSubmit = Math.max(0, unsubmitted());
                    continue;
                }
                if (errno == Errno.EAGAIN || errno == Errno.EBUSY || errno == Errno.ETIME) {
                    return 0;
                }
                throw new EnterException(errno);
            }
        }
    }

    /** Completions the kernel has posted that are not reaped yet. */
    int cqReady() {
        checkOpen();
        return (int) INT.getAcquire(cq, cqTail) - (int) INT.get(cq, cqHead);
    }

    /**
     * Hands every posted completion to {@code handler} and frees their slots; returns how many. A slot
     * is given back only once its handler returned: a handler that throws leaves its completion (and those
     * after it) to the next reap, never lost.
     */
    int reap(CompletionHandler handler) {
        if (closed) {
            throw new IllegalStateException("the io_uring ring is closed");
        }
        int head = (int) INT.get(cq, cqHead);
        int tail = (int) INT.getAcquire(cq, cqTail);
        int n = 0;
        Faults faults = Faults.active;
        if (faults != null) {
            for (long[] c : mangler.due()) {
                handler.complete(c[0], (int) c[1]);
            }
        }
        try {
            while (head != tail) {
                int cqe = cqes + (head & cqMask) * CQE_SIZE;
                long userData = cq.getLong(cqe + CQE_USER_DATA);
                int res = cq.getInt(cqe + CQE_RES);
                if (faults == null || userData >>> 60 != 1 || mangler.now(faults, userData, res)) {
                    handler.complete(userData, res);
                }
                head++;
                n++;
            }
        } finally {
            INT.setRelease(cq, cqHead, head);
        }
        return n;
    }

    /** Asks the kernel which opcodes it supports and answers whether {@code opcode} is one. */
    boolean supports(byte opcode) throws IOException {
        int ops = 256;
        ByteBuffer probe = ByteBuffer.allocateDirect(PROBE_HEADER_SIZE + ops * PROBE_OP_SIZE)
                .order(ByteOrder.nativeOrder());
        try {
            LibC.syscall(arch.sysIoUringRegister, fd, REGISTER_PROBE, LibC.address(probe), ops, 0, 0);
        } catch (LastErrorException e) {
            throw new IoUringUnavailableException("io_uring_register(IORING_REGISTER_PROBE)", e.getErrorCode());
        }
        int lastOp = probe.get(0) & 0xff;
        if (opcode > lastOp) {
            return false;
        }
        int flags = probe.getShort(PROBE_HEADER_SIZE + opcode * PROBE_OP_SIZE + PROBE_OP_FLAGS) & 0xffff;
        return (flags & OP_SUPPORTED) != 0;
    }

    /** Every use of the mapping checks this first: touching it after {@link #close} would crash the JVM. */
    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the io_uring ring is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        unmapQuietly(sqesAddr, sqesLen);
        if (cqRingAddr != 0) {
            unmapQuietly(cqRingAddr, cqRingLen);
        }
        unmapQuietly(sqRingAddr, sqRingLen);
        closeQuietly(fd);
    }

    private static void unmapQuietly(long addr, long len) {
        if (addr != 0 && addr != LibC.MAP_FAILED) {
            try {
                LibC.munmap(addr, len);
            } catch (LastErrorException ignored) {
                // nothing more can be done with a mapping the kernel refuses to drop
            }
        }
    }

    private static void closeQuietly(int fd) {
        try {
            LibC.close(fd);
        } catch (LastErrorException ignored) {
            // close(2) releases the descriptor even when it reports an error
        }
    }
}
