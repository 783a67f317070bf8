package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.api.ApiHttp;
import io.ringbatch.api.JobStore;
import io.ringbatch.config.SchemaMigrationStrategy;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.config.YamlPropertiesFactoryBean;
import org.springframework.boot.batch.jdbc.autoconfigure.BatchDataSourceScriptDatabaseInitializer;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.flyway.autoconfigure.FlywayMigrationInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.io.ClassPathResource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.jdbc.datasource.init.ResourceDatabasePopulator;
import tools.jackson.databind.JsonNode;

/**
 * ringbatch's tables come from Flyway's migrations ({@code db/migration}), the same on the H2 file
 * database and on PostgreSQL. A new database gets them and runs jobs. A database made before migrations
 * (by the script that JobStore ran at every start-up: copies of its two shapes under
 * {@code db/legacy}, with Spring Batch's tables and a job waiting in the queue, as the service left it)
 * upgrades in place at start-up: the job is still there, answers through the API and then runs. Several
 * instances starting together on an empty PostgreSQL all come up. Beside {@link LocalPostgres}, the real
 * server that the PostgreSQL cases start.
 */
@Timeout(300)
class SchemaMigrationTest {
    /** Today's script and the first one (no OWNER column, an index on (STATUS, QUEUE_ORDER) since dropped). */
    private static final String TODAY = "ringbatch-jobs-0.1.sql";
    private static final String FIRST = "ringbatch-jobs-0.1-no-owner.sql";

    /** A job that was queued when the older release stopped; its row as that release's JobStore wrote it. */
    private static final String LEGACY_ID = "01m8vrcrpn93j4jt";
    private static final String LEGACY_KEY = "legacy-key-1";
    private static final Instant LEGACY_CREATED = Instant.parse("2026-12-02T16:11:23.751915Z");

    @TempDir
    Path dir;

    private Path input;

    @BeforeEach
    void input() throws Exception {
        input = Files.createDirectories(dir.resolve("input/words"));
        Files.writeString(input.resolve("a.txt"), "one two\nthree\n");
    }

    /** A start-up as {@code java -jar} with arguments (they beat application.yml's H2 URL). */
    private ConfigurableApplicationContext start(String instance, String... more) {
        return start(null, instance, more);
    }

