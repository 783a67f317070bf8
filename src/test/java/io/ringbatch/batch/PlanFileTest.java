package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ringbatch.io.FileNames;
import io.ringbatch.operation.Operation;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plan on real trees and real files: the planner's compact store sorts as {@code LC_ALL=C sort} does
 * (checked against GNU sort over {@code find}'s list), the plan goes to {@code plan.json} and back as a
 * stream unchanged, and a {@code plan.json} in the format of the plans written before (a record of lists of
 * records, by a plain ObjectMapper) still reads, so that a job planned before an upgrade resumes.
 */
@Timeout(120)
class PlanFileTest {
    @TempDir
    Path tmp;

    @Test
    void planSortsAsGnuSortAndRoundTripsThroughPlanJson() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("in"));
        SplittableRandom random = new SplittableRandom(21);
        // names that order differently by bytes than by chars or by component: '.', '-' and '/' (0x2e, 0x2d,
        // 0x2f), upper and lower case, UTF-8 and a byte that is not UTF-8
        String[] parts = {"a", "a.b", "a-b", "B", "b", "ä", "z"};
        List<Path> made = new ArrayList<>();
        for (String d : parts) {
            for (String e : parts) {
                Path dir = Files.createDirectories(root.resolve(d).resolve(e));
                for (int k = 0; k < 3; k++) {
                    Path f = dir.resolve("f" + k + parts[random.nextInt(parts.length)]);
                    Files.write(f, new byte[random.nextInt(100)]);
                    made.add(f);
                }
                Files.write(root.resolve(d).resolve(e + ".txt"), new byte[1]);
            }
        }
        // a name whose bytes are not UTF-8 (made by the shell: a Java path would encode it)
        Process touch = new ProcessBuilder("bash", "-c", "printf x > $'a/x\\xe9.t'").directory(root.toFile()).start();
        assertThat(touch.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(touch.exitValue()).isZero();

        Plan plan = new Planner(1 << 20, 2).plan(root, List.of(), List.of(), Operation.Split.WHOLE);

        List<String> gnu = gnuSortedFiles(root);
        assertThat(plan.files()).hasSize(gnu.size()).hasSizeGreaterThan(made.size());
        assertThat(plan.files().stream().map(Plan.FileEntry::path).toList()).containsExactlyElementsOf(gnu);
        for (int i = 0; i < plan.files().size(); i++) {
            Plan.FileEntry f = plan.files().get(i);
            assertThat(plan.path(i)).isEqualTo(f.path());
            if (!FileNames.isUtf8(f.path())) {
                continue;
            }
            var attrs = Files.readAttributes(root.resolve(new String(f.path().getBytes(StandardCharsets.ISO_8859_1),
                    System.getProperty("sun.jnu.encoding", "UTF-8"))), "unix:size,ino");
            assertThat(f.size()).as(f.path()).isEqualTo(attrs.get("size"));
            assertThat(f.inode()).as(f.path()).isEqualTo(attrs.get("ino"));
        }
        assertThat(gnu).contains("a/x\u00e9.t");
        assertThat(plan.pieces()).hasSize(plan.files().size());
        assertThat(plan.partitions().get(plan.partitions().size() - 1).endPiece()).isEqualTo(plan.pieces().size());

        JobFiles files = new JobFiles(tmp.resolve("data"), "job-1");
        PlanFile.write(files, plan);
        Plan back = PlanFile.read(files);
        assertThat(back).isEqualTo(plan);
        assertThat(back.files()).containsExactlyElementsOf(plan.files());
        assertThat(back.totalBytes()).isEqualTo(plan.totalBytes()).isPositive();
        // the old reader (a plain ObjectMapper, as the merge still reads it) reads what the stream wrote
        assertThat(files.readPlan()).isEqualTo(plan);
        assertThat(Files.list(files.dir()).map(p -> p.getFileName().toString())).containsExactly("plan.json");
    }

    @Test
    void theWalkOnSeveralThreadsFindsExactlyWhatOneThreadFinds() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("many"));
        SplittableRandom random = new SplittableRandom(5);
        // 2,000 files in directories of uneven depth and size, a few links and an empty directory
        for (int i = 0; i < 2000; i++) {
            Path f = root.resolve("d" + (i % 37)).resolve(i % 3 == 0 ? "deep/er/" : "").resolve("f" + i + ".txt");
            Files.createDirectories(f.getParent());
            Files.write(f, new byte[random.nextInt(300)]);
        }
        Files.createDirectories(root.resolve("empty"));
        Files.createSymbolicLink(root.resolve("d1/link"), root.resolve("d2"));
        Files.createLink(root.resolve("d3/hard"), root.resolve("d3/deep/er/f3.txt"));
        for (List<String> include : List.of(List.<String>of(), List.of("d1*/**"))) {
            Plan one = new Planner(1 << 20, 1).plan(root, include, List.of("**/f7*"), Operation.Split.WHOLE);
            Planner several = new Planner(1 << 20, 4);
            Plan four = several.plan(root, include, List.of("**/f7*"), Operation.Split.WHOLE);
            assertThat(four.files()).as("files with %s", include).containsExactlyElementsOf(one.files());
            assertThat(four.pieces()).containsExactlyElementsOf(one.pieces());
            assertThat(four.files().size()).isGreaterThan(include.isEmpty() ? 1500 : 100);
            if (include.isEmpty()) {
                assertThat(several.refused()).hasSize(2); // d3/hard and d3/deep/er/f3.txt: two links each
            }
        }
        // a stop seen by the threads ends the walk with Stopped
        assertThatThrownBy(() -> new Planner(1 << 20, 4).stopWhen(() -> true)
                .plan(root, List.of(), List.of(), Operation.Split.WHOLE)).isInstanceOf(Planner.Stopped.class);
    }

    @Test
    void aPlanJsonWrittenBeforeTheUpgradeStillReads() throws Exception {
        // exactly what JobFiles.writePlan wrote while Plan was a record: a plain ObjectMapper's JSON of it
        String old = "{\"inputRoot\":\"/data/in\",\"plannedBy\":null,\"files\":["
                + "{\"path\":\"a/x\u00e9\",\"size\":10,\"mtimeNanos\":1700000000123456789,\"inode\":77,\"device\":2049},"
                + "{\"path\":\"b\",\"size\":200000000,\"mtimeNanos\":5,\"inode\":78,\"device\":2049}],"
                + "\"pieces\":[{\"file\":0,\"start\":0,\"end\":10},{\"file\":1,\"start\":0,\"end\":100000000},"
                + "{\"file\":1,\"start\":100000000,\"end\":200000000}],"
                + "\"partitions\":[{\"firstPiece\":0,\"endPiece\":2,\"bytes\":100000010},"
                + "{\"firstPiece\":2,\"endPiece\":3,\"bytes\":100000000}]}";
        JobFiles files = new JobFiles(tmp.resolve("data"), "old-job");
        Files.createDirectories(files.dir());
        Files.writeString(files.plan(), old);

        Plan plan = PlanFile.read(files);

        assertThat(plan.inputRoot()).isEqualTo("/data/in");
        assertThat(plan.plannedBy()).isNull();
        assertThat(plan.files()).containsExactly(new Plan.FileEntry("a/x\u00e9", 10, 1700000000123456789L, 77, 2049),
                new Plan.FileEntry("b", 200000000, 5, 78, 2049));
        assertThat(plan.pieces()).containsExactly(new Plan.PieceEntry(0, 0, 10),
                new Plan.PieceEntry(1, 0, 100000000), new Plan.PieceEntry(1, 100000000, 200000000));
        assertThat(plan.partitions()).containsExactly(new Plan.PartitionEntry(0, 2, 100000010),
                new Plan.PartitionEntry(2, 3, 100000000));
        assertThat(plan.lastOfFile(1)).isFalse();
        assertThat(plan.lastOfFile(2)).isTrue();
        assertThat(plan.piece(2).path()).isEqualTo("b");
        assertThat(plan.expected(1, null, true).size()).isEqualTo(200000000);
        // and the stream writes it back byte for byte as the plain ObjectMapper did
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (var g = JobFiles.JSON.createGenerator(out)) {
            PlanFile.write(plan, g);
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(old);
    }

    @Test
    void aPlanJsonOfTheFirstReleaseResumesItsFilesAndStillSeesAChange() throws Exception {
        // the first release's plan: no inode, device or planner, the modification time in whole milliseconds
        Path root = Files.createDirectories(tmp.resolve("in"));
        Files.writeString(root.resolve("kept.txt"), "as planned\n");
        Files.writeString(root.resolve("changed.txt"), "as planned\n");
        long keptMillis = Files.getLastModifiedTime(root.resolve("kept.txt")).toMillis();
        long changedMillis = Files.getLastModifiedTime(root.resolve("changed.txt")).toMillis();
        String old = "{\"inputRoot\":\"" + root + "\",\"files\":["
                + "{\"path\":\"changed.txt\",\"size\":11,\"mtimeMillis\":" + changedMillis + "},"
                + "{\"path\":\"kept.txt\",\"size\":11,\"mtimeMillis\":" + keptMillis + "}],"
                + "\"pieces\":[{\"file\":0,\"start\":0,\"end\":11},{\"file\":1,\"start\":0,\"end\":11}],"
                + "\"partitions\":[{\"firstPiece\":0,\"endPiece\":2,\"bytes\":22}]}";
        JobFiles files = new JobFiles(tmp.resolve("data"), "first-release");
        Files.createDirectories(files.dir());
        Files.writeString(files.plan(), old);
        Files.writeString(root.resolve("changed.txt"), "rewritten!\n"); // the same size, a later time
        Files.setLastModifiedTime(root.resolve("changed.txt"),
                java.nio.file.attribute.FileTime.fromMillis(changedMillis + 5_000));

        Plan plan = PlanFile.read(files);
        try (io.ringbatch.io.Dir dir = io.ringbatch.io.Dir.open(root);
             io.ringbatch.io.IoEngine engine = new io.ringbatch.io.BlockingEngine(io.ringbatch.io.IoOptions.defaults())) {
            // read as planned: no inode to compare, the time to the millisecond
            try (var reader = engine.open(io.ringbatch.io.InputFile.beneath(dir, "kept.txt", plan.expected(1, null, true)),
                    0, 11, 1)) {
                var block = reader.next();
                assertThat(StandardCharsets.UTF_8.decode(block.data()).toString()).isEqualTo("as planned\n");
                block.release();
            }
            assertThatThrownBy(() -> engine.open(io.ringbatch.io.InputFile.beneath(dir, "changed.txt",
                    plan.expected(0, null, true)), 0, 11, 1)).isInstanceOf(IOException.class)
                    .hasMessageContaining("changed.txt").hasMessageContaining("changed while the job ran");
        }
    }

    @Test
    void aBrokenPlanJsonIsAnErrorNamingTheFile() throws Exception {
        JobFiles files = new JobFiles(tmp.resolve("data"), "bad");
        Files.createDirectories(files.dir());
        Files.writeString(files.plan(), "{\"inputRoot\":\"/x\",\"files\":[{\"path\":\"a\"}],\"pieces\":[{\"file\":3}]}");
        assertThatThrownBy(() -> PlanFile.read(files)).isInstanceOf(IOException.class).hasMessageContaining("plan.json")
                .hasMessageContaining("piece 0 names file 3");
        Files.writeString(files.plan(), "{\"inputRoot\":\"/x\",\"files\":[{\"path\":\"a\"");
        assertThatThrownBy(() -> PlanFile.read(files)).isInstanceOf(IOException.class).hasMessageContaining("plan.json");
    }

    @Test
    void theIndexSortIsAStableSortOfManyKeys() {
        SplittableRandom random = new SplittableRandom(7);
        for (int n : new int[] {0, 1, 15, 16, 17, 100, 1000, 54321}) {
            int[] keys = new int[n];
            for (int i = 0; i < n; i++) {
                keys[i] = random.nextInt(Math.max(1, n / 3));
            }
            int[] order = new int[n];
            Integer[] expected = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
                expected[i] = i;
            }
            Plan.IntSort.sort(order, (a, b) -> Integer.compare(keys[a], keys[b]));
            Arrays.sort(expected, (a, b) -> Integer.compare(keys[a], keys[b])); // stable too
            assertThat(order).as("n=" + n).containsExactly(Arrays.stream(expected).mapToInt(Integer::intValue).toArray());
        }
    }

    /** The regular files' relative paths as byte strings, in the order of GNU sort under LC_ALL=C. */
    private static List<String> gnuSortedFiles(Path root) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "find . -type f -printf '%P\\0' | LC_ALL=C sort -z");
        pb.directory(root.toFile());
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0) {
                names.add(FileNames.of(Arrays.copyOfRange(out, start, i)));
                start = i + 1;
            }
        }
        return names;
    }
}
