package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
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
 * The layout of a job's work directory under {@code <work-dir>/<jobId>/} ({@code ringbatch.work-dir},
 * default {@code <data-dir>/jobs}, which several instances may share): the definition it was started
 * with, the plan, and the files of each partition's attempts (a step execution each): one record file
 * per attempt, {@code parts/p-NNNNNN.e<stepExecutionId>.rec}, and one output file per piece and attempt,
 * {@code pieces/NNNNNNNN.e<stepExecutionId>.out} (for operations whose outputs are one file per input).
 * An attempt writes only its own files, so one that was given up (a lost worker still writing) damages
 * no other's; which files hold the committed work, and how much of them, is in each attempt's
 * ExecutionContext ({@link PartitionState}). All of it survives a crash; the finish step merges from it.
 * What this class reads and writes goes by descriptor beneath the work root ({@link Dir}: no symbolic
 * link followed below it), so a link planted among the work files redirects nothing.
 */
public final class JobFiles {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final int FILE_MODE = 0666;
    static final int DIR_MODE = 0777;

    private final Path workRoot;
    private final String jobId;
    private final Path dir;

    /**
     * @param workRoot {@code ringbatch.work-dir}: the root of every job's work directory
     * @param jobId    the job's id (ASCII), its work directory's name beneath the root
     */
    public JobFiles(Path workRoot, String jobId) {
        this.workRoot = workRoot;
        this.jobId = jobId;
        this.dir = workRoot.resolve(jobId);
    }

    public Path dir() {
        return dir;
    }

    public String jobId() {
        return jobId;
    }

    /** The work directory's name beneath the work root (a job id is ASCII). */
    String relative() {
        return jobId;
    }

    public Path definition() {
        return dir.resolve("job.json");
    }

    public Path plan() {
        return dir.resolve("plan.json");
    }

    /** The record file of one attempt (step execution) of a partition, beneath the job's work directory. */
    static String recordsName(int partition, long attempt) {
        return String.format("parts/p-%06d.e%d.rec", partition, attempt);
    }

    /** The record file a partition had before attempts had files of their own (a job planned before then). */
    static String legacyRecordsName(int partition) {
        return String.format("parts/p-%06d.rec", partition);
    }

    /** A piece's output file as one attempt (step execution) wrote it, beneath the job's work directory. */
    static String pieceOutputName(int piece, long attempt) {
        return String.format("pieces/%08d.e%d.out", piece, attempt);
    }

    /** A piece's output file before attempts had files of their own (a job planned before then). */
    static String legacyPieceOutputName(int piece) {
        return String.format("pieces/%08d.out", piece);
    }

    /**
     * A job's output path as a byte string relative to the output root: the path recorded at submission
     * is real (links resolved then), so it is taken relative to the root's real path, or to the root as
     * configured.
     *
     * @throws IOException when it lies outside the root (a root reconfigured since), or the root is absent
     */
    public static String outputRelative(Path outputRoot, Path output) throws IOException {
        Path real = outputRoot.toRealPath();
        Path relative;
        if (output.startsWith(real) && !output.equals(real)) {
            relative = real.relativize(output);
        } else if (output.startsWith(outputRoot) && !output.equals(outputRoot)) {
            relative = outputRoot.relativize(output);
        } else {
            throw new IOException("the output path " + FileNames.inMessage(output) + " is not inside the output root "
                    + FileNames.inMessage(outputRoot));
        }
        StringBuilder sb = new StringBuilder();
        for (Path part : relative) {
            if (part.toString().equals("..")) {
                throw new IOException("the output path " + FileNames.inMessage(output) + " leaves the output root "
                        + FileNames.inMessage(outputRoot));
            }
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(part);
        }
        return FileNames.ofText(sb.toString());
    }

    /**
     * The work directory, opened beneath the work root (made when missing); the caller closes it. The
     * root itself is the administrator's path (links in it followed); nothing beneath it follows a link.
     */
    public Dir open() throws IOException {
        Files.createDirectories(workRoot);
        try (Dir root = Dir.open(workRoot.toAbsolutePath())) {
            StagingFiles.mkdirs(root, relative(), DIR_MODE);
            return root.dir(relative());
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

    /** Writes the plan as a stream ({@link PlanFile}): a plan of a million files is not one array of bytes. */
    public void writePlan(Plan plan) throws IOException {
        PlanFile.write(this, plan);
    }

    /** Reads the plan as a stream ({@link PlanFile}), into the plan's compact arrays; older plan.json too. */
    public Plan readPlan() throws IOException {
        return PlanFile.read(this);
    }

    /** A work file beneath the job's work directory for reading, or null when it does not exist. */
    static FileChannel openForReading(Dir work, String name) throws IOException {
        int fd;
        try {
            fd = work.openFd(name, Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
        } catch (NoSuchFileException e) {
            return null;
        }
        try {
            FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.READ);
            if (!Files.isRegularFile(Dir.procPath(fd))) {
                ch.close();
                throw new IOException(FileNames.inMessage(name) + " in the work directory of the job is not a regular file");
            }
            return ch;
        } finally {
            Dir.closeFd(fd);
        }
    }

    /**
     * A work file beneath the job's work directory for writing, created when missing (its directory too),
     * never truncated: an attempt's own file, which no other attempt writes.
     */
    static FileChannel openForWriting(Dir work, String name) throws IOException {
        int slash = name.lastIndexOf('/');
        if (slash > 0) {
            StagingFiles.mkdirs(work, name.substring(0, slash), DIR_MODE);
        }
        int fd = work.openFd(name, Dir.O_RDWR | Dir.O_CREAT | Dir.O_NONBLOCK, FILE_MODE);
        try {
            if (!Files.isRegularFile(Dir.procPath(fd))) {
                throw new IOException(FileNames.inMessage(name) + " in the work directory of the job is not a regular file");
            }
            return FileChannel.open(Dir.procPath(fd), StandardOpenOption.READ, StandardOpenOption.WRITE);
        } finally {
            Dir.closeFd(fd);
        }
    }

    /** The whole of a regular file beneath {@code dir}. */
    static byte[] read(Dir dir, String name) throws IOException {
        int fd = dir.openFd(name, Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
        try (FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.READ)) {
            // the opened inode itself (stat through the magic link), not the name again
            if (!Files.isRegularFile(Dir.procPath(fd))) {
                throw new IOException(FileNames.inMessage(name) + " is not a regular file");
            }
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 16) {
                throw new IOException(FileNames.inMessage(name) + " is too large to read whole: " + size + " bytes");
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
