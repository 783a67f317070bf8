package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.api.ApiHttp;
import io.ringbatch.cluster.ClusterFailureAnalyzer;
import io.ringbatch.cluster.DistributedPartitionHandler;
import io.ringbatch.cluster.Leases;
import io.ringbatch.cluster.PartitionLostException;
import io.ringbatch.cluster.PartitionQueue;
import io.ringbatch.cluster.WorkerNeedsPostgresException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.JobInstance;
import org.springframework.batch.core.job.parameters.JobParametersBuilder;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.batch.integration.partition.StepExecutionRequest;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.integration.jdbc.channel.PostgresChannelMessageTableSubscriber;
import org.springframework.integration.jdbc.store.JdbcChannelMessageStore;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.messaging.Message;
import org.springframework.messaging.MessageChannel;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * The cluster transport on a real PostgreSQL: two instances in one JVM (a combined one and a worker,
 * sharing the database, the work dir and the output root) run one job's partitions between them; the
 * queue hands out the largest partitions first; a lease is held and freed; and the partition handler,
 * driven against a queue group that no instance consumes (the test plays the worker), finds a lost
 * attempt, fences it, and sends a new attempt with a copy of its last committed context, and fails the
 * step after {@code max-attempts} losses.
 */
@Timeout(300)
class ClusterPartitionTest {
    @TempDir
    static Path dir;
    @TempDir
    static Path serverDir;
    static LocalPostgres postgres;
    static ConfigurableApplicationContext a;
    static ConfigurableApplicationContext b;
    static Path input;

    @BeforeAll
    static void cluster() throws Exception {
        postgres = LocalPostgres.startOrSkip(serverDir);
        input = Files.createDirectories(dir.resolve("input/logs"));
        Random random = new Random(13);
        for (int f = 0; f < 6; f++) {
            StringBuilder sb = new StringBuilder();
            for (int line = 0; line < 40_000; line++) {
                sb.append(random.nextInt(100) < 7 ? "error " : "info ").append(random.nextInt(1_000_000)).append('\n');
            }
            Files.writeString(input.resolve("f" + f + ".log"), sb.toString());
        }
        a = start("a", "combined");
        b = start("b", "worker");
    }

