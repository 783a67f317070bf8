package io.ringbatch.config;

import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoOptions;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Everything under {@code ringbatch.*}. Paths are made absolute (against the working directory) and
 * normalised once, here, so that every consumer compares like with like.
 *
 * @param dataDir           H2 database and per-job work dirs
 * @param inputRoots        the only trees jobs may read
 * @param outputRoot        the only tree jobs may write
 * @param workers           threads of the processing executor; default: the cores the JVM sees
 *                          (which respects a container's CPU limit)
 * @param maxConcurrentJobs jobs running at once
 * @param queueCapacity     jobs queued beyond those; past both, submissions get 429
 * @param resumeOnStart     restart, at start-up, the jobs that a crash interrupted
 * @param input             what jobs may read inside the input roots
 * @param io                the I/O engine
 * @param security          logins
 * @param instanceId        this instance's name among several that share a job repository (PostgreSQL):
 *                          a job that ran here restarts only here, where its work directory is; default
 *                          the host name (a StatefulSet pod's name)
 * @param role              {@code combined} (the job API, the dashboard, manages the jobs it claims and runs
 *                          partitions) or {@code worker} (runs partitions of any instance's jobs; health and
 *                          metrics only, no job API); {@code worker} needs PostgreSQL
 * @param workDir           the root of every job's work files; default {@code <data-dir>/jobs}. With several
 *                          instances on one PostgreSQL, a directory that all of them mount (in the chart, on
 *                          the ReadWriteMany output volume, so the final rename stays on one file system)
 * @param cluster           how partitions travel between instances (PostgreSQL only)
 */
@ConfigurationProperties("ringbatch")
@Validated
public record RingbatchProperties(
        @DefaultValue("./data") @NotNull Path dataDir,
        @DefaultValue("./data/input") @NotEmpty List<@NotNull Path> inputRoots,
        @DefaultValue("./data/output") @NotNull Path outputRoot,
        @Min(1) @Max(4096) Integer workers,
        @DefaultValue("2") @Min(1) int maxConcurrentJobs,
        @DefaultValue("100") @Min(0) int queueCapacity,
        @DefaultValue("true") boolean resumeOnStart,
        @DefaultValue @Valid Input input,
        @DefaultValue @Valid Io io,
        @DefaultValue @Valid Security security,
        @Size(max = 200) String instanceId,
        @DefaultValue("combined") @NotNull Role role,
        Path workDir,
        @DefaultValue @Valid Cluster cluster) {

    /** {@code ringbatch.role}. */
    public enum Role {
        /** the job API and dashboard; manages the jobs it claims and runs partitions */
        COMBINED,
        /** runs partitions only: health and metrics, no job API */
        WORKER
    }

    public RingbatchProperties {
        if (instanceId == null || instanceId.isBlank()) {
            instanceId = hostName();
        }
        dataDir = absolute(dataDir);
        inputRoots = inputRoots == null ? null : inputRoots.stream().map(RingbatchProperties::absolute).toList();
        outputRoot = absolute(outputRoot);
        workDir = workDir == null ? (dataDir == null ? null : dataDir.resolve("jobs")) : absolute(workDir);
        if (workers == null) {
            workers = Runtime.getRuntime().availableProcessors();
        }
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }

    private static Path absolute(Path path) {
        return path == null ? null : path.toAbsolutePath().normalize();
    }

    /**
     * {@code ringbatch.input.*}.
     *
     * @param allowHardLinks read input files that have more than one hard link. Off by default: another
     *                       name of such a file may lie outside the input root (which of its names lies
     *                       where cannot be told), so a job refuses it like an unreadable file (it fails,
     *                       or with {@code skipUnreadable} skips it and lists it in its report)
     */
    public record Input(@DefaultValue("false") boolean allowHardLinks) {
    }

    /**
     * {@code ringbatch.io.*}.
     *
     * @param engine          {@code auto} (io_uring, or the blocking engine where it is refused),
     *                        {@code io_uring} (fail start-up where refused) or {@code blocking}
     * @param queueDepth      submission-queue entries of the ring
     * @param blockSize       bytes per read and per block handed to a step; a multiple of 4 KiB
     * @param direct          O_DIRECT reads where the file system allows them
     * @param readAhead       reads one reader keeps in flight at most
     * @param bufferPoolSize  pooled buffers of {@code block-size}; bounds reads in flight overall
     * @param blockingThreads read threads of the blocking engine
     * @param topology        io_uring rings: {@code per-thread} (one ring per consumer thread, which
     *                        submits and reaps itself) or {@code shared} (one ring and a reaper thread)
     * @param readTimeout     a read that takes longer is cancelled and its partition fails (it restarts
     *                        from its last commit like any failure)
     * @param openAhead       a partition's next files opened and checked ahead of its reader, through the
     *                        worker's ring (io_uring, per-thread topology); off, each at its use
     */
    public record Io(
            @DefaultValue("auto") @NotNull IoEngines.Mode engine,
            @DefaultValue("64") @Min(1) @Max(4096) int queueDepth,
            @DefaultValue("1MB") @NotNull DataSize blockSize,
            @DefaultValue("false") boolean direct,
            @DefaultValue("8") @Min(1) int readAhead,
            @DefaultValue("128") @Min(1) int bufferPoolSize,
            @DefaultValue("4") @Min(1) int blockingThreads,
            @DefaultValue("per-thread") @NotNull IoOptions.Topology topology,
            @DefaultValue("60s") @NotNull java.time.Duration readTimeout,
            // off by default: measured slower on page-cached small files (bench/RESULTS-small.md, "open-ahead")
            @DefaultValue("false") boolean openAhead) {

        /** Validated as {@code ringbatch.io.block-size-valid}: a whole number of 4 KiB pages, at most 1 GiB. */
        @AssertTrue(message = "ringbatch.io.block-size must be a multiple of 4KB, between 4KB and 1GB")
        public boolean isBlockSizeValid() {
            long bytes = blockSize == null ? 0 : blockSize.toBytes();
            return bytes >= 4096 && bytes <= (1L << 30) && bytes % 4096 == 0;
        }

        public IoOptions toOptions() {
            return new IoOptions(Math.toIntExact(blockSize.toBytes()), queueDepth, readAhead, bufferPoolSize, direct,
                    blockingThreads, topology, readTimeout);
        }
    }

    /**
     * {@code ringbatch.cluster.*}: remote partitioning over PostgreSQL (ignored on H2, where every partition
     * runs on the local executor).
     *
     * @param enabled      send partitions through the database queue to every instance; default: on when the
     *                     job repository is PostgreSQL
     * @param lossTimeout  a partition whose instance holds no lease for this long is lost and runs again
     *                     from its last commit on another instance
     * @param maxAttempts  lost attempts of one partition within one job execution before the job fails
     * @param heartbeat    how often an instance says it is alive (the workers list) and the manager looks
     *                     for ended or lost partitions
     */
    public record Cluster(Boolean enabled,
                          @DefaultValue("30s") @NotNull java.time.Duration lossTimeout,
                          @DefaultValue("3") @Min(1) int maxAttempts,
                          @DefaultValue("1s") @NotNull java.time.Duration heartbeat) {
    }

    /**
     * {@code ringbatch.security.*}. A password that starts with an encoder id in braces
     * ({@code {bcrypt}...}) is taken as already encoded; any other is encoded at start-up.
     *
     * @param adminPassword  password of {@code admin} (roles VIEWER and OPERATOR); when unset, one is
     *                       generated at every start and logged once
     * @param viewerPassword when set, a read-only user {@code viewer} (role VIEWER) exists too
     * @param rememberMe     how long a browser that logged in through the form with "stay signed in" stays
     *                       logged in, across restarts of the service (0: only for the session)
     * @param rememberMeKey  the key that signs those cookies (at least 32 characters); unset: one made once
     *                       and kept in the data dir. Instances behind one address need the same key.
     * @param loginAttempts  failed logins of one user from one address within {@code loginWindow} before
     *                       further attempts are refused (429) until the window moves on
     * @param loginWindow    the window of {@code loginAttempts}
     * @param trustedProxies addresses or CIDRs of the reverse proxies (an Ingress controller's pods) whose
     *                       {@code X-Forwarded-For} and {@code X-Forwarded-Proto} are believed; none by
     *                       default, so the client's address is the peer's
     * @param metricsPassword when set, a user {@code metrics} (role METRICS) that may read
     *                       {@code /actuator/prometheus} and nothing else
     */
    public record Security(String adminPassword, String viewerPassword,
                           @DefaultValue("8h") java.time.Duration rememberMe,
                           @Size(min = 32, max = 1000) String rememberMeKey,
                           @DefaultValue("10") @Min(1) int loginAttempts,
                           @DefaultValue("5m") java.time.Duration loginWindow,
                           @DefaultValue({}) List<String> trustedProxies,
                           String metricsPassword) {
        @Override
        public String toString() {
            return "Security[adminPassword=" + (adminPassword == null ? "<generated>" : "******")
                    + ", viewerPassword=" + (viewerPassword == null ? "<none>" : "******") + ", rememberMe=" + rememberMe
                    + ", rememberMeKey=" + (rememberMeKey == null ? "<data dir>" : "******")
                    + ", trustedProxies=" + trustedProxies
                    + ", metricsPassword=" + (metricsPassword == null ? "<none>" : "******") + "]";
        }
    }
}
