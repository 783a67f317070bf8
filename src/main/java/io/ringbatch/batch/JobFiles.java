package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.operation.StagingFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import tools.jackson.databind.json.JsonMapper;

/**
 * The layout of a job's work directory under {@code <data-dir>/jobs/<jobId>/}: the definition it was
 * started with, the plan, one record file per partition and one output file per piece (for
 * operations whose outputs are one file per input). All of it survives a crash; the finish step
 * merges from it. What this class reads and writes goes by descriptor beneath the data directory
 * ({@link Dir}: no symbolic link followed below it), so a link planted among the work files
 * redirects nothing.
 */
public final class JobFiles {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final int FILE_MODE = 0666;
    static final int DIR_MODE = 0777;

    private final Path dataDir;
    private final String jobId;
    private final Path dir;

    public JobFiles(Path dataDir, String jobId) {
        this.dataDir = dataDir;
        this.jobId = jobId;
        this.dir = dataDir.resolve("jobs").resolve(jobId);
    }

    public Path dir() {
        return dir;
    }

    /** The work directory's name beneath the data directory (a job id is ASCII). */
    String relative() {
        return "jobs/" + jobId;
    }

    public Path definition() {
        return dir.resolve("job.json");
    }

    public Path plan() {
        return dir.resolve("plan.json");
    }

    public Path records(int partition) {
        return dir.resolve(recordsName(partition));
    }

    static String recordsName(int partition) {
        return String.format("parts/p-%06d.rec", partition);
    }

    public Path pieceOutput(int piece) {
        return dir.resolve(pieceOutputName(piece));
    }

    static String pieceOutputName(int piece) {
        return String.format("pieces/%08d.out", piece);
    }

    /** The work directory, opened beneath the data directory (made when missing); the caller closes it. */
    public Dir open() throws IOException {
        Files.createDirectories(dataDir);
        try (Dir data = Dir.open(dataDir.toAbsolutePath())) {
            StagingFiles.mkdirs(data, relative(), DIR_MODE);
            return data.dir(relative());
        }
    }

    public void writeDefinition(JobDefinition job) throws IOException {
        try (Dir work = open()) {
            writeAtomically(work, "job.json", JSON.writeValueAsBytes(job));
        }
    }

    public JobDefinition readDefinition() throws IOException {
        try (Dir work = open()) {
            return JSON.readValue(read(work, "job.json"), JobDefinition.class);
        }
    }

    public void writePlan(Plan plan) throws IOException {
        try (Dir work = open()) {
            writeAtomically(work, "plan.json", JSON.writeValueAsBytes(plan));
        }
    }

    public Plan readPlan() throws IOException {
        try (Dir work = open()) {
            return JSON.readValue(read(work, "plan.json"), Plan.class);
        }
    }

    /** A partition's record file for reading, or null when it has none. */
    static FileChannel openRecords(Dir work, int partition) throws IOException {
        int fd;
        try {
            fd = work.openFd(recordsName(partition), Dir.O_RDONLY, 0);
        } catch (NoSuchFileException e) {
            return null;
        }
        try {
            return FileChannel.open(Dir.procPath(fd), StandardOpenOption.READ);
        } finally {
            Dir.closeFd(fd);
        }
    }

    /** A piece's output file opened read-only (a raw descriptor the caller closes), or -1 when it has none. */
    static int openPieceOutput(Dir work, int piece) throws IOException {
        try {
            return work.openFd(pieceOutputName(piece), Dir.O_RDONLY, 0);
        } catch (NoSuchFileException e) {
            return -1;
        }
    }

    /** The whole of a regular file beneath {@code dir}. */
    static byte[] read(Dir dir, String name) throws IOException {
        int fd = dir.openFd(name, Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
        try (FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.READ)) {
            // the opened inode itself (stat through the magic link), not the name again
            if (!Files.isRegularFile(Dir.procPath(fd))) {
                throw new IOException(name + " is not a regular file");
            }
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 16) {
                throw new IOException(name + " is too large to read whole: " + size + " bytes");
            }
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // until full or at the end
            }
            return java.util.Arrays.copyOf(buf.array(), buf.position());
        } finally {
            Dir.closeFd(fd);
        }
    }

    /**
     * Writes {@code name} beneath {@code dir}: to a temporary name, forced to disk, then renamed over it
     * (renameat within the directory).
     */
    static void writeAtomically(Dir dir, String name, byte[] bytes) throws IOException {
        String tmp = name + ".tmp";
        int fd = dir.openFd(tmp, Dir.O_WRONLY | Dir.O_CREAT | Dir.O_TRUNC, FILE_MODE);
        try (FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        } finally {
            Dir.closeFd(fd);
        }
        dir.rename(tmp, dir, name);
    }
}
