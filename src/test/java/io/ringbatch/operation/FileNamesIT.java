package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.batch.ServiceProcess;
import io.ringbatch.io.FileNames;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * File names as bytes, end to end: the packaged service started under {@code LANG=C} (no {@code LC_ALL},
 * as a systemd unit or a bare container has it, where the JVM cannot even encode a UTF-8 name) and
 * under {@code C.UTF-8}, over a tree of awkward names ({@link TestTrees#names}: Latin-1, invalid UTF-8,
 * a newline, a backslash, a tab, a leading dash, 252-255 bytes); every operation's output byte for byte
 * what its reference tool prints. Between the two starts, a grep job over large files with such names is
 * killed with SIGKILL half-way under {@code LANG=C} and finished by the {@code C.UTF-8} start, with
 * grep's exact output: the plan, the execution contexts and the record files hold names the same way
 * under either locale. Under both, a download of a missing output with such a name is refused with the
 * name in the detail in {@code FileNames.inMessage} form, and job-report.json is strict UTF-8 JSON. This test
 * starts the jar itself ({@code java -jar target/ringbatch-*.jar}); the other process tests start it extracted.
 */
@Timeout(300)
class FileNamesIT {
    /** grep over the big files: a few matches per MiB, so that the output stays small. */
    private static final String KILL_PATTERN = "NEEDLE +x";

    @TempDir
    Path dir;

    private ServiceProcess service;
    private int port;

    @AfterEach
    void stop() throws InterruptedException {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void everyOperationNamesFilesAsItsToolUnderCAndUtf8AndAfterAKill() throws Exception {
        Path names = Files.createDirectories(dir.resolve("input/names"));
        List<String> paths = TestTrees.names(names);
        Path big = Files.createDirectories(dir.resolve("input/big"));
        List<String> bigPaths = bigFiles(big);
        Files.createDirectories(dir.resolve("output"));
        port = ServiceProcess.freePort();

        service = start("lang-c", env -> {
            env.remove("LC_ALL");
            env.remove("LC_CTYPE");
            env.put("LANG", "C");
        });
        everyOperation(names, paths, "LANG=C");

        // a grep killed half-way, once a worker has committed some of its blocks
        String id = service.submit(job("grep", "{\"pattern\": \"" + KILL_PATTERN + "\"}", big));
        await("job " + id + " made progress").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(5))
                .until(() -> service.get("/api/jobs/" + id), j -> {
                    assertThat(j.path("status").asString()).as("the job ended before the kill: %s", j)
                            .isIn("QUEUED", "STARTING", "STARTED");
                    return j.path("progress").path("bytesDone").asLong() > 0;
                });
        service.kill();
        assertThat(dir.resolve("output").resolve(id)).as("the job had finished before the kill").doesNotExist();

        service = start("c-utf8", env -> {
            env.remove("LC_ALL");
            env.remove("LC_CTYPE");
            env.put("LANG", "C.UTF-8");
        });
        JsonNode resumed = service.awaitEnd(id, Duration.ofMinutes(2));
        assertThat(resumed.path("status").asString()).as("%s", resumed).isEqualTo("COMPLETED");
        assertThat(resumed.path("executions").size()).as("resumed after the kill: %s", resumed).isGreaterThanOrEqualTo(2);
        GrepOperationTest.assertSameLines(Files.readAllBytes(dir.resolve("output").resolve(id).resolve("matches.txt")),
                RefTools.run(big, List.of("grep", "-a", "-H", "-n", "-E", "-e", KILL_PATTERN), bigPaths, Set.of(0, 1)));

        everyOperation(names, paths, "C.UTF-8");
    }

    /** Runs each operation over the names tree and compares its outputs with the reference tools. */
    private void everyOperation(Path root, List<String> paths, String locale) throws Exception {
        Map<String, String> jobs = new LinkedHashMap<>();
        jobs.put("checksum", service.submit(job("checksum", "{\"algorithm\": \"sha256\"}", root)));
        jobs.put("grep", service.submit(job("grep", "{\"pattern\": \"needle\"}", root)));
        jobs.put("wc", service.submit(job("wc", "{}", root)));
        jobs.put("gzip", service.submit(job("gzip", "{}", root)));
        jobs.put("csv-to-jsonl", service.submit(job("csv-to-jsonl", "{}", root)));
        Map<String, Path> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : jobs.entrySet()) {
            JsonNode end = service.awaitEnd(e.getValue(), Duration.ofMinutes(1));
            assertThat(end.path("status").asString()).as("%s under %s: %s", e.getKey(), locale, end)
                    .isEqualTo("COMPLETED");
            out.put(e.getKey(), dir.resolve("output").resolve(e.getValue()));
        }

        assertThat(bytes(out.get("checksum").resolve("checksums.sha256"))).as("checksums.sha256 under %s", locale)
                .isEqualTo(latin1(RefTools.run(root, List.of("sha256sum"), paths)));
        assertThat(bytes(out.get("grep").resolve("matches.txt"))).as("matches.txt under %s", locale)
                .isEqualTo(latin1(RefTools.run(root, List.of("grep", "-a", "-H", "-n", "-E", "-e", "needle"), paths,
                        Set.of(0, 1))));
        assertThat(bytes(out.get("wc").resolve("counts.tsv"))).as("counts.tsv under %s", locale)
                .isEqualTo(WcOperationTest.reference(root, paths));

        // gzip: names of 253 bytes and more have no .gz name; the others unpack to their inputs
        List<String> gzipped = paths.stream().filter(p -> p.length() - (p.lastIndexOf('/') + 1) <= 252).toList();
        List<String> gz = gzipped.stream().map(p -> p + ".gz").toList();
        assertThat(outputs(out.get("gzip"))).as("gzip outputs under %s", locale).containsExactlyElementsOf(gz);
        RefTools.run(out.get("gzip"), List.of("gzip", "-t"), gz);
        ByteArrayOutputStream inputs = new ByteArrayOutputStream();
        for (String p : gzipped) {
            byte[] original = ByteFiles.read(root, p);
            inputs.writeBytes(original);
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(ByteFiles.read(out.get("gzip"), p + ".gz")))) {
                assertThat(in.readAllBytes()).as("%s.gz under %s", FileNames.display(p), locale).isEqualTo(original);
            }
        }
        assertThat(RefTools.run(out.get("gzip"), List.of("zcat"), gz)).isEqualTo(inputs.toByteArray());
        notProcessed(out.get("gzip"), 3, locale);

        // a download of a missing output: the 404's detail names it on one line, in FileNames.inMessage form
        Map<String, String> missing = Map.of(TestTrees.LATIN1, "caf\\xE9.log", "new\nline.log", "new\\x0Aline.log",
                "bad\u00c3(\u0080\u00ff.log", "bad\\xC3(\\x80\\xFF.log");
        for (Map.Entry<String, String> name : missing.entrySet()) {
            HttpResponse<String> r = service.fetch("/api/jobs/" + jobs.get("gzip") + "/output-file?path="
                    + FileNames.base64(name.getKey()));
            assertThat(r.statusCode()).as("%s under %s", r.body(), locale).isEqualTo(404);
            assertThat(ServiceProcess.JSON.readTree(r.body()).path("detail").asString()).as(locale)
                    .isEqualTo("job " + jobs.get("gzip") + " has no output file '" + name.getValue() + "'");
        }

        // csv-to-jsonl: .csv replaced by .jsonl (or .jsonl added), unless that passes 255 bytes
        Map<String, String> jsonl = CsvToJsonlOperation.outputNames(paths);
        jsonl.entrySet().removeIf(e -> OutputNames.lastComponentLength(e.getValue()) > OutputNames.NAME_MAX);
        assertThat(outputs(out.get("csv-to-jsonl"))).as("csv-to-jsonl outputs under %s", locale)
                .containsExactlyInAnyOrderElementsOf(jsonl.values());
        for (Map.Entry<String, String> e : jsonl.entrySet()) {
            assertThat(CsvToJsonlOperationTest.read(ByteFiles.read(out.get("csv-to-jsonl"), e.getValue()), e.getValue()))
                    .as("%s under %s", FileNames.display(e.getValue()), locale)
                    .isEqualTo(CsvToJsonlOperationTest.objects(
                            CsvToJsonlOperationTest.ReferenceCsv.parse(ByteFiles.read(root, e.getKey()), (byte) ','), true));
        }
        notProcessed(out.get("csv-to-jsonl"), 3, locale);
    }

    /**
     * job-report.json is valid JSON (strict UTF-8) and lists the files an operation could not name an output
     * for: each by name (display form) and nameBase64 (the bytes), its reason on one line.
     */
    private static void notProcessed(Path output, int expected, String locale) throws IOException {
        byte[] json = Files.readAllBytes(output.resolve("job-report.json"));
        JsonNode report = ServiceProcess.JSON.readTree(StandardCharsets.UTF_8.newDecoder()
                .decode(java.nio.ByteBuffer.wrap(json)).toString());
        assertThat(report.path("skipped").size()).as("skipped under %s: %s", locale, report).isEqualTo(expected);
        assertThat(report.path("skipped").toString().split("not processed", -1)).hasSize(expected + 1);
        for (JsonNode item : report.path("skipped")) {
            String bytes = FileNames.fromBase64(item.path("nameBase64").asString());
            assertThat(OutputNames.lastComponentLength(bytes)).as("%s", item).isGreaterThan(OutputNames.NAME_MAX - 5);
            assertThat(item.path("name").asString()).isEqualTo(FileNames.display(bytes));
            assertThat(item.path("reason").asString().chars().noneMatch(Character::isISOControl)).as("%s", item)
                    .isTrue();
        }
    }

    /** The files of an output directory but its report, by byte name, in byte order. */
    private static List<String> outputs(Path output) throws IOException {
        List<String> files = new ArrayList<>(ByteFiles.list(output));
        files.remove("job-report.json");
        return files;
    }

    private static String bytes(Path file) throws IOException {
        return latin1(Files.readAllBytes(file));
    }

    private static String latin1(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private static String job(String operation, String params, Path root) {
        return "{\"name\": \"names " + operation + "\", \"operation\": \"" + operation + "\", \"params\": " + params
                + ", \"input\": {\"root\": \"" + root + "\"}}";
    }

    /**
     * 24 MiB of text lines under awkward names: with 64 KiB blocks and a commit after each, the grep over
     * them takes a few hundred commits, time enough to be killed half-way.
     */
    private static List<String> bigFiles(Path root) throws IOException {
        Random r = new Random(18);
        List<String> paths = new ArrayList<>();
        for (String name : List.of("caf\u00e9 big.log", "new\nline\\big.log", "tab\tbig.log", "\u00ff\u00fe/-big.log")) {
            TestTrees.writeBytes(root, name, TestTrees.exactly(r, 6 * TestTrees.MIB), paths);
        }
        return OperationHarness.sortByBytes(paths);
    }

    private ServiceProcess start(String name, Consumer<Map<String, String>> locale) throws Exception {
        return ServiceProcess.start(dir, port, dir.resolve(name + ".log"), List.of(
                "--ringbatch.data-dir=" + dir.resolve("data"),
                "--ringbatch.input-roots=" + dir.resolve("input"),
                "--ringbatch.output-root=" + dir.resolve("output"),
                "--ringbatch.workers=1",
                "--ringbatch.io.block-size=64KB",
                "--ringbatch.pipeline.commit-interval=1"), ServiceProcess.Launch.FAT_JAR, locale);
    }
}
