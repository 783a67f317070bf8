package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.ringbatch.RingbatchApplication;
import io.ringbatch.api.ApiHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * {@link FinishLine} across instances: two of them, each with its own connection pool and transaction
 * manager as two service instances have, on one database (a real PostgreSQL server from
 * {@link LocalPostgres}, and one H2 file). Whichever of a stop and a rename asks first wins on both, in
 * either order and on either instance; racing from two threads, many rounds, exactly one wins each time
 * and both instances agree on which; and the finish step, which asks from inside its step's transaction,
 * can go on with that transaction after losing. On PostgreSQL, two service instances besides: a stop sent
 * to the instance that does not run the finish step keeps to the same line.
 */
@Timeout(300)
class FinishLineTest {
    private static final int ROUNDS = 300;

    /** Two instances' lines on one database, made by the nested classes. */
    abstract static class TwoInstances {
        final List<HikariDataSource> pools = new ArrayList<>();
        FinishLine a;
        FinishLine b;
        JdbcTransactionManager tmA;

        abstract String url();

        abstract String user();

        /** The service's migrations on this database (application.yml's spring.flyway.locations). */
        abstract String[] migrations();

        @BeforeEach
        void lines() {
            Flyway.configure().dataSource(url(), user(), "").locations(migrations()).load().migrate();
            DataSource one = pool();
            DataSource two = pool();
            tmA = new JdbcTransactionManager(one);
            a = new FinishLine(one, tmA);
            b = new FinishLine(two, new JdbcTransactionManager(two));
        }

        @AfterEach
        void close() {
            pools.forEach(HikariDataSource::close);
        }

        private DataSource pool() {
            HikariDataSource ds = new HikariDataSource();
            ds.setJdbcUrl(url());
            ds.setUsername(user());
            ds.setPassword("");
            ds.setMaximumPoolSize(4);
            pools.add(ds);
            return ds;
        }

        @Test
        void aStopOnOneInstanceKeepsTheOtherFromCrossingAndTheReverse() {
            String id = "line-" + System.nanoTime();
            a.reset(id);
            assertThat(a.stop(id)).as("the first stop").isTrue();
            assertThat(b.cross(id)).as("a rename on the other instance after the stop").isFalse();
            assertThat(a.cross(id)).as("a rename on the stopping instance").isFalse();
            assertThat(b.stop(id)).as("a second stop, on the other instance").isTrue();

            b.reset(id); // the next execution
            assertThat(b.cross(id)).as("the rename of the next execution").isTrue();
            assertThat(a.stop(id)).as("a stop on the other instance after the rename").isFalse();
            assertThat(b.stop(id)).as("a stop on the crossing instance").isFalse();
            assertThat(a.cross(id)).isTrue();

            a.reset(id);
            assertThat(a.cross(id)).isTrue();
            assertThat(b.stop(id)).isFalse();
            b.reset(id);
            assertThat(b.stop(id)).isTrue();
            assertThat(a.cross(id)).isFalse();
        }

        @Test
        void aStopAndARenameRacingOnTwoInstancesNeverBothWin() throws Exception {
            ExecutorService threads = Executors.newFixedThreadPool(2);
            try {
                int stops = 0;
                for (int round = 0; round < ROUNDS; round++) {
                    String id = "race-" + round + "-" + System.nanoTime();
                    // even rounds: the stop on a, the rename on b; odd rounds the other way round
                    FinishLine stopper = round % 2 == 0 ? a : b;
                    FinishLine crosser = round % 2 == 0 ? b : a;
                    stopper.reset(id);
                    CyclicBarrier start = new CyclicBarrier(2);
                    Future<Boolean> stopped = threads.submit(together(start, () -> stopper.stop(id)));
                    Future<Boolean> crossed = threads.submit(together(start, () -> crosser.cross(id)));
                    boolean stopWon = stopped.get(30, TimeUnit.SECONDS);
                    boolean crossWon = crossed.get(30, TimeUnit.SECONDS);
                    assertThat(stopWon).as("round %d: the stop won, and the rename did too", round).isNotEqualTo(crossWon);
                    // and both instances keep to it
                    assertThat(a.stop(id)).as("round %d", round).isEqualTo(stopWon);
                    assertThat(b.stop(id)).as("round %d", round).isEqualTo(stopWon);
                    assertThat(a.cross(id)).as("round %d", round).isEqualTo(crossWon);
                    assertThat(b.cross(id)).as("round %d", round).isEqualTo(crossWon);
                    stops += stopWon ? 1 : 0;
                    a.reset(id);
                }
                System.out.printf("FinishLineTest %s: the stop won %d of %d rounds%n", getClass().getSimpleName(),
                        stops, ROUNDS);
            } finally {
                threads.shutdownNow();
            }
        }

        /**
         * The finish step asks from inside its step's transaction: losing to a stop (on PostgreSQL a failed
         * insert aborts its transaction) leaves that transaction usable, and it commits.
         */
        @Test
        void aRenameThatLosesInsideTheStepsTransactionLeavesItUsable() {
            String id = "in-step-" + System.nanoTime();
            a.reset(id);
            assertThat(b.stop(id)).isTrue();
            JdbcTemplate jdbc = new JdbcTemplate(tmA.getDataSource());
            Integer rows = new TransactionTemplate(tmA).execute(tx -> {
                jdbc.queryForObject("SELECT COUNT(*) FROM RB_FINISH_LINE", Integer.class);
                assertThat(a.cross(id)).as("the rename after the stop").isFalse();
                assertThat(a.cross(id)).isFalse();
                return jdbc.queryForObject("SELECT COUNT(*) FROM RB_FINISH_LINE WHERE JOB_ID = ?", Integer.class, id);
            });
            assertThat(rows).isEqualTo(1);
            a.reset(id);
            assertThat(jdbc.queryForObject("SELECT COUNT(*) FROM RB_FINISH_LINE WHERE JOB_ID = ?", Integer.class, id))
                    .isZero();
        }

