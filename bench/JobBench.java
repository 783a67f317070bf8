// The jobs benchmark: ringbatch jobs over REST (the packaged jar) against the GNU tools a user would
// script, on the same generated tree, cold and warm. Run by bench/run-jobs.sh; see bench/README.md.
import java.io.*;
import java.net.*;
import java.net.http.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;

public class JobBench {
    static final String PASSWORD = "bench-secret";
    static String PATTERN = "[0-9]{3}x[a-c]";

    public static void main(String[] args) throws Exception {
        long size = 2L << 30;
        int runs = 1;
        String heap = "512m";
        List<String> ops = List.of("checksum", "grep");
        List<String> modes = List.of("cold", "warm");
        String jar = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--size" -> size = parseSize(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--ops" -> ops = List.of(args[++i].split(","));
                case "--modes" -> modes = List.of(args[++i].split(","));
                case "--heap" -> heap = args[++i];
                case "--jar" -> jar = args[++i];
                case "--pattern" -> PATTERN = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        boolean root = "root".equals(System.getProperty("user.name"));
        if (!root && modes.contains("cold")) {
            System.out.println("not root: cold runs skipped (dropping the page cache needs root)");
            modes = List.of("warm");
        }
        Path work = Path.of("bench/work/jobs").toAbsolutePath();
        Path input = work.resolve("input-" + (size >> 20) + "MiB");
        generate(input, size);
        int nproc = Runtime.getRuntime().availableProcessors();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path data = work.resolve("data");
        Path output = work.resolve("output");
        deleteTree(data);
        deleteTree(output);
        Files.createDirectories(output);
        Process service = new ProcessBuilder("java", "-Xmx" + heap, "-jar", jar, "--server.port=" + port,
                "--ringbatch.data-dir=" + data, "--ringbatch.input-roots=" + input, "--ringbatch.output-root=" + output,
                "--ringbatch.security.admin-password=" + PASSWORD, "--logging.level.root=WARN")
                .redirectErrorStream(true).redirectOutput(work.resolve("service.log").toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        try {
            awaitHealthy(http, port, service);
            List<String[]> rows = new ArrayList<>();
            for (String op : ops) {
                for (String mode : modes) {
                    for (int r = 0; r < runs; r++) {
                        prepare(mode, input);
                        String[] job = ringbatch(http, port, op, input);
                        prepare(mode, input);
                        double gnu = gnu(op, input, nproc);
                        double rb = Double.parseDouble(job[0]);
                        rows.add(new String[]{op, mode, String.format(Locale.ROOT, "%.2f", rb),
                                String.format(Locale.ROOT, "%.2f", gnu), String.format(Locale.ROOT, "%.2f", gnu / rb),
                                job[1], job[2], job[3]});
                        System.out.printf(Locale.ROOT, "%-9s %-5s ringbatch %6.2f s  GNU %6.2f s  ratio %.2f  (wait %s s, busy %s s, %s)%n",
                                op, mode, rb, gnu, gnu / rb, job[1], job[2], job[3]);
                    }
                }
            }
            StringBuilder md = new StringBuilder();
            md.append("| operation | cache | ringbatch job (s) | GNU tool (s) | GNU ÷ ringbatch | workers waited (s) | workers busy (s) | MiB/s |\n");
            md.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
            for (String[] r : rows) {
                md.append("| ").append(String.join(" | ", r)).append(" |\n");
            }
            Files.writeString(work.resolve("table.md"), md.toString());
            System.out.println();
            System.out.print(md);
        } finally {
            service.destroy();
            service.waitFor();
        }
    }

    /** Runs one job; returns [seconds from submission to COMPLETED, wait s, busy s, MiB/s]. */
    static String[] ringbatch(HttpClient http, int port, String op, Path input) throws Exception {
        String params = op.equals("grep") ? "{\"pattern\":\"" + PATTERN + "\"}" : "{\"algorithm\":\"sha256\"}";
        String body = "{\"operation\":\"" + op + "\",\"params\":" + params + ",\"input\":{\"root\":\"" + input + "\"}}";
        long t0 = System.nanoTime();
        HttpResponse<String> r = http.send(req(port, "/api/jobs").POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 202) {
            throw new IllegalStateException("submit: " + r.statusCode() + " " + r.body());
        }
        String id = field(r.body(), "id");
        while (true) {
            String job = http.send(req(port, "/api/jobs/" + id).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
            String status = field(job, "status");
            if (status.equals("COMPLETED")) {
                // the service's own clock, submission to end: independent of how often this polls
                double s = java.time.Duration.between(java.time.Instant.parse(field(job, "createdAt")),
                        java.time.Instant.parse(field(job, "endedAt"))).toNanos() / 1e9;
                long bytes = Long.parseLong(number(job, "bytesTotal"));
                return new String[]{String.valueOf(s), round(number(job, "waitSeconds")), round(number(job, "busySeconds")),
                        String.format(Locale.ROOT, "%.0f", bytes / 1048576.0 / s)};
            }
            if (status.equals("FAILED") || status.equals("STOPPED") || status.equals("ABANDONED")) {
                throw new IllegalStateException("job " + id + " ended " + status + ": " + job);
            }
            // every request is a bcrypt check of the password: poll rarely, so as not to steal the workers' CPU
            Thread.sleep(500);
        }
    }

    static double gnu(String op, Path input, int nproc) throws Exception {
        String cmd = op.equals("grep")
                // into a real file: GNU grep stops at the first match when its output is /dev/null
                ? "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -P " + nproc + " -n 16 grep -a -E -Hn '" + PATTERN
                        + "' > ../gnu-matches.txt; true"
                : "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -P " + nproc + " -n 16 sha256sum > ../gnu-checksums.txt";
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("sh", "-c", cmd).directory(input.toFile()).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(cmd + " failed");
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    static void prepare(String mode, Path input) throws Exception {
        if (mode.equals("cold")) {
            new ProcessBuilder("sh", "-c", "sync; echo 3 > /proc/sys/vm/drop_caches").inheritIO().start().waitFor();
        } else {
            new ProcessBuilder("sh", "-c", "find . -type f -print0 | xargs -0 cat > /dev/null")
                    .directory(input.toFile()).inheritIO().start().waitFor();
        }
    }

    /** Text files of random lines from a fixed seed: many small and medium files, a few large ones. */
    static void generate(Path input, long size) throws IOException {
        Path done = input.resolve(".complete");
        if (Files.exists(done)) {
            return;
        }
        deleteTree(input);
        SplittableRandom r = new SplittableRandom(42);
        byte[] alphabet = "abcdefghijklmnopqrstuvwxyz0123456789x     ".getBytes(StandardCharsets.US_ASCII);
        long total = 0;
        int n = 0;
        while (total < size) {
            long fileSize = n < 2 ? size / 8 : (long) Math.exp(Math.log(16 << 10) + r.nextDouble() * (Math.log(64 << 20) - Math.log(16 << 10)));
            fileSize = Math.min(fileSize, size - total);
            Path p = input.resolve("d" + (n % 7)).resolve("file-" + n + ".txt");
            Files.createDirectories(p.getParent());
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(p), 1 << 20)) {
                byte[] line = new byte[400];
                long written = 0;
                while (written < fileSize) {
                    int len = (int) Math.min(20 + r.nextInt(300), fileSize - written - 1);
                    for (int i = 0; i < len; i++) {
                        line[i] = alphabet[r.nextInt(alphabet.length)];
                    }
                    line[Math.max(0, len)] = '\n';
                    out.write(line, 0, Math.max(0, len) + 1);
                    written += Math.max(0, len) + 1;
                }
            }
            total += Files.size(p);
            n++;
        }
        Files.writeString(done, n + " files, " + total + " bytes\n");
        System.out.println("generated " + n + " files, " + (total >> 20) + " MiB in " + input);
    }

    static void awaitHealthy(HttpClient http, int port, Process service) throws Exception {
        for (int i = 0; i < 600; i++) {
            if (!service.isAlive()) {
                throw new IllegalStateException("the service died; see bench/work/jobs/service.log");
            }
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/actuator/health")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the service did not start");
    }

    static HttpRequest.Builder req(int port, String path) {
        return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).header("Authorization",
                "Basic " + Base64.getEncoder().encodeToString(("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8)));
    }

    static String field(String json, String name) {
        int i = json.indexOf("\"" + name + "\":\"");
        int s = i + name.length() + 4;
        return json.substring(s, json.indexOf('"', s));
    }

    static String number(String json, String name) {
        int i = json.indexOf("\"" + name + "\":");
        int s = i + name.length() + 3;
        int e = s;
        while (e < json.length() && "0123456789.-E".indexOf(json.charAt(e)) >= 0) {
            e++;
        }
        return json.substring(s, e);
    }

    static String round(String v) {
        return String.format(Locale.ROOT, "%.2f", Double.parseDouble(v));
    }

    static long parseSize(String v) {
        v = v.toLowerCase(Locale.ROOT);
        long m = v.endsWith("g") ? 1L << 30 : v.endsWith("m") ? 1L << 20 : 1;
        return Long.parseLong(v.replaceAll("[gm]$", "")) * m;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