    @AfterAll
    static void down() throws Exception {
        for (ConfigurableApplicationContext c : new ConfigurableApplicationContext[] {b, a}) {
            if (c != null) {
                c.close();
            }
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    private static ConfigurableApplicationContext start(String instance, String role) {
        List<String> args = new ArrayList<>(List.of("--server.port=0", "--spring.main.banner-mode=off",
                "--ringbatch.instance-id=" + instance, "--ringbatch.role=" + role,
                // one data dir until ringbatch.work-dir holds the work files (then each its own)
                "--ringbatch.data-dir=" + dir.resolve("data"),
                "--ringbatch.work-dir=" + dir.resolve("work"),
                "--ringbatch.input-roots=" + dir.resolve("input"), "--ringbatch.output-root=" + dir.resolve("output"),
                "--ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW,
                "--ringbatch.workers=2", "--ringbatch.pipeline.split-size=64KB", "--ringbatch.io.block-size=16KB",
                "--ringbatch.pipeline.commit-interval=2",
                "--ringbatch.cluster.loss-timeout=2s", "--ringbatch.cluster.heartbeat=200ms",
                "--spring.datasource.url=" + postgres.url(), "--spring.datasource.username=" + LocalPostgres.USER,
                "--spring.datasource.password="));
        return new SpringApplicationBuilder(RingbatchApplication.class).run(args.toArray(String[]::new));
    }

    private static JdbcTemplate jdbc() {
        return new JdbcTemplate(a.getBean(DataSource.class));
    }

    @Test
    void aJobsPartitionsRunThroughTheQueueOnBothInstances() throws Exception {
        ApiHttp http = new ApiHttp(Integer.parseInt(a.getEnvironment().getProperty("local.server.port")));
        String id = http.submit("{\"name\": \"spread\", \"operation\": \"grep\", \"params\": {\"pattern\": \"error [0-9]+\"},"
                + " \"input\": {\"root\": \"" + input + "\"}}").path("id").asString();
        http.awaitStatus(id, "COMPLETED", 120);

        JobRepository repository = a.getBean(JobRepository.class);
        JobInstance instance = repository.getJobInstance(Pipeline.JOB_NAME, RunStates.parameters(id));
        JobExecution execution = repository.getLastJobExecution(instance);
        Set<String> workers = new HashSet<>();
        int partitions = 0;
        for (StepExecution s : execution.getStepExecutions()) {
            if (s.getStepName().startsWith("work:")) {
                partitions++;
                assertThat(s.getStatus()).isEqualTo(BatchStatus.COMPLETED);
                workers.add(s.getExecutionContext().getString(ClusterHooks.WORKER));
            }
        }
        assertThat(partitions).isGreaterThanOrEqualTo(4);
        assertThat(workers).containsExactlyInAnyOrder("a", "b");

        long expected = 0;
        for (int f = 0; f < 6; f++) {
            expected += Files.readAllLines(input.resolve("f" + f + ".log")).stream().filter(l -> l.startsWith("error ")).count();
        }
        List<String> matches = Files.readAllLines(dir.resolve("output").resolve(id).resolve("matches.txt"),
                StandardCharsets.ISO_8859_1);
        assertThat((long) matches.size()).isEqualTo(expected);
        assertThat(jdbc().queryForObject("SELECT count(*) FROM INT_CHANNEL_MESSAGE", Integer.class)).isZero();
        assertThat(jdbc().queryForObject("SELECT count(*) FROM RB_LEASE", Integer.class)).isZero();
    }

    @Test
    void aJobIsPlannedForTheThreadsOfEveryLiveInstance() {
        // a and b run two threads each: a plan made on a is cut for four, so that b's threads have partitions too
        Pipeline pipeline = a.getBean(Pipeline.class);
        await("both instances seen").atMost(Duration.ofSeconds(10))
                .until(() -> pipeline.planner().workers(), threads -> threads == 4);
    }

    @Test
    void theQueueHandsOutTheHighestPriorityFirst() {
        JdbcChannelMessageStore store = a.getBean(JdbcChannelMessageStore.class);
        PartitionQueue queue = new PartitionQueue(toGroup(store, "test-priority"), a.getBean(DataSource.class));
        List<Long> ids = List.of(9001L, 9002L, 9003L, 9004L);
        int[] priorities = {2, 4, 1, 3};
        for (int i = 0; i < ids.size(); i++) {
            queue.send(ids.get(i), priorities[i]);
        }
        queue.send(9005L, PartitionQueue.TOP_PRIORITY);
        assertThat(queue.queued(List.of(9001L, 9005L, 1L))).containsExactlyInAnyOrder(9001L, 9005L);
        List<Long> order = new ArrayList<>();
        Message<?> m;
        while ((m = store.pollMessageFromGroup("test-priority")) != null) {
            order.add(((StepExecutionRequest) m.getPayload()).getStepExecutionId());
        }
        assertThat(order).containsExactly(9005L, 9002L, 9004L, 9001L, 9003L);
    }

    @Test
    void aLeaseIsHeldOnItsOwnConnectionAndFreed() throws Exception {
        Leases leases = a.getBean(Leases.class);
        Leases other = new Leases(a.getBean(DataSource.class), "other");
        try (Leases.Lease lease = leases.take(777_001L, 777L)) {
            assertThat(lease).isNotNull();
            assertThat(leases.holders(777L)).hasEntrySatisfying(777_001L, h -> {
                assertThat(h.instanceId()).isEqualTo("a");
                assertThat(h.locked()).isTrue();
            });
            assertThat(other.take(777_001L, 777L)).as("the same attempt twice").isNull();
        }
        assertThat(leases.holders(777L)).isEmpty();
        try (Leases.Lease again = other.take(777_001L, 777L)) {
            assertThat(again).isNotNull();
        }
    }

    @Test
    void aLeaseAfterAnotherReusesItsIdleConnection() throws Exception {
        Leases leases = new Leases(a.getBean(DataSource.class), "reuse");
        Integer first;
        try (Leases.Lease lease = leases.take(778_001L, 778L)) {
            assertThat(lease).isNotNull();
            first = lockHolder(778_001L);
            assertThat(first).isNotNull();
        }
        assertThat(lockHolder(778_001L)).as("the first lock, freed").isNull();
        assertThat(leases.holders(778L)).isEmpty();
        try (Leases.Lease lease = leases.take(778_002L, 778L)) {
            assertThat(lease).isNotNull();
            assertThat(lockHolder(778_002L)).as("the server session of the second lease").isEqualTo(first);
        }
        leases.close();
    }

    /** The server process whose session holds the advisory lock of a lease, or null. */
    private static Integer lockHolder(long stepExecutionId) {
        List<Integer> pids = jdbc().queryForList("SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
                + " AND classid = 21058 AND objid::bigint = ? AND objsubid = 2 AND granted", Integer.class, stepExecutionId);
        return pids.isEmpty() ? null : pids.get(0);
    }

    /** A channel into a message group of the queue table that no instance consumes: the test is the worker. */
    private static MessageChannel toGroup(JdbcChannelMessageStore store, String group) {
        return new MessageChannel() {
            @Override
            public boolean send(Message<?> message, long timeout) {
                store.addMessageToGroup(group, message);
                return true;
            }
        };
    }

    /** A job execution of a job nobody runs, with a manager step and {@code n} partition attempts. */
    private static StepExecution manager(JobRepository repository, String name, int n, List<StepExecution> partitions) {
        JobInstance instance = repository.createJobInstance("clusterTest",
                new JobParametersBuilder().addString("case", name).toJobParameters());
        JobExecution job = repository.createJobExecution(instance,
                new JobParametersBuilder().addString("case", name).toJobParameters(), new ExecutionContext());
        StepExecution manager = repository.createStepExecution("process", job);
        for (int i = 0; i < n; i++) {
            StepExecution p = repository.createStepExecution(String.format("work:partition%06d", i), job);
            p.getExecutionContext().putInt("partition", i);
            repository.updateExecutionContext(p);
            partitions.add(p);
        }
        return manager;
    }

    private DistributedPartitionHandler handler(PartitionQueue queue, int maxAttempts) {
        return new DistributedPartitionHandler(a.getBean(JobRepository.class), queue, a.getBean(Leases.class),
                jdbc(), a.getBean(PlatformTransactionManager.class),
                p -> 100 - p.getExecutionContext().getInt("partition"), Duration.ofMillis(100), Duration.ofSeconds(1),
                maxAttempts);
    }

    private static org.springframework.batch.core.partition.StepExecutionSplitter splitter(List<StepExecution> partitions) {
        return new org.springframework.batch.core.partition.StepExecutionSplitter() {
            @Override
            public String getStepName() {
                return "work";
            }

            @Override
            public Set<StepExecution> split(StepExecution stepExecution, int gridSize) {
                return new LinkedHashSet<>(partitions);
            }
        };
    }

    /** Takes the next request of the group, as a worker would. */
    private static StepExecution take(JobRepository repository, JdbcChannelMessageStore store, String group) {
        AtomicLong id = new AtomicLong();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            Message<?> m = store.pollMessageFromGroup(group);
            if (m != null) {
                id.set(((StepExecutionRequest) m.getPayload()).getStepExecutionId());
            }
            return m != null;
        });
        return repository.getStepExecution(id.get());
    }

