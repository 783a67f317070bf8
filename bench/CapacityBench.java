import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the cluster mode asks of PostgreSQL, measured (bench/run-capacity.sh; bench/README.md, "The capacity
 * benchmark"; docs/scale-out.md, "Capacity: the method"). JDK only: it reuses ClusterBench's instance and
 * data set, and talks to PostgreSQL through {@code psql} and {@code pgbench} as a role of its own
 * ({@code capmon}), so that none of its own statements is counted as the service's.
 * <ol>
 *   <li>Three checksum (sha256) jobs on one combined instance in cluster mode, each on a fresh instance:
 *       A with the default commit cadence, B with a commit per block ({@code commit-interval=1}), C with
 *       one partition ({@code split-size} above the data set). Around each job: {@code pg_stat_statements}
 *       of the service's role, {@code pg_stat_database} (xact_commit, tup_*) and {@code pg_current_wal_lsn()};
 *       during it, {@code pg_stat_activity} every half second.</li>
 *   <li>An idle window on the first instance: what an instance costs per second with no job (heartbeat,
 *       lease renewal, the channel's periodic poll). Each job window is corrected by it.</li>
 *   <li>The manager's poll (per running job and heartbeat) is told by its statements' text.</li>
 *   <li>The rest of each window is fitted exactly to {@code k + a * partitions + b * commits}: a per
 *       partition, b per commit, k per job (plan, launch, finish). Per statement too.</li>
 *   <li>{@code pgbench} with the chunk commit's transaction and with the message insert + take, at the
 *       given client counts, fsync and synchronous_commit on.</li>
 * </ol>
 */
public class CapacityBench {
    static String pgbin;
    static String host = "127.0.0.1";
    static int port;

    /** psql as capmon; rows of fields split on \u001f. */
    static List<String[]> psql(String db, String sql) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(pgbin + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-F", "\u001f", "-h", host, "-p", String.valueOf(port), "-U", "capmon", "-d", db, "-c", sql)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("psql failed: " + sql + "\n" + out);
        }
        List<String[]> rows = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isEmpty()) {
                rows.add(line.split("\u001f", -1));
            }
        }
        return rows;
    }

    static String one(String db, String sql) throws IOException, InterruptedException {
        List<String[]> r = psql(db, sql);
        return r.isEmpty() ? "" : r.get(0)[0];
    }

    /** One statement's counters. */
    record Stmt(String query, long calls, long rows) {
    }

    /** The counters of database ringbatch, the WAL position and the service's statements at one moment. */
    record Snap(long nanos, long xacts, long ins, long upd, long del, long wal, Map<String, Stmt> stmts) {
    }

    static Snap snap() throws IOException, InterruptedException {
        String[] d = psql("postgres", "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted,"
                + " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint FROM pg_stat_database WHERE datname = 'ringbatch'").get(0);
        Map<String, Stmt> stmts = new HashMap<>();
        for (String[] r : psql("postgres", "SELECT s.queryid, s.calls, s.rows, regexp_replace(s.query, '\\s+', ' ', 'g')"
                + " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles u ON u.oid = s.userid"
                + " WHERE d.datname = 'ringbatch' AND u.rolname = 'ringbatch'")) {
            stmts.put(r[0], new Stmt(r[3], Long.parseLong(r[1]), Long.parseLong(r[2])));
        }
        return new Snap(System.nanoTime(), Long.parseLong(d[0]), Long.parseLong(d[1]), Long.parseLong(d[2]),
                Long.parseLong(d[3]), Long.parseLong(d[4]), stmts);
    }

    /** Differences between two snapshots; {@code own}: transactions of this benchmark's polls in the window. */
    record Window(double seconds, long xacts, long ins, long upd, long del, long wal, Map<String, Stmt> stmts) {
        static Window of(Snap a, Snap b, long own) {
            Map<String, Stmt> d = new HashMap<>();
            for (Map.Entry<String, Stmt> e : b.stmts().entrySet()) {
                Stmt before = a.stmts().get(e.getKey());
                long calls = e.getValue().calls() - (before == null ? 0 : before.calls());
                long rows = e.getValue().rows() - (before == null ? 0 : before.rows());
                if (calls > 0) {
                    d.put(e.getKey(), new Stmt(e.getValue().query(), calls, rows));
                }
            }
            return new Window((b.nanos() - a.nanos()) / 1e9, b.xacts() - a.xacts() - own, b.ins() - a.ins(),
                    b.upd() - a.upd(), b.del() - a.del(), b.wal() - a.wal(), d);
        }
    }

    /** The manager's poll of a running job (DistributedPartitionHandler.follow, every heartbeat). */
    static final List<String> MANAGER_POLL = List.of(
            "SELECT STEP_EXECUTION_ID, STATUS FROM BATCH_STEP_EXECUTION WHERE JOB_EXECUTION_ID",
            "SELECT STATUS FROM BATCH_JOB_EXECUTION WHERE JOB_EXECUTION_ID",
            "FROM pg_locks WHERE locktype = 'advisory'",
            "FROM RB_LEASE WHERE JOB_EXECUTION_ID",
            "SELECT MESSAGE_ID FROM INT_CHANNEL_MESSAGE WHERE REGION");

    static boolean managerPoll(String query) {
        return MANAGER_POLL.stream().anyMatch(query::contains);
    }

    /** Peak connections of the instance during a window, from pg_stat_activity. */
    static final class Sampler extends Thread {
        final AtomicBoolean done = new AtomicBoolean();
        /** The window's start by the database's clock: the pool's connections are older (Hikari opens them at start-up). */
        final String since;

        Sampler(String since) {
            this.since = since;
        }

        int total, leases, listeners, pool, samples;

        @Override
        public void run() {
            while (!done.get()) {
                try {
                    String[] r = psql("postgres", "SELECT count(*), count(*) FILTER (WHERE backend_start >= '" + since + "' AND query NOT LIKE 'LISTEN%'),"
                            + " count(*) FILTER (WHERE query LIKE 'LISTEN%')"
                            + " FROM pg_stat_activity WHERE datname = 'ringbatch' AND usename = 'ringbatch'"
                            + " AND backend_type = 'client backend'").get(0);
                    int t = Integer.parseInt(r[0]), l = Integer.parseInt(r[1]), n = Integer.parseInt(r[2]);
                    synchronized (this) {
                        total = Math.max(total, t);
                        leases = Math.max(leases, l);
                        listeners = Math.max(listeners, n);
                        pool = Math.max(pool, t - l - n);
                        samples++;
                    }
                    Thread.sleep(200);
                } catch (Exception e) {
                    if (!done.get()) {
                        System.err.println("sampler: " + e);
                    }
                    return;
                }
            }
        }
    }

    /** A measured job: what it was, its window, and facts from the repository. */
    record Job(String name, String label, List<String> extra, Window w, int partitions, long commits, long bytes,
               double partitionSeconds, double jobSeconds, double contextBytes, String context, Sampler conns) {
    }

    static final String SETTLE_NOTE = "stats settle";

    static void settle(double seconds) throws InterruptedException {
        Thread.sleep((long) (seconds * 1000)); // idle backends flush their counters to pg_stat_database within ~1 s
    }

    static Job measure(ClusterBench.Instance api, String name, String label, List<String> extra, Path root,
                       Path work, double settleSeconds) throws Exception {
        settle(settleSeconds);
        Sampler sampler = new Sampler(one("postgres", "SELECT now()"));
        Snap a = snap();
        sampler.start();
        Path out = work.resolve("out").resolve("capacity-" + name + "-" + System.nanoTime());
        String body = "{\"operation\":\"checksum\",\"params\":{\"algorithm\":\"sha256\"},\"input\":{\"root\":\"" + root
                + "\"},\"output\":{\"path\":\"" + out.getFileName() + "\"}}";
        HttpResponse<String> r = api.http.send(api.req("/api/jobs").POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 202) {
            throw new IllegalStateException("submit: " + r.statusCode() + " " + r.body());
        }
        String id = ClusterBench.field(r.body(), "id");
        long own = 0;
        String status;
        while (true) {
            Thread.sleep(250);
            status = one("ringbatch", "SELECT STATUS FROM RB_JOB WHERE ID = '" + id + "'");
            own++;
            if (List.of("COMPLETED", "FAILED", "STOPPED", "ABANDONED").contains(status)) {
                break;
            }
        }
        settle(settleSeconds);
        Snap b = snap();
        sampler.done.set(true);
        sampler.join();
        String job = api.http.send(api.req("/api/jobs/" + id).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
        if (!status.equals("COMPLETED")) {
            throw new IllegalStateException("job " + id + " ended " + status + ": " + job);
        }
        ClusterBench.deleteTree(out);
        String je = one("ringbatch", "SELECT max(JOB_EXECUTION_ID) FROM BATCH_JOB_EXECUTION");
        String[] f = psql("ringbatch", "SELECT count(*), sum(COMMIT_COUNT), sum(EXTRACT(EPOCH FROM (END_TIME - START_TIME))),"
                + " avg(octet_length(c.SHORT_CONTEXT)) FROM BATCH_STEP_EXECUTION s JOIN BATCH_STEP_EXECUTION_CONTEXT c"
                + " USING (STEP_EXECUTION_ID) WHERE s.JOB_EXECUTION_ID = " + je + " AND s.STEP_NAME LIKE 'work:%'").get(0);
        String ctx = one("ringbatch", "SELECT c.SHORT_CONTEXT FROM BATCH_STEP_EXECUTION s JOIN BATCH_STEP_EXECUTION_CONTEXT c"
                + " USING (STEP_EXECUTION_ID) WHERE s.JOB_EXECUTION_ID = " + je + " AND s.STEP_NAME LIKE 'work:%'"
                + " ORDER BY octet_length(c.SHORT_CONTEXT) DESC LIMIT 1");
        String[] t = psql("ringbatch", "SELECT EXTRACT(EPOCH FROM (END_TIME - START_TIME)) FROM BATCH_JOB_EXECUTION"
                + " WHERE JOB_EXECUTION_ID = " + je).get(0);
        Window w = Window.of(a, b, own);
        Job j = new Job(name, label, extra, w, Integer.parseInt(f[0]), Long.parseLong(f[1]),
                ClusterBench.number(job, "bytesTotal"), Double.parseDouble(f[2]), Double.parseDouble(t[0]),
                Double.parseDouble(f[3]), ctx, sampler);
        System.out.printf(Locale.ROOT, "job %s: %d partitions, %d commits, %.2f s, window %.1f s, %d statements,"
                        + " %d transactions, %d WAL bytes; connections peak %d (pool %d, leases %d, listener %d)%n",
                name, j.partitions(), j.commits(), j.jobSeconds(), w.seconds(),
                w.stmts().values().stream().mapToLong(Stmt::calls).sum(), w.xacts(), w.wal(),
                sampler.total, sampler.pool, sampler.leases, sampler.listeners);
        return j;
    }

    /** Solves the 3x3 system m x = v (Cramer). */
    static double[] solve(double[][] m, double[] v) {
        double det = det(m);
        if (Math.abs(det) < 1e-9) {
            throw new IllegalStateException("the three jobs do not separate partitions from commits");
        }
        double[] x = new double[3];
        for (int c = 0; c < 3; c++) {
            double[][] k = new double[3][];
            for (int r = 0; r < 3; r++) {
                k[r] = m[r].clone();
                k[r][c] = v[r];
            }
            x[c] = det(k) / det;
        }
        return x;
    }

    static double det(double[][] m) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    }

    /** Runs pgbench; returns {tps, transactions, failed}. */
    static double[] pgbench(Path script, int clients, int seconds, List<String> defines) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(pgbin + "/pgbench", "-n", "-M", "prepared", "-c", String.valueOf(clients),
                "-j", String.valueOf(Math.min(clients, Runtime.getRuntime().availableProcessors())), "-T",
                String.valueOf(seconds), "-h", host, "-p", String.valueOf(port), "-U", "ringbatch", "-f", script.toString()));
        for (String d : defines) {
            cmd.add("-D");
            cmd.add(d);
        }
        cmd.add("ringbatch");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("pgbench failed:\n" + out);
        }
        Matcher tps = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)").matcher(out);
        Matcher n = Pattern.compile("number of transactions actually processed: (\\d+)").matcher(out);
        Matcher failed = Pattern.compile("number of failed transactions: (\\d+)").matcher(out);
        if (!tps.find() || !n.find()) {
            throw new IllegalStateException("no tps in pgbench's output:\n" + out);
        }
        return new double[]{Double.parseDouble(tps.group(1)), Long.parseLong(n.group(1)),
                failed.find() ? Long.parseLong(failed.group(1)) : 0};
    }

    static String fmt(double v) {
        if (Math.abs(v) >= 100) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        if (Math.abs(v) >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static String sql(String s) {
        return s.replace("|", "\\|");
    }

    public static void main(String[] args) throws Exception {
        String pgUrl = null;
        String jar = null;
        String heap = "512m";
        long size = 512L << 20;
        long seed = 42;
        int workers = 2;
        int idleSeconds = 20;
        double settleSeconds = 3;
        int benchSeconds = 15;
        List<Integer> clients = List.of(1, 4, 16, 64);
        Path table = Path.of("bench/work/capacity/table.md");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pg-url" -> pgUrl = args[++i];
                case "--pgbin" -> pgbin = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--jar" -> jar = args[++i];
                case "--heap" -> heap = args[++i];
                case "--size" -> size = ClusterBench.parseSize(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--workers" -> workers = Integer.parseInt(args[++i]);
                case "--idle" -> idleSeconds = Integer.parseInt(args[++i]);
                case "--seconds" -> benchSeconds = Integer.parseInt(args[++i]);
                case "--clients" -> clients = java.util.Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--table" -> table = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (see bench/README.md)");
            }
        }
        if (pgUrl == null || jar == null || pgbin == null || port == 0) {
            throw new IllegalArgumentException("--pg-url, --pgbin, --port and --jar are required (bench/run-capacity.sh passes them)");
        }
        Path root = ClusterBench.dataSet(size, seed);
        Path work = table.getParent().toAbsolutePath();
        Files.createDirectories(work.resolve("out"));
        ClusterBench.Member member = new ClusterBench.Member("capacity", "combined", workers, true);

        // the jobs: the default cadence; a commit per block; one partition
        Map<String, List<String>> jobs = new LinkedHashMap<>();
        jobs.put("A", List.of());
        jobs.put("B", List.of("--ringbatch.pipeline.commit-interval=1"));
        jobs.put("C", List.of("--ringbatch.pipeline.split-size=" + (Math.max(64, 8 * (size >> 20))) + "MB"));
        Map<String, String> labels = Map.of("A", "default cadence (commit-interval 1048576, commit-bytes 64MB, commit-time 1s)",
                "B", "commit-interval=1: a commit per 1 MiB block", "C", "split-size above the data set: one partition");
        Window idle = null;
        List<Job> measured = new ArrayList<>();
        String msgHex = null;
        for (Map.Entry<String, List<String>> e : jobs.entrySet()) {
            List<String> extra = new ArrayList<>(e.getValue());
            try (ClusterBench.Instance inst = new ClusterBench.Instance(member, jar, heap, root, work, pgUrl, extra)) {
                if (idle == null) {
                    settle(settleSeconds);
                    Snap a = snap();
                    Thread.sleep(idleSeconds * 1000L);
                    idle = Window.of(a, snap(), 0);
                    System.out.printf(Locale.ROOT, "idle: %.1f s, %d statements, %d transactions, %d WAL bytes%n",
                            idle.seconds(), idle.stmts().values().stream().mapToLong(Stmt::calls).sum(), idle.xacts(), idle.wal());
                }
                measured.add(measure(inst, e.getKey(), labels.get(e.getKey()), e.getValue(), root, work, settleSeconds));
                if (msgHex == null) {
                    // after the window (not counted): one more job with a trigger that keeps a copy of each
                    // request message, for pgbench's message payload
                    psql("ringbatch", "CREATE TABLE IF NOT EXISTS capacity_msg (content bytea);"
                            + " CREATE OR REPLACE FUNCTION capacity_msg_fct() RETURNS trigger AS $$ BEGIN"
                            + " INSERT INTO capacity_msg VALUES (NEW.MESSAGE_CONTENT); RETURN NEW; END; $$ LANGUAGE plpgsql;"
                            + " CREATE TRIGGER capacity_msg_trg AFTER INSERT ON INT_CHANNEL_MESSAGE FOR EACH ROW"
                            + " EXECUTE PROCEDURE capacity_msg_fct()");
                    measure(inst, e.getKey() + "-probe", "", List.of(), root, work, 0.5);
                    msgHex = one("ringbatch", "SELECT encode(content, 'hex') FROM capacity_msg"
                            + " ORDER BY octet_length(content) DESC LIMIT 1");
                    psql("ringbatch", "DROP TRIGGER capacity_msg_trg ON INT_CHANNEL_MESSAGE; DROP TABLE capacity_msg");
                }
            }
        }

        // --- the fit: k + a * partitions + b * commits, after the idle rate and the manager's poll ---
        double[][] m = new double[3][];
        for (int i = 0; i < 3; i++) {
            m[i] = new double[]{1, measured.get(i).partitions(), measured.get(i).commits()};
        }
        final Window idleW = idle;
        Map<String, Double> idleRate = new HashMap<>();
        idle.stmts().forEach((q, s) -> idleRate.put(q, s.calls() / idleW.seconds()));
        Map<String, String> texts = new HashMap<>();
        Map<String, double[]> perQuery = new HashMap<>(); // corrected calls per job
        double[] stmts = new double[3], xacts = new double[3], wal = new double[3], tups = new double[3];
        double[] pollCalls = new double[3];
        for (int i = 0; i < 3; i++) {
            Window w = measured.get(i).w();
            double polls = 0;
            for (Map.Entry<String, Stmt> e : w.stmts().entrySet()) {
                texts.put(e.getKey(), e.getValue().query());
                if (managerPoll(e.getValue().query())) {
                    polls += e.getValue().calls();
                    continue;
                }
                double c = e.getValue().calls() - idleRate.getOrDefault(e.getKey(), 0.0) * w.seconds();
                perQuery.computeIfAbsent(e.getKey(), k -> new double[3])[i] = c;
                stmts[i] += c;
            }
            pollCalls[i] = polls;
            xacts[i] = w.xacts() - idle.xacts() / idle.seconds() * w.seconds() - polls;
            wal[i] = w.wal() - (double) idle.wal() / idle.seconds() * w.seconds();
            tups[i] = (w.ins() + w.upd() + w.del()) - (double) (idle.ins() + idle.upd() + idle.del()) / idle.seconds() * w.seconds();
        }
        double[] fs = solve(m, stmts), fx = solve(m, xacts), fw = solve(m, wal), ft = solve(m, tups);
        double pollPerJobSecond = 0;
        for (int i = 0; i < 3; i++) {
            pollPerJobSecond += pollCalls[i] / measured.get(i).jobSeconds() / 3;
        }
        Map<String, double[]> fitQ = new HashMap<>();
        perQuery.forEach((q, v) -> fitQ.put(q, solve(m, v)));
        double idleStmtsPerS = idle.stmts().values().stream().mapToLong(Stmt::calls).sum() / idle.seconds();
        double idleXactsPerS = idle.xacts() / idle.seconds();
        double idleWalPerS = idle.wal() / idle.seconds();

        // --- pgbench: the chunk commit, and the message insert + take ---
        String ctx = measured.get(1).context();
        int maxClients = clients.stream().mapToInt(Integer::intValue).max().orElse(1);
        String je = one("ringbatch", "SELECT max(JOB_EXECUTION_ID) FROM BATCH_JOB_EXECUTION");
        psql("ringbatch", "INSERT INTO BATCH_STEP_EXECUTION (STEP_EXECUTION_ID, VERSION, STEP_NAME, JOB_EXECUTION_ID,"
                + " START_TIME, STATUS, COMMIT_COUNT, READ_COUNT, FILTER_COUNT, WRITE_COUNT, READ_SKIP_COUNT, WRITE_SKIP_COUNT,"
                + " PROCESS_SKIP_COUNT, ROLLBACK_COUNT, EXIT_CODE, LAST_UPDATED, CREATE_TIME)"
                + " SELECT 1000000 + g, 0, 'work:bench' || g, " + je + ","
                + " now(), 'STARTED', 0, 0, 0, 0, 0, 0, 0, 0, 'EXECUTING', now(), now() FROM generate_series(0, " + (maxClients - 1) + ") g;"
                + " INSERT INTO BATCH_STEP_EXECUTION_CONTEXT (STEP_EXECUTION_ID, SHORT_CONTEXT)"
                + " SELECT 1000000 + g, '{}' FROM generate_series(0, " + (maxClients - 1) + ") g");
        Path commitScript = work.resolve("commit.sql");
        Files.writeString(commitScript, String.join("\n",
                "-- one chunk commit of a partition, as pg_stat_statements shows it (Spring Batch 6's",
                "-- JdbcStepExecutionDao.updateStepExecution with its version check, the job execution's status read",
                "-- back for a stop, JdbcExecutionContextDao's update of the step's context), a row per client",
                "\\set id 1000000 + :client_id",
                "BEGIN;",
                "UPDATE BATCH_STEP_EXECUTION SET START_TIME = now(), END_TIME = NULL, STATUS = 'STARTED', COMMIT_COUNT = :ver,"
                        + " READ_COUNT = :ver, FILTER_COUNT = 0, WRITE_COUNT = :ver, EXIT_CODE = 'EXECUTING', EXIT_MESSAGE = '',"
                        + " VERSION = VERSION + 1, READ_SKIP_COUNT = 0, PROCESS_SKIP_COUNT = 0, WRITE_SKIP_COUNT = 0,"
                        + " ROLLBACK_COUNT = 0, LAST_UPDATED = now() WHERE STEP_EXECUTION_ID = :id AND VERSION = :ver"
                        + " RETURNING VERSION AS ver \\gset",
                "SELECT VERSION, STATUS FROM BATCH_JOB_EXECUTION WHERE JOB_EXECUTION_ID = :je;",
                "UPDATE BATCH_STEP_EXECUTION_CONTEXT SET SHORT_CONTEXT = :ctx, SERIALIZED_CONTEXT = NULL WHERE STEP_EXECUTION_ID = :id;",
                "COMMIT;", ""));
        Path msgScript = work.resolve("message.sql");
        Files.writeString(msgScript, String.join("\n",
                "-- a partition request: the manager's insert (its trigger NOTIFYs int_channel_message_notify), then a",
                "-- worker's take (PostgresChannelMessageStoreQueryProvider's priority poll: DELETE ... SKIP LOCKED RETURNING)",
                "\\set prio random(1, 1000)",
                "INSERT into INT_CHANNEL_MESSAGE( MESSAGE_ID, GROUP_KEY, REGION, CREATED_DATE, MESSAGE_PRIORITY, MESSAGE_CONTENT)"
                        + " values (gen_random_uuid()::text, 'bench000-0000-0000-0000-000000000000', 'ringbatch',"
                        + " (extract(epoch from clock_timestamp()) * 1000)::bigint, :prio, decode(:msg, 'hex'));",
                "delete from INT_CHANNEL_MESSAGE where CTID = (select CTID from INT_CHANNEL_MESSAGE where"
                        + " INT_CHANNEL_MESSAGE.GROUP_KEY = 'bench000-0000-0000-0000-000000000000' and INT_CHANNEL_MESSAGE.REGION"
                        + " = 'ringbatch' order by MESSAGE_PRIORITY DESC NULLS LAST, CREATED_DATE, MESSAGE_SEQUENCE limit 1"
                        + " for update skip locked) returning MESSAGE_ID, MESSAGE_CONTENT;",
                ""));
        Path readScript = work.resolve("read.sql");
        Files.writeString(readScript, String.join("\n",
                "-- a repository read of one step execution as the partition's life repeats it (JobRepository.getStepExecution",
                "-- in Spring Batch 6: 8 SELECTs in one transaction, the texts as pg_stat_statements shows them)",
                "\\set id 1000000 + :client_id",
                "BEGIN;",
                "SELECT STEP_EXECUTION_ID, STEP_NAME, START_TIME, END_TIME, STATUS, COMMIT_COUNT, READ_COUNT, FILTER_COUNT,"
                        + " WRITE_COUNT, EXIT_CODE, EXIT_MESSAGE, READ_SKIP_COUNT, WRITE_SKIP_COUNT, PROCESS_SKIP_COUNT,"
                        + " ROLLBACK_COUNT, LAST_UPDATED, VERSION, CREATE_TIME FROM BATCH_STEP_EXECUTION WHERE STEP_EXECUTION_ID = :id;",
                "SELECT JE.JOB_EXECUTION_ID FROM BATCH_JOB_EXECUTION JE, BATCH_STEP_EXECUTION SE WHERE SE.STEP_EXECUTION_ID = :id"
                        + " AND JE.JOB_EXECUTION_ID = SE.JOB_EXECUTION_ID;",
                "SELECT JOB_EXECUTION_ID, START_TIME, END_TIME, STATUS, EXIT_CODE, EXIT_MESSAGE, CREATE_TIME, LAST_UPDATED, VERSION"
                        + " FROM BATCH_JOB_EXECUTION WHERE JOB_EXECUTION_ID = :je;",
                "SELECT JI.JOB_INSTANCE_ID AS ji FROM BATCH_JOB_INSTANCE JI, BATCH_JOB_EXECUTION JE WHERE JOB_EXECUTION_ID = :je"
                        + " AND JI.JOB_INSTANCE_ID = JE.JOB_INSTANCE_ID \\gset",
                "SELECT JOB_INSTANCE_ID, JOB_NAME, JOB_KEY, VERSION FROM BATCH_JOB_INSTANCE WHERE JOB_INSTANCE_ID = :ji;",
                "SELECT JOB_EXECUTION_ID, PARAMETER_NAME, PARAMETER_TYPE, PARAMETER_VALUE, IDENTIFYING FROM"
                        + " BATCH_JOB_EXECUTION_PARAMS WHERE JOB_EXECUTION_ID = :je;",
                "SELECT SHORT_CONTEXT, SERIALIZED_CONTEXT FROM BATCH_JOB_EXECUTION_CONTEXT WHERE JOB_EXECUTION_ID = :je;",
                "SELECT SHORT_CONTEXT, SERIALIZED_CONTEXT FROM BATCH_STEP_EXECUTION_CONTEXT WHERE STEP_EXECUTION_ID = :id;",
                "COMMIT;", ""));
        List<double[]> commitRuns = new ArrayList<>(), msgRuns = new ArrayList<>(), readRuns = new ArrayList<>();
        for (int c : clients) {
            double[] r = pgbench(readScript, c, benchSeconds, List.of("je=" + je));
            readRuns.add(new double[]{c, r[0], r[1], r[2]});
            System.out.printf(Locale.ROOT, "pgbench read, %d clients: %.0f tps (x 8 statements)%n", c, r[0]);
        }
        for (int c : clients) {
            long w0 = Long.parseLong(one("postgres", "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"));
            double[] r = pgbench(commitScript, c, benchSeconds, List.of("ver=0", "ctx=" + ctx, "je=" + je));
            long w1 = Long.parseLong(one("postgres", "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"));
            psql("ringbatch", "UPDATE BATCH_STEP_EXECUTION SET VERSION = 0 WHERE STEP_EXECUTION_ID >= 1000000");
            commitRuns.add(new double[]{c, r[0], r[1], r[2], (w1 - w0) / Math.max(1, r[1])});
            System.out.printf(Locale.ROOT, "pgbench commit, %d clients: %.0f tps, %.0f WAL bytes per transaction%n", c, r[0],
                    (w1 - w0) / Math.max(1, r[1]));
        }
        for (int c : clients) {
            long left0 = Long.parseLong(one("ringbatch", "SELECT count(*) FROM INT_CHANNEL_MESSAGE"));
            double[] r = pgbench(msgScript, c, benchSeconds, List.of("msg=" + msgHex));
            long left1 = Long.parseLong(one("ringbatch", "SELECT count(*) FROM INT_CHANNEL_MESSAGE"));
            psql("ringbatch", "DELETE FROM INT_CHANNEL_MESSAGE WHERE REGION = 'ringbatch' AND GROUP_KEY LIKE 'bench%'");
            double taken = (r[1] - (left1 - left0)) / benchSeconds;
            msgRuns.add(new double[]{c, r[0], r[1], r[2], taken});
            System.out.printf(Locale.ROOT, "pgbench message, %d clients: %.0f inserts+takes per s, %d left untaken%n", c, taken,
                    left1 - left0);
        }
        double bestCommit = commitRuns.stream().mapToDouble(x -> x[1]).max().orElse(0);
        double bestMsg = msgRuns.stream().mapToDouble(x -> x[4]).max().orElse(0);
        double bestRead = readRuns.stream().mapToDouble(x -> x[1]).max().orElse(0);

        // --- the numbers for 100 instances x 16 threads ---
        Job a = measured.get(0);
        // one thread's sha256 rate: job A's bytes over its partitions' summed run time (each thread had a core,
        // shared with PostgreSQL and the JVM's other threads)
        double mibPerThreadS = a.bytes() / 1048576.0 / a.partitionSeconds();
        // at the default cadence a thread commits after commit-bytes (64 MiB) or commit-time (1 s), the first;
        // commit-interval (1,048,576 blocks) never comes first
        double commitsPerThreadS = Math.max(mibPerThreadS / 64, 1.0);
        int threads = 1600;
        double commitsPerS = threads * commitsPerThreadS;
        // the most messages: partitions of split-size / 4 = 16 MiB, the smallest the planner cuts by default
        double partitionsPerS = threads * mibPerThreadS / 16;
        int jobs100 = 200; // 100 combined instances x ringbatch.max-concurrent-jobs (2), each polled every heartbeat
        double stmtsPerS = commitsPerS * fs[2] + partitionsPerS * fs[1] + 100 * idleStmtsPerS + jobs100 * pollPerJobSecond;
        double xactsPerS = commitsPerS * fx[2] + partitionsPerS * fx[1] + 100 * idleXactsPerS + jobs100 * pollPerJobSecond;
        double walPerS = commitsPerS * fw[2] + partitionsPerS * fw[1] + 100 * idleWalPerS;
        int poolPeak = measured.stream().mapToInt(j -> j.conns().pool).max().orElse(0);
        int leasePeak = measured.stream().mapToInt(j -> j.conns().leases).max().orElse(0);
        int listenerPeak = measured.stream().mapToInt(j -> j.conns().listeners).max().orElse(0);
        int connsInstance = measured.stream().mapToInt(j -> j.conns().total).max().orElse(0);
        int conns100 = 100 * (poolPeak + 16 + listenerPeak);
        String maxConn = one("postgres", "SHOW max_connections");
        // statements PostgreSQL runs here at most, estimated from the read benchmark (most of a partition's
        // statements are such reads): its best rate times its 8 SELECTs
        double stmtCapacity = bestRead * 8;

        StringBuilder t = new StringBuilder();
        t.append(String.format(Locale.ROOT, "- instance: one combined instance, cluster mode on, `ringbatch.workers=%d`, heap %s; data set:"
                + " 32 text files, %d MiB, seed %d; operation checksum sha256 (whole files)%n", workers, heap, size >> 20, seed));
        t.append(String.format(Locale.ROOT, "- PostgreSQL: fsync on, synchronous_commit on, `max_connections` %s,"
                + " `pg_stat_statements.track=top`; the benchmark's own queries run as role `capmon` and are not counted%n%n", maxConn));
        t.append("### The jobs\n\n| job | configuration | partitions | commits | job s | window s | statements | transactions | WAL bytes | tuples ins+upd+del | manager poll statements | peak connections: all (pool, leases, listener, each its own peak) |\n");
        t.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Job j : measured) {
            Window w = j.w();
            t.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %.2f | %.1f | %d | %d | %,d | %d | %.0f | %d (%d, %d, %d) |%n",
                    j.name(), j.label(), j.partitions(), j.commits(), j.jobSeconds(), w.seconds(),
                    w.stmts().values().stream().mapToLong(Stmt::calls).sum(), w.xacts(), w.wal(), w.ins() + w.upd() + w.del(),
                    pollCalls[measured.indexOf(j)], j.conns().total, j.conns().pool, j.conns().leases, j.conns().listeners));
        }
        t.append(String.format(Locale.ROOT, "| idle | the first instance, no job | | | | %.1f | %d | %d | %,d | %d | | |%n%n",
                idle.seconds(), idle.stmts().values().stream().mapToLong(Stmt::calls).sum(), idle.xacts(), idle.wal(),
                idle.ins() + idle.upd() + idle.del()));
        t.append("Raw counts are whole windows (from just before the submission to 3 s after the end), as PostgreSQL counted"
                + " them: `pg_stat_statements` calls of the service's role, `pg_stat_database.xact_commit` (minus the"
                + " benchmark's own status polls), `pg_current_wal_lsn()`. The fit below first takes off the idle rate"
                + " (per second of window) and the manager's poll (counted apart, per job-second), then solves"
                + " `k + a × partitions + b × commits` exactly over the three jobs.\n\n");
        t.append("### Per partition, per commit, per job, per second\n\n| quantity | per commit (b) | per partition (a) | per job (k) |\n|---|---:|---:|---:|\n");
        t.append(String.format(Locale.ROOT, "| statements | %s | %s | %s |%n", fmt(fs[2]), fmt(fs[1]), fmt(fs[0])));
        t.append(String.format(Locale.ROOT, "| transactions (xact_commit) | %s | %s | %s |%n", fmt(fx[2]), fmt(fx[1]), fmt(fx[0])));
        t.append(String.format(Locale.ROOT, "| WAL bytes | %s | %s | %s |%n", fmt(fw[2]), fmt(fw[1]), fmt(fw[0])));
        t.append(String.format(Locale.ROOT, "| rows inserted + updated + deleted | %s | %s | %s |%n%n", fmt(ft[2]), fmt(ft[1]), fmt(ft[0])));
        t.append(String.format(Locale.ROOT, "Per second: an idle instance %s statements, %s transactions, %s WAL bytes"
                        + " (heartbeat, the channel's periodic poll); the manager's poll of a running job %s statements"
                        + " per job-second (5 read-only statements per heartbeat).%n%n",
                fmt(idleStmtsPerS), fmt(idleXactsPerS), fmt(idleWalPerS), fmt(pollPerJobSecond)));
        t.append("The statements behind the fit (calls per commit b, per partition a, per job k; |a| or |b| ≥ 0.05 listed; texts as `pg_stat_statements` normalises them):\n\n");
        t.append("| per commit | per partition | per job | statement |\n|---:|---:|---:|---|\n");
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(fitQ.entrySet());
        rows.sort((x, y) -> Double.compare(y.getValue()[2] * 1000 + y.getValue()[1], x.getValue()[2] * 1000 + x.getValue()[1]));
        for (Map.Entry<String, double[]> e : rows) {
            double[] v = e.getValue();
            if (Math.abs(v[1]) < 0.05 && Math.abs(v[2]) < 0.05) {
                continue;
            }
            String q = texts.get(e.getKey());
            t.append(String.format(Locale.ROOT, "| %.2f | %.2f | %.2f | `%s` |%n", v[2], v[1], v[0],
                    sql(q.length() > 300 ? q.substring(0, 300) + " …" : q)));
        }
        t.append(String.format(Locale.ROOT, "%nThe step context of a partition (the longest of job B, what each commit writes):"
                + " %d bytes; the average over job A's partitions %.0f bytes. A request message: %d bytes.%n%n",
                ctx.getBytes(StandardCharsets.UTF_8).length, a.contextBytes(), msgHex.length() / 2));
        t.append(String.format(Locale.ROOT, "### PostgreSQL's capacity (pgbench, %d s per cell, `-M prepared`, `-j` up to %d)%n%n",
                benchSeconds, Runtime.getRuntime().availableProcessors()));
        t.append("| clients | chunk commits per s | WAL bytes per commit | failed | message insert + take per s | transactions (insert, take) | failed | step-execution reads per s (8 SELECTs each) | failed |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (int i = 0; i < clients.size(); i++) {
            double[] c = commitRuns.get(i), g = msgRuns.get(i), rd = readRuns.get(i);
            t.append(String.format(Locale.ROOT, "| %d | %s | %s | %.0f | %s | %.0f | %.0f | %s | %.0f |%n", clients.get(i), fmt(c[1]),
                    fmt(c[4]), c[3], fmt(g[4]), g[2], g[3], fmt(rd[1]), rd[3]));
        }
        t.append("\nThe scripts (`bench/work/capacity/commit.sql`, `message.sql`, `read.sql`, written by the benchmark): the commit is"
                + " one transaction of the three statements the fit counts per commit (the BEGIN is the driver's),"
                + " the real step context (longest of job B) as its value, each client on a row of its own, the version checked and"
                + " carried from one transaction to the next (`RETURNING VERSION \\gset`); the message is the store's"
                + " insert (the NOTIFY trigger fires; nobody LISTENs) and the take, each its own transaction, so a"
                + " row of the message columns is one insert and one take, counted as taken (inserts left in the table"
                + " are not); the read is the 8 SELECTs with which Spring Batch loads one step execution, which a"
                + " partition's life repeats (about 4 times per partition above).\n\n");
        t.append("### For 100 instances × 16 threads\n\n");
        t.append(String.format(Locale.ROOT, "sha256 runs at %.0f MiB/s on one thread here (job A: bytes ÷ the partitions' summed run"
                + " time). At the default cadence a thread commits every 64 MiB or every second, whichever comes first:"
                + " %.2f commits/s. The most partitions per second come from jobs cut into the smallest partitions the"
                + " planner makes (split-size ÷ 4 = 16 MiB); a large job's partitions are larger (below). %d running jobs"
                + " (100 combined instances × max-concurrent-jobs 2) are polled by their managers.%n%n",
                mibPerThreadS, commitsPerThreadS, jobs100));
        t.append("| resource | needed by 100 × 16 | this machine gives | needed ÷ given |\n|---|---:|---:|---:|\n");
        t.append(String.format(Locale.ROOT, "| chunk commits per s (1600 × %.2f) | %s | %s (best of the pgbench cells) | %.2f |%n",
                commitsPerThreadS, fmt(commitsPerS), fmt(bestCommit), commitsPerS / bestCommit));
        t.append(String.format(Locale.ROOT, "| messages (partitions) per s, 16 MiB partitions | %s | %s | %.2f |%n",
                fmt(partitionsPerS), fmt(bestMsg), partitionsPerS / bestMsg));
        t.append(String.format(Locale.ROOT, "| statements per s (commits × %.1f + partitions × %.0f + instances' idle + managers' polls) | %s | ~%s (estimated: the best step-execution reads per s × 8) | %.2f |%n",
                fs[2], fs[1], fmt(stmtsPerS), fmt(stmtCapacity), stmtsPerS / stmtCapacity));
        t.append(String.format(Locale.ROOT, "| transactions per s (%.0f %% of them chunk commits) | %s | %s commits, %s reads | |%n",
                commitsPerS / xactsPerS * 100, fmt(xactsPerS), fmt(bestCommit), fmt(bestRead)));
        t.append(String.format(Locale.ROOT, "| WAL bytes per s | %s MB/s | (not measured: the pgbench cells wrote %s MB/s at their best) | |%n",
                fmt(walPerS / 1e6), fmt(bestCommit * commitRuns.stream().mapToDouble(x -> x[4]).average().orElse(0) / 1e6)));
        t.append(String.format(Locale.ROOT, "| connections: 100 × (pool %d + 16 leases + %d listener) | %d | max_connections %s | %.1f |%n",
                poolPeak, listenerPeak, conns100, maxConn, conns100 / Double.parseDouble(maxConn)));
        t.append(String.format(Locale.ROOT, "%nPer instance, counted in pg_stat_activity during the jobs: at most %d connections"
                + " (pool %d, leases %d with ringbatch.workers=%d, listener %d).%n", connsInstance, poolPeak, leasePeak, workers,
                listenerPeak));
        Files.writeString(table, t.toString());
        Path kv = work.resolve("values.properties");
        Files.writeString(kv, String.format(Locale.ROOT, "stmtsPerCommit=%.2f%nstmtsPerPartition=%.2f%nstmtsPerJob=%.2f%n"
                        + "walPerCommit=%.0f%nwalPerPartition=%.0f%nxactsPerCommit=%.2f%nxactsPerPartition=%.2f%n"
                        + "bestCommitTps=%.0f%nbestMessagePerS=%.0f%nconnectionsPerInstance=%d%npoolPeak=%d%n"
                        + "commitsPerS100x16=%.0f%npartitionsPerS100x16=%.0f%nstmtsPerS100x16=%.0f%nwalPerS100x16=%.0f%n"
                        + "connections100x16=%d%nmibPerThreadS=%.0f%nidleStmtsPerS=%.2f%npollPerJobSecond=%.2f%nbestReadTps=%.0f%n",
                fs[2], fs[1], fs[0], fw[2], fw[1], fx[2], fx[1], bestCommit, bestMsg, connsInstance, poolPeak, commitsPerS,
                partitionsPerS, stmtsPerS, walPerS, conns100, mibPerThreadS, idleStmtsPerS, pollPerJobSecond, bestRead));
        System.out.println(t);
    }
}
