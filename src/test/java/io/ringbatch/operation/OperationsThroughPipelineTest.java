package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RunnerTest;
import io.ringbatch.TestDirs;
import io.ringbatch.batch.JobDefinition;
import io.ringbatch.batch.JobFiles;
import io.ringbatch.batch.JobRunner;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every operation end to end through the real pipeline (plan, partitions on the worker executor,
 * the io_uring engine, merge, atomic move) on the common tree, with blocks small enough that the
 * long line spans several and a split size small enough that the 5 MiB file is cut into ranges over
 * several partitions (the settings of {@link RunnerTest}); each output is compared with the reference
 * tool run with LC_ALL=C.
 */
@RunnerTest
@Timeout(300)
class OperationsThroughPipelineTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    static Path input;
    static Path outputs;
    static List<String> paths;

    @Autowired
    JobRunner runner;

    @Autowired
    List<Operation> operations;

    @BeforeAll
    static void tree() throws IOException {
        input = Files.createDirectories(TestDirs.runner().resolve("input/OperationsThroughPipelineTest/tree"));
        outputs = TestDirs.runner().resolve("output");
        paths = new ArrayList<>(TestTrees.standard(input, 7));
        paths.sort(io.ringbatch.io.FileNames.ORDER);
    }

    @Test
    void checksumEqualsSha256sumAndPassesItsCheck() throws Exception {
        Path out = run("checksum", Map.of("algorithm", "sha256"));
        byte[] expected = RefTools.run(input, List.of("sha256sum"), paths);
        assertThat(new String(Files.readAllBytes(out.resolve("checksums.sha256")), StandardCharsets.ISO_8859_1))
                .isEqualTo(new String(expected, StandardCharsets.ISO_8859_1));
        RefTools.run(input, List.of("sha256sum", "-c", "--strict", "--quiet", out.resolve("checksums.sha256").toString()));
    }

    @Test
    void grepEqualsGrepHnAcrossSplitFiles() throws Exception {
        for (String pattern : List.of("a[0-9]", "^[^ ]*$", "é")) {
            Path out = run("grep", Map.of("pattern", pattern));
            StringBuilder expected = new StringBuilder();
            for (String p : paths) {
                expected.append(new String(RefTools.run(input, List.of("grep", "-a", "-E", "-Hn", "-e", pattern),
                        List.of(p), Set.of(0, 1)), StandardCharsets.ISO_8859_1));
            }
            String actual = new String(Files.readAllBytes(out.resolve("matches.txt")), StandardCharsets.ISO_8859_1);
            assertThat(actual).as("pattern %s", pattern).isEqualTo(expected.toString());
        }
    }

    @Test
    void wcEqualsWcLwc() throws Exception {
        Path out = run("wc", Map.of());
        String ref = new String(RefTools.run(input, List.of("wc", "-lwc"), paths),
                StandardCharsets.ISO_8859_1);
        List<String> rows = Files.readAllLines(out.resolve("counts.tsv"), StandardCharsets.ISO_8859_1);
        Iterator<String> refLines = ref.lines().iterator();
        assertThat(rows).hasSize(paths.size() + 1);
        for (int i = 0; i < rows.size(); i++) {
            String[] mine = rows.get(i).split("\t");
            String[] theirs = refLines.next().trim().split("\\s+", 4);
            assertThat(mine[0]).isEqualTo(i < paths.size() ? paths.get(i).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n") : "total");
            assertThat(Arrays.copyOfRange(mine, 1, 4)).as("row %s", rows.get(i))
                    .containsExactly(theirs[0], theirs[1], theirs[2]);
        }
    }

    @Test
    void gzipOutputsTestAndUnzipToTheInputs() throws Exception {
        Path out = run("gzip", Map.of("level", 6));
        List<String> gz = paths.stream().map(p -> p + ".gz").toList();
        RefTools.run(out, List.of("gzip", "-t"), gz);
        for (String p : paths) {
            assertThat(RefTools.run(out, List.of("zcat"), List.of(p + ".gz"))).as(p)
                    .isEqualTo(ByteFiles.read(input, p));
        }
    }

    @Test
    void csvToJsonlMatchesTheReferenceParser() throws Exception {
        Path csvRoot = Files.createDirectories(input.resolveSibling("csv"));
        byte[] csv = ("name,comment,n\r\n\"Smith, J\",\"said \"\"hi\"\"\nand left\",1\r\nplain,,2\nlast,\"x\"")
                .getBytes(StandardCharsets.UTF_8);
        Files.write(csvRoot.resolve("people.csv"), csv);
        String id = submit("csv-to-jsonl", Map.of(), csvRoot);
        Path out = await(id);
        List<String> lines = Files.readAllLines(out.resolve("people.jsonl"), StandardCharsets.UTF_8);
        List<List<String>> records = CsvToJsonlOperationTest.ReferenceCsv.parse(csv, (byte) ',');
        List<String> header = records.get(0);
        assertThat(lines).hasSize(records.size() - 1);
        for (int i = 1; i < records.size(); i++) {
            JsonNode obj = JSON.readTree(lines.get(i - 1));
            for (int c = 0; c < header.size(); c++) {
                List<String> record = records.get(i);
                if (c < record.size()) {
                    assertThat(obj.get(header.get(c)).asString()).isEqualTo(record.get(c));
                } else {
                    assertThat(obj.get(header.get(c)).isNull()).as("a missing field is null").isTrue();
                }
            }
        }
    }

    @Test
    void noopReadsEveryByteAndWritesOnlyTheReport() throws Exception {
        String id = submit("noop", Map.of(), input);
        Path out = await(id);
        long total = 0;
        for (String p : paths) {
            total += ByteFiles.read(input, p).length;
        }
        assertThat(runner.state(id).bytesDone()).isEqualTo(total);
        try (var files = Files.list(out)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactly("job-report.json");
        }
    }

    private Path run(String operation, Map<String, Object> params) throws Exception {
        String id = submit(operation, params, input);
        Path out = await(id);
        // the 5 MiB file was cut into ranges: more pieces than files
        var plan = new JobFiles(TestDirs.runner().resolve("jobs"), id).readPlan();
        if (operations.stream().filter(o -> o.name().equals(operation)).findFirst().orElseThrow().split()
                != Operation.Split.WHOLE) {
            assertThat(plan.pieces().size()).isGreaterThan(plan.files().size() + 3);
        }
        assertThat(plan.partitions().size()).isGreaterThan(2);
        return out;
    }

    private String submit(String operation, Map<String, Object> params, Path root) throws Exception {
        Operation op = operations.stream().filter(o -> o.name().equals(operation)).findFirst().orElseThrow();
        String id = operation + "-" + UUID.randomUUID();
        runner.start(new JobDefinition(id, operation, op.validate(params), root, List.of(), List.of(),
                outputs.resolve(id), false));
        return id;
    }

    private Path await(String id) {
        Awaitility.await("job " + id + " completed").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> runner.state(id), state -> {
                    assertThat(state.status()).as("job %s: %s %s", id, state.error(), state.errorDetail())
                            .isNotIn("FAILED", "STOPPED");
                    return "COMPLETED".equals(state.status());
                });
        return outputs.resolve(id);
    }
}
