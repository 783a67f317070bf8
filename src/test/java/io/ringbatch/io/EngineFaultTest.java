package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The io_uring engine on a bad day, on real rings and real files, with the engine's fault seam
 * ({@link Faults}): io_uring_enter failing with chosen errnos, completions arriving late or twice, reads
 * that never complete, and the engine closed under workers that read. For each: no crash, no hang (every
 * test is bounded), no buffer with two owners (the pool counts any), and a clear failure of the reader.
 */
@Timeout(60)
@ParameterizedClass(name = "{0}")
@ValueSource(strings = {"per-thread", "shared"})
class EngineFaultTest {
    private static final int BLOCK = 64 * 1024;
    private static final int EFAULT = 14;

    @Parameter
    String topology;

    @TempDir
    static Path dir;
    static Path data;
    static byte[] bytes;

    private IoEngine engine;

    @BeforeAll
    static void files() throws IOException {
        bytes = new byte[8 << 20];
        new Random(11).nextBytes(bytes);
        data = Files.write(dir.resolve("data.bin"), bytes);
    }

    @BeforeEach
    void checkOwners() {
        BufferPool.checkOwners = true;
        BufferPool.ownershipViolations.set(0);
    }

    @AfterEach
    void noBufferHadTwoOwners() {
        Faults.uninstall();
        try {
            if (engine != null) {
                engine.close();
            }
            assertThat(BufferPool.ownershipViolations.get()).as("buffers released by a second owner").isZero();
        } finally {
            BufferPool.checkOwners = false;
        }
    }

    private IoEngine start(IoOptions options) throws IOException {
        engine = new IoUringEngine(options.withBlockSize(BLOCK)
                .withTopology(IoOptions.Topology.parse(topology)));
        return engine;
    }

