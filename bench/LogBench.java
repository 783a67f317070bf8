import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The log benchmark (bench/run-logs.sh; bench/README.md says how to read it): grep, the operation users
 * run most on logs, as a ringbatch job against GNU grep ({@code xargs -P nproc}) and ripgrep
 * ({@code rg -j nproc}), over log-like text, for six classes of pattern, cold and warm, each cell the
 * median of {@code --runs} runs. Every ringbatch output is checked byte for byte against GNU grep's (sorted
 * by file and line, as ringbatch orders them); ripgrep's is checked by its line count.
 * <p>
 * It reuses {@link Bench}'s service driver, page-cache control and checks; only the data set and the
 * pattern classes are its own.
 */
public final class LogBench {
    static final String DATA_VERSION = "LogBench data set v1";

    /** A class of pattern: its name, the pattern, and the grep flags it uses (ignore case, invert, fixed). */
    record PatternClass(String name, String label, String pattern, boolean ignoreCase, boolean invert, boolean fixed) {
        String restParams() {
            return "{\"pattern\":\"" + pattern.replace("\\", "\\\\").replace("\"", "\\\"") + "\""
                    + (ignoreCase ? ",\"ignoreCase\":true" : "") + (invert ? ",\"invert\":true" : "")
                    + (fixed ? ",\"fixed\":true" : "") + "}";
        }

        String grepFlags() {
            return "-a -Hn " + (fixed ? "-F" : "-E") + (ignoreCase ? " -i" : "") + (invert ? " -v" : "");
        }

        String rgFlags() {
            // -a: binary as text, like grep -a; no ignore files or hidden-file rules (bench/work is git-ignored);
            // --no-heading -H -n: grep's "file:line:text"; -F for literals
            return "-a --no-ignore --hidden --no-heading -H -n --no-config" + (fixed ? " -F" : "") + (ignoreCase ? " -i" : "")
                    + (invert ? " -v" : "");
        }
    }

    static final List<PatternClass> CLASSES = List.of(
            new PatternClass("literal", "fixed literal", "OutOfMemoryError", false, false, true),
            new PatternClass("alternation", "alternation of literals", "ERROR|FATAL|deadlock", false, false, false),
            new PatternClass("required", "regex with a required literal", "user=u1[0-9]{3} .*latency=[0-9]{4}ms",
                    false, false, false),
            new PatternClass("icase", "case-insensitive literal", "DEADLOCK", true, false, false),
            new PatternClass("invert", "inverted match", "INFO|DEBUG|WARN", false, true, false),
            new PatternClass("noliteral", "regex without a literal", "[0-9]{6}[^0-9]", false, false, false));

