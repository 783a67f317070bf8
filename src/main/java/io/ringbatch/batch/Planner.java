package io.ringbatch.batch;

import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Walks the input root and cuts the work. Only regular files are taken; symbolic links are not
 * followed (a link could lead out of the root), and neither are devices, FIFOs or sockets. Files are
 * sorted by the bytes of their relative path, as {@code LC_ALL=C sort} would, because the outputs are
 * ordered that way. Large files of operations that may split are cut into ranges of about
 * {@code splitBytes}; partitions then take contiguous pieces until they hold about
 * {@code total / (workers * 4)} bytes (at least {@code splitBytes / 4}), so that every worker has
 * several partitions to take and a slow one does not hold the job up.
 */
public final class Planner {
    private final long splitBytes;
    private final int workers;

    public Planner(long splitBytes, int workers) {
        this.splitBytes = Math.max(4096, splitBytes);
        this.workers = Math.max(1, workers);
    }

    public Plan plan(Path root, List<String> include, List<String> exclude, Operation.Split split) throws IOException {
        List<PathMatcher> includes = matchers(include);
        List<PathMatcher> excludes = matchers(exclude);
        List<Plan.FileEntry> files = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (!attrs.isRegularFile()) {
                    return FileVisitResult.CONTINUE;
                }
                Path rel = root.relativize(file);
                if ((!includes.isEmpty() && includes.stream().noneMatch(m -> m.matches(rel)))
                        || excludes.stream().anyMatch(m -> m.matches(rel))) {
                    return FileVisitResult.CONTINUE;
                }
                files.add(new Plan.FileEntry(slashed(rel), attrs.size(), attrs.lastModifiedTime().toMillis()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                throw new IOException("cannot read " + root.relativize(file) + " while planning: " + e.getMessage(), e);
            }
        });
        files.sort(Comparator.comparing(f -> f.path().getBytes(StandardCharsets.UTF_8), Arrays::compareUnsigned));

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

    private static List<PathMatcher> matchers(List<String> globs) {
        List<PathMatcher> out = new ArrayList<>();
        if (globs != null) {
            for (String g : globs) {
                out.add(FileSystems.getDefault().getPathMatcher("glob:" + g));
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