    @Test
    void aLostAttemptIsFencedAndSentAgainFromItsLastCommit() throws Exception {
        JobRepository repository = a.getBean(JobRepository.class);
        JdbcChannelMessageStore store = a.getBean(JdbcChannelMessageStore.class);
        PartitionQueue queue = new PartitionQueue(toGroup(store, "test-lost"), a.getBean(DataSource.class));
        List<StepExecution> partitions = new ArrayList<>();
        StepExecution manager = manager(repository, "lost", 2, partitions);
        Leases worker = new Leases(a.getBean(DataSource.class), "w1");
        var renewer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        renewer.scheduleWithFixedDelay(worker::renew, 100, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
        DistributedPartitionHandler handler = handler(queue, 3);
        CompletableFuture<Collection<StepExecution>> done = CompletableFuture.supplyAsync(() -> {
            try {
                return handler.handle(splitter(partitions), manager);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });

        // the larger partition (index 0) comes first; it runs on w1, which commits once, then dies
        StepExecution first = take(repository, store, "test-lost");
        assertThat(first.getStepName()).isEqualTo("work:partition000000");
        Leases.Lease lease = worker.take(first.getId(), first.getJobExecutionId());
        first.getExecutionContext().putString(ClusterHooks.WORKER, "w1");
        first.setStatus(BatchStatus.STARTED);
        repository.update(first);
        first.getExecutionContext().putLong("rb.offset", 4096);
        repository.updateExecutionContext(first);
        repository.update(first);
        lease.close(); // its session's lock is gone, as when its process dies

        StepExecution other = take(repository, store, "test-lost");
        assertThat(other.getStepName()).isEqualTo("work:partition000001");
        try (Leases.Lease otherLease = worker.take(other.getId(), other.getJobExecutionId())) {
            other.setStatus(BatchStatus.STARTED);
            repository.update(other);
            // the second attempt of partition 0 goes before anything else
            StepExecution second = take(repository, store, "test-lost");
            assertThat(second.getStepName()).isEqualTo("work:partition000000");
            assertThat(second.getId()).isGreaterThan(first.getId());
            assertThat(second.getExecutionContext().getLong("rb.offset")).isEqualTo(4096);
            assertThat(second.getExecutionContext().containsKey(ClusterHooks.WORKER)).isFalse();
            StepExecution lost = repository.getStepExecution(first.getId());
            assertThat(lost.getStatus()).isEqualTo(BatchStatus.FAILED);
            assertThat(lost.getExitStatus().getExitDescription()).startsWith("worker lost: w1");
            // the zombie's next commit fails
            first.getExecutionContext().putLong("rb.offset", 8192);
            assertThatThrownBy(() -> repository.update(first)).isInstanceOf(OptimisticLockingFailureException.class);

            second.setStatus(BatchStatus.COMPLETED);
            repository.update(second);
            other.setStatus(BatchStatus.COMPLETED);
            repository.update(other);
        }
        Collection<StepExecution> result = done.get(30, java.util.concurrent.TimeUnit.SECONDS);
        renewer.shutdownNow();
        assertThat(result).extracting(StepExecution::getStatus).containsOnly(BatchStatus.COMPLETED);
        assertThat(result).extracting(StepExecution::getStepName)
                .containsExactlyInAnyOrder("work:partition000000", "work:partition000001");
        assertThat(jdbc().queryForObject("SELECT count(*) FROM BATCH_STEP_EXECUTION WHERE JOB_EXECUTION_ID = ?"
                + " AND STEP_NAME = 'work:partition000000'", Integer.class, manager.getJobExecutionId())).isEqualTo(2);
    }

    /**
     * The manager looks at its partitions when one ends, not at its next heartbeat: with a heartbeat of 30 s,
     * a job execution whose two partitions end (each followed by the NOTIFY its worker sends) is over within
     * a few seconds; a manager that only polled would still be waiting.
     */
    @Test
    void theManagerSeesAPartitionEndAtOnceNotAtItsNextHeartbeat() throws Exception {
        JobRepository repository = a.getBean(JobRepository.class);
        JdbcChannelMessageStore store = a.getBean(JdbcChannelMessageStore.class);
        PartitionQueue queue = new PartitionQueue(toGroup(store, "test-wake"), a.getBean(DataSource.class));
        List<StepExecution> partitions = new ArrayList<>();
        StepExecution manager = manager(repository, "wake", 2, partitions);
        Duration heartbeat = Duration.ofSeconds(30);
        DistributedPartitionHandler handler = new DistributedPartitionHandler(repository, queue, a.getBean(Leases.class),
                jdbc(), a.getBean(PlatformTransactionManager.class), p -> 100 - p.getExecutionContext().getInt("partition"),
                heartbeat, Duration.ofSeconds(60), 3)
                .wakeOnEnds(a.getBean(PostgresChannelMessageTableSubscriber.class));
        CompletableFuture<Collection<StepExecution>> done = CompletableFuture.supplyAsync(() -> {
            try {
                return handler.handle(splitter(partitions), manager);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Leases worker = new Leases(a.getBean(DataSource.class), "w-wake");
        for (int i = 0; i < 2; i++) {
            // the test is the worker: it takes each request (after the manager's first look, which saw both
            // queued), runs it under a lease, ends it, and says so as PartitionConsumer does
            StepExecution s = take(repository, store, "test-wake");
            try (Leases.Lease lease = worker.take(s.getId(), s.getJobExecutionId())) {
                assertThat(lease).isNotNull();
                s.setStatus(BatchStatus.STARTED);
                repository.update(s);
                s.setStatus(BatchStatus.COMPLETED);
                s.setEndTime(java.time.LocalDateTime.now());
                repository.update(s);
            }
            queue.partitionEnded(s.getJobExecutionId());
        }
        long ended = System.nanoTime();
        await("the manager, woken by the ends").atMost(Duration.ofSeconds(5)).until(done::isDone);
        assertThat(Duration.ofNanos(System.nanoTime() - ended)).isLessThan(heartbeat.dividedBy(6));
        assertThat(done.get()).extracting(StepExecution::getStatus).containsOnly(BatchStatus.COMPLETED);
        assertThat(done.get()).extracting(StepExecution::getId)
                .containsExactlyInAnyOrder(partitions.get(0).getId(), partitions.get(1).getId());
    }

    @Test
    void aPartitionLostMaxAttemptsTimesFailsNamingIt() throws Exception {
        JobRepository repository = a.getBean(JobRepository.class);
        JdbcChannelMessageStore store = a.getBean(JdbcChannelMessageStore.class);
        PartitionQueue queue = new PartitionQueue(toGroup(store, "test-max"), a.getBean(DataSource.class));
        List<StepExecution> partitions = new ArrayList<>();
        StepExecution manager = manager(repository, "max", 1, partitions);
        DistributedPartitionHandler handler = handler(queue, 2);
        CompletableFuture<Collection<StepExecution>> done = CompletableFuture.supplyAsync(() -> {
            try {
                return handler.handle(splitter(partitions), manager);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        // taken from the queue twice by instances that die before they lease it
        take(repository, store, "test-max");
        take(repository, store, "test-max");
        assertThatThrownBy(() -> done.get(30, java.util.concurrent.TimeUnit.SECONDS))
                .hasRootCauseInstanceOf(PartitionLostException.class)
                .rootCause().hasMessageContaining("partition work:partition000000 was lost 2 times");
    }

    @Test
    void anAttemptStoppedByItsInstancesShutdownRunsAgainWhileTheJobGoesOn() throws Exception {
        JobRepository repository = a.getBean(JobRepository.class);
        JdbcChannelMessageStore store = a.getBean(JdbcChannelMessageStore.class);
        PartitionQueue queue = new PartitionQueue(toGroup(store, "test-sigterm"), a.getBean(DataSource.class));
        List<StepExecution> partitions = new ArrayList<>();
        StepExecution manager = manager(repository, "sigterm", 1, partitions);
        DistributedPartitionHandler handler = handler(queue, 3);
        CompletableFuture<Collection<StepExecution>> done = CompletableFuture.supplyAsync(() -> {
            try {
                return handler.handle(splitter(partitions), manager);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        StepExecution first = take(repository, store, "test-sigterm");
        first.setStatus(BatchStatus.STARTED);
        repository.update(first);
        first.getExecutionContext().putLong("rb.offset", 123);
        repository.updateExecutionContext(first);
        first.setStatus(BatchStatus.STOPPED); // as a worker's SIGTERM leaves it, at a commit
        repository.update(first);

        StepExecution second = take(repository, store, "test-sigterm");
        assertThat(second.getId()).isGreaterThan(first.getId());
        assertThat(second.getStepName()).isEqualTo(first.getStepName());
        assertThat(second.getExecutionContext().getLong("rb.offset")).isEqualTo(123);
        assertThat(repository.getStepExecution(first.getId()).getExitStatus().getExitDescription())
                .contains("worker lost: ");
        second.setStatus(BatchStatus.COMPLETED);
        repository.update(second);
        assertThat(done.get(30, java.util.concurrent.TimeUnit.SECONDS)).extracting(StepExecution::getId)
                .containsExactly(second.getId());
    }

    @Test
    void aWorkerRefusesToStartOnH2() {
        assertThatThrownBy(() -> new SpringApplicationBuilder(RingbatchApplication.class).run("--server.port=0",
                "--spring.main.banner-mode=off", "--ringbatch.role=worker",
                "--ringbatch.data-dir=" + dir.resolve("data-h2worker"),
                "--ringbatch.input-roots=" + dir.resolve("input"), "--ringbatch.output-root=" + dir.resolve("output")))
                .satisfies(e -> {
                    FailureAnalysis analysis = new ClusterFailureAnalyzer().analyze(e);
                    java.io.StringWriter trace = new java.io.StringWriter();
                    e.printStackTrace(new java.io.PrintWriter(trace));
                    assertThat(analysis).as(trace::toString).isNotNull();
                    assertThat(analysis.getDescription()).contains("ringbatch.role=worker needs PostgreSQL");
                })
                .hasRootCauseInstanceOf(WorkerNeedsPostgresException.class);
    }
}