    /**
     * As {@link #start(String, String...)}, running {@code beforeRefresh} once the environment and logging are
     * ready and before the context refreshes (where Flyway migrates).
     */
    private ConfigurableApplicationContext start(Runnable beforeRefresh, String instance, String... more) {
        List<String> args = new ArrayList<>(List.of("--server.port=0", "--spring.main.banner-mode=off",
                "--ringbatch.instance-id=" + instance, "--ringbatch.data-dir=" + dataDir(instance),
                "--ringbatch.input-roots=" + dir.resolve("input"), "--ringbatch.output-root=" + dir.resolve("output"),
                "--ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW));
        args.addAll(Arrays.asList(more));
        SpringApplicationBuilder builder = new SpringApplicationBuilder(RingbatchApplication.class);
        if (beforeRefresh != null) {
            builder.initializers(context -> beforeRefresh.run());
        }
        return builder.run(args.toArray(String[]::new));
    }

    private Path dataDir(String instance) {
        return dir.resolve("data-" + instance);
    }

    private static ApiHttp http(ConfigurableApplicationContext app) {
        return new ApiHttp(Integer.parseInt(app.getEnvironment().getProperty("local.server.port")));
    }

    /** A request to count the words of the input. */
    private String wc(String name) {
        return "{\"name\": \"" + name + "\", \"operation\": \"wc\", \"input\": {\"root\": \"" + input + "\"}}";
    }

    private String submitWc(ApiHttp http, String name) throws Exception {
        return http.submit(wc(name)).path("id").asString();
    }

    /** Flyway's history as "version type", oldest first: "1 SQL" for an applied migration, "0 BASELINE" for the mark. */
    private static List<String> history(ConfigurableApplicationContext app) {
        return Arrays.stream(app.getBean(Flyway.class).info().applied())
                .map(m -> m.getVersion() + " " + m.getType() + (m.getState().isFailed() ? " FAILED" : ""))
                .toList();
    }

    /** The database as an older release left it: its script, Spring Batch's tables (as Boot made them), a queued job. */
    private void makeLegacy(DataSource db, String script, String platform) {
        ResourceDatabasePopulator populator = new ResourceDatabasePopulator();
        if (script != null) {
            populator.addScript(new ClassPathResource("db/legacy/" + script));
        }
        populator.addScript(new ClassPathResource("org/springframework/batch/core/schema-" + platform + ".sql"));
        populator.setSqlScriptEncoding("UTF-8");
        populator.execute(db);
        if (script == null) {
            return;
        }
        Path output = dir.resolve("output").resolve(LEGACY_ID);
        String request = "{\"name\":\"counted before migrations\",\"operation\":\"wc\",\"params\":null,\"input\":{\"root\":\""
                + input + "\",\"include\":null,\"exclude\":null},\"output\":null,\"options\":null}";
        String definition = "{\"operation\":\"wc\",\"params\":{},\"inputRoot\":\"" + input
                + "\",\"include\":[],\"exclude\":[],\"outputPath\":\"" + output + "\",\"skipUnreadable\":false}";
        // the columns that release's JobStore.insert wrote (OWNER came with the first run)
        new JdbcTemplate(db).update("INSERT INTO RB_JOB (ID, NAME, OPERATION, STATUS, QUEUE_ORDER, SPEC, OUTPUT_PATH,"
                        + " IDEMPOTENCY_KEY, ERROR, CREATED_AT, UPDATED_AT) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                LEGACY_ID, "counted before migrations", "wc", "QUEUED", "01m8vrcrq78eq33d",
                "{\"request\":" + request + ",\"definition\":" + definition + "}", output.toString(), LEGACY_KEY, null,
                LEGACY_CREATED.atOffset(ZoneOffset.UTC), LEGACY_CREATED.atOffset(ZoneOffset.UTC));
    }

    /**
     * The legacy job after the upgrade: the API finds it by id and by its idempotency key (a replay of
     * its request answers 200 with it), and it runs to the end, owned by this instance (the OWNER column
     * that the first shape lacked).
     */
    private void assertLegacyJobSurvived(ConfigurableApplicationContext app, String instance) throws Exception {
        ApiHttp http = http(app);
        JsonNode job = http.job(LEGACY_ID);
        assertThat(job.path("name").asString()).isEqualTo("counted before migrations");
        assertThat(Instant.parse(job.path("createdAt").asString())).isEqualTo(LEGACY_CREATED);
        HttpResponse<String> replay = http.send(http.admin("/api/jobs").header("Content-Type", "application/json")
                .header("Idempotency-Key", LEGACY_KEY)
                .POST(HttpRequest.BodyPublishers.ofString(wc("counted before migrations"))));
        assertThat(replay.statusCode()).as(replay.body()).isEqualTo(200);
        assertThat(ApiHttp.json(replay).path("id").asString()).isEqualTo(LEGACY_ID);

        JsonNode done = http.awaitStatus(LEGACY_ID, "COMPLETED", 60);
        assertThat(done.path("instance").asString()).isEqualTo(instance);
        assertThat(Files.readString(dir.resolve("output").resolve(LEGACY_ID).resolve("counts.tsv"))).isNotBlank();
        assertThat(app.getBean(JobStore.class).find(LEGACY_ID).orElseThrow().owner()).isEqualTo(instance);
    }

    /** RB_JOB as V1 leaves it, whatever it was before: OWNER there, the queue-order index gone. */
    private static void assertCurrentShape(DataSource db) throws SQLException {
        try (Connection c = db.getConnection()) {
            DatabaseMetaData meta = c.getMetaData();
            // H2 keeps unquoted names in upper case, PostgreSQL in lower case
            String table = meta.storesLowerCaseIdentifiers() ? "rb_job" : "RB_JOB";
            List<String> columns = new ArrayList<>();
            try (ResultSet rs = meta.getColumns(null, null, table, null)) {
                while (rs.next()) {
                    columns.add(rs.getString("COLUMN_NAME").toUpperCase(Locale.ROOT));
                }
            }
            assertThat(columns).containsExactly("ID", "NAME", "OPERATION", "STATUS", "QUEUE_ORDER", "SPEC",
                    "OUTPUT_PATH", "IDEMPOTENCY_KEY", "ERROR", "CREATED_AT", "UPDATED_AT", "OWNER");
            List<String> indexes = new ArrayList<>();
            try (ResultSet rs = meta.getIndexInfo(null, null, table, false, false)) {
                while (rs.next()) {
                    indexes.add(String.valueOf(rs.getString("INDEX_NAME")).toUpperCase(Locale.ROOT));
                }
            }
            assertThat(indexes).contains("RB_JOB_STATUS_ID").doesNotContain("RB_JOB_STATUS_QUEUE");
        }
    }

    private static DataSource h2(Path dataDir) {
        // the service's own URL (application.yml), so that this is the file it opens
        return new DriverManagerDataSource("jdbc:h2:file:" + dataDir.resolve("ringbatch")
                + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0", "sa", "");
    }

    @Test
    void aNewH2DatabaseGetsTheMigrationsAndRunsJobs() throws Exception {
        try (ConfigurableApplicationContext app = start("a")) {
            // no baseline: Flyway ran on the empty database, before Spring Batch's script filled it
            assertThat(history(app)).containsExactly("1 SQL", "2 SQL", "3 SQL", "5 SQL");
            assertCurrentShape(app.getBean(DataSource.class));
            // the job store (and so the job service) waits for Flyway and Spring Batch's script; Boot would
            // not see to it by itself, as the store makes its own JdbcTemplate
            String[] dependsOn = app.getBeanFactory().getBeanDefinition(app.getBeanNamesForType(JobStore.class)[0])
                    .getDependsOn();
            assertThat(dependsOn).contains(app.getBeanNamesForType(FlywayMigrationInitializer.class))
                    .contains(app.getBeanNamesForType(BatchDataSourceScriptDatabaseInitializer.class));
            ApiHttp http = http(app);
            http.awaitStatus(submitWc(http, "first"), "COMPLETED", 60);
        }
        // the next start finds the history and changes nothing
        try (ConfigurableApplicationContext app = start("a")) {
            assertThat(history(app)).containsExactly("1 SQL", "2 SQL", "3 SQL", "5 SQL");
            ApiHttp http = http(app);
            assertThat(http.get("/api/jobs").body()).contains("\"first\"");
            http.awaitStatus(submitWc(http, "second"), "COMPLETED", 60);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {TODAY, FIRST})
    void anH2DatabaseMadeBeforeMigrationsUpgradesInPlace(String script) throws Exception {
        Files.createDirectories(dataDir("a"));
        makeLegacy(h2(dataDir("a")), script, "h2");
        try (ConfigurableApplicationContext app = start("a")) {
            assertThat(history(app)).containsExactly("0 BASELINE", "1 SQL", "2 SQL", "3 SQL", "5 SQL");
            assertCurrentShape(app.getBean(DataSource.class));
            assertLegacyJobSurvived(app, "a");
        }
    }

    /** Spring Batch's tables alone (made by hand, or a start-up that stopped half-way) are no reason to skip V1. */
    @Test
    void anH2DatabaseWithOnlySpringBatchsTablesGetsRingbatchs() throws Exception {
        Files.createDirectories(dataDir("a"));
        makeLegacy(h2(dataDir("a")), null, "h2");
        try (ConfigurableApplicationContext app = start("a")) {
            assertThat(history(app)).containsExactly("0 BASELINE", "1 SQL", "2 SQL", "3 SQL", "5 SQL");
            assertCurrentShape(app.getBean(DataSource.class));
            ApiHttp http = http(app);
            http.awaitStatus(submitWc(http, "after"), "COMPLETED", 60);
        }
    }

    /**
     * The same on one real PostgreSQL server for the class; each case starts from an empty database (its
     * public schema dropped and made again).
     */
    @Nested
    class OnPostgresql {
        @TempDir
        static Path serverDir;

        static LocalPostgres postgres;

        @BeforeAll
        static void server() throws Exception {
            postgres = LocalPostgres.startOrSkip(serverDir);
        }

        @AfterAll
        static void stopServer() throws InterruptedException {
            if (postgres != null) {
                postgres.close();
            }
        }

        private DataSource db() {
            return new DriverManagerDataSource(postgres.url(), LocalPostgres.USER, "");
        }

        @BeforeEach
        void empty() {
            new JdbcTemplate(db()).execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        }

        private ConfigurableApplicationContext startOnPostgres(String instance) {
            return startOnPostgres(null, instance);
        }

        private ConfigurableApplicationContext startOnPostgres(Runnable beforeRefresh, String instance) {
            // cluster mode (on with PostgreSQL) sends partitions to every instance: one work dir for all
            return start(beforeRefresh, instance, "--spring.datasource.url=" + postgres.url(),
                    "--spring.datasource.username=" + LocalPostgres.USER, "--spring.datasource.password=",
                    "--ringbatch.work-dir=" + dir.resolve("work"));
        }

        @ParameterizedTest
        @ValueSource(strings = {TODAY, FIRST})
        void aDatabaseMadeBeforeMigrationsUpgradesInPlace(String script) throws Exception {
            makeLegacy(db(), script, "postgresql");
            try (ConfigurableApplicationContext app = startOnPostgres("a")) {
                // V4 is PostgreSQL's alone (db/vendor/postgresql: Spring Integration's queue tables)
                assertThat(history(app)).containsExactly("0 BASELINE", "1 SQL", "2 SQL", "3 SQL", "4 SQL", "5 SQL");
                assertCurrentShape(db());
                assertLegacyJobSurvived(app, "a");
            }
        }

        /** As the chart's StatefulSet starts its replicas: in parallel, on a new database. */
        @Test
        void instancesStartingTogetherOnAnEmptyDatabaseAllComeUp() throws Exception {
            List<String> names = List.of("a", "b", "c");
            ExecutorService pool = Executors.newFixedThreadPool(names.size());
            CyclicBarrier together = new CyclicBarrier(names.size());
            List<Future<ConfigurableApplicationContext>> starts = new ArrayList<>();
            // Spring Boot's logging set-up writes system properties, which races between contexts starting
            // in one JVM (ConcurrentModificationException): that part goes one at a time, and the contexts
            // refresh (Flyway migrates) together
            ReentrantLock setUp = new ReentrantLock();
            for (String name : names) {
                starts.add(pool.submit(() -> {
                    setUp.lock();
                    try {
                        return startOnPostgres(() -> {
                            setUp.unlock();
                            try {
                                together.await(60, TimeUnit.SECONDS);
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        }, name);
                    } finally {
                        if (setUp.isHeldByCurrentThread()) {
                            setUp.unlock();
                        }
                    }
                }));
            }
            List<ConfigurableApplicationContext> apps = new ArrayList<>();
            try {
                for (Future<ConfigurableApplicationContext> start : starts) {
                    apps.add(start.get(120, TimeUnit.SECONDS));
                }
                for (ConfigurableApplicationContext app : apps) {
                    assertThat(history(app)).containsExactly("1 SQL", "2 SQL", "3 SQL", "4 SQL", "5 SQL");
                    ApiHttp http = http(app);
                    String id = submitWc(http, "on " + app.getEnvironment().getProperty("ringbatch.instance-id"));
                    http.awaitStatus(id, "COMPLETED", 60);
                }
            } finally {
                apps.forEach(ConfigurableApplicationContext::close);
                pool.shutdownNow();
            }
        }

        /**
         * Flyway alone, as application.yml configures it, from eight threads at once on an empty database,
         * ten times: Flyway's own lock lets some of them take the database for one made before migrations
         * (3 rounds in 10 failed so), {@link SchemaMigrationStrategy}'s lock none.
         */
        @Test
        void migrationsRunOneInstanceAtATime() throws Exception {
            YamlPropertiesFactoryBean yaml = new YamlPropertiesFactoryBean();
            yaml.setResources(new ClassPathResource("application.yml"));
            Properties settings = yaml.getObject();
            int instances = 8;
            ExecutorService pool = Executors.newFixedThreadPool(instances);
            try {
                for (int round = 0; round < 10; round++) {
                    empty();
                    CyclicBarrier together = new CyclicBarrier(instances);
                    List<Future<?>> runs = new ArrayList<>();
                    for (int i = 0; i < instances; i++) {
                        runs.add(pool.submit(() -> {
                            Flyway flyway = Flyway.configure()
                                    .dataSource(postgres.url(), LocalPostgres.USER, "")
                                    .baselineOnMigrate(Boolean.parseBoolean(
                                            settings.getProperty("spring.flyway.baseline-on-migrate")))
                                    .baselineVersion(settings.getProperty("spring.flyway.baseline-version"))
                                    .locations(settings.getProperty("spring.flyway.locations")
                                            .replace("{vendor}", "postgresql").split(","))
                                    .load();
                            together.await();
                            new SchemaMigrationStrategy().migrate(flyway);
                            return null;
                        }));
                    }
                    for (Future<?> run : runs) {
                        run.get(60, TimeUnit.SECONDS);
                    }
                    MigrationInfo[] applied = Flyway.configure().dataSource(db()).load().info().applied();
                    assertThat(applied).extracting(m -> m.getVersion() + " " + m.getType()).as("round " + round)
                            .containsExactly("1 SQL", "2 SQL", "3 SQL", "4 SQL", "5 SQL");
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