    static final class Options {
        long size = 1536L << 20;
        int files = 200;
        long seed = 7;
        int runs = 3;
        List<String> modes = List.of("cold", "warm");
        List<String> peers = List.of("ringbatch", "gnu", "rg");
        List<String> classes = CLASSES.stream().map(PatternClass::name).toList();
        String heap = "512m";
        /** Extra arguments of the service (as Bench's {@code --service-arg}), listed in the results. */
        List<String> serviceArgs = new ArrayList<>();
        boolean jfr;
        String jar;
        Path results = Path.of("bench/RESULTS-logs.md");

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--size" -> o.size = Bench.parseSize(args[++i]);
                    case "--files" -> o.files = Integer.parseInt(args[++i]);
                    case "--seed" -> o.seed = Long.parseLong(args[++i]);
                    case "--runs" -> o.runs = Integer.parseInt(args[++i]);
                    case "--modes" -> o.modes = List.of(args[++i].split(","));
                    case "--peers" -> o.peers = List.of(args[++i].split(","));
                    case "--classes" -> o.classes = List.of(args[++i].split(","));
                    case "--heap" -> o.heap = args[++i];
                    case "--service-arg" -> o.serviceArgs.add(args[++i]);
                    case "--jfr" -> o.jfr = true;
                    case "--jar" -> o.jar = args[++i];
                    case "--results" -> o.results = Path.of(args[++i]);
                    default -> throw new IllegalArgumentException("unknown option " + args[i] + " (see bench/README.md)");
                }
            }
            for (String c : o.classes) {
                if (CLASSES.stream().noneMatch(k -> k.name().equals(c))) {
                    throw new IllegalArgumentException("unknown class " + c + "; classes: "
                            + CLASSES.stream().map(PatternClass::name).toList());
                }
            }
            if (o.files < 3 || o.runs < 1) {
                throw new IllegalArgumentException("--files must be at least 3 and --runs at least 1");
            }
            return o;
        }
    }

    // ------------------------------------------------------------------------------------------
    // The data set: log files
    // ------------------------------------------------------------------------------------------

    /**
     * Two files of a sixth of the size each (256 MiB at 1.5 GiB), then {@code files - 2} files whose sizes
     * are drawn log-uniformly and scaled to fill the rest, in 10 directories.
     */
    static Bench.DataSet dataSet(Options o) throws IOException {
        Path root = Path.of("bench/work/data").toAbsolutePath()
                .resolve("logs-" + (o.size >> 20) + "MiB-" + o.files + "files-seed" + o.seed);
        SplittableRandom r = new SplittableRandom(o.seed);
        long big = o.size / 6;
        double[] weights = new double[o.files - 2];
        double sum = 0;
        for (int i = 0; i < weights.length; i++) {
            weights[i] = Math.exp(Math.log(64 << 10) + r.nextDouble() * (Math.log(64L << 20) - Math.log(64 << 10)));
            sum += weights[i];
        }
        long rest = o.size - 2 * big;
        List<Bench.FileEntry> files = new ArrayList<>();
        for (int i = 0; i < o.files; i++) {
            long s = i < 2 ? big : (long) (rest * weights[i - 2] / sum);
            String rel = "app" + (i % 10) + "/" + String.format(Locale.ROOT, "service-%03d.log", i);
            files.add(new Bench.FileEntry(i, rel, root.resolve(rel), s, true));
        }
        long bytes = files.stream().mapToLong(Bench.FileEntry::size).sum();
        Path manifest = root.resolveSibling(root.getFileName() + ".manifest");
        String expected = DATA_VERSION + " " + o.seed + " " + files.size() + " " + bytes + "\n";
        boolean ok = Files.exists(manifest) && Files.readString(manifest).equals(expected);
        for (int i = 0; ok && i < files.size(); i++) {
            ok = Files.isRegularFile(files.get(i).path()) && Files.size(files.get(i).path()) == files.get(i).size();
        }
        if (!ok) {
            Bench.deleteTree(root);
            long t0 = System.nanoTime();
            System.out.printf(Locale.ROOT, "generating %d log files, %d MiB, seed %d, in %s%n", files.size(), bytes >> 20,
                    o.seed, root);
            for (Bench.FileEntry f : files) {
                Files.createDirectories(f.path().getParent());
                writeLog(f, o.seed);
            }
            Files.writeString(manifest, expected);
            System.out.printf(Locale.ROOT, "generated in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        }
        return new Bench.DataSet(root, files, bytes);
    }

    static final String[] LEVELS = {"INFO", "INFO", "INFO", "INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN"};
    static final String[] PATHS = {"/api/jobs", "/api/jobs/{id}", "/api/workers", "/login", "/actuator/health",
            "/api/jobs/{id}/output", "/static/app.js"};
    static final String[] WORDS = {"request", "completed", "started", "cache", "miss", "hit", "retry", "connection",
            "pool", "acquired", "released", "Timeout", "TIMEOUT", "timeout", "session", "opened", "closed", "queue",
            "partition", "commit", "rollback", "user", "token", "refreshed", "slow", "query", "rows"};

    /**
     * Lines like a Java service's log: an ISO timestamp, a level (ERROR about once in 2,000 lines, FATAL and
     * an OutOfMemoryError far rarer), a thread, a user id, a request path, a latency, a message of words,
     * sometimes an address; one line in 500 is long (a JSON payload of 2 to 12 KiB).
     */
    static void writeLog(Bench.FileEntry f, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed * 1_000_003L + f.index());
        long t = 1_764_720_000_000L + r.nextInt(86_400_000);
        StringBuilder line = new StringBuilder(16 << 10);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(f.path()), 1 << 20)) {
            long left = f.size();
            while (left > 0) {
                line.setLength(0);
                t += r.nextInt(40);
                line.append(java.time.Instant.ofEpochMilli(t)).append(' ');
                int lv = r.nextInt(2000);
                String level = lv == 0 ? "ERROR" : lv == 1 && r.nextInt(50) == 0 ? "FATAL" : LEVELS[r.nextInt(LEVELS.length)];
                line.append(String.format(Locale.ROOT, "%-5s", level)).append(" [worker-").append(r.nextInt(64)).append("] ")
                        .append("user=u").append(r.nextInt(100_000)).append(' ')
                        .append(PATHS[r.nextInt(PATHS.length)]).append(" latency=").append(r.nextInt(r.nextInt(100) == 0 ? 20_000 : 900))
                        .append("ms ");
                int words = 3 + r.nextInt(12);
                for (int i = 0; i < words; i++) {
                    line.append(WORDS[r.nextInt(WORDS.length)]).append(' ');
                }
                if (r.nextInt(20) == 0) {
                    line.append("from ").append(r.nextInt(256)).append('.').append(r.nextInt(100)).append('.')
                            .append(r.nextInt(1000)).append(' ');
                }
                if (level.equals("ERROR") && r.nextInt(100) == 0) {
                    line.append("java.lang.OutOfMemoryError: Java heap space ");
                } else if (level.equals("ERROR") && r.nextInt(10) == 0) {
                    line.append("deadlock detected ");
                }
                if (r.nextInt(500) == 0) {
                    int n = 2048 + r.nextInt(10 << 10);
                    line.append("payload={\"items\":[");
                    while (line.length() < n) {
                        line.append("{\"id\":").append(r.nextInt(1 << 20)).append(",\"v\":\"")
                                .append(WORDS[r.nextInt(WORDS.length)]).append("\"},");
                    }
                    line.append("{}]}");
                }
                line.append('\n');
                byte[] b = line.toString().getBytes(StandardCharsets.US_ASCII);
                int n = (int) Math.min(b.length, left);
                if (n < b.length && n > 0) {
                    b[n - 1] = '\n'; // the file ends with a whole (short) line
                }
                out.write(b, 0, n);
                left -= n;
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // The runs
    // ------------------------------------------------------------------------------------------

    static Bench.Work work(PatternClass c, int nproc, boolean rg) {
        String list = Bench.xargs(nproc);
        String gather = " && cat \"$OUT\"/part.* > \"$OUT/gnu.txt\"";
        String gnu = rg
                // ripgrep parallelises by itself; its output order is its own, so only the line count is checked
                ? "rg -j " + nproc + " " + c.rgFlags() + " -e \"$PATTERN\" . > \"$OUT/gnu.txt\"; test $? -le 1"
                // grep exits 1 when a batch has no match; each batch writes its own part (no interleaving)
                : list + "'grep " + c.grepFlags() + " -e \"$PATTERN\" \"$@\" > \"$OUT/part.$$\"; test $? -le 1' sh" + gather;
        return new Bench.Work("grep", "grep " + c.label(), null, Map.of(), c.restParams(), gnu,
                rg ? "`rg -j " + nproc + "`" : "`xargs -P " + nproc + " grep`");
    }

    static Bench.Measured shell(Bench.Work w, Bench.DataSet set, Path out, PatternClass c) throws Exception {
        Bench.deleteTree(out);
        Files.createDirectories(out);
        String script = w.gnu() + " || exit 1\ntimes > \"$OUT/.times\"";
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(set.root().toFile()).inheritIO();
        pb.environment().put("OUT", out.toString());
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("PATTERN", c.pattern());
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(w.gnu() + " failed");
        }
        double s = (System.nanoTime() - t0) / 1e9;
        String[] times = Files.readAllLines(out.resolve(".times")).get(1).trim().split("\\s+");
        return new Bench.Measured(s, set.bytes(), Double.NaN, Double.NaN, Bench.minutes(times[0]) + Bench.minutes(times[1]),
                -1, "");
    }

    static long lineCount(Path file) throws IOException {
        long n = 0;
        try (var in = Files.newInputStream(file)) {
            byte[] b = new byte[1 << 16];
            for (int k; (k = in.read(b)) > 0; ) {
                for (int i = 0; i < k; i++) {
                    if (b[i] == '\n') {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    record Cell(String cls, String mode, String peer, double median, double[] runs, String check) {
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        int cores = Runtime.getRuntime().availableProcessors();
        List<String> modes = new ArrayList<>(o.modes);
        if (modes.contains("cold") && Bench.C.geteuid() != 0) {
            System.out.println("NOT ROOT: cold runs skipped (dropping the page cache needs root)");
            modes.remove("cold");
        }
        Path work = Path.of("bench/work/logs").toAbsolutePath();
        Files.createDirectories(work);
        Bench.DataSet set = dataSet(o);
        System.out.printf(Locale.ROOT, "data set: %d files, %d MiB, %s%n", set.files().size(), set.bytes() >> 20, set.root());

        Bench.Options so = new Bench.Options();
        so.heap = o.heap;
        so.serviceArgs.addAll(o.serviceArgs);
        so.jar = o.jar;
        so.jfr = o.jfr;
        so.sse = 0;
        List<Cell> cells = new ArrayList<>();
        long rss = -1;
        try (Bench.Service service = o.peers.contains("ringbatch") ? new Bench.Service(so, set, work) : null) {
            if (service != null) {
                // warm the service's JIT as Bench does: small jobs over one directory, every class once
                for (int i = 0; i < Bench.WARM_UP_JOBS; i++) {
                    for (String name : o.classes) {
                        PatternClass c = CLASSES.stream().filter(k -> k.name().equals(name)).findFirst().orElseThrow();
                        Path out = work.resolve("ringbatch-out").resolve("warmup-" + name + "-" + System.nanoTime());
                        service.run(work(c, cores, false), set, out, "app5/**");
                        Bench.deleteTree(out);
                    }
                }
            }
            for (String name : o.classes) {
                PatternClass c = CLASSES.stream().filter(k -> k.name().equals(name)).findFirst().orElseThrow();
                for (String mode : modes) {
                    Path gnuOut = work.resolve("out-gnu-" + name);
                    Map<String, double[]> times = new LinkedHashMap<>();
                    Map<String, String> checks = new LinkedHashMap<>();
                    for (int run = 0; run < o.runs; run++) {
                        for (String peer : o.peers) {
                            Bench.prepare(mode, set, work.resolve("scratch"));
                            Bench.Measured m;
                            switch (peer) {
                                case "ringbatch" -> {
                                    Path out = work.resolve("ringbatch-out").resolve(name + "-" + mode + "-" + run);
                                    Bench.deleteTree(out);
                                    m = service.run(work(c, cores, false), set, out);
                                    if (run == 0) {
                                        // GNU's output of this class, once, to check ringbatch's against
                                        Bench.Measured g = shell(work(c, cores, false), set, gnuOut, c);
                                        checks.put(peer, Bench.check(work(c, cores, false), set, out, gnuOut));
                                        checks.put("gnu", "reference (" + Bench.lines(gnuOut.resolve("gnu.txt")).size()
                                                + " lines in " + String.format(Locale.ROOT, "%.2f", g.seconds()) + " s)");
                                        Bench.prepare(mode, set, work.resolve("scratch"));
                                    }
                                    Bench.deleteTree(out);
                                }
                                case "gnu" -> m = shell(work(c, cores, false), set, work.resolve("out-gnu-run"), c);
                                case "rg" -> {
                                    Path out = work.resolve("out-rg");
                                    m = shell(work(c, cores, true), set, out, c);
                                    if (run == 0 && Files.exists(gnuOut.resolve("gnu.txt"))) {
                                        long mine = lineCount(out.resolve("gnu.txt"));
                                        long ref = lineCount(gnuOut.resolve("gnu.txt"));
                                        checks.put(peer, mine == ref ? "ok: " + mine + " lines, as grep" : "DIFFERS: " + mine
                                                + " lines, grep " + ref);
                                    }
                                }
                                default -> throw new IllegalArgumentException("unknown peer " + peer);
                            }
                            times.computeIfAbsent(peer, k -> new double[o.runs])[run] = m.seconds();
                            System.out.printf(Locale.ROOT, "%s %s %s run %d: %.2f s%n", name, mode, peer, run + 1, m.seconds());
                        }
                    }
                    for (var e : times.entrySet()) {
                        double[] sorted = e.getValue().clone();
                        Arrays.sort(sorted);
                        cells.add(new Cell(name, mode, e.getKey(), sorted[sorted.length / 2], e.getValue(),
                                checks.getOrDefault(e.getKey(), "")));
                    }
                }
            }
            if (service != null) {
                rss = service.peakRssKiB();
            }
        }
        Files.writeString(work.resolve("table.md"), report(o, set, cores, cells, rss));
        System.out.println("wrote " + work.resolve("table.md"));
    }

    static String report(Options o, Bench.DataSet set, int cores, List<Cell> cells, long rssKiB) {
        StringBuilder md = new StringBuilder();
        md.append("## Parameters\n\n");
        md.append("- data set: ").append(set.files().size()).append(" log files, ").append(set.bytes() >> 20)
                .append(" MiB (two of ").append(set.files().get(0).size() >> 20).append(" MiB), seed ").append(o.seed)
                .append(", `").append(Path.of("").toAbsolutePath().relativize(set.root())).append("`\n");
        md.append("- ").append(cores).append(" threads or processes for every peer; ringbatch: the packaged jar, `-Xmx")
                .append(o.heap).append("`, ").append(o.serviceArgs.isEmpty() ? "default settings"
                        : "settings `" + String.join(" ", o.serviceArgs) + "`").append(", warmed by ").append(Bench.WARM_UP_JOBS)
                .append(" small jobs of each class; peak resident memory: ")
                .append(rssKiB < 0 ? "n/a" : (rssKiB >> 10) + " MiB").append('\n');
        md.append("- each cell: the median of ").append(o.runs)
                .append(" runs (all runs listed); cold: page cache dropped before each run; warm: all cached\n\n");
        md.append("| class | pattern | mode | peer | median s | runs s | ringbatch ÷ peer | check |\n");
        md.append("|---|---|---|---|---:|---|---:|---|\n");
        for (Cell c : cells) {
            PatternClass k = CLASSES.stream().filter(x -> x.name().equals(c.cls())).findFirst().orElseThrow();
            double rb = cells.stream().filter(x -> x.cls().equals(c.cls()) && x.mode().equals(c.mode())
                    && x.peer().equals("ringbatch")).mapToDouble(Cell::median).findFirst().orElse(Double.NaN);
            StringBuilder runs = new StringBuilder();
            for (double r : c.runs()) {
                runs.append(runs.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", r));
            }
            md.append(String.format(Locale.ROOT, "| %s | `%s`%s | %s | %s | %.2f | %s | %s | %s |%n", k.label(),
                    k.pattern().replace("|", "\\|"), (k.ignoreCase() ? " -i" : "") + (k.invert() ? " -v" : "")
                            + (k.fixed() ? " -F" : ""), c.mode(), c.peer(), c.median(), runs,
                    c.peer().equals("ringbatch") || Double.isNaN(rb) ? "" : String.format(Locale.ROOT, "%.2fx", c.median() / rb),
                    c.check()));
        }
        md.append("\nringbatch ÷ peer is the peer's time over ringbatch's: above 1.00x ringbatch is faster.\n");
        return md.toString();
    }
}
