package io.ringbatch.io;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Faults the io_uring engine can be made to meet, for tests only: {@link #active} is null in production
 * (nothing in {@code src/main} sets it), and every hook costs one volatile read there. Package-visible,
 * so only the engine's own tests can turn it on.
 */
final class Faults {
    /** The faults in force; null (none) unless a test set them. */
    static volatile Faults active;

    /** errnos the next {@code io_uring_enter} calls fail with, one each, in order. */
    final ConcurrentLinkedQueue<Integer> enterErrnos = new ConcurrentLinkedQueue<>();
    /** Setup flags the kernel refuses with EINVAL, as an older kernel would. */
    volatile int refusedSetupFlags;
    /** Features the engine acts as if the kernel lacked them ({@link Uring#FEAT_EXT_ARG}: before 5.11). */
    volatile int hiddenFeatures;
    /** Every n-th completion of a read is held back and handed over only at a later reap (0: none). */
    volatile int lateEvery;
    /** Every n-th completion of a read is handed over a second time at a later reap (0: none). */
    volatile int duplicateEvery;
    /** Reads go to the read end of an empty pipe: they never complete unless cancelled. */
    volatile boolean readsHang;
    /** As {@link #readsHang}, and a cancel never reaches them (the kernel answers EALREADY): they end only
     * when the pipe gets data ({@link #unhang}), as a read stuck in a device would when it comes back. */
    volatile boolean readsStuck;

    /** The engine acts as if the kernel lacked IORING_OP_OPENAT2/STATX/CLOSE: every open is synchronous. */
    volatile boolean noRingOpens;
    /** Every open through the ring completes with this negative errno instead (0: none), as a kernel
     * without the operation (-EINVAL) or a refusing one would answer. */
    volatile int ringOpenResult;

    final AtomicLong completions = new AtomicLong();
    private int[] pipe;

    static {
        Native.register(Faults.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private static native int pipe(int[] fds) throws LastErrorException;

    private static native long write(int fd, byte[] data, long count) throws LastErrorException;

    /** Turns these faults on for every engine of this process. */
    static Faults install() {
        Faults faults = new Faults();
        active = faults;
        return faults;
    }

    /** Turns faults off and closes the pipe (which ends reads still on it with end of file). */
    static void uninstall() {
        Faults faults = active;
        active = null;
        if (faults != null) {
            faults.closePipe();
        }
    }

    /** The errno the next {@code io_uring_enter} fails with, or 0. */
    int nextEnterErrno() {
        Integer errno = enterErrnos.poll();
        return errno == null ? 0 : errno;
    }

    /** The descriptor a hanging read goes to. */
    synchronized int hangFd() {
        if (pipe == null) {
            pipe = new int[2];
            pipe(pipe);
        }
        return pipe[0];
    }

    /** Gives the stuck reads data: each completes (with fewer bytes than it asked for). */
    synchronized void unhang() {
        if (pipe != null) {
            byte[] data = new byte[1 << 16];
            write(pipe[1], data, data.length);
        }
    }

    private synchronized void closePipe() {
        if (pipe != null) {
            LibC.close(pipe[1]);
            LibC.close(pipe[0]);
            pipe = null;
        }
    }

    /** What a ring does with the completions of reads: hold some back, hand some over twice. */
    static final class Mangler {
        private final List<long[]> later = new ArrayList<>();

        /** Returns whether the completion is to be handed over now; may keep it (or a copy) for later. */
        boolean now(Faults faults, long userData, int res) {
            long n = faults.completions.incrementAndGet();
            int late = faults.lateEvery;
            int twice = faults.duplicateEvery;
            if (late > 0 && n % late == 0) {
                later.add(new long[] {userData, res});
                return false;
            }
            if (twice > 0 && n % twice == 0) {
                later.add(new long[] {userData, res});
            }
            return true;
        }

        boolean pending() {
            return !later.isEmpty();
        }

        /** The completions kept at earlier reaps, to hand over now. */
        List<long[]> due() {
            if (later.isEmpty()) {
                return List.of();
            }
            List<long[]> due = new ArrayList<>(later);
            later.clear();
            return due;
        }
    }
}