        private static Callable<Boolean> together(CyclicBarrier start, Callable<Boolean> ask) {
            return () -> {
                start.await(30, TimeUnit.SECONDS);
                return ask.call();
            };
        }
    }

    @Nested
    class OnH2 extends TwoInstances {
        @TempDir
        Path dir;

        @Override
        String url() {
            // the service's own URL (application.yml): two pools in one JVM open the same database
            return "jdbc:h2:file:" + dir.resolve("ringbatch") + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
        }

        @Override
        String user() {
            return "sa";
        }

        @Override
        String[] migrations() {
            return new String[] {"classpath:db/migration"};
        }
    }

    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class OnPostgres extends TwoInstances {
        LocalPostgres postgres;

        @BeforeAll
        void server(@TempDir Path serverDir) throws Exception {
            postgres = LocalPostgres.startOrSkip(serverDir);
        }

        @AfterAll
        void stop() throws Exception {
            if (postgres != null) {
                postgres.close();
            }
        }

        @Override
        String url() {
            return postgres.url();
        }

        @Override
        String user() {
            return LocalPostgres.USER;
        }

        @Override
        String[] migrations() {
            return new String[] {"classpath:db/migration", "classpath:db/vendor/postgresql"};
        }

        /**
         * Two service instances on this database (cluster mode), one work dir and output root for both: the
         * job runs on {@code one}, and a stop sent to {@code two} while {@code one}'s finish step is past its
         * rename is refused (409, "completing") and the job completes at once; one sent to {@code two} just
         * before the rename keeps the output out, and the restart completes it.
         */
        @Test
        void aStopSentToTheOtherInstanceDuringTheFinishStep(@TempDir Path dir) throws Exception {
            Path input = Files.createDirectories(dir.resolve("input/words"));
            Files.writeString(input.resolve("a.txt"), "one two\nthree\n");
            Path outputs = dir.resolve("output");
            try (ConfigurableApplicationContext one = start(dir, "one");
                 ConfigurableApplicationContext two = start(dir, "two")) {
                JobRunner here = one.getBean(JobRunner.class);
                JobRunner there = two.getBean(JobRunner.class);
                JdbcTemplate jdbc = new JdbcTemplate(one.getBean(DataSource.class));

                String late = "late-" + System.nanoTime();
                AtomicReference<JobRunnerException> refused = new AtomicReference<>();
                FinishTasklet.afterRename = job -> {
                    try {
                        there.stop(job);
                    } catch (JobRunnerException e) {
                        refused.set(e);
                    }
                };
                RunState ended;
                try {
                    here.start(definition(late, input, outputs.resolve(late)));
                    ended = PipelineTest.awaitEnd(here, late, Duration.ofMinutes(2));
                } finally {
                    FinishTasklet.afterRename = null;
                }
                assertThat(refused.get()).as("the stop sent to the other instance after the rename").isNotNull();
                assertThat(refused.get().conflict()).isTrue();
                assertThat(refused.get()).hasMessageContaining("completing");
                assertThat(ended.status()).as(ended.error()).isEqualTo("COMPLETED");
                assertThat(ended.executions()).hasSize(1);
                assertThat(Files.readString(outputs.resolve(late).resolve("counts.tsv"))).contains("a.txt");
                // the line is reset when the execution ends
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(jdbc.queryForObject(
                        "SELECT COUNT(*) FROM RB_FINISH_LINE WHERE JOB_ID = ?", Integer.class, late)).isZero());

                String early = "early-" + System.nanoTime();
                FinishTasklet.beforeRename = job -> {
                    try {
                        there.stop(job);
                    } catch (JobRunnerException e) {
                        throw new IllegalStateException(e);
                    }
                };
                RunState stopped;
                try {
                    here.start(definition(early, input, outputs.resolve(early)));
                    stopped = PipelineTest.awaitEnd(here, early, Duration.ofMinutes(2));
                } finally {
                    FinishTasklet.beforeRename = null;
                }
                assertThat(stopped.status()).as(stopped.error()).isEqualTo("STOPPED");
                assertThat(outputs.resolve(early)).doesNotExist();
                here.restart(early);
                RunState done = PipelineTest.awaitEnd(here, early, Duration.ofMinutes(2));
                assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
                assertThat(Files.readString(outputs.resolve(early).resolve("counts.tsv"))).contains("a.txt");
            }
        }

        private ConfigurableApplicationContext start(Path dir, String instance) {
            List<String> args = List.of("--server.port=0", "--spring.main.banner-mode=off",
                    "--ringbatch.instance-id=" + instance, "--ringbatch.role=combined",
                    "--ringbatch.data-dir=" + dir.resolve("data-" + instance),
                    "--ringbatch.work-dir=" + dir.resolve("work"),
                    "--ringbatch.input-roots=" + dir.resolve("input"), "--ringbatch.output-root=" + dir.resolve("output"),
                    "--ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW, "--ringbatch.workers=2",
                    "--spring.datasource.url=" + postgres.url(), "--spring.datasource.username=" + LocalPostgres.USER,
                    "--spring.datasource.password=");
            return new SpringApplicationBuilder(RingbatchApplication.class).run(args.toArray(String[]::new));
        }

        private static JobDefinition definition(String id, Path input, Path output) {
            return new JobDefinition(id, "wc", Map.of(), input, List.of(), List.of(), output, false);
        }
    }
}
