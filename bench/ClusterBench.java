import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * What distributing one job costs (bench/run-cluster.sh; bench/README.md): the same job on one instance
 * with two worker threads, against one combined instance with one thread plus one worker instance with one
 * thread (the same two cores), all on one PostgreSQL server. Each cell is the median of {@code --runs}
 * runs after {@code --warmups} warm-up runs (5, as bench/run.sh warms its service with five jobs); the time is the service's own, from submission to end.
 */
public class ClusterBench {
    static final String PASSWORD = "bench-secret";

    /** A way to run the job: the instances it starts, as (id, role, threads, cluster on). */
    record Config(String name, String label, List<Member> members) {
    }

    record Member(String id, String role, int threads, boolean cluster) {
    }

    static final Map<String, Config> CONFIGS = new LinkedHashMap<>();

    static {
        CONFIGS.put("single", new Config("single", "one instance, workers=2, partitions on its own executor",
                List.of(new Member("solo", "combined", 2, false))));
        CONFIGS.put("single-queue", new Config("single-queue",
                "one instance, workers=2, partitions through the PostgreSQL queue",
                List.of(new Member("solo", "combined", 2, true))));
        CONFIGS.put("split", new Config("split", "combined (workers=1) + worker (workers=1), through the queue",
                List.of(new Member("combined", "combined", 1, true), new Member("worker", "worker", 1, true))));
    }

    static final class Instance implements AutoCloseable {
        final Process process;
        final int port;
        final HttpClient http = HttpClient.newHttpClient();

        Instance(Member m, String jar, String heap, Path root, Path work, String pgUrl) throws Exception {
            this(m, jar, heap, root, work, pgUrl, List.of());
        }

