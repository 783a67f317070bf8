package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import io.ringbatch.io.Stat;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * Walks the input root and cuts the work. The walk goes by descriptor: each directory is opened beneath
 * its parent's descriptor ({@link Dir}, no link followed), listed with {@code getdents64} and its entries
 * looked at with {@code statx(AT_SYMLINK_NOFOLLOW)} relative to it, so no path is resolved twice and a
 * directory swapped for a link during the walk fails the plan instead of leading out of the root. Only
 * regular files are taken; symbolic links are not followed, and neither are devices, FIFOs or sockets.
 * Names are byte strings ({@link FileNames}) whatever the locale. Files are sorted by the bytes of their
 * relative path, as {@code LC_ALL=C sort} would, because the outputs are ordered that way. Large files of operations that may split are cut into ranges of about
 * {@code splitBytes}; partitions then take contiguous pieces until they hold about
 * {@code total / (workers * 4)} bytes (at least {@code splitBytes / 4}), so that every worker has
 * several partitions to take and a slow one does not hold the job up; for an operation slow per byte
 * they shrink with the work left ({@link #partitionTarget}).
 * <p>
 * Memory: a walk of a million entries does not hold a million objects. Only the entries of the
 * directories on the current path are objects ({@link Dir#list}); the files kept go straight into the
 * plan's compact store ({@link Plan.Files}: path bytes in pages of up to 1 MiB, numbers in primitive arrays, about
 * 36 bytes a file beside its path), which is sorted as an {@code int[]} of indexes.
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

    /** The threads the plan is cut for: its partitions hold about {@code total / (workers * 4)} bytes. */
    int workers() {
        return workers;
    }

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

    /** Why a file with {@code links} hard links may not be read when hard links are refused, or null. */
    static String hardLinkRefusal(String path, long links) {
        if (links <= 1) {
            return null;
        }
        return "input file " + FileNames.inMessage(path) + " has " + links + " hard links; another name of it may lie"
                + " outside the input root, and ringbatch reads only files with one link unless " + ALLOW_HARD_LINKS_KEY
                + "=true";
    }

    /** Plans the tree at {@code root} (tools and tests): opened as configured, walked by descriptor. */
    public Plan plan(Path root, List<String> include, List<String> exclude, Operation.Split split) throws IOException {
        try (Dir dir = Dir.open(root.toAbsolutePath())) {
            return plan(dir, null, include, exclude, split);
        }
    }

    /**
     * Plans the tree beneath {@code root}, a root held by descriptor.
     *
     * @param instance the planning instance's id, recorded so that only it compares devices later
     */
    public Plan plan(Dir root, String instance, List<String> include, List<String> exclude, Operation.Split split)
            throws IOException {
        return plan(root, instance, include, exclude, split, false);
    }

    /**
     * Plans the tree beneath {@code root}; with {@code guided} (an operation that is
     * {@link Operation#slowPerByte()}) the partitions shrink with the work left ({@link #partitionTarget}).
     */
    public Plan plan(Dir root, String instance, List<String> include, List<String> exclude, Operation.Split split,
                     boolean guided) throws IOException {
        refused.clear();
        List<Predicate<String>> includes = matchers(include);
        List<Predicate<String>> excludes = matchers(exclude);
        Map<String, Long> links = new HashMap<>();
        Plan.Files walked;
        int threads = Math.min(workers, Runtime.getRuntime().availableProcessors());
        if (threads > 1) {
            walked = new ParallelWalk(includes, excludes, threads).walk(root, links);
        } else {
            walked = new Plan.Files();
            walk(root, "", includes, excludes, walked, links);
        }
        if (stop.getAsBoolean()) {
            throw new Stopped();
        }
        Plan.Files files = walked.sorted();
        walked = null; // the unsorted arrays can go; the path bytes are shared
        if (!allowHardLinks && !links.isEmpty()) {
            for (int i = 0; i < files.size(); i++) {
                String path = files.path(i);
                String refusal = hardLinkRefusal(path, links.getOrDefault(path, 1L));
                if (refusal != null) {
                    refused.add(refusal);
                }
            }
        }

        Plan.Pieces pieces = new Plan.Pieces();
        long total = 0;
        for (int i = 0; i < files.size(); i++) {
            long size = files.size(i);
            total += size;
            if (split == Operation.Split.WHOLE || size <= splitBytes) {
                pieces.add(i, 0, size);
            } else {
                long n = (size + splitBytes - 1) / splitBytes;
                for (long k = 0; k < n; k++) {
                    pieces.add(i, size * k / n, size * (k + 1) / n);
                }
            }
        }
        long smallest = splitBytes / 4;
        long largest = Math.max(smallest, total / (workers * 4L));
        long left = total;
        long target = guided ? partitionTarget(left, workers, smallest, largest) : largest;
        List<Plan.PartitionEntry> partitions = new ArrayList<>();
        int first = 0;
        long bytes = 0;
        for (int i = 0; i < pieces.size(); i++) {
            bytes += pieces.end(i) - pieces.start(i);
            // many tiny files still make partitions of a bounded count of pieces
            if (bytes >= target || i + 1 - first >= 10_000) {
                partitions.add(new Plan.PartitionEntry(first, i + 1, bytes));
                first = i + 1;
                left -= bytes;
                bytes = 0;
                if (guided) {
                    target = partitionTarget(left, workers, smallest, largest);
                }
            }
        }
        if (first < pieces.size() || partitions.isEmpty()) {
            partitions.add(new Plan.PartitionEntry(first, pieces.size(), bytes));
        }
        return new Plan(root.name(), instance, files, pieces, partitions);
    }

    /**
     * Depth first; a directory's descriptor is held only while its subtree is walked. {@code links} gets
     * the link count of each file that has more than one.
     */
    private void walk(Dir dir, String prefix, List<Predicate<String>> includes, List<Predicate<String>> excludes,
                      Plan.Files files, Map<String, Long> links) throws IOException {
        for (Dir.Entry entry : list(dir, prefix)) {
            if (stop.getAsBoolean()) {
                throw new Stopped(); // a plan of a million files without globs sees a stop too
            }
            String rel = prefix + entry.name();
            Stat stat = look(dir, entry, rel);
            if (stat == null) {
                continue;
            }
            if (stat.isDirectory()) {
                try (Dir sub = dir.dir(entry.name())) {
                    walk(sub, rel + "/", includes, excludes, files, links);
                } catch (NoSuchFileException e) {
                    // removed since it was listed
                } catch (IOException e) {
                    // among others: swapped for a link since it was listed
                    throw new IOException("cannot read " + where(rel) + " while planning: " + e.getMessage(), e);
                }
            } else if (stat.isRegular() && selected(rel, includes, excludes)) {
                if (stat.nlink() > 1) {
                    links.put(rel, stat.nlink());
                }
                files.add(rel, stat.size(), stat.mtimeNanos(), stat.ino(), stat.dev());
            }
        }
    }

    /** A directory's entries, for both walks; {@code prefix} is its path beneath the root with a trailing slash. */
    private List<Dir.Entry> list(Dir dir, String prefix) throws IOException {
        try {
            return dir.list();
        } catch (IOException e) {
            String rel = prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1);
            throw new IOException("cannot read " + where(rel) + " while planning: " + e.getMessage(), e);
        }
    }

    /**
     * An entry as both walks take it: its attributes if it is a directory or a regular file, null if it is
     * passed over (a link, never followed: it could lead out of the root; a device, FIFO or socket; an
     * entry removed since it was listed).
     */
    private Stat look(Dir dir, Dir.Entry entry, String rel) throws IOException {
        if (entry.isSymlink() || (!entry.isDirectory() && !entry.isRegular() && !entry.isUnknown())) {
            return null;
        }
        try {
            return dir.stat(entry.name());
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new IOException("cannot read " + where(rel) + " while planning: " + e.getMessage(), e);
        }
    }

    /** Whether the globs take the file {@code rel}: an include matches (or there is none) and no exclude does. */
    private static boolean selected(String rel, List<Predicate<String>> includes, List<Predicate<String>> excludes) {
        return (includes.isEmpty() || includes.stream().anyMatch(m -> m.test(rel)))
                && excludes.stream().noneMatch(m -> m.test(rel));
    }

    /**
     * The walk on {@code threads} threads (the plan step's workers are idle while it plans): each directory
     * is a task, listed and its entries looked at as {@link #walk} does, its subdirectories tasks of their
     * own, each opened beneath its parent's descriptor when it runs (a directory's descriptor is held while
     * its subtree is walked). Each thread keeps the files it found in a store of its own; the stores are put
     * together at the end, sharing their path pages, and sorted as one. The first failure (or stop) ends
     * the walk and is what the plan throws.
     */
    private final class ParallelWalk {
        private final List<Predicate<String>> includes;
        private final List<Predicate<String>> excludes;
        private final int threads;
        private final Map<Thread, Part> parts = new java.util.concurrent.ConcurrentHashMap<>();
        private final java.util.concurrent.atomic.AtomicReference<Throwable> failure =
                new java.util.concurrent.atomic.AtomicReference<>();

        private final class Part {
            final Plan.Files files = new Plan.Files();
            final Map<String, Long> links = new HashMap<>();
        }

        ParallelWalk(List<Predicate<String>> includes, List<Predicate<String>> excludes, int threads) {
            this.includes = includes;
            this.excludes = excludes;
            this.threads = threads;
        }

        Plan.Files walk(Dir root, Map<String, Long> links) throws IOException {
            java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(threads);
            try {
                pool.invoke(new DirTask(root, null, ""));
            } finally {
                pool.shutdownNow();
            }
            Throwable f = failure.get();
            if (f instanceof IOException e) {
                throw e;
            } else if (f instanceof RuntimeException e) {
                throw e;
            } else if (f instanceof Error e) {
                throw e;
            } else if (f != null) {
                throw new IOException(f.toString(), f);
            }
            List<Plan.Files> stores = new ArrayList<>();
            for (Part part : parts.values()) {
                stores.add(part.files);
                links.putAll(part.links);
            }
            return stores.isEmpty() ? new Plan.Files() : Plan.Files.concat(stores);
        }

        /** One directory: {@code name} beneath {@code parent}, or the root itself when parent is null. */
        private final class DirTask extends java.util.concurrent.RecursiveAction {
            private final Dir parent;
            private final String name;
            private final String prefix;

            DirTask(Dir dirOrParent, String name, String prefix) {
                this.parent = dirOrParent;
                this.name = name;
                this.prefix = prefix;
            }

            @Override
            protected void compute() {
                if (failure.get() != null) {
                    return;
                }
                String rel = prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1);
                Dir dir;
                if (name == null) {
                    dir = parent;
                } else {
                    try {
                        dir = parent.dir(name);
                    } catch (NoSuchFileException e) {
                        return; // removed since it was listed
                    } catch (IOException e) {
                        // among others: swapped for a link since it was listed
                        failure.compareAndSet(null, new IOException("cannot read " + where(rel) + " while planning: "
                                + e.getMessage(), e));
                        return;
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                        return;
                    }
                }
                try {
                    List<DirTask> subs = new ArrayList<>();
                    list(dir, subs);
                    invokeAll(subs);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    if (name != null) {
                        dir.close();
                    }
                }
            }

            /** As {@link Planner#walk} for one directory; its subdirectories go to {@code subs}. */
            private void list(Dir dir, List<DirTask> subs) throws IOException {
                List<Dir.Entry> entries = Planner.this.list(dir, prefix);
                Part part = parts.computeIfAbsent(Thread.currentThread(), t -> new Part());
                for (Dir.Entry entry : entries) {
                    if (stop.getAsBoolean()) {
                        throw new Stopped(); // a plan of a million files without globs sees a stop too
                    }
                    if (failure.get() != null) {
                        return;
                    }
                    String rel = prefix + entry.name();
                    Stat stat = look(dir, entry, rel);
                    if (stat == null) {
                        continue;
                    }
                    if (stat.isDirectory()) {
                        subs.add(new DirTask(dir, entry.name(), rel + "/"));
                    } else if (stat.isRegular() && selected(rel, includes, excludes)) {
                        if (stat.nlink() > 1) {
                            part.links.put(rel, stat.nlink());
                        }
                        part.files.add(rel, stat.size(), stat.mtimeNanos(), stat.ino(), stat.dev());
                    }
                }
            }
        }
    }

    /**
     * The bytes of the next partition of a guided plan when {@code left} remain: a share of them that
     * shrinks with them, between {@code smallest} and {@code largest}. The partitions handed out last
     * (largest first, {@link LargestFirstPartitionHandler}) are then small, and so is the time one worker
     * may still be busy while the others have nothing left: a 4 GiB gzip on two workers had partitions of
     * 360-600 MB taking 16-27 s each, and one worker sat idle for the last 6 s. Only for operations slow
     * per byte: for the fast ones 17-20 partitions instead of 7-8 cost more than they gave (commit
     * 12b8c30, reverted: the no-op job warm 0.36 -> 0.65 s).
     */
    static long partitionTarget(long left, int workers, long smallest, long largest) {
        return Math.min(largest, Math.max(smallest, left / (2L * workers)));
    }

    private static String where(String rel) {
        return rel.isEmpty() ? "the input root" : FileNames.inMessage(rel);
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
}
