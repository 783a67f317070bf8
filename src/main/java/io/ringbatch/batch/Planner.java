package io.ringbatch.batch;

import io.ringbatch.io.FileNames;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * Walks the input root and cuts the work. Only regular files are taken; symbolic links are not
 * followed (a link could lead out of the root), and neither are devices, FIFOs or sockets. Files are
 * sorted by the bytes of their relative path, as {@code LC_ALL=C sort} would, because the outputs are
 * ordered that way. Large files of operations that may split are cut into ranges of about
 * {@code splitBytes}; partitions then take contiguous pieces until they hold about
 * {@code total / (workers * 4)} bytes (at least {@code splitBytes / 4}), so that every worker has
 * several partitions to take and a slow one does not hold the job up.
 * <p>
 * Hard links: a regular file with more than one link may be another name of a file outside the root
 * (which of its names lies where cannot be told), so unless {@code ringbatch.input.allow-hard-links}
 * is set such files are refused like unreadable ones: they are planned, listed in {@link #refused()}
 * (the plan step fails the job with the first of them unless {@code skipUnreadable}), and the
 * partition that reaches one skips it ({@code skipUnreadable}) or fails, checking the link count again.
 */
public final class Planner {
    /**
     * In a job's work dir, written at each start and restart when {@code ringbatch.input.allow-hard-links}
     * is set (and removed when it is not): the job may read files with more than one hard link.
     */
    static final String ALLOW_HARD_LINKS_MARKER = "allow-hard-links";
    static final String ALLOW_HARD_LINKS_KEY = "ringbatch.input.allow-hard-links";

    private final long splitBytes;
    private final int workers;
    private boolean allowHardLinks;
    private final List<String> refused = new ArrayList<>();
    private BooleanSupplier stop = () -> false;

    public Planner(long splitBytes, int workers) {
        this.splitBytes = Math.max(4096, splitBytes);
        this.workers = Math.max(1, workers);
    }

    /** Whether files with more than one hard link are planned like any other (default: refused). */
    public Planner allowHardLinks(boolean allow) {
        this.allowHardLinks = allow;
        return this;
    }

    /** Asked before each glob is matched: when it says true, {@link #plan} throws {@link Stopped}. */
    public Planner stopWhen(BooleanSupplier stop) {
        this.stop = stop;
        return this;
    }

    /** The plan was given up because the job is stopping. */
    public static final class Stopped extends RuntimeException {
        Stopped() {
            super("stopped while planning", null, false, false);
        }
    }

    /** Why the files of the last {@link #plan} may not be read (more than one hard link), in path order. */
    public List<String> refused() {
        return List.copyOf(refused);
    }

    /** Records, in the job's work dir, whether the job may read files with more than one hard link. */
    static void recordHardLinkPolicy(JobFiles files, boolean allow) throws IOException {
        Path marker = files.dir().resolve(ALLOW_HARD_LINKS_MARKER);
        if (allow) {
            Files.createDirectories(files.dir());
            if (!Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) {
                Files.writeString(marker, ALLOW_HARD_LINKS_KEY + "=true\n");
            }
        } else {
            Files.deleteIfExists(marker);
        }
    }

    /** Whether the job's last start or restart allowed files with more than one hard link. */
    static boolean hardLinksAllowed(JobFiles files) {
        return Files.exists(files.dir().resolve(ALLOW_HARD_LINKS_MARKER), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Why {@code file} (a regular file, {@code path} relative to the root) may not be read when hard links
     * are refused, or null: it has more than one link, or its link count cannot be read.
     */
    static String hardLinkRefusal(Path file, String path) {
        int links;
        try {
            links = (Integer) Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "input file " + path + ": its hard links cannot be counted (" + e.getMessage() + "); ringbatch "
                    + "reads only files with one link unless " + ALLOW_HARD_LINKS_KEY + "=true";
        }
        if (links <= 1) {
            return null;
        }
        return "input file " + path + " has " + links + " hard links; another name of it may lie outside the input "
                + "root, and ringbatch reads only files with one link unless " + ALLOW_HARD_LINKS_KEY + "=true";
    }

    public Plan plan(Path root, List<String> include, List<String> exclude, Operation.Split split) throws IOException {
        refused.clear();
        List<Predicate<String>> includes = matchers(include);
        List<Predicate<String>> excludes = matchers(exclude);
        List<Plan.FileEntry> files = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (!attrs.isRegularFile()) {
                    return FileVisitResult.CONTINUE;
                }
                Path rel = root.relativize(file);
                String path = slashed(rel);
                String bytes = FileNames.ofText(path);
                if ((!includes.isEmpty() && includes.stream().noneMatch(m -> m.test(bytes)))
                        || excludes.stream().anyMatch(m -> m.test(bytes))) {
                    return FileVisitResult.CONTINUE;
                }
                if (!allowHardLinks) {
                    String refusal = hardLinkRefusal(file, path);
                    if (refusal != null) {
                        refused.add(refusal);
                    }
                }
                files.add(new Plan.FileEntry(path, attrs.size(), attrs.lastModifiedTime().toMillis()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                throw new IOException("cannot read " + root.relativize(file) + " while planning: " + e.getMessage(), e);
            }
        });
        files.sort(Comparator.comparing(f -> f.path().getBytes(StandardCharsets.UTF_8), Arrays::compareUnsigned));
        refused.sort(Comparator.comparing(r -> r.getBytes(StandardCharsets.UTF_8), Arrays::compareUnsigned));

        List<Plan.PieceEntry> pieces = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            long size = files.get(i).size();
            if (split == Operation.Split.WHOLE || size <= splitBytes) {
                pieces.add(new Plan.PieceEntry(i, 0, size));
            } else {
                long n = (size + splitBytes - 1) / splitBytes;
                for (long k = 0; k < n; k++) {
                    pieces.add(new Plan.PieceEntry(i, size * k / n, size * (k + 1) / n));
                }
            }
        }
        long total = files.stream().mapToLong(Plan.FileEntry::size).sum();
        long target = Math.max(splitBytes / 4, total / (workers * 4L));
        List<Plan.PartitionEntry> partitions = new ArrayList<>();
        int first = 0;
        long bytes = 0;
        for (int i = 0; i < pieces.size(); i++) {
            Plan.PieceEntry p = pieces.get(i);
            bytes += p.end() - p.start();
            // many tiny files still make partitions of a bounded count of pieces
            if (bytes >= target || i + 1 - first >= 10_000) {
                partitions.add(new Plan.PartitionEntry(first, i + 1, bytes));
                first = i + 1;
                bytes = 0;
            }
        }
        if (first < pieces.size() || partitions.isEmpty()) {
            partitions.add(new Plan.PartitionEntry(first, pieces.size(), bytes));
        }
        return new Plan(root.toString(), files, pieces, partitions);
    }

    /**
     * The globs (text from the API) as matchers of byte-string relative paths. Each match costs at most
     * (path length x glob length) steps ({@link Glob}), and looks for a stop first, so that a stop reaches a
     * plan of many files and globs at once: 1,000 globs of 1,000 characters against one name of 4,096
     * bytes are some 4 billion steps.
     */
    private List<Predicate<String>> matchers(List<String> globs) {
        List<Predicate<String>> out = new ArrayList<>();
        if (globs != null) {
            for (String g : globs) {
                Glob glob = Glob.compile(FileNames.ofText(g));
                out.add(path -> {
                    if (stop.getAsBoolean()) {
                        throw new Stopped();
                    }
                    return glob.matches(path);
                });
            }
        }
        return out;
    }

    private static String slashed(Path rel) {
        StringBuilder sb = new StringBuilder();
        for (Path part : rel) {
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }
}