        /** {@code extra}: further arguments of the service (CapacityBench: the commit cadence, the split size). */
        Instance(Member m, String jar, String heap, Path root, Path work, String pgUrl, List<String> extra)
                throws Exception {
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path data = work.resolve("data-" + m.id());
            deleteTree(data);
            List<String> cmd = new ArrayList<>(List.of("java", "-Xmx" + heap, "-jar", jar, "--server.port=" + port,
                    "--ringbatch.instance-id=" + m.id(), "--ringbatch.role=" + m.role(),
                    "--ringbatch.workers=" + m.threads(), "--ringbatch.cluster.enabled=" + m.cluster(),
                    "--ringbatch.data-dir=" + data, "--ringbatch.work-dir=" + work.resolve("jobs"),
                    "--ringbatch.input-roots=" + root, "--ringbatch.output-root=" + work.resolve("out"),
                    "--ringbatch.security.admin-password=" + PASSWORD,
                    "--spring.datasource.url=" + pgUrl, "--spring.datasource.username=ringbatch",
                    "--spring.datasource.password=", "--logging.level.root=WARN"));
            cmd.addAll(extra);
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve(m.id() + ".log").toFile())).start();
            for (int i = 0; ; i++) {
                if (!process.isAlive() || i > 900) {
                    throw new IllegalStateException(m.id() + " did not start; see " + work.resolve(m.id() + ".log"));
                }
                try {
                    if (http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/actuator/health")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                        break;
                    }
                } catch (IOException e) {
                    // not yet
                }
                Thread.sleep(200);
            }
        }

        HttpRequest.Builder req(String path) {
            return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).header("Authorization",
                    "Basic " + Base64.getEncoder().encodeToString(("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8)));
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            process.waitFor();
        }
    }

    /** {@code jitSeconds}: of {@code cpuSeconds}, what the instances' JIT compiler threads took. */
    record Run(double seconds, long bytes, double cpuSeconds, double jitSeconds, String outputDigest, String workers) {
    }

    /** Submits the job to {@code api}, waits for its end; the time is the service's, createdAt to endedAt. */
    static Run run(Instance api, List<Instance> all, String operation, String params, Path root, Path out)
            throws Exception {
        String body = "{\"operation\":\"" + operation + "\",\"params\":" + params + ",\"input\":{\"root\":\"" + root
                + "\"},\"output\":{\"path\":\"" + out.getFileName() + "\"}}";
        long cpu0 = 0;
        long jit0 = 0;
        for (Instance i : all) {
            cpu0 += cpuTicks(i.process.pid());
            jit0 += jitTicks(i.process.pid());
        }
        HttpResponse<String> r = api.http.send(api.req("/api/jobs").POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 202) {
            throw new IllegalStateException("submit: " + r.statusCode() + " " + r.body());
        }
        String id = field(r.body(), "id");
        while (true) {
            // every request costs a password check: poll rarely, so as not to take the workers' CPU
            Thread.sleep(250);
            String job = api.http.send(api.req("/api/jobs/" + id).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
            String status = field(job, "status");
            if (status.equals("COMPLETED")) {
                double s = Duration.between(Instant.parse(field(job, "createdAt")),
                        Instant.parse(field(job, "endedAt"))).toNanos() / 1e9;
                long cpu1 = 0;
                long jit1 = 0;
                for (Instance i : all) {
                    cpu1 += cpuTicks(i.process.pid());
                    jit1 += jitTicks(i.process.pid());
                }
                // the instances that ran partitions, as the job view names them (absent before the cluster work)
                java.util.TreeSet<String> workers = new java.util.TreeSet<>();
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"worker\"\\s*:\\s*\"([^\"]*)\"").matcher(job);
                while (m.find()) {
                    workers.add(m.group(1));
                }
                return new Run(s, number(job, "bytesTotal"), (cpu1 - cpu0) / 100.0, (jit1 - jit0) / 100.0, digest(out),
                        String.join("+", workers));
            }
            if (List.of("FAILED", "STOPPED", "ABANDONED").contains(status)) {
                throw new IllegalStateException("job " + id + " ended " + status + ": " + job);
            }
        }
    }

    /** One digest over every output file but job-report.json: names and bytes, in name order. */
    static String digest(Path out) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        List<Path> files;
        try (Stream<Path> s = Files.walk(out)) {
            files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals("job-report.json"))
                    .sorted().toList();
        }
        byte[] buf = new byte[1 << 20];
        for (Path f : files) {
            md.update(out.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(f)) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
        }
        return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }

    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** The jobs, as the REST API takes them: operation and params. */
    static final Map<String, String[]> OPS = Map.of(
            "grep", new String[]{"grep", "{\"pattern\":\"[0-9]{3}x[a-c]\"}", "grep `[0-9]{3}x[a-c]`"},
            "sha256", new String[]{"checksum", "{\"algorithm\":\"sha256\"}", "checksum sha256"},
            "crc32c", new String[]{"checksum", "{\"algorithm\":\"crc32c\"}", "checksum crc32c"},
            "gzip", new String[]{"gzip", "{\"level\":6}", "gzip -6"});

    /**
     * The data set: {@code size} bytes of text in 32 files of equal size under
     * {@code bench/work/data/cluster-<size>MiB-seed<seed>}, lines of 20 to 319 characters of letters, digits,
     * spaces and {@code x} from a seeded SplittableRandom per file; kept for the next run (a manifest beside it).
     */
    static Path dataSet(long size, long seed) throws IOException {
        Path root = Path.of("bench/work/data").toAbsolutePath().resolve("cluster-" + (size >> 20) + "MiB-seed" + seed);
        Path manifest = root.resolveSibling(root.getFileName() + ".manifest");
        String expected = "1 " + size + " " + seed + "\n";
        if (Files.exists(manifest) && Files.readString(manifest).equals(expected)) {
            return root;
        }
        deleteTree(root);
        Files.createDirectories(root);
        byte[] alphabet = "abcdefghijklmnopqrstuvwxyz0123456789x     ".getBytes(StandardCharsets.US_ASCII);
        int files = 32;
        System.out.printf(Locale.ROOT, "generating %d files, %d MiB, seed %d, in %s%n", files, size >> 20, seed, root);
        for (int f = 0; f < files; f++) {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + f);
            byte[] buf = new byte[1 << 20];
            try (OutputStream out = Files.newOutputStream(root.resolve(String.format(Locale.ROOT, "f%03d.txt", f)))) {
                long left = size / files;
                int fill = 0;
                while (left > 0) {
                    int len = (int) Math.min(20 + r.nextInt(300), left);
                    if (fill + len > buf.length) {
                        out.write(buf, 0, fill);
                        fill = 0;
                    }
                    for (int i = 0; i < len - 1; i++) {
                        buf[fill++] = alphabet[r.nextInt(alphabet.length)];
                    }
                    buf[fill++] = '\n';
                    left -= len;
                }
                out.write(buf, 0, fill);
            }
        }
        Files.writeString(manifest, expected);
        return root;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    /**
     * utime + stime of a process's JIT compiler threads ("C1 CompilerThre", "C2 CompilerThre"), in clock ticks:
     * with two instances each JVM compiles the same code, which the cores' other work waits for.
     */
    static long jitTicks(long pid) throws IOException {
        long ticks = 0;
        List<Path> tasks;
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/task"))) {
            tasks = s.toList();
        }
        for (Path t : tasks) {
            String stat;
            try {
                stat = Files.readString(t.resolve("stat"));
            } catch (IOException gone) {
                continue; // the thread ended meanwhile
            }
            String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            if (name.matches("C[12] CompilerThre.*")) {
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            }
        }
        return ticks;
    }

    /** utime + stime of a process, in clock ticks (100 per second). */
    static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    static String field(String json, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + name + " in " + json);
        }
        return m.group(1);
    }

    static long number(String json, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + name + "\"\\s*:\\s*(\\d+)").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + name + " in " + json);
        }
        return Long.parseLong(m.group(1));
    }

    static long parseSize(String v) {
        v = v.toLowerCase(Locale.ROOT).trim();
        long m = v.endsWith("g") ? 1L << 30 : v.endsWith("m") ? 1L << 20 : v.endsWith("k") ? 1L << 10 : 1;
        return Long.parseLong(v.replaceAll("[gmk]$", "")) * m;
    }

    public static void main(String[] args) throws Exception {
        String pgUrl = null;
        String jar = null;
        String heap = "512m";
        long size = 4L << 30;
        long seed = 42;
        int runs = 3;
        int warmups = 5; // a service in a cluster runs for days: its JVMs are past their compilation
        List<String> ops = List.of("grep", "sha256");
        List<String> configs = List.copyOf(CONFIGS.keySet());
        Path table = Path.of("bench/work/cluster/table.md");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pg-url" -> pgUrl = args[++i];
                case "--jar" -> jar = args[++i];
                case "--heap" -> heap = args[++i];
                case "--size" -> size = parseSize(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--warmups" -> warmups = Integer.parseInt(args[++i]);
                case "--ops" -> ops = List.of(args[++i].split(","));
                case "--configs" -> configs = List.of(args[++i].split(","));
                case "--table" -> table = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (see bench/README.md)");
            }
        }
        if (pgUrl == null || jar == null) {
            throw new IllegalArgumentException("--pg-url and --jar are required (bench/run-cluster.sh passes them)");
        }
        for (String op : ops) {
            if (!OPS.containsKey(op)) {
                throw new IllegalArgumentException("unknown op " + op + "; ops: " + OPS.keySet());
            }
        }
        Path root = dataSet(size, seed);
        Path work = table.getParent().toAbsolutePath();
        Files.createDirectories(work.resolve("out"));

        StringBuilder rows = new StringBuilder();
        rows.append("| operation | configuration | median s | MiB/s | runs s | vs single | CPU s (all instances) | of which JIT s | partitions ran on | output |\n");
        rows.append("|---|---|---:|---:|---|---:|---:|---:|---|---|\n");
        for (String op : ops) {
            String operation = OPS.get(op)[0];
            String params = OPS.get(op)[1];
            Double single = null;
            String singleDigest = null;
            for (String name : configs) {
                Config c = CONFIGS.get(name);
                if (c == null) {
                    throw new IllegalArgumentException("unknown configuration " + name + "; configurations: " + CONFIGS.keySet());
                }
                List<Instance> instances = new ArrayList<>();
                try {
                    for (Member m : c.members()) {
                        instances.add(new Instance(m, jar, heap, root, work, pgUrl));
                    }
                    Instance api = instances.get(0);
                    List<Run> results = new ArrayList<>();
                    for (int r = 1 - warmups; r <= runs; r++) { // runs up to 0 warm up the JVMs and the page cache
                        Path out = work.resolve("out").resolve(op + "-" + name + "-" + r + "-" + System.nanoTime());
                        Run run = run(api, instances, operation, params, root, out);
                        deleteTree(out);
                        System.out.printf(Locale.ROOT, "%s %s run %d%s: %.2f s, CPU %.1f s, on %s%n", op, name, r,
                                r <= 0 ? " (warm-up)" : "", run.seconds(), run.cpuSeconds(), run.workers());
                        if (r > 0) {
                            results.add(run);
                        }
                    }
                    double med = median(results.stream().map(Run::seconds).toList());
                    double cpu = median(results.stream().map(Run::cpuSeconds).toList());
                    double jit = median(results.stream().map(Run::jitSeconds).toList());
                    String digest = results.get(0).outputDigest();
                    boolean sameRuns = results.stream().allMatch(x -> x.outputDigest().equals(digest));
                    if (single == null && name.equals("single")) {
                        single = med;
                        singleDigest = digest;
                    }
                    String check = !sameRuns ? "DIFFERS between runs"
                            : singleDigest == null ? "digest " + digest
                            : digest.equals(singleDigest) ? "same bytes as single" : "DIFFERS from single";
                    rows.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.0f | %s | %s | %.1f | %.2f | %s | %s |%n",
                            OPS.get(op)[2], c.label(), med, results.get(0).bytes() / (1024.0 * 1024.0) / med,
                            String.join(", ", results.stream().map(x -> String.format(Locale.ROOT, "%.2f", x.seconds())).toList()),
                            single == null ? "" : String.format(Locale.ROOT, "%+.1f %%", (med / single - 1) * 100), cpu, jit,
                            results.get(0).workers().isEmpty() ? "(not shown)" : results.get(0).workers(), check));
                } finally {
                    for (Instance i : instances) {
                        i.close();
                    }
                }
            }
        }
        String header = String.format(Locale.ROOT,
                "- data set: 32 text files, %d MiB, seed %d, `%s`%n- each cell: the median of %d runs after %s"
                        + " (page cache warm); the time from submission to end as the service records it; CPU: every"
                        + " instance's, from /proc, during the run; JIT: of it, the JVMs' compiler threads%n",
                size >> 20, seed, root, runs, warmups == 1 ? "one warm-up run" : warmups + " warm-up runs");
        Files.writeString(table, header + "\n" + rows);
        System.out.println(rows);
    }
}
