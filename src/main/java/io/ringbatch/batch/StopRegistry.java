package io.ringbatch.batch;

import io.ringbatch.config.RingbatchProperties;
import io.ringbatch.io.Dir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Whether a job was asked to stop, as its partitions ask between blocks and an operation between costly
 * lines ({@link io.ringbatch.operation.FragmentSink#stopRequested()}), on whichever instance they run.
 * Spring Batch sees a stop only at a partition's next commit; this reaches it within a block, or within
 * {@value #CHECK_MILLIS} ms on another instance.
 * <p>
 * {@link BatchJobRunner} raises it with the stop it hands to Spring Batch, and resets it before each
 * start and restart and when an execution ends. Raised here, it is a flag in this process and a marker
 * file ({@value #MARKER}) in the job's work directory, which every instance mounts
 * ({@code ringbatch.work-dir}): a partition running on another instance looks for the marker at most every
 * {@value #CHECK_MILLIS} ms, by descriptor beneath the work directory it holds open.
 */
@Component
public class StopRegistry {
    /** In a job's work directory: the job was asked to stop (by any instance). */
    static final String MARKER = "stop-requested";
    static final long CHECK_MILLIS = 250;
    private static final Logger log = LoggerFactory.getLogger(StopRegistry.class);

    private final java.nio.file.Path workRoot;
    private final ConcurrentHashMap<String, AtomicBoolean> local = new ConcurrentHashMap<>();

    @org.springframework.beans.factory.annotation.Autowired
    public StopRegistry(RingbatchProperties properties) {
        this(properties.workDir());
    }

    /** On the work root {@code ringbatch.work-dir} (tests make a second instance's registry so). */
    StopRegistry(java.nio.file.Path workRoot) {
        this.workRoot = workRoot;
    }

    /** Asks the job's partitions to stop, here at once and on every instance through the marker. */
    public void raise(String jobId) {
        flag(jobId).set(true);
        try (Dir work = files(jobId).open()) {
            JobFiles.writeAtomically(work, MARKER, "stop\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            // this instance's partitions still see the flag, and every partition sees the stop at its commit
            log.warn("job {}: cannot write the stop marker for the other instances: {}", jobId, e.getMessage());
        }
    }

    /** Before an execution starts (a fresh signal), and when it has ended (nothing kept). */
    public void reset(String jobId) {
        local.remove(jobId);
        try (Dir work = files(jobId).open()) {
            work.delete(MARKER);
        } catch (NoSuchFileException absent) {
            // never raised
        } catch (IOException e) {
            log.warn("job {}: cannot remove the stop marker: {}", jobId, e.getMessage());
        }
    }

    /** Whether a stop was raised, here or on another instance (a look at the marker now). */
    public boolean raised(String jobId) {
        if (localRaised(jobId)) {
            return true;
        }
        try (Dir work = files(jobId).open()) {
            return marked(work);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The signal one partition attempt asks, with the job's work directory it holds open (the caller's, not
     * closed here).
     */
    public Signal signal(String jobId, Dir work) {
        return new Signal(() -> localRaised(jobId), work);
    }

    /** Raised in this process (a look-up without adding anything: workers keep no entry per job). */
    private boolean localRaised(String jobId) {
        AtomicBoolean flag = local.get(jobId);
        return flag != null && flag.get();
    }

    /** This process's flag for the job (the planner, which runs where the job is managed, reads it). */
    AtomicBoolean flag(String jobId) {
        return local.computeIfAbsent(jobId, k -> new AtomicBoolean());
    }

    private JobFiles files(String jobId) {
        return new JobFiles(workRoot, jobId);
    }

    private static boolean marked(Dir work) {
        try {
            work.stat(MARKER);
            return true;
        } catch (IOException e) {
            return false; // absent, or not to be seen: the commit still brings Spring Batch's stop
        }
    }

    /** A partition's view: this process's flag (a map look-up), the shared marker at most every 250 ms. */
    public static final class Signal {
        private final java.util.function.BooleanSupplier local;
        private final Dir work;
        private long nextLook = System.nanoTime();
        private volatile boolean seen;

        Signal(java.util.function.BooleanSupplier local, Dir work) {
            this.local = local;
            this.work = work;
        }

        /** Never raised: for tests and for work outside a job. */
        public static Signal never() {
            return new Signal(() -> false, null);
        }

        public boolean requested() {
            if (seen || local.getAsBoolean()) {
                return true;
            }
            if (work == null) {
                return false;
            }
            long now = System.nanoTime();
            if (now - nextLook < 0) {
                return false;
            }
            nextLook = now + TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS);
            if (marked(work)) {
                seen = true;
            }
            return seen;
        }
    }
}
