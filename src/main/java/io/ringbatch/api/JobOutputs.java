package io.ringbatch.api;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

/**
 * A job's output files: its directory, the listing, and the one file a download names, which must be a
 * regular file inside that directory (no '..', no link that leads out).
 */
@Service
public class JobOutputs {
    private static final Logger log = LoggerFactory.getLogger(JobOutputs.class);
    /** Files a job's view lists; the output listing has them all (up to {@link #MAX_LIST_FILES}). */
    static final int MAX_VIEW_FILES = 100;
    static final int MAX_LIST_FILES = 100_000;

    private final JobQueries queries;
    private final JobStore store;

    JobOutputs(JobQueries queries, JobStore store) {
        this.queries = queries;
        this.store = store;
    }

    /** The job's output directory, as resolved at submission. */
    public Path outputDir(String id) {
        return Path.of(StoredSpec.of(store, queries.require(id)).definition().outputPath());
    }

    public JobViews.OutputListing output(String id) {
        Path dir = outputDir(id);
        Listing listing = list(dir, MAX_LIST_FILES);
        long bytes = listing.files().stream().mapToLong(JobViews.FileView::size).sum();
        return new JobViews.OutputListing(id, dir.toString(), listing.exists(), listing.files().size(), bytes,
                listing.files());
    }

    /**
     * The output file {@code file} names (relative to the output directory, '/'-separated, as the listing
     * gives it), as a real path inside the real output directory. 400 for a name with '.', '..' or empty
     * segments; 404 when there is no such regular file, or when the name leads out through a link.
     */
    public Path file(String id, String file) throws IOException {
        Path dir = outputDir(id);
        String relative = file.startsWith("/") ? file.substring(1) : file;
        if (relative.isEmpty()) {
            throw ApiException.invalid("file", "is missing: GET /api/jobs/" + id + "/output lists the files");
        }
        for (String segment : relative.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw ApiException.invalid("file", "must be a path inside the job's output directory, "
                        + "without '.', '..' or empty segments");
            }
        }
        if (!Files.isDirectory(dir)) {
            throw ApiException.notFound("job " + id + " has no output yet");
        }
        Path target;
        try {
            target = dir.resolve(relative).normalize();
        } catch (InvalidPathException e) {
            throw ApiException.invalid("file", "is not a valid path");
        }
        Path real;
        try {
            Path realDir = dir.toRealPath();
            real = target.toRealPath();
            if (!real.startsWith(realDir) || !target.startsWith(dir)) {
                throw noFile(id, relative, "");
            }
        } catch (FileSystemException e) {
            // no such file, a name too long, a component that is not a directory, a loop: nothing to download
            throw noFile(id, relative, "");
        }
        if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            throw noFile(id, relative, Files.isDirectory(real) ? " (it is a directory)" : "");
        }
        return real;
    }

    private static ApiException noFile(String id, String relative, String why) {
        return ApiException.notFound("job " + id + " has no output file '" + relative + "'" + why);
    }

    record Listing(boolean exists, List<JobViews.FileView> files, boolean truncated) {
    }

    /** The regular files under {@code dir} (links not followed), by name; at most {@code max}. */
    static Listing list(Path dir, int max) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return new Listing(false, List.of(), false);
        }
        List<JobViews.FileView> files = new ArrayList<>();
        boolean[] more = {false};
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (!attrs.isRegularFile()) {
                        return FileVisitResult.CONTINUE;
                    }
                    if (files.size() >= max) {
                        more[0] = true;
                        return FileVisitResult.TERMINATE;
                    }
                    files.add(new JobViews.FileView(slashed(dir.relativize(file)), attrs.size()));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            log.warn("cannot list {}: {}", dir, e.toString());
        }
        files.sort(Comparator.comparing(JobViews.FileView::name));
        return new Listing(true, files, more[0]);
    }

    static String slashed(Path relative) {
        StringBuilder sb = new StringBuilder();
        for (Path part : relative) {
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }
}
