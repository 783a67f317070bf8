package io.ringbatch.batch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import tools.jackson.databind.json.JsonMapper;

/**
 * The layout of a job's work directory under {@code <data-dir>/jobs/<jobId>/}: the definition it was
 * started with, the plan, one record file per partition and one output file per piece (for
 * operations whose outputs are one file per input). All of it survives a crash; the finish step
 * merges from it.
 */
public final class JobFiles {
    static final JsonMapper JSON = JsonMapper.builder().build();

    private final Path dir;

    public JobFiles(Path dataDir, String jobId) {
        this.dir = dataDir.resolve("jobs").resolve(jobId);
    }

    public Path dir() {
        return dir;
    }

    public Path definition() {
        return dir.resolve("job.json");
    }

    public Path plan() {
        return dir.resolve("plan.json");
    }

    public Path records(int partition) {
        return dir.resolve("parts").resolve(String.format("p-%06d.rec", partition));
    }

    public Path pieceOutput(int piece) {
        return dir.resolve("pieces").resolve(String.format("%08d.out", piece));
    }

    public Path staging() {
        return dir.resolve("staging");
    }

    public void writeDefinition(JobDefinition job) throws IOException {
        writeAtomically(definition(), JSON.writeValueAsBytes(job));
    }

    public JobDefinition readDefinition() throws IOException {
        return JSON.readValue(definition().toFile(), JobDefinition.class);
    }

    public void writePlan(Plan plan) throws IOException {
        writeAtomically(plan(), JSON.writeValueAsBytes(plan));
    }

    public Plan readPlan() throws IOException {
        return JSON.readValue(plan().toFile(), Plan.class);
    }

    /** Writes to a temporary name, forces it to disk, then renames it over {@code target}. */
    static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (var ch = java.nio.channels.FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(bytes));
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