    private static byte[] readAll(BlockReader reader) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Block block;
        while ((block = reader.next()) != null) {
            byte[] b = new byte[block.length()];
            block.data().get(b);
            out.write(b);
            block.release();
        }
        return out.toByteArray();
    }

    /** The whole pool back, once the ring's last completions are reaped (a read on the same thread does). */
    private void poolComesBackWhole() {
        // on this thread: with per-thread rings, its ring holds the completions still to come
        await("every buffer back in the pool").atMost(Duration.ofSeconds(20)).pollInSameThread().untilAsserted(() -> {
            try (BlockReader reader = engine.open(data)) {
                assertThat(readAll(reader)).isEqualTo(bytes);
            }
            assertThat(engine.pool().available()).as("%s stale %d abandoned %d", engine.stats(),
                    ((AbstractEngine) engine).staleCompletions.sum(), ((AbstractEngine) engine).abandonedCompleted.sum())
                    .isEqualTo(engine.pool().capacity());
            assertThat(engine.stats().readsInFlight()).isZero();
        });
    }

    @Test
    void aFailingIoUringEnterFailsTheReaderClearlyAndLeavesNothingBehind() throws Exception {
        // one SQ entry: the second read of a window finds the SQ full and must push it to the kernel first,
        // so the failure meets both the submission of a read and the flush of the ones prepared
        start(IoOptions.defaults().withQueueDepth(2).withReadAhead(4));
        for (int errno : new int[] {Errno.ENOMEM, Errno.EAGAIN, Errno.EBADF, EFAULT}) {
            Faults faults = Faults.install();
            for (int i = 0; i < 3; i++) {
                faults.enterErrnos.add(errno);
            }
            List<String> failures = new ArrayList<>();
            for (int attempt = 0; attempt < 3; attempt++) {
                BlockReader reader = engine.open(data);
                try {
                    assertThat(readAll(reader)).isEqualTo(bytes);
                } catch (IOException e) {
                    failures.add(e.getMessage());
                    // a failed reader keeps failing at once, it never blocks on a read that has no SQE
                    assertThatThrownBy(reader::next).isInstanceOf(IOException.class);
                } finally {
                    reader.close();
                }
            }
            Faults.uninstall();
            if (errno != Errno.EAGAIN && topology.equals("per-thread")) {
                // the consumer's own io_uring_enter met it: its reader says what and where
                assertThat(failures).as("errno %d", errno).isNotEmpty();
                assertThat(failures.get(0)).contains("io_uring_enter failed").contains(Errno.name(errno));
            }
            if (errno == Errno.EAGAIN) {
                assertThat(failures).as("EAGAIN is tried again, never a failure").isEmpty();
            }
            if (topology.equals("per-thread") || errno != Errno.EBADF && errno != EFAULT) {
                poolComesBackWhole();
            }
        }
    }

    @Test
    void completionsThatArriveLateOrTwiceAreDroppedNeverDelivered() throws Exception {
        start(IoOptions.defaults().withReadAhead(8).withBufferPoolSize(16));
        Faults faults = Faults.install();
        faults.lateEvery = 3;
        faults.duplicateEvery = 2;
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        for (int t = 0; t < 3; t++) {
            Thread thread = new Thread(() -> {
                try {
                    for (int round = 0; round < 3; round++) {
                        try (BlockReader reader = engine.open(data)) {
                            assertThat(sha256(readAll(reader))).isEqualTo(sha256(bytes));
                        }
                    }
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread thread : threads) {
            thread.join(40_000);
            assertThat(thread.isAlive()).as("a reader hangs").isFalse();
        }
        assertThat(failed.get()).isNull();
        assertThat(((IoUringEngine) engine).staleCompletions()).as("repeated completions dropped").isPositive();
        Faults.uninstall();
        poolComesBackWhole();
    }

    @Test
    void aReadThatNeverCompletesFailsAfterTheTimeoutNamingTheFileAndOffset() throws Exception {
        start(IoOptions.defaults().withReadTimeout(Duration.ofSeconds(1)));
        try (BlockReader reader = engine.open(data, 3 * BLOCK, -1)) {
            Faults.install().readsHang = true;
            long t0 = System.nanoTime();
            assertThatThrownBy(reader::next).isInstanceOf(IOException.class)
                    .hasMessageContaining(data.toString())
                    .hasMessageContaining("read at offset " + 3 * BLOCK)
                    .hasMessageContaining("did not complete within 1 s (ringbatch.io.read-timeout)");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(900), Duration.ofSeconds(10));
            assertThatThrownBy(reader::next).hasMessageContaining("did not complete");
        }
        Faults.uninstall();
        // the cancelled read's completion gives its buffer back, once reaped
        poolComesBackWhole();
    }

    @Test
    void aReadTheKernelCannotCancelKeepsItsBufferUntilItsCompletionArrives() throws Exception {
        // one read in flight per reader, so that the one stuck is the only one
        start(IoOptions.defaults().withReadTimeout(Duration.ofMillis(500)).withBufferPoolSize(8).withReadAhead(1));
        Faults faults = Faults.install();
        BlockReader reader = engine.open(data);
        faults.readsStuck = true;
        assertThatThrownBy(reader::next).hasMessageContaining("did not complete within 500 ms");
        reader.close();
        faults.readsStuck = false;
        // the stuck read still owns its buffer: nobody else gets it, whatever else reads meanwhile
        try (BlockReader other = engine.open(data)) {
            assertThat(readAll(other)).isEqualTo(bytes);
        }
        assertThat(engine.pool().available()).as("the stuck read's buffer").isEqualTo(engine.pool().capacity() - 1);
        faults.unhang(); // the device comes back: the read completes, and only then its buffer returns
        poolComesBackWhole();
        assertThat(((AbstractEngine) engine).abandonedCompleted.sum()).isEqualTo(1);
    }

    @Test
    void thePermanentFailureOfTheReaperReachesEveryWaiter() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(topology.equals("shared"), "only the shared ring has a reaper");
        start(IoOptions.defaults());
        Faults faults = Faults.install();
        try (BlockReader reader = engine.open(data)) {
            reader.next().release();
            faults.readsHang = true;
            for (int i = 0; i < 20; i++) {
                faults.enterErrnos.add(Errno.EBADF);
            }
            assertThatThrownBy(() -> readAll(reader)).isInstanceOf(IOException.class).hasMessageContaining("EBADF");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> ((AbstractEngine) engine).failure != null);
        faults.enterErrnos.clear();
        try (BlockReader reader = engine.open(data)) {
            assertThatThrownBy(() -> readAll(reader)).hasMessageContaining("reaper failed");
        }
    }

    /**
     * The service's shutdown gives the engine's close what is left of its timeout ({@code closeBy}): with
     * reads the kernel cannot cancel in three readers, the whole close (three readers, the rings) ends by
     * that deadline, where each stage alone would otherwise wait its 10 s.
     */
    @Test
    void aCloseGivenADeadlineEndsByItWithReadsThatCannotBeCancelled() throws Exception {
        start(IoOptions.defaults().withReadTimeout(Duration.ofSeconds(50)).withReadAhead(1));
        Faults faults = Faults.install();
        faults.readsStuck = true;
        List<Thread> readers = new ArrayList<>();
        AtomicInteger failedClearly = new AtomicInteger();
        CountDownLatch opened = new CountDownLatch(3);
        for (int r = 0; r < 3; r++) {
            BlockReader reader = engine.open(data, (long) r * BLOCK, -1);
            Thread t = new Thread(() -> {
                opened.countDown();
                try {
                    reader.next();
                } catch (IOException e) {
                    failedClearly.incrementAndGet();
                }
            });
            t.start();
            readers.add(t);
        }
        opened.await();
        await("three reads in flight").atMost(Duration.ofSeconds(10))
                .until(() -> engine.stats().readsInFlight() >= 3);
        long t0 = System.nanoTime();
        engine.closeBy(t0 + TimeUnit.SECONDS.toNanos(1));
        engine.close();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("close with a 1 s deadline")
                .isLessThan(Duration.ofSeconds(5));
        for (Thread t : readers) {
            t.join(10_000);
            assertThat(t.isAlive()).as("a reader hangs after close").isFalse();
        }
        assertThat(failedClearly.get()).isEqualTo(3);
        faults.unhang();
    }

    @Test
    void closingTheEngineUnderReadingWorkersNeverCrashesOrHangs() throws Exception {
        long mappings = ringMappings();
        Random random = new Random(5);
        for (int round = 0; round < 15; round++) {
            IoEngine e = start(IoOptions.defaults().withReadAhead(4).withBufferPoolSize(32));
            CountDownLatch reading = new CountDownLatch(4);
            AtomicInteger failedClearly = new AtomicInteger();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread worker = new Thread(() -> {
                    boolean first = true;
                    try {
                        while (true) {
                            try (BlockReader reader = e.open(data)) {
                                Block block;
                                while ((block = reader.next()) != null) {
                                    if (first) {
                                        reading.countDown();
                                        first = false;
                                    }
                                    block.data().get(block.length() - 1);
                                    block.release();
                                }
                            }
                        }
                    } catch (IOException closed) {
                        if (closed.getMessage().contains("closed")) {
                            failedClearly.incrementAndGet();
                        } else {
                            unexpected.compareAndSet(null, closed);
                        }
                    } catch (Throwable other) {
                        unexpected.compareAndSet(null, other);
                    } finally {
                        if (first) {
                            reading.countDown();
                        }
                    }
                });
                worker.start();
                workers.add(worker);
            }
            reading.await();
            java.util.concurrent.locks.LockSupport.parkNanos(random.nextInt(20_000_000)); // a random moment of reading
            long t0 = System.nanoTime();
            e.close();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("close").isLessThan(Duration.ofSeconds(15));
            for (Thread worker : workers) {
                worker.join(15_000);
                assertThat(worker.isAlive()).as("a worker hangs after close").isFalse();
            }
            assertThat(unexpected.get()).isNull();
            assertThat(failedClearly.get()).isEqualTo(4);
            assertThat(ringMappings()).as("rings unmapped").isEqualTo(mappings);
        }
        engine = null;
    }

    private static long ringMappings() throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains("io_uring")).count();
        }
    }

    private static String sha256(byte[] data) throws Exception {
        return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
